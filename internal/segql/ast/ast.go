// Package ast declares the syntax tree of SegQL, the segment language.
//
// The tree is syntax only: it holds names, literals, operators and source
// positions, never types, data or runtime state. The checker records what it
// learns in side tables (check.Info) and the engine plans from the tree
// without changing it. Every node records where it starts (Pos) and one past
// where it ends (End); nodes decoded from JSON carry token.NoPos.
//
// Conditions (Expr) are:
//
//	*And, *Or, *Not, *Paren                      boolean structure
//	*Compare, *In, *Exists, *TextMatch            trait (or event property) tests
//	*TimeCond, *Anniversary, *Geo                 time, anniversary and distance tests on traits
//	*Aggregate                                    count/sum/avg/min/max/distinct of events or records, compared with a number
//	*Did                                          did EVENT [where F] [window]
//	*Seen                                         first_seen/last_seen(EVENT [where F]) TIME-PREDICATE
//	*Sequence                                     sequence(A then B [then not C] within D [window])
//	*HasRecord                                    has record "T" [where F]
//	*InSegment                                    in segment "name"
//	*Sample                                       sample(p%)
//
// Package ast imports only segql/token. It must not import the parser,
// checker, engine or store.
package ast

import (
	"time"

	"github.com/segd/segd/internal/segql/token"
)

// Node is any piece of the tree.
type Node interface {
	Pos() token.Pos // first byte of the node
	End() token.Pos // one past the last byte
}

// Expr is a condition: it is true or false for a profile at an evaluation time.
type Expr interface {
	Node
	exprNode()
}

// Value is a literal operand: *StringLit, *NumberLit, *BoolLit, *TimeLit,
// *Ago or *Now.
type Value interface {
	Node
	valueNode()
}

// TimeValue is a point in time: *TimeLit, *Ago or *Now.
type TimeValue interface {
	Value
	timeValueNode()
}

// Window restricts which events count, by event time: *LastWindow,
// *ThisWindow, *SinceWindow or *BetweenWindow. A nil Window means all time.
type Window interface {
	Node
	windowNode()
}

// TimePredicate tests one point in time (a time trait, a first or last
// occurrence): any Window kind, or *NextWindow, *Before, *After.
type TimePredicate interface {
	Node
	timePredicateNode()
}

// ---- names and literals ----

// Ident is a trait, property or attribute name. Quoting (`first name`) is a
// matter of spelling; the printer re-quotes names that need it.
type Ident struct {
	NamePos token.Pos
	NameEnd token.Pos
	Name    string
}

// StringLit is a double-quoted string; Value is unescaped.
type StringLit struct {
	ValuePos token.Pos
	ValueEnd token.Pos
	Value    string
}

// NumberLit is a number. When Percent is set the source said "Value%", and
// the quantity is Value/100 (see Float).
type NumberLit struct {
	ValuePos token.Pos
	ValueEnd token.Pos
	Value    float64
	Percent  bool
}

// Float returns the quantity the literal denotes (10% → 0.1).
func (n *NumberLit) Float() float64 {
	if n.Percent {
		return n.Value / 100
	}
	return n.Value
}

// BoolLit is true or false.
type BoolLit struct {
	ValuePos token.Pos
	ValueEnd token.Pos
	Value    bool
}

// TimeLit is an absolute time. DateOnly literals (2024-11-01) hold midnight
// UTC of that date in Time; the engine reinterprets the date at midnight in
// the workspace time zone when one is configured.
type TimeLit struct {
	ValuePos token.Pos
	ValueEnd token.Pos
	Time     time.Time
	DateOnly bool
}

// Ago is "N unit ago": the evaluation time minus Dur (calendar months for
// months and years).
type Ago struct {
	Dur    Duration
	AgoEnd token.Pos // one past "ago"
}

// Now is the evaluation time, written "now".
type Now struct {
	NowPos token.Pos
}

// Unit is a duration unit.
type Unit int

// Duration units. Months and years are calendar units; the rest are fixed.
const (
	Seconds Unit = iota + 1
	Minutes
	Hours
	Days
	Weeks
	Months
	Years
)

var unitNames = [...]string{Seconds: "seconds", Minutes: "minutes", Hours: "hours", Days: "days", Weeks: "weeks", Months: "months", Years: "years"}

