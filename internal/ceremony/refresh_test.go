package ceremony_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/frost"
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

// reshare runs a reshare of generation of the key of res (the shares of
// ms[:len(res)]) by every member of ms to the new holders (indexes into
// ms) with threshold t, and returns each member's result, in ms's order.
func reshare(t testing.TB, ms []*member, res []*client.DKGResult, generation, threshold int, newHolders ...int) []*client.DKGResult {
	t.Helper()
	var fps []string
	for _, i := range newHolders {
		fps = append(fps, ms[i].Fingerprint)
	}
	return servertest.KeyChange(t, ms, res, generation, chusme.CreateCeremonyRequest{Kind: chusme.KindReshare, Threshold: threshold, NewParticipants: fps})
}

// A 2-of-3 group reshared to 3-of-5 (its three holders deal, two new
// members join) keeps its public key and id, and three of the five new
// holders sign under it, two of them new.
func TestReshareTwoOfThreeToThreeOfFive(t *testing.T) {
	p := newParty(t, 5)
	ms := p.members
	res := servertest.DKG(t, ms[:3], 2)
	fresh := reshare(t, ms, res, 1, 3, 0, 1, 2, 3, 4)
	for i, r := range fresh {
		if r.KeyID != res[0].KeyID || r.KeyPackage == nil || r.KeyPackage.MinSigners() != 3 || r.PublicKeyPackage.MaxSigners() != 5 ||
			!r.PublicKeyPackage.VerifyingKey().Equal(res[0].PublicKeyPackage.VerifyingKey()) {
			t.Fatalf("member %d: the reshare left %+v", i, r)
		}
	}
	gk, err := ms[4].Client.GroupKey(t.Context(), res[0].KeyID)
	if err != nil || gk.Generation != 2 || gk.Threshold != 3 || len(gk.Participants) != 5 {
		t.Fatalf("the stored key after the reshare: %+v, %v", gk, err)
	}
	msg := []byte("three of five, two of them new")
	sig, info := servertest.Sign(t, ms[3], ms, fresh, []int{1, 3, 4}, msg)
	if info.Threshold != 3 || !ed25519.Verify(res[0].PublicKeyPackage.VerifyingKey().Ed25519(), msg, sig) {
		t.Fatalf("signing after the reshare: threshold %d", info.Threshold)
	}
}

// A 3-of-4 group reshared to 2-of-2 among one old holder and one newcomer:
// three holders deal, two of them leave (their drivers end without a key
// package), and the new pair signs under the same key.
func TestReshareShrinks(t *testing.T) {
	p := newParty(t, 5)
	ms := p.members
	res := servertest.DKG(t, ms[:4], 3)
	// ms[3] takes no part: three of the four holders are enough to deal.
	members := []*member{ms[0], ms[1], ms[2], ms[4]}
	fresh := reshare(t, members, res[:3], 1, 2, 2, 3)
	for i, r := range fresh {
		if holds := r.KeyPackage != nil; holds != (i >= 2) {
			t.Fatalf("member %d: holds a new share: %v", i, holds)
		}
	}
	msg := []byte("a smaller group")
	sig, _ := servertest.Sign(t, ms[2], members[2:], fresh[2:], nil, msg)
	if !ed25519.Verify(res[0].PublicKeyPackage.VerifyingKey().Ed25519(), msg, sig) {
		t.Fatal("the shrunk group's signature does not verify")
	}
}

