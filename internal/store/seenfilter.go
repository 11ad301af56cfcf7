package store

import (
	"context"
	"encoding/binary"
	"hash/maphash"
	"maps"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// The dedupe check reads the messageId's key for every message, and nearly every read is of
// an absent key: a Pebble point read of an absent key visits every level (memtables, each L0
// sublevel, L5, L6 ...) and cost about 8 µs of CPU, a tenth of ingestion's. seenFilter is an
// in-memory Bloom filter of every dedupe key in the store: when it answers "absent" the read
// is skipped; "maybe" (about 1% of absent keys, and every present one) reads the store as
// before. It never answers "absent" for a key the store holds:
//
//   - Open creates it before any write and fills it from the keys already stored, on a
//     goroutine, from an iterator (a snapshot) opened before the first write; until that scan
//     is done every check reads the store.
//   - MarkSeen adds a key before the Txn that writes it commits (a Txn discarded afterwards
//     leaves a key the filter may report, which costs one read).
//   - Keys are only removed by ExpireDedupe. The filter is a list of generations (Bloom
//     filters of a fixed capacity; when one fills up a larger one follows), each knowing the
//     latest receipt time it holds. After an expiry pass of a workspace has deleted every key
//     received before a cutoff, the generations of that workspace that were already full when
//     the pass began and hold only keys received before the cutoff are dropped.
type seenFilter struct {
	seed  maphash.Seed
	ready atomic.Bool // the scan of the stored keys is done

	mu  sync.Mutex                           // serialises changes to fil and to generations
	fil atomic.Pointer[map[uint32]*wsFilter] // replaced, never changed in place: read without mu

	skipped atomic.Int64 // reads of the store the filter saved
}

// wsFilter is one workspace's generations, oldest first. The last one takes new keys.
type wsFilter struct {
	gens atomic.Pointer[[]*bloomGen]
}

// bloomGen is a blocked Bloom filter: a key sets 7 bits within one 512-bit block (one cache
// line), at least 10 bits per key of capacity (1-2% false positives when full).
type bloomGen struct {
	blocks  []uint64 // len is a multiple of 8
	mask    uint64   // blocks/8 - 1 (a power of two)
	cap     int64
	n       atomic.Int64
	maxRecv atomic.Int64 // latest receipt time added (Unix ns)
}

const (
	minGenKeys = 1 << 16
	maxGenKeys = 1 << 24 // 20 MB a generation
)

func newBloomGen(keys int64) *bloomGen {
	nblocks := uint64(1) << bits.Len64(uint64(keys*10/512)) // ≥ 10 bits per key, a power of two
	return &bloomGen{blocks: make([]uint64, nblocks*8), mask: nblocks - 1, cap: keys}
}

// bloomProbes is the number of bits a key sets: 7 slices of 9 bits of a second hash.
const bloomProbes = 7

func (g *bloomGen) add(h uint64) {
	b, h2 := (h&g.mask)*8, h*0x9E3779B97F4A7C15
	for i := range bloomProbes {
		bit := (h2 >> (i * 9)) & 511
		atomic.OrUint64(&g.blocks[b+bit/64], 1<<(bit%64))
	}
}

func (g *bloomGen) has(h uint64) bool {
	b, h2 := (h&g.mask)*8, h*0x9E3779B97F4A7C15
	for i := range bloomProbes {
		bit := (h2 >> (i * 9)) & 511
		if atomic.LoadUint64(&g.blocks[b+bit/64])&(1<<(bit%64)) == 0 {
			return false
		}
	}
	return true
}

func newSeenFilter() *seenFilter {
	f := &seenFilter{seed: maphash.MakeSeed()}
	f.fil.Store(&map[uint32]*wsFilter{})
	return f
}

func (f *seenFilter) hash(messageID string) uint64 { return maphash.String(f.seed, messageID) }

// workspace returns ws's filter, creating it.
func (f *seenFilter) workspace(ws uint32) *wsFilter {
	if w := (*f.fil.Load())[ws]; w != nil {
		return w
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	cur := *f.fil.Load()
	if w := cur[ws]; w != nil {
		return w
	}
	w := &wsFilter{}
	gens := []*bloomGen{newBloomGen(minGenKeys)}
	w.gens.Store(&gens)
	m := maps.Clone(cur)
	m[ws] = w
	f.fil.Store(&m)
	return w
}

// add records a dedupe key received at received.
func (f *seenFilter) add(ws uint32, messageID string, received time.Time) {
	f.addHash(ws, f.hash(messageID), received)
}

func (f *seenFilter) addHash(ws uint32, h uint64, received time.Time) {
	w := f.workspace(ws)
	for {
		gens := *w.gens.Load()
		g := gens[len(gens)-1]
		if g.n.Add(1) <= g.cap {
			g.add(h)
			recv := received.UnixNano()
			for cur := g.maxRecv.Load(); recv > cur && !g.maxRecv.CompareAndSwap(cur, recv); cur = g.maxRecv.Load() {
			}
			return
		}
		f.grow(w, g)
	}
}

// grow starts a new generation after full unless another add already did.
func (f *seenFilter) grow(w *wsFilter, full *bloomGen) {
	f.mu.Lock()
	defer f.mu.Unlock()
	gens := *w.gens.Load()
	if gens[len(gens)-1] != full {
		return
	}
	next := append(append([]*bloomGen(nil), gens...), newBloomGen(min(2*full.cap, maxGenKeys)))
	w.gens.Store(&next)
}

// keyHash hashes a stored key by its bytes after the prefix and workspace: for a dedupe key the
// messageId, so keyHash(dedupeKey(ws, id)) == hash(id) (maphash hashes a string and its bytes
// alike); load adds every key it reads this way.
func (f *seenFilter) keyHash(key []byte) uint64 { return maphash.Bytes(f.seed, key[5:]) }

// addKey and absentKey are add and absent for a key of a kind whose values carry no receipt
// time (identifiers: I ws type 0 value). Their generations are never expirable.
func (f *seenFilter) addKey(ws uint32, key []byte) { f.addHash(ws, f.keyHash(key), time.Time{}) }

func (f *seenFilter) absentKey(ws uint32, key []byte) bool {
	return f.absentHash(ws, f.keyHash(key))
}

// mayContain reports whether the store may hold the key (false: it certainly does not).
func (f *seenFilter) mayContain(ws uint32, messageID string) bool {
	if f.absent(ws, messageID) {
		f.skipped.Add(1)
		return false
	}
	return true
}

// absent reports that messageID is certainly not stored (false: it may be, or the filter is
// not loaded yet). It counts nothing: checks that never read the store use it directly.
func (f *seenFilter) absent(ws uint32, messageID string) bool {
	return f.absentHash(ws, f.hash(messageID))
}

func (f *seenFilter) absentHash(ws uint32, h uint64) bool {
	if !f.ready.Load() {
		return false
	}
	w := (*f.fil.Load())[ws]
	if w == nil {
		return true
	}
	for _, g := range *w.gens.Load() {
		if g.has(h) {
			return false
		}
	}
	return true
}

// expirable returns the generations of ws that may be dropped once every key received before
// cutoff is deleted: full ones whose keys were all received before cutoff.
func (f *seenFilter) expirable(ws uint32, cutoff time.Time) []*bloomGen {
	if !f.ready.Load() {
		return nil
	}
	w := (*f.fil.Load())[ws]
	if w == nil {
		return nil
	}
	gens := *w.gens.Load()
	var out []*bloomGen
	for _, g := range gens[:len(gens)-1] { // the last one still takes keys
		if g.maxRecv.Load() < cutoff.UnixNano() {
			out = append(out, g)
		}
	}
	return out
}

// drop removes generations of ws (after their keys were deleted).
func (f *seenFilter) drop(ws uint32, gone []*bloomGen) {
	if len(gone) == 0 {
		return
	}
	w := (*f.fil.Load())[ws]
	f.mu.Lock()
	defer f.mu.Unlock()
	keep := slices.DeleteFunc(slices.Clone(*w.gens.Load()), func(g *bloomGen) bool { return slices.Contains(gone, g) })
	w.gens.Store(&keep)
}

// load adds every key it reads from it (opened before the store's first write) and
// then marks the filter ready; it closes it.
func (f *seenFilter) load(ctx context.Context, it *pebble.Iterator) error {
	defer it.Close()
	n := 0
	for it.First(); it.Valid(); it.Next() {
		k := it.Key() // prefix, workspace, the rest (the iterator's bounds)
		if len(k) < 5 {
			continue
		}
		var recv time.Time // a dedupe key's value is its receipt time, an identifier's a pid
		if v := it.Value(); len(v) >= 8 {
			recv = decodeTime(v)
		}
		f.addHash(binary.BigEndian.Uint32(k[1:5]), f.keyHash(k), recv)
		if n++; n%65536 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if err := it.Error(); err != nil {
		return err
	}
	f.ready.Store(true)
	return nil
}
