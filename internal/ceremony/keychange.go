package ceremony

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/frost"
)

// Ceremonies that change a group key's shares, not its public key: a
// refresh (frost-core's refresh by DKG) and a reshare (frost's verifiable
// secret redistribution), both on the DKG's three rounds and ending with
// the key's next generation (completeDKG); and a repair of one holder's
// lost share by t others (frost-core's repairable threshold scheme), which
// leaves the key as it is.

// createRefresh fills ceremony c from a refresh request: the key's holders
// that keep a share (all of them when the request names none; at least
// the key's threshold), the key's threshold and its current generation,
// which the signed request must name. Only a holder of the key or an
// administrator may ask.
func (s *Service) createRefresh(ctx context.Context, c *chusme.Ceremony, caller string, admin bool, req chusme.CreateCeremonyRequest) error {
	key, err := s.keyToChange(ctx, caller, admin, req)
	if err != nil {
		return err
	}
	if req.Threshold != 0 && req.Threshold != key.Threshold {
		return invalid("a refresh keeps the key's threshold of %d, not %d", key.Threshold, req.Threshold)
	}
	if req.NewParticipants != nil {
		return invalid("a refresh takes no new_participants: its participants keep their shares")
	}
	holders := req.Participants
	if len(holders) == 0 {
		holders = key.Participants
	}
	for _, fp := range holders {
		if !slices.Contains(key.Participants, fp) {
			return invalid("participants: %s holds no share of the key", fp)
		}
	}
	if len(holders) < key.Threshold {
		return invalid("a refresh of a %d-of-%d key needs at least %d holders, not %d", key.Threshold, len(key.Participants), key.Threshold, len(holders))
	}
	if c.Participants, err = s.checkFingerprints(ctx, holders, "participants"); err != nil {
		return err
	}
	c.KeyID, c.KeyGeneration, c.Threshold = key.ID, key.Generation, key.Threshold
	return nil
}

// checkRefreshRound1 checks a refresh's round-1 payload: an HPKE key, then
// a frost refresh package of t-1 commitments, every point valid.
func checkRefreshRound1(payload []byte, threshold int) error {
	hpkeKey, pkgBytes, ok := chusme.SplitDKGRound1Payload(payload)
	var pkg frost.RefreshRound1Package
	if !ok || bytes.Equal(hpkeKey, make([]byte, chusme.HPKEPublicKeySize)) || pkg.UnmarshalBinary(pkgBytes) != nil {
		return badPackage("malformed refresh round-1 payload")
	}
	if pkg.MinSigners() != threshold {
		return badPackage("the refresh round-1 package is for a threshold of %d, not the key's %d", pkg.MinSigners(), threshold)
	}
	return nil
}

// keyToChange reads the current generation of the key a refresh or reshare
// request names, checking that the caller may ask (a holder of the key or
// an administrator; anyone else gets the same not found as for an unknown
// key) and that the request names that generation.
func (s *Service) keyToChange(ctx context.Context, caller string, admin bool, req chusme.CreateCeremonyRequest) (chusme.GroupKey, error) {
	if req.Message != nil || req.AllSigners {
		return chusme.GroupKey{}, invalid("a %s takes no message or all_signers", req.Kind)
	}
	key, err := s.store.GetGroupKey(ctx, req.KeyID)
	if chusme.ErrorCode(err) == chusme.CodeNotFound || (err == nil && !admin && !slices.Contains(key.Participants, caller)) {
		return key, chusme.Errorf(chusme.CodeNotFound, "no such key")
	}
	if err != nil {
		return key, err
	}
	if req.Generation != key.Generation {
		return key, chusme.Errorf(chusme.CodeConflict, "the key is at generation %d, not %d: sign a new request", key.Generation, req.Generation)
	}
	return key, nil
}

