package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/servertest"
)

// Each failure a new user meets says what happened and what to do next in
// one line, with a stable code (kept in --json).
func TestErrorsSayWhatToDo(t *testing.T) {
	s := servertest.Start(t)
	admin := newCLI(t, s.URL, "admin pw")
	admin.ok("keygen")
	tokenFile := filepath.Join(s.DataDir, "setup-token")
	token, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	admin.ok("setup", "--token", strings.TrimSpace(string(token)))

	// A port nobody listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	notChusMe := httptest.NewServer(http.NotFoundHandler())
	defer notChusMe.Close()

	fresh := newCLI(t, s.URL, "fresh pw")
	fresh.ok("keygen")

	// A session revoked behind the client's back: its saved tokens are
	// those of a session that logged out.
	revoked := newCLI(t, s.URL, "admin pw")
	revoked.env["CHUSME_CONFIG_DIR"] = admin.env["CHUSME_CONFIG_DIR"]
	session := filepath.Join(admin.env["CHUSME_CONFIG_DIR"], sessionFileName)
	saved, err := os.ReadFile(session)
	if err != nil {
		t.Fatal(err)
	}
	admin.ok("logout")
	if err := os.WriteFile(session, saved, 0o600); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		c    *cli
		args []string
		code string
		says []string
	}{
		{"server down", fresh, []string{"--server", closed, "login"}, codeUnreachable, []string{"can't reach the server at " + closed, "nothing listens there", "--server"}},
		{"no scheme", fresh, []string{"--server", "127.0.0.1:1984", "login"}, codeUsage, []string{"is not an http or https URL", "http://127.0.0.1:1984"}},
		{"not chusme", fresh, []string{"--server", notChusMe.URL, "login"}, codeNotChusMe, []string{"does not answer as a ChusMe server", "404"}},
		{"login before register", fresh, []string{"login"}, chusme.CodeNotFound, []string{"knows no identity", "chusme register --invite"}},
		{"setup token used", fresh, []string{"setup", "--token", strings.TrimSpace(string(token))}, chusme.CodeSetupInvalid, []string{"chusme register --invite"}},
		{"session ended", revoked, []string{"whoami"}, chusme.CodeSessionRevoked, []string{"run chusme login"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.t = t
			msg := tc.c.fails(tc.code, tc.args...)
			for _, want := range tc.says {
				if !strings.Contains(msg, want) {
					t.Errorf("chusme %s: %q lacks %q", strings.Join(tc.args, " "), msg, want)
				}
			}
			if strings.Count(strings.TrimSpace(msg), "\n") != 0 {
				t.Errorf("not one line: %q", msg)
			}
		})
	}

	// Ctrl-C: the command's context ends.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	if err := run(ctx, []string{"login"}, fresh.getenv, strings.NewReader(""), &stdout, &stderr); err == nil ||
		!strings.Contains(stderr.String(), "interrupted") || !strings.HasSuffix(stderr.String(), "("+codeInterrupted+")\n") {
		t.Fatalf("interrupted: %v %q", err, stderr.String())
	}
}