// A dealer whose reshare commitment does not commit to its own share (it
// deals another holder's) fails the reshare at once, named; the honest
// participants learn of the failure.
func TestReshareBadCommitmentNamed(t *testing.T) {
	p := newParty(t, 4)
	ms := p.members
	res := servertest.DKG(t, ms[:3], 2)
	info, err := ms[0].Client.CreateCeremony(t.Context(), ms[0].Key, chusme.CreateCeremonyRequest{Kind: chusme.KindReshare,
		KeyID: res[0].KeyID, Threshold: 2, Participants: servertest.Fingerprints(ms), NewParticipants: servertest.Fingerprints(ms[1:])})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]frost.Identifier{}
	for _, m := range ms {
		ids[m.Fingerprint], _ = frost.DeriveIdentifier([]byte(m.Fingerprint))
	}
	params := frost.ReshareParams{NewMinSigners: 2}
	for _, fp := range info.Dealers {
		params.Dealers = append(params.Dealers, ids[fp])
	}
	for _, fp := range info.NewParticipants {
		params.NewIdentifiers = append(params.NewIdentifiers, ids[fp])
	}
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := 1; i < 4; i++ {
		var old *client.OldShare
		if i < 3 {
			old = &client.OldShare{KeyPackage: res[i].KeyPackage, PublicKeyPackage: res[i].PublicKeyPackage, Generation: 1}
		}
		wg.Go(func() { _, errs[i-1] = ms[i].Client.RunReshare(t.Context(), info.ID, ms[i].Key, old, nil) })
	}
	// ms[0] deals member 1's share as if it were its own.
	com, shares, err := frost.ReshareDeal(nil, res[1].KeyPackage, params)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range shares {
		s.Zero()
	}
	b, _ := com.MarshalBinary()
	_, err = ms[0].Client.Submit(t.Context(), info.ID, 1, signed(ms[0], info.ID, 1, chusme.DKGRound1Payload(bytes.Repeat([]byte{9}, 32), b)))
	if chusme.ErrorCode(err) != chusme.CodeInvalidPackage {
		t.Fatalf("a commitment to another holder's share: %v", err)
	}
	wg.Wait()
	got := waitStatus(t, ms[1], info.ID)
	if got.Status != chusme.CeremonyFailed || got.Failure.Reason != chusme.FailInvalidCommitment || !slices.Equal(got.Failure.Culprits, []string{ms[0].Fingerprint}) {
		t.Fatalf("the reshare after a bad commitment: %s %+v", got.Status, got.Failure)
	}
	for i, err := range errs {
		var ce *client.CeremonyError
		if !errors.As(err, &ce) || ce.Info.Failure.Reason != chusme.FailInvalidCommitment {
			t.Fatalf("member %d: %v", i+1, err)
		}
	}
}

// repair runs a repair of member lost's share of the key of res (a DKG
// among ms) by the helpers (indexes into ms), and returns each
// participant's result: the helpers' in their order, then lost's.
func repair(t testing.TB, ms []*member, res []*client.DKGResult, lost int, helpers ...int) []*client.DKGResult {
	t.Helper()
	who := append(slices.Clone(helpers), lost)
	var fps []string
	for _, i := range who {
		fps = append(fps, ms[i].Fingerprint)
	}
	creator := ms[helpers[0]]
	info, err := creator.Client.CreateCeremony(t.Context(), creator.Key, chusme.CreateCeremonyRequest{Kind: chusme.KindRepair,
		KeyID: res[0].KeyID, Participants: fps, NewParticipants: []string{ms[lost].Fingerprint}})
	if err != nil {
		t.Fatal(err)
	}
	if info.Rounds != chusme.RepairRounds || info.Threshold != res[0].KeyPackage.MinSigners() || len(info.Dealers) != len(helpers) {
		t.Fatalf("the repair: %+v", info)
	}
	out := make([]*client.DKGResult, len(who))
	errs := make([]error, len(who))
	var wg sync.WaitGroup
	for j, i := range who {
		var share *client.OldShare
		if i != lost {
			share = &client.OldShare{KeyPackage: res[i].KeyPackage, PublicKeyPackage: res[i].PublicKeyPackage, Generation: 1}
		}
		wg.Go(func() { out[j], errs[j] = ms[i].Client.RunRepair(t.Context(), info.ID, ms[i].Key, share, nil) })
	}
	wg.Wait()
	for j, err := range errs {
		if err != nil {
			t.Fatalf("participant %d: RunRepair: %v", who[j], err)
		}
	}
	t.Cleanup(func() {
		if kp := out[len(out)-1].KeyPackage; kp != nil {
			kp.Zero()
		}
	})
	return out
}

// A holder of a 3-of-5 key loses its share; three others repair it, and
// the rebuilt share is the lost one and signs with two others. The key
// and its generation stay as they were.
func TestRepairLostShare(t *testing.T) {
	p := newParty(t, 5)
	ms := p.members
	res := servertest.DKG(t, ms, 3)
	out := repair(t, ms, res, 4, 0, 1, 2)
	for i, r := range out {
		if holds := r.KeyPackage != nil; holds != (i == 3) {
			t.Fatalf("participant %d holds a key package: %v", i, holds)
		}
	}
	lost := ms[4]
	repaired := out[3].KeyPackage
	if !bytes.Equal(repaired.SigningShare().Bytes(), res[4].KeyPackage.SigningShare().Bytes()) {
		t.Fatal("the repaired share is not the lost one")
	}
	gk, err := lost.Client.GroupKey(t.Context(), res[0].KeyID)
	if err != nil || gk.Generation != 1 {
		t.Fatalf("the key after a repair: generation %d, %v", gk.Generation, err)
	}
	after := slices.Clone(res)
	after[4] = &client.DKGResult{KeyID: res[4].KeyID, KeyPackage: repaired, PublicKeyPackage: res[4].PublicKeyPackage}
	msg := []byte("signed by a repaired share")
	sig, _ := servertest.Sign(t, lost, ms, after, []int{4, 0, 3}, msg)
	if !ed25519.Verify(res[0].PublicKeyPackage.VerifyingKey().Ed25519(), msg, sig) {
		t.Fatal("the signature with the repaired share does not verify")
	}
}

