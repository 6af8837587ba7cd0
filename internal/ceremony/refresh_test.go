package ceremony_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/testkit"
)

// refresh runs a refresh of the key of res (a DKG among ms) by the members
// keep (indexes into ms and res), created by ms[keep[0]], and returns each
// keeper's result, in keep's order.
func refresh(t testing.TB, ms []*member, res []*client.DKGResult, generation int, keep ...int) []*client.DKGResult {
	t.Helper()
	var fps []string
	for _, i := range keep {
		fps = append(fps, ms[i].Fingerprint)
	}
	creator := ms[keep[0]]
	info, err := creator.Client.CreateCeremony(t.Context(), creator.Key, chusme.CreateCeremonyRequest{Kind: chusme.KindRefresh,
		KeyID: res[keep[0]].KeyID, Participants: fps})
	if err != nil {
		t.Fatalf("creating the refresh: %v", err)
	}
	out := make([]*client.DKGResult, len(keep))
	errs := make([]error, len(keep))
	var wg sync.WaitGroup
	for j, i := range keep {
		old := client.OldShare{KeyPackage: res[i].KeyPackage, PublicKeyPackage: res[i].PublicKeyPackage, Generation: generation}
		wg.Go(func() { out[j], errs[j] = ms[i].Client.RunRefresh(t.Context(), info.ID, ms[i].Key, old, nil) })
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, r := range out {
			if r != nil {
				r.KeyPackage.Zero()
			}
		}
	})
	for j, err := range errs {
		if err != nil {
			t.Fatalf("member %d: RunRefresh: %v", keep[j], err)
		}
	}
	return out
}

// A 3-of-5 key signs, is refreshed without its fifth holder, and signs
// again under the same public key with the new shares; the server keeps
// the first generation in the key's history, and a signing set that mixes
// an old share with new ones is refused naming the old one.
func TestRefreshRemovesAHolder(t *testing.T) {
	p := newParty(t, 5)
	ms := p.members
	res := servertest.DKG(t, ms, 3)
	before, _ := servertest.Sign(t, ms[0], ms, res, []int{0, 1, 2}, []byte("before the refresh"))
	if !ed25519.Verify(res[0].PublicKeyPackage.VerifyingKey().Ed25519(), []byte("before the refresh"), before) {
		t.Fatal("the first signature does not verify")
	}

	fresh := refresh(t, ms, res, 1, 0, 1, 2, 3)
	keyID := res[0].KeyID
	for j, r := range fresh {
		if r.KeyID != keyID || !r.PublicKeyPackage.VerifyingKey().Equal(res[0].PublicKeyPackage.VerifyingKey()) {
			t.Fatalf("member %d: the refresh made key %s, not %s", j, r.KeyID, keyID)
		}
		if r.PublicKeyPackage.MaxSigners() != 4 || r.KeyPackage.MinSigners() != 3 {
			t.Fatalf("member %d: the refreshed key is %d-of-%d", j, r.KeyPackage.MinSigners(), r.PublicKeyPackage.MaxSigners())
		}
		if bytes.Equal(r.KeyPackage.SigningShare().Bytes(), res[j].KeyPackage.SigningShare().Bytes()) {
			t.Fatalf("member %d: the refresh left the share unchanged", j)
		}
	}
	gk, err := ms[1].Client.GroupKey(t.Context(), keyID)
	if err != nil {
		t.Fatal(err)
	}
	if gk.Generation != 2 || !slices.Equal(gk.Participants, slices.Sorted(slices.Values(servertest.Fingerprints(ms[:4])))) || gk.Certificate == nil || len(gk.Certificate.Confirmations) != 4 {
		t.Fatalf("the stored key after the refresh: generation %d, participants %v", gk.Generation, gk.Participants)
	}
	first, err := ms[1].Client.GroupKeyGeneration(t.Context(), keyID, 1)
	if err != nil || first.Generation != 1 || len(first.Participants) != 5 || first.CeremonyID != res[0].Ceremony.ID {
		t.Fatalf("generation 1 in the history: %+v, %v", first, err)
	}
	if _, err := ms[1].Client.GroupKeyGeneration(t.Context(), keyID, 3); chusme.ErrorCode(err) != chusme.CodeNotFound {
		t.Fatalf("generation 3 of a generation-2 key: %v", err)
	}

	// The new shares sign, under the same key.
	msg := []byte("after the refresh")
	news := append(fresh, nil)
	after, info := servertest.Sign(t, ms[1], ms[:4], news[:4], []int{1, 2, 3}, msg)
	if info.KeyGeneration != 2 || !ed25519.Verify(ed25519.PublicKey(gk.PublicKey), msg, after) {
		t.Fatalf("signing with the new shares: generation %d, verifies %v", info.KeyGeneration, ed25519.Verify(ed25519.PublicKey(gk.PublicKey), msg, after))
	}

	// The removed holder is no signer any more.
	if _, err := ms[0].Client.StartSign(t.Context(), ms[0].Key, keyID, msg, servertest.Fingerprints([]*member{ms[4], ms[1], ms[2]})); chusme.ErrorCode(err) != chusme.CodeInvalidRequest {
		t.Fatalf("a signing ceremony naming the removed holder: %v", err)
	}

	// An old share among new ones: its signature share fails against the
	// new verifying share, and the ceremony names it.
	info, err = ms[0].Client.StartSign(t.Context(), ms[0].Key, keyID, msg, servertest.Fingerprints(ms[:3]))
	if err != nil {
		t.Fatal(err)
	}
	kps := []*client.DKGResult{res[0], fresh[1], fresh[2]}
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			_, errs[i] = ms[i].Client.RunSign(t.Context(), info.ID, ms[i].Key, keyID, kps[i].KeyPackage, servertest.ApproveAll, nil)
		})
	}
	wg.Wait()
	got := waitStatus(t, ms[1], info.ID)
	if got.Status != chusme.CeremonyFailed || got.Failure.Reason != chusme.FailSignatureShare || !slices.Equal(got.Failure.Culprits, []string{ms[0].Fingerprint}) {
		t.Fatalf("signing with an old share among new ones: %+v %+v (%v)", got.Status, got.Failure, errs)
	}
}

