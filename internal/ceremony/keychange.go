package ceremony

import (
	"bytes"
	"context"
	"errors"
	"slices"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/frost"
)

// Ceremonies that change a group key's shares, not its public key: a
// refresh (frost-core's refresh by DKG) and a reshare (frost's verifiable
// secret redistribution). Both run on the DKG's three rounds and end with
// the key's next generation (completeDKG).

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
			return invalid("participants: %s does not hold a share of the key", fp)
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
	hpkeKey, rest, ok := chusme.SplitReshareRound1Payload(payload)
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
	for _, l := range []struct {
		fps []string
		ids *[]frost.Identifier
	}{{c.Dealers, &p.Dealers}, {c.NewParticipants, &p.NewIdentifiers}} {
		for _, fp := range l.fps {
			id, err := identifier(fp)
			if err != nil {
				return p, err
			}
			*l.ids = append(*l.ids, id)
		}
	}
	return p, nil
}
