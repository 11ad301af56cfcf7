package live

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/segd/segd/internal/httpapi"
	"github.com/segd/segd/internal/membership"
	"github.com/segd/segd/internal/segment"
	"github.com/segd/segd/internal/store"
)

// Routes are the membership endpoints and the personalisation endpoint.
func (l *Live) Routes() []httpapi.Route {
	return []httpapi.Route{
		{Pattern: "GET /api/v1/segments/{id}/changes", Scope: store.ScopeAdmin, Handler: l.handleChanges},
		{Pattern: "GET /api/v1/segments/{id}/history", Scope: store.ScopeAdmin, Handler: l.handleHistory},
		{Pattern: "GET /api/v1/segments/{id}/stream", Scope: store.ScopeAdmin, Handler: l.handleStream},
		{Pattern: "GET /api/v1/profiles/{id}/segments", Scope: store.ScopeAdmin, Handler: l.handleProfileSegments},
		{Pattern: "GET /api/v1/profiles/{id}/segment-history", Scope: store.ScopeAdmin, Handler: l.handleProfileHistory},
		{Pattern: "GET /v1/profiles/segments", Scope: store.ScopeRead, Handler: l.handlePersonalise},
	}
}

// segmentFromPath resolves {id} (an id or a name) among all segments of ws.
func (l *Live) segmentFromPath(w http.ResponseWriter, r *http.Request, ws uint32) (segment.Segment, bool) {
	key := r.PathValue("id")
	list, err := l.opts.Segments.List(ws)
	if err != nil {
		httpapi.WriteError(w, 500, "internal", err.Error(), "")
		return segment.Segment{}, false
	}
	for _, s := range list {
		if s.ID == key || s.Name == key {
			return s, true
		}
	}
	httpapi.WriteError(w, 404, "not_found", fmt.Sprintf("no segment %q in this workspace", key), "")
	return segment.Segment{}, false
}

func intParam(w http.ResponseWriter, r *http.Request, name string, def, maxV uint64) (uint64, bool) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, true
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || (maxV > 0 && v > maxV) {
		msg := name + " must be a non-negative integer"
		if maxV > 0 {
			msg += fmt.Sprintf(" up to %d", maxV)
		}
		httpapi.WriteError(w, 400, "bad_parameter", msg, name)
		return 0, false
	}
	return v, true
}

type changesPage struct {
	Changes []membership.Change `json:"changes"`
	// Next is the seq to pass as after for the following page.
	Next uint64 `json:"next"`
}

func page(cs []membership.Change, after uint64) changesPage {
	if cs == nil {
		cs = []membership.Change{}
	}
	next := after
	if len(cs) > 0 {
		next = cs[len(cs)-1].Seq
	}
	return changesPage{Changes: cs, Next: next}
}

func (l *Live) handleChanges(w http.ResponseWriter, r *http.Request, ws uint32) {
	seg, ok := l.segmentFromPath(w, r, ws)
	if !ok {
		return
	}
	after, ok := intParam(w, r, "after", 0, 0)
	if !ok {
		return
	}
	limit, ok := intParam(w, r, "limit", 100, 10000)
	if !ok {
		return
	}
	if limit == 0 {
		limit = 100
	}
	cs, err := l.mem.ReadSegment(r.Context(), ws, seg.ID, after, int(limit))
	if err != nil {
		httpapi.WriteError(w, 500, "internal", err.Error(), "")
		return
	}
	httpapi.WriteJSON(w, 200, page(cs, after))
}

func (l *Live) handleHistory(w http.ResponseWriter, r *http.Request, ws uint32) {
	seg, ok := l.segmentFromPath(w, r, ws)
	if !ok {
		return
	}
	pts, err := l.mem.History(ws, seg.ID)
	if err != nil {
		httpapi.WriteError(w, 500, "internal", err.Error(), "")
		return
	}
	if pts == nil {
		pts = []membership.Point{}
	}
	httpapi.WriteJSON(w, 200, map[string]any{"segment": seg.ID, "current": l.mem.Count(ws, seg.ID), "points": pts})
}

