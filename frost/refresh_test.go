package frost

import (
	"encoding"
	"errors"
	"slices"
	"testing"

	"filippo.io/edwards25519"
)

// checkRefreshed checks frost-core's refresh equations: the refreshed
// package keeps the group key and threshold, lists exactly the remaining
// participants, each new KeyPackage matches it, the new shares interpolate
// to the old group secret, and each new verifying share is the old one plus
// the image of the participant's share of zero (new minus old signing
// share). Then the refreshed group signs under the old key, a removed
// participant does not, and old and new shares do not mix.
func checkRefreshed(t *testing.T, secret *edwards25519.Scalar, old, fresh map[Identifier]*KeyPackage, oldPub, pub *PublicKeyPackage, remaining []Identifier) {
	t.Helper()
	if !pub.VerifyingKey().Equal(oldPub.VerifyingKey()) || pub.MinSigners() != oldPub.MinSigners() {
		t.Fatal("refresh changed the group key or the threshold")
	}
	if got := pub.Identifiers(); len(got) != len(remaining) {
		t.Fatalf("refreshed package lists %v, want %v", got, remaining)
	}
	for _, id := range remaining {
		vs, ok := pub.VerifyingShare(id)
		if !ok || !vs.Equal(fresh[id].VerifyingShare()) {
			t.Fatalf("%v: new key package and public key package disagree", id)
		}
		zero := new(edwards25519.Scalar).Subtract(&fresh[id].signingShare.s, &old[id].signingShare.s)
		want := new(edwards25519.Point).ScalarBaseMult(zero)
		want.Add(want, &old[id].verifyingShare.e.p)
		if want.Equal(&vs.e.p) != 1 {
			t.Fatalf("%v: new verifying share is not old + zero-share·G", id)
		}
		if fresh[id].signingShare.s.Equal(&old[id].signingShare.s) == 1 {
			t.Fatalf("%v: share not refreshed", id)
		}
	}
	tm := pub.MinSigners()
	for _, set := range [][]Identifier{remaining[:tm], remaining[len(remaining)-tm:]} {
		if interpolate(t, fresh, set).Equal(secret) != 1 {
			t.Fatalf("refreshed shares %v do not interpolate to the group secret", set)
		}
	}
	if err := trySign(t, fresh, pub, remaining[:tm]); err != nil {
		t.Fatalf("refreshed group cannot sign: %v", err)
	}
	mixed := map[Identifier]*KeyPackage{}
	for i, id := range remaining[:tm] {
		mixed[id] = fresh[id]
		if i > 0 {
			mixed[id] = old[id]
		}
	}
	if interpolate(t, mixed, remaining[:tm]).Equal(secret) == 1 {
		t.Fatal("old and new shares interpolate to the group secret")
	}
	err := trySign(t, mixed, pub, remaining[:tm])
	wantCheaters(t, err, ErrInvalidSignatureShare, remaining[1:tm]...)
	if err := trySign(t, mixed, oldPub, remaining[:tm]); err == nil {
		t.Fatal("old and new shares signed under the old public key package")
	}
}

