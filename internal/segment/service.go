package segment

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/segql/ast"
	"github.com/segd/segd/internal/segql/check"
	"github.com/segd/segd/internal/segql/parser"
	"github.com/segd/segd/internal/segql/printer"
	"github.com/segd/segd/internal/segql/scanner"
	"github.com/segd/segd/internal/segql/token"
	"github.com/segd/segd/internal/segql/tree"
	"github.com/segd/segd/internal/store"
)

// Store document kinds owned by this package.
const (
	kindSegment = "segment"         // id: segment ID → current Segment JSON
	kindVersion = "segment-version" // id: segment ID + "/" + %08d version → Segment JSON
	kindMembers = "segment-members" // id: segment ID → frozen roaring bitmap (snapshot mode)
)

// Sentinel errors, classified with errors.Is.
var (
	ErrNotFound  = errors.New("segment not found")
	ErrNameTaken = errors.New("segment name already used in this workspace")
	ErrInUse     = errors.New("segment is used by other segments")
)

// InputError is a bad field of a request: Path names the field.
type InputError struct {
	Path string
	Msg  string
}

func (e *InputError) Error() string { return e.Path + ": " + e.Msg }

// QueryError is a query that does not parse or check. List holds every error and warning,
// with positions in Text (the query as given, or the canonical text of a tree).
type QueryError struct {
	Path string // "query" or "tree"
	Text string
	List scanner.ErrorList
}

func (e *QueryError) Error() string { return e.Path + ": " + e.List.Errors().Error() }

// Indexes gives the per-workspace in-memory index and time zone; cmd/segd's views implement it.
type Indexes interface {
	Index(ws uint32) *index.Index
	Location(ws uint32) *time.Location
}

// Options configure a Service.
type Options struct {
	Store   *store.Store
	Indexes Indexes
	// OnChange is called after every durable change, in write order, with the previous
	// definition (nil on create) and the new one (nil on delete). It runs while the service
	// holds its write lock: it may read (List, Get, Evaluate) but must not create, update or
	// delete segments.
	OnChange func(ws uint32, old, new *Segment)
	// Now is the clock; default time.Now.
	Now func() time.Time
	// SizeTTL is how long a segment's size stays cached for listings; default 5 s, negative
	// disables the cache.
	SizeTTL time.Duration
	// SchemaTTL is how long a workspace's checker schema is cached; default 2 s, negative
	// disables the cache.
	SchemaTTL time.Duration
	// MaxSample caps the sample of a query answer; default 1000.
	MaxSample int
}

func (o *Options) setDefaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SizeTTL == 0 {
		o.SizeTTL = 5 * time.Second
	}
	if o.SchemaTTL == 0 {
		o.SchemaTTL = 2 * time.Second
	}
	if o.MaxSample == 0 {
		o.MaxSample = 1000
	}
}

// Validate reports a configuration error.
func (o *Options) Validate() error {
	if o.Store == nil || o.Indexes == nil {
		return errors.New("segment: Store and Indexes are required")
	}
	if o.MaxSample < 0 {
		return fmt.Errorf("segment: MaxSample must be >= 0, got %d", o.MaxSample)
	}
	return nil
}

// Service stores, versions, checks and evaluates segment definitions.
type Service struct {
	opts Options
	mu   sync.Mutex // serialises writes (name uniqueness, versions, OnChange order)

	cacheMu sync.Mutex
	sizes   map[uint32]map[string]sizeEntry
	schemas map[uint32]schemaEntry
}

type sizeEntry struct {
	version  int
	n        uint64
	computed time.Time
}

type schemaEntry struct {
	s        index.Schema
	computed time.Time
}

// New returns a service.
func New(opts Options) (*Service, error) {
	opts.setDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return &Service{opts: opts, sizes: map[uint32]map[string]sizeEntry{}, schemas: map[uint32]schemaEntry{}}, nil
}

// Input is a create or update request. On update, empty Name, Query+Tree and Mode and nil
// Description, Schedule and Tags keep the previous values.
type Input struct {
	Name        string          `json:"name,omitempty" yaml:"name"`
	Description *string         `json:"description,omitempty" yaml:"description"`
	Query       string          `json:"query,omitempty" yaml:"query"`
	Tree        json.RawMessage `json:"tree,omitempty" yaml:"-"`
	Mode        string          `json:"mode,omitempty" yaml:"mode"`
	Schedule    *string         `json:"schedule,omitempty" yaml:"schedule"`
	Tags        []string        `json:"tags,omitempty" yaml:"tags"`
}

