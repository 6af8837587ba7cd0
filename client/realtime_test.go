package client_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/internal/servertest"
)

// states collects Realtime's connection changes.
func states() (chan bool, func(bool, error)) {
	ch := make(chan bool, 16)
	return ch, func(up bool, _ error) { ch <- up }
}

func want(t *testing.T, ch chan bool, up bool) {
	t.Helper()
	for {
		select {
		case got := <-ch:
			if got == up {
				return
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("Realtime never went %v", map[bool]string{true: "up", false: "down"}[up])
		}
	}
}

func waitDone(t *testing.T, rt *client.Realtime) error {
	t.Helper()
	select {
	case <-rt.Done():
		return rt.Err()
	case <-time.After(15 * time.Second):
		t.Fatal("Realtime did not stop")
		return nil
	}
}

func TestRealtimeReconnectsAfterRestart(t *testing.T) {
	ctx := t.Context()
	s := servertest.Start(t)
	user := s.SetUp(t).User
	ch, onState := states()
	rt := user.Realtime(ctx, client.RealtimeOptions{OnState: onState})
	defer rt.Close()
	want(t, ch, true)
	info, err := rt.ServerInfo(ctx)
	if err != nil || info.GetName() != "chusme" {
		t.Fatalf("ServerInfo = %v, %v", info, err)
	}
	// Shutdown closes with 1001: Realtime reconnects to the restarted server.
	u, _ := url.Parse(s.URL)
	s.Stop(t)
	want(t, ch, false)
	servertest.StartIn(t, s.DataDir, "--listen", u.Host)
	want(t, ch, true)
	if _, err := rt.ServerInfo(ctx); err != nil {
		t.Fatalf("ServerInfo after the restart: %v", err)
	}
	if rt.Err() != nil {
		t.Fatalf("Err = %v while running", rt.Err())
	}
}

func TestRealtimeStopsWhenBanned(t *testing.T) {
	ctx := t.Context()
	s := servertest.Start(t)
	ids := s.SetUp(t)
	admin, user := ids.Admin, ids.User
	me, err := user.Me(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ch, onState := states()
	rt := user.Realtime(ctx, client.RealtimeOptions{OnState: onState, TokenInQuery: true})
	want(t, ch, true)
	if _, err := admin.Ban(ctx, me.Fingerprint); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "Realtime after a ban (4003)", waitDone(t, rt), chusme.CodeBanned)
}

func TestRealtimeStopsWhenSessionEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// A short ping interval: the session is rechecked at every ping.
	s := servertest.Start(t, "--ws-ping-interval", "50ms")
	user := s.SetUp(t).User
	ch, onState := states()
	rt := user.Realtime(ctx, client.RealtimeOptions{OnState: onState})
	want(t, ch, true)
	if err := user.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	err := waitDone(t, rt)
	if code := chusme.ErrorCode(err); code != chusme.CodeTokenInvalid && code != chusme.CodeUnauthorized {
		t.Fatalf("Realtime after logout: %v, want token_invalid (4002) or not logged in", err)
	}
}

// A connection closed with 4029 (it kept sending while rate limited) comes
// back, but only after RateLimitedBackoff, although the limit refills at
// once.
func TestRealtimeBacksOffAfterTooManyRequests(t *testing.T) {
	ctx := t.Context()
	s := servertest.Start(t, "--rate-identity", "300/m:40", "--rate-ip", "0")
	user := s.SetUp(t).User
	ch, onState := states()
	rt := user.Realtime(ctx, client.RealtimeOptions{OnState: onState})
	defer rt.Close()
	want(t, ch, true)
	refused := 0
	for i := 0; ; i++ {
		_, err := rt.ServerInfo(ctx)
		if chusme.ErrorCode(err) == chusme.CodeRateLimited {
			refused++
			continue
		}
		if err != nil || i == 1000 {
			break
		}
	}
	// The server closes after 16 refusals in a row; the client's own
	// catch-up request after connecting may be one of them, refused
	// while this loop ran.
	if refused < 15 {
		t.Fatalf("%d requests refused before the close, want 16 (15 when the catch-up was refused too)", refused)
	}
	want(t, ch, false)
	down := time.Now()
	want(t, ch, true)
	if d := time.Since(down); d < client.RateLimitedBackoff {
		t.Errorf("reconnected %v after a 4029, want at least %v", d, client.RateLimitedBackoff)
	}
}
