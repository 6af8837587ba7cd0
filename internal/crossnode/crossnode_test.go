package crossnode_test

import (
	"context"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/internal/postgres/pgtest"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/testkit"
)

// TestCrossNodeEvents: two nodes on one PostgreSQL database. A WebSocket
// client connected to node b receives the events of a ceremony created and
// cancelled through node a, and a ban issued on node a closes its WebSocket
// on node b with 4003. Node b pings once an hour, so only the cross-node
// events (not its session check) can deliver either in time.
func TestCrossNodeEvents(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	const issuer = "http://chusme.test" // both nodes'
	dsn := pgtest.FreshDatabase(t)
	dir := t.TempDir()
	a := servertest.StartIn(t, dir, "--database", dsn, "--issuer", issuer)
	b := servertest.StartIn(t, dir, "--database", dsn, "--issuer", issuer, "--ws-ping-interval", "1h")

	ids := a.SetUp(t, client.WithIssuer(issuer))
	admin, user, onA := ids.AdminKey, ids.UserKey, ids.Admin
	onB := servertest.NewMember(t, b.URL, user, client.WithIssuer(issuer))
	onB.Login(t)

	events := make(chan chusme.CeremonyInfo, 64)
	up := make(chan bool, 16)
	rt := onB.Client.Realtime(ctx, client.RealtimeOptions{
		OnEvent: func(c chusme.CeremonyInfo) { events <- c },
		OnState: func(connected bool, _ error) { up <- connected },
	})
	defer rt.Close()
	for connected := false; !connected; {
		select {
		case connected = <-up:
		case <-ctx.Done():
			t.Fatal("the WebSocket to node b never came up")
		}
	}
	waitEvent := func(id, status string) chusme.CeremonyInfo {
		t.Helper()
		for {
			select {
			case ev := <-events:
				if ev.ID == id && ev.Status == status {
					return ev
				}
			case <-rt.Done():
				t.Fatalf("Realtime stopped: %v", rt.Err())
			case <-ctx.Done():
				t.Fatalf("no %s event of ceremony %s on node b", status, id)
			}
		}
	}

	info, err := onA.StartDKG(ctx, admin, 2, []string{testkit.Fingerprint(admin), onB.Fingerprint})
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(info.ID, chusme.CeremonyOpen)
	// The creation may have arrived through the catch-up after connecting;
	// the cancellation comes later, so only a push can bring it.
	cancelled, err := onA.CancelCeremony(ctx, info.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := waitEvent(info.ID, chusme.CeremonyCancelled); got.Version != cancelled.Version {
		t.Fatalf("event version %d, want %d", got.Version, cancelled.Version)
	}

	if _, err := onA.Ban(ctx, onB.Fingerprint); err != nil {
		t.Fatal(err)
	}
	select {
	case <-rt.Done():
		if chusme.ErrorCode(rt.Err()) != chusme.CodeBanned {
			t.Fatalf("Realtime on node b ended with %v, want identity_banned (4003)", rt.Err())
		}
	case <-ctx.Done():
		t.Fatal("the ban on node a did not close the WebSocket on node b")
	}
}
