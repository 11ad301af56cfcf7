package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var sharedFixture *fixture

func demo(t *testing.T) *fixture {
	if sharedFixture == nil {
		sharedFixture = newFixture(t, 400)
	}
	return sharedFixture
}

// signedIn returns a client with a session and the page's CSRF token.
func signedIn(t *testing.T, srv *httptest.Server, token string) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(srv.URL + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf token on the sign-in page")
	}
	resp, err = c.PostForm(srv.URL+"/signin", url.Values{"csrf_token": {string(m[1])}, "token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "<h1>Overview</h1>") {
		t.Fatalf("sign in: status %d", resp.StatusCode)
	}
	m = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`).FindSubmatch(body)
	return c, string(m[1])
}

func TestSignInAndCSRF(t *testing.T) {
	f := demo(t)
	srv := httptest.NewServer(f.ui)
	defer srv.Close()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	resp, _ := noRedirect.Get(srv.URL + "/segments")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/signin") {
		t.Fatalf("anonymous GET: %d %s, want redirect to /signin", resp.StatusCode, resp.Header.Get("Location"))
	}
	// a wrong token is refused
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	page, _ := c.Get(srv.URL + "/signin")
	b, _ := io.ReadAll(page.Body)
	tok := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindSubmatch(b)[1]
	resp, _ = c.PostForm(srv.URL+"/signin", url.Values{"csrf_token": {string(tok)}, "token": {"wrong"}})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d", resp.StatusCode)
	}
	// sign-in without the form's token is refused even with the right admin token
	resp, _ = noRedirect.PostForm(srv.URL+"/signin", url.Values{"token": {f.admin}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("sign-in without csrf: %d", resp.StatusCode)
	}

	client, csrf := signedIn(t, srv, f.admin)
	u, _ := url.Parse(srv.URL)
	for _, ck := range client.Jar.Cookies(u) {
		if ck.Name == sessionCookie && len(ck.Value) < 40 {
			t.Fatalf("session id too short: %q", ck.Value)
		}
	}
	post := func(token string) int {
		req, _ := http.NewRequest("POST", srv.URL+"/ui/check", strings.NewReader(`{"text":"age >= 30","estimate":true}`))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("X-CSRF-Token", token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp.StatusCode
	}
	if got := post(""); got != http.StatusForbidden {
		t.Fatalf("POST without CSRF header: %d, want 403", got)
	}
	if got := post("forged"); got != http.StatusForbidden {
		t.Fatalf("POST with a wrong CSRF token: %d, want 403", got)
	}
	if got := post(csrf); got != 200 {
		t.Fatalf("POST with the CSRF token: %d", got)
	}
}

func TestCheckEndpoint(t *testing.T) {
	f := demo(t)
	ctx := context.Background()
	cases := []struct {
		in        CheckInput
		canonical string
		code      string // first diagnostic code, "" for none
		offset    int
		suggest   string
	}{
		{CheckInput{Text: "age>=30 and  country = \"VN\""}, `age >= 30 and country = "VN"`, "", 0, ""},
		{CheckInput{Tree: json.RawMessage(`{"and":[{"trait":"age","op":">=","value":30},{"did":{"event":"Order Completed"}}]}`)}, `age >= 30 and did "Order Completed"`, "", 0, ""},
		{CheckInput{Text: `age >= 30 and contry = "VN"`}, `age >= 30 and contry = "VN"`, "UnknownTrait", 14, "country"},
		{CheckInput{Text: `age >= `}, "", "Syntax", 7, ""},
	}
	for _, c := range cases {
		res, err := f.ad.Check(ctx, f.ws, c.in)
		if err != nil {
			t.Fatalf("%+v: %v", c.in, err)
		}
		if res.Canonical != c.canonical {
			t.Errorf("%+v: canonical %q, want %q", c.in, res.Canonical, c.canonical)
		}
		var first Diagnostic
		for _, e := range res.Errors {
			if !e.Warning {
				first = e
				break
			}
		}
		if first.Code != c.code || (c.code != "" && (first.Offset != c.offset || first.Suggestion != c.suggest)) {
			t.Errorf("%+v: first error %+v, want %s at %d suggesting %q", c.in, first, c.code, c.offset, c.suggest)
		}
	}
	// the estimate agrees with the query path, and per-condition counts are each alone
	text := `count("Product Viewed" in last 30 days) >= 2 and age >= 40`
	res, err := f.ad.Check(ctx, f.ws, CheckInput{Text: text, Estimate: true})
	if err != nil || res.Count == nil {
		t.Fatalf("estimate: %v %+v", err, res)
	}
	q, _ := f.ad.Query(ctx, f.ws, text, false)
	if *res.Count != q.Count || q.Count == 0 {
		t.Fatalf("estimate %d, query %d", *res.Count, q.Count)
	}
	for i, part := range []string{`count("Product Viewed" in last 30 days) >= 2`, `age >= 40`} {
		alone, _ := f.ad.Query(ctx, f.ws, part, false)
		if len(res.Conditions) != 2 || res.Conditions[i].Count != alone.Count || res.Conditions[i].Text != part {
			t.Fatalf("condition %d: %+v, alone %d", i, res.Conditions, alone.Count)
		}
	}
}

func TestSegmentsSaveAndMembers(t *testing.T) {
	f := demo(t)
	ctx := context.Background()
	if err := f.ad.Save(ctx, f.ws, SegmentInput{Name: "older", Query: "age>=50", Mode: ModeSnapshot, Tags: []string{"test"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.ad.Save(ctx, f.ws, SegmentInput{Name: "bad", Query: "agee >= 50", Mode: ModeRealtime}); err == nil {
		t.Fatal("saving a segment with an unknown trait succeeded")
	}
	if err := f.ad.Save(ctx, f.ws, SegmentInput{Name: "nested", Query: `in segment "older" and country = "VN"`, Mode: ModeRealtime}); err != nil {
		t.Fatal(err)
	}
	d, err := f.ad.Get(ctx, f.ws, "older")
	if err != nil || d.Query != "age >= 50" || len(d.Versions) != 1 {
		t.Fatalf("get: %+v %v", d, err)
	}
	q, _ := f.ad.Query(ctx, f.ws, "age >= 50", false)
	var all []uint32
	var after uint32
	for {
		ids, total, err := f.ad.Members(ctx, f.ws, "older", after, 7)
		if err != nil || total != q.Count {
			t.Fatalf("members: total %d, want %d, %v", total, q.Count, err)
		}
		if len(ids) == 0 {
			break
		}
		all = append(all, ids...)
		after = ids[len(ids)-1]
	}
	if uint64(len(all)) != q.Count {
		t.Fatalf("paged %d members, want %d", len(all), q.Count)
	}
	n, _ := f.ad.Query(ctx, f.ws, `age >= 50 and country = "VN"`, false)
	nd, _ := f.ad.Get(ctx, f.ws, "nested")
	if nd.Size != n.Count {
		t.Fatalf("nested size %d, want %d", nd.Size, n.Count)
	}
}

// pendingAnalytics has no result yet: a computation is running.
type pendingAnalytics struct{}

func (pendingAnalytics) RFM(context.Context, uint32) (RFMGrid, error) {
	return RFMGrid{}, fmt.Errorf("%w: computing since 07:10:42 (stages)", ErrNotComputed)
}
func (pendingAnalytics) Distributions(context.Context, uint32) ([]Distribution, error) {
	return nil, fmt.Errorf("%w: computing since 07:10:42 (stages)", ErrNotComputed)
}

// TestAnalyticsPageWhileComputing: before the first computation has finished the analytics
// page answers 200 and says what is happening, instead of an error page.
func TestAnalyticsPageWhileComputing(t *testing.T) {
	f := demo(t)
	u, err := New(Options{Backend: f.ad, Segments: f.ad, Analytics: pendingAnalytics{}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(u)
	defer srv.Close()
	client, _ := signedIn(t, srv, f.admin)
	resp, err := client.Get(srv.URL + "/analytics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "computing since 07:10:42 (stages)") || strings.Contains(string(body), "table class=\"rfm\"") {
		t.Fatalf("status %d, body:\n%.2000s", resp.StatusCode, body)
	}
}

// TestSchemaServedStaleWhileRefreshing: once computed, the discovered schema is always
// answered from the cache; a copy older than the TTL is recomputed in the background, and the
// next calls see the new trait.
func TestSchemaServedStaleWhileRefreshing(t *testing.T) {
	f := newFixture(t, 50)
	var mu sync.Mutex
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	ad, err := NewAdapter(AdapterOptions{Store: f.st, Indexes: f.ad.opts.Indexes, Now: clock, SchemaTTL: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	has := func(s Schema, name string) bool {
		for _, tr := range s.Traits {
			if tr.Name == name {
				return true
			}
		}
		return false
	}
	s, _ := ad.Schema(f.ws)
	if has(s, "loyalty_tier") {
		t.Fatal("trait present before it was set")
	}
	f.ix.SetTraits(1, map[string]any{"loyalty_tier": "gold"})
	if s, _ := ad.Schema(f.ws); has(s, "loyalty_tier") {
		t.Fatal("schema recomputed within the TTL")
	}
	mu.Lock()
	now = now.Add(11 * time.Second)
	mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s, _ := ad.Schema(f.ws)
		if has(s, "loyalty_tier") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the stale schema was never refreshed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