// Refresh, reshare and repair requests that don't fit the key are refused
// with a clear code and create nothing; a generation that is no number
// from 1 is a bad request, one the key never had not found.
func TestKeyChangeRequestsRefused(t *testing.T) {
	p := newParty(t, 5)
	ms := p.members
	res := servertest.DKG(t, ms[:3], 2)
	key := res[0].KeyID
	fps := func(is ...int) []string {
		var out []string
		for _, i := range is {
			out = append(out, ms[i].Fingerprint)
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		by      int
		req     chusme.CreateCeremonyRequest
		code    string
		message string
	}{
		{"refresh by a non-holder", 3, chusme.CreateCeremonyRequest{Kind: chusme.KindRefresh, KeyID: key}, chusme.CodeNotFound, "no such key"},
		{"refresh of an unknown key", 1, chusme.CreateCeremonyRequest{Kind: chusme.KindRefresh, KeyID: strings.Repeat("ab", 32)}, chusme.CodeNotFound, "no such key"},
		{"refresh keeping a non-holder", 1, chusme.CreateCeremonyRequest{Kind: chusme.KindRefresh, KeyID: key, Participants: fps(1, 3)}, chusme.CodeInvalidRequest, "holds no share"},
		{"refresh below the threshold", 1, chusme.CreateCeremonyRequest{Kind: chusme.KindRefresh, KeyID: key, Participants: fps(1)}, chusme.CodeInvalidRequest, "at least 2 holders"},
		{"refresh with new participants", 1, chusme.CreateCeremonyRequest{Kind: chusme.KindRefresh, KeyID: key, NewParticipants: fps(3)}, chusme.CodeInvalidRequest, "no new_participants"},
		{"reshare to one holder", 1, chusme.CreateCeremonyRequest{Kind: chusme.KindReshare, KeyID: key, Threshold: 2, NewParticipants: fps(3)}, chusme.CodeInvalidRequest, "2 to 255 new participants"},
		{"reshare above its holders", 1, chusme.CreateCeremonyRequest{Kind: chusme.KindReshare, KeyID: key, Threshold: 3, NewParticipants: fps(3, 4)}, chusme.CodeInvalidRequest, "threshold from 2"},
		{"reshare with one dealer", 1, chusme.CreateCeremonyRequest{Kind: chusme.KindReshare, KeyID: key, Threshold: 2, Participants: fps(1, 3, 4), NewParticipants: fps(3, 4)}, chusme.CodeInvalidRequest, "at least 2 of its holders to deal"},
		{"reshare with a stranger", 1, chusme.CreateCeremonyRequest{Kind: chusme.KindReshare, KeyID: key, Threshold: 2, Participants: fps(0, 1, 2, 3, 4), NewParticipants: fps(3, 0)}, chusme.CodeInvalidRequest, "neither holds a share"},
		{"reshare to a non-participant", 1, chusme.CreateCeremonyRequest{Kind: chusme.KindReshare, KeyID: key, Threshold: 2, Participants: fps(0, 1, 2), NewParticipants: fps(1, 4)}, chusme.CodeInvalidRequest, "is not a participant"},
		{"repair of two holders", 1, chusme.CreateCeremonyRequest{Kind: chusme.KindRepair, KeyID: key, Participants: fps(0, 1, 2), NewParticipants: fps(0, 2)}, chusme.CodeInvalidRequest, "one holder"},
		{"repair of a non-holder", 1, chusme.CreateCeremonyRequest{Kind: chusme.KindRepair, KeyID: key, Participants: fps(0, 1, 3), NewParticipants: fps(3)}, chusme.CodeInvalidRequest, "one holder"},
		{"repair without its holder", 1, chusme.CreateCeremonyRequest{Kind: chusme.KindRepair, KeyID: key, Participants: fps(0, 1), NewParticipants: fps(2)}, chusme.CodeInvalidRequest, "is not one"},
		{"repair with one helper", 1, chusme.CreateCeremonyRequest{Kind: chusme.KindRepair, KeyID: key, Participants: fps(1, 2), NewParticipants: fps(2)}, chusme.CodeInvalidRequest, "at least 2 helpers"},
		{"repair helped by a non-holder", 1, chusme.CreateCeremonyRequest{Kind: chusme.KindRepair, KeyID: key, Participants: fps(0, 2, 3), NewParticipants: fps(2)}, chusme.CodeInvalidRequest, "holds no share"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := ms[tc.by]
			_, err := m.Client.CreateCeremony(t.Context(), m.Key, tc.req)
			if chusme.ErrorCode(err) != tc.code || !strings.Contains(err.Error(), tc.message) {
				t.Fatalf("%v, want %s mentioning %q", err, tc.code, tc.message)
			}
		})
	}
	tokens, err := ms[1].Tokens.Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for g, want := range map[string]int{"0": http.StatusBadRequest, "01": http.StatusBadRequest, "x": http.StatusBadRequest,
		"2": http.StatusNotFound, "1": http.StatusOK} {
		if got := testkit.Do(t, http.MethodGet, p.srv.URL+"/v1/keys/"+key+"/generations/"+g, tokens.AccessToken, nil).Status; got != want {
			t.Errorf("generation %q: status %d, want %d", g, got, want)
		}
	}
	for _, m := range ms {
		list, err := m.Client.Ceremonies(t.Context(), chusme.CeremonyOpen)
		if err != nil || len(list) != 0 {
			t.Fatalf("open ceremonies after the refusals: %d, %v", len(list), err)
		}
	}
}

