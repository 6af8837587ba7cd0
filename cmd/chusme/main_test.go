package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/servertest"
)

// cli runs the CLI in process with its own config directory and
// environment; the passphrase comes from CHUSME_PASSPHRASE and keygen uses
// cheap Argon2id memory.
type cli struct {
	t   *testing.T
	env map[string]string
}

func newCLI(t *testing.T, server, passphrase string) *cli {
	return &cli{t: t, env: map[string]string{
		"CHUSME_SERVER":         server,
		"CHUSME_CONFIG_DIR":     t.TempDir(),
		"CHUSME_PASSPHRASE":     passphrase,
		"CHUSME_KDF_MEMORY_KIB": "64",
	}}
}

func (c *cli) getenv(k string) string { return c.env[k] }

// run runs the CLI and returns its stdout, stderr and error.
func (c *cli) run(args ...string) (string, string, error) {
	c.t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, c.getenv, strings.NewReader(""), &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

// ok runs the CLI, fails the test on error and returns stdout.
func (c *cli) ok(args ...string) string {
	c.t.Helper()
	out, errOut, err := c.run(args...)
	if err != nil {
		c.t.Fatalf("chusme %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// okJSON runs the CLI with --json and decodes its output into v.
func (c *cli) okJSON(v any, args ...string) {
	c.t.Helper()
	out := c.ok(append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		c.t.Fatalf("chusme %s: output is not one JSON object: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// fails runs the CLI, expects an error with the given code, and checks both
// report formats.
func (c *cli) fails(code string, args ...string) string {
	c.t.Helper()
	out, errOut, err := c.run(args...)
	if err == nil {
		c.t.Fatalf("chusme %s succeeded, want error %s\n%s", strings.Join(args, " "), code, out)
	}
	if !strings.HasPrefix(errOut, "chusme: ") || !strings.HasSuffix(errOut, " ("+code+")\n") {
		c.t.Fatalf("chusme %s: stderr %q, want chusme: MESSAGE (%s)", strings.Join(args, " "), errOut, code)
	}
	out, _, err = c.run(append(args, "--json")...)
	var obj struct {
		Error struct{ Code, Message string }
	}
	if err == nil || json.Unmarshal([]byte(out), &obj) != nil || obj.Error.Code != code || obj.Error.Message == "" {
		c.t.Fatalf("chusme %s --json: %v, stdout %q; want an error object with code %s", strings.Join(args, " "), err, out, code)
	}
	return errOut
}

// The README walk-through, against the real server.
func TestWalkThrough(t *testing.T) {
	s := servertest.Start(t)
	admin := newCLI(t, s.URL, "admin passphrase")
	var key struct {
		Fingerprint string `json:"fingerprint"`
		KeyFile     string `json:"key_file"`
	}
	admin.okJSON(&key, "keygen")
	if !chusme.ValidFingerprint(key.Fingerprint) || key.KeyFile != filepath.Join(admin.env["CHUSME_CONFIG_DIR"], "identity.key") {
		t.Fatalf("keygen = %+v", key)
	}
	if fi, err := os.Stat(key.KeyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", fi, err)
	}
	admin.fails("client_error", "keygen")

	out := admin.ok("setup", "--token-file", filepath.Join(s.DataDir, "setup-token"))
	if !strings.Contains(out, key.Fingerprint) || !strings.Contains(out, "admin") {
		t.Fatalf("setup printed %q", out)
	}
	var me chusme.Me
	admin.okJSON(&me, "whoami")
	if me.Fingerprint != key.Fingerprint || me.Role != chusme.RoleAdmin {
		t.Fatalf("whoami = %+v", me)
	}

	var inv chusme.InviteResponse
	admin.okJSON(&inv, "admin", "invite", "--ttl", "1h")
	if inv.Invite == "" || time.Until(inv.ExpiresAt) > 61*time.Minute {
		t.Fatalf("admin invite = %+v", inv)
	}
	// Without --json, what to run next is on stderr: the invite's own
	// register command.
	_, errOut, err := admin.run("admin", "invite")
	if err != nil || !strings.Contains(errOut, "Next: chusme register --invite ") {
		t.Fatalf("admin invite: %v, stderr %q", err, errOut)
	}

	user := newCLI(t, s.URL, "user passphrase")
	userFP := strings.TrimSpace(user.ok("keygen"))
	if !chusme.ValidFingerprint(userFP) {
		t.Fatalf("keygen printed %q", userFP)
	}
	user.fails(chusme.CodeInviteInvalid, "register", "--invite", "not-an-invite")
	out = user.ok("register", "--invite", inv.Invite)
	if !strings.Contains(out, userFP) || !strings.Contains(out, "user") {
		t.Fatalf("register printed %q", out)
	}
	user.ok("logout")
	user.fails(chusme.CodeUnauthorized, "whoami")
	user.ok("login")
	if out := user.ok("whoami"); !strings.Contains(out, userFP) {
		t.Fatalf("whoami printed %q", out)
	}
	user.fails(chusme.CodeForbidden, "admin", "invite")

	var banned chusme.IdentityInfo
	admin.okJSON(&banned, "admin", "ban", userFP)
	if banned.Fingerprint != userFP || banned.Status != chusme.StatusBanned {
		t.Fatalf("admin ban = %+v", banned)
	}
	if msg := user.fails(chusme.CodeBanned, "whoami"); !strings.Contains(msg, "chusme: ") {
		t.Fatal(msg)
	}
	user.fails(chusme.CodeBanned, "login")

	admin.ok("logout")
	admin.fails(chusme.CodeUnauthorized, "whoami")
}

// An expired access token in session.json is refreshed on the next command
// and the rotated tokens are written back.
func TestTransparentRefresh(t *testing.T) {
	s := servertest.Start(t)
	admin := newCLI(t, s.URL, "pw")
	admin.ok("keygen")
	admin.ok("setup", "--token", s.SetupToken(t))
	path := filepath.Join(admin.env["CHUSME_CONFIG_DIR"], "session.json")
	var tok map[string]any
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(b, &tok)
	tok["access_expires_at"] = time.Now().Add(-time.Hour).Format(time.RFC3339)
	b, _ = json.Marshal(tok)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	admin.ok("whoami")
	var after map[string]any
	b, _ = os.ReadFile(path)
	json.Unmarshal(b, &after)
	if after["refresh_token"] == tok["refresh_token"] || after["session_id"] != tok["session_id"] {
		t.Fatalf("session.json not rotated: %v -> %v", tok, after)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("session.json: %v, %v", fi, err)
	}
}

func TestIssuerMismatchRefused(t *testing.T) {
	s := servertest.Start(t)
	c := newCLI(t, s.URL, "pw")
	c.ok("keygen")
	c.env["CHUSME_ISSUER"] = "https://id.example.com"
	msg := c.fails("client_error", "setup", "--token", s.SetupToken(t))
	if !strings.Contains(msg, "https://id.example.com") || !strings.Contains(msg, s.URL) {
		t.Fatalf("stderr %q does not name both issuers", msg)
	}
	// The flag wins over the environment.
	c.ok("setup", "--token", s.SetupToken(t), "--issuer", s.URL)
}

func TestPassphrase(t *testing.T) {
	c := newCLI(t, "http://127.0.0.1:1", "")
	dir := c.env["CHUSME_CONFIG_DIR"]
	c.fails("client_error", "keygen") // no terminal, no passphrase
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte("from file\n"), 0o600)
	c.ok("keygen", "--passphrase-file", pwFile)
	c.env["CHUSME_PASSPHRASE"] = "wrong"
	if msg := c.fails("client_error", "login"); !strings.Contains(msg, "wrong passphrase") {
		t.Fatalf("stderr %q", msg)
	}
	// The key opens with the file's passphrase; login then fails on the
	// network, not on the key.
	_, errOut, err := c.run("--passphrase-file", pwFile, "login")
	if err == nil || strings.Contains(errOut, "passphrase") {
		t.Fatalf("login: %v, %q", err, errOut)
	}
	c.env["CHUSME_PASSPHRASE"] = "from file"
	first, _ := os.ReadFile(filepath.Join(dir, "identity.key"))
	c.ok("keygen", "--force")
	second, _ := os.ReadFile(filepath.Join(dir, "identity.key"))
	if bytes.Equal(first, second) {
		t.Fatal("keygen --force did not replace the key")
	}
}

func TestUsage(t *testing.T) {
	c := newCLI(t, "http://127.0.0.1:1", "pw")
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		out := c.ok(args...)
		for _, cmd := range []string{"keygen", "setup", "register", "login", "whoami", "logout", "admin invite", "admin ban"} {
			if !strings.Contains(out, cmd) {
				t.Fatalf("chusme %v: usage lacks %q", args, cmd)
			}
		}
	}
	// One command's help shows that command only: by help CMD, CMD -h or
	// CMD help; an unknown one is a usage error.
	for _, c2 := range []struct {
		args       []string
		has, lacks string
	}{
		{[]string{"whoami", "-h"}, "  whoami", "keygen"},
		{[]string{"help", "admin"}, "admin invite", "keygen"},
		{[]string{"admin", "help"}, "admin ban", "ceremony"},
		{[]string{"help", "ceremony", "join"}, "ceremony join [ID]", "ceremony dkg"},
		{[]string{"ceremony", "join", "-h"}, "--expect-sha256", "keys verify"},
		{[]string{"contacts", "-h"}, "contacts block", "ceremony"},
	} {
		out := c.ok(c2.args...)
		if !strings.Contains(out, c2.has) || strings.Contains(out, c2.lacks) {
			t.Fatalf("chusme %v printed\n%s\nwant %q and not %q", c2.args, out, c2.has, c2.lacks)
		}
	}
	c.fails("usage", "help", "frobnicate")
	// Every command has an example, in its own help.
	for _, e := range usageEntries() {
		words := strings.Fields(synopsis(e[0]))
		cmd := words[0]
		if len(words) > 1 && isWord(words[1]) {
			cmd += " " + words[1]
		}
		if cmd == "help" || !isWord(words[0]) {
			continue // help itself, global flags and variables
		}
		if out := c.ok("help", cmd); !strings.Contains(out, "Examples:\n  chusme") && !strings.Contains(out, "Examples:\n  INVITE=") &&
			!strings.Contains(out, "Examples:\n  KEY=") && !strings.Contains(out, "Examples:\n  source") {
			t.Errorf("chusme help %s has no example:\n%s", cmd, out)
		}
	}
	if out := c.ok("version"); !strings.HasPrefix(out, "chusme ") {
		t.Fatalf("chusme version printed %q", out)
	}
	for _, shell := range []string{"bash", "zsh", "fish"} {
		if out := c.ok("completion", shell); !strings.Contains(out, "ceremony") || !strings.Contains(out, "join") {
			t.Fatalf("completion %s lacks the commands:\n%s", shell, out)
		}
	}
	c.fails("usage", "completion", "tcsh")
	// The bash script completes in bash itself.
	if bash, err := exec.LookPath("bash"); err == nil {
		script := c.ok("completion", "bash")
		out, err := exec.Command(bash, "-c", script+`
COMP_WORDS=(chusme cer); COMP_CWORD=1; _chusme; echo "${COMPREPLY[@]}"
COMP_WORDS=(chusme ceremony j); COMP_CWORD=2; _chusme; echo "${COMPREPLY[@]}"`).CombinedOutput()
		if err != nil || string(out) != "ceremony\njoin\n" {
			t.Fatalf("bash completion: %v, %q", err, out)
		}
	}
	c.fails("usage")
	c.fails("usage", "frobnicate")
	c.fails("usage", "admin")
	c.fails("usage", "admin", "ban")
	c.fails("usage", "admin", "ban", "not/a/fingerprint")
	c.fails("usage", "whoami", "extra")
	c.fails("usage", "login", "--no-such-flag")
	c.fails("usage", "setup")
	c.env["CHUSME_KDF_MEMORY_KIB"] = "lots"
	c.fails("usage", "keygen")
}

// A signature in base64url may start with "-": keys verify takes it as
// its argument, not as a flag, wherever it stands; a mistyped flag is
// still refused.
func TestValueStartingWithDash(t *testing.T) {
	fs := flag.NewFlagSet("keys verify", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	json := fs.Bool("json", false, "")
	sig := "-UZxz3n3omoYtX945rhQk-XOJQBDA26ucFJzAmltDZGlbwGM_92WtaF_b7yymLZgOA0EU38icU0atV_XVqPABg"
	rest, err := parse(fs, []string{"KEY", sig, "--json", "msg"})
	if err != nil || !*json || len(rest) != 3 || rest[1] != sig {
		t.Fatalf("parse: %q, %v (json %v)", rest, err, *json)
	}
	if _, err := parse(fs, []string{"KEY", "--jsno"}); err == nil {
		t.Fatal("a mistyped flag was taken")
	}
}