// String is the plural spelling ("days").
func (u Unit) String() string {
	if u > 0 && int(u) < len(unitNames) {
		return unitNames[u]
	}
	return "unit?"
}

// Singular is the singular spelling ("day").
func (u Unit) Singular() string {
	s := u.String()
	return s[:len(s)-1]
}

// ParseUnit accepts the singular or plural spelling.
func ParseUnit(s string) (Unit, bool) {
	for u := Seconds; u <= Years; u++ {
		if s == u.String() || s == u.Singular() {
			return u, true
		}
	}
	return 0, false
}

// Fixed returns the length of one unit for the fixed units, and false for
// months and years.
func (u Unit) Fixed() (time.Duration, bool) {
	switch u {
	case Seconds:
		return time.Second, true
	case Minutes:
		return time.Minute, true
	case Hours:
		return time.Hour, true
	case Days:
		return 24 * time.Hour, true
	case Weeks:
		return 7 * 24 * time.Hour, true
	}
	return 0, false
}

// Duration is "N unit". It is a part of other nodes, not a node on its own.
type Duration struct {
	NPos    token.Pos // position of N
	UnitEnd token.Pos // one past the unit word
	N       int64
	Unit    Unit
}

// Pos and End make a Duration usable wherever a span is needed.
func (d Duration) Pos() token.Pos { return d.NPos }
func (d Duration) End() token.Pos { return d.UnitEnd }

// Subtract returns t minus the duration. Months and years are calendar
// units that keep the day of the month, clamped to the last day of a
// shorter month: 31 March − 1 month = 29 February 2024 (not 2 March, as
// time.AddDate would give). The other units are exact.
func (d Duration) Subtract(t time.Time) time.Time { return d.add(t, -d.N) }

// Add returns t plus the duration, with the same calendar rules.
func (d Duration) Add(t time.Time) time.Time { return d.add(t, d.N) }

func (d Duration) add(t time.Time, n int64) time.Time {
	switch d.Unit {
	case Months:
		return addMonths(t, n)
	case Years:
		return addMonths(t, 12*n)
	}
	f, _ := d.Unit.Fixed()
	return t.Add(time.Duration(n) * f)
}

// addMonths moves t by n calendar months in t's location, clamping the day.
func addMonths(t time.Time, n int64) time.Time {
	y, m, day := t.Date()
	total := int64(y)*12 + int64(m-1) + n
	ny, nm := int(total/12), time.Month(total%12+1)
	if total < 0 && total%12 != 0 {
		ny, nm = int(total/12)-1, time.Month(total%12+13)
	}
	if last := time.Date(ny, nm+1, 0, 0, 0, 0, 0, t.Location()).Day(); day > last {
		day = last
	}
	hh, mm, ss := t.Clock()
	return time.Date(ny, nm, day, hh, mm, ss, t.Nanosecond(), t.Location())
}

// ---- boolean structure ----

// And is true when every operand is. Unparenthesised chains are flat:
// "a and b and c" is one And with three operands; "(a and b) and c" nests.
type And struct {
	List []Expr // at least two
}

// Or is true when any operand is. Flattened like And.
type Or struct {
	List []Expr // at least two
}

// Not negates X.
type Not struct {
	NotPos token.Pos
	X      Expr
}

// Paren is a parenthesised condition. It only records where the
// parentheses were: the canonical printer writes the parentheses the tree
// shape needs, and the JSON form leaves Paren out. Use Unparen to see through.
type Paren struct {
	Lparen token.Pos
	X      Expr
	Rparen token.Pos
}

// BadExpr stands where the parser found a syntax error, so that parsing can
// go on and report later errors too. Trees with a BadExpr are never
// evaluated: the parser's error list is non-empty.
type BadExpr struct {
	From, To token.Pos
}

// ---- trait conditions ----
// The same nodes test event properties and record attributes inside a
// "where" filter; Name is then the property or attribute.

// CompareOp is a comparison operator.
type CompareOp int

// Comparison operators.
const (
	Eq CompareOp = iota + 1
	Neq
	Lt
	Le
	Gt
	Ge
)

var compareNames = [...]string{Eq: "=", Neq: "!=", Lt: "<", Le: "<=", Gt: ">", Ge: ">="}

func (op CompareOp) String() string {
	if op > 0 && int(op) < len(compareNames) {
		return compareNames[op]
	}
	return "op?"
}

