package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Errors owned by the store.
var (
	ErrNotFound     = errors.New("not found")
	ErrFormat       = errors.New("data directory has an incompatible format version")
	ErrUnauthorized = errors.New("unknown or revoked key")
)

// Options configure Open.
type Options struct {
	// Dir is the data directory; created if missing.
	Dir string
	// FS overrides the filesystem (tests use vfs.NewMem or an error-injecting FS).
	FS vfs.FS
	// CacheBytes is Pebble's block cache size.
	CacheBytes int64
	// Logger receives the store's warnings (write stalls, a full dictionary of shared context
	// members); slog.Default() when nil.
	Logger *slog.Logger
	// BulkLoad is for an offline import into a data directory nothing else has open: the
	// write-ahead log is off, so a commit is not durable when it returns but only once Close
	// has returned (it flushes the memtables); a crash before that loses every write since the previous flush
	// (the import is then re-run, and its messageIds make that add nothing twice). Writing
	// each event to the log as well as to a table cost a fifth of an import's CPU time.
	BulkLoad bool
}

func (o *Options) setDefaults() {
	if o.CacheBytes == 0 {
		o.CacheBytes = 256 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Validate reports a configuration error.
func (o *Options) Validate() error {
	if o.Dir == "" {
		return errors.New("store: data directory is empty: set --data")
	}
	if o.CacheBytes < 0 {
		return errors.New("store: negative cache size")
	}
	return nil
}

// Store is segd's durable state. It is safe for concurrent use; writes go through Txn.
type Store struct {
	db *pebble.DB

	mu       sync.Mutex
	counters map[string]uint64 // "ws/name" → next value; guarded by mu, persisted in each Txn

	cache      writeCache
	seen       seenLog              // messageIds of the latest Txns, for SeenBefore's answers
	keyCache   sync.Map             // string(hashedKey) → APIKey, for Authenticate; cleared on every key write
	suppressed map[suppressRef]bool // the erasure block-list, loaded at Open; guarded by mu
	texts      texts                // the workspaces' text dictionaries (contextrefs.go), loaded at Open
	// anySuppressed is set once the block-list has an entry: until then a message's
	// identifiers need no hashing to be checked against it
	anySuppressed atomic.Bool

	// filter answers most dedupe reads of absent messageIds from memory (seenfilter.go), ids
	// most reads of absent identifiers (every new visitor's anonymousId is one); stopFilter
	// cancels their loading and filterDone is closed when that has ended.
	filter     *seenFilter
	ids        *seenFilter
	stopFilter context.CancelFunc
	filterDone chan struct{}

	stalls *writeStalls
	log    *slog.Logger // Options.Logger
	// sync is how writes are committed: synced to the WAL, or with Options.BulkLoad (no WAL)
	// not, as Pebble refuses a synced write without a WAL.
	sync *pebble.WriteOptions
}

// writeStalls counts the times Pebble held writes back (too many memtables waiting to be
// flushed, or too many files in L0): every commit waits then, so each is logged.
type writeStalls struct {
	log   *slog.Logger
	count atomic.Int64
	nanos atomic.Int64 // total stalled time, ended stalls
	began atomic.Int64 // Unix ns of the current stall's start
}

func (w *writeStalls) begin(i pebble.WriteStallBeginInfo) {
	w.count.Add(1)
	w.began.Store(time.Now().UnixNano())
	w.log.Warn("store: writes stalled until the storage engine catches up", "reason", i.Reason)
}

func (w *writeStalls) end() {
	d := time.Duration(time.Now().UnixNano() - w.began.Load())
	w.nanos.Add(int64(d))
	w.log.Info("store: writes resumed", "stalled", d.Round(time.Millisecond))
}

type suppressRef struct {
	ws   uint32
	hash [32]byte
}

func (s *Store) isSuppressed(ws uint32, h [32]byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.suppressed[suppressRef{ws, h}]
}

func (s *Store) loadSuppressed() error {
	return scan(s.db, []byte{prefixSuppress}, func(k, _ []byte) error {
		if len(k) != 5+32 {
			return fmt.Errorf("store: malformed suppression key %x", k)
		}
		var ref suppressRef
		ref.ws = binary.BigEndian.Uint32(k[1:5])
		copy(ref.hash[:], k[5:])
		s.suppressed[ref] = true
		s.anySuppressed.Store(true)
		return nil
	})
}

// Open opens (creating if needed) the store in opts.Dir.
func Open(opts Options) (*Store, error) {
	opts.setDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	cache := pebble.NewCache(opts.CacheBytes)
	defer cache.Unref()
	po := &pebble.Options{Cache: cache, FS: opts.FS, Logger: quietLogger{},
		MemTableSize: 64 << 20, MemTableStopWritesThreshold: 4, L0CompactionThreshold: 4, L0StopWritesThreshold: 24}
	for i := range po.Levels {
		// bloom filters make the write path's point lookups of absent keys (new messageIds,
		// new identifiers) cheap
		po.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
		po.Levels[i].FilterType = pebble.TableFilter
	}
	stalls := &writeStalls{log: opts.Logger}
	po.EventListener = &pebble.EventListener{WriteStallBegin: stalls.begin, WriteStallEnd: stalls.end}
	if opts.Logger.Enabled(context.Background(), slog.LevelDebug) {
		// what the engine does in the background, for an operator chasing its CPU or I/O
		po.EventListener.CompactionEnd = func(i pebble.CompactionInfo) {
			opts.Logger.Debug("store: compaction", "info", i.String())
		}
		po.EventListener.FlushEnd = func(i pebble.FlushInfo) {
			opts.Logger.Debug("store: flush", "info", i.String())
		}
	}
	po.DisableWAL = opts.BulkLoad
	po.EnsureDefaults()
	db, err := pebble.Open(opts.Dir, po)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", opts.Dir, err)
	}
	s := &Store{db: db, counters: map[string]uint64{}, suppressed: map[suppressRef]bool{}, stalls: stalls, log: opts.Logger,
		sync: pebble.Sync}
	if opts.BulkLoad {
		s.sync = pebble.NoSync
	}
	if err := s.checkVersion(); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.loadSuppressed(); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.loadTexts(); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.startFilter(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// startFilter creates the dedupe and identifier filters and fills them from the stored keys
// in the background, reading them from iterators opened now, before any write.
func (s *Store) startFilter() error {
	dedupe, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixDedupe}, UpperBound: []byte{prefixDedupe + 1}})
	if err != nil {
		return fmt.Errorf("store: read dedupe keys: %w", err)
	}
	ids, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixIdentifier}, UpperBound: []byte{prefixIdentifier + 1}})
	if err != nil {
		dedupe.Close()
		return fmt.Errorf("store: read identifier keys: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.filter, s.ids, s.stopFilter, s.filterDone = newSeenFilter(), newSeenFilter(), cancel, make(chan struct{})
	go func() {
		defer close(s.filterDone)
		// On an error a filter stays not ready and every check reads the store.
		_ = s.filter.load(ctx, dedupe)
		_ = s.ids.load(ctx, ids)
	}()
	return nil
}

type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("pebble fatal: "+format, args...))
}

