package wsapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/testkit"
	chusmev1 "github.com/chusme/chusme/proto/chusme/v1"
)

// problem sends an authenticated request with access and returns the
// answer's status and problem code.
func problem(t *testing.T, srv *servertest.Server, method, path, access string) (int, string) {
	t.Helper()
	r := testkit.Do(t, method, srv.URL+path, access, nil)
	var p chusme.Problem
	json.Unmarshal(r.Body, &p)
	return r.Status, p.Code
}

// TestEndedSessionSameAnswerEverywhere ends a session (a ban, a logout) and
// presents its credentials everywhere: an HTTP request, a ticket request,
// a WebSocket with ?token=, a ticket fetched before, and a connection open
// since before. One liveness rule answers all of them with one code, the
// close code following from it.
func TestEndedSessionSameAnswerEverywhere(t *testing.T) {
	srv, us := world(t, 2, "--ws-ping-interval", "50ms")
	admin := us[0]
	for _, tc := range []struct {
		name   string
		user   *user
		end    func(t *testing.T, u *user)
		status int
		code   string
		close  int
	}{
		{"banned", us[1], func(t *testing.T, u *user) {
			if _, err := admin.Client.Ban(t.Context(), u.Fingerprint); err != nil {
				t.Fatal(err)
			}
		}, http.StatusForbidden, chusme.CodeBanned, chusmev1.CloseBanned},
		{"logged_out", us[2], func(t *testing.T, u *user) {
			if err := u.Client.Logout(t.Context()); err != nil {
				t.Fatal(err)
			}
		}, http.StatusUnauthorized, chusme.CodeSessionRevoked, chusmev1.CloseTokenInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			access := tc.user.Access(t)
			early := ticket(t, srv, access)
			live := dial(t, wsURL(srv, "token="+access))
			serverInfo(t, live, 1) // registered before the session ends

			tc.end(t, tc.user)

			for _, route := range []string{"GET /v1/me", "POST /v1/ws/tickets"} {
				method, path, _ := strings.Cut(route, " ")
				if status, code := problem(t, srv, method, path, access); status != tc.status || code != tc.code {
					t.Errorf("%s: %d %q, want %d %q", route, status, code, tc.status, tc.code)
				}
			}
			for what, ws := range map[string]func() int{
				"?token=":              func() int { return closeCode(t, dial(t, wsURL(srv, "token="+access))) },
				"?ticket= from before": func() int { return closeCode(t, dial(t, wsURL(srv, "ticket="+early))) },
				"live connection":      func() int { return closeCode(t, live) },
			} {
				if got := ws(); got != tc.close {
					t.Errorf("%s: close %d, want %d", what, got, tc.close)
				}
			}
		})
	}
}
