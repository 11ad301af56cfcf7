package destination

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestInternalAddr(t *testing.T) {
	for _, c := range []struct {
		ip   string
		want bool
	}{
		{"127.0.0.1", true}, {"::1", true}, {"10.1.2.3", true}, {"172.16.0.9", true}, {"192.168.1.1", true},
		{"169.254.169.254", true}, {"fe80::1", true}, {"fc00::5", true}, {"100.64.0.1", true}, {"0.0.0.0", true},
		{"::ffff:127.0.0.1", true}, {"224.0.0.1", true},
		{"8.8.8.8", false}, {"1.1.1.1", false}, {"2606:4700::1111", false}, {"172.32.0.1", false},
	} {
		if got := internalAddr(netip.MustParseAddr(c.ip)); got != c.want {
			t.Errorf("internalAddr(%s) = %v, want %v", c.ip, got, c.want)
		}
	}
}

// TestLoopbackWebhookRefusedByDefault: without the workspace's permission a webhook to a
// loopback receiver is never called; the destination reports why.
func TestLoopbackWebhookRefusedByDefault(t *testing.T) {
	e := newEnv(t)
	e.m.Close()
	e.denyPrivate = true
	e.start()
	rc := newReceiver(t, "")
	c := webhookConfig("d", rc.srv.URL, "")
	e.put(c)
	e.feed.add(e.ws, 1, "s", "S", KindEnter)
	waitFor(t, "the refusal to show in the status", 5*time.Second, func() bool {
		st, _ := e.m.Status(t.Context(), e.ws, "d")
		return strings.Contains(st.LastError, "loopback")
	})
	if n := len(rc.received()); n != 0 {
		t.Fatalf("a refused loopback receiver got %d deliveries", n)
	}
}