// ParseCompareOp accepts "=", "!=", "<", "<=", ">", ">=".
func ParseCompareOp(s string) (CompareOp, bool) {
	for op := Eq; op <= Ge; op++ {
		if s == op.String() {
			return op, true
		}
	}
	return 0, false
}

// Compare is "NAME op VALUE": age >= 25, country = "VN", signup_at < 2024-01-01.
type Compare struct {
	Name  *Ident
	OpPos token.Pos
	Op    CompareOp
	Value Value
}

// In is "NAME in [v, ...]" or, with Not, "NAME not in [v, ...]".
type In struct {
	Name   *Ident
	Not    bool
	Lbrack token.Pos
	List   []Value
	Rbrack token.Pos
}

// Exists is "NAME exists" or, with Missing, "NAME is missing".
type Exists struct {
	Name    *Ident
	Missing bool
	WordEnd token.Pos // one past "exists" / "missing"
}

// TextOp is a text-matching operator.
type TextOp int

// Text operators. Matching is case-sensitive; Matches takes an RE2 pattern
// that may match anywhere in the value (anchor with ^ and $).
const (
	Contains TextOp = iota + 1
	StartsWith
	EndsWith
	Matches
)

var textNames = [...]string{Contains: "contains", StartsWith: "starts with", EndsWith: "ends with", Matches: "matches"}

func (op TextOp) String() string {
	if op > 0 && int(op) < len(textNames) {
		return textNames[op]
	}
	return "textop?"
}

// ParseTextOp accepts "contains", "starts with", "ends with", "matches".
func ParseTextOp(s string) (TextOp, bool) {
	for op := Contains; op <= Matches; op++ {
		if s == op.String() {
			return op, true
		}
	}
	return 0, false
}

// TextMatch is "NAME contains|starts with|ends with|matches STRING".
// On a list trait, contains tests whether an element equals the string.
type TextMatch struct {
	Name  *Ident
	OpPos token.Pos
	Op    TextOp
	Value *StringLit
}

// TimeCond tests a time trait: signup_at in last 30 days, signup_at before
// 2025-01-01, renewal_at in next 7 days, signup_at between A and B.
type TimeCond struct {
	Name *Ident
	When TimePredicate
}

// Anniversary is "NAME anniversary WHEN": the trait's month and day, moved
// into the current year, falls in When (*LastWindow, *NextWindow or
// *ThisWindow). February 29 is celebrated on February 28 in other years.
type Anniversary struct {
	Name  *Ident
	KwPos token.Pos // "anniversary"
	When  TimePredicate
}

// DistUnit is a distance unit.
type DistUnit int

// Distance units.
const (
	Kilometers DistUnit = iota + 1
	Miles
	Meters
)

var distNames = [...]string{Kilometers: "km", Miles: "mi", Meters: "m"}

func (u DistUnit) String() string {
	if u > 0 && int(u) < len(distNames) {
		return distNames[u]
	}
	return "dist?"
}

// ParseDistUnit accepts "km", "mi" and "m".
func ParseDistUnit(s string) (DistUnit, bool) {
	for u := Kilometers; u <= Meters; u++ {
		if s == u.String() {
			return u, true
		}
	}
	return 0, false
}

// Meters converts a distance in unit u to meters.
func (u DistUnit) Meters(d float64) float64 {
	switch u {
	case Kilometers:
		return d * 1000
	case Miles:
		return d * 1609.344
	}
	return d
}

// Geo is "NAME within D unit of (LAT, LON)": the great-circle distance from
// the trait's point to (Lat, Lon) is at most D.
type Geo struct {
	Name     *Ident
	Distance *NumberLit
	Unit     DistUnit
	Lat, Lon *NumberLit
	Rparen   token.Pos
}

// ---- behaviour ----

// EventKind says which calls an event target matches.
type EventKind int

// Event kinds.
const (
	TrackEvent  EventKind = iota + 1 // "Order Completed": track calls with that event name
	PageEvent                        // page, or page "Pricing": page calls (optionally with that name)
	ScreenEvent                      // screen, or screen "Home"
	AnyEvent                         // any event: every track, page and screen call
)

// EventTarget names the events an aggregate, did, seen or sequence step looks at.
type EventTarget struct {
	KindPos token.Pos
	Kind    EventKind
	Name    string // event name for TrackEvent; optional page/screen name; empty for AnyEvent
	EndPos  token.Pos
}

