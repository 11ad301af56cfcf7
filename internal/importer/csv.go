package importer

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/segd/segd/internal/message"
)

// defaultIDColumns are taken as identifiers when Options.IDColumns is empty.
var defaultIDColumns = map[string]string{
	"userId": "userId", "user_id": "userId", "email": "email", "phone": "phone",
	"anonymousId": "anonymousId", "anonymous_id": "anonymousId",
}

// idPriority orders identifier types when one must be chosen: the first present wins.
var idPriority = []string{"userId", "email", "phone", "anonymousId"}

// table is a CSV file being read: its header and what each column means.
type table struct {
	cr     *csv.Reader
	header []string
	idType []string // per column: identifier type, or ""
	tsCol  int      // the "timestamp" column, or -1
	keyCol int      // the record "id" column, or -1
	line   int      // the line the last row started on
}

func openTable(r io.Reader, opts Options, what string, needID bool) (*table, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // checked per row, so a short row is reported and skipped
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("import %s: the file is empty: want a header row", what)
	}
	if err != nil {
		return nil, fmt.Errorf("import %s: reading the header row: %w", what, err)
	}
	t := &table{cr: cr, header: slices.Clone(header), tsCol: -1, keyCol: -1}
	seen := map[string]bool{}
	for i, h := range t.header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff")
		}
		h = strings.TrimSpace(h)
		t.header[i] = h
		if h == "" {
			return nil, fmt.Errorf("import %s: header column %d has no name", what, i+1)
		}
		if seen[h] {
			return nil, fmt.Errorf("import %s: header names column %q twice", what, h)
		}
		seen[h] = true
	}
	t.idType = make([]string, len(t.header))
	mapping := opts.IDColumns
	if len(mapping) == 0 {
		mapping = defaultIDColumns
	}
	for col, typ := range mapping {
		i := slices.Index(t.header, col)
		if i < 0 {
			if len(opts.IDColumns) == 0 {
				continue // a default that this file does not use
			}
			return nil, fmt.Errorf("import %s: id column %q is not in the header (columns: %s)", what, col, strings.Join(t.header, ", "))
		}
		t.idType[i] = canonicalIDType(typ)
	}
	for i, h := range t.header {
		switch {
		case t.idType[i] != "":
		case strings.EqualFold(h, "timestamp"):
			t.tsCol = i
		case needID && strings.EqualFold(h, "id"):
			t.keyCol = i
		}
	}
	if needID && t.keyCol < 0 {
		return nil, fmt.Errorf("import %s: the header has no id column: each record needs one (columns: %s)", what, strings.Join(t.header, ", "))
	}
	if !slices.ContainsFunc(t.idType, func(s string) bool { return s != "" }) {
		return nil, fmt.Errorf("import %s: no identifier column: name one with --id-column (e.g. --id-column email or --id-column customer_id=userId); columns: %s", what, strings.Join(t.header, ", "))
	}
	return t, nil
}

// row is one data row: its line, its cells (valid until the next call) or why it is bad.
type row struct {
	line  int
	cells []string
	bad   string
}

// next reads the next row. It returns io.EOF at the end and other errors only for I/O failures.
func (t *table) next() (row, error) {
	rec, err := t.cr.Read()
	var pe *csv.ParseError
	switch {
	case errors.Is(err, io.EOF):
		return row{}, io.EOF
	case errors.As(err, &pe) && !errors.Is(pe.Err, csv.ErrFieldCount):
		t.line = pe.StartLine
		return row{line: pe.StartLine, bad: "malformed CSV: " + pe.Err.Error()}, nil
	case err != nil:
		return row{}, err
	}
	line, _ := t.cr.FieldPos(0)
	t.line = line
	if len(rec) != len(t.header) {
		return row{line: line, bad: fmt.Sprintf("wrong number of columns: %d, the header has %d", len(rec), len(t.header))}, nil
	}
	return row{line: line, cells: rec}, nil
}

// ids collects the row's identifiers by type; values are trimmed, empty cells skipped.
func (t *table) ids(cells []string) map[string]string {
	var out map[string]string
	for i, typ := range t.idType {
		if typ == "" {
			continue
		}
		v := strings.TrimSpace(cells[i])
		if v == "" {
			continue
		}
		if out == nil {
			out = make(map[string]string, 2)
		}
		if _, dup := out[typ]; !dup {
			out[typ] = v
		}
	}
	return out
}

func (t *table) idColumnNames() string {
	var names []string
	for i, typ := range t.idType {
		if typ != "" {
			names = append(names, t.header[i])
		}
	}
	return strings.Join(names, ", ")
}

// attributes infers the values of the non-identifier, non-key, non-timestamp columns.
func (t *table) attributes(cells []string) map[string]any {
	out := make(map[string]any, len(cells))
	for i, c := range cells {
		if t.idType[i] != "" || i == t.tsCol || i == t.keyCol {
			continue
		}
		if v, ok := Infer(c); ok {
			out[t.header[i]] = v
		}
	}
	return out
}

