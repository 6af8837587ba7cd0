package frost

import (
	"errors"
	"testing"
)

// keygenRound2 runs parts 1 and 2 of a DKG (or, with refresh, a DKG
// refresh) among ids and returns every round-1 package and every share,
// keyed by sender then recipient.
func keygenRound2(t *testing.T, ids []Identifier, minSigners int, refresh bool) (map[Identifier]any, map[Identifier]map[Identifier]*DKGRound2Package) {
	t.Helper()
	secrets := map[Identifier]*DKGRound1Secret{}
	pkgs := map[Identifier]any{}
	dkg1 := map[Identifier]*DKGRound1Package{}
	ref1 := map[Identifier]*RefreshRound1Package{}
	for _, id := range ids {
		var err error
		if refresh {
			secrets[id], ref1[id], err = RefreshDKGPart1(nil, id, len(ids), minSigners)
			pkgs[id] = ref1[id]
		} else {
			secrets[id], dkg1[id], err = DKGPart1(nil, id, len(ids), minSigners)
			pkgs[id] = dkg1[id]
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	shares := map[Identifier]map[Identifier]*DKGRound2Package{}
	for _, id := range ids {
		var out map[Identifier]*DKGRound2Package
		var err error
		if refresh {
			others := map[Identifier]*RefreshRound1Package{}
			for o, p := range ref1 {
				if o != id {
					others[o] = p
				}
			}
			_, out, err = RefreshDKGPart2(secrets[id], others)
		} else {
			others := map[Identifier]*DKGRound1Package{}
			for o, p := range dkg1 {
				if o != id {
					others[o] = p
				}
			}
			_, out, err = DKGPart2(secrets[id], others)
		}
		if err != nil {
			t.Fatal(err)
		}
		shares[id] = out
	}
	return pkgs, shares
}

// TestVerifyKeygenShares: every share a DKG or DKG-refresh participant
// sends opens its round-1 package at its recipient, and none opens it
// altered or at another recipient.
func TestVerifyKeygenShares(t *testing.T) {
	ids := idsUpTo(t, 3)
	for _, refresh := range []bool{false, true} {
		pkgs, shares := keygenRound2(t, ids, 2, refresh)
		verify := func(from, to Identifier, s *DKGRound2Package) error {
			if refresh {
				return VerifyRefreshShare(pkgs[from].(*RefreshRound1Package), to, s)
			}
			return VerifyDKGShare(pkgs[from].(*DKGRound1Package), to, s)
		}
		for from, out := range shares {
			for to, s := range out {
				if err := verify(from, to, s); err != nil {
					t.Fatalf("refresh %v: the share from %v to %v: %v", refresh, from, to, err)
				}
				other := ids[0]
				if other == to {
					other = ids[1]
				}
				if err := verify(from, other, s); !errors.Is(err, ErrInvalidSecretShare) {
					t.Fatalf("refresh %v: a share checked at another recipient: %v", refresh, err)
				}
				bad := &DKGRound2Package{share: s.share}
				bad.share.Add(&bad.share, scalarOne)
				if err := verify(from, to, bad); !errors.Is(err, ErrInvalidSecretShare) {
					t.Fatalf("refresh %v: an altered share: %v", refresh, err)
				}
			}
		}
	}
	if err := VerifyDKGShare(nil, ids[0], &DKGRound2Package{}); !errors.Is(err, ErrInvalidParameters) {
		t.Fatalf("no round-1 package: %v", err)
	}
}

// TestVerifyReshareShare: every share a reshare dealer deals opens its
// commitment at its new holder, and an altered one does not.
func TestVerifyReshareShare(t *testing.T) {
	_, old, _ := dealKnown(t, idList(t, 1, 2, 3), 2)
	p := ReshareParams{idList(t, 1, 2), idList(t, 2, 3, 10, 11, 12), 3}
	dl := deal(t, old, p)
	for to, in := range dl.shares {
		for from, s := range in {
			if err := VerifyReshareShare(dl.commitments[from], to, s); err != nil {
				t.Fatalf("the share from %v to %v: %v", from, to, err)
			}
			bad := &ReshareShare{s.secretScalar}
			bad.s.Add(&bad.s, scalarOne)
			if err := VerifyReshareShare(dl.commitments[from], to, bad); !errors.Is(err, ErrInvalidSecretShare) {
				t.Fatalf("an altered share: %v", err)
			}
		}
	}
}

// TestRepairCommitments: each helper's commitment to its deltas verifies
// against its verifying share, survives encoding, and opens each delta
// and, summed, each sigma; an altered delta, sigma or commitment is
// refused, a commitment naming its helper.
func TestRepairCommitments(t *testing.T) {
	ids := idsUpTo(t, 5)
	kps, pub := runDKG(t, ids, 3)
	helpers, lost := []Identifier{ids[3], ids[0], ids[2]}, ids[1]
	coms := map[Identifier]*RepairCommitment{}
	inbox := map[Identifier][]*RepairDelta{}
	for _, h := range helpers {
		deltas, err := RepairSharePart1(nil, helpers, kps[h], lost)
		if err != nil {
			t.Fatal(err)
		}
		c, err := CommitRepairDeltas(deltas)
		if err != nil {
			t.Fatal(err)
		}
		wire := new(RepairCommitment)
		reloaded(t, zeroable{c}, wire)
		if err := VerifyRepairCommitment(pub, helpers, lost, h, wire); err != nil {
			t.Fatalf("helper %v's commitment: %v", h, err)
		}
		for _, other := range helpers {
			if other != h {
				wantCheaters(t, VerifyRepairCommitment(pub, helpers, lost, other, wire), ErrInvalidRepairCommitment, other)
			}
		}
		coms[h] = wire
		for to, d := range deltas {
			if err := VerifyRepairDelta(wire, helpers, to, d); err != nil {
				t.Fatalf("the delta from %v to %v: %v", h, to, err)
			}
			bad := &RepairDelta{d.secretScalar}
			bad.s.Add(&bad.s, scalarOne)
			if err := VerifyRepairDelta(wire, helpers, to, bad); !errors.Is(err, ErrInvalidSecretShare) {
				t.Fatalf("an altered delta: %v", err)
			}
			inbox[to] = append(inbox[to], d)
		}
	}
	var sigmas []*RepairSigma
	for _, h := range helpers {
		sigma, err := RepairSharePart2(inbox[h])
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifyRepairSigma(coms, helpers, h, sigma); err != nil {
			t.Fatalf("helper %v's sigma: %v", h, err)
		}
		bad := &RepairSigma{sigma.secretScalar}
		bad.s.Add(&bad.s, scalarOne)
		if err := VerifyRepairSigma(coms, helpers, h, bad); !errors.Is(err, ErrInvalidSecretShare) {
			t.Fatalf("an altered sigma: %v", err)
		}
		sigmas = append(sigmas, sigma)
	}
	kp, err := RepairSharePart3(sigmas, lost, pub)
	if err != nil {
		t.Fatal(err)
	}
	if !kp.verifyingShare.Equal(pub.shares[lost]) {
		t.Fatal("the repaired share is not the lost one")
	}
	if err := VerifyRepairCommitment(pub, helpers[:2], lost, helpers[0], coms[helpers[0]]); err == nil {
		t.Fatal("a commitment checked against fewer helpers than the threshold")
	}
	short := &RepairCommitment{points: coms[helpers[0]].points[:2]}
	wantCheaters(t, VerifyRepairCommitment(pub, helpers, lost, helpers[0], short), ErrInvalidRepairCommitment, helpers[0])
}
