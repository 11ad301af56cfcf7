package segment

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/segd/segd/internal/engine"
	"github.com/segd/segd/internal/httpapi"
	"github.com/segd/segd/internal/segql/scanner"
	"github.com/segd/segd/internal/store"
)

// Routes are the query, segment and SegQL editor endpoints, all with the admin scope.
func (s *Service) Routes() []httpapi.Route {
	r := func(pattern string, h func(http.ResponseWriter, *http.Request, uint32)) httpapi.Route {
		return httpapi.Route{Pattern: pattern, Scope: store.ScopeAdmin, Handler: h}
	}
	return []httpapi.Route{
		r("POST /api/v1/query", s.handleQuery),
		r("POST /api/v1/segql/check", s.handleCheck),
		r("POST /api/v1/segql/format", s.handleFormat),
		r("POST /api/v1/segments", s.handleCreate),
		r("GET /api/v1/segments", s.handleList),
		r("GET /api/v1/segments/{id}", s.handleGet),
		r("PUT /api/v1/segments/{id}", s.handleUpdate),
		r("DELETE /api/v1/segments/{id}", s.handleDelete),
		r("GET /api/v1/segments/{id}/versions", s.handleVersions),
		r("GET /api/v1/segments/{id}/members", s.handleMembers),
		r("POST /api/v1/segments/{id}/snapshot", s.handleSnapshot),
	}
}

// Diagnostic is a checker or parser error or warning as the API shows it: positions for
// underlining ([offset, end_offset) in the query text) and the suggested name, if any.
type Diagnostic struct {
	Code       string `json:"code"`
	Severity   string `json:"severity"`
	Message    string `json:"message"`
	Text       string `json:"text"` // "1:1: unknown trait ..." as the CLI prints it
	Line       int    `json:"line,omitempty"`
	Column     int    `json:"column,omitempty"`
	Offset     int    `json:"offset"`
	EndLine    int    `json:"end_line,omitempty"`
	EndColumn  int    `json:"end_column,omitempty"`
	EndOffset  int    `json:"end_offset"`
	Suggestion string `json:"suggestion,omitempty"`
}

var didYouMeanRE = regexp.MustCompile(`\(did you mean ("(?:[^"\\]|\\.)*")\?\)`)

// Diagnostics converts a list; errors and warnings come back separately.
func Diagnostics(list scanner.ErrorList) (errs, warnings []Diagnostic) {
	errs, warnings = []Diagnostic{}, []Diagnostic{}
	for _, e := range list {
		d := Diagnostic{Code: string(e.Code), Severity: e.Severity.String(), Message: e.Msg, Text: e.Error(),
			Line: e.Pos.Line, Column: e.Pos.Column, Offset: e.Pos.Offset,
			EndLine: e.End.Line, EndColumn: e.End.Column, EndOffset: e.End.Offset}
		if m := didYouMeanRE.FindStringSubmatch(e.Msg); m != nil {
			if s, err := strconv.Unquote(m[1]); err == nil {
				d.Suggestion = s
			}
		}
		if e.Severity == scanner.SevWarning {
			warnings = append(warnings, d)
		} else {
			errs = append(errs, d)
		}
	}
	return errs, warnings
}

// queryErrorBody is the 400 answer for a query with errors: the standard error object plus
// every diagnostic.
type queryErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Path    string `json:"path,omitempty"`
	} `json:"error"`
	Query    string       `json:"query"`
	Errors   []Diagnostic `json:"errors"`
	Warnings []Diagnostic `json:"warnings"`
}

