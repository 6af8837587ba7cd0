// Package browsertest drives the web app in a real Chromium (chromedp)
// against a real chusmed (internal/servertest): the browser is one
// participant, the client library's drivers in this process the others.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/chusme/chusme/internal/webapp"
)

// browserTimeout bounds each browser test.
const browserTimeout = 3 * time.Minute

// chromium returns the browser's path: $CHUSME_CHROMIUM, else
// /usr/bin/chromium or chromium on PATH. Without one the test skips, or
// fails under CHUSME_REQUIRE_BROWSER=1.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHUSME_CHROMIUM"); p != "" {
		return p
	}
	for _, p := range []string{"/usr/bin/chromium", "chromium"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	const why = "no Chromium (apt-get install -y chromium, or set CHUSME_CHROMIUM)"
	if os.Getenv("CHUSME_REQUIRE_BROWSER") == "1" {
		t.Fatal(why + ", and CHUSME_REQUIRE_BROWSER=1")
	}
	t.Skip(why)
	return ""
}

// page is a browser tab on the app.
type page struct {
	t    *testing.T
	ctx  context.Context
	base string // the app's URL
}

// newPage starts a headless Chromium with a fresh profile, bounded by
// browserTimeout, and opens the app of the server at url. On failure it
// saves a screenshot and logs where, with the page's console.
func newPage(t *testing.T, url string) *page {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)), chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
	)
	// Not t.Context(): it ends before the cleanup takes its screenshot.
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	p := &page{t: t, ctx: bctx, base: url + webapp.Prefix}
	// Starts the browser, before Console; 360 px wide, the narrowest the
	// app is made for (a window is at least 500).
	p.do(chromedp.Navigate("about:blank"), chromedp.EmulateViewport(360, 900))
	var mu sync.Mutex
	var console strings.Builder
	messages := chromedp.Console(bctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			mu.Lock()
			fmt.Fprintln(&console, m.String())
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		if t.Failed() {
			// Kept after the test (a t.TempDir would not be).
			if f, err := os.CreateTemp("", "chusme-"+strings.ReplaceAll(t.Name(), "/", "-")+"-*.png"); err == nil {
				f.Close()
				p.screenshot(f.Name())
			}
			if text, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.body.innerText`)); err == nil {
				t.Logf("page text:\n%s", text)
			}
			mu.Lock()
			t.Logf("browser console:\n%s", console.String())
			mu.Unlock()
		}
		cancelBrowser()
		cancelAlloc()
		cancel()
		<-done
	})
	p.do(chromedp.Navigate(p.base), chromedp.WaitVisible(chromedp.CSS(`#engine.ready`)))
	return p
}

// do runs steps, failing the test on error.
func (p *page) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, steps...); err != nil {
		p.t.Fatalf("browser: %v", err)
	}
}

// screenshot saves the page, or the element of selector sel if one is
// given, to path as PNG, and logs it.
func (p *page) screenshot(path string, sel ...string) {
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	shot := chromedp.FullScreenshot(100)
	if len(sel) > 0 {
		shot = chromedp.Screenshot(chromedp.CSS(sel[0]))
	}
	png, err := chromedp.Run(ctx, shot)
	if err == nil {
		err = os.WriteFile(path, png, 0o644)
	}
	if err != nil {
		p.t.Logf("screenshot: %v", err)
		return
	}
	p.t.Logf("screenshot saved to %s", path)
}

// eval evaluates a JS expression in the page, awaiting it if it is a
// Promise.
func eval[T any](p *page, expr string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("browser: evaluating %s: %v", expr, err)
	}
	return v
}

// waitFor waits until JS expression expr is true.
func (p *page) waitFor(expr string) {
	p.t.Helper()
	if _, err := chromedp.Run(p.ctx, chromedp.Poll[bool](expr)); err != nil {
		p.t.Fatalf("browser: waiting for %s: %v", expr, err)
	}
}

// waitText waits until the element of selector sel has a text that
// contains want and is not empty, and returns it (trimmed). It reads the
// text in the page: the ceremony page re-renders its details as they change.
func (p *page) waitText(sel, want string) string {
	p.t.Helper()
	expr := fmt.Sprintf(`(() => { const t = (document.querySelector(%q)?.textContent || '').trim(); return t.includes(%q) ? t : ''; })()`, sel, want)
	text, err := chromedp.Run(p.ctx, chromedp.Poll[string](expr))
	if err != nil {
		p.t.Fatalf("browser: waiting for %s to show %q: %v", sel, want, err)
	}
	return text
}

// text returns the text of the element of selector sel, once it has one.
func (p *page) text(sel string) string {
	p.t.Helper()
	return p.waitText(sel, "")
}

// click clicks the element of selector sel once it is visible.
func (p *page) click(sel string) {
	p.t.Helper()
	p.do(chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
}

// fill types text into the (emptied) input of selector sel.
func (p *page) fill(sel, text string) {
	p.t.Helper()
	p.do(chromedp.WaitVisible(chromedp.CSS(sel)))
	eval[any](p, fmt.Sprintf(`document.querySelector(%q).value = ''`, sel))
	p.do(chromedp.SendKeys(chromedp.CSS(sel), text))
}

// goTo navigates to the app's route hash (#/…).
func (p *page) goTo(hash string) {
	p.t.Helper()
	eval[any](p, fmt.Sprintf(`location.hash = %q`, hash))
}

// enrol creates a key in the browser, registers it with invite and logs in;
// it returns the browser identity's fingerprint.
func (p *page) enrol(invite string) string {
	p.t.Helper()
	p.click(`#create-key`)
	p.waitFor(`/^[0-9a-f]{64}$/.test(document.getElementById('fingerprint').textContent)`)
	fp := p.text(`#fingerprint`)
	p.fill(`#invite`, invite)
	p.click(`#register`)
	p.waitText(`#identity-status`, "Registered "+fp)
	p.click(`#login`)
	p.waitText(`#who`, "Logged in as "+fp)
	return fp
}
