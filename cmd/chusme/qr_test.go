package main

import (
	"encoding/base32"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chusme/chusme/internal/auth"
	"github.com/chusme/chusme/internal/servertest"
)

// The QR code totp enable draws decodes, in standard polarity, with jsQR
// (Node, an independent decoder) to the otpauth URI it prints, and a code
// computed from the decoded secret turns TOTP on.
func TestTOTPQRDecodes(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("..", "..", "test", "node"))
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	_, modErr := os.Stat(filepath.Join(dir, "node_modules", "jsqr"))
	if err != nil || modErr != nil {
		if os.Getenv("CHUSME_REQUIRE_NODE") == "1" {
			t.Fatalf("node or test/node/node_modules missing (run npm ci in test/node): %v %v", err, modErr)
		}
		t.Skip("node or test/node/node_modules missing; run npm ci in test/node")
	}
	s := servertest.Start(t)
	c := newCLI(t, s.URL, "qr passphrase")
	c.ok("keygen")
	c.ok("setup", "--token-file", filepath.Join(s.DataDir, "setup-token"))
	_, shown, err := c.run("totp", "enable")
	if err != nil {
		t.Fatal(err)
	}
	var qr, uri []string
	for _, line := range strings.Split(shown, "\n") {
		switch {
		case strings.HasPrefix(line, "otpauth://"):
			uri = append(uri, line)
		case line != "" && strings.Trim(line, "█▀▄ ") == "" && len(uri) == 0:
			qr = append(qr, line)
		}
	}
	if len(qr) < 10 || len(uri) != 1 {
		t.Fatalf("totp enable showed no QR code and URI:\n%s", shown)
	}
	cmd := exec.CommandContext(t.Context(), node, filepath.Join(dir, "qr_decode.mjs"))
	cmd.Stdin = strings.NewReader(strings.Join(qr, "\n") + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node qr_decode.mjs: %v\n%s", err, out)
	}
	decoded := strings.TrimSpace(string(out))
	if decoded != uri[0] {
		t.Fatalf("the QR code reads %q, the URI shown is %q", decoded, uri[0])
	}
	u, err := url.Parse(decoded)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(u.Query().Get("secret"))
	if err != nil {
		t.Fatal(err)
	}
	var on totpOutput
	c.okJSON(&on, "totp", "enable", "--code", auth.TOTPCode(secret, time.Now()))
	if on.Status != "on" || len(on.RecoveryCodes) != 10 {
		t.Fatalf("totp enable --code with the decoded secret: %+v", on)
	}
}
