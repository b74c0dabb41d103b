package e2e

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The console browser tests' flags:
//
//	go test ./e2e -run TestConsole -update-screenshots          # rewrite docs/console/*.png
//	go test ./e2e -run TestConsoleRenderTiming -console.data DIR # time a seeded data directory
var (
	updateScreenshots = flag.Bool("update-screenshots", false, "write the console's screenshots to docs/console/ (also WSUS_CONSOLE_SCREENSHOTS=1)")
	consoleData       = flag.String("console.data", "", "TestConsoleRenderTiming: serve this data directory (seeded by scripts/bench-console.sh) instead of the demo catalog")
	consoleReps       = flag.Int("console.reps", 5, "TestConsoleRenderTiming: page loads timed per page")
)

// browserTimeout bounds one browser step (a navigation, a click and the
// page it loads, a query).
const browserTimeout = 30 * time.Second

// chromiumPath returns the Chromium to drive: $WSUS_CHROMIUM, else
// Debian's chromium (scripts/ensure-chromium.sh installs it; make test runs
// that first). Without one the test skips, but under CI=true it fails, as
// the PostgreSQL and HAProxy tests do: CI must not pass by skipping.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("WSUS_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "/usr/bin/chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "chromium not found: run scripts/ensure-chromium.sh (make test does) or set WSUS_CHROMIUM"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// newBrowser starts a headless Chromium with a fresh profile and returns
// the context its tabs derive from (newTab); the browser stops when the
// test ends. The flags keep it from reaching for the network on its own
// (updates, sync, field trials): this test's network has only loopback.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	exe := chromiumPath(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first Run starts the browser; it has no timeout of its own, as a
	// timeout on it would stop the browser with it.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start %s: %v", exe, err)
		}
	case <-time.After(time.Minute):
		t.Fatalf("%s did not start within a minute", exe)
	}
	return ctx
}

// tab is one browser tab in a browser context of its own (its own cookie
// jar): one person at the console.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string // the server's base URL
}

// newTab opens a tab in a fresh browser context of browser, 1280 px
// wide; JavaScript dialogs (a form's data-confirm) are accepted.
func newTab(t *testing.T, browser context.Context, base string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	tb := &tab{t: t, ctx: ctx, base: base}
	// The first Run opens the tab, which lives as long as that Run's
	// context: so it runs on ctx itself, without the step timeout.
	opened := make(chan error, 1)
	go func() { opened <- chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)) }()
	select {
	case err := <-opened:
		if err != nil {
			t.Fatalf("open a browser tab: %v", err)
		}
	case <-time.After(browserTimeout):
		t.Fatal("a browser tab did not open within", browserTimeout)
	}
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			t.Logf("browser dialog %q: accepted", ev.Message)
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	return tb
}

// do runs browser steps with the step timeout; an error fails the test
// with the page's address.
func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser at %s: %v", b.location(), err)
	}
}

// location is the tab's current URL, "" if unknown.
func (b *tab) location() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	return loc
}

// path is the path and query of the tab's current URL.
func (b *tab) path() string {
	return strings.TrimPrefix(b.location(), b.base)
}

// open navigates to a console path and waits for the page to load; the
// answer must be 200.
func (b *tab) open(path string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserTimeout)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(b.base+path))
	if err != nil {
		b.t.Fatalf("open %s: %v", path, err)
	}
	if resp == nil || resp.Status != http.StatusOK {
		status := int64(0)
		if resp != nil {
			status = resp.Status
		}
		b.t.Fatalf("open %s: HTTP %d; the page says: %s", path, status, b.text("main"))
	}
}

// click clicks the element sel (a link or a submit button) and waits for
// the page it loads; it returns that page's HTTP status.
func (b *tab) click(sel string) int64 {
	b.t.Helper()
	if b.count(sel) == 0 {
		b.t.Fatalf("at %s: no %s to click; the page says: %s", b.path(), sel, b.text("main"))
	}
	ctx, cancel := context.WithTimeout(b.ctx, browserTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		b.t.Fatalf("at %s: click %s: %v", b.path(), sel, err)
	}
	if resp == nil {
		return 0
	}
	return resp.Status
}

// check clicks the checkbox sel (no page load) and fails unless it is
// then checked.
func (b *tab) check(sel string) {
	b.t.Helper()
	b.do(chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	if !eval[bool](b, `document.querySelector(`+js(sel)+`).checked`) {
		b.t.Fatalf("at %s: %s is not checked after a click", b.path(), sel)
	}
}

// eval evaluates a JavaScript expression in the page and decodes its value
// into a T.
func eval[T any](b *tab, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("at %s: evaluate %.80q: %v", b.path(), expr, err)
	}
	return v
}