func (s *Store) checkVersion() error {
	v, closer, err := s.db.Get(keyFormatVersion)
	if errors.Is(err, pebble.ErrNotFound) {
		return s.db.Set(keyFormatVersion, binary.BigEndian.AppendUint32(nil, FormatVersion), s.sync)
	}
	if err != nil {
		return fmt.Errorf("store: read format version: %w", err)
	}
	got, found := uint32(0), fmt.Sprintf("%x", v)
	if len(v) == 4 {
		got = binary.BigEndian.Uint32(v)
	}
	closer.Close()
	switch {
	case got == FormatVersion:
		return nil
	case got == 1 || got == 2:
		return s.db.Set(keyFormatVersion, binary.BigEndian.AppendUint32(nil, FormatVersion), s.sync)
	}
	return fmt.Errorf("%w: found %s, this segd writes %d", ErrFormat, found, FormatVersion)
}

// Close flushes and closes the store.
func (s *Store) Close() error {
	s.stopFilter()
	<-s.filterDone
	if err := s.flushBulk(); err != nil {
		s.db.Close()
		return err
	}
	return s.db.Close()
}

// applyNoSyncWait applies b, visible to reads at once, and returns before its fsync: b's
// SyncWait then waits for it. With Options.BulkLoad there is no WAL to sync, and SyncWait
// returns at once.
func (s *Store) applyNoSyncWait(b *pebble.Batch) error {
	if s.bulkLoad() {
		return s.db.Apply(b, pebble.NoSync)
	}
	return s.db.ApplyNoSyncWait(b, pebble.Sync)
}

