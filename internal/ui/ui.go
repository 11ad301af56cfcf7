package ui

import (
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configure the UI. Backend and Segments are required; the others may be nil, and
// their pages then say that the feature is not available yet.
type Options struct {
	Backend      Backend
	Segments     Segments
	SizeHistory  SizeHistory
	LiveFeed     LiveFeed
	Analytics    Analytics
	Destinations Destinations
	DataAdmin    DataAdmin
	// SessionTTL is how long a sign-in lasts without use; default 12 h.
	SessionTTL time.Duration
	// SecureCookies marks cookies Secure (set it behind TLS); requests over TLS always get it.
	SecureCookies bool
	Logger        *slog.Logger
	Now           func() time.Time
}

func (o *Options) setDefaults() {
	if o.SessionTTL == 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Validate reports a configuration error.
func (o *Options) Validate() error {
	if o.Backend == nil || o.Segments == nil {
		return errors.New("ui: Options.Backend and Options.Segments are required")
	}
	if o.SessionTTL < time.Minute {
		return errors.New("ui: SessionTTL must be at least a minute")
	}
	return nil
}

// UI is the web interface, an http.Handler for everything outside /v1 and /api.
type UI struct {
	opts  Options
	mux   *http.ServeMux
	pages map[string]*template.Template

	mu       sync.Mutex
	sessions map[string]*session
}

type session struct {
	ws      uint32
	csrf    string
	expires time.Time
}

const (
	sessionCookie = "segd_session"
	preCookie     = "segd_signin" // CSRF token of the sign-in form, before there is a session
)

// New builds the UI.
func New(opts Options) (*UI, error) {
	opts.setDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	u := &UI{opts: opts, mux: http.NewServeMux(), sessions: map[string]*session{}}
	if err := u.parseTemplates(); err != nil {
		return nil, err
	}
	u.routes()
	return u, nil
}

// ServeHTTP implements http.Handler.
func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; script-src 'self'")
	u.mux.ServeHTTP(w, r)
}

func (u *UI) routes() {
	static, _ := fs.Sub(staticFS, "static")
	fileServer := http.StripPrefix("/static/", http.FileServer(http.FS(static)))
	u.mux.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fileServer.ServeHTTP(w, r)
	}))
	u.mux.HandleFunc("GET /signin", u.handleSignInForm)
	u.mux.HandleFunc("POST /signin", u.handleSignIn)
	u.mux.HandleFunc("POST /signout", u.auth(u.handleSignOut))
	u.mux.HandleFunc("GET /{$}", u.auth(u.handleOverview))
	u.mux.HandleFunc("GET /ui/events-per-day", u.auth(u.handleEventsPerDay))
	u.mux.HandleFunc("GET /ui/schema", u.auth(u.handleSchemaJSON))
	u.mux.HandleFunc("POST /ui/check", u.auth(u.handleCheck))
	u.mux.HandleFunc("GET /segments", u.auth(u.handleSegments))
	u.mux.HandleFunc("POST /segments", u.auth(u.handleSaveSegment))
	u.mux.HandleFunc("GET /segments/new", u.auth(u.handleBuilder))
	u.mux.HandleFunc("GET /segments/{name}", u.auth(u.handleSegment))
	u.mux.HandleFunc("GET /segments/{name}/edit", u.auth(u.handleBuilder))
	u.mux.HandleFunc("GET /segments/{name}/members", u.auth(u.handleMembers))
	u.mux.HandleFunc("GET /segments/{name}/members.csv", u.auth(u.handleMembersCSV))
	u.mux.HandleFunc("GET /segments/{name}/history", u.auth(u.handleHistory))
	u.mux.HandleFunc("GET /segments/{name}/feed", u.auth(u.handleFeed))
	u.mux.HandleFunc("GET /profiles", u.auth(u.handleProfileSearch))
	u.mux.HandleFunc("GET /profiles/{id}", u.auth(u.handleProfile))
	u.mux.HandleFunc("GET /profiles/{id}/events", u.auth(u.handleProfileEvents))
	u.mux.HandleFunc("GET /analytics", u.auth(u.handleAnalytics))
	u.mux.HandleFunc("GET /destinations", u.auth(u.handleDestinations))
	u.mux.HandleFunc("POST /destinations/{id}/replay", u.auth(u.handleReplay))
	u.mux.HandleFunc("GET /data", u.auth(u.handleData))
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("ui: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func (u *UI) secure(r *http.Request) bool { return u.opts.SecureCookies || r.TLS != nil }

// request is what every authenticated handler gets.
type request struct {
	ws   uint32
	csrf string
}

// auth resolves the session and checks the CSRF token of every unsafe request.
func (u *UI) auth(h func(w http.ResponseWriter, r *http.Request, rq request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := u.session(r)
		if s == nil {
			if r.Header.Get("HX-Request") != "" || r.Method != http.MethodGet {
				w.Header().Set("HX-Redirect", "/signin")
				http.Error(w, "sign in first", http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, "/signin?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			tok := r.Header.Get("X-CSRF-Token")
			if tok == "" {
				tok = r.PostFormValue("csrf_token")
			}
			if subtle.ConstantTimeCompare([]byte(tok), []byte(s.csrf)) != 1 {
				http.Error(w, "missing or wrong CSRF token: reload the page", http.StatusForbidden)
				return
			}
		}
		h(w, r, request{ws: s.ws, csrf: s.csrf})
	}
}

func (u *UI) session(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	now := u.opts.Now()
	u.mu.Lock()
	defer u.mu.Unlock()
	s := u.sessions[c.Value]
	if s == nil {
		return nil
	}
	if now.After(s.expires) {
		delete(u.sessions, c.Value)
		return nil
	}
	s.expires = now.Add(u.opts.SessionTTL)
	return s
}

func (u *UI) handleSignInForm(w http.ResponseWriter, r *http.Request) {
	u.signInPage(w, r, "", http.StatusOK)
}

func (u *UI) signInPage(w http.ResponseWriter, r *http.Request, msg string, status int) {
	tok := randomToken()
	http.SetCookie(w, &http.Cookie{Name: preCookie, Value: tok, Path: "/signin", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: u.secure(r), MaxAge: 3600})
	w.WriteHeader(status)
	u.render(w, r, "signin", request{csrf: tok}, map[string]any{"Error": msg, "Next": safeNext(r.FormValue("next"))})
}

func (u *UI) handleSignIn(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(preCookie)
	if err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue("csrf_token"))) != 1 {
		u.signInPage(w, r, "The form expired. Please try again.", http.StatusForbidden)
		return
	}
	ws, ok := u.opts.Backend.Authenticate(r.PostFormValue("token"))
	if !ok {
		u.signInPage(w, r, "That token is not a workspace admin token.", http.StatusUnauthorized)
		return
	}
	id := randomToken()
	u.mu.Lock()
	now := u.opts.Now()
	for k, s := range u.sessions { // drop expired sessions on sign-in, so the map stays small
		if now.After(s.expires) {
			delete(u.sessions, k)
		}
	}
	u.sessions[id] = &session{ws: ws, csrf: randomToken(), expires: now.Add(u.opts.SessionTTL)}
	u.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: u.secure(r)})
	http.SetCookie(w, &http.Cookie{Name: preCookie, Path: "/signin", MaxAge: -1})
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

func (u *UI) handleSignOut(w http.ResponseWriter, r *http.Request, _ request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		u.mu.Lock()
		delete(u.sessions, c.Value)
		u.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// safeNext keeps a post-sign-in redirect on this site.
func safeNext(next string) string {
	if len(next) < 1 || next[0] != '/' || (len(next) > 1 && (next[1] == '/' || next[1] == '\\')) {
		return "/"
	}
	return next
}
