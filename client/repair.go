package client

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"slices"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client/roundstate"
	"github.com/chusme/chusme/frost"
)

// RunRepair takes part, as the identity of key, in repair ceremony id: the
// lost share of its one new participant rebuilt by the other participants,
// the helpers, none of whom learns it (frost.RepairSharePart1, Part2,
// Part3). A helper gives share, its share of the key's generation; the
// holder being repaired gives nil. It checks first, from that generation as
// GroupKeyGeneration verifies it, that the helpers are holders, at least
// its threshold, and the repaired one a holder too. The holder being
// repaired checks the rebuilt share against its verifying share, reports
// that verifying share (the server completes the repair only if it is the
// key's) and gets the key package to save (generation unchanged); a helper
// gets a result without one.
func (c *Client) RunRepair(ctx context.Context, id string, key ed25519.PrivateKey, share *OldShare, progress Progress, opts ...RunOption) (*DKGResult, error) {
	return c.runParticipant(ctx, id, key, chusme.KindRepair, opts, func(p *participant) (*DKGResult, error) {
		return p.runRepair(ctx, share, progress)
	})
}

// runRepair is RunRepair's work, from the round its state is at.
func (p *participant) runRepair(ctx context.Context, share *OldShare, progress Progress) (*DKGResult, error) {
	info, st := p.info, p.st
	key, pub, err := p.ceremonyKey(ctx)
	if err != nil {
		return nil, err
	}
	if len(info.NewParticipants) != 1 {
		return nil, fmt.Errorf("%w: ceremony %s repairs %d holders, not one", ErrInconsistent, info.ID, len(info.NewParticipants))
	}
	target := info.NewParticipants[0]
	helpers := slices.DeleteFunc(slices.Clone(info.Participants), func(fp string) bool { return fp == target })
	held := func(fp string) bool { return slices.Contains(key.Participants, fp) }
	if !slices.Equal(helpers, info.Dealers) || len(helpers) < key.Threshold || !held(target) || slices.ContainsFunc(helpers, func(fp string) bool { return !held(fp) }) {
		return nil, fmt.Errorf("%w: ceremony %s's helpers %v and repaired holder %s are not holders of key %s (at least %d helpers)",
			ErrInconsistent, info.ID, info.Dealers, target, info.KeyID, key.Threshold)
	}
	helper := p.me != target
	if helper && !share.of(info, key) {
		return nil, fmt.Errorf("client: ceremony %s repairs a share of generation %d of key %s: this helper needs its share of that generation", info.ID, info.KeyGeneration, info.KeyID)
	}
	ids, err := identifiers(info.Participants)
	if err != nil {
		return nil, err
	}
	helperIDs := make([]frost.Identifier, len(helpers))
	for i, fp := range helpers {
		helperIDs[i] = ids[fp]
	}

	// Round 1: an HPKE key; a helper's commitment to its deltas, the
	// deltas kept.
	var deal func() ([]byte, map[frost.Identifier]*frost.RepairDelta, error)
	if helper {
		deal = func() ([]byte, map[frost.Identifier]*frost.RepairDelta, error) {
			deltas, err := frost.RepairSharePart1(nil, helperIDs, share.KeyPackage, ids[target])
			if err != nil {
				return nil, nil, fmt.Errorf("client: repair round 1: %w", err)
			}
			commitment, err := frost.CommitRepairDeltas(deltas)
			if err != nil {
				zeroAll(deltas)
				return nil, nil, err
			}
			com, err := commitment.MarshalBinary()
			return com, deltas, err
		}
	}
	r1, err := keyChangeRound1(ctx, p, deal, func() *frost.RepairDelta { return new(frost.RepairDelta) }, progress)
	if err != nil {
		return nil, err
	}
	defer r1.wipe()
	info, hpkeKey, peerKeys, deltas := r1.info, r1.hpkeKey, r1.peerKeys, r1.kept
	coms := map[frost.Identifier]*frost.RepairCommitment{}
	for _, fp := range helpers {
		coms[ids[fp]] = new(frost.RepairCommitment)
		if coms[ids[fp]].UnmarshalBinary(r1.commitments[fp]) != nil {
			return nil, fmt.Errorf("%w: malformed repair commitment from %s", ErrInconsistent, fp)
		}
	}
	transcript := chusme.DKGTranscriptHash(info.ID, info.Participants, r1.payloads)

	// Round 2: each helper seals a delta to every other helper.
	if helper {
		if st.Round == 1 {
			st.Transcript = transcript
			if st.Round2, err = sealEach(p, 2, deltas, peerKeys, ids, helpers); err != nil {
				return nil, err
			}
			if st.Round2Secret, err = deltas[ids[p.me]].MarshalBinary(); err != nil {
				return nil, err
			}
			clear(st.Round1Secret)
			st.Round1Secret = nil
			if err := p.seal(2); err != nil {
				return nil, err
			}
		} else if err := p.checkStored("the round-1 transcript", st.Transcript, transcript); err != nil {
			return nil, err
		}
		if info, err = p.submitOnce(ctx, 2, chusme.SubmitRequest{Packages: st.Round2}); err != nil {
			return nil, err
		}
	}
	if info, err = p.wait(ctx, info, 2, progress); err != nil {
		return nil, err
	}

	// Round 3: each helper sums the deltas it got and seals the sum to the
	// holder being repaired.
	if helper {
		if st.Round == 2 {
			pkgs, err := p.inbox(ctx, 2)
			if err != nil {
				return nil, p.complained(ctx, err)
			}
			received := map[frost.Identifier]*frost.RepairDelta{}
			defer zeroAll(received)
			o, err := openRound(ctx, p, 2, pkgs, hpkeKey, helpers, ids, received, func() *frost.RepairDelta { return new(frost.RepairDelta) })
			if err != nil {
				return nil, err
			}
			defer o.wipe()
			if bad := badParts(helpers, ids, received, func(fp string, d *frost.RepairDelta) error {
				return frost.VerifyRepairDelta(coms[ids[fp]], helperIDs, ids[p.me], d)
			}); len(bad) > 0 {
				return nil, p.revealBad(ctx, o, bad)
			}
			own := new(frost.RepairDelta)
			if err := own.UnmarshalBinary(st.Round2Secret); err != nil {
				return nil, fmt.Errorf("%w: its own repair delta: %v", roundstate.ErrFormat, err)
			}
			received[ids[p.me]] = own
			all := make([]*frost.RepairDelta, 0, len(received))
			for _, d := range received {
				all = append(all, d)
			}
			sigma, err := frost.RepairSharePart2(all)
			if err != nil {
				return nil, fmt.Errorf("client: repair round 3: %w", err)
			}
			st.Round3, err = sealEach(p, 3, map[frost.Identifier]*frost.RepairSigma{ids[target]: sigma}, peerKeys, ids, []string{target})
			sigma.Zero()
			if err != nil {
				return nil, err
			}
			clear(st.Round2Secret)
			st.Round2Secret = nil
			if err := p.seal(3); err != nil {
				return nil, err
			}
		}
		if info, err = p.submitOnce(ctx, 3, chusme.SubmitRequest{Packages: st.Round3}); err != nil {
			return nil, err
		}
		if info, err = p.wait(ctx, info, 3, progress); err != nil {
			return nil, err
		}
		if info, err = p.wait(ctx, info, 4, progress); err != nil {
			return nil, err
		}
		return &DKGResult{KeyID: info.KeyID, PublicKeyPackage: pub, Ceremony: info}, nil
	}
	if info, err = p.wait(ctx, info, 3, progress); err != nil {
		return nil, err
	}

	// Round 4: the holder being repaired rebuilds its share from the sums,
	// checks it (frost.RepairSharePart3) and reports its verifying share.
	pkgs, err := p.inbox(ctx, 3)
	if err != nil {
		return nil, p.complained(ctx, err)
	}
	sums := map[frost.Identifier]*frost.RepairSigma{}
	defer zeroAll(sums)
	o, err := openRound(ctx, p, 3, pkgs, hpkeKey, helpers, ids, sums, func() *frost.RepairSigma { return new(frost.RepairSigma) })
	if err != nil {
		return nil, err
	}
	defer o.wipe()
	if bad := badParts(helpers, ids, sums, func(fp string, s *frost.RepairSigma) error {
		return frost.VerifyRepairSigma(coms, helperIDs, ids[fp], s)
	}); len(bad) > 0 {
		return nil, p.revealBad(ctx, o, bad)
	}
	all := make([]*frost.RepairSigma, 0, len(sums))
	for _, s := range sums {
		all = append(all, s)
	}
	kp, err := frost.RepairSharePart3(all, ids[p.me], pub)
	if err != nil {
		return nil, fmt.Errorf("client: repair round 4: %w", err)
	}
	vs := kp.VerifyingShare().Bytes()
	if info, err = p.broadcast(ctx, 4, vs); err != nil {
		kp.Zero()
		return nil, err
	}
	if info, err = p.wait(ctx, info, 4, progress); err != nil {
		kp.Zero()
		return nil, err
	}
	return &DKGResult{KeyID: info.KeyID, KeyPackage: kp, PublicKeyPackage: pub, Ceremony: info}, nil
}

// zeroAll zeroes every secret in m.
func zeroAll[T interface{ Zero() }](m map[frost.Identifier]T) {
	for _, s := range m {
		s.Zero()
	}
}

// badParts returns, in the order of senders, those whose received part
// fails check (against their commitments).
func badParts[T any](senders []string, ids map[string]frost.Identifier, received map[frost.Identifier]T, check func(fp string, part T) error) []string {
	var bad []string
	for _, fp := range senders {
		if part, ok := received[ids[fp]]; ok && check(fp, part) != nil {
			bad = append(bad, fp)
		}
	}
	return bad
}