func (t *table) timestamp(cells []string) (time.Time, string) {
	if t.tsCol < 0 {
		return time.Time{}, ""
	}
	s := strings.TrimSpace(cells[t.tsCol])
	if s == "" {
		return time.Time{}, ""
	}
	ts, err := message.ParseTime(s)
	if err != nil {
		return time.Time{}, fmt.Sprintf("timestamp %q is not an ISO-8601 time such as 2024-05-01 or 2024-05-01T12:00:00Z", s)
	}
	return ts, ""
}

// Profiles imports a CSV of profiles: a header row, identifier columns (Options.IDColumns) and
// traits in the other columns, with types inferred by Infer. An optional "timestamp" column
// dates the row. Each row becomes an identify message:
//
//   - userId and anonymousId go to those fields, email and phone to traits, other identifier
//     types to context.externalIds as Segment writes them ({id, type, collection, encoding});
//   - a row with neither userId nor anonymousId gets anonymousId "imp-" + a hash of its
//     first identifier (by priority email, phone, then external ids by type), because every
//     Segment message needs one;
//   - its messageId is "p-" + a hash of the row's non-empty cells by column name (and the
//     identifier type of identifier columns), so the same row in any file, in any column
//     order, is the same message and a re-run adds nothing.
//
// Rows with the wrong number of columns, no identifier or a bad timestamp are reported.
func Profiles(ctx context.Context, r io.Reader, sink Sink, opts Options) (Report, error) {
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return Report{}, err
	}
	t, err := openTable(r, opts, "profiles", false)
	if err != nil {
		return Report{}, err
	}
	rep := &reporter{opts: opts}
	batch := make([]message.Message, 0, min(opts.BatchSize, 4096))
	flush := func(final bool) error {
		if len(batch) > 0 {
			if err := sink.Append(ctx, batch); err != nil {
				return fmt.Errorf("import profiles: writing rows: %w", err)
			}
			rep.rep.Lines += int64(len(batch))
			rep.rep.Imported += int64(len(batch))
			batch = batch[:0]
		}
		rep.done = t.cr.InputOffset()
		rep.progress(final)
		return nil
	}
	received := opts.Now()
	for {
		if ctx.Err() != nil {
			return rep.rep, canceled(ctx, "importing profiles")
		}
		rw, err := t.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return rep.rep, fmt.Errorf("import profiles: reading after line %d: %w", t.line, err)
		}
		if rw.bad != "" {
			rep.bad(rw.line, rw.bad)
			continue
		}
		m, reason := t.profileMessage(rw.cells, received, opts.Limits)
		if reason != "" {
			rep.bad(rw.line, reason)
			continue
		}
		batch = append(batch, m)
		if len(batch) >= opts.BatchSize {
			if err := flush(false); err != nil {
				return rep.rep, err
			}
		}
	}
	if err := flush(true); err != nil {
		return rep.rep, err
	}
	return rep.finish()
}

func (t *table) profileMessage(cells []string, received time.Time, lim message.Limits) (message.Message, string) {
	ids := t.ids(cells)
	if len(ids) == 0 {
		return message.Message{}, fmt.Sprintf("no identifier: the identifier columns (%s) are all empty", t.idColumnNames())
	}
	ts, bad := t.timestamp(cells)
	if bad != "" {
		return message.Message{}, bad
	}
	traits := t.attributes(cells)
	msg := map[string]any{"type": "identify", "messageId": rowID(t, cells), "traits": traits}
	var external []any
	for typ, v := range ids {
		switch typ {
		case "userId", "anonymousId":
			msg[typ] = v
		case "email", "phone":
			traits[typ] = v
		default:
			external = append(external, map[string]any{"id": v, "type": typ, "collection": "users", "encoding": "none"})
		}
	}
	if len(external) > 0 {
		slices.SortFunc(external, func(a, b any) int {
			return strings.Compare(a.(map[string]any)["type"].(string), b.(map[string]any)["type"].(string))
		})
		msg["context"] = map[string]any{"externalIds": external}
	}
	if ids["userId"] == "" && ids["anonymousId"] == "" {
		msg["anonymousId"] = syntheticAnonymousID(ids)
	}
	if !ts.IsZero() {
		msg["timestamp"] = ts.Format(time.RFC3339Nano)
	}
	raw, err := json.Marshal(msg)
	if err != nil {
		return message.Message{}, "cannot encode the row: " + err.Error()
	}
	m, err := message.DecodeMessage(raw, received, lim)
	if err != nil {
		return message.Message{}, err.Error()
	}
	return m, ""
}

// syntheticAnonymousID names a profile known only by email, phone or an external id.
func syntheticAnonymousID(ids map[string]string) string {
	typ := ""
	for _, p := range idPriority {
		if ids[p] != "" {
			typ = p
			break
		}
	}
	if typ == "" {
		types := make([]string, 0, len(ids))
		for k := range ids {
			types = append(types, k)
		}
		slices.Sort(types)
		typ = types[0]
	}
	sum := sha256.Sum256([]byte(typ + "\x00" + ids[typ]))
	return "imp-" + hex.EncodeToString(sum[:16])
}

