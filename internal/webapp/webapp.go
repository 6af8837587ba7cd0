// Package webapp is ChusMe's web app: plain JavaScript modules, HTML and
// CSS, and the Go client compiled to WebAssembly (cmd/chusme-wasm), all
// embedded in chusmed and served under Prefix with a strict
// Content-Security-Policy. docs/web.md describes it.
package webapp

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/chusme/chusme"
)

//go:generate go run ./gen -out static

// Prefix is the path the app is served under.
const Prefix = "/app/"

// CSP is the Content-Security-Policy of every response: nothing inline,
// no eval beyond WebAssembly compilation, same-origin everything, no
// framing.
const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// WASM is the name of the gzipped WebAssembly build under static/; it is
// served as WASMPath, with Content-Encoding gzip.
const (
	WASM     = "chusme.wasm.gz"
	WASMPath = "chusme.wasm"
)

// types are the content types of the files served, by extension; other
// files are not served.
var types = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
}

//go:embed static
var static embed.FS

// asset is one file as served.
type asset struct {
	data []byte
	etag string
	ct   string
	gzip bool // data is gzipped: sent with Content-Encoding gzip
}

// Handler serves the app under Prefix: index.html for Prefix itself, the
// files of static/ by name, with CSP, nosniff, no-referrer and
// revalidation (no-cache with a content ETag) on every answer.
func Handler() http.Handler {
	assets := map[string]asset{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "static/")
		sum := sha256.Sum256(data)
		a := asset{data: data, etag: `"` + hex.EncodeToString(sum[:16]) + `"`, ct: types[path.Ext(name)]}
		if name == WASM {
			name, a.gzip, a.ct = WASMPath, true, "application/wasm"
		}
		if a.ct != "" {
			assets[name] = a
		}
		return nil
	})
	if err != nil {
		panic("webapp: " + err.Error()) // the embedded tree is fixed at build time
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		name := strings.TrimPrefix(r.URL.Path, Prefix)
		if name == "" {
			name = "index.html"
		}
		a, ok := assets[name]
		if !ok {
			problem(w, http.StatusNotFound, chusme.CodeNotFound, "no such file in the web app")
			return
		}
		h.Set("Content-Type", a.ct)
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", a.etag)
		body := io.ReadSeeker(bytes.NewReader(a.data))
		if a.gzip {
			h.Add("Vary", "Accept-Encoding")
			if !acceptsGzip(r) {
				serveGunzipped(w, r, a)
				return
			}
			h.Set("Content-Encoding", "gzip")
		}
		http.ServeContent(w, r, "", time.Time{}, body)
	})
}

// problem answers in problem+json, as the API does.
func problem(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(chusme.Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail, Code: code})
}

// acceptsGzip reports whether r's Accept-Encoding names gzip.
func acceptsGzip(r *http.Request) bool {
	for _, e := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		if name, _, _ := strings.Cut(strings.TrimSpace(e), ";"); name == "gzip" {
			return true
		}
	}
	return false
}

// serveGunzipped sends a's data decompressed, to a client without gzip.
func serveGunzipped(w http.ResponseWriter, r *http.Request, a asset) {
	zr, err := gzip.NewReader(bytes.NewReader(a.data))
	if err != nil {
		problem(w, http.StatusInternalServerError, chusme.CodeInternal, "")
		return
	}
	w.Header().Set("ETag", strings.TrimSuffix(a.etag, `"`)+`-identity"`)
	if r.Method == http.MethodHead {
		return
	}
	io.Copy(w, zr)
}
