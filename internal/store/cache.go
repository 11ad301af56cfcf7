package store

import (
	"hash/maphash"
	"sync"
)

// writeCache keeps decoded profiles and identifier owners the write path reads for every
// message, so that a message costs map lookups instead of Pebble reads and JSON decoding. Only
// the single committing writer fills and publishes it; a failed or discarded Txn resets it
// (profiles handed out may have been modified in memory).
type writeCache struct {
	mu       sync.Mutex
	profiles map[profileRef]*Profile
	// ids is keyed by a 128-bit hash of the identifier: lookups compare two words instead of
	// following two string pointers each (cache misses), and the collector need not scan the
	// map (no pointers in it).
	ids map[idHash]uint32
}

type idRef struct {
	ws         uint32
	typ, value string
}

// idHash is a 128-bit hash of an idRef under the process's random seeds (the cache is not
// stored): two identifiers of a 4 M-entry cache share one with a probability of about 2^-84.
type idHash struct{ a, b uint64 }

var idSeeds = [4]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed(), maphash.MakeSeed(), maphash.MakeSeed()}

func (r idRef) hash() idHash {
	ws := uint64(r.ws) * 0x9e3779b97f4a7c15
	return idHash{
		a: ws ^ maphash.String(idSeeds[0], r.typ) ^ maphash.String(idSeeds[1], r.value)<<1,
		b: ws ^ maphash.String(idSeeds[2], r.typ)<<1 ^ maphash.String(idSeeds[3], r.value),
	}
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
	h := ref.hash()
	c.mu.Lock()
	defer c.mu.Unlock()
	pid, ok := c.ids[h]
	return pid, ok
}

func (c *writeCache) noteIdentifier(ref idRef, pid uint32) {
	h := ref.hash()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ids == nil || len(c.ids) >= maxCachedIdentifiers {
		c.ids = map[idHash]uint32{}
	}
	c.ids[h] = pid
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
		c.ids = make(map[idHash]uint32, len(t.ids))
	}
	for ref, pid := range t.ids {
		if pid == 0 {
			delete(c.ids, ref.hash())
		} else {
			c.ids[ref.hash()] = pid
		}
	}
}
