package client

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// goList returns the packages pkgs depend on (themselves included), and
// which of them are in the standard library.
func goList(t *testing.T, pkgs ...string) map[string]bool {
	t.Helper()
	// The go command of the toolchain running this test: in a test binary
	// runtime.GOROOT is that toolchain's root.
	//lint:ignore SA1019 the test binary runs where it was built
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	args := append([]string{"list", "-deps", "-f", "{{.ImportPath}} {{.Standard}}"}, pkgs...)
	out, err := exec.Command(goBin, args...).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	deps := map[string]bool{}
	for line := range strings.Lines(string(out)) {
		path, std, _ := strings.Cut(strings.TrimSpace(line), " ")
		deps[path] = std == "true"
	}
	if len(deps) == 0 {
		t.Fatal("go list returned no packages")
	}
	return deps
}

// forbidden reports why a client-side package must not link dep, or "".
func forbidden(dep string) string {
	switch {
	case strings.HasPrefix(dep, "github.com/chusme/chusme/internal/"):
		return "server code"
	case dep == "database/sql",
		strings.HasPrefix(dep, "database/sql/"),
		dep == "modernc.org/sqlite", strings.HasPrefix(dep, "modernc.org/sqlite/"),
		strings.HasPrefix(dep, "github.com/jackc/pgx"),
		strings.HasPrefix(dep, "github.com/mattn/go-sqlite3"),
		strings.HasPrefix(dep, "github.com/lib/pq"):
		return "a database driver"
	}
	return ""
}

// The client library shares the root package with the server but never
// links server code or a database driver.
func TestClientDependencies(t *testing.T) {
	for dep := range goList(t, "github.com/chusme/chusme/client/...") {
		if why := forbidden(dep); why != "" {
			t.Errorf("the client links %s, which is %s", dep, why)
		}
	}
}

// The root package holds the domain and imports only the standard library.
func TestRootDependencies(t *testing.T) {
	const root = "github.com/chusme/chusme"
	for dep, std := range goList(t, root) {
		if dep == root {
			continue
		}
		if !std {
			t.Errorf("the root package %s links %s, which is not in the standard library", root, dep)
		}
	}
}

// Services (auth, ceremony, identity, tokens, ratelimit, metrics) and
// transports (httpapi, wsapi) reach storage only through chusme.Store: none
// of them links a storage engine or a database driver (only internal/server,
// the wiring, does).
func TestServerLayering(t *testing.T) {
	for _, pkg := range []string{"auth", "ceremony", "identity", "tokens", "ratelimit", "metrics", "httpapi", "wsapi"} {
		path := "github.com/chusme/chusme/internal/" + pkg
		for dep := range goList(t, path) {
			// database/sql itself comes in with Prometheus's DB stats collector.
			engine := strings.HasPrefix(dep, "github.com/chusme/chusme/internal/sqlite") ||
				strings.HasPrefix(dep, "github.com/chusme/chusme/internal/postgres") ||
				forbidden(dep) == "a database driver" && !strings.HasPrefix(dep, "database/sql")
			if engine {
				t.Errorf("%s links %s: services and transports must not depend on storage engines", path, dep)
			}
		}
	}
}
