package webapp_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/chusme/chusme/internal/servertest"
)

// TestWasmClientInNode runs cmd/chusme-wasm's js/wasm tests under Node
// (Go's go_js_wasm_exec) against a real server, a server whose answer is
// larger than the client accepts and one that never answers: the client as the web app runs it,
// sending through fetch (client/http_js.go). Skipped without node, unless
// CHUSME_REQUIRE_NODE=1.
func TestWasmClientInNode(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		if os.Getenv("CHUSME_REQUIRE_NODE") == "1" {
			t.Fatalf("node missing: %v", err)
		}
		t.Skip("node missing")
	}
	srv := servertest.Start(t)
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(bytes.Repeat([]byte(" "), 5<<20))
	}))
	t.Cleanup(big.Close)
	hang := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(hang.Close)
	// The go command of the toolchain running this test.
	//lint:ignore SA1019 the test binary runs where it was built
	goroot := runtime.GOROOT()
	cmd := exec.CommandContext(t.Context(), filepath.Join(goroot, "bin", "go"), "test", "-count=1", "-v", "-timeout=1m",
		"-exec="+filepath.Join(goroot, "lib", "wasm", "go_js_wasm_exec"), "-run=^TestClientOverFetch$", "github.com/chusme/chusme/cmd/chusme-wasm")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0", "GOFLAGS=",
		"CHUSME_WASM_SERVER="+srv.URL, "CHUSME_WASM_BIG_SERVER="+big.URL, "CHUSME_WASM_HANG_SERVER="+hang.URL)
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: TestClientOverFetch")) {
		t.Fatalf("the js/wasm client under node: %v\n%s", err, out)
	}
}