// writeErr maps the service's errors to HTTP answers.
func writeErr(w http.ResponseWriter, err error) {
	var qe *QueryError
	var ie *InputError
	switch {
	case errors.As(err, &qe):
		var b queryErrorBody
		errs, warns := Diagnostics(qe.List)
		b.Error.Code, b.Error.Path = "invalid_query", qe.Path
		b.Error.Message = fmt.Sprintf("%s has %d error(s): %s", qe.Path, len(errs), qe.List.Errors().Error())
		b.Query, b.Errors, b.Warnings = qe.Text, errs, warns
		httpapi.WriteJSON(w, 400, b)
	case errors.As(err, &ie):
		httpapi.WriteError(w, 400, "invalid", ie.Msg, ie.Path)
	case errors.Is(err, ErrNotFound):
		httpapi.WriteError(w, 404, "not_found", err.Error(), "")
	case errors.Is(err, ErrNameTaken):
		httpapi.WriteError(w, 409, "name_taken", err.Error(), "name")
	case errors.Is(err, ErrInUse):
		httpapi.WriteError(w, 409, "in_use", err.Error(), "")
	default:
		httpapi.WriteError(w, 500, "internal", err.Error(), "")
	}
}

// ---- query and editor ----

type queryRequest struct {
	Query   string          `json:"query"`
	Tree    json.RawMessage `json:"tree"`
	At      *time.Time      `json:"at"`
	Explain bool            `json:"explain"`
	Limit   *int            `json:"limit"`
}

// QueryAnswer is the answer of POST /api/v1/query.
type QueryAnswer struct {
	Count    uint64          `json:"count"`
	Sample   []uint32        `json:"sample"`
	TookMS   float64         `json:"took_ms"`
	At       time.Time       `json:"at"`
	Query    string          `json:"query"`
	Tree     json.RawMessage `json:"tree"`
	Plan     *engine.Plan    `json:"plan,omitempty"`
	Warnings []Diagnostic    `json:"warnings"`
}

func (s *Service) handleQuery(w http.ResponseWriter, r *http.Request, ws uint32) {
	var req queryRequest
	if !httpapi.DecodeJSON(w, r, &req) {
		return
	}
	limit := 20
	if req.Limit != nil {
		limit = *req.Limit
	}
	if limit < 0 || limit > s.opts.MaxSample {
		httpapi.WriteError(w, 400, "invalid", fmt.Sprintf("limit must be between 0 and %d", s.opts.MaxSample), "limit")
		return
	}
	c, err := s.Compile(ws, req.Query, req.Tree, "")
	if err != nil {
		writeErr(w, err)
		return
	}
	at := s.opts.Now()
	if req.At != nil {
		at = *req.At
	}
	start := time.Now()
	bm, plan, err := s.Evaluate(r.Context(), ws, c.Expr, at, "", req.Explain)
	if err != nil {
		writeErr(w, err)
		return
	}
	took := time.Since(start)
	_, warns := Diagnostics(c.Warnings)
	ans := QueryAnswer{Count: bm.GetCardinality(), Sample: []uint32{}, TookMS: float64(took.Microseconds()) / 1000,
		At: at.UTC(), Query: c.Text, Tree: c.Tree, Plan: plan, Warnings: warns}
	it := bm.Iterator()
	for len(ans.Sample) < limit && it.HasNext() {
		ans.Sample = append(ans.Sample, it.Next())
	}
	httpapi.WriteJSON(w, 200, ans)
}

type checkRequest struct {
	Query   string          `json:"query"`
	Tree    json.RawMessage `json:"tree"`
	Segment string          `json:"segment"` // the segment being edited, for cycle detection
}

// CheckAnswer is the answer of POST /api/v1/segql/check and /format.
type CheckAnswer struct {
	OK       bool            `json:"ok"`
	Query    string          `json:"query,omitempty"` // canonical text when OK
	Tree     json.RawMessage `json:"tree,omitempty"`
	Errors   []Diagnostic    `json:"errors"`
	Warnings []Diagnostic    `json:"warnings"`
}

func answer(c *Compiled, err error) (CheckAnswer, error) {
	var qe *QueryError
	switch {
	case err == nil:
		_, warns := Diagnostics(c.Warnings)
		return CheckAnswer{OK: true, Query: c.Text, Tree: c.Tree, Errors: []Diagnostic{}, Warnings: warns}, nil
	case errors.As(err, &qe):
		errs, warns := Diagnostics(qe.List)
		return CheckAnswer{Errors: errs, Warnings: warns}, nil
	}
	return CheckAnswer{}, err
}