// A repair helper whose round-1 commitment does not add up to its part of
// the lost share (here: its deltas made from another helper's share) fails
// the repair at once, invalid_commitment, naming it; the honest drivers
// learn the failure.
func TestRepairBadCommitmentNamed(t *testing.T) {
	p := newParty(t, 4)
	ms := p.members
	res := servertest.DKG(t, ms, 2)
	info, err := ms[1].Client.CreateCeremony(t.Context(), ms[1].Key, chusme.CreateCeremonyRequest{Kind: chusme.KindRepair,
		KeyID: res[0].KeyID, Participants: servertest.Fingerprints(ms[:3]), NewParticipants: []string{ms[2].Fingerprint}})
	if err != nil {
		t.Fatal(err)
	}
	helpers := make([]frost.Identifier, 0, len(info.Dealers))
	for _, fp := range info.Dealers {
		id, _ := frost.DeriveIdentifier([]byte(fp))
		helpers = append(helpers, id)
	}
	lost, _ := frost.DeriveIdentifier([]byte(ms[2].Fingerprint))
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := 1; i < 3; i++ {
		var old *client.OldShare
		if i == 1 {
			old = &client.OldShare{KeyPackage: res[i].KeyPackage, PublicKeyPackage: res[i].PublicKeyPackage, Generation: 1}
		}
		wg.Go(func() { _, errs[i-1] = ms[i].Client.RunRepair(t.Context(), info.ID, ms[i].Key, old, nil) })
	}
	// ms[0] commits to deltas of ms[1]'s share, as if it were its own.
	deltas, err := frost.RepairSharePart1(nil, helpers, res[1].KeyPackage, lost)
	if err != nil {
		t.Fatal(err)
	}
	com, err := frost.CommitRepairDeltas(deltas)
	for _, d := range deltas {
		d.Zero()
	}
	if err != nil {
		t.Fatal(err)
	}
	b, _ := com.MarshalBinary()
	_, err = ms[0].Client.Submit(t.Context(), info.ID, 1, signed(ms[0], info.ID, 1, chusme.DKGRound1Payload(bytes.Repeat([]byte{9}, 32), b)))
	if chusme.ErrorCode(err) != chusme.CodeInvalidPackage {
		t.Fatalf("a commitment to another helper's deltas: %v", err)
	}
	wg.Wait()
	got := waitStatus(t, ms[1], info.ID)
	if got.Status != chusme.CeremonyFailed || got.Failure.Reason != chusme.FailInvalidCommitment || !slices.Equal(got.Failure.Culprits, []string{ms[0].Fingerprint}) {
		t.Fatalf("the repair after a bad commitment: %s %+v", got.Status, got.Failure)
	}
	for i, err := range errs {
		var ce *client.CeremonyError
		if !errors.As(err, &ce) || ce.Info.Failure.Reason != chusme.FailInvalidCommitment {
			t.Fatalf("participant %d: %v", i+1, err)
		}
	}
}
