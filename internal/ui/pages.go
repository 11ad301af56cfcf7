package ui

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

func (u *UI) handleOverview(w http.ResponseWriter, r *http.Request, rq request) {
	o, err := u.opts.Backend.Overview(r.Context(), rq.ws)
	if err != nil {
		u.fail(w, r, rq, 500, err.Error())
		return
	}
	u.render(w, r, "overview", rq, map[string]any{"O": o, "HasHistory": u.opts.SizeHistory != nil})
}

func (u *UI) handleEventsPerDay(w http.ResponseWriter, r *http.Request, rq request) {
	days, _ := strconv.Atoi(r.URL.Query().Get("days"))
	if days < 1 || days > 366 {
		days = 30
	}
	s, err := u.opts.Backend.EventsPerDay(r.Context(), rq.ws, days)
	if err != nil {
		writeJSON(w, 500, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, 200, s)
}

func (u *UI) handleSchemaJSON(w http.ResponseWriter, r *http.Request, rq request) {
	s, err := u.opts.Backend.Schema(rq.ws)
	if err != nil {
		writeJSON(w, 500, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, 200, s)
}

// handleCheck is the builder's and the editor's round trip: text or JSON tree in; canonical
// text, tree, diagnostics and the estimate out.
func (u *UI) handleCheck(w http.ResponseWriter, r *http.Request, rq request) {
	var in CheckInput
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		writeJSON(w, 400, map[string]string{"error": "bad request body: " + err.Error()})
		return
	}
	res, err := u.opts.Backend.Check(r.Context(), rq.ws, in)
	if err != nil {
		writeJSON(w, 500, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, 200, res)
}

func (u *UI) handleSegments(w http.ResponseWriter, r *http.Request, rq request) {
	rows, err := u.opts.Segments.List(r.Context(), rq.ws)
	if err != nil {
		u.fail(w, r, rq, 500, err.Error())
		return
	}
	q := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("q")))
	tag := r.URL.Query().Get("tag")
	tags := map[string]bool{}
	var shown []SegmentRow
	for _, s := range rows {
		for _, t := range s.Tags {
			tags[t] = true
		}
		if q != "" && !strings.Contains(strings.ToLower(s.Name+" "+s.Description), q) {
			continue
		}
		if tag != "" && !contains(s.Tags, tag) {
			continue
		}
		shown = append(shown, s)
	}
	var tagList []string
	for t := range tags {
		tagList = append(tagList, t)
	}
	sort.Strings(tagList)
	data := map[string]any{"Rows": shown, "Total": len(rows), "Q": r.URL.Query().Get("q"), "Tag": tag, "Tags": tagList, "HasHistory": u.opts.SizeHistory != nil}
	if r.Header.Get("HX-Request") != "" && r.Header.Get("HX-Target") == "segment-table" {
		u.renderPartial(w, "segments", "segment-table", data)
		return
	}
	u.render(w, r, "segments", rq, data)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (u *UI) handleBuilder(w http.ResponseWriter, r *http.Request, rq request) {
	data := map[string]any{"Name": "", "Query": r.URL.Query().Get("q"), "Mode": ModeRealtime, "Description": "", "Tags": ""}
	if name := r.PathValue("name"); name != "" {
		s, err := u.opts.Segments.Get(r.Context(), rq.ws, name)
		if err != nil {
			u.notFound(w, r, rq, err, "segment")
			return
		}
		data["Name"], data["Query"], data["Mode"], data["Description"], data["Tags"] = s.Name, s.Query, s.Mode, s.Description, strings.Join(s.Tags, ", ")
		data["Editing"] = true
	}
	u.render(w, r, "builder", rq, data)
}

func (u *UI) notFound(w http.ResponseWriter, r *http.Request, rq request, err error, what string) {
	if errors.Is(err, ErrNotFound) {
		u.fail(w, r, rq, 404, "No such "+what+".")
		return
	}
	u.fail(w, r, rq, 500, err.Error())
}

func (u *UI) handleSaveSegment(w http.ResponseWriter, r *http.Request, rq request) {
	in := SegmentInput{
		Name:        strings.TrimSpace(r.PostFormValue("name")),
		Description: strings.TrimSpace(r.PostFormValue("description")),
		Query:       r.PostFormValue("query"),
		Mode:        r.PostFormValue("mode"),
	}
	for _, t := range strings.Split(r.PostFormValue("tags"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			in.Tags = append(in.Tags, t)
		}
	}
	if err := u.opts.Segments.Save(r.Context(), rq.ws, in); err != nil {
		w.WriteHeader(http.StatusUnprocessableEntity)
		u.render(w, r, "builder", rq, map[string]any{"Name": in.Name, "Query": in.Query, "Mode": in.Mode,
			"Description": in.Description, "Tags": strings.Join(in.Tags, ", "), "SaveError": err.Error()})
		return
	}
	http.Redirect(w, r, "/segments/"+pathEscape(in.Name)+"?saved=1", http.StatusSeeOther)
}

func (u *UI) handleSegment(w http.ResponseWriter, r *http.Request, rq request) {
	name := r.PathValue("name")
	s, err := u.opts.Segments.Get(r.Context(), rq.ws, name)
	if err != nil {
		u.notFound(w, r, rq, err, "segment")
		return
	}
	ids, total, err := u.opts.Segments.Members(r.Context(), rq.ws, name, 0, memberPage)
	if err != nil {
		u.fail(w, r, rq, 500, err.Error())
		return
	}
	u.render(w, r, "segment", rq, map[string]any{"S": s, "Members": membersData(name, ids, total, 0),
		"HasHistory": u.opts.SizeHistory != nil, "HasFeed": u.opts.LiveFeed != nil, "Saved": r.URL.Query().Get("saved") != ""})
}

const memberPage = 25

func membersData(name string, ids []uint32, total uint64, after uint32) map[string]any {
	return map[string]any{"Name": name, "IDs": ids, "Total": total, "After": after, "More": len(ids) == memberPage}
}

func (u *UI) handleMembers(w http.ResponseWriter, r *http.Request, rq request) {
	name := r.PathValue("name")
	after, _ := strconv.ParseUint(r.URL.Query().Get("after"), 10, 32)
	ids, total, err := u.opts.Segments.Members(r.Context(), rq.ws, name, uint32(after), memberPage)
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	u.renderPartial(w, "segment", "members", membersData(name, ids, total, uint32(after)))
}

func (u *UI) handleMembersCSV(w http.ResponseWriter, r *http.Request, rq request) {
	name := r.PathValue("name")
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", strings.ReplaceAll(name, `"`, "")+".csv"))
	cw := csv.NewWriter(w)
	cw.Write([]string{"profile_id"})
	var after uint32
	for {
		ids, _, err := u.opts.Segments.Members(r.Context(), rq.ws, name, after, 10000)
		if err != nil || len(ids) == 0 {
			break
		}
		for _, id := range ids {
			cw.Write([]string{strconv.FormatUint(uint64(id), 10)})
		}
		after = ids[len(ids)-1]
		if len(ids) < 10000 {
			break
		}
	}
	cw.Flush()
}

func (u *UI) handleHistory(w http.ResponseWriter, r *http.Request, rq request) {
	if u.opts.SizeHistory == nil {
		writeJSON(w, 404, map[string]string{"error": "size history is not available yet"})
		return
	}
	pts, err := u.opts.SizeHistory.SizeHistory(r.Context(), rq.ws, r.PathValue("name"), u.opts.Now().AddDate(0, 0, -90))
	if err != nil {
		writeJSON(w, 500, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, 200, pts)
}

// handleFeed streams enter/exit changes as Server-Sent Events.
func (u *UI) handleFeed(w http.ResponseWriter, r *http.Request, rq request) {
	if u.opts.LiveFeed == nil {
		http.Error(w, "the live feed is not available yet", http.StatusNotFound)
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", 500)
		return
	}
	ch, err := u.opts.LiveFeed.Subscribe(r.Context(), rq.ws, r.PathValue("name"))
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	fl.Flush()
	for e := range ch {
		b, _ := json.Marshal(e)
		fmt.Fprintf(w, "data: %s\n\n", b)
		fl.Flush()
	}
}

func (u *UI) handleProfileSearch(w http.ResponseWriter, r *http.Request, rq request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q == "" {
		u.render(w, r, "profiles", rq, map[string]any{"Q": ""})
		return
	}
	id, err := u.opts.Backend.FindProfile(rq.ws, q)
	if err != nil {
		w.WriteHeader(http.StatusNotFound)
		u.render(w, r, "profiles", rq, map[string]any{"Q": q, "NotFound": true})
		return
	}
	http.Redirect(w, r, "/profiles/"+strconv.FormatUint(uint64(id), 10), http.StatusSeeOther)
}

const timelinePage = 50

func (u *UI) handleProfile(w http.ResponseWriter, r *http.Request, rq request) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 32)
	if err != nil {
		u.fail(w, r, rq, 400, "A profile id is a number.")
		return
	}
	p, err := u.opts.Backend.Profile(rq.ws, uint32(id))
	if err != nil {
		u.notFound(w, r, rq, err, "profile")
		return
	}
	evs, err := u.opts.Backend.ProfileEvents(rq.ws, p.ID, time.Time{}, timelinePage)
	if err != nil {
		u.fail(w, r, rq, 500, err.Error())
		return
	}
	u.render(w, r, "profile", rq, map[string]any{"P": p, "Timeline": timelineData(p.ID, evs)})
}

func timelineData(id uint32, evs []EventView) map[string]any {
	d := map[string]any{"ID": id, "Events": evs}
	if len(evs) == timelinePage {
		d["Before"] = evs[len(evs)-1].Time
	}
	return d
}

func (u *UI) handleProfileEvents(w http.ResponseWriter, r *http.Request, rq request) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 32)
	if err != nil {
		http.Error(w, "bad id", 400)
		return
	}
	before, _ := time.Parse(time.RFC3339Nano, r.URL.Query().Get("before"))
	evs, err := u.opts.Backend.ProfileEvents(rq.ws, uint32(id), before, timelinePage)
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	u.renderPartial(w, "profile", "timeline-rows", timelineData(uint32(id), evs))
}

func (u *UI) handleAnalytics(w http.ResponseWriter, r *http.Request, rq request) {
	data := map[string]any{"Available": u.opts.Analytics != nil}
	if u.opts.Analytics != nil {
		g, err := u.opts.Analytics.RFM(r.Context(), rq.ws)
		if errors.Is(err, ErrNotComputed) {
			data["Pending"] = err.Error()
			u.render(w, r, "analytics", rq, data)
			return
		}
		if err != nil {
			u.fail(w, r, rq, 500, err.Error())
			return
		}
		ds, err := u.opts.Analytics.Distributions(r.Context(), rq.ws)
		if err != nil {
			u.fail(w, r, rq, 500, err.Error())
			return
		}
		data["RFM"], data["Distributions"] = g, ds
	}
	u.render(w, r, "analytics", rq, data)
}

func (u *UI) handleDestinations(w http.ResponseWriter, r *http.Request, rq request) {
	data := map[string]any{"Available": u.opts.Destinations != nil}
	if u.opts.Destinations != nil {
		ds, err := u.opts.Destinations.Destinations(r.Context(), rq.ws)
		if err != nil {
			u.fail(w, r, rq, 500, err.Error())
			return
		}
		data["Rows"] = ds
	}
	u.render(w, r, "destinations", rq, data)
}

func (u *UI) handleReplay(w http.ResponseWriter, r *http.Request, rq request) {
	if u.opts.Destinations == nil {
		http.Error(w, "destinations are not available yet", 404)
		return
	}
	if err := u.opts.Destinations.Replay(r.Context(), rq.ws, r.PathValue("id")); err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	http.Redirect(w, r, "/destinations", http.StatusSeeOther)
}

func (u *UI) handleData(w http.ResponseWriter, r *http.Request, rq request) {
	s, err := u.opts.Backend.Schema(rq.ws)
	if err != nil {
		u.fail(w, r, rq, 500, err.Error())
		return
	}
	data := map[string]any{"S": s, "HasAdmin": u.opts.DataAdmin != nil}
	if u.opts.DataAdmin != nil {
		if data["Keys"], err = u.opts.DataAdmin.Keys(rq.ws); err == nil {
			data["Imports"], err = u.opts.DataAdmin.Imports(rq.ws)
		}
		if err != nil {
			u.fail(w, r, rq, 500, err.Error())
			return
		}
	}
	u.render(w, r, "data", rq, data)
}

func pathEscape(s string) string { return strings.ReplaceAll(urlPathEscape(s), "+", "%2B") }
