// Command gen builds the web app's generated files (go generate
// ./internal/webapp/): the WebAssembly build of cmd/chusme-wasm, gzipped
// deterministically, and Go's wasm_exec.js, written to -out.
// scripts/check-webapp.sh runs it into a temporary directory and compares.
package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

func main() {
	out := flag.String("out", "static", "directory to write chusme.wasm.gz and wasm_exec.js to")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "webapp/gen:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	tmp, err := os.MkdirTemp("", "chusme-wasm")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	wasm := filepath.Join(tmp, "chusme.wasm")
	// Fixed flags, no VCS stamp, no paths: the same Go and sources give the
	// same bytes. For size (docs/web.md): nethttpomithttp2 leaves out what
	// remains of net/http's HTTP/2 (the browser's fetch speaks it, and the
	// client sends through fetch, not net/http's Transport: client/http_js.go),
	// 7 KB of the gzipped build; no inlining (-l) but in the curve arithmetic
	// and FROST, which stay as fast, 350 KB.
	build := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-tags=nethttpomithttp2",
		"-gcflags=all=-l", "-gcflags=filippo.io/edwards25519/...=", "-gcflags=github.com/chusme/chusme/frost=",
		"-ldflags=-s -w -buildid=", "-o", wasm, "github.com/chusme/chusme/cmd/chusme-wasm")
	build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0", "GOFLAGS=")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building cmd/chusme-wasm: %w", err)
	}
	raw, err := os.ReadFile(wasm)
	if err != nil {
		return err
	}
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression) // zero header: no name, no time
	if err != nil {
		return err
	}
	if _, err := zw.Write(raw); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return fmt.Errorf("go env GOROOT: %w", err)
	}
	execJS, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(goroot)), "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "chusme.wasm.gz"), gz.Bytes(), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "wasm_exec.js"), execJS, 0o644); err != nil {
		return err
	}
	fmt.Printf("chusme.wasm: %d bytes, %d gzipped\n", len(raw), gz.Len())
	return nil
}
