package ui

import (
	"context"
	"fmt"
	"net/http/httptest"
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

const chromiumPath = "/usr/bin/chromium"

// TestBrowser drives the UI in headless Chromium on demo data: sign in, build a segment with
// the visual builder, see a checker error underlined, save, find it in the list, open a profile,
// and fail on any JavaScript console error or exception. It writes a screenshot of each page.
func TestBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("SEGD_REQUIRE_SERVICES") == "1" {
			t.Fatalf("chromium is required (SEGD_REQUIRE_SERVICES=1) but %s is missing: apt-get install chromium", chromiumPath)
		}
		t.Skipf("skipping browser test: %s not found (apt-get install chromium)", chromiumPath)
	}
	f := demo(t)
	srv := httptest.NewServer(f.ui)
	defer srv.Close()
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
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeAssert {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				jsErrors = append(jsErrors, "console.error: "+strings.Join(parts, " "))
			}
		case *runtime.EventExceptionThrown:
			d := e.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			jsErrors = append(jsErrors, fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber, msg))
		case *log.EventEntryAdded:
			if e.Entry.Level == log.EntryLevelError {
				jsErrors = append(jsErrors, "log: "+e.Entry.Text+" "+e.Entry.URL)
			}
		}
	}
	browser, cancel := chromedp.NewContext(allocCtx, chromedp.WithListener(listener))
	defer cancel()
	// the first run starts the browser and must not carry the timeout (it would stop the browser)
	if err := chromedp.Do(browser, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, log.Enable, cdp.Empty{})
		return err
	})); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancelT := context.WithTimeout(browser, 60*time.Second)
	defer cancelT()
	page := ""
	checkErrors := func() {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		if len(jsErrors) > 0 {
			t.Fatalf("JavaScript errors on %s:\n%s", page, strings.Join(jsErrors, "\n"))
		}
	}
	type step = chromedp.Action[chromedp.Void]
	run := func(what string, steps ...step) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			html, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const e = document.getElementById('segql-editor');
				return e ? JSON.stringify({text: e.value, mirror: document.getElementById('segql-mirror').innerHTML,
				diagnostics: document.getElementById('diagnostics').innerHTML, estimate: document.querySelector('.estimate').className,
				builder: document.getElementById('builder').innerHTML.slice(0, 1500)}) : document.querySelector('main').outerHTML.slice(0, 3000) })()`))
			if buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
				os.WriteFile(filepath.Join(shots, "failure.png"), buf, 0o644)
			}
			mu.Lock()
			errs := strings.Join(jsErrors, "\n")
			mu.Unlock()
			t.Fatalf("%s: %v\nJS errors: %s\npage: %.3000s", what, err, errs, html)
		}
		checkErrors()
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	shot := func(name string) step {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			buf, err := chromedp.FullScreenshot(100)(ctx, tg)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shots, name+".png"), buf, 0o644)
		})
	}
	// setField changes a builder control the way a user's selection does (value + change event).
	setField := func(sel, value string) step {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return false; e.focus(); e.value = %q;
				e.dispatchEvent(new Event('input', {bubbles: true})); e.dispatchEvent(new Event('change', {bubbles: true})); return true; })()`, sel, value)
			ok, err := chromedp.Evaluate[bool](js)(ctx, tg)
			if err == nil && !ok {
				err = fmt.Errorf("no element %s", sel)
			}
			return err
		})
	}
	waitJS := func(expr string) step {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(10*time.Second))(ctx, tg)
			if err != nil {
				return fmt.Errorf("waiting for %s: %w", expr, err)
			}
			return nil
		})
	}
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	// sign in
	page = "sign-in"
	run("sign in",
		chromedp.Navigate(srv.URL+"/segments"),
		chromedp.WaitVisible(css(`#token`)),
		shot("signin"),
		chromedp.SendKeys(css(`#token`), f.admin),
		chromedp.Submit(css(`#token`)),
		chromedp.WaitVisible(css(`body.page-segments`)),
	)
	page = "overview"
	run("overview", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(css(`.chart .uplot`)), shot("overview"))

	// build the segment with the visual builder
	page = "builder"
	want := `count("Product Added" in last 1 day) >= 1 and count("Order Completed" in last 1 day) = 0`
	run("builder: first condition",
		chromedp.Navigate(srv.URL+"/segments/new"),
		chromedp.WaitVisible(css(`#builder [data-action=add]`)),
		setField(`#builder [data-field=add-kind]`, "agg"),
		chromedp.Click(css(`#builder [data-action=add]`)),
		chromedp.WaitVisible(css(`#builder .cond[data-path="0"]`)),
		setField(`.cond[data-path="0"] [data-field=target]`, "track:Product Added"),
		setField(`.cond[data-path="0"] [data-field=n]`, "1"),
		setField(`.cond[data-path="0"] [data-field=unit]`, "days"),
		setField(`.cond[data-path="0"] [data-field=op]`, ">="),
		setField(`.cond[data-path="0"] [data-field=value]`, "1"),
	)
	run("builder: second condition",
		chromedp.Click(css(`#builder [data-action=add]`)),
		chromedp.WaitVisible(css(`#builder .cond[data-path="1"]`)),
		setField(`.cond[data-path="1"] [data-field=target]`, "track:Order Completed"),
		setField(`.cond[data-path="1"] [data-field=n]`, "1"),
		setField(`.cond[data-path="1"] [data-field=op]`, "="),
		setField(`.cond[data-path="1"] [data-field=value]`, "0"),
		waitJS(fmt.Sprintf(`document.getElementById('segql-editor').value === %q && !document.querySelector('.estimate.stale') && document.querySelectorAll('#condition-counts li').length === 2`, want)),
	)
	q, err := f.ad.Query(context.Background(), f.ws, want, false)
	if err != nil || len(q.Errors) > 0 {
		t.Fatalf("query path: %v %+v", err, q.Errors)
	}
	run("estimate shot", shot("builder"))
	if shown, want := text(`#estimate-count`), formatNum(q.Count); shown != want {
		t.Fatalf("builder estimate %q, query path %s", shown, want)
	}
	t.Logf("segment %q: %d members", want, q.Count)

	// a misspelt trait is underlined at its offset with the suggestion
	page = "builder (editor)"
	run("misspelt trait",
		setField(`#segql-editor`, ""),
		chromedp.SendKeys(css(`#segql-editor`), `age >= 30 and contry = "VN"`),
		chromedp.WaitVisible(css(`#segql-mirror .segql-error[data-offset="14"][data-end="20"]`)),
		chromedp.WaitVisible(css(`#diagnostics [data-suggestion="country"]`)),
		shot("builder-error"),
	)
	if u, m := text(`#segql-mirror .segql-error`), text(`#diagnostics li`); u != "contry" || !strings.Contains(m, `did you mean "country"`) {
		t.Fatalf("underlined %q, message %q", u, m)
	}
	// the suggestion button fixes it; the builder follows the text
	run("apply suggestion",
		chromedp.Click(css(`#diagnostics [data-suggestion="country"]`)),
		waitJS(`document.getElementById('segql-editor').value === 'age >= 30 and country = "VN"' && !document.querySelector('#segql-mirror .segql-error') && document.querySelector('.cond[data-path="1"] [data-field=name]').value === 'country'`),
	)

	// save the built segment and find it in the list
	page = "save"
	run("save",
		setField(`#segql-editor`, want),
		waitJS(`document.querySelectorAll('#builder .cond').length === 2 && document.querySelector('.cond[data-path="1"] [data-field=target]')?.value === 'track:Order Completed' && !document.querySelector('.estimate.stale') && document.getElementById('estimate-count').textContent !== '—'`),
		chromedp.SendKeys(css(`#seg-name`), "Cart abandoners today"),
		chromedp.SendKeys(css(`#seg-tags`), "cart, demo"),
		chromedp.Click(css(`#save-segment`)),
		chromedp.WaitVisible(css(`body.page-segment`)),
		shot("segment"),
	)
	page = "segments"
	run("list", chromedp.Navigate(srv.URL+"/segments"), chromedp.WaitVisible(css(`#segment-table`)), shot("segments"))
	if list := text(`#segment-table`); !strings.Contains(list, "Cart abandoners today") || !strings.Contains(list, formatNum(q.Count)) {
		t.Fatalf("segment list lacks the saved segment or its size:\n%s", list)
	}

	// open a profile: one who ordered recently, so the timeline is long
	page = "profile"
	busy, err := f.ad.Query(context.Background(), f.ws, `count("Order Completed" in last 30 days) >= 1`, false)
	if err != nil || len(busy.Sample) == 0 {
		t.Fatalf("no profile to open: %v", err)
	}
	run("profile", chromedp.Navigate(fmt.Sprintf("%s/profiles/%d", srv.URL, busy.Sample[0])),
		chromedp.WaitVisible(css(`#timeline .timeline-event`)), shot("profile"))
	rows, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll(`#timeline .timeline-event`)))
	if err != nil {
		t.Fatal(err)
	}
	evs, _ := f.ad.ProfileEvents(f.ws, busy.Sample[0], time.Time{}, timelinePage)
	if len(rows) != len(evs) || len(rows) == 0 {
		t.Fatalf("timeline shows %d events, store has %d", len(rows), len(evs))
	}

	for _, p := range []string{"analytics", "destinations", "data", "profiles"} {
		page = p
		run(p, chromedp.Navigate(srv.URL+"/"+p), chromedp.WaitVisible(css(`main h1`)), shot(p))
	}
	// tablet width: the builder loads a saved definition into the visual builder
	page = "builder at tablet width"
	run("tablet", chromedp.EmulateViewport(820, 1100), chromedp.Navigate(srv.URL+"/segments/Cart%20abandoners%20today/edit"),
		waitJS(`document.querySelectorAll('#builder .cond').length === 2 && document.querySelector('.cond[data-path="1"] [data-field=target]')?.value === 'track:Order Completed' && !document.querySelector('.estimate.stale') && document.getElementById('estimate-count').textContent !== '—'`),
		shot("builder-tablet"))
}
