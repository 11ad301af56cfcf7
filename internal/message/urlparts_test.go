package message

import (
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
)

// urlKeys are the query parameters enrichment reads, and two it does not.
var urlKeys = []string{"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "gclid", "fbclid", "a", "b c"}

// checkSplitURL compares splitURL with net/url on s: whether it parses, the host name, the
// path and the first value of each of urlKeys.
func checkSplitURL(t *testing.T, s string) {
	t.Helper()
	got := splitURL(s)
	u, err := url.Parse(s)
	if (err == nil) != got.ok {
		t.Fatalf("%q: splitURL ok=%v, net/url error %v", s, got.ok, err)
	}
	if err != nil {
		return
	}
	if got.host != u.Hostname() || got.path != u.Path {
		t.Fatalf("%q: splitURL host %q path %q, net/url %q %q", s, got.host, got.path, u.Hostname(), u.Path)
	}
	q := u.Query()
	for _, k := range urlKeys {
		if g, w := got.get(k), q.Get(k); g != w {
			t.Fatalf("%q: splitURL %s=%q, net/url %q", s, k, g, w)
		}
	}
}

// urlPieces are what the random URLs are made of: the plain form's parts and everything that
// takes net/url's other paths (escapes, userinfo, IPv6, ports, spaces, control bytes, ...).
var urlPieces = []string{"http", "https", "HTTPS", "://", ":", "//", "/", "/p/1", "?", "#", "&", "=", "%", "%2F", "%zz",
	"%41", "+", ";", "@", "80", "[::1]", " ", "\x01", "\x7f", "é", "www.", "Example.COM", "shop.example", "-", ".", "a", "1",
	"\\", "utm_source", "utm_source=news", "utm_medium=e+mail", "gclid=x", "fbclid", "b c=1", "a=%E2%82%AC", "a=1&a=2", "mailto:x", "1http"}

func TestSplitURLAgreesWithNetURL(t *testing.T) {
	for _, s := range []string{"", "https://shop.example/p/1?utm_source=news&utm_medium=email#top", "http://h:8080?utm_source=a",
		"https://www.google.com/", "/relative/path?utm_source=x", "shop.example/p", "http:///path", "http://h/p#f?utm_source=x",
		"http://u:p@h/p", "http://[::1]:80/p", "http://h/a%2Fb?utm_source=%41", "http://h/?utm_source=a;b", "http://h:x/",
		"http://h/p?utm_source=a+b&gclid=", "ht tp://h/", "http://h/p q", "http://h/p#%zz", "http://h/p?q=%zz"} {
		checkSplitURL(t, s)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 200000 {
		var sb strings.Builder
		for range 1 + r.IntN(12) {
			sb.WriteString(urlPieces[r.IntN(len(urlPieces))])
		}
		checkSplitURL(t, sb.String())
	}
	// most random URLs above are not plain; these are, and must take the direct path
	for _, s := range []string{"https://shop.example/p/1?utm_source=news", "http://h:80", "https://a.b/c?d=%20e#f"} {
		if _, ok := splitPlainURL(s); !ok {
			t.Errorf("%q is plain but was not split directly", s)
		}
	}
}

func FuzzSplitURL(f *testing.F) {
	for _, s := range []string{"https://shop.example/p/1?utm_source=news&utm_medium=email#top", "http://u@h:1/%41?a=%zz;b#c", "http://[::1]/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkSplitURL(t, s) })
}
