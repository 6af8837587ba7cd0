package servertest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
)

// Gated returns member m with a new client, logged in, that reaches the
// server through a proxy holding m's ceremony submissions of round r until
// release is closed: a participant that is slow in round r, so that the
// round can't end before the test lets it.
func (s *Server) Gated(t testing.TB, m *Member, r int, release <-chan struct{}) *Member {
	t.Helper()
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	suffix := "/rounds/" + strconv.Itoa(r)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, suffix) {
			select {
			case <-release:
			case <-req.Context().Done():
				return
			}
		}
		rp.ServeHTTP(w, req)
	}))
	t.Cleanup(proxy.Close)
	g := NewMember(t, proxy.URL, m.Key, client.WithIssuer(s.URL))
	g.Login(t)
	return g
}

// WaitSubmitted long-polls ceremony id through c until it is open in round
// r with fp's round-r package, and returns that state.
func WaitSubmitted(ctx context.Context, t testing.TB, c *client.Client, id, fp string, r int) chusme.CeremonyInfo {
	t.Helper()
	info, err := c.Ceremony(ctx, id)
	for err == nil && !(info.Status == chusme.CeremonyOpen && info.Round == r && slices.Contains(info.Submitted, fp)) {
		if info.Status != chusme.CeremonyOpen || info.Round > r {
			t.Fatalf("ceremony %s went past round %d (%s, round %d) without %s's package", id, r, info.Status, info.Round, fp)
		}
		info, err = c.WaitCeremony(ctx, id, info.Version)
	}
	if err != nil {
		t.Fatal(err)
	}
	return info
}
