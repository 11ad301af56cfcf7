// Command pages measures the server response time of every page of segd's web UI (issue 6:
// each page under 300 ms on the 1m data set; charts and tables that load afterwards are
// fetched separately and reported too). It signs in with an admin token like a browser
// (CSRF token from the form, session cookie), discovers the segments and a few profiles
// through the API, requests each page -runs times and prints the median and the slowest
// time to the last byte of the body.
//
//	go run ./bench/pages -url http://127.0.0.1:8080 -token demo-admin-token
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/segd/segd/internal/segment"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "segd base URL")
	token := flag.String("token", "demo-admin-token", "admin token of the workspace")
	runs := flag.Int("runs", 5, "requests per page (the median is reported)")
	segs := flag.Int("segments", 6, "segment pages to measure (the first N by name)")
	demo := flag.Bool("demo-segments", false, "first create the demo's example segments that are missing (for a data dir without segments)")
	flag.Parse()
	if *demo {
		if err := createDemoSegments(*base, *token); err != nil {
			fmt.Fprintln(os.Stderr, "pages:", err)
			os.Exit(1)
		}
	}
	if err := run(*base, *token, *runs, *segs); err != nil {
		fmt.Fprintln(os.Stderr, "pages:", err)
		os.Exit(1)
	}
}

func run(base, token string, runs, nsegs int) error {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 2 * time.Minute}
	if err := signIn(c, base, token); err != nil {
		return err
	}
	var list struct {
		Segments []struct {
			ID, Name string
		} `json:"segments"`
	}
	if err := getJSON(c, base+"/api/v1/segments", token, &list); err != nil {
		return fmt.Errorf("list segments: %w", err)
	}
	pages := []string{"/", "/segments", "/segments/new", "/analytics", "/destinations", "/data", "/profiles?q=u10000001",
		"/ui/events-per-day", "/ui/schema"}
	names := make([]string, 0, len(list.Segments))
	for _, s := range list.Segments {
		names = append(names, s.Name)
	}
	slices.Sort(names)
	for _, n := range names[:min(nsegs, len(names))] {
		p := "/segments/" + url.PathEscape(n)
		pages = append(pages, p, p+"/edit", p+"/members", p+"/history")
	}
	for _, pid := range []int{1, 1000, 500000} {
		pages = append(pages, fmt.Sprintf("/profiles/%d", pid), fmt.Sprintf("/profiles/%d/events", pid))
	}
	fmt.Printf("%-58s %6s %10s %10s %9s\n", "page", "status", "median ms", "max ms", "bytes")
	worst := time.Duration(0)
	for _, p := range pages {
		var ds []time.Duration
		status, size := 0, 0
		for range runs {
			start := time.Now()
			resp, err := c.Get(base + p)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			ds = append(ds, time.Since(start))
			status, size = resp.StatusCode, len(b)
		}
		slices.Sort(ds)
		med := ds[len(ds)/2]
		worst = max(worst, med)
		fmt.Printf("%-58s %6d %10.1f %10.1f %9d\n", p, status, ms(med), ms(ds[len(ds)-1]), size)
	}
	fmt.Printf("slowest median: %.1f ms\n", ms(worst))
	return nil
}

// createDemoSegments posts segment.DemoSegments (as `segd demo` defines them), skipping names
// that exist; real-time segments are backfilled by segd before they answer.
func createDemoSegments(base, token string) error {
	c := &http.Client{Timeout: 30 * time.Minute}
	for _, s := range segment.DemoSegments() {
		body, _ := json.Marshal(map[string]any{"name": s.Name, "description": s.Description, "query": s.Query, "mode": s.Mode, "tags": s.Tags})
		req, _ := http.NewRequest("POST", base+"/api/v1/segments", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		start := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode/100 == 2:
			fmt.Printf("created %q in %s\n", s.Name, time.Since(start).Round(time.Millisecond))
		case resp.StatusCode == http.StatusConflict:
		default:
			return fmt.Errorf("create %q: %d %s", s.Name, resp.StatusCode, b)
		}
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

var csrfRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func signIn(c *http.Client, base, token string) error {
	resp, err := c.Get(base + "/signin")
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfRe.FindSubmatch(b)
	if m == nil {
		return fmt.Errorf("sign-in form has no CSRF token (status %d)", resp.StatusCode)
	}
	resp, err = c.PostForm(base+"/signin", url.Values{"csrf_token": {string(m[1])}, "token": {token}})
	if err != nil {
		return err
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.Contains(string(b), `name="token"`) {
		return fmt.Errorf("sign-in refused (status %d)", resp.StatusCode)
	}
	return nil
}

func getJSON(c *http.Client, u, token string, v any) error {
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