// RecordTarget is `record "T"`: records of type T linked to the profile.
type RecordTarget struct {
	RecordPos token.Pos
	Type      string
	EndPos    token.Pos
}

// Target is *EventTarget or *RecordTarget.
type Target interface {
	Node
	targetNode()
}

// AggFunc is an aggregate function.
type AggFunc int

// Aggregate functions.
const (
	Count AggFunc = iota + 1
	Sum
	Avg
	Min
	Max
	Distinct
)

var aggNames = [...]string{Count: "count", Sum: "sum", Avg: "avg", Min: "min", Max: "max", Distinct: "distinct"}

func (f AggFunc) String() string {
	if f > 0 && int(f) < len(aggNames) {
		return aggNames[f]
	}
	return "agg?"
}

// ParseAggFunc accepts count, sum, avg, min, max and distinct.
func ParseAggFunc(s string) (AggFunc, bool) {
	for f := Count; f <= Distinct; f++ {
		if s == f.String() {
			return f, true
		}
	}
	return 0, false
}

// Aggregate is "FUNC([PROPERTY of] TARGET [where F] [WINDOW]) op NUMBER":
//
//	count("Page Viewed" where path contains "/pricing" in last 7 days) > 3
//	sum(revenue of "Order Completed" in last 90 days) >= 1000
//	count(record "tickets" where status = "open") >= 1
//
// Of is nil for count and required for the others. Where filters on event
// properties (or record attributes). Window is nil for all time; record
// aggregates take no window.
type Aggregate struct {
	FuncPos token.Pos
	Func    AggFunc
	Of      *Ident
	Target  Target
	Where   Expr
	Window  Window
	Rparen  token.Pos
	OpPos   token.Pos
	Op      CompareOp
	Value   *NumberLit
}

// Did is "did EVENT [where F] [WINDOW]", sugar for count(...) >= 1 kept as
// its own node so that it prints back as written.
type Did struct {
	DidPos token.Pos
	Event  *EventTarget
	Where  Expr
	Window Window
}

// Seen is "first_seen(EVENT [where F]) WHEN" or "last_seen(...) WHEN": the
// earliest (latest) matching event exists and its time satisfies When.
type Seen struct {
	FuncPos token.Pos
	Last    bool // last_seen; false is first_seen
	Event   *EventTarget
	Where   Expr
	Rparen  token.Pos
	When    TimePredicate
}

// SeqStep is one step of a sequence. Not is allowed on the last step only.
type SeqStep struct {
	NotPos token.Pos // NoPos unless Not
	Not    bool
	Event  *EventTarget
	Where  Expr
}

// Pos and End of a step.
func (s *SeqStep) Pos() token.Pos {
	if s.Not {
		return s.NotPos
	}
	return s.Event.Pos()
}
func (s *SeqStep) End() token.Pos {
	if s.Where != nil {
		return s.Where.End()
	}
	return s.Event.End()
}

// Sequence is "sequence(A then B [then C ...] [within D] [WINDOW])".
// Window restricts the first step's time. Within is nil when there is no
// bound; a negated last step requires Within.
type Sequence struct {
	SeqPos token.Pos
	Steps  []*SeqStep // at least two
	Within *Duration
	Window Window
	Rparen token.Pos
}

// HasRecord is `has record "T" [where F]`.
type HasRecord struct {
	HasPos token.Pos
	Record *RecordTarget
	Where  Expr
}

// InSegment is `in segment "name"`. "not in segment" is Not{InSegment}.
type InSegment struct {
	InPos   token.Pos
	Segment *StringLit
}

// Sample is "sample(p%)": a deterministic p% of profiles per segment.
type Sample struct {
	SamplePos token.Pos
	Percent   *NumberLit // Percent flag set when written with %
	Rparen    token.Pos
}

// ---- windows and time predicates ----

// LastWindow is "in last N unit": (at − N·unit, at].
type LastWindow struct {
	InPos token.Pos
	Dur   Duration
}

// NextWindow is "in next N unit": [at, at + N·unit). Time predicates only.
type NextWindow struct {
	InPos token.Pos
	Dur   Duration
}

// Period is a calendar period for "this ...".
type Period int

// Calendar periods. Weeks start on Monday.
const (
	Day Period = iota + 1
	Week
	Month
	Year
)

var periodNames = [...]string{Day: "day", Week: "week", Month: "month", Year: "year"}

