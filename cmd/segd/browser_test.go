package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

func urlPathEscape(s string) string { return url.PathEscape(s) }

const chromiumPath = "/usr/bin/chromium"

// TestProductPagesInBrowser serves the whole product (segment service, live membership,
// analytics, destinations) on generated demo data, signs in with a real headless Chromium and
// visits every main page, failing on any JavaScript error. It writes a screenshot of each page
// to $SEGD_SCREENSHOTS (default ./screenshots, not committed) for reviewers.
func TestProductPagesInBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("SEGD_REQUIRE_SERVICES") == "1" {
			t.Fatalf("chromium is required (SEGD_REQUIRE_SERVICES=1) but %s is missing: apt-get install chromium", chromiumPath)
		}
		t.Skipf("skipping browser test: %s not found (apt-get install chromium)", chromiumPath)
	}
	t.Setenv("SEGD_WRITE_KEY", testWriteKey)
	t.Setenv("SEGD_ADMIN_TOKEN", testAdmin)
	a, err := openApp(appOptions{DataDir: t.TempDir(), Addr: "127.0.0.1:0", DedupeWindow: time.Hour,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if err := loadDemo(context.Background(), a, 300); err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.serve(sctx) }()
	defer func() { stop(); <-done; a.close() }()
	for !a.ready.Load() { // ready is set after ln, so ln is safe to read once ready is seen
		time.Sleep(10 * time.Millisecond)
	}
	base := "http://" + a.ln.Addr().String()
	w, _ := a.store.WorkspaceByName("default")
	if _, err := a.runner.Recompute(context.Background(), w.ID); err != nil {
		t.Fatal(err)
	}
	segs, _ := a.segments.List(w.ID)

	shots := os.Getenv("SEGD_SCREENSHOTS")
	if shots == "" {
		shots = "screenshots"
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	var mu sync.Mutex
	var jsErrors []string
	listener := func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError {
				var parts []string
				for _, arg := range e.Args {
					parts = append(parts, string(arg.Value)+arg.Description)
				}
				jsErrors = append(jsErrors, "console.error: "+strings.Join(parts, " "))
			}
		case *runtime.EventExceptionThrown:
			jsErrors = append(jsErrors, fmt.Sprintf("exception at %s:%d: %s", e.ExceptionDetails.URL, e.ExceptionDetails.LineNumber, e.ExceptionDetails.Text))
		case *log.EventEntryAdded:
			if e.Entry.Level == log.EntryLevelError {
				jsErrors = append(jsErrors, "log: "+e.Entry.Text+" "+e.Entry.URL)
			}
		}
	}
	browser, cancel := chromedp.NewContext(allocCtx, chromedp.WithListener(listener))
	defer cancel()
	if err := chromedp.Do(browser, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, log.Enable, cdp.Empty{})
		return err
	})); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancelT := context.WithTimeout(browser, 90*time.Second)
	defer cancelT()
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			buf, err := chromedp.FullScreenshot(100)(ctx, tg)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shots, "product-"+name+".png"), buf, 0o644)
		})
	}
	visit := func(name, path, waitFor string) {
		t.Helper()
		pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		start := time.Now()
		if err := chromedp.Do(pctx, chromedp.Navigate(base+path), chromedp.WaitVisible(chromedp.CSS(waitFor)), shot(name)); err != nil {
			t.Fatalf("%s (%s): %v", name, path, err)
		}
		t.Logf("%-12s %-40s rendered in %s", name, path, time.Since(start).Round(time.Millisecond))
		mu.Lock()
		defer mu.Unlock()
		if len(jsErrors) > 0 {
			t.Fatalf("JavaScript errors on %s:\n%s", name, strings.Join(jsErrors, "\n"))
		}
	}
	// sign in
	sctx2, cancelS := context.WithTimeout(ctx, 20*time.Second)
	if err := chromedp.Do(sctx2, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`#token`)),
		chromedp.SendKeys(chromedp.CSS(`#token`), testAdmin), chromedp.Submit(chromedp.CSS(`#token`)),
		chromedp.WaitVisible(chromedp.CSS(`nav`)), chromedp.Sleep(300*time.Millisecond)); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	cancelS()
	visit("segments", "/segments", "main table")
	visit("overview", "/", "main h1")
	if len(segs) == 0 {
		t.Fatal("demo defined no segments")
	}
	visit("segment", "/segments/"+urlPathEscape(segs[0].Name), "main h1")
	visit("builder", "/segments/new", "#builder")
	visit("analytics", "/analytics", "table.rfm")
	visit("destinations", "/destinations", "main h1")
	visit("data", "/data", "main h1")
	visit("profile", "/profiles/1", "main h1")
}
