package live

import (
	"container/list"
	"errors"
	"fmt"
	"time"

	"github.com/segd/segd/internal/engine/reference"
	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/message"
	"github.com/segd/segd/internal/profeval"
	"github.com/segd/segd/internal/store"
)

// profileData is one profile's data, ready for per-profile evaluation (profeval).
type profileData struct {
	live   bool
	traits map[string]any
	events *profeval.Profile // sorted by time, grouped by kind and name
	// maxSeq is the highest store sequence number of the profile's events seen (loaded or
	// applied), kept or not.
	maxSeq uint64
	// propTimes counts the events with a time-valued property (timers must look at them).
	propTimes int
	records   map[recKey]reference.Record
	// recsChanged says events.Records must be rebuilt from records before evaluating.
	recsChanged bool
	// need and from say which events were loaded: those need keeps for evaluations at or
	// after from (everything when need is nil).
	need *needs
	from time.Time

	// key and elem place the data in the cache's map and LRU list (elem is nil while the
	// data is not cached).
	key  profKey
	elem *list.Element
}

type recKey struct{ typ, id string }

type profKey struct{ ws, pid uint32 }

func newProfileData(live bool, traits map[string]any, events []profeval.Event, records map[recKey]reference.Record) *profileData {
	if traits == nil {
		traits = map[string]any{}
	}
	if records == nil {
		records = map[recKey]reference.Record{}
	}
	d := &profileData{live: live, traits: traits, events: profeval.NewProfile(traits, events, nil),
		records: records, recsChanged: true}
	for i := range events {
		if hasTimeProp(events[i].Props) {
			d.propTimes++
		}
	}
	return d
}

// addEvent appends an event (any time order).
func (d *profileData) addEvent(e profeval.Event) {
	d.events.Add(e)
	if hasTimeProp(e.Props) {
		d.propTimes++
	}
}

// cacheSlack is how far behind the evaluation time cached data still serves evaluations:
// evaluations follow the clock, and timers a little behind it (a backlog) still find their
// events; a timer further behind reloads the profile. It also bounds what the cache keeps
// beyond the segments' windows, so a small slack keeps the cache near the windows' working set.
const cacheSlack = time.Minute

// dropOld removes the events no evaluation at or after cacheSlack before now reads (when every
// window that reads events is bounded) and reports how many it removed.
func (d *profileData) dropOld(now time.Time) int {
	reach, ok := d.need.reach()
	from := now.Add(-cacheSlack)
	if !ok || !from.After(d.from) {
		return 0
	}
	n := d.events.DropBefore(from.Add(-reach))
	d.from = from
	if n > 0 && d.propTimes > 0 {
		d.propTimes = 0
		for i := range d.events.Len() {
			if hasTimeProp(d.events.Props(i)) {
				d.propTimes++
			}
		}
	}
	return n
}

func hasTimeProp(props []profeval.Prop) bool {
	for _, p := range props {
		if _, ok := timeValue(p.Value); ok {
			return true
		}
	}
	return false
}

// profile returns the data as the evaluator reads it (records brought up to date).
func (d *profileData) profile() *profeval.Profile {
	p := d.events
	p.Traits = d.traits
	if d.recsChanged {
		p.Records = p.Records[:0]
		for _, r := range d.records {
			p.Records = append(p.Records, r)
		}
		d.recsChanged = false
	}
	return p
}

// setRecord adds or replaces (r non-nil) or removes a record.
func (d *profileData) setRecord(k recKey, r *reference.Record) {
	if r == nil {
		delete(d.records, k)
	} else {
		d.records[k] = *r
	}
	d.recsChanged = true
}

// changeEvent is the added event of ch as the index holds it (properties, the page/screen
// name as "name" unless a property has it, enrichment fields that do not collide: see
// index.FromMessage), taken from ch.Indexed when the caller converted it, so that live and
// batch read the same values. Only track, page and screen calls are visible to the language.
func changeEvent(ch *Change) (index.Event, bool) {
	if ch.Indexed != nil {
		return *ch.Indexed, true
	}
	return index.FromMessage(0, ch.Event)
}