// handleStream sends the segment's changes as Server-Sent Events ("id: seq", "event: enter"
// or "exit", "data: change JSON"), starting after Last-Event-ID or ?after (default: now).
func (l *Live) handleStream(w http.ResponseWriter, r *http.Request, ws uint32) {
	seg, ok := l.segmentFromPath(w, r, ws)
	if !ok {
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		httpapi.WriteError(w, 500, "internal", "streaming is not supported by this connection", "")
		return
	}
	after := l.mem.LastSeq(ws)
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		if n, err := strconv.ParseUint(v, 10, 64); err == nil {
			after = n
		}
	} else if r.URL.Query().Has("after") {
		if after, ok = intParam(w, r, "after", 0, 0); !ok {
			return
		}
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(200)
	fmt.Fprint(w, ": stream of segment changes\n\n")
	fl.Flush()
	ctx := r.Context()
	keepalive := time.NewTicker(15 * time.Second)
	defer keepalive.Stop()
	for {
		notify := l.mem.Notify()
		cs, err := l.mem.ReadSegment(ctx, ws, seg.ID, after, 1000)
		if err != nil {
			return
		}
		for _, c := range cs {
			b, _ := json.Marshal(c)
			fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", c.Seq, c.Kind, b)
			fl.Flush()
			after = c.Seq
		}
		if len(cs) > 0 {
			// A flush may write changes of other segments only; advance past them.
			continue
		}
		if last := l.mem.LastSeq(ws); last > after {
			after = last
		}
		select {
		case <-ctx.Done():
			return
		case <-notify:
		case <-keepalive.C:
			fmt.Fprint(w, ": keepalive\n\n")
			fl.Flush()
		}
	}
}

func (l *Live) profileFromPath(w http.ResponseWriter, r *http.Request, ws uint32) (uint32, bool) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 32)
	if err != nil {
		httpapi.WriteError(w, 400, "bad_parameter", "profile id must be a number", "id")
		return 0, false
	}
	p, err := l.st.Profile(ws, uint32(id))
	if errors.Is(err, store.ErrNotFound) {
		httpapi.WriteError(w, 404, "not_found", "no profile "+r.PathValue("id")+" in this workspace", "")
		return 0, false
	}
	if err != nil {
		httpapi.WriteError(w, 500, "internal", err.Error(), "")
		return 0, false
	}
	return p.ID, true
}

type profileMembership struct {
	Segment string    `json:"segment"`
	Name    string    `json:"name"`
	Mode    string    `json:"mode"`
	Entered time.Time `json:"enteredAt"`
}

func (l *Live) handleProfileSegments(w http.ResponseWriter, r *http.Request, ws uint32) {
	pid, ok := l.profileFromPath(w, r, ws)
	if !ok {
		return
	}
	ms, err := l.mem.ProfileSegments(r.Context(), ws, pid)
	if err != nil {
		httpapi.WriteError(w, 500, "internal", err.Error(), "")
		return
	}
	s := l.segs(ws)
	out := []profileMembership{}
	for _, m := range ms {
		c := s.byID[m.Segment]
		if c == nil {
			continue
		}
		out = append(out, profileMembership{Segment: m.Segment, Name: c.seg.Name, Mode: c.seg.Mode, Entered: m.Entered})
	}
	httpapi.WriteJSON(w, 200, map[string]any{"profile": pid, "segments": out})
}

func (l *Live) handleProfileHistory(w http.ResponseWriter, r *http.Request, ws uint32) {
	pid, ok := l.profileFromPath(w, r, ws)
	if !ok {
		return
	}
	after, ok := intParam(w, r, "after", 0, 0)
	if !ok {
		return
	}
	limit, ok := intParam(w, r, "limit", 1000, 10000)
	if !ok {
		return
	}
	cs, err := l.mem.ReadProfile(r.Context(), ws, pid, after, int(limit))
	if err != nil {
		httpapi.WriteError(w, 500, "internal", err.Error(), "")
		return
	}
	httpapi.WriteJSON(w, 200, page(cs, after))
}

type personalSegment struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// handlePersonalise answers the current real-time segments of the person with the given
// userId, anonymousId or email, from the in-memory bitmaps.
func (l *Live) handlePersonalise(w http.ResponseWriter, r *http.Request, ws uint32) {
	q := r.URL.Query()
	var typ, val string
	for _, t := range []string{"userId", "anonymousId", "email"} {
		if v := q.Get(t); v != "" {
			typ, val = t, v
			break
		}
	}
	if typ == "" {
		httpapi.WriteError(w, 400, "missing_identifier", "give userId, anonymousId or email", "userId")
		return
	}
	out := make([]personalSegment, 0, 8)
	pid, err := l.st.Lookup(ws, typ, val)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		httpapi.WriteError(w, 500, "internal", err.Error(), "")
		return
	}
	if err == nil {
		for _, c := range l.segs(ws).realtime {
			if l.mem.Contains(ws, c.seg.ID, pid) {
				out = append(out, personalSegment{ID: c.seg.ID, Name: c.seg.Name})
			}
		}
	}
	httpapi.WriteJSON(w, 200, map[string]any{"segments": out})
}