// createReshare fills ceremony c from a reshare request: its participants
// (every old holder that deals — at least the key's threshold — and every
// new holder), the new participants, their threshold and the generation
// it replaces. The dealers are the participants that hold a share of the
// key.
func (s *Service) createReshare(ctx context.Context, c *chusme.Ceremony, caller string, admin bool, req chusme.CreateCeremonyRequest) error {
	key, err := s.keyToChange(ctx, caller, admin, req)
	if err != nil {
		return err
	}
	n := len(req.NewParticipants)
	if n < 2 || n > chusme.MaxCeremonyParticipants || req.Threshold < 2 || req.Threshold > n {
		return invalid("a reshare needs 2 to %d new participants and a threshold from 2 to their number, not %d of %d",
			chusme.MaxCeremonyParticipants, req.Threshold, n)
	}
	if c.Participants, err = s.checkFingerprints(ctx, req.Participants, "participants"); err != nil {
		return err
	}
	if c.NewParticipants, err = s.checkFingerprints(ctx, req.NewParticipants, "new_participants"); err != nil {
		return err
	}
	c.Dealers = []string{}
	for _, fp := range c.Participants {
		if slices.Contains(key.Participants, fp) {
			c.Dealers = append(c.Dealers, fp)
		} else if _, ok := slices.BinarySearch(c.NewParticipants, fp); !ok {
			return invalid("participants: %s neither holds a share of the key nor is a new participant", fp)
		}
	}
	for _, fp := range c.NewParticipants {
		if _, ok := slices.BinarySearch(c.Participants, fp); !ok {
			return invalid("new_participants: %s is not a participant", fp)
		}
	}
	if len(c.Dealers) < key.Threshold {
		return invalid("a reshare of a %d-of-%d key needs at least %d of its holders to deal, not %d",
			key.Threshold, len(key.Participants), key.Threshold, len(c.Dealers))
	}
	if len(c.Participants) > chusme.MaxCeremonyParticipants {
		return invalid("a ceremony has at most %d participants, not %d", chusme.MaxCeremonyParticipants, len(c.Participants))
	}
	c.KeyID, c.KeyGeneration, c.Threshold = key.ID, key.Generation, req.Threshold
	return nil
}

// checkReshareRound1 checks a reshare's round-1 payload from caller: an
// HPKE key, then from a dealer its commitment, which must commit to its
// share of the key's generation the reshare replaces
// (frost.VerifyReshareCommitment). A commitment that does not is a cheat
// that fails the ceremony (the returned cheater); a malformed payload is
// refused.
func (s *Service) checkReshareRound1(ctx context.Context, c chusme.Ceremony, caller string, payload []byte) (error, error) {
	hpkeKey, rest, ok := chusme.SplitKeyChangeRound1Payload(payload)
	if !ok || bytes.Equal(hpkeKey, make([]byte, chusme.HPKEPublicKeySize)) {
		return nil, badPackage("malformed reshare round-1 payload")
	}
	if _, dealer := slices.BinarySearch(c.Dealers, caller); !dealer {
		if len(rest) != 0 {
			return nil, badPackage("%s holds no share of the key: its round-1 payload is its HPKE key alone", caller)
		}
		return nil, nil
	}
	var com frost.ReshareCommitment
	if com.UnmarshalBinary(rest) != nil {
		return nil, badPackage("malformed reshare commitment")
	}
	ck, err := s.groupKey(ctx, c.KeyID, c.KeyGeneration)
	if err != nil {
		return nil, err
	}
	if ck.pub == nil {
		return nil, errors.New("ceremony: the stored key's public key package does not decode")
	}
	params, err := reshareParams(c)
	if err != nil {
		return nil, err
	}
	id, err := identifier(caller)
	if err != nil {
		return nil, err
	}
	if err := frost.VerifyReshareCommitment(ck.pub, params, id, &com); err != nil {
		return badPackage("the reshare commitment does not commit to the sender's share of the key; the ceremony failed"), nil
	}
	return nil, nil
}

// reshareParams are reshare c's frost parameters.
func reshareParams(c chusme.Ceremony) (frost.ReshareParams, error) {
	p := frost.ReshareParams{NewMinSigners: c.Threshold}
	var err error
	if p.Dealers, err = identifiers(c.Dealers); err != nil {
		return p, err
	}
	p.NewIdentifiers, err = identifiers(c.NewParticipants)
	return p, err
}