func recordOf(r *store.Record) reference.Record {
	return reference.Record{Type: r.Type, ID: r.ID, Attrs: r.Attributes}
}

// cache is a bounded LRU of decoded profiles, kept current from the change feed. Loading
// reads the store, which may already hold later writes than the change being applied;
// applying those writes again is harmless (events are deduplicated by sequence number,
// traits and records are idempotent).
type cache struct {
	st  *store.Store
	max int
	ll  *list.List // front = most recent; values are *profileData
	// items holds the data itself, so a lookup (several per change) reads no list element
	items map[profKey]*profileData

	hits, misses uint64

	// events counts the decoded events held and bytes estimates their memory; the cache also
	// evicts while bytes exceeds maxBytes, so that a few very active profiles cannot hold
	// unbounded memory.
	events          int
	bytes, maxBytes int
}

// defaultCacheBytes bounds the memory of the events the cache holds (about 270 bytes each
// with the properties no segment reads left out).
const defaultCacheBytes = 2 << 30

func newCache(st *store.Store, max int) *cache {
	return &cache{st: st, max: max, ll: list.New(), items: map[profKey]*profileData{},
		maxBytes: defaultCacheBytes}
}

// get returns the profile's data for an evaluation at `at` under need, loading it on a miss
// or when the cached copy was loaded for other needs or for later evaluations only.
func (c *cache) get(ws, pid uint32, need *needs, at time.Time) (*profileData, error) {
	k := profKey{ws, pid}
	if d, ok := c.items[k]; ok {
		if d.serves(need, at) {
			c.ll.MoveToFront(d.elem)
			c.hits++
			return d, nil
		}
		c.evict(d)
	}
	c.misses++
	d, err := load(c.st, ws, pid, need, at.Add(-cacheSlack))
	if err != nil {
		return nil, err
	}
	c.put(k, d)
	return d, nil
}

// serves reports whether d holds every event an evaluation at `at` under need reads.
func (d *profileData) serves(need *needs, at time.Time) bool {
	return d.need == nil || (d.need == need && !at.Before(d.from))
}

// fresh reports whether the cache holds data of the profile that serves need at `at`.
func (c *cache) fresh(ws, pid uint32, need *needs, at time.Time) bool {
	d := c.peek(ws, pid)
	return d != nil && d.serves(need, at)
}

// replace puts loaded data in the cache, in place of what it held for the profile.
func (c *cache) replace(k profKey, d *profileData) {
	if cur, ok := c.items[k]; ok {
		c.evict(cur)
	}
	c.misses++
	c.put(k, d)
}

// warm adds data read by a scan when the cache has room for it and lacks the profile (or
// holds it for other needs); it never evicts.
func (c *cache) warm(k profKey, d *profileData) {
	if cur, ok := c.items[k]; ok {
		if cur.need == d.need || cur.need == nil {
			return
		}
		c.evict(cur)
	}
	if c.ll.Len() >= c.max || c.bytes+d.events.Bytes() > c.maxBytes {
		return
	}
	d.key, d.elem = k, c.ll.PushBack(d)
	c.items[k] = d
	c.added(d)
}

func (c *cache) put(k profKey, d *profileData) {
	d.key, d.elem = k, c.ll.PushFront(d)
	c.items[k] = d
	c.added(d)
	c.trim(d.elem)
}

// added accounts for an entry just linked into the list: its events.
func (c *cache) added(d *profileData) {
	c.events += d.events.Len()
	c.bytes += d.events.Bytes()
}

// trim evicts least recently used profiles while the cache is over either bound, never the
// one just used (keep).
func (c *cache) trim(keep *list.Element) {
	for (c.ll.Len() > c.max || c.bytes > c.maxBytes) && c.ll.Len() > 1 {
		b := c.ll.Back()
		if b == keep {
			break
		}
		c.evict(b.Value.(*profileData))
	}
}