func TestRefreshWithDealer(t *testing.T) {
	ids := idsUpTo(t, 5)
	secret, kps, pub := dealKnown(t, ids, 3)
	remaining := []Identifier{ids[0], ids[1], ids[2], ids[4]} // 4 is removed
	shares, newPub, err := ComputeRefreshingShares(nil, pub, remaining, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(shares) != len(remaining) {
		t.Fatalf("%d refreshing shares for %d participants", len(shares), len(remaining))
	}
	if _, ok := newPub.VerifyingShare(ids[3]); ok {
		t.Fatal("removed participant still in the refreshed public key package")
	}
	fresh := map[Identifier]*KeyPackage{}
	for _, id := range remaining {
		sh := new(RefreshingShare)
		reloaded(t, shares[id], sh) // as sent over the wire
		kp, err := RefreshShare(sh, kps[id])
		if err != nil {
			t.Fatalf("%v: %v", id, err)
		}
		fresh[id] = kp
	}
	checkRefreshed(t, secret, kps, fresh, pub, newPub, remaining)
	fresh[ids[3]] = kps[ids[3]]
	if err := trySign(t, fresh, newPub, []Identifier{ids[0], ids[1], ids[3]}); !errors.Is(err, ErrUnknownParticipant) {
		t.Fatalf("removed participant signing: got %v, want ErrUnknownParticipant", err)
	}
}

func TestRefreshWithDealerRefused(t *testing.T) {
	ids := idsUpTo(t, 5)
	kps, pub, err := TrustedDealerKeygen(nil, nil, ids, 3)
	if err != nil {
		t.Fatal(err)
	}
	stranger := mustID(t, 9)
	for name, tc := range map[string]struct {
		ids  []Identifier
		t    int
		want error
	}{
		"lower threshold":  {ids, 2, ErrInvalidParameters},
		"higher threshold": {ids, 4, ErrInvalidParameters},
		"too few":          {ids[:2], 3, ErrInvalidParameters},
		"duplicate":        {[]Identifier{ids[0], ids[1], ids[1]}, 3, ErrDuplicateIdentifier},
		"not a member":     {[]Identifier{ids[0], ids[1], stranger}, 3, ErrUnknownParticipant},
	} {
		if _, _, err := ComputeRefreshingShares(nil, pub, tc.ids, tc.t); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", name, err, tc.want)
		}
	}
	shares, _, err := ComputeRefreshingShares(nil, pub, ids, 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := RefreshShare(shares[ids[0]], kps[ids[1]]); !errors.Is(err, ErrWrongParticipants) {
		t.Errorf("someone else's share: got %v", err)
	}
	bad := *shares[ids[0]]
	bad.share.Add(&bad.share, scalarOne)
	if _, err := RefreshShare(&bad, kps[ids[0]]); !errors.Is(err, ErrInvalidSecretShare) {
		t.Errorf("share off its commitment: got %v", err)
	}
	// A 2-of-5 dealing given to a 3-of-5 key package (the 2.2.0 fix).
	kps2, pub2, err := TrustedDealerKeygen(nil, nil, ids, 2)
	if err != nil {
		t.Fatal(err)
	}
	low, _, err := ComputeRefreshingShares(nil, pub2, ids, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := RefreshShare(low[ids[0]], kps[ids[0]]); !errors.Is(err, ErrInvalidParameters) {
		t.Errorf("threshold change at the participant: got %v", err)
	}
	if _, err := RefreshShare(low[ids[0]], kps2[ids[0]]); err != nil {
		t.Errorf("matching threshold: %v", err)
	}
}

// runRefreshDKG refreshes the key packages of ids (members of oldPub) by
// DKG with threshold minSigners, every other participant resuming from
// encoded round secrets and every round-1 package crossing the wire
// encoded; tamper is as in keygenParts.
func runRefreshDKG(t *testing.T, old map[Identifier]*KeyPackage, oldPub *PublicKeyPackage, ids []Identifier, minSigners int,
	tamper func(map[Identifier]*RefreshRound1Package, map[Identifier]map[Identifier]*DKGRound2Package)) (map[Identifier]*KeyPackage, *PublicKeyPackage, error) {
	t.Helper()
	return runKeygen(t, ids, func(i int) bool { return i%2 == 1 }, keygenParts[*RefreshRound1Package]{
		part1: func(id Identifier, n int) (*DKGRound1Secret, *RefreshRound1Package, error) {
			s, p, err := RefreshDKGPart1(nil, id, n, minSigners)
			if err != nil {
				return nil, nil, err
			}
			wire := new(RefreshRound1Package)
			reloaded(t, zeroable{p}, wire)
			return s, wire, nil
		},
		part2: RefreshDKGPart2,
		part3: func(s *DKGRound2Secret, r1 map[Identifier]*RefreshRound1Package, r2 map[Identifier]*DKGRound2Package) (*KeyPackage, *PublicKeyPackage, error) {
			return RefreshDKGShares(s, r1, r2, oldPub, old[s.identifier])
		},
		tamper: tamper,
	})
}

// zeroable gives a public value the Zero method reloaded wants.
type zeroable struct{ encoding.BinaryMarshaler }

func (zeroable) Zero() {}

func mustMarshal(t testing.TB, v interface{ MarshalBinary() ([]byte, error) }) []byte {
	t.Helper()
	b, err := v.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRefreshWithDKG(t *testing.T) {
	ids := idsUpTo(t, 5)
	secret, kps, pub := dealKnown(t, ids, 3)
	remaining := ids[1:] // 1 is removed
	fresh, newPub, err := runRefreshDKG(t, kps, pub, remaining, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkRefreshed(t, secret, kps, fresh, pub, newPub, remaining)
	if _, ok := newPub.VerifyingShare(ids[0]); ok {
		t.Fatal("removed participant still in the refreshed public key package")
	}
}

func TestRefreshWithDKGCheatersNamed(t *testing.T) {
	ids := idsUpTo(t, 4)
	kps, pub, err := TrustedDealerKeygen(nil, nil, ids, 3)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = runRefreshDKG(t, kps, pub, ids, 3, func(_ map[Identifier]*RefreshRound1Package, in map[Identifier]map[Identifier]*DKGRound2Package) {
		for _, from := range []Identifier{ids[1], ids[3]} {
			in[ids[0]][from].share.Add(&in[ids[0]][from].share, scalarOne)
		}
	})
	wantCheaters(t, err, ErrInvalidSecretShare, ids[1], ids[3])
	_, _, err = runRefreshDKG(t, kps, pub, ids, 3, func(r1 map[Identifier]*RefreshRound1Package, _ map[Identifier]map[Identifier]*DKGRound2Package) {
		r1[ids[2]].commitment = r1[ids[2]].commitment[:1]
	})
	wantCheaters(t, err, ErrInvalidCommitment, ids[2])
	// A participant that shifts its constant term: its shares no longer
	// open the commitment with the identity prepended.
	_, _, err = runRefreshDKG(t, kps, pub, ids, 3, func(_ map[Identifier]*RefreshRound1Package, in map[Identifier]map[Identifier]*DKGRound2Package) {
		for to := range in {
			if p, ok := in[to][ids[2]]; ok {
				p.share.Add(&p.share, scalarOne)
			}
		}
	})
	wantCheaters(t, err, ErrInvalidSecretShare, ids[2])
}

func TestRefreshWithDKGRefused(t *testing.T) {
	ids := idsUpTo(t, 3)
	kps, pub, err := TrustedDealerKeygen(nil, nil, ids, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := runRefreshDKG(t, kps, pub, ids, 3, nil); !errors.Is(err, ErrInvalidParameters) {
		t.Errorf("threshold change: got %v, want ErrInvalidParameters", err)
	}
	other, _, err := TrustedDealerKeygen(nil, nil, ids, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := runRefreshDKG(t, other, pub, ids, 2, nil); !errors.Is(err, ErrWrongParticipants) {
		t.Errorf("key package of another key: got %v, want ErrWrongParticipants", err)
	}
	dkg1, _, err := DKGPart1(nil, ids[0], 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref1, _, err := RefreshDKGPart1(nil, ids[0], 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := RefreshDKGPart2(dkg1, nil); !errors.Is(err, ErrWrongKind) {
		t.Errorf("DKG secret in a refresh: got %v", err)
	}
	if _, _, err := DKGPart2(ref1, nil); !errors.Is(err, ErrWrongKind) {
		t.Errorf("refresh secret in a DKG: got %v", err)
	}
	if _, _, err := DKGPart3(&DKGRound2Secret{commitment: ref1.commitment, refresh: true}, nil, nil); !errors.Is(err, ErrWrongKind) {
		t.Errorf("refresh round-2 secret in a DKG: got %v", err)
	}
	if _, _, err := RefreshDKGShares(&DKGRound2Secret{commitment: dkg1.commitment}, nil, nil, pub, kps[ids[0]]); !errors.Is(err, ErrWrongKind) {
		t.Errorf("DKG round-2 secret in a refresh: got %v", err)
	}
}

// keyChangeEncodings returns sample encodings of the refresh, repair and
// reshare types, for the encoding and fuzz tests.
func keyChangeEncodings(t testing.TB) map[string][]byte {
	t.Helper()
	ids := idsUpTo(t, 3)
	kps, pub, err := TrustedDealerKeygen(nil, nil, ids, 2)
	if err != nil {
		t.Fatal(err)
	}
	shares, _, err := ComputeRefreshingShares(nil, pub, ids, 2)
	if err != nil {
		t.Fatal(err)
	}
	s1, r1, err := RefreshDKGPart1(nil, ids[0], 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	_, r1b, _ := RefreshDKGPart1(nil, ids[1], 3, 2)
	_, r1c, _ := RefreshDKGPart1(nil, ids[2], 3, 2)
	m := map[string][]byte{"RefreshRound1Secret": mustMarshal(t, s1)}
	s2, _, err := RefreshDKGPart2(s1, map[Identifier]*RefreshRound1Package{ids[1]: r1b, ids[2]: r1c})
	if err != nil {
		t.Fatal(err)
	}
	deltas, err := RepairSharePart1(nil, ids[:2], kps[ids[0]], ids[2])
	if err != nil {
		t.Fatal(err)
	}
	sigma, err := RepairSharePart2([]*RepairDelta{deltas[ids[0]]})
	if err != nil {
		t.Fatal(err)
	}
	com, dealt, err := ReshareDeal(nil, kps[ids[0]], ReshareParams{ids[:2], ids, 2})
	if err != nil {
		t.Fatal(err)
	}
	rcom, err := CommitRepairDeltas(deltas)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]encoding.BinaryMarshaler{
		"RefreshingShare": shares[ids[0]], "RefreshRound1Package": r1, "RefreshRound2Secret": s2,
		"RepairDelta": deltas[ids[1]], "RepairSigma": sigma, "RepairCommitment": rcom,
		"ReshareCommitment": com, "ReshareShare": dealt[ids[2]],
	} {
		m[name] = mustMarshal(t, v)
	}
	return m
}

// TestRefreshSecretEncodings checks that a round secret keeps its kind
// through its encoding: a refresh round-1 secret must have a zero constant,
// a DKG one a non-zero one, and decoded secrets are refused by the other
// protocol's functions.
func TestRefreshSecretEncodings(t *testing.T) {
	id := mustID(t, 1)
	ref1, _, err := RefreshDKGPart1(nil, id, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	dkg1, _, err := DKGPart1(nil, id, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	refBytes, dkgBytes := mustMarshal(t, ref1), mustMarshal(t, dkg1)
	constant := 2 + 32 + 4 // header, identifier, t, n: then coefficient 0
	for name, b := range map[string][]byte{
		"refresh secret with a constant": append(append(slices.Clone(refBytes[:constant]), dkgBytes[constant:constant+32]...), refBytes[constant+32:]...),
		"DKG secret typed as refresh":    append([]byte{Version, typeRefreshRound1Secret}, dkgBytes[2:]...),
		"refresh secret typed as DKG":    append([]byte{Version, typeDKGRound1Secret}, refBytes[2:]...),
	} {
		var s DKGRound1Secret
		if err := s.UnmarshalBinary(b); !errors.Is(err, ErrInvalidScalar) {
			t.Errorf("%s: got %v, want ErrInvalidScalar", name, err)
		}
	}
	var again DKGRound1Secret
	if err := again.UnmarshalBinary(refBytes); err != nil {
		t.Fatal(err)
	}
	if _, _, err := DKGPart2(&again, nil); !errors.Is(err, ErrWrongKind) {
		t.Errorf("decoded refresh secret in DKGPart2: got %v", err)
	}
	_, p2, _ := RefreshDKGPart1(nil, mustID(t, 2), 3, 2)
	_, p3, _ := RefreshDKGPart1(nil, mustID(t, 3), 3, 2)
	r2, _, err := RefreshDKGPart2(&again, map[Identifier]*RefreshRound1Package{mustID(t, 2): p2, mustID(t, 3): p3})
	if err != nil {
		t.Fatal(err)
	}
	var r2again DKGRound2Secret
	reloaded(t, r2, &r2again)
	if _, _, err := DKGPart3(&r2again, nil, nil); !errors.Is(err, ErrWrongKind) {
		t.Errorf("decoded refresh round-2 secret in DKGPart3: got %v", err)
	}
}
