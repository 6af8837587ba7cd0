package wsapi_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestNodeClient runs test/node/ws_client.mjs, an independent client written
// with the npm packages ws and protobufjs from the .proto file, against a
// real server. It needs node and `npm ci` in test/node (.ci/run does both);
// without them it is skipped, unless CHUSME_REQUIRE_NODE=1 (as in CI).
func TestNodeClient(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("..", "..", "test", "node"))
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	_, modErr := os.Stat(filepath.Join(dir, "node_modules", "ws"))
	if err != nil || modErr != nil {
		if os.Getenv("CHUSME_REQUIRE_NODE") == "1" {
			t.Fatalf("node or test/node/node_modules missing (run npm ci in test/node): %v %v", err, modErr)
		}
		t.Skip("node or test/node/node_modules missing; run npm ci in test/node")
	}
	srv, us := world(t, 1)
	cmd := exec.CommandContext(t.Context(), node, filepath.Join(dir, "ws_client.mjs"))
	cmd.Env = append(os.Environ(), "CHUSME_URL="+srv.URL, "CHUSME_ACCESS_TOKEN="+us[1].Access(t), "CHUSME_FINGERPRINT="+us[1].Fingerprint)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("node client: %v\n%s%s", err, out, stderr)
	}
	var res struct {
		OK          bool   `json:"ok"`
		Fingerprint string `json:"fingerprint"`
		Reused      int    `json:"reused_ticket_close"`
	}
	if json.Unmarshal(out, &res) != nil || !res.OK || res.Fingerprint != us[1].Fingerprint || res.Reused != 4002 {
		t.Fatalf("node client printed %s", out)
	}
	t.Logf("node client: %s", out)
}
