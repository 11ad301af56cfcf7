package ui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segd/segd/internal/engine"
	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/segql/ast"
	"github.com/segd/segd/internal/segql/check"
	"github.com/segd/segd/internal/segql/parser"
	"github.com/segd/segd/internal/segql/printer"
	"github.com/segd/segd/internal/segql/scanner"
	"github.com/segd/segd/internal/segql/tree"
	"github.com/segd/segd/internal/store"
)

// Indexes gives the per-workspace in-memory index and time zone (cmd/segd's views).
type Indexes interface {
	Index(ws uint32) *index.Index
	Location(ws uint32) *time.Location
}

// AdapterOptions configure an Adapter.
type AdapterOptions struct {
	Store   *store.Store
	Indexes Indexes
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// SchemaTTL is how long a discovered schema is reused; default 10 s.
	SchemaTTL time.Duration
	// Catalog, when set, is the product's segment service: checking, evaluation and a
	// profile's current segments then use it instead of the adapter's own definitions.
	Catalog Catalog
}

// Catalog is the segment service the adapter defers to (cmd/segd implements it).
type Catalog interface {
	// CheckSchema is the checker's schema: the discovered data plus the saved segments.
	CheckSchema(ws uint32) (*check.Schema, error)
	// Evaluate evaluates a checked tree at at; `in segment` resolves through the catalog.
	Evaluate(ctx context.Context, ws uint32, x ast.Expr, at time.Time, segment string, explain bool) (*roaring.Bitmap, *engine.Plan, error)
	// ProfileSegments lists the names of the segments the profile is in now.
	ProfileSegments(ctx context.Context, ws, pid uint32) ([]string, error)
}

// Validate reports a configuration error.
func (o *AdapterOptions) Validate() error {
	if o.Store == nil || o.Indexes == nil {
		return errors.New("ui: AdapterOptions.Store and Indexes are required")
	}
	return nil
}

// Adapter implements Backend and Segments over the store, the index, the engine and segql.
// Segments are kept as store documents of kind "ui.segment" and evaluated on demand; the lead
// may pass the membership service as Options.Segments instead.
type Adapter struct {
	opts AdapterOptions

	mu      sync.Mutex
	schemas map[uint32]cachedSchema
}

type cachedSchema struct {
	at         time.Time
	schema     index.Schema
	refreshing bool // a background recomputation runs
}

// NewAdapter returns an adapter.
func NewAdapter(opts AdapterOptions) (*Adapter, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SchemaTTL == 0 {
		opts.SchemaTTL = 10 * time.Second
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return &Adapter{opts: opts, schemas: map[uint32]cachedSchema{}}, nil
}

// Authenticate accepts a live admin key.
func (a *Adapter) Authenticate(token string) (uint32, bool) {
	k, err := a.opts.Store.Authenticate(token)
	if err != nil || k.Revoked || k.Scope != store.ScopeAdmin {
		return 0, false
	}
	return k.Workspace, true
}

// Overview counts profiles, events, events today and in the last minute, and segments.
func (a *Adapter) Overview(ctx context.Context, ws uint32) (Overview, error) {
	ix := a.opts.Indexes.Index(ws)
	now := a.opts.Now()
	loc := a.opts.Indexes.Location(ws)
	y, m, d := now.In(loc).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, loc).UnixNano()
	minute := now.Add(-time.Minute).UnixNano()
	o := Overview{IngestErrors: -1}
	snap := ix.Acquire()
	o.Profiles = snap.Live().GetCardinality()
	o.Events = snap.Events()
	for _, t := range snap.Tables() {
		o.EventsToday += t.Len() - t.Lower(today)
		o.EventsPerMinute += t.Len() - t.Lower(minute)
	}
	snap.Release()
	n := 0
	err := a.opts.Store.Docs(ws, segmentKind, func(string, []byte) error { n++; return nil })
	o.Segments = n
	return o, err
}