// A refresh request names the generation it replaces: one that names an
// older generation is refused, and a holder whose share is of another
// generation than the ceremony's refuses to take part, saying which.
func TestRefreshGenerations(t *testing.T) {
	p := newParty(t, 3)
	ms := p.members
	res := servertest.DKG(t, ms, 2)
	keyID := res[0].KeyID
	// A request for generation 1, signed now and sent once the key is at 2.
	req := chusme.CreateCeremonyRequest{Kind: chusme.KindRefresh, KeyID: keyID}
	stale, err := ms[0].Client.SignCeremonyRequest(t.Context(), ms[0].Key, req)
	if err != nil || stale.Generation != 1 || stale.Threshold != 2 {
		t.Fatalf("signing a refresh request: generation %d, threshold %d, %v", stale.Generation, stale.Threshold, err)
	}
	refresh(t, ms, res, 1, 0, 1, 2)
	tokens, err := ms[0].Tokens.Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	testkit.Do(t, http.MethodPost, p.srv.URL+"/v1/ceremonies", tokens.AccessToken, stale).Expect(t, http.StatusConflict, chusme.CodeConflict)

	// A refresh of generation 2, joined with a generation-1 share.
	info, err := ms[0].Client.CreateCeremony(t.Context(), ms[0].Key, req)
	if err != nil {
		t.Fatal(err)
	}
	old := client.OldShare{KeyPackage: res[1].KeyPackage, PublicKeyPackage: res[1].PublicKeyPackage, Generation: 1}
	_, err = ms[1].Client.RunRefresh(t.Context(), info.ID, ms[1].Key, old, nil)
	if err == nil || errors.Is(err, client.ErrInconsistent) || !bytes.Contains([]byte(err.Error()), []byte("generation 2")) {
		t.Fatalf("joining a generation-2 refresh with a generation-1 share: %v", err)
	}
}
