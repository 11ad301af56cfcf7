package message

import "sync"

// uaCache remembers parsed user agents: a site's traffic comes from a few thousand distinct
// strings, so most messages skip the parse. It is cleared when it grows past uaCacheMax.
var uaCache struct {
	sync.RWMutex
	m map[string]UserAgent
}

const uaCacheMax = 1 << 14

func parseUserAgentCached(ua string) UserAgent {
	uaCache.RLock()
	r, ok := uaCache.m[ua]
	uaCache.RUnlock()
	if ok {
		return r
	}
	r = ParseUserAgent(ua)
	uaCache.Lock()
	if uaCache.m == nil || len(uaCache.m) >= uaCacheMax {
		uaCache.m = make(map[string]UserAgent, 256)
	}
	uaCache.m[ua] = r
	uaCache.Unlock()
	return r
}
