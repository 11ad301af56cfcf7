package live

import (
	"container/list"
	"errors"
	"fmt"
	"github.com/segd/segd/internal/index"
	"time"

	"github.com/segd/segd/internal/engine/reference"
	"github.com/segd/segd/internal/message"
	"github.com/segd/segd/internal/store"
)

// profileData is one profile's data decoded for the reference evaluator.
type profileData struct {
	live    bool
	traits  map[string]any
	events  []reference.Event
	seqs    map[uint64]struct{} // store sequence numbers of the events held
	records map[recKey]reference.Record
}

type recKey struct{ typ, id string }

type profKey struct{ ws, pid uint32 }

// asData returns the one-profile workspace the reference evaluator reads.
func (d *profileData) asData(pid uint32) *reference.Data {
	out := &reference.Data{Traits: map[uint32]map[string]any{}, Events: map[uint32][]reference.Event{}, Records: map[uint32][]reference.Record{}}
	if !d.live {
		return out
	}
	out.Traits[pid] = d.traits
	out.Events[pid] = d.events
	if len(d.records) > 0 {
		recs := make([]reference.Record, 0, len(d.records))
		for _, r := range d.records {
			recs = append(recs, r)
		}
		out.Records[pid] = recs
	}
	return out
}

// eventOf turns a stored message into the reference's event the way cmd/segd's index
// loader does (properties, the page/screen name as "name" unless a property has it,
// enrichment fields that do not collide), so that live and batch read the same values.
// Only track, page and screen calls are visible to the language.
func eventOf(m *message.Message) (reference.Event, bool) {
	e, ok := index.FromMessage(0, m)
	if !ok {
		return reference.Event{}, false
	}
	return reference.Event{Kind: e.Kind.String(), Name: e.Name, Time: e.Time, Props: e.Props}, true
}

func recordOf(r *store.Record) reference.Record {
	return reference.Record{Type: r.Type, ID: r.ID, Attrs: r.Attributes}
}

// cache is a bounded LRU of decoded profiles, kept current from the change feed. Loading
// reads the store, which may already hold later writes than the change being applied;
// applying those writes again is harmless (events are deduplicated by sequence number,
// traits and records are idempotent).
type cache struct {
	st    *store.Store
	max   int
	ll    *list.List // front = most recent; values are *cacheEntry
	items map[profKey]*list.Element
	// owner remembers which cached profile holds a record, so an upsert that moves a record
	// to another profile removes it from the old one.
	owner map[uint32]map[recKey]uint32

	hits, misses uint64

	// events counts the decoded events held; the cache also evicts while it exceeds
	// maxEvents, so that a few very active profiles cannot hold unbounded memory.
	events, maxEvents int
}

// defaultMaxCachedEvents bounds the decoded events the cache holds (about 0.5-1 KB each).
const defaultMaxCachedEvents = 1 << 20

type cacheEntry struct {
	key  profKey
	data *profileData
}

func newCache(st *store.Store, max int) *cache {
	return &cache{st: st, max: max, ll: list.New(), items: map[profKey]*list.Element{}, owner: map[uint32]map[recKey]uint32{},
		maxEvents: defaultMaxCachedEvents}
}

// get returns the profile's data, loading it on a miss.
func (c *cache) get(ws, pid uint32) (*profileData, error) {
	k := profKey{ws, pid}
	if e, ok := c.items[k]; ok {
		c.ll.MoveToFront(e)
		c.hits++
		return e.Value.(*cacheEntry).data, nil
	}
	c.misses++
	d, err := load(c.st, ws, pid)
	if err != nil {
		return nil, err
	}
	c.put(k, d)
	return d, nil
}

func (c *cache) put(k profKey, d *profileData) {
	c.items[k] = c.ll.PushFront(&cacheEntry{key: k, data: d})
	own := c.owner[k.ws]
	if own == nil {
		own = map[recKey]uint32{}
		c.owner[k.ws] = own
	}
	for rk := range d.records {
		own[rk] = k.pid
	}
	c.events += len(d.events)
	c.trim(c.ll.Front())
}

// trim evicts least recently used profiles while the cache is over either bound, never the
// one just used (keep).
func (c *cache) trim(keep *list.Element) {
	for (c.ll.Len() > c.max || c.events > c.maxEvents) && c.ll.Len() > 1 {
		b := c.ll.Back()
		if b == keep {
			break
		}
		c.evict(b)
	}
}

// grew records events appended to a cached profile.
func (c *cache) grew(n int) {
	c.events += n
	if c.events > c.maxEvents {
		c.trim(c.ll.Front())
	}
}

func (c *cache) evict(e *list.Element) {
	ce := e.Value.(*cacheEntry)
	c.ll.Remove(e)
	delete(c.items, ce.key)
	c.events -= len(ce.data.events)
	own := c.owner[ce.key.ws]
	for rk := range ce.data.records {
		if own[rk] == ce.key.pid {
			delete(own, rk)
		}
	}
}

// peek returns the cached data without loading.
func (c *cache) peek(ws, pid uint32) *profileData {
	if e, ok := c.items[profKey{ws, pid}]; ok {
		return e.Value.(*cacheEntry).data
	}
	return nil
}

func (c *cache) drop(ws, pid uint32) {
	if e, ok := c.items[profKey{ws, pid}]; ok {
		c.evict(e)
	}
}

// load reads one profile from the store; a missing or merged-away profile is not live.
func load(st *store.Store, ws, pid uint32) (*profileData, error) {
	d := &profileData{seqs: map[uint64]struct{}{}, records: map[recKey]reference.Record{}, traits: map[string]any{}}
	p, err := st.ProfileRecord(ws, pid)
	if errors.Is(err, store.ErrNotFound) {
		return d, nil
	}
	if err != nil {
		return nil, fmt.Errorf("live: load profile %d: %w", pid, err)
	}
	if p.ID != pid {
		return d, nil // merged away: its data counts for p.ID
	}
	d.live = true
	d.traits = p.TraitMap()
	evs, err := st.Events(ws, pid, time.Time{}, 0)
	if err != nil {
		return nil, fmt.Errorf("live: load events of %d: %w", pid, err)
	}
	d.events = make([]reference.Event, 0, len(evs))
	for i := len(evs) - 1; i >= 0; i-- {
		d.seqs[evs[i].Seq] = struct{}{}
		if e, ok := eventOf(&evs[i].Message); ok {
			d.events = append(d.events, e)
		}
	}
	recs, err := st.Records(ws, pid)
	if err != nil {
		return nil, fmt.Errorf("live: load records of %d: %w", pid, err)
	}
	for i := range recs {
		d.records[recKey{recs[i].Type, recs[i].ID}] = recordOf(&recs[i])
	}
	return d, nil
}
