package ceremony_test

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/servertest"
)

// Five identities, each with its own client, run a 3-of-5 DKG through the
// real server; three different 3-signer subsets then sign three messages,
// and each signature verifies with crypto/ed25519 under the group key the
// server publishes. Afterwards no participant's signing share appears
// anywhere in the database files.
func TestDKGThenThreeSignings(t *testing.T) {
	p := newParty(t, 5)
	ms := p.members
	res := servertest.DKG(p.t, ms, 3)
	for i, r := range res {
		if r.KeyID != res[0].KeyID {
			t.Fatalf("member %d computed key %s, member 0 %s", i, r.KeyID, res[0].KeyID)
		}
	}
	gk, err := ms[4].Client.GroupKey(t.Context(), res[0].KeyID)
	if err != nil {
		t.Fatal(err)
	}
	if gk.Threshold != 3 || len(gk.Participants) != 5 || len(gk.VerifyingShares) != 5 || chusme.GroupKeyID(gk.PublicKey) != gk.KeyID {
		t.Fatalf("group key %+v", gk)
	}
	for i, m := range ms {
		if !bytes.Equal(gk.VerifyingShares[m.Fingerprint], res[i].KeyPackage.VerifyingShare().Bytes()) {
			t.Fatalf("member %d: published verifying share differs", i)
		}
	}

	subsets := [][]int{{0, 1, 2}, {1, 3, 4}, {0, 2, 4}}
	for k, signers := range subsets {
		msg := []byte(fmt.Sprintf("message %d signed by %v", k, signers))
		sig, _ := servertest.Sign(p.t, ms[signers[0]], ms, res, signers, msg)
		if !ed25519.Verify(ed25519.PublicKey(gk.PublicKey), msg, sig) {
			t.Fatalf("subset %v: signature does not verify under the group key", signers)
		}
	}

	files := dbFiles(t, p.srv.DataDir)
	if len(files) == 0 {
		t.Fatal("no database bytes to scan")
	}
	for i, r := range res {
		if s := shareBytes(r.KeyPackage); bytes.Contains(files, s) {
			t.Fatalf("member %d's signing share is in the database", i)
		}
	}
}
