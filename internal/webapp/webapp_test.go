package webapp_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/webapp"
)

// get fetches path from the server with the Accept-Encoding given ("" for
// none: Go's transport then neither asks for nor decodes gzip).
func get(t *testing.T, url, encoding string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", encoding)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// TestServed checks that chusmed serves the app under /app/ with its CSP,
// nosniff and revalidation headers, the WebAssembly gzipped (and plain to
// a client without gzip), and nothing else.
func TestServed(t *testing.T) {
	srv := servertest.Start(t)
	resp, body := get(t, srv.URL+webapp.Prefix, "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `<script type="module" src="js/main.js">`) {
		t.Fatalf("GET /app/: %d %.200s", resp.StatusCode, body)
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
	again, _ := get(t, srv.URL+webapp.Prefix, "", "If-None-Match", resp.Header.Get("ETag"))
	if again.StatusCode != http.StatusNotModified {
		t.Errorf("GET /app/ with its ETag: %d, want 304", again.StatusCode)
	}

	gz, zbody := get(t, srv.URL+webapp.Prefix+webapp.WASMPath, "gzip, br")
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
	plain, pbody := get(t, srv.URL+webapp.Prefix+webapp.WASMPath, "identity")
	if plain.Header.Get("Content-Encoding") != "" || !bytes.Equal(pbody, wasm) {
		t.Errorf("GET the wasm without gzip: Content-Encoding %q, %d bytes, want the %d plain ones", plain.Header.Get("Content-Encoding"), len(pbody), len(wasm))
	}

	for _, p := range []string{"chusme.wasm.gz", "nope.js", "../go.mod", "js/"} {
		if resp, _ := get(t, srv.URL+webapp.Prefix+p, ""); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET /app/%s: %d, want 404", p, resp.StatusCode)
		}
	}
	if resp, _ := get(t, srv.URL+"/app", ""); resp.StatusCode/100 != 3 {
		t.Errorf("GET /app: %d, want a redirect to /app/", resp.StatusCode)
	}
}
