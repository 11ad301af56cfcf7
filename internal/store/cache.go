package store

import "sync"

// writeCache keeps decoded profiles and identifier owners the write path reads for every
// message, so that a message costs map lookups instead of Pebble reads and JSON decoding. Only
// the single committing writer fills and publishes it; a failed or discarded Txn resets it
// (profiles handed out may have been modified in memory).
type writeCache struct {
	mu       sync.Mutex
	profiles map[profileRef]*Profile
	ids      map[idRef]uint32
}

type idRef struct {
	ws         uint32
	typ, value string
}

const (
	maxCachedProfiles    = 1 << 20
	maxCachedIdentifiers = 4 << 20
)

func (c *writeCache) profile(ref profileRef) *Profile {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.profiles[ref]
}

func (c *writeCache) identifier(ref idRef) (uint32, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	pid, ok := c.ids[ref]
	return pid, ok
}

func (c *writeCache) noteIdentifier(ref idRef, pid uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ids == nil || len(c.ids) >= maxCachedIdentifiers {
		c.ids = map[idRef]uint32{}
	}
	c.ids[ref] = pid
}

func (c *writeCache) dropProfile(ref profileRef) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.profiles, ref)
}

func (c *writeCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.profiles, c.ids = nil, nil
}

// publish records what a committed Txn read and wrote.
func (c *writeCache) publish(t *Txn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.profiles == nil || len(c.profiles)+len(t.profiles) > maxCachedProfiles {
		c.profiles = make(map[profileRef]*Profile, len(t.profiles))
	}
	for ref, p := range t.profiles {
		c.profiles[ref] = p
	}
	if c.ids == nil || len(c.ids)+len(t.ids) > maxCachedIdentifiers {
		c.ids = make(map[idRef]uint32, len(t.ids))
	}
	for ref, pid := range t.ids {
		if pid == 0 {
			delete(c.ids, ref)
		} else {
			c.ids[ref] = pid
		}
	}
}