// js quotes s as a JavaScript string literal.
func js(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

// text is the trimmed, whitespace-collapsed text of the first element sel
// matches; "" when none does.
func (b *tab) text(sel string) string {
	return eval[string](b, `(() => { const e = document.querySelector(`+js(sel)+`);
		return e ? e.textContent.replace(/\s+/g, " ").trim() : ""; })()`)
}

// count is how many elements sel matches.
func (b *tab) count(sel string) int {
	return eval[int](b, `document.querySelectorAll(`+js(sel)+`).length`)
}

// attr is the attribute name of the first element sel matches; "" when
// there is none.
func (b *tab) attr(sel, name string) string {
	return eval[string](b, `(() => { const e = document.querySelector(`+js(sel)+`);
		return e ? (e.getAttribute(`+js(name)+`) || "") : ""; })()`)
}

// typeIn types s into the field sel, as a person does, key by key.
func (b *tab) typeIn(sel, s string) {
	b.t.Helper()
	b.do(chromedp.Clear(chromedp.CSS(sel)), chromedp.SendKeys(chromedp.CSS(sel), s, chromedp.NodeVisible))
}

// setValue sets the value of the field sel (for fields a person fills with
// a picker, as a datetime-local) and fires its input and change events.
func (b *tab) setValue(sel, v string) {
	b.t.Helper()
	if !eval[bool](b, `(() => { const e = document.querySelector(`+js(sel)+`); if (!e) return false;
		e.value = `+js(v)+`; e.dispatchEvent(new Event("input", {bubbles: true}));
		e.dispatchEvent(new Event("change", {bubbles: true})); return e.value === `+js(v)+`; })()`) {
		b.t.Fatalf("at %s: could not set %s to %q", b.path(), sel, v)
	}
}

// flash is the text of the page's flash of kind "ok" or "error"; "" when
// it has none.
func (b *tab) flash(kind string) string {
	return b.text(".flash-" + kind)
}

// signIn signs in with token on the sign-in page and returns the status of
// the page it lands on.
func (b *tab) signIn(token string) int64 {
	b.t.Helper()
	b.open("/console/signin")
	b.typeIn("input#token", token)
	return b.click(`form.signin button[type="submit"]`)
}

// signInByKeyboard signs in with token by keyboard alone: the sign-in
// page focuses the token field, the person types the token and presses
// Enter. It returns the status of the page it lands on.
func (b *tab) signInByKeyboard(token string) int64 {
	b.t.Helper()
	b.open("/console/signin")
	if f := eval[string](b, `document.activeElement ? document.activeElement.id : ""`); f != "token" {
		b.t.Fatalf("the sign-in page focuses %q, not the token field", f)
	}
	ctx, cancel := context.WithTimeout(b.ctx, browserTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.KeyEvent(token+kb.Enter))
	if err != nil {
		b.t.Fatalf("sign in by keyboard: %v", err)
	}
	return resp.Status
}

// tabTo presses Tab until the focused element matches sel, at most limit
// times, and fails the test if it never does: sel is reachable by
// keyboard.
func (b *tab) tabTo(sel string, limit int) {
	b.t.Helper()
	for range limit {
		b.do(chromedp.KeyEvent(kb.Tab))
		if eval[bool](b, `!!document.activeElement && document.activeElement.matches(`+js(sel)+`)`) {
			return
		}
	}
	b.t.Fatalf("at %s: %d presses of Tab never reach %s", b.path(), limit, sel)
}

// pressEnter presses Enter on the focused element (a submit button) and
// waits for the page it loads; it returns that page's HTTP status.
func (b *tab) pressEnter() int64 {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.KeyEvent(kb.Enter))
	if err != nil {
		b.t.Fatalf("at %s: Enter: %v", b.path(), err)
	}
	return resp.Status
}

// formsThatChange lists the forms of the page that change something: every
// form but sign-out and the GET forms (search, filters).
func (b *tab) formsThatChange() []string {
	return eval[[]string](b, `Array.from(document.querySelectorAll("form"))
		.filter(f => (f.getAttribute("method") || "get").toLowerCase() === "post" && !f.matches("form.signout"))
		.map(f => (f.id ? "#" + f.id + " " : "") + (f.getAttribute("action") || ""))`)
}