// EventsPerDay buckets event times of the last days days by workspace-local day.
func (a *Adapter) EventsPerDay(ctx context.Context, ws uint32, days int) ([]DayCount, error) {
	loc := a.opts.Indexes.Location(ws)
	now := a.opts.Now().In(loc)
	y, m, d := now.Date()
	first := time.Date(y, m, d, 0, 0, 0, 0, loc).AddDate(0, 0, -(days - 1))
	bounds := make([]int64, days+1)
	out := make([]DayCount, days)
	for i := range out {
		day := first.AddDate(0, 0, i)
		out[i].Day = day
		bounds[i] = day.UnixNano()
	}
	bounds[days] = first.AddDate(0, 0, days).UnixNano()
	snap := a.opts.Indexes.Index(ws).Acquire()
	defer snap.Release()
	for _, t := range snap.Tables() {
		for i := range out {
			out[i].Count += t.Lower(bounds[i+1]) - t.Lower(bounds[i])
		}
	}
	return out, ctx.Err()
}

// indexSchema returns the workspace's discovered schema. Only the first call computes it while
// the caller waits; later calls get the cached copy at once and, when it is older than
// SchemaTTL, start one background recomputation (at a million profiles it reads every
// column of 50M events: seconds, too long for a page).
func (a *Adapter) indexSchema(ws uint32) index.Schema {
	now := a.opts.Now()
	a.mu.Lock()
	c, ok := a.schemas[ws]
	if ok {
		if now.Sub(c.at) >= a.opts.SchemaTTL && !c.refreshing {
			c.refreshing = true
			a.schemas[ws] = c
			go a.refreshSchema(ws)
		}
		a.mu.Unlock()
		return c.schema
	}
	a.mu.Unlock()
	s := a.opts.Indexes.Index(ws).Schema()
	a.mu.Lock()
	a.schemas[ws] = cachedSchema{at: now, schema: s}
	a.mu.Unlock()
	return s
}

func (a *Adapter) refreshSchema(ws uint32) {
	now := a.opts.Now()
	s := a.opts.Indexes.Index(ws).Schema()
	a.mu.Lock()
	a.schemas[ws] = cachedSchema{at: now, schema: s}
	a.mu.Unlock()
}

func fieldKind(k []index.KindCount) string {
	if len(k) == 0 {
		return "unknown"
	}
	return k[0].Kind.String()
}

// Schema converts the discovered schema.
func (a *Adapter) Schema(ws uint32) (Schema, error) {
	is := a.indexSchema(ws)
	s := Schema{Profiles: is.Profiles}
	known := map[string]bool{}
	for _, t := range is.Traits {
		known[t.Name] = true
		if _, computed := check.ComputedTraits[t.Name]; computed {
			s.Computed = append(s.Computed, Field{Name: t.Name, Kind: fieldKind(t.Kinds), Count: t.Count})
			continue
		}
		s.Traits = append(s.Traits, Field{Name: t.Name, Kind: fieldKind(t.Kinds), Count: t.Count})
	}
	for name, k := range check.ComputedTraits {
		if !known[name] {
			s.Computed = append(s.Computed, Field{Name: name, Kind: k.String()})
		}
	}
	sort.Slice(s.Computed, func(i, j int) bool { return s.Computed[i].Name < s.Computed[j].Name })
	props := func(ps []index.PropertySchema) []Field {
		out := make([]Field, 0, len(ps))
		for _, p := range ps {
			out = append(out, Field{Name: p.Name, Kind: fieldKind(p.Kinds), Count: p.Count})
		}
		return out
	}
	for _, e := range is.Events {
		s.Events = append(s.Events, EventInfo{Kind: e.Kind, Name: e.Name, Count: e.Count, Profiles: e.Profiles, Properties: props(e.Properties)})
	}
	for _, r := range is.Records {
		s.Records = append(s.Records, RecordInfo{Type: r.Type, Count: r.Count, Attributes: props(r.Attributes)})
	}
	defs, err := a.definitions(ws)
	for name := range defs {
		s.Segments = append(s.Segments, name)
	}
	sort.Strings(s.Segments)
	return s, err
}

