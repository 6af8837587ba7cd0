package ceremony_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/frost"
	"github.com/chusme/chusme/internal/servertest"
)

// member is one identity with its own client.
type member = servertest.Member

// party is a running server and its members; members[0] is the admin.
type party struct {
	t       testing.TB
	srv     *servertest.Server
	members []*member
}

// newParty starts a server with args and registers n identities, the first
// as administrator, each logged in with its own client.
func newParty(t testing.TB, n int, args ...string) *party {
	t.Helper()
	srv := servertest.Start(t, append([]string{"--registration", "open"}, args...)...)
	return &party{t: t, srv: srv, members: srv.Members(t, n)}
}

// waitStatus long-polls ceremony id as m until it is no longer open.
func waitStatus(t *testing.T, m *member, id string) chusme.CeremonyInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	info, err := m.Client.Ceremony(ctx, id)
	for err == nil && info.Status == chusme.CeremonyOpen {
		info, err = m.Client.WaitCeremony(ctx, id, info.Version)
	}
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// dbFiles returns the bytes of the SQLite database and its WAL.
func dbFiles(t *testing.T, dir string) []byte {
	t.Helper()
	var all []byte
	for _, name := range []string{"chusme.db", "chusme.db-wal"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

// keyPackageOf is a participant's frost key package, for adversarial tests.
func shareBytes(kp *frost.KeyPackage) []byte { return kp.SigningShare().Bytes() }

// connect opens every member's realtime WebSocket, as production clients
// do, and waits until all are up: the drivers then follow pushed events
// instead of long-polling.
func (p *party) connect(ms []*member) { p.connectWith(ms, client.RealtimeOptions{}) }

// connectAPI is connect with the WebSocket's ceremony API on: the clients
// send their ceremony requests over it too.
func (p *party) connectAPI(ms []*member) {
	p.connectWith(ms, client.RealtimeOptions{CeremonyAPI: true})
}

// connectWith opens every member's realtime WebSocket with opts (its
// OnState replaced) and waits until all are up.
func (p *party) connectWith(ms []*member, opts client.RealtimeOptions) {
	p.t.Helper()
	for i, m := range ms {
		up := make(chan struct{}, 1)
		opts.OnState = func(connected bool, _ error) {
			if connected {
				select {
				case up <- struct{}{}:
				default:
				}
			}
		}
		rt := m.Client.Realtime(p.t.Context(), opts)
		p.t.Cleanup(rt.Close)
		select {
		case <-up:
		case <-time.After(10 * time.Second):
			p.t.Fatalf("member %d: no WebSocket", i)
		}
	}
}