func (p Period) String() string {
	if p > 0 && int(p) < len(periodNames) {
		return periodNames[p]
	}
	return "period?"
}

// ParsePeriod accepts day, week, month and year.
func ParsePeriod(s string) (Period, bool) {
	for p := Day; p <= Year; p++ {
		if s == p.String() {
			return p, true
		}
	}
	return 0, false
}

// ThisWindow is "in this week" (also "this week"; "today" is "in this day"):
// from the start of the current period in the workspace time zone up to at.
type ThisWindow struct {
	ThisPos token.Pos
	Period  Period
	EndPos  token.Pos
}

// SinceWindow is "since T": [T, at].
type SinceWindow struct {
	SincePos token.Pos
	Time     TimeValue
}

// BetweenWindow is "between A and B": [A, B).
type BetweenWindow struct {
	BetweenPos token.Pos
	From, To   TimeValue
}

// Before is "before T": strictly earlier than T. Time predicates only.
type Before struct {
	BeforePos token.Pos
	Time      TimeValue
}

// After is "after T": strictly later than T. Time predicates only.
type After struct {
	AfterPos token.Pos
	Time     TimeValue
}

// ---- positions ----

func (x *Ident) Pos() token.Pos     { return x.NamePos }
func (x *Ident) End() token.Pos     { return x.NameEnd }
func (x *StringLit) Pos() token.Pos { return x.ValuePos }
func (x *StringLit) End() token.Pos { return x.ValueEnd }
func (x *NumberLit) Pos() token.Pos { return x.ValuePos }
func (x *NumberLit) End() token.Pos { return x.ValueEnd }
func (x *BoolLit) Pos() token.Pos   { return x.ValuePos }
func (x *BoolLit) End() token.Pos   { return x.ValueEnd }
func (x *TimeLit) Pos() token.Pos   { return x.ValuePos }
func (x *TimeLit) End() token.Pos   { return x.ValueEnd }
func (x *Ago) Pos() token.Pos       { return x.Dur.NPos }
func (x *Ago) End() token.Pos       { return x.AgoEnd }
func (x *Now) Pos() token.Pos       { return x.NowPos }
func (x *Now) End() token.Pos       { return add(x.NowPos, 3) }

func (x *And) Pos() token.Pos   { return x.List[0].Pos() }
func (x *And) End() token.Pos   { return x.List[len(x.List)-1].End() }
func (x *Or) Pos() token.Pos    { return x.List[0].Pos() }
func (x *Or) End() token.Pos    { return x.List[len(x.List)-1].End() }
func (x *Not) Pos() token.Pos   { return x.NotPos }
func (x *Not) End() token.Pos   { return x.X.End() }
func (x *Paren) Pos() token.Pos { return x.Lparen }
func (x *Paren) End() token.Pos { return add(x.Rparen, 1) }

func (x *BadExpr) Pos() token.Pos     { return x.From }
func (x *BadExpr) End() token.Pos     { return x.To }
func (x *Compare) Pos() token.Pos     { return x.Name.Pos() }
func (x *Compare) End() token.Pos     { return x.Value.End() }
func (x *In) Pos() token.Pos          { return x.Name.Pos() }
func (x *In) End() token.Pos          { return add(x.Rbrack, 1) }
func (x *Exists) Pos() token.Pos      { return x.Name.Pos() }
func (x *Exists) End() token.Pos      { return x.WordEnd }
func (x *TextMatch) Pos() token.Pos   { return x.Name.Pos() }
func (x *TextMatch) End() token.Pos   { return x.Value.End() }
func (x *TimeCond) Pos() token.Pos    { return x.Name.Pos() }
func (x *TimeCond) End() token.Pos    { return x.When.End() }
func (x *Anniversary) Pos() token.Pos { return x.Name.Pos() }
func (x *Anniversary) End() token.Pos { return x.When.End() }
func (x *Geo) Pos() token.Pos         { return x.Name.Pos() }
func (x *Geo) End() token.Pos         { return add(x.Rparen, 1) }

