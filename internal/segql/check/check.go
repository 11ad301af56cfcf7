// Package check resolves a SegQL tree against the workspace schema: it
// finds unknown traits, events, properties, record types and segments (with
// "did you mean" suggestions), type mismatches, bad regular expressions,
// windows and percentages, and segment cycles. What it learns goes into
// side tables (Info); it never changes the tree.
//
// Unknown names follow one policy, documented in docs/segql.md:
//   - traits: an error (UnknownTrait) once the workspace has any discovered
//     trait; a warning (UnverifiedTrait) in a fresh workspace;
//   - events: an error (UnknownEvent) when the name is close to a known
//     event (a likely typo); otherwise a warning (UnverifiedEvent), since
//     segments are often written before a new event is first tracked;
//   - properties and attributes of a known event or record type: an error
//     when close to a known one, otherwise a warning;
//   - record types: like traits; segments: always an error.
//
// It imports segql/ast, segql/scanner (diagnostics), segql/printer (to quote
// literals in messages) and segql/token; it must not import the engine,
// the store or anything that evaluates.
package check

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"sort"
	"strconv"

	"github.com/segd/segd/internal/segql/ast"
	"github.com/segd/segd/internal/segql/printer"
	"github.com/segd/segd/internal/segql/scanner"
	"github.com/segd/segd/internal/segql/token"
)

// Warning codes for names the schema cannot confirm yet.
const (
	UnverifiedTrait      scanner.Code = "UnverifiedTrait"
	UnverifiedProperty   scanner.Code = "UnverifiedProperty"
	UnverifiedRecordType scanner.Code = "UnverifiedRecordType"
)

// Options configure a check.
type Options struct {
	// Segment is the name of the segment being checked, for cycle detection
	// through "in segment". Empty for an ad-hoc query.
	Segment string
}

// Validate reports whether the options are usable (every value is).
func (o Options) Validate() error { return nil }

// Scope says what a name refers to.
type Scope int

// Scopes.
const (
	TraitScope     Scope = iota + 1 // a profile trait
	PropertyScope                   // an event property (inside where, or the "of" of an event aggregate)
	AttributeScope                  // a record attribute
)

// NameInfo is what the checker resolved about one name reference.
type NameInfo struct {
	Scope Scope
	Kind  Kind   // Unknown when the schema does not know the name
	Owner string // the event name or record type for properties and attributes
}

// Info holds the checker's side tables. Maps are keyed by the tree's nodes.
type Info struct {
	Names    map[*ast.Ident]NameInfo
	Literals map[ast.Value]Kind // the kind of each literal operand
	Regexps  map[*ast.TextMatch]*regexp.Regexp

	// Dependencies, sorted and distinct.
	Traits      []string
	Events      []string // track event names; page/screen/any are not listed
	RecordTypes []string
	Segments    []string

	// TimeDependent is set when membership can change with time alone
	// (relative windows, "N days ago", now, anniversaries, negated sequence
	// steps), so the live path must schedule re-evaluation.
	TimeDependent bool
}

// Check checks x against schema. file turns positions into line:column and
// may be nil (a tree decoded from JSON). The list holds errors and warnings,
// sorted by position; use list.Err() or list.HasErrors() to decide.
func Check(file *token.File, x ast.Expr, schema *Schema, opts Options) (*Info, scanner.ErrorList) {
	if schema == nil {
		schema = &Schema{}
	}
	c := &checker{
		file:   file,
		schema: schema,
		opts:   opts,
		info: &Info{
			Names:    map[*ast.Ident]NameInfo{},
			Literals: map[ast.Value]Kind{},
			Regexps:  map[*ast.TextMatch]*regexp.Regexp{},
		},
		deps: map[string]map[string]bool{},
	}
	c.traitNames = keys(schema.Traits)
	c.eventNames = keys(schema.Events)
	c.recordNames = keys(schema.RecordTypes)
	c.segmentNames = keys(schema.Segments)
	c.expr(x, scope{})
	for _, k := range []string{"trait", "event", "record", "segment"} {
		list := keys(c.deps[k])
		switch k {
		case "trait":
			c.info.Traits = list
		case "event":
			c.info.Events = list
		case "record":
			c.info.RecordTypes = list
		case "segment":
			c.info.Segments = list
		}
	}
	c.errs.Sort()
	return c.info, c.errs
}

