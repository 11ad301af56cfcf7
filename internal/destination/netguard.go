package destination

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
)

// ErrPrivateAddress is returned when a webhook would connect to a loopback, link-local,
// private or otherwise internal address and the workspace has not allowed that.
var ErrPrivateAddress = errors.New("webhook target is a loopback, link-local or private address")

// internalAddr reports whether ip is not a public unicast address: loopback, private (RFC 1918,
// fc00::/7), link-local (including cloud metadata at 169.254.169.254), unspecified, multicast,
// shared address space (100.64/10) or IPv4-mapped forms of those.
func internalAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast() ||
		netip.MustParsePrefix("100.64.0.0/10").Contains(ip) || netip.MustParsePrefix("0.0.0.0/8").Contains(ip)
}

// guardedTransport returns a transport whose connections are checked after DNS resolution (at
// connect time, so a name that resolves to an internal address is caught too, and so are
// redirects, which dial again).
func guardedTransport(allowPrivate bool) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 4
	tr.Proxy = nil // a proxy would hide the real target from the check
	if allowPrivate {
		return tr
	}
	d := &net.Dialer{Control: func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: cannot parse %q", ErrPrivateAddress, address)
		}
		if internalAddr(ap.Addr()) {
			return fmt.Errorf("%w: %s (allow private destinations for this workspace to permit it)", ErrPrivateAddress, ap.Addr())
		}
		return nil
	}}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}
	return tr
}