// bulkLoad reports whether the store was opened with Options.BulkLoad (its writes unsynced).
func (s *Store) bulkLoad() bool { return !s.sync.Sync }

// flushBulk makes every committed write of a store opened with Options.BulkLoad durable by
// writing the memtables out to tables (other stores' commits are durable already).
func (s *Store) flushBulk() error {
	if !s.bulkLoad() {
		return nil
	}
	if err := s.Failed(); err != nil {
		return err
	}
	if err := s.db.Flush(); err != nil {
		return fmt.Errorf("store: flush: %w", err)
	}
	return nil
}

// DB exposes Pebble for checkpoints and metrics; callers must not write through it.
func (s *Store) DB() *pebble.DB { return s.db }

// Checkpoint writes a consistent copy of the store to dir (which must not exist).
func (s *Store) Checkpoint(dir string) error {
	return s.db.Checkpoint(dir, pebble.WithFlushedWAL())
}

// CompactAll flushes the memtables and compacts every key into the bottom level, so the store
// owes no compaction work for what was written before. It is an operator's tool (after a
// large import or erasure) and what makes benchmark phases start from the same state; it
// takes a while on a large store and competes with writes for the disk and the cores.
func (s *Store) CompactAll(ctx context.Context) error {
	if err := s.db.Flush(); err != nil {
		return fmt.Errorf("store: flush: %w", err)
	}
	// every key starts with a prefix byte below 0xff (keys.go)
	if err := s.db.Compact(ctx, []byte{0x00}, []byte{0xff}, true); err != nil {
		return fmt.Errorf("store: compact: %w", err)
	}
	return nil
}

func (s *Store) getJSON(key []byte, v any) error {
	b, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	defer closer.Close()
	return json.Unmarshal(b, v)
}

// scan calls fn for every key with the prefix, in key order. key and value are only valid
// during the call.
func scan(r pebble.Reader, prefix []byte, fn func(key, value []byte) error) error {
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return err
	}
	for it.First(); it.Valid(); it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return err
		}
		if err := fn(it.Key(), v); err != nil {
			it.Close()
			return err
		}
	}
	if err := it.Error(); err != nil {
		it.Close()
		return err
	}
	return it.Close()
}

// ---- workspaces and keys ----

// Workspaces lists all workspaces in id order.
func (s *Store) Workspaces() ([]Workspace, error) {
	var out []Workspace
	err := scan(s.db, []byte{prefixWorkspace}, func(_, v []byte) error {
		var w Workspace
		if err := json.Unmarshal(v, &w); err != nil {
			return fmt.Errorf("store: decode workspace: %w", err)
		}
		out = append(out, w)
		return nil
	})
	return out, err
}

// Workspace returns one workspace.
func (s *Store) Workspace(id uint32) (Workspace, error) {
	var w Workspace
	err := s.getJSON(wsKey(prefixWorkspace, id, 0), &w)
	return w, err
}

// WorkspaceByName finds a workspace by its name.
func (s *Store) WorkspaceByName(name string) (Workspace, error) {
	ws, err := s.Workspaces()
	if err != nil {
		return Workspace{}, err
	}
	for _, w := range ws {
		if w.Name == name {
			return w, nil
		}
	}
	return Workspace{}, ErrNotFound
}

// PutWorkspace stores w (creating or replacing it).
func (s *Store) PutWorkspace(w Workspace) error {
	b, err := json.Marshal(w)
	if err != nil {
		return err
	}
	return s.db.Set(wsKey(prefixWorkspace, w.ID, 0), b, s.sync)
}

// Keys are the secrets of a new workspace, shown once.
type Keys struct {
	Workspace  string `json:"workspace"`
	WriteKey   string `json:"writeKey"`
	ReadKey    string `json:"readKey"`
	AdminToken string `json:"adminToken"`
}