type checker struct {
	file   *token.File
	schema *Schema
	opts   Options
	info   *Info
	errs   scanner.ErrorList
	deps   map[string]map[string]bool

	traitNames, eventNames, recordNames, segmentNames []string
}

// scope is where names resolve: profile traits (zero value), the
// properties of an event, or the attributes of a record type.
type scope struct {
	kind   Scope
	owner  string
	fields map[string]Field // nil: the properties are not known
	known  bool             // the owner is known, so its fields are meaningful
}

func (c *checker) pos(p token.Pos) token.Position {
	if c.file == nil {
		return token.Position{Offset: int(p)}
	}
	return c.file.Position(p)
}

func (c *checker) report(n ast.Node, code scanner.Code, sev scanner.Severity, format string, args ...any) {
	c.errs = append(c.errs, &scanner.Error{
		Pos: c.pos(n.Pos()), End: c.pos(n.End()), Code: code, Severity: sev,
		Msg: fmt.Sprintf(format, args...),
	})
}

func (c *checker) errorf(n ast.Node, code scanner.Code, format string, args ...any) {
	c.report(n, code, scanner.SevError, format, args...)
}

func (c *checker) warnf(n ast.Node, code scanner.Code, format string, args ...any) {
	c.report(n, code, scanner.SevWarning, format, args...)
}

func (c *checker) dep(kind, name string) {
	if c.deps[kind] == nil {
		c.deps[kind] = map[string]bool{}
	}
	c.deps[kind][name] = true
}

func didYouMean(s string) string {
	if s == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", s)
}

// ---- conditions ----

func (c *checker) expr(x ast.Expr, sc scope) {
	switch x := x.(type) {
	case nil, *ast.BadExpr:
	case *ast.Paren:
		c.expr(x.X, sc)
	case *ast.And:
		for _, y := range x.List {
			c.expr(y, sc)
		}
	case *ast.Or:
		for _, y := range x.List {
			c.expr(y, sc)
		}
	case *ast.Not:
		c.expr(x.X, sc)
	case *ast.Compare:
		k := c.name(x.Name, sc)
		vk := c.value(x.Value)
		c.compare(x, k, vk, sc)
	case *ast.In:
		k := c.name(x.Name, sc)
		for _, v := range x.List {
			vk := c.value(v)
			c.inValue(x, v, k, vk, sc)
		}
	case *ast.Exists:
		c.name(x.Name, sc)
	case *ast.TextMatch:
		k := c.name(x.Name, sc)
		c.info.Literals[x.Value] = Text
		switch {
		case k == Unknown, k == Text:
		case k == List && x.Op == ast.Contains:
		default:
			c.errorf(x.Value, scanner.TypeMismatch, "cannot use %s on %s %s %q", x.Op, k, noun(sc), x.Name.Name)
		}
		if x.Op == ast.Matches {
			re, err := regexp.Compile(x.Value.Value)
			if err != nil {
				c.errorf(x.Value, scanner.BadRegexp, "invalid regular expression %s: %v", strconv.Quote(x.Value.Value), unwrapRE(err))
			} else {
				c.info.Regexps[x] = re
			}
		}
	case *ast.TimeCond:
		c.needKind(x.Name, c.name(x.Name, sc), Time, sc, "a time condition")
		c.timePred(x.When, false)
	case *ast.Anniversary:
		c.needKind(x.Name, c.name(x.Name, sc), Time, sc, "anniversary")
		c.info.TimeDependent = true
		if w, ok := x.When.(*ast.ThisWindow); ok && w.Period == ast.Year {
			c.errorf(w, scanner.BadWindow, "an anniversary falls in every year: use today, in this week or in this month")
		}
		c.timePred(x.When, false)
	case *ast.Geo:
		c.needKind(x.Name, c.name(x.Name, sc), Geo, sc, "within")
		if x.Distance.Value <= 0 {
			c.errorf(x.Distance, scanner.BadValue, "distance must be positive")
		}
		if v := x.Lat.Value; v < -90 || v > 90 {
			c.errorf(x.Lat, scanner.BadValue, "latitude %s is outside -90..90", printer.Number(v))
		}
		if v := x.Lon.Value; v < -180 || v > 180 {
			c.errorf(x.Lon, scanner.BadValue, "longitude %s is outside -180..180", printer.Number(v))
		}
	case *ast.Aggregate:
		c.aggregate(x)
	case *ast.Did:
		esc := c.event(x.Event)
		c.expr(x.Where, esc)
		c.window(x.Window)
	case *ast.Seen:
		esc := c.event(x.Event)
		c.expr(x.Where, esc)
		c.timePred(x.When, false)
	case *ast.Sequence:
		for _, st := range x.Steps {
			c.expr(st.Where, c.event(st.Event))
			if st.Not {
				c.info.TimeDependent = true
			}
		}
		if x.Within != nil {
			c.duration(*x.Within)
		}
		c.window(x.Window)
	case *ast.HasRecord:
		c.expr(x.Where, c.record(x.Record))
	case *ast.InSegment:
		c.segment(x)
	case *ast.Sample:
		if v := x.Percent.Value; !(v > 0 && v <= 100) {
			c.errorf(x.Percent, scanner.BadPercent, "sample percentage must be above 0%% and at most 100%%, found %s%%", printer.Number(v))
		}
	default:
		panic(fmt.Sprintf("check: unexpected node %T", x))
	}
}

