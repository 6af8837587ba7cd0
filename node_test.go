package chusme_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestNodeVectors runs test/node/vectors.mjs, an implementation of the byte
// formats written from docs/protocol.md with Node's crypto and @noble, which
// rebuilds every golden vector of testdata/vectors.json. It needs node and
// `npm ci` in test/node (.ci/run does both); without them it is skipped,
// unless CHUSME_REQUIRE_NODE=1 (as in CI).
func TestNodeVectors(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("test", "node"))
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	_, modErr := os.Stat(filepath.Join(dir, "node_modules", "@noble", "curves"))
	if err != nil || modErr != nil {
		if os.Getenv("CHUSME_REQUIRE_NODE") == "1" {
			t.Fatalf("node or test/node/node_modules missing (run npm ci in test/node): %v %v", err, modErr)
		}
		t.Skip("node or test/node/node_modules missing; run npm ci in test/node")
	}
	out, err := exec.CommandContext(t.Context(), node, filepath.Join(dir, "vectors.mjs")).CombinedOutput()
	if err != nil {
		t.Fatalf("node vectors.mjs: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 20 || !strings.HasSuffix(lines[len(lines)-1], "vectors rebuilt") {
		t.Fatalf("node vectors.mjs printed:\n%s", out)
	}
	t.Logf("node vectors.mjs: %s", lines[len(lines)-1])
}