// handleCheck answers 200 with ok=false and the diagnostics for a query with errors: checking
// is the editor's question, not a failed request.
func (s *Service) handleCheck(w http.ResponseWriter, r *http.Request, ws uint32) {
	var req checkRequest
	if !httpapi.DecodeJSON(w, r, &req) {
		return
	}
	ans, err := answer(s.Compile(ws, req.Query, req.Tree, req.Segment))
	if err != nil {
		writeErr(w, err)
		return
	}
	httpapi.WriteJSON(w, 200, ans)
}

func (s *Service) handleFormat(w http.ResponseWriter, r *http.Request, ws uint32) {
	var req struct {
		Query string `json:"query"`
	}
	if !httpapi.DecodeJSON(w, r, &req) {
		return
	}
	ans, err := answer(Format(req.Query))
	if err != nil {
		writeErr(w, err)
		return
	}
	httpapi.WriteJSON(w, 200, ans)
}

// ---- segments ----

// View is a segment as the API shows it: the definition, its JSON tree, and, where asked for,
// its current size and the checker's warnings.
type View struct {
	Segment
	Tree      json.RawMessage `json:"tree"`
	Size      *uint64         `json:"size,omitempty"`
	SizeAt    *time.Time      `json:"size_at,omitempty"`
	SizeError string          `json:"size_error,omitempty"`
	Warnings  []Diagnostic    `json:"warnings,omitempty"`
}

func (s *Service) view(r *http.Request, ws uint32, seg Segment, size bool, warnings scanner.ErrorList) View {
	v := View{Segment: seg}
	if c, err := Format(seg.Query); err == nil {
		v.Tree = c.Tree
	}
	if size {
		n, at, err := s.Size(r.Context(), ws, seg)
		if err != nil {
			v.SizeError = err.Error()
		} else {
			v.Size, v.SizeAt = &n, &at
		}
	}
	_, v.Warnings = Diagnostics(warnings)
	if len(v.Warnings) == 0 {
		v.Warnings = nil
	}
	return v
}

func (s *Service) handleCreate(w http.ResponseWriter, r *http.Request, ws uint32) {
	var in Input
	if !httpapi.DecodeJSON(w, r, &in) {
		return
	}
	seg, warns, err := s.Create(r.Context(), ws, in)
	if err != nil {
		writeErr(w, err)
		return
	}
	httpapi.WriteJSON(w, 201, s.view(r, ws, seg, false, warns))
}

// handleList lists segments with their current sizes (?sizes=false skips them).
func (s *Service) handleList(w http.ResponseWriter, r *http.Request, ws uint32) {
	segs, err := s.List(ws)
	if err != nil {
		writeErr(w, err)
		return
	}
	sizes := r.URL.Query().Get("sizes") != "false"
	out := make([]View, 0, len(segs))
	for _, seg := range segs {
		out = append(out, s.view(r, ws, seg, sizes, nil))
	}
	httpapi.WriteJSON(w, 200, map[string]any{"segments": out})
}