func unwrapRE(err error) string {
	var e *syntax.Error
	if errors.As(err, &e) {
		return string(e.Code) + ": " + strconv.Quote(e.Expr)
	}
	return err.Error()
}

func noun(sc scope) string {
	switch sc.kind {
	case PropertyScope:
		return "property"
	case AttributeScope:
		return "attribute"
	}
	return "trait"
}

// name resolves a trait, property or attribute name and returns its kind.
func (c *checker) name(id *ast.Ident, sc scope) Kind {
	switch sc.kind {
	case 0:
		c.dep("trait", id.Name)
		f, ok := c.schema.Traits[id.Name]
		if !ok {
			if c.schema.discoveredTraits() {
				c.errorf(id, scanner.UnknownTrait, "unknown trait %q%s", id.Name, didYouMean(suggest(id.Name, c.traitNames)))
			} else {
				c.warnf(id, UnverifiedTrait, "trait %q has not been seen yet (no profile data)", id.Name)
			}
		}
		c.info.Names[id] = NameInfo{Scope: TraitScope, Kind: f.Kind}
		return f.Kind
	default:
		f, ok := sc.fields[id.Name]
		if !ok && sc.known && sc.fields != nil {
			code, what := scanner.UnknownProperty, "property"
			warn := UnverifiedProperty
			owner := fmt.Sprintf("event %q", sc.owner)
			if sc.kind == AttributeScope {
				code, what, warn = scanner.UnknownAttribute, "attribute", UnverifiedProperty
				owner = fmt.Sprintf("record type %q", sc.owner)
			}
			if s := suggest(id.Name, keys(sc.fields)); s != "" {
				c.errorf(id, code, "unknown %s %q of %s%s", what, id.Name, owner, didYouMean(s))
			} else {
				c.warnf(id, warn, "%s %q has not been seen on %s", what, id.Name, owner)
			}
		}
		c.info.Names[id] = NameInfo{Scope: sc.kind, Kind: f.Kind, Owner: sc.owner}
		return f.Kind
	}
}

func (c *checker) needKind(id *ast.Ident, got, want Kind, sc scope, what string) {
	if got != Unknown && got != want {
		c.errorf(id, scanner.TypeMismatch, "%s needs a %s %s, but %q is %s", what, want, noun(sc), id.Name, article(got))
	}
}

func article(k Kind) string {
	return "a " + k.String()
}