// ---- reads ----

// List returns the workspace's segments sorted by name.
func (s *Service) List(ws uint32) ([]Segment, error) {
	var out []Segment
	err := s.opts.Store.Docs(ws, kindSegment, func(id string, v []byte) error {
		var seg Segment
		if err := json.Unmarshal(v, &seg); err != nil {
			return fmt.Errorf("segment %s: decode: %w", id, err)
		}
		out = append(out, seg)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list segments: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Get returns a segment by ID or, failing that, by name.
func (s *Service) Get(ws uint32, idOrName string) (Segment, error) {
	if strings.HasPrefix(idOrName, "seg_") {
		v, err := s.opts.Store.Doc(ws, kindSegment, idOrName)
		if err == nil {
			var seg Segment
			if err := json.Unmarshal(v, &seg); err != nil {
				return Segment{}, fmt.Errorf("segment %s: decode: %w", idOrName, err)
			}
			return seg, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return Segment{}, fmt.Errorf("get segment %s: %w", idOrName, err)
		}
	}
	all, err := s.List(ws)
	if err != nil {
		return Segment{}, err
	}
	for _, seg := range all {
		if seg.Name == idOrName {
			return seg, nil
		}
	}
	return Segment{}, fmt.Errorf("%w: %q", ErrNotFound, idOrName)
}

// Versions returns every stored version of a segment, oldest first.
func (s *Service) Versions(ws uint32, idOrName string) ([]Segment, error) {
	cur, err := s.Get(ws, idOrName)
	if err != nil {
		return nil, err
	}
	var out []Segment
	prefix := cur.ID + "/"
	err = s.opts.Store.Docs(ws, kindVersion, func(id string, v []byte) error {
		if !strings.HasPrefix(id, prefix) {
			return nil
		}
		var seg Segment
		if err := json.Unmarshal(v, &seg); err != nil {
			return fmt.Errorf("segment version %s: decode: %w", id, err)
		}
		out = append(out, seg)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list versions of %s: %w", cur.ID, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// ---- compiling queries ----

// Compiled is a query that parsed and checked.
type Compiled struct {
	Text     string          // canonical text
	Expr     ast.Expr        // the tree parsed from Text
	Tree     json.RawMessage // JSON form
	Info     *check.Info
	Warnings scanner.ErrorList
}

// schema returns the workspace's checker schema with segs as the known segments.
func (s *Service) schema(ws uint32, segs []Segment) *check.Schema {
	now := time.Now()
	s.cacheMu.Lock()
	e, ok := s.schemas[ws]
	s.cacheMu.Unlock()
	if !ok || s.opts.SchemaTTL < 0 || now.Sub(e.computed) > s.opts.SchemaTTL {
		var is index.Schema
		if ix := s.opts.Indexes.Index(ws); ix != nil {
			is = ix.Schema()
		}
		e = schemaEntry{s: is, computed: now}
		s.cacheMu.Lock()
		s.schemas[ws] = e
		s.cacheMu.Unlock()
	}
	return CheckSchema(e.s, segs)
}

// Compile parses (text) or decodes (JSON tree) a query, checks it against the workspace schema
// and the workspace's segments, and returns its canonical forms. segment is the name of the
// segment being defined (for cycle detection), empty for an ad-hoc query. A *QueryError holds
// every error and warning; an *InputError a malformed request.
func (s *Service) Compile(ws uint32, query string, treeJSON json.RawMessage, segment string) (*Compiled, error) {
	segs, err := s.List(ws)
	if err != nil {
		return nil, err
	}
	return s.compile(ws, query, treeJSON, segment, segs)
}

func (s *Service) compile(ws uint32, query string, treeJSON json.RawMessage, segment string, segs []Segment) (*Compiled, error) {
	file, x, path, src, err := parseInput(query, treeJSON)
	if err != nil {
		return nil, err
	}
	info, list := check.Check(file, x, s.schema(ws, segs), check.Options{Segment: segment})
	if list.HasErrors() {
		return nil, &QueryError{Path: path, Text: src, List: list}
	}
	return finish(x, info, list)
}

// parseInput returns the parsed tree of the query text or JSON tree. A tree is printed and
// parsed again so that diagnostics have positions in its canonical text.
func parseInput(query string, treeJSON json.RawMessage) (file *token.File, x ast.Expr, path, src string, err error) {
	hasTree := len(treeJSON) > 0 && string(treeJSON) != "null"
	switch {
	case query != "" && hasTree:
		return nil, nil, "", "", &InputError{Path: "query", Msg: "give query or tree, not both"}
	case query == "" && !hasTree:
		return nil, nil, "", "", &InputError{Path: "query", Msg: "query (SegQL text) or tree (its JSON form) is required"}
	}
	path, src = "query", query
	if hasTree {
		tx, err := tree.Decode(treeJSON)
		if err != nil {
			var te *tree.Error
			if errors.As(err, &te) {
				return nil, nil, "", "", &InputError{Path: "tree" + strings.TrimPrefix(te.Path, "$"), Msg: te.Msg}
			}
			return nil, nil, "", "", &InputError{Path: "tree", Msg: err.Error()}
		}
		path, src = "tree", printer.String(tx)
	}
	file, x, errs := parser.Parse("", src)
	if errs.HasErrors() {
		return nil, nil, "", "", &QueryError{Path: path, Text: src, List: errs}
	}
	return file, x, path, src, nil
}

func finish(x ast.Expr, info *check.Info, list scanner.ErrorList) (*Compiled, error) {
	text := printer.String(x)
	// The stored tree is the one parsed from the canonical text, so it has positions in it.
	_, cx, errs := parser.Parse("", text)
	if errs.HasErrors() {
		panic(fmt.Sprintf("segment: canonical text %q does not parse: %v", text, errs))
	}
	tj, err := tree.Encode(cx)
	if err != nil {
		return nil, fmt.Errorf("encode tree: %w", err)
	}
	return &Compiled{Text: text, Expr: cx, Tree: tj, Info: info, Warnings: list}, nil
}

// Format parses text and returns its canonical text and JSON tree (no schema check).
func Format(text string) (*Compiled, error) {
	_, x, errs := parser.Parse("", text)
	if errs.HasErrors() {
		return nil, &QueryError{Path: "query", Text: text, List: errs}
	}
	return finish(x, nil, errs)
}

// dependsOn lists the segments a stored (canonical) query refers to.
func dependsOn(query string) []string {
	_, x, errs := parser.Parse("", query)
	if errs.HasErrors() {
		return nil
	}
	return segmentRefs(x)
}

func segmentRefs(x ast.Expr) []string {
	var out []string
	ast.Inspect(x, func(n ast.Node) bool {
		if s, ok := n.(*ast.InSegment); ok && s.Segment != nil && !slices.Contains(out, s.Segment.Value) {
			out = append(out, s.Segment.Value)
		}
		return true
	})
	sort.Strings(out)
	return out
}

// ---- validation ----

func validName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return &InputError{Path: "name", Msg: "name is required"}
	case len(name) > 200:
		return &InputError{Path: "name", Msg: "name is longer than 200 bytes"}
	case strings.TrimSpace(name) != name:
		return &InputError{Path: "name", Msg: "name must not start or end with spaces"}
	case strings.HasPrefix(name, "seg_"):
		return &InputError{Path: "name", Msg: `name must not start with "seg_" (reserved for ids)`}
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return &InputError{Path: "name", Msg: "name must not contain control characters"}
		}
	}
	return nil
}

func validMode(mode, schedule string) error {
	switch mode {
	case ModeRealtime, ModeSnapshot:
		if schedule != "" {
			return &InputError{Path: "schedule", Msg: "schedule is only for mode scheduled"}
		}
	case ModeScheduled:
		d, err := time.ParseDuration(schedule)
		if err != nil || d < time.Minute {
			return &InputError{Path: "schedule", Msg: fmt.Sprintf("schedule %q must be a duration of at least 1m, e.g. \"1h\"", schedule)}
		}
	default:
		return &InputError{Path: "mode", Msg: fmt.Sprintf("mode %q must be realtime, scheduled or snapshot", mode)}
	}
	return nil
}

func cleanTags(tags []string) ([]string, error) {
	out := make([]string, 0, len(tags))
	for i, t := range tags {
		t = strings.TrimSpace(t)
		if t == "" || len(t) > 64 {
			return nil, &InputError{Path: fmt.Sprintf("tags[%d]", i), Msg: "a tag is 1 to 64 bytes"}
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

func newID() string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("segment: crypto/rand failed: " + err.Error())
	}
	return "seg_" + hex.EncodeToString(b[:])
}