func (x *EventTarget) Pos() token.Pos  { return x.KindPos }
func (x *EventTarget) End() token.Pos  { return x.EndPos }
func (x *RecordTarget) Pos() token.Pos { return x.RecordPos }
func (x *RecordTarget) End() token.Pos { return x.EndPos }
func (x *Aggregate) Pos() token.Pos    { return x.FuncPos }
func (x *Aggregate) End() token.Pos    { return x.Value.End() }
func (x *Did) Pos() token.Pos          { return x.DidPos }
func (x *Did) End() token.Pos {
	switch {
	case x.Window != nil:
		return x.Window.End()
	case x.Where != nil:
		return x.Where.End()
	}
	return x.Event.End()
}
func (x *Seen) Pos() token.Pos      { return x.FuncPos }
func (x *Seen) End() token.Pos      { return x.When.End() }
func (x *Sequence) Pos() token.Pos  { return x.SeqPos }
func (x *Sequence) End() token.Pos  { return add(x.Rparen, 1) }
func (x *HasRecord) Pos() token.Pos { return x.HasPos }
func (x *HasRecord) End() token.Pos {
	if x.Where != nil {
		return x.Where.End()
	}
	return x.Record.End()
}
func (x *InSegment) Pos() token.Pos { return x.InPos }
func (x *InSegment) End() token.Pos { return x.Segment.End() }
func (x *Sample) Pos() token.Pos    { return x.SamplePos }
func (x *Sample) End() token.Pos    { return add(x.Rparen, 1) }

func (x *LastWindow) Pos() token.Pos    { return x.InPos }
func (x *LastWindow) End() token.Pos    { return x.Dur.End() }
func (x *NextWindow) Pos() token.Pos    { return x.InPos }
func (x *NextWindow) End() token.Pos    { return x.Dur.End() }
func (x *ThisWindow) Pos() token.Pos    { return x.ThisPos }
func (x *ThisWindow) End() token.Pos    { return x.EndPos }
func (x *SinceWindow) Pos() token.Pos   { return x.SincePos }
func (x *SinceWindow) End() token.Pos   { return x.Time.End() }
func (x *BetweenWindow) Pos() token.Pos { return x.BetweenPos }
func (x *BetweenWindow) End() token.Pos { return x.To.End() }
func (x *Before) Pos() token.Pos        { return x.BeforePos }
func (x *Before) End() token.Pos        { return x.Time.End() }
func (x *After) Pos() token.Pos         { return x.AfterPos }
func (x *After) End() token.Pos         { return x.Time.End() }

// add offsets a valid position; NoPos stays NoPos.
func add(p token.Pos, n int) token.Pos {
	if !p.IsValid() {
		return p
	}
	return p + token.Pos(n)
}

// ---- interface markers ----

func (*And) exprNode()         {}
func (*Or) exprNode()          {}
func (*Not) exprNode()         {}
func (*Paren) exprNode()       {}
func (*BadExpr) exprNode()     {}
func (*Compare) exprNode()     {}
func (*In) exprNode()          {}
func (*Exists) exprNode()      {}
func (*TextMatch) exprNode()   {}
func (*TimeCond) exprNode()    {}
func (*Anniversary) exprNode() {}
func (*Geo) exprNode()         {}
func (*Aggregate) exprNode()   {}
func (*Did) exprNode()         {}
func (*Seen) exprNode()        {}
func (*Sequence) exprNode()    {}
func (*HasRecord) exprNode()   {}
func (*InSegment) exprNode()   {}
func (*Sample) exprNode()      {}

func (*StringLit) valueNode() {}
func (*NumberLit) valueNode() {}
func (*BoolLit) valueNode()   {}
func (*TimeLit) valueNode()   {}
func (*Ago) valueNode()       {}
func (*Now) valueNode()       {}

func (*TimeLit) timeValueNode() {}
func (*Ago) timeValueNode()     {}
func (*Now) timeValueNode()     {}

func (*EventTarget) targetNode()  {}
func (*RecordTarget) targetNode() {}

func (*LastWindow) windowNode()    {}
func (*ThisWindow) windowNode()    {}
func (*SinceWindow) windowNode()   {}
func (*BetweenWindow) windowNode() {}

func (*LastWindow) timePredicateNode()    {}
func (*NextWindow) timePredicateNode()    {}
func (*ThisWindow) timePredicateNode()    {}
func (*SinceWindow) timePredicateNode()   {}
func (*BetweenWindow) timePredicateNode() {}
func (*Before) timePredicateNode()        {}
func (*After) timePredicateNode()         {}

// Unparen strips any parentheses around x.
func Unparen(x Expr) Expr {
	for {
		p, ok := x.(*Paren)
		if !ok {
			return x
		}
		x = p.X
	}
}
