package ceremony_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
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
type member struct {
	fp     string
	key    ed25519.PrivateKey
	c      *client.Client
	tokens *client.MemoryTokenStore
}

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
	p := &party{t: t, srv: srv}
	ctx := t.Context()
	for i := range n {
		m := p.newMember()
		var err error
		if i == 0 {
			_, err = m.c.Setup(ctx, srv.SetupToken(t), m.key)
		} else {
			_, err = m.c.Register(ctx, m.key, "")
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.c.Login(ctx, m.key); err != nil {
			t.Fatal(err)
		}
		p.members = append(p.members, m)
	}
	return p
}

func (p *party) newMember() *member {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		p.t.Fatal(err)
	}
	return p.memberFor(k, &client.MemoryTokenStore{}, p.srv.URL)
}

func (p *party) memberFor(k ed25519.PrivateKey, ts *client.MemoryTokenStore, url string, opts ...client.Option) *member {
	c, err := client.New(url, append([]client.Option{client.WithTokenStore(ts), client.WithIssuer(p.srv.URL)}, opts...)...)
	if err != nil {
		p.t.Fatal(err)
	}
	return &member{fp: chusme.Fingerprint(k.Public().(ed25519.PublicKey)), key: k, c: c, tokens: ts}
}

func fps(ms []*member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.fp
	}
	return out
}

// token returns the member's current access token, for raw requests.
func (m *member) token(t *testing.T) string {
	t.Helper()
	tk, err := m.tokens.Load(t.Context())
	if err != nil || tk.AccessToken == "" {
		t.Fatalf("no token: %v", err)
	}
	return tk.AccessToken
}

// dkg runs a t-of-n DKG among ms, created by ms[0], and returns each
// member's result.
func (p *party) dkg(ms []*member, threshold int) []*client.DKGResult {
	p.t.Helper()
	ctx := p.t.Context()
	info, err := ms[0].c.StartDKG(ctx, ms[0].key, threshold, fps(ms))
	if err != nil {
		p.t.Fatal(err)
	}
	res := make([]*client.DKGResult, len(ms))
	errs := make([]error, len(ms))
	var wg sync.WaitGroup
	for i, m := range ms {
		wg.Go(func() { res[i], errs[i] = m.c.RunDKG(ctx, info.ID, m.key, nil) })
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
		sfps = append(sfps, ms[i].fp)
	}
	info, err := creator.c.StartSign(ctx, creator.key, res[0].KeyID, msg, sfps)
	if err != nil {
		p.t.Fatal(err)
	}
	sigs := make([][]byte, len(signers))
	errs := make([]error, len(signers))
	var wg sync.WaitGroup
	for j, i := range signers {
		wg.Go(func() {
			sigs[j], errs[j] = ms[i].c.RunSign(ctx, info.ID, ms[i].key, res[i].KeyID, res[i].KeyPackage, approveAll, nil)
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

// raw sends a raw HTTP request with a bearer token and returns the status
// and body.
func raw(t *testing.T, method, url, token string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// wantProblem asserts a problem answer with the given status and code.
func wantProblem(t *testing.T, status int, body []byte, wantStatus int, code string) {
	t.Helper()
	var p chusme.Problem
	if status != wantStatus || json.Unmarshal(body, &p) != nil || p.Code != code {
		t.Fatalf("got %d %s, want %d with code %s", status, body, wantStatus, code)
	}
}

// waitStatus long-polls ceremony id as m until it is no longer open.
func waitStatus(t *testing.T, m *member, id string) chusme.CeremonyInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	info, err := m.c.Ceremony(ctx, id)
	for err == nil && info.Status == chusme.CeremonyOpen {
		info, err = m.c.WaitCeremony(ctx, id, info.Version)
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
		rt := m.c.Realtime(p.t.Context(), client.RealtimeOptions{
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