// checkSchema builds the checker's schema from the discovered one and the saved segments.
func (a *Adapter) checkSchema(ws uint32) (*check.Schema, map[string]segmentDoc, error) {
	if a.opts.Catalog != nil {
		cs, err := a.opts.Catalog.CheckSchema(ws)
		return cs, nil, err
	}
	is := a.indexSchema(ws)
	kind := func(k []index.KindCount) check.Kind {
		if len(k) == 0 {
			return check.Unknown
		}
		ck, _ := check.ParseKind(k[0].Kind.String())
		return ck
	}
	fields := func(ps []index.PropertySchema) map[string]check.Field {
		m := make(map[string]check.Field, len(ps))
		for _, p := range ps {
			m[p.Name] = check.Field{Kind: kind(p.Kinds), Count: int64(p.Count)}
		}
		return m
	}
	cs := &check.Schema{Traits: map[string]check.Field{}, Events: map[string]check.EventType{},
		RecordTypes: map[string]check.RecordType{}, Segments: map[string]check.SegmentInfo{}}
	for _, t := range is.Traits {
		cs.Traits[t.Name] = check.Field{Kind: kind(t.Kinds), Count: int64(t.Count)}
	}
	for _, e := range is.Events {
		et := check.EventType{Count: int64(e.Count), Properties: fields(e.Properties)}
		switch e.Kind {
		case "track":
			cs.Events[e.Name] = et
		case "page":
			cs.Page = et
		case "screen":
			cs.Screen = et
		}
	}
	for _, r := range is.Records {
		cs.RecordTypes[r.Type] = check.RecordType{Count: int64(r.Count), Attributes: fields(r.Attributes)}
	}
	defs, err := a.definitions(ws)
	if err != nil {
		return nil, nil, err
	}
	for name, d := range defs {
		var deps []string
		if x, err := parser.ParseExpr(d.Query); err == nil {
			info, _ := check.Check(nil, x, &check.Schema{}, check.Options{})
			deps = info.Segments
		}
		cs.Segments[name] = check.SegmentInfo{DependsOn: deps}
	}
	return cs.WithComputed(), defs, nil
}

var didYouMean = regexp.MustCompile(`did you mean "([^"]+)"`)

func diagnostics(list scanner.ErrorList) []Diagnostic {
	out := make([]Diagnostic, 0, len(list))
	for _, e := range list {
		d := Diagnostic{Line: e.Pos.Line, Col: e.Pos.Column, Offset: e.Pos.Offset, End: e.End.Offset,
			Code: string(e.Code), Message: e.Msg, Warning: e.Severity == scanner.SevWarning}
		if d.End <= d.Offset {
			d.End = d.Offset + 1
		}
		if m := didYouMean.FindStringSubmatch(e.Msg); m != nil {
			d.Suggestion = m[1]
		}
		out = append(out, d)
	}
	return out
}

// Check parses or decodes, checks and optionally estimates.
func (a *Adapter) Check(ctx context.Context, ws uint32, in CheckInput) (CheckResult, error) {
	res := CheckResult{Text: in.Text, Errors: []Diagnostic{}}
	var x ast.Expr
	if len(in.Tree) > 0 {
		var err error
		if x, err = tree.Decode(in.Tree); err != nil {
			res.Errors = append(res.Errors, Diagnostic{Code: "BadTree", Message: err.Error()})
			return res, nil
		}
		res.Text = printer.String(x)
		// re-parse the canonical text so that diagnostics carry positions in it
		in.Text = res.Text
	}
	file, parsed, errs := parser.Parse("", in.Text)
	if errs.HasErrors() {
		res.Errors = diagnostics(errs)
		return res, nil
	}
	x = parsed
	res.Canonical = printer.String(x)
	if enc, err := tree.Encode(x); err == nil {
		res.Tree = enc
	}
	cs, defs, err := a.checkSchema(ws)
	if err != nil {
		return res, err
	}
	_, clist := check.Check(file, x, cs, check.Options{Segment: in.Segment})
	res.Errors = diagnostics(clist)
	if clist.HasErrors() || !in.Estimate {
		return res, nil
	}
	start := time.Now()
	opts := a.engineOptions(ctx, ws, in.Segment, defs, false)
	eng := engine.New(a.opts.Indexes.Index(ws))
	eval := func(x ast.Expr) (*roaring.Bitmap, error) {
		if a.opts.Catalog != nil {
			bm, _, err := a.opts.Catalog.Evaluate(ctx, ws, x, opts.At, in.Segment, false)
			return bm, err
		}
		bm, _, err := eng.Evaluate(ctx, x, opts)
		return bm, err
	}
	bm, err := eval(x)
	if err != nil {
		return res, err
	}
	n := bm.GetCardinality()
	res.Count = &n
	for _, c := range topLevel(x) {
		cb, err := eval(c)
		if err != nil {
			return res, err
		}
		res.Conditions = append(res.Conditions, ConditionCount{Text: printer.String(c), Count: cb.GetCardinality()})
	}
	res.Took = time.Since(start)
	return res, nil
}

