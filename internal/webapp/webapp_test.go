package webapp_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/testkit"
	"github.com/chusme/chusme/internal/webapp"
)

// get fetches url with the Accept-Encoding given (explicit, so that Go's
// transport decodes nothing) and the header pairs hdr.
func get(t *testing.T, url, encoding string, hdr ...string) testkit.Reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", encoding)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return testkit.Send(t, req)
}

// TestServed checks that chusmed serves the app under /app/ with its CSP,
// nosniff and revalidation headers, the WebAssembly gzipped (and plain to
// a client without gzip), and nothing else.
func TestServed(t *testing.T) {
	srv := servertest.Start(t)
	resp := get(t, srv.URL+webapp.Prefix, "identity")
	body := resp.Body
	if resp.Status != http.StatusOK || !strings.Contains(string(body), `<script type="module" src="js/main.js">`) {
		t.Fatalf("GET /app/: %d %.200s", resp.Status, body)
	}
	for h, want := range map[string]string{
		"Content-Security-Policy": webapp.CSP, "X-Content-Type-Options": "nosniff",
		"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache",
	} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("GET /app/: %s %q, want %q", h, got, want)
		}
	}
	if strings.Contains(string(body), "<script>") || strings.Contains(string(body), "style=") {
		t.Error("index.html has an inline script or style, which the CSP refuses")
	}
	if again := get(t, srv.URL+webapp.Prefix, "identity", "If-None-Match", resp.Header.Get("ETag")); again.Status != http.StatusNotModified {
		t.Errorf("GET /app/ with its ETag: %d, want 304", again.Status)
	}

	gz := get(t, srv.URL+webapp.Prefix+webapp.WASMPath, "gzip, br")
	zbody := gz.Body
	if gz.Header.Get("Content-Encoding") != "gzip" || gz.Header.Get("Content-Type") != "application/wasm" {
		t.Fatalf("GET the wasm: Content-Encoding %q, Content-Type %q", gz.Header.Get("Content-Encoding"), gz.Header.Get("Content-Type"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(zbody))
	if err != nil {
		t.Fatal(err)
	}
	wasm, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(wasm, []byte("\x00asm")) {
		t.Fatalf("the gzipped wasm does not open to a WebAssembly module")
	}
	t.Logf("chusme.wasm: %d bytes, %d gzipped", len(wasm), len(zbody))
	plain := get(t, srv.URL+webapp.Prefix+webapp.WASMPath, "identity")
	if plain.Header.Get("Content-Encoding") != "" || !bytes.Equal(plain.Body, wasm) {
		t.Errorf("GET the wasm without gzip: Content-Encoding %q, %d bytes, want the %d plain ones", plain.Header.Get("Content-Encoding"), len(plain.Body), len(wasm))
	}

	for _, p := range []string{"chusme.wasm.gz", "nope.js", "../go.mod", "js/"} {
		resp := get(t, srv.URL+webapp.Prefix+p, "identity")
		var prob chusme.Problem
		if resp.Want(t, http.StatusNotFound, &prob); prob.Code != chusme.CodeNotFound {
			t.Errorf("GET /app/%s: problem %+v, want code %s", p, prob, chusme.CodeNotFound)
		}
	}
	if resp := get(t, srv.URL+"/app", "identity"); resp.Status != http.StatusOK || !bytes.Equal(resp.Body, body) {
		t.Errorf("GET /app: %d, want the app (redirected to /app/)", resp.Status)
	}
}