// createRepair fills ceremony c from a repair request: its participants
// (the helpers, at least the key's threshold of its holders, and the holder
// being repaired, its one new participant), the key's threshold and the
// generation whose share it rebuilds.
func (s *Service) createRepair(ctx context.Context, c *chusme.Ceremony, caller string, admin bool, req chusme.CreateCeremonyRequest) error {
	key, err := s.keyToChange(ctx, caller, admin, req)
	if err != nil {
		return err
	}
	if req.Threshold != 0 && req.Threshold != key.Threshold {
		return invalid("a repair keeps the key's threshold of %d, not %d", key.Threshold, req.Threshold)
	}
	if len(req.NewParticipants) != 1 || !slices.Contains(key.Participants, req.NewParticipants[0]) {
		return invalid("a repair rebuilds the share of one holder of the key: new_participants names it")
	}
	if c.Participants, err = s.checkFingerprints(ctx, req.Participants, "participants"); err != nil {
		return err
	}
	target := req.NewParticipants[0]
	if _, ok := slices.BinarySearch(c.Participants, target); !ok {
		return invalid("participants: the holder being repaired, %s, is not one", target)
	}
	c.Dealers = slices.DeleteFunc(slices.Clone(c.Participants), func(fp string) bool { return fp == target })
	for _, fp := range c.Dealers {
		if !slices.Contains(key.Participants, fp) {
			return invalid("participants: %s holds no share of the key to help with", fp)
		}
	}
	if len(c.Dealers) < key.Threshold {
		return invalid("a repair of a %d-of-%d key needs at least %d helpers, not %d", key.Threshold, len(key.Participants), key.Threshold, len(c.Dealers))
	}
	c.NewParticipants = []string{target}
	c.KeyID, c.KeyGeneration, c.Threshold = key.ID, key.Generation, key.Threshold
	return nil
}

// checkRepairRound1 checks a repair's round-1 payload from caller: an HPKE
// key, then from a helper its commitment to its deltas, which must add up
// to its part of the lost share (frost.VerifyRepairCommitment). A
// commitment that does not is a cheat that fails the ceremony (the returned
// cheater); a malformed payload is refused.
func (s *Service) checkRepairRound1(ctx context.Context, c chusme.Ceremony, caller string, payload []byte) (error, error) {
	hpkeKey, rest, ok := chusme.SplitKeyChangeRound1Payload(payload)
	if !ok || bytes.Equal(hpkeKey, make([]byte, chusme.HPKEPublicKeySize)) {
		return nil, badPackage("malformed repair round-1 payload")
	}
	if _, helper := slices.BinarySearch(c.Dealers, caller); !helper {
		if len(rest) != 0 {
			return nil, badPackage("the holder being repaired sends its HPKE key alone in round 1")
		}
		return nil, nil
	}
	var com frost.RepairCommitment
	if com.UnmarshalBinary(rest) != nil {
		return nil, badPackage("malformed repair commitment")
	}
	ck, err := s.groupKey(ctx, c.KeyID, c.KeyGeneration)
	if err != nil {
		return nil, err
	}
	if ck.pub == nil {
		return nil, errors.New("ceremony: the stored key's public key package does not decode")
	}
	helpers, err := identifiers(c.Dealers)
	if err != nil {
		return nil, err
	}
	lost, err := identifier(c.NewParticipants[0])
	if err != nil {
		return nil, err
	}
	id, err := identifier(caller)
	if err != nil {
		return nil, err
	}
	if err := frost.VerifyRepairCommitment(ck.pub, helpers, lost, id, &com); err != nil {
		return badPackage("the repair commitment does not add up to the sender's part of the lost share; the ceremony failed"), nil
	}
	return nil, nil
}