// CreateWorkspace creates a workspace with the given keys; empty keys are generated.
func (s *Store) CreateWorkspace(name string, keys Keys) (Workspace, Keys, error) {
	if name == "" || strings.ContainsAny(name, "/ \t\n") {
		return Workspace{}, Keys{}, fmt.Errorf("store: invalid workspace name %q: use letters, digits, - and _", name)
	}
	if _, err := s.WorkspaceByName(name); err == nil {
		return Workspace{}, Keys{}, fmt.Errorf("store: workspace %q already exists", name)
	}
	all, err := s.Workspaces()
	if err != nil {
		return Workspace{}, Keys{}, err
	}
	w := Workspace{ID: uint32(len(all) + 1), Name: name, Created: time.Now().UTC(), TimeZone: "UTC"}
	for _, x := range all {
		if x.ID >= w.ID {
			w.ID = x.ID + 1
		}
	}
	keys.Workspace = name
	if keys.WriteKey == "" {
		keys.WriteKey = NewSecret("wk")
	}
	if keys.ReadKey == "" {
		keys.ReadKey = NewSecret("rk")
	}
	if keys.AdminToken == "" {
		keys.AdminToken = NewSecret("at")
	}
	b := s.db.NewBatch()
	defer b.Close()
	wj, _ := json.Marshal(w)
	b.Set(wsKey(prefixWorkspace, w.ID, 0), wj, nil)
	for secret, scope := range map[string]Scope{keys.WriteKey: ScopeWrite, keys.ReadKey: ScopeRead, keys.AdminToken: ScopeAdmin} {
		if err := putKey(b, w.ID, secret, scope); err != nil {
			return Workspace{}, Keys{}, err
		}
	}
	if err := b.Commit(s.sync); err != nil {
		return Workspace{}, Keys{}, fmt.Errorf("store: create workspace: %w", err)
	}
	return w, keys, nil
}

func putKey(b *pebble.Batch, ws uint32, secret string, scope Scope) error {
	k := APIKey{Workspace: ws, Scope: scope, Prefix: secretPrefix(secret), Created: time.Now().UTC()}
	v, _ := json.Marshal(k)
	return b.Set(hashedKey(secret), v, nil)
}

// AddKey stores a new key of the scope for the workspace and returns its secret.
func (s *Store) AddKey(ws uint32, scope Scope, secret string) (string, error) {
	if secret == "" {
		secret = NewSecret(map[Scope]string{ScopeWrite: "wk", ScopeRead: "rk", ScopeAdmin: "at"}[scope])
	}
	b := s.db.NewBatch()
	defer b.Close()
	if err := putKey(b, ws, secret, scope); err != nil {
		return "", err
	}
	return secret, b.Commit(s.sync)
}

// RevokeKey marks the key with the secret revoked.
func (s *Store) RevokeKey(secret string) error {
	var k APIKey
	if err := s.getJSON(hashedKey(secret), &k); err != nil {
		return err
	}
	k.Revoked = true
	v, _ := json.Marshal(k)
	defer s.keyCache.Clear()
	return s.db.Set(hashedKey(secret), v, s.sync)
}

// Authenticate returns the key record for a secret, or ErrUnauthorized.
func (s *Store) Authenticate(secret string) (APIKey, error) {
	var k APIKey
	if secret == "" {
		return k, ErrUnauthorized
	}
	hk := hashedKey(secret)
	if v, ok := s.keyCache.Load(string(hk)); ok {
		return v.(APIKey), nil
	}
	err := s.getJSON(hk, &k)
	if errors.Is(err, ErrNotFound) || (err == nil && k.Revoked) {
		return APIKey{}, ErrUnauthorized
	}
	if err == nil {
		s.keyCache.Store(string(hk), k) // only valid keys: unknown secrets must not fill memory
	}
	return k, err
}

func hashedKey(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return append([]byte{prefixKey}, h[:]...)
}

func secretPrefix(secret string) string {
	if len(secret) > 7 {
		return secret[:7]
	}
	return secret
}

// NewSecret returns a random key with a readable prefix, e.g. "wk_3kT…".
func NewSecret(prefix string) string {
	var b [24]byte
	if _, err := io.ReadFull(rand.Reader, b[:]); err != nil {
		panic("store: crypto/rand failed: " + err.Error())
	}
	return prefix + "_" + base64.RawURLEncoding.EncodeToString(b[:])
}

// HashIdentifier is the suppression-list form of an identifier.
func HashIdentifier(typ, value string) []byte {
	h := sha256.Sum256([]byte(typ + ":" + value))
	return h[:]
}