// value records and returns the kind of a literal.
func (c *checker) value(v ast.Value) Kind {
	var k Kind
	switch v := v.(type) {
	case *ast.StringLit:
		k = Text
	case *ast.NumberLit:
		k = Number
	case *ast.BoolLit:
		k = Bool
	case *ast.TimeLit:
		k = Time
	case *ast.Ago:
		k = Time
		c.info.TimeDependent = true
		c.duration(v.Dur)
	case *ast.Now:
		k = Time
		c.info.TimeDependent = true
	}
	c.info.Literals[v] = k
	return k
}

func describeValue(v ast.Value, k Kind) string {
	return k.String() + " " + printer.String(v)
}

func (c *checker) compare(x *ast.Compare, k, vk Kind, sc scope) {
	if k == Unknown {
		return
	}
	ordered := x.Op != ast.Eq && x.Op != ast.Neq
	switch {
	case k == Geo:
		c.errorf(x.Value, scanner.TypeMismatch, "cannot compare geo %s %q: use within D km of (lat, lon)", noun(sc), x.Name.Name)
	case k == List:
		c.errorf(x.Value, scanner.TypeMismatch, "cannot compare list %s %q: use contains or in [...]", noun(sc), x.Name.Name)
	case k != vk:
		c.errorf(x.Value, scanner.TypeMismatch, "cannot compare %s %s %q with %s", k, noun(sc), x.Name.Name, describeValue(x.Value, vk))
	case ordered && (k == Text || k == Bool):
		c.errorf(x.Value, scanner.TypeMismatch, "cannot order %s %s %q: use = or !=", k, noun(sc), x.Name.Name)
	}
}

func (c *checker) inValue(x *ast.In, v ast.Value, k, vk Kind, sc scope) {
	switch {
	case k == Unknown:
	case k == List && vk == Text:
	case k == Geo || k == List || k != vk:
		c.errorf(v, scanner.TypeMismatch, "cannot compare %s %s %q with %s", k, noun(sc), x.Name.Name, describeValue(v, vk))
	}
}

// ---- behaviour ----

func (c *checker) event(t *ast.EventTarget) scope {
	switch t.Kind {
	case ast.PageEvent:
		return scope{kind: PropertyScope, owner: "page", fields: c.schema.Page.Properties, known: true}
	case ast.ScreenEvent:
		return scope{kind: PropertyScope, owner: "screen", fields: c.schema.Screen.Properties, known: true}
	case ast.AnyEvent:
		return scope{kind: PropertyScope, owner: "any event"}
	}
	c.dep("event", t.Name)
	et, ok := c.schema.Events[t.Name]
	if ok {
		return scope{kind: PropertyScope, owner: t.Name, fields: et.Properties, known: true}
	}
	if s := suggest(t.Name, c.eventNames); s != "" {
		c.errorf(t, scanner.UnknownEvent, "unknown event %q%s", t.Name, didYouMean(s))
	} else if len(c.eventNames) == 0 {
		c.warnf(t, scanner.UnverifiedEvent, "event %q has not been seen yet (the workspace has no events)", t.Name)
	} else {
		c.warnf(t, scanner.UnverifiedEvent, "event %q has not been seen yet", t.Name)
	}
	return scope{kind: PropertyScope, owner: t.Name}
}

func (c *checker) record(t *ast.RecordTarget) scope {
	c.dep("record", t.Type)
	rt, ok := c.schema.RecordTypes[t.Type]
	if ok {
		return scope{kind: AttributeScope, owner: t.Type, fields: rt.Attributes, known: true}
	}
	if len(c.recordNames) > 0 {
		c.errorf(t, scanner.UnknownRecordType, "unknown record type %q%s", t.Type, didYouMean(suggest(t.Type, c.recordNames)))
	} else {
		c.warnf(t, UnverifiedRecordType, "record type %q has not been seen yet (the workspace has no records)", t.Type)
	}
	return scope{kind: AttributeScope, owner: t.Type}
}

