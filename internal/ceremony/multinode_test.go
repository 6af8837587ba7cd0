package ceremony_test

import (
	"crypto/ed25519"
	"strings"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/internal/postgres/pgtest"
	"github.com/chusme/chusme/internal/servertest"
)

// TestTwoNodesDKGAndSigning runs two servers on one PostgreSQL database with
// five participants spread over both: a 3-of-5 DKG and a signing ceremony
// created on the other node complete on pushed WebSocket events alone (no
// status polls in either node's log), and the signature verifies.
func TestTwoNodesDKGAndSigning(t *testing.T) {
	dsn := pgtest.FreshDatabase(t)
	const issuer = "http://chusme.test"
	dir := t.TempDir()
	args := []string{"--database", dsn, "--issuer", issuer, "--registration", "open"}
	nodes := []*servertest.Server{servertest.StartIn(t, dir, args...), servertest.StartIn(t, dir, args...)}
	p := &party{t: t, srv: nodes[0]}
	ctx := t.Context()
	setup := nodes[1].SetupToken(t) // the last node to start wrote the live setup token
	for i := range 5 {
		m := servertest.NewMember(t, nodes[i%2].URL, nil, client.WithIssuer(issuer))
		if i == 0 {
			m.Setup(t, setup)
		} else {
			m.Register(t, "")
		}
		p.members = append(p.members, m)
	}
	ms := p.members
	p.connect(ms)

	res := servertest.DKG(p.t, ms, 3) // created by member 0, on node 0
	msg := []byte("signed across two nodes")
	sig, _ := servertest.Sign(p.t, ms[1], ms, res, []int{1, 2, 3}, msg) // created on node 1
	gk, err := ms[4].Client.GroupKey(ctx, res[0].KeyID)
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.Verify(ed25519.PublicKey(gk.PublicKey), msg, sig) {
		t.Fatal("signature does not verify under the group key")
	}
	for i, n := range nodes {
		if c := strings.Count(n.Logs(), `"route":"GET /v1/ceremonies/{id}"`); c != 0 {
			t.Errorf("node %d: %d ceremony status requests (polling), want 0: events did not cross nodes", i, c)
		}
	}
	if info, err := ms[3].Client.Ceremony(ctx, res[0].Ceremony.ID); err != nil || info.Status != chusme.CeremonyCompleted {
		t.Fatalf("DKG seen from node 1: %+v %v", info.Status, err)
	}
}