// rowID hashes a row's content independently of the file: the non-empty cells keyed by column
// name, sorted, with identifier columns also keyed by their identifier type.
func rowID(t *table, cells []string) string {
	idx := make([]int, 0, len(cells))
	for i := range cells {
		if strings.TrimSpace(cells[i]) != "" {
			idx = append(idx, i)
		}
	}
	slices.SortFunc(idx, func(a, b int) int { return strings.Compare(t.header[a], t.header[b]) })
	h := sha256.New()
	for _, i := range idx {
		h.Write([]byte(t.header[i]))
		h.Write([]byte{0})
		h.Write([]byte(t.idType[i]))
		h.Write([]byte{0})
		h.Write([]byte(strings.TrimSpace(cells[i])))
		h.Write([]byte{0})
	}
	return "p-" + hex.EncodeToString(h.Sum(nil)[:16])
}

// Records imports a CSV of related records of type typ: an "id" column, identifier columns
// (Options.IDColumns) naming the profile, an optional "timestamp" column and attributes in the
// other columns, with types inferred by Infer. Records are upserted by id, so a re-run adds
// nothing. Record.Timestamp is zero when the file has no timestamp (the sink decides). Rows with
// the wrong number of columns, an empty id, no identifier or a bad timestamp are reported.
func Records(ctx context.Context, r io.Reader, typ string, sink RecordSink, opts Options) (Report, error) {
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return Report{}, err
	}
	if strings.TrimSpace(typ) == "" {
		return Report{}, errors.New("import records: the record type is empty: pass --type, e.g. --type tickets")
	}
	t, err := openTable(r, opts, "records", true)
	if err != nil {
		return Report{}, err
	}
	rep := &reporter{opts: opts}
	batch := make([]Record, 0, min(opts.BatchSize, 4096))
	flush := func(final bool) error {
		if len(batch) > 0 {
			if err := sink.UpsertRecords(ctx, typ, batch); err != nil {
				return fmt.Errorf("import records: writing rows: %w", err)
			}
			rep.rep.Lines += int64(len(batch))
			rep.rep.Imported += int64(len(batch))
			batch = batch[:0]
		}
		rep.done = t.cr.InputOffset()
		rep.progress(final)
		return nil
	}
	for {
		if ctx.Err() != nil {
			return rep.rep, canceled(ctx, "importing records")
		}
		rw, err := t.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return rep.rep, fmt.Errorf("import records: reading after line %d: %w", t.line, err)
		}
		if rw.bad != "" {
			rep.bad(rw.line, rw.bad)
			continue
		}
		id := strings.TrimSpace(rw.cells[t.keyCol])
		if id == "" {
			rep.bad(rw.line, "empty id: every record needs one")
			continue
		}
		ids := t.ids(rw.cells)
		if len(ids) == 0 {
			rep.bad(rw.line, fmt.Sprintf("no profile identifier: the identifier columns (%s) are all empty", t.idColumnNames()))
			continue
		}
		ts, bad := t.timestamp(rw.cells)
		if bad != "" {
			rep.bad(rw.line, bad)
			continue
		}
		batch = append(batch, Record{ID: id, Profile: ids, Attributes: t.attributes(rw.cells), Timestamp: ts})
		if len(batch) >= opts.BatchSize {
			if err := flush(false); err != nil {
				return rep.rep, err
			}
		}
	}
	if err := flush(true); err != nil {
		return rep.rep, err
	}
	return rep.finish()
}

// Infer gives a CSV cell its type: an empty cell is absent (ok false); true/false (any case)
// is a bool; a JSON-style number is a float64 unless it has leading zeros ("007", kept as
// text, like zip codes) or is an integer beyond 2^53 (kept as text so ids are not rounded); a
// date (2024-05-01) or an ISO-8601 time is an RFC 3339 string in UTC; anything else is the
// trimmed text.
func Infer(cell string) (any, bool) {
	s := strings.TrimSpace(cell)
	if s == "" {
		return nil, false
	}
	if strings.EqualFold(s, "true") {
		return true, true
	}
	if strings.EqualFold(s, "false") {
		return false, true
	}
	if isNumber(s) {
		if !strings.ContainsAny(s, ".eE") {
			i, err := strconv.ParseInt(s, 10, 64)
			if err != nil || i > 1<<53 || i < -(1<<53) {
				return s, true // an id-like integer a float64 would round
			}
			return float64(i), true
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) {
			return s, true
		}
		return f, true
	}
	if len(s) >= 8 && s[0] >= '0' && s[0] <= '9' && s[4] == '-' {
		if t, err := message.ParseTime(s); err == nil {
			return t.Format(time.RFC3339Nano), true
		}
	}
	return s, true
}

// isNumber reports whether s is a number in JSON's grammar without leading zeros.
func isNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == start || s[start] == '0' && i-start > 1 {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == fs {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		es := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == es {
			return false
		}
	}
	return i == len(s)
}