// topLevel returns the operands of the outermost and/or (nil for a single condition).
func topLevel(x ast.Expr) []ast.Expr {
	for {
		p, ok := x.(*ast.Paren)
		if !ok {
			break
		}
		x = p.X
	}
	switch n := x.(type) {
	case *ast.And:
		return n.List
	case *ast.Or:
		return n.List
	}
	return nil
}

func (a *Adapter) engineOptions(ctx context.Context, ws uint32, segment string, defs map[string]segmentDoc, explain bool) engine.Options {
	var resolve engine.SegmentsFunc
	depth := 0
	resolve = func(name string) (*roaring.Bitmap, error) {
		d, ok := defs[name]
		if !ok {
			return nil, fmt.Errorf("unknown segment %q", name)
		}
		if d.Mode == ModeSnapshot && len(d.Members) > 0 {
			bm := roaring.New()
			return bm, bm.UnmarshalBinary(d.Members)
		}
		if depth > 32 {
			return nil, errors.New("segments nested too deeply")
		}
		x, err := parser.ParseExpr(d.Query)
		if err != nil {
			return nil, err
		}
		depth++
		defer func() { depth-- }()
		o := engine.Options{At: a.opts.Now(), Location: a.opts.Indexes.Location(ws), Segment: name, Segments: resolve}
		bm, _, err := engine.New(a.opts.Indexes.Index(ws)).Evaluate(ctx, x, o)
		return bm, err
	}
	return engine.Options{At: a.opts.Now(), Location: a.opts.Indexes.Location(ws), Segment: segment, Segments: resolve, Explain: explain}
}

// Query evaluates text now.
func (a *Adapter) Query(ctx context.Context, ws uint32, text string, explain bool) (QueryResult, error) {
	var res QueryResult
	file, x, errs := parser.Parse("", text)
	if errs.HasErrors() {
		res.Errors = diagnostics(errs)
		return res, nil
	}
	cs, defs, err := a.checkSchema(ws)
	if err != nil {
		return res, err
	}
	if _, clist := check.Check(file, x, cs, check.Options{}); clist.HasErrors() {
		res.Errors = diagnostics(clist)
		return res, nil
	}
	start := time.Now()
	var bm *roaring.Bitmap
	var plan *engine.Plan
	if a.opts.Catalog != nil {
		bm, plan, err = a.opts.Catalog.Evaluate(ctx, ws, x, a.opts.Now(), "", explain)
	} else {
		bm, plan, err = engine.New(a.opts.Indexes.Index(ws)).Evaluate(ctx, x, a.engineOptions(ctx, ws, "", defs, explain))
	}
	if err != nil {
		return res, err
	}
	res.Took = time.Since(start)
	res.Count = bm.GetCardinality()
	it := bm.Iterator()
	for it.HasNext() && len(res.Sample) < 20 {
		res.Sample = append(res.Sample, it.Next())
	}
	if plan != nil {
		res.Plan, _ = json.Marshal(plan)
	}
	return res, nil
}