func (s *Service) handleGet(w http.ResponseWriter, r *http.Request, ws uint32) {
	seg, err := s.Get(ws, r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	httpapi.WriteJSON(w, 200, s.view(r, ws, seg, r.URL.Query().Get("sizes") != "false", nil))
}

func (s *Service) handleUpdate(w http.ResponseWriter, r *http.Request, ws uint32) {
	var in Input
	if !httpapi.DecodeJSON(w, r, &in) {
		return
	}
	seg, warns, err := s.Update(r.Context(), ws, r.PathValue("id"), in)
	if err != nil {
		writeErr(w, err)
		return
	}
	httpapi.WriteJSON(w, 200, s.view(r, ws, seg, false, warns))
}

func (s *Service) handleDelete(w http.ResponseWriter, r *http.Request, ws uint32) {
	if err := s.Delete(ws, r.PathValue("id")); err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) handleVersions(w http.ResponseWriter, r *http.Request, ws uint32) {
	vs, err := s.Versions(ws, r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	out := make([]View, 0, len(vs))
	for _, v := range vs {
		out = append(out, s.view(r, ws, v, false, nil))
	}
	httpapi.WriteJSON(w, 200, map[string]any{"versions": out})
}

func (s *Service) handleSnapshot(w http.ResponseWriter, r *http.Request, ws uint32) {
	var req struct {
		Name string     `json:"name"`
		At   *time.Time `json:"at"`
	}
	if r.ContentLength != 0 && !httpapi.DecodeJSON(w, r, &req) {
		return
	}
	var at time.Time
	if req.At != nil {
		at = *req.At
	}
	seg, err := s.Snapshot(r.Context(), ws, r.PathValue("id"), req.Name, at)
	if err != nil {
		writeErr(w, err)
		return
	}
	httpapi.WriteJSON(w, 201, s.view(r, ws, seg, false, nil))
}

// Member is one member profile with its identifiers.
type Member struct {
	ID          uint32             `json:"id"`
	Identifiers []store.Identifier `json:"identifiers"`
}

// handleMembers pages through the members in profile id order: cursor is the last id of the
// previous page. ?format=csv streams them as CSV (all from the cursor unless limit is given).
func (s *Service) handleMembers(w http.ResponseWriter, r *http.Request, ws uint32) {
	q := r.URL.Query()
	csvOut := q.Get("format") == "csv"
	if f := q.Get("format"); f != "" && f != "csv" && f != "json" {
		httpapi.WriteError(w, 400, "invalid", "format must be json or csv", "format")
		return
	}
	limit := 100
	if csvOut {
		limit = -1
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			httpapi.WriteError(w, 400, "invalid", "limit must be an integer from 1 to 10000", "limit")
			return
		}
		limit = n
	}
	var cursor uint32
	hasCursor := false
	if v := q.Get("cursor"); v != "" {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			httpapi.WriteError(w, 400, "invalid", "cursor must be a profile id from next_cursor", "cursor")
			return
		}
		cursor, hasCursor = uint32(n), true
	}
	seg, err := s.Get(ws, r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	bm, err := s.Members(r.Context(), ws, seg, time.Time{})
	if err != nil {
		writeErr(w, err)
		return
	}
	total := bm.GetCardinality()
	if hasCursor {
		bm = bm.Clone()
		bm.RemoveRange(0, uint64(cursor)+1)
	}
	it := bm.Iterator()
	var cw *csv.Writer
	if csvOut {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", seg.Name+".csv"))
		cw = csv.NewWriter(w)
		cw.Write([]string{"profile_id", "user_id", "anonymous_id", "email", "phone"})
	}
	members := []Member{}
	last, n := uint32(0), 0
	for it.HasNext() && (limit < 0 || n < limit) {
		pid := it.Next()
		last, n = pid, n+1
		p, err := s.opts.Store.ProfileRecord(ws, pid)
		if errors.Is(err, store.ErrNotFound) {
			p = &store.Profile{ID: pid}
		} else if err != nil {
			if cw == nil {
				writeErr(w, err)
			}
			return
		}
		if cw != nil {
			cw.Write([]string{strconv.FormatUint(uint64(pid), 10), first(p, "userId"), first(p, "anonymousId"), first(p, "email"), first(p, "phone")})
			continue
		}
		ids := p.Identifiers
		if ids == nil {
			ids = []store.Identifier{}
		}
		members = append(members, Member{ID: pid, Identifiers: ids})
	}
	if cw != nil {
		cw.Flush()
		return
	}
	next := ""
	if it.HasNext() {
		next = strconv.FormatUint(uint64(last), 10)
	}
	httpapi.WriteJSON(w, 200, map[string]any{"segment": seg.ID, "count": total, "members": members, "next_cursor": next})
}

func first(p *store.Profile, typ string) string {
	for _, id := range p.Identifiers {
		if id.Type == typ {
			return id.Value
		}
	}
	return ""
}