// identifiers are the frost identifiers of fps, in their order.
func identifiers(fps []string) ([]frost.Identifier, error) {
	out := make([]frost.Identifier, len(fps))
	for i, fp := range fps {
		var err error
		if out[i], err = identifier(fp); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// completeRepair completes repair c once the repaired holder reports the
// verifying share of the share it rebuilt, share: the key's own for it, or
// the repair fails (a helper sent a bad delta or sum; the server can't see
// which).
func (s *Service) completeRepair(c *chusme.Ceremony, share []byte, ck *cachedKey) error {
	if ck == nil {
		return fmt.Errorf("ceremony %s: no group key", c.ID)
	}
	target := c.NewParticipants[0]
	if !bytes.Equal(ck.key.VerifyingShares[target], share) {
		return s.finish(c, chusme.CeremonyFailed, chusme.FailRepairMismatch,
			"the rebuilt share of "+target+" is not its share of the key: a helper sent a bad part", nil)
	}
	c.ResultKeyID, c.PublicKey = ck.key.ID, ck.key.PublicKey
	return s.finish(c, chusme.CeremonyCompleted, "", "", nil)
}

// checkEndorsement checks the endorsement that starts the round-3 payload
// of a refresh or reshare from caller, if it is one of c's endorsers: its
// head is caller's current one, its key one of caller's current device
// keys, and its signature over GroupKeyEndorseMessage, of the generation c
// replaces, verifies under that key. It returns the confirmation that
// follows (nil if caller holds no share of the new generation); a DKG's
// payload is all confirmation.
func (s *Service) checkEndorsement(ctx context.Context, c chusme.Ceremony, caller string, payload []byte) ([]byte, error) {
	if c.KeyID == "" {
		return payload, nil
	}
	endorser, holder := slices.Contains(c.Endorsers(), caller), slices.Contains(c.Holders(), caller)
	e, confirmation, ok := chusme.SplitKeyChangeRound3(payload, caller, endorser, holder)
	if !ok {
		return nil, badPackage("malformed %s round-3 payload from %s: an endorsement (%d bytes) if it holds a share of generation %d, then a confirmation if it holds one of the next",
			c.Kind, caller, chusme.EndorsementSize, c.KeyGeneration)
	}
	if !holder {
		confirmation = nil
	}
	if !endorser {
		return confirmation, nil
	}
	head, devices, err := s.chainHead(ctx, caller)
	if err != nil {
		return nil, err
	}
	if head.Seq != e.HeadSeq || !bytes.Equal(head.Hash, e.HeadHash) || !slices.ContainsFunc(devices, func(k chusme.Bytes) bool { return bytes.Equal(k, e.PublicKey) }) {
		return nil, badPackage("the endorsement from %s names head %d and a key, not its current head %d and one of its current device keys", caller, e.HeadSeq, head.Seq)
	}
	ck, err := s.groupKey(ctx, c.KeyID, c.KeyGeneration)
	if err != nil {
		return nil, err
	}
	old := ck.key
	msg := chusme.GroupKeyEndorseMessage(s.cfg.Issuer, c.ID, c.Kind, caller, old.PublicKey, old.Generation,
		chusme.VerifyingSharesHash(old.Participants, old.VerifyingShares), c.Transcript, c.Threshold, c.Holders())
	var valid bool
	s.timed("endorsement_signature", func() error { valid = ed25519.Verify(ed25519.PublicKey(e.PublicKey), msg, e.Signature); return nil })
	if !valid {
		return nil, badPackage("the endorsement signature of %s does not verify under the device key it names", caller)
	}
	return confirmation, nil
}

// currentHeads returns the current chain head and first device key of
// each of fps, in order, and the current device keys of each, by
// fingerprint.
func (s *Service) currentHeads(ctx context.Context, fps []string) ([]chusme.GroupKeyConfirmation, map[string][]chusme.Bytes, error) {
	out := make([]chusme.GroupKeyConfirmation, len(fps))
	devices := make(map[string][]chusme.Bytes, len(fps))
	for i, fp := range fps {
		h, keys, err := s.chainHead(ctx, fp)
		if err != nil {
			return nil, nil, err
		}
		out[i] = chusme.GroupKeyConfirmation{Fingerprint: fp, HeadSeq: h.Seq, HeadHash: h.Hash, PublicKey: keys[0]}
		devices[fp] = keys
	}
	return out, devices, nil
}

// sameHeads reports whether the heads the holders confirmed are those
// confirmed records, fingerprint, sequence number and hash.
func sameHeads(heads []chusme.ParticipantHead, confirmed []chusme.GroupKeyConfirmation) bool {
	return slices.EqualFunc(heads, confirmed, func(h chusme.ParticipantHead, c chusme.GroupKeyConfirmation) bool {
		return h.Fingerprint == c.Fingerprint && h.Seq == c.HeadSeq && bytes.Equal(h.Hash, c.HeadHash)
	})
}

// splitRound3 splits the round-3 payloads of ceremony c, by sender (their
// layout checked at submission), into the holders' confirmations and, for
// a refresh or reshare, the endorsements, in c's Endorsers order.
func splitRound3(c *chusme.Ceremony, bySender map[string][]byte) (map[string][]byte, []chusme.GroupKeyConfirmation) {
	if c.KeyID == "" {
		return bySender, nil
	}
	confirms := map[string][]byte{}
	var endorsements []chusme.GroupKeyConfirmation
	endorsers, holders := c.Endorsers(), c.Holders()
	for _, fp := range c.Participants {
		p, ok := bySender[fp]
		if !ok {
			continue
		}
		endorser, holder := slices.Contains(endorsers, fp), slices.Contains(holders, fp)
		e, confirmation, _ := chusme.SplitKeyChangeRound3(p, fp, endorser, holder)
		if endorser {
			endorsements = append(endorsements, e)
		}
		if holder {
			confirms[fp] = confirmation
		}
	}
	return confirms, endorsements
}