// FindProfile accepts a numeric profile id or an identifier value.
func (a *Adapter) FindProfile(ws uint32, q string) (uint32, error) {
	q = strings.TrimSpace(q)
	if id, err := strconv.ParseUint(q, 10, 32); err == nil {
		if _, err := a.opts.Store.Profile(ws, uint32(id)); err == nil {
			return uint32(id), nil
		}
	}
	for _, typ := range []string{"userId", "email", "anonymousId", "phone"} {
		if pid, err := a.opts.Store.Lookup(ws, typ, q); err == nil && pid != 0 {
			return pid, nil
		}
	}
	return 0, ErrNotFound
}

// Profile assembles the profile 360.
func (a *Adapter) Profile(ws, id uint32) (ProfileView, error) {
	p, err := a.opts.Store.Profile(ws, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return ProfileView{}, ErrNotFound
		}
		return ProfileView{}, err
	}
	if p.MergedInto != 0 {
		return a.Profile(ws, p.MergedInto)
	}
	v := ProfileView{ID: p.ID, FirstSeen: p.FirstSeen, LastSeen: p.LastSeen, Events: p.Events}
	for _, i := range p.Identifiers {
		v.Identifiers = append(v.Identifiers, Identifier{Type: i.Type, Value: i.Value, Added: i.Added})
	}
	for name, t := range p.Traits {
		row := TraitRow{Name: name, Value: renderValue(t.V), Set: t.T}
		if _, ok := check.ComputedTraits[name]; ok {
			v.Computed = append(v.Computed, row)
		} else {
			v.Traits = append(v.Traits, row)
		}
	}
	sort.Slice(v.Traits, func(i, j int) bool { return v.Traits[i].Name < v.Traits[j].Name })
	sort.Slice(v.Computed, func(i, j int) bool { return v.Computed[i].Name < v.Computed[j].Name })
	if len(p.Merges) > 0 {
		ms, err := a.opts.Store.Merges(ws, p.Merges)
		if err != nil {
			return v, err
		}
		for _, m := range ms {
			var link []string
			for _, l := range m.Linking {
				link = append(link, l.Type+"="+l.Value)
			}
			v.Merges = append(v.Merges, MergeRow{At: m.At, From: m.From, Into: m.Into, Linking: strings.Join(link, ", "), Events: m.MovedEvents})
		}
	}
	recs, err := a.opts.Store.Records(ws, id)
	if err != nil {
		return v, err
	}
	for _, r := range recs {
		v.Records = append(v.Records, RecordRow{Type: r.Type, ID: r.ID, Time: r.Timestamp, Attributes: renderMap(r.Attributes)})
	}
	if a.opts.Catalog != nil {
		names, err := a.opts.Catalog.ProfileSegments(context.Background(), ws, id)
		v.Segments = names
		return v, err
	}
	// current segments: evaluate each saved segment for this one profile's membership
	defs, err := a.definitions(ws)
	if err != nil {
		return v, err
	}
	ctx := context.Background()
	for name := range defs {
		if bm, err := a.members(ctx, ws, name, defs); err == nil && bm.Contains(id) {
			v.Segments = append(v.Segments, name)
		}
	}
	sort.Strings(v.Segments)
	return v, nil
}

// ProfileEvents returns the timeline, newest first.
func (a *Adapter) ProfileEvents(ws, id uint32, before time.Time, limit int) ([]EventView, error) {
	evs, err := a.opts.Store.Events(ws, id, before, limit)
	if err != nil {
		return nil, err
	}
	out := make([]EventView, 0, len(evs))
	for _, e := range evs {
		props := e.Properties
		if len(props) == 0 {
			props = e.Traits
		}
		name := e.Event
		if name == "" {
			name = e.Name
		}
		out = append(out, EventView{Time: e.Timestamp, Type: string(e.Type), Name: name, Properties: renderMap(props)})
	}
	return out, nil
}

func renderValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func renderMap(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k)
		b.WriteString("=")
		s := renderValue(m[k])
		if len(s) > 60 {
			s = s[:57] + "…"
		}
		b.WriteString(s)
	}
	return b.String()
}
