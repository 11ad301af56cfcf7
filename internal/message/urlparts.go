package message

import (
	"net/url"
	"strings"
)

// urlParts are the parts of a page or referrer URL that enrichment reads, as net/url would
// give them: the host name (no port), the unescaped path and the query's first values.
// splitURL takes the common plain form (scheme://host[:port]/path?query#fragment in printable
// ASCII, no escapes before the query) apart directly, and a query's values are read from its
// text unless they need unescaping; anything else goes through net/url. net/url built a URL
// and a map of every query parameter per message: a fifth of decoding a web event.
type urlParts struct {
	ok       bool // the URL parsed
	host     string
	path     string
	rawQuery string
	query    url.Values // the parsed query, once get needed it
}

func splitURL(s string) urlParts {
	if p, ok := splitPlainURL(s); ok {
		return p
	}
	u, err := url.Parse(s)
	if err != nil {
		return urlParts{}
	}
	return urlParts{ok: true, host: u.Hostname(), path: u.Path, rawQuery: u.RawQuery}
}

// get returns the first value of query parameter key ("" when absent), as url.Values.Get.
func (p *urlParts) get(key string) string {
	if p.rawQuery == "" {
		return ""
	}
	if p.query == nil && strings.ContainsAny(p.rawQuery, "%+;") {
		p.query, _ = url.ParseQuery(p.rawQuery) // as URL.Query: pairs it refuses are left out
	}
	if p.query != nil {
		return p.query.Get(key)
	}
	// nothing to unescape: the values are the substrings
	for rest := p.rawQuery; rest != ""; {
		var pair string
		pair, rest, _ = strings.Cut(rest, "&")
		if k, v, _ := strings.Cut(pair, "="); k == key {
			return v
		}
	}
	return ""
}

// splitPlainURL splits s when it is scheme://authority[path][?query][#fragment] in printable
// ASCII without spaces, with an authority of letters, digits, dots and hyphens and an optional
// numeric port, and no '%' outside the query. For these net/url's host name and path are the
// substrings themselves and its raw query is the query's text.
func splitPlainURL(s string) (urlParts, bool) {
	const beforeQuery, inQuery, inFragment = 0, 1, 2
	part := beforeQuery
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c <= ' ' || c >= 0x7f:
			return urlParts{}, false
		case c == '?' && part == beforeQuery:
			part = inQuery
		case c == '#':
			part = inFragment
		case c == '%' && part != inQuery:
			return urlParts{}, false
		}
	}
	scheme, rest, found := strings.Cut(s, "://")
	if !found || !validScheme(scheme) {
		return urlParts{}, false
	}
	rest, _, _ = strings.Cut(rest, "#")
	end := strings.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	host, port, hasPort := strings.Cut(rest[:end], ":")
	for i := 0; i < len(host); i++ {
		if c := host[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return urlParts{}, false
		}
	}
	if hasPort {
		for i := 0; i < len(port); i++ {
			if port[i] < '0' || port[i] > '9' {
				return urlParts{}, false
			}
		}
	}
	path, query, _ := strings.Cut(rest[end:], "?")
	return urlParts{ok: true, host: host, path: path, rawQuery: query}, true
}

// validScheme reports whether s is a URL scheme: a letter, then letters, digits, '+', '-', '.'.
func validScheme(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}