// screenshot writes a PNG of the page, at most maxShotHeight px tall, to
// docs/console/name.png when the screenshots are asked for
// (-update-screenshots or WSUS_CONSOLE_SCREENSHOTS=1); otherwise it does
// nothing. width is the viewport's width (1280, or 390 for a phone).
func (b *tab) screenshot(root, name string, width int64) {
	b.t.Helper()
	if !*updateScreenshots && os.Getenv("WSUS_CONSOLE_SCREENSHOTS") != "1" {
		return
	}
	// Lay the page out at the width first, then measure its height there.
	var opts []chromedp.EmulateViewportOption
	maxHeight := int64(maxShotHeight)
	if width < 600 {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulatePortrait)
		maxHeight = maxPhoneShotHeight
	}
	b.do(chromedp.EmulateViewport(width, 800, opts...))
	defer b.do(chromedp.EmulateViewport(1280, 900))
	height := min(max(eval[int64](b, `Math.ceil(document.documentElement.scrollHeight)`), 600), maxHeight)
	b.do(chromedp.EmulateViewport(width, height, opts...))
	ctx, cancel := context.WithTimeout(b.ctx, browserTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := filepath.Join(root, "docs", "console")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	file := filepath.Join(dir, name+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s: %d×%d px, %d bytes", file, width, height, len(png))
}

// overflowsAt lays the page out width px wide (a phone) and returns how
// many px wider than the screen the document is (0: nothing sticks out
// but what scrolls inside its own box, as a .table-wrap) and, when it is,
// the outermost elements that stick out.
func (b *tab) overflowsAt(width int64) (int64, []string) {
	b.t.Helper()
	// Not EmulateMobile: a mobile viewport zooms out to fit what sticks
	// out, and the overflow would no longer show.
	b.do(chromedp.EmulateViewport(width, 800))
	defer b.do(chromedp.EmulateViewport(1280, 900))
	r := eval[overflow](b, `(() => {
		const w = window.innerWidth;
		const over = Math.max(0, document.documentElement.scrollWidth - w);
		const name = (e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
			(e.classList.length ? "." + Array.from(e.classList).join(".") : "");
		const out = [];
		if (over > 0) {
			for (const e of document.body.querySelectorAll("*")) {
				if (e.getBoundingClientRect().right <= w + 0.5) continue;
				const p = e.parentElement;
				if (p && p !== document.body && p.getBoundingClientRect().right > w + 0.5) continue;
				out.push(name(e) + " (right edge " + Math.round(e.getBoundingClientRect().right) + " px)");
				if (out.length === 5) break;
			}
		}
		return {over: over, elements: out};
	})()`)
	return r.Over, r.Elements
}

// overflow is what overflowsAt's script reports.
type overflow struct {
	Over     int64    `json:"over"`
	Elements []string `json:"elements"`
}

// The screenshots' height caps: a long list is shown by its head.
const (
	maxShotHeight      = 1400
	maxPhoneShotHeight = 1100
)

// pageTiming is what the browser measured of one page load (Navigation
// Timing and Paint Timing, in ms from the navigation's start).
type pageTiming struct {
	// FirstByte is responseStart: the server's answer began.
	FirstByte float64 `json:"ttfb"`
	// DOMContentLoaded is domContentLoadedEventEnd.
	DOMContentLoaded float64 `json:"dcl"`
	// FirstContentfulPaint is the first-contentful-paint entry's startTime.
	FirstContentfulPaint float64 `json:"fcp"`
	// Bytes is the document's transferred size (its decoded size when the
	// browser reports no transfer).
	Bytes int64 `json:"bytes"`
}

// timing loads path afresh and returns what the browser measured; it
// waits for the first contentful paint entry.
func (b *tab) timing(path string) pageTiming {
	b.t.Helper()
	b.open(path)
	const expr = `new Promise((resolve) => {
		const read = () => {
			const nav = performance.getEntriesByType("navigation")[0];
			const fcp = performance.getEntriesByType("paint").find((e) => e.name === "first-contentful-paint");
			return {ttfb: nav ? nav.responseStart : -1, dcl: nav ? nav.domContentLoadedEventEnd : -1,
				fcp: fcp ? fcp.startTime : -1, bytes: nav ? (nav.transferSize || nav.decodedBodySize) : 0};
		};
		const start = Date.now();
		const poll = () => {
			const r = read();
			if (r.fcp >= 0 || Date.now() - start > 5000) { resolve(r); return; }
			setTimeout(poll, 20);
		};
		poll();
	})`
	return eval[pageTiming](b, expr)
}

// median of the samples (the upper middle one of an even count).
func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// apiCall makes one admin API call with token (body JSON or nil) and
// decodes a 2xx answer into out (when not nil); it returns the status
// and, for an error answer, the API's reason.
func apiCall(t *testing.T, base, token, method, path string, body, out any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Reason string `json:"reason"`
		}
		_ = json.Unmarshal(raw, &e)
		return resp.StatusCode, e.Reason
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, raw)
		}
	}
	return resp.StatusCode, ""
}

// mustContain fails the test unless s contains every want.
func mustContain(t *testing.T, what, s string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("%s: %q does not contain %q", what, s, w)
		}
	}
}

// ms formats a duration in milliseconds for the log.
func ms(v float64) string { return fmt.Sprintf("%.0f ms", v) }