// grew records events appended to a cached profile (n of them, taking bytes).
func (c *cache) grew(n, bytes int) {
	c.events += n
	c.bytes += bytes
	if c.bytes > c.maxBytes {
		c.trim(c.ll.Front())
	}
}

func (c *cache) evict(d *profileData) {
	c.ll.Remove(d.elem)
	d.elem = nil
	delete(c.items, d.key)
	c.events -= d.events.Len()
	c.bytes -= d.events.Bytes()
}

// peek returns the cached data without loading.
func (c *cache) peek(ws, pid uint32) *profileData {
	return c.items[profKey{ws, pid}]
}

// dropWorkspace evicts every profile of ws (its last real-time segment is gone: nothing reads
// them, and keeping them current would cost every event of the workspace).
func (c *cache) dropWorkspace(ws uint32) {
	for e := c.ll.Front(); e != nil; {
		next := e.Next()
		if d := e.Value.(*profileData); d.key.ws == ws {
			c.evict(d)
		}
		e = next
	}
}

func (c *cache) drop(ws, pid uint32) {
	if d, ok := c.items[profKey{ws, pid}]; ok {
		c.evict(d)
	}
}

// load reads one profile from the store; a missing or merged-away profile is not live.
// load reads one profile from the store, keeping the events that need asks for evaluations
// at or after from (all of them when need is nil); a missing or merged-away profile is not
// live.
func load(st *store.Store, ws, pid uint32, need *needs, from time.Time) (*profileData, error) {
	id, traits, err := st.ProfileTraits(ws, pid, need.traitFilter())
	if errors.Is(err, store.ErrNotFound) {
		return newProfileData(false, nil, nil, nil), nil
	}
	if err != nil {
		return nil, fmt.Errorf("live: load profile %d: %w", pid, err)
	}
	if id != pid {
		return newProfileData(false, nil, nil, nil), nil // merged away: its data counts for id
	}
	var events []profeval.Event
	var maxSeq uint64
	var f message.EventFields
	var scratch []profeval.Prop
	err = st.ProfileEventsRaw(ws, pid, func(seq uint64, t time.Time, v []byte) error {
		maxSeq = max(maxSeq, seq)
		e, ok, err := decodeNeeded(v, t, need, from, &f, &scratch)
		if ok {
			events = append(events, e)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("live: load events of %d: %w", pid, err)
	}
	recs, err := st.Records(ws, pid)
	if err != nil {
		return nil, fmt.Errorf("live: load records of %d: %w", pid, err)
	}
	records := make(map[recKey]reference.Record, len(recs))
	for i := range recs {
		records[recKey{recs[i].Type, recs[i].ID}] = recordOf(&recs[i])
	}
	d := newProfileData(true, traits, events, records)
	d.maxSeq, d.need, d.from = maxSeq, need, from
	return d, nil
}

// decodeNeeded decodes a stored event if it is visible to the language and need keeps it
// (every visible event when need is nil), reading only its header and name to decide.
func decodeNeeded(v []byte, t time.Time, need *needs, from time.Time, f *message.EventFields, scratch *[]profeval.Prop) (profeval.Event, bool, error) {
	typ, ok := store.StoredEventType(v)
	if !ok {
		return profeval.Event{}, false, errors.New("store: corrupt event value")
	}
	k, visible := index.KindOf(typ)
	if !visible {
		return profeval.Event{}, false, nil // not visible to the language
	}
	kind := k.String()
	if err := store.DecodeEventFields(v, f); err != nil {
		return profeval.Event{}, false, err
	}
	if need != nil && !need.keeps(kind, string(f.Event), t, from) {
		return profeval.Event{}, false, nil
	}
	e, ok, err := index.FromFields(0, f, need.propFilter(), shareBytes)
	if err != nil || !ok {
		return profeval.Event{}, false, err
	}
	out, grown := need.eventInto(&e, *scratch)
	*scratch = grown
	return out, true, nil
}
