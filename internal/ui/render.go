package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// page names; each is templates/<name>.html rendered inside templates/layout.html.
var pageNames = []string{"signin", "overview", "segments", "builder", "segment", "profile", "profiles",
	"analytics", "destinations", "data", "error"}

var funcs = template.FuncMap{
	"num": formatNum,
	"signed": func(n int64) string {
		s := formatNum(n)
		if n > 0 {
			return "+" + s
		}
		return s
	},
	"when":  formatTime,
	"ago":   formatAgo,
	"path":  url.PathEscape,
	"query": url.QueryEscape,
	"json":  func(v any) (template.JS, error) { b, err := json.Marshal(v); return template.JS(b), err },
	"spark": sparkline,
	"join":  strings.Join,
	"list":  func(v ...any) []any { return v },
	"deref": func(p *int64) int64 { return *p },
	"add":   func(a, b int) int { return a + b },
	"lastID": func(ids []uint32) uint32 {
		if len(ids) == 0 {
			return 0
		}
		return ids[len(ids)-1]
	},
	"rfc3339": func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) },
}

func (u *UI) parseTemplates() error {
	u.pages = map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", "templates/"+name+".html")
		if err != nil {
			return fmt.Errorf("ui: parse template %s: %w", name, err)
		}
		u.pages[name] = t
	}
	return nil
}

// view is what the layout sees.
type view struct {
	Page  string
	Title string
	CSRF  string
	Auth  bool
	Data  any
}

var pageTitles = map[string]string{"signin": "Sign in", "overview": "Overview", "segments": "Segments",
	"builder": "Segment builder", "segment": "Segment", "profile": "Profile", "profiles": "Profiles",
	"analytics": "Analytics", "destinations": "Destinations", "data": "Data", "error": "Error"}

// render writes a full page, or only its "content" block for an htmx request that asks for it
// with hx-select-less partial targets (HX-Target of a partial template).
func (u *UI) render(w http.ResponseWriter, r *http.Request, page string, rq request, data any) {
	if m, ok := data.(map[string]any); ok {
		m["CSRF"] = rq.csrf
	}
	u.renderTemplate(w, page, "layout.html", view{Page: page, Title: pageTitles[page], CSRF: rq.csrf, Auth: rq.ws != 0 || page != "signin", Data: data})
}

// renderPartial writes one named template of a page (htmx fragments).
func (u *UI) renderPartial(w http.ResponseWriter, page, name string, data any) {
	u.renderTemplate(w, page, name, data)
}

func (u *UI) renderTemplate(w http.ResponseWriter, page, name string, data any) {
	var buf bytes.Buffer
	if err := u.pages[page].ExecuteTemplate(&buf, name, data); err != nil {
		u.opts.Logger.Error("ui: render", "page", page, "template", name, "err", err)
		http.Error(w, "could not render the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}

func (u *UI) fail(w http.ResponseWriter, r *http.Request, rq request, status int, msg string) {
	w.WriteHeader(status)
	u.render(w, r, "error", rq, map[string]any{"Status": status, "Message": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

func formatNum(v any) string {
	var n int64
	switch x := v.(type) {
	case int:
		n = int64(x)
	case int64:
		n = x
	case uint64:
		n = int64(x)
	case uint32:
		n = int64(x)
	case float64:
		return strconv.FormatFloat(x, 'f', 2, 64)
	default:
		return fmt.Sprint(v)
	}
	neg := n < 0
	if neg {
		n = -n
	}
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func formatAgo(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

// sparkline draws a small inline SVG of a series (no script needed).
func sparkline(vals []uint64) template.HTML {
	if len(vals) < 2 {
		return ""
	}
	lo, hi := vals[0], vals[0]
	for _, v := range vals {
		lo, hi = min(lo, v), max(hi, v)
	}
	const w, h = 80.0, 20.0
	var pts strings.Builder
	for i, v := range vals {
		y := h / 2
		if hi > lo {
			y = h - 2 - (h-4)*float64(v-lo)/float64(hi-lo)
		}
		fmt.Fprintf(&pts, "%.1f,%.1f ", w*float64(i)/float64(len(vals)-1), y)
	}
	return template.HTML(`<svg class="spark" width="80" height="20" viewBox="0 0 80 20" aria-hidden="true"><polyline fill="none" stroke="currentColor" stroke-width="1.5" points="` + strings.TrimSpace(pts.String()) + `"/></svg>`)
}

func urlPathEscape(s string) string { return url.PathEscape(s) }
