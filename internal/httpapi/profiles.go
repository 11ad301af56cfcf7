package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/segd/segd/internal/identity"
	"github.com/segd/segd/internal/ingest"
	"github.com/segd/segd/internal/store"
)

func jsonUnmarshalLoose(b []byte, v any) error { return json.Unmarshal(b, v) }

// ProfileView is the profile API's answer.
type ProfileView struct {
	ID          uint32             `json:"id"`
	Identifiers []store.Identifier `json:"identifiers"`
	Traits      map[string]any     `json:"traits"`
	FirstSeen   time.Time          `json:"firstSeen,omitzero"`
	LastSeen    time.Time          `json:"lastSeen,omitzero"`
	EventCount  int64              `json:"eventCount"`
	Created     time.Time          `json:"created"`
	Merges      []store.Merge      `json:"merges"`
}

func (s *Server) profileView(ws uint32, p *store.Profile) (ProfileView, error) {
	merges, err := s.opts.Store.Merges(ws, p.Merges)
	if err != nil {
		return ProfileView{}, err
	}
	if merges == nil {
		merges = []store.Merge{}
	}
	return ProfileView{ID: p.ID, Identifiers: p.Identifiers, Traits: p.TraitMap(), FirstSeen: p.FirstSeen,
		LastSeen: p.LastSeen, EventCount: p.Events, Created: p.Created, Merges: merges}, nil
}

// ProfileID parses the {id} path value, writing 400/404 on failure.
func (s *Server) profileFromPath(w http.ResponseWriter, r *http.Request, ws uint32) (*store.Profile, bool) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 32)
	if err != nil {
		writeError(w, 400, "invalid_id", "profile id must be a positive integer", "id")
		return nil, false
	}
	p, err := s.opts.Store.Profile(ws, uint32(id))
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, 404, "not_found", "no profile "+r.PathValue("id")+" in this workspace", "")
		return nil, false
	}
	if err != nil {
		writeLogError(w, err)
		return nil, false
	}
	return p, true
}

func (s *Server) handleProfile(w http.ResponseWriter, r *http.Request, ws uint32) {
	p, ok := s.profileFromPath(w, r, ws)
	if !ok {
		return
	}
	v, err := s.profileView(ws, p)
	if err != nil {
		writeLogError(w, err)
		return
	}
	writeJSON(w, 200, v)
}

func (s *Server) handleProfileLookup(w http.ResponseWriter, r *http.Request, ws uint32) {
	q := r.URL.Query()
	if len(q) != 1 {
		writeError(w, 400, "invalid_query", "give exactly one identifier: ?userId=, ?email=, ?phone=, ?anonymousId= or an external id type", "")
		return
	}
	var typ, value string
	for k, v := range q {
		typ, value = k, v[0]
	}
	switch typ {
	case identity.Email:
		value = identity.NormalizeEmail(value)
	case identity.Phone:
		value = identity.NormalizePhone(value)
	}
	pid, err := s.opts.Store.Lookup(ws, typ, value)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, 404, "not_found", "no profile with "+typ+" "+strconv.Quote(value), typ)
		return
	}
	if err != nil {
		writeLogError(w, err)
		return
	}
	p, err := s.opts.Store.Profile(ws, pid)
	if err != nil {
		writeLogError(w, err)
		return
	}
	v, err := s.profileView(ws, p)
	if err != nil {
		writeLogError(w, err)
		return
	}
	writeJSON(w, 200, v)
}

func (s *Server) handleProfileEvents(w http.ResponseWriter, r *http.Request, ws uint32) {
	p, ok := s.profileFromPath(w, r, ws)
	if !ok {
		return
	}
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			writeError(w, 400, "invalid_limit", "limit must be an integer from 1 to 10000", "limit")
			return
		}
		limit = n
	}
	var before time.Time
	if v := r.URL.Query().Get("before"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			writeError(w, 400, "invalid_time", "before must be an RFC 3339 time", "before")
			return
		}
		before = t
	}
	evs, err := s.opts.Store.Events(ws, p.ID, before, limit)
	if err != nil {
		writeLogError(w, err)
		return
	}
	if evs == nil {
		evs = []store.StoredEvent{}
	}
	writeJSON(w, 200, map[string]any{"profile": p.ID, "events": evs})
}

func (s *Server) handleProfileRecords(w http.ResponseWriter, r *http.Request, ws uint32) {
	p, ok := s.profileFromPath(w, r, ws)
	if !ok {
		return
	}
	recs, err := s.opts.Store.Records(ws, p.ID)
	if err != nil {
		writeLogError(w, err)
		return
	}
	writeJSON(w, 200, map[string]any{"profile": p.ID, "records": recs})
}

func (s *Server) handleProfileErase(w http.ResponseWriter, r *http.Request, ws uint32) {
	p, ok := s.profileFromPath(w, r, ws)
	if !ok {
		return
	}
	suppress := r.URL.Query().Get("suppress") == "true"
	if err := s.opts.Log.Erase(r.Context(), ws, p.ID, suppress); err != nil {
		writeLogError(w, err)
		return
	}
	writeJSON(w, 200, map[string]any{"erased": p.ID, "suppressed": suppress})
}

func (s *Server) handleMerges(w http.ResponseWriter, r *http.Request, ws uint32) {
	ms, err := s.opts.Store.AllMerges(ws)
	if err != nil {
		writeLogError(w, err)
		return
	}
	writeJSON(w, 200, map[string]any{"merges": ms})
}

// recordWire is one record in POST /api/v1/records/{type}.
type recordWire struct {
	ID         string            `json:"id"`
	Profile    map[string]string `json:"profile"`
	Attributes map[string]any    `json:"attributes"`
	Timestamp  *time.Time        `json:"timestamp"`
}

func (s *Server) handleRecordsUpsert(w http.ResponseWriter, r *http.Request, ws uint32) {
	typ := r.PathValue("type")
	var body struct {
		Records []recordWire `json:"records"`
	}
	if !DecodeJSON(w, r, &body) {
		return
	}
	if len(body.Records) == 0 {
		writeError(w, 400, "missing_field", "records is empty", "records")
		return
	}
	in := make([]ingest.RecordInput, len(body.Records))
	for i, rw := range body.Records {
		in[i] = ingest.RecordInput{Type: typ, ID: rw.ID, Identity: rw.Profile, Attributes: rw.Attributes}
		if rw.Timestamp != nil {
			in[i].Timestamp = rw.Timestamp.UTC()
		}
		for k := range rw.Profile {
			if k == identity.Email {
				in[i].Identity[k] = identity.NormalizeEmail(rw.Profile[k])
			}
		}
		if err := ingest.ValidateRecord(&in[i]); err != nil {
			writeError(w, 400, "invalid_record", err.Error(), "records["+strconv.Itoa(i)+"]")
			return
		}
	}
	pids, err := s.opts.Log.UpsertRecords(r.Context(), ws, in)
	if err != nil {
		writeLogError(w, err)
		return
	}
	writeJSON(w, 200, map[string]any{"success": true, "upserted": len(in), "profiles": pids})
}

func (s *Server) handleRecordDelete(w http.ResponseWriter, r *http.Request, ws uint32) {
	if err := s.opts.Log.DeleteRecord(r.Context(), ws, r.PathValue("type"), r.PathValue("id")); err != nil {
		writeLogError(w, err)
		return
	}
	writeJSON(w, 200, map[string]any{"deleted": true})
}