func (c *checker) aggregate(x *ast.Aggregate) {
	var sc scope
	switch t := x.Target.(type) {
	case *ast.EventTarget:
		sc = c.event(t)
	case *ast.RecordTarget:
		sc = c.record(t)
		if x.Window != nil {
			c.errorf(x.Window, scanner.BadWindow, "records have no event time: a window applies to events only")
		}
	}
	if x.Of != nil {
		k := c.name(x.Of, sc)
		if x.Func != ast.Distinct && k != Unknown && k != Number {
			c.errorf(x.Of, scanner.TypeMismatch, "%s needs a number %s, but %q is %s", x.Func, noun(sc), x.Of.Name, article(k))
		}
	}
	c.expr(x.Where, sc)
	c.window(x.Window)
	c.info.Literals[x.Value] = Number
	if x.Func == ast.Count || x.Func == ast.Distinct {
		if v := x.Value.Value; v < 0 {
			c.errorf(x.Value, scanner.BadValue, "%s is never negative: compare with 0 or more", x.Func)
		}
	}
}

func (c *checker) segment(x *ast.InSegment) {
	name := x.Segment.Value
	c.dep("segment", name)
	if name == c.opts.Segment && name != "" {
		c.errorf(x.Segment, scanner.SegmentCycle, "segment %q cannot refer to itself", name)
		return
	}
	if _, ok := c.schema.Segments[name]; !ok {
		c.errorf(x.Segment, scanner.UnknownSegment, "unknown segment %q%s", name, didYouMean(suggest(name, c.segmentNames)))
		return
	}
	if c.opts.Segment == "" {
		return
	}
	if path := c.pathTo(name, c.opts.Segment); path != nil {
		p := ""
		for i, s := range append([]string{c.opts.Segment}, path...) {
			if i > 0 {
				p += " → "
			}
			p += strconv.Quote(s)
		}
		c.errorf(x.Segment, scanner.SegmentCycle, "segment cycle: %s", p)
	}
}

// pathTo returns the dependency path from → ... → to, or nil.
func (c *checker) pathTo(from, to string) []string {
	seen := map[string]bool{}
	var walk func(s string) []string
	walk = func(s string) []string {
		if s == to {
			return []string{s}
		}
		if seen[s] {
			return nil
		}
		seen[s] = true
		deps := append([]string(nil), c.schema.Segments[s].DependsOn...)
		sort.Strings(deps)
		for _, d := range deps {
			if p := walk(d); p != nil {
				return append([]string{s}, p...)
			}
		}
		return nil
	}
	return walk(from)
}

// ---- time ----

func (c *checker) duration(d ast.Duration) {
	if d.N < 1 {
		c.errorf(d, scanner.BadDuration, "duration must be at least 1 %s", d.Unit.Singular())
	}
}

func (c *checker) window(w ast.Window) {
	if w != nil {
		c.timePred(w.(ast.TimePredicate), true)
	}
}

func (c *checker) timeValue(v ast.TimeValue) { c.value(v) }

func (c *checker) timePred(p ast.TimePredicate, window bool) {
	switch p := p.(type) {
	case *ast.LastWindow:
		c.info.TimeDependent = true
		c.duration(p.Dur)
	case *ast.NextWindow:
		if window {
			c.errorf(p, scanner.BadWindow, `events are in the past: use "in last", not "in next"`)
		}
		c.info.TimeDependent = true
		c.duration(p.Dur)
	case *ast.ThisWindow:
		c.info.TimeDependent = true
	case *ast.SinceWindow:
		c.timeValue(p.Time)
	case *ast.BetweenWindow:
		c.timeValue(p.From)
		c.timeValue(p.To)
		a, aok := p.From.(*ast.TimeLit)
		b, bok := p.To.(*ast.TimeLit)
		if aok && bok && !a.Time.Before(b.Time) {
			c.errorf(p, scanner.BadWindow, "between %s and %s is empty: the start must be before the end", printer.String(a), printer.String(b))
		}
	case *ast.Before:
		if window {
			c.errorf(p, scanner.BadWindow, `"before" is not an event window; use between`)
		}
		c.timeValue(p.Time)
	case *ast.After:
		if window {
			c.errorf(p, scanner.BadWindow, `"after" is not an event window; use since`)
		}
		c.timeValue(p.Time)
	}
}
