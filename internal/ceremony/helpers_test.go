package ceremony_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
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

func fps(ms []*member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Fingerprint
	}
	return out
}

// dkg runs a t-of-n DKG among ms, created by ms[0], and returns each
// member's result.
func (p *party) dkg(ms []*member, threshold int) []*client.DKGResult {
	p.t.Helper()
	ctx := p.t.Context()
	info, err := ms[0].Client.StartDKG(ctx, threshold, fps(ms))
	if err != nil {
		p.t.Fatal(err)
	}
	res := make([]*client.DKGResult, len(ms))
	errs := make([]error, len(ms))
	var wg sync.WaitGroup
	for i, m := range ms {
		wg.Go(func() { res[i], errs[i] = m.Client.RunDKG(ctx, info.ID, m.Key, nil) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			p.t.Fatalf("member %d: RunDKG: %v", i, err)
		}
	}
	p.t.Cleanup(func() {
		for _, r := range res {
			r.KeyPackage.Zero()
		}
	})
	return res
}

func approveAll(context.Context, client.SignRequest) (bool, error) { return true, nil }

// sign runs a signing ceremony of msg by signers (indexes into ms and res),
// created by creator, and returns the signature every signer got.
func (p *party) sign(creator *member, ms []*member, res []*client.DKGResult, signers []int, msg []byte) []byte {
	p.t.Helper()
	ctx := p.t.Context()
	var sfps []string
	for _, i := range signers {
		sfps = append(sfps, ms[i].Fingerprint)
	}
	info, err := creator.Client.StartSign(ctx, res[0].KeyID, msg, sfps)
	if err != nil {
		p.t.Fatal(err)
	}
	sigs := make([][]byte, len(signers))
	errs := make([]error, len(signers))
	var wg sync.WaitGroup
	for j, i := range signers {
		wg.Go(func() {
			sigs[j], errs[j] = ms[i].Client.RunSign(ctx, info.ID, ms[i].Key, res[i].KeyID, res[i].KeyPackage, approveAll, nil)
		})
	}
	wg.Wait()
	for j, err := range errs {
		if err != nil {
			p.t.Fatalf("signer %d: RunSign: %v", signers[j], err)
		}
		if !bytes.Equal(sigs[j], sigs[0]) {
			p.t.Fatalf("signers got different signatures")
		}
	}
	return sigs[0]
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
func (p *party) connect(ms []*member) {
	p.t.Helper()
	for i, m := range ms {
		up := make(chan struct{}, 1)
		rt := m.Client.Realtime(p.t.Context(), client.RealtimeOptions{
			OnState: func(connected bool, _ error) {
				if connected {
					select {
					case up <- struct{}{}:
					default:
					}
				}
			},
		})
		p.t.Cleanup(rt.Close)
		select {
		case <-up:
		case <-time.After(10 * time.Second):
			p.t.Fatalf("member %d: no WebSocket", i)
		}
	}
}
