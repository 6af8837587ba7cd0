package client

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hpke"
	"errors"
	"fmt"
	"slices"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client/roundstate"
	"github.com/chusme/chusme/frost"
)

// RunReshare takes part, as the identity of key, in reshare ceremony id:
// the key's secret dealt anew to the ceremony's new participants with its
// threshold (frost.ReshareDeal, ReshareReceive), under the same public key.
// A dealer (a holder of the key's current generation) gives old, its share
// of it; a new participant that holds none gives nil. It checks first, from
// the key's generation as GroupKeyGeneration verifies it, that the
// ceremony's dealers are exactly the participants holding a share of it,
// at least its threshold; a new holder then checks every dealer's
// commitment and share (a *frost.CheaterError names bad dealers), confirms
// the new key as a DKG participant does, and at the end that the server
// stored the key's next generation as computed. It returns the new holder's
// key package (save it with generation Ceremony.KeyGeneration+1), or, to a
// dealer that is no new holder, a result without one: its old share is then
// useless, and the caller wipes it.
func (c *Client) RunReshare(ctx context.Context, id string, key ed25519.PrivateKey, old *OldShare, progress Progress, opts ...RunOption) (*DKGResult, error) {
	return c.runParticipant(ctx, id, key, chusme.KindReshare, opts, func(p *participant) (*DKGResult, error) {
		return p.runReshare(ctx, old, progress)
	})
}

// runReshare is RunReshare's work, from the round its state is at.
func (p *participant) runReshare(ctx context.Context, old *OldShare, progress Progress) (*DKGResult, error) {
	c, info, st := p.c, p.info, p.st
	parts, holders := info.Participants, info.NewParticipants
	oldKey, oldPub, err := p.ceremonyKey(ctx)
	if err != nil {
		return nil, err
	}
	var dealers []string
	for _, fp := range parts {
		if slices.Contains(oldKey.Participants, fp) {
			dealers = append(dealers, fp)
		}
	}
	if !slices.Equal(dealers, info.Dealers) || len(dealers) < oldKey.Threshold {
		return nil, fmt.Errorf("%w: ceremony %s names dealers %v; the holders of key %s among its participants are %v (at least %d must deal)",
			ErrInconsistent, info.ID, info.Dealers, info.KeyID, dealers, oldKey.Threshold)
	}
	dealer, holder := slices.Contains(dealers, p.me), slices.Contains(holders, p.me)
	if dealer && !old.of(info, oldKey) {
		return nil, fmt.Errorf("client: ceremony %s reshares generation %d of key %s: this dealer needs its share of that generation", info.ID, info.KeyGeneration, info.KeyID)
	}
	ids, err := identifiers(parts)
	if err != nil {
		return nil, err
	}
	params := frost.ReshareParams{NewMinSigners: info.Threshold}
	for _, fp := range dealers {
		params.Dealers = append(params.Dealers, ids[fp])
	}
	for _, fp := range holders {
		params.NewIdentifiers = append(params.NewIdentifiers, ids[fp])
	}

	// Round 1: an HPKE key; a dealer's commitment, its shares kept.
	var deal func() ([]byte, map[frost.Identifier]*frost.ReshareShare, error)
	if dealer {
		deal = func() ([]byte, map[frost.Identifier]*frost.ReshareShare, error) {
			commitment, shares, err := frost.ReshareDeal(nil, old.KeyPackage, params)
			if err != nil {
				return nil, nil, fmt.Errorf("client: reshare round 1: %w", err)
			}
			com, err := commitment.MarshalBinary()
			return com, shares, err
		}
	}
	r1, err := keyChangeRound1(ctx, p, deal, func() *frost.ReshareShare { return new(frost.ReshareShare) }, progress)
	if err != nil {
		return nil, err
	}
	defer r1.wipe()
	info, hpkeKey, peerKeys, dealt := r1.info, r1.hpkeKey, r1.peerKeys, r1.kept

	// Round 2: the dealers seal a share to each other new holder.
	transcript := chusme.DKGTranscriptHash(info.ID, parts, r1.payloads)
	commitments := map[frost.Identifier]*frost.ReshareCommitment{}
	for _, fp := range dealers {
		com := new(frost.ReshareCommitment)
		if com.UnmarshalBinary(r1.commitments[fp]) != nil {
			return nil, fmt.Errorf("%w: malformed reshare commitment from %s", ErrInconsistent, fp)
		}
		commitments[ids[fp]] = com
	}
	if st.Round == 1 {
		st.Transcript = transcript
		if dealer {
			if st.Round2, err = sealEach(p, 2, dealt, peerKeys, ids, holders); err != nil {
				return nil, err
			}
			if own := dealt[ids[p.me]]; own != nil {
				if st.Round2Secret, err = own.MarshalBinary(); err != nil {
					return nil, err
				}
			}
		}
		clear(st.Round1Secret)
		st.Round1Secret = nil
		if err := p.seal(2); err != nil {
			return nil, err
		}
	} else if err := p.checkStored("the round-1 transcript", st.Transcript, transcript); err != nil {
		return nil, err
	}
	if dealer {
		if info, err = p.submitOnce(ctx, 2, chusme.SubmitRequest{Packages: st.Round2}); err != nil {
			return nil, err
		}
	}
	if info, err = p.wait(ctx, info, 2, progress); err != nil {
		return nil, err
	}

	// Round 3: a new holder opens its shares, derives its key package and
	// confirms the new key; a dealer that holds none waits for the end.
	groupKey := oldPub.VerifyingKey().Bytes()
	keyID := chusme.GroupKeyID(groupKey)
	if !holder {
		endorse, err := p.endorsement(ctx, holders, info.Threshold, transcript)
		if err != nil {
			return nil, err
		}
		if info, err = p.round3(ctx, endorse, progress); err != nil {
			return nil, err
		}
		gk, err := c.GroupKeyGeneration(ctx, keyID, info.KeyGeneration+1)
		if err != nil {
			return nil, err
		}
		if gk.CeremonyID != info.ID || gk.Threshold != info.Threshold || !slices.Equal(gk.Participants, holders) ||
			!slices.ContainsFunc(gk.Certificate.Endorsements, func(e chusme.GroupKeyConfirmation) bool {
				return e.Fingerprint == p.me && bytes.Equal(e.Signature, endorse[chusme.EndorsementSize-ed25519.SignatureSize:])
			}) {
			return nil, fmt.Errorf("%w: the stored key is not the reshare's, or not with this dealer's endorsement", ErrInconsistent)
		}
		return &DKGResult{KeyID: keyID, Ceremony: info}, nil
	}
	pkgs, err := p.inbox(ctx, 2)
	if err != nil {
		return nil, p.complained(ctx, err)
	}
	received := map[frost.Identifier]*frost.ReshareShare{}
	defer func() {
		for _, r := range received {
			r.Zero()
		}
	}()
	if dealer {
		own := new(frost.ReshareShare)
		if err := own.UnmarshalBinary(st.Round2Secret); err != nil {
			return nil, fmt.Errorf("%w: its own reshare share: %v", roundstate.ErrFormat, err)
		}
		received[ids[p.me]] = own
	}
	o, err := openRound(ctx, p, 2, pkgs, hpkeKey, dealers, ids, received, func() *frost.ReshareShare { return new(frost.ReshareShare) })
	if err != nil {
		return nil, err
	}
	defer o.wipe()
	kp, pub, err := frost.ReshareReceive(ids[p.me], oldPub, params, commitments, received)
	if err != nil {
		return nil, fmt.Errorf("client: reshare round 3: %w", p.cheated(ctx, o, err, ids))
	}
	ok := false
	defer func() {
		if !ok {
			kp.Zero()
		}
	}()
	if info, err = p.confirmRound(ctx, holders, info.Threshold, transcript, kp, pub, info.KeyGeneration+1, progress); err != nil {
		return nil, err
	}
	ok = true
	return &DKGResult{KeyID: keyID, KeyPackage: kp, PublicKeyPackage: pub, Ceremony: info}, nil
}

// dealtSecret is a secret a dealer keeps in its round state from round 1
// to round 2.
type dealtSecret interface {
	secretPackage
	MarshalBinary() ([]byte, error)
}

// keyChange1 is what round 1 of a reshare or a repair left a driver with.
type keyChange1[T interface{ Zero() }] struct {
	info        chusme.CeremonyInfo
	hpkeKey     hpke.PrivateKey
	kept        map[frost.Identifier]T    // a dealer's or helper's secrets for round 2, until it sent them
	payloads    map[string][]byte         // every participant's round-1 payload, for the transcript
	peerKeys    map[string]hpke.PublicKey // every participant's HPKE key
	commitments map[string][]byte         // every participant's commitment encoding (empty for one that deals none)
}

// wipe zeroes the kept secrets.
func (r *keyChange1[T]) wipe() { zeroAll(r.kept) }

// keyChangeRound1 is round 1 of a reshare or a repair, from the round p's
// state is at: an HPKE key and, from a participant that deals (deal not
// nil), the commitment deal makes, its secrets kept (sealed in the round
// state) for round 2. It broadcasts the payload and splits every
// participant's.
func keyChangeRound1[T dealtSecret](ctx context.Context, p *participant, deal func() ([]byte, map[frost.Identifier]T, error),
	newSecret func() T, progress Progress) (*keyChange1[T], error) {
	st := p.st
	r := &keyChange1[T]{kept: map[frost.Identifier]T{}}
	var err error
	if st.Round == 0 {
		if r.hpkeKey, err = hpkeKEM.GenerateKey(); err != nil {
			return nil, err
		}
		var com []byte
		if deal != nil {
			if com, r.kept, err = deal(); err != nil {
				r.wipe()
				return nil, err
			}
			if st.Round1Secret, err = encodeSecrets(r.kept); err != nil {
				r.wipe()
				return nil, err
			}
		}
		st.Round1 = chusme.DKGRound1Payload(r.hpkeKey.PublicKey().Bytes(), com)
		if st.HPKEKey, err = r.hpkeKey.Bytes(); err == nil {
			err = p.seal(1)
		}
		if err != nil {
			r.wipe()
			return nil, err
		}
	} else {
		hk, _, ok := chusme.SplitKeyChangeRound1Payload(st.Round1)
		if r.hpkeKey, err = hpkeKEM.NewPrivateKey(st.HPKEKey); err != nil || !ok || !bytes.Equal(r.hpkeKey.PublicKey().Bytes(), hk) {
			return nil, fmt.Errorf("%w: the round state's HPKE key is not the one of its round-1 package", roundstate.ErrFormat)
		}
		if st.Round == 1 && deal != nil {
			if r.kept, err = decodeSecrets(st.Round1Secret, newSecret); err != nil {
				return nil, err
			}
		}
	}
	if r.info, r.payloads, err = p.exchangeRound1(ctx, st.Round1, progress); err != nil {
		r.wipe()
		return nil, err
	}
	r.peerKeys, r.commitments = map[string]hpke.PublicKey{}, map[string][]byte{}
	for fp, payload := range r.payloads {
		hk, rest, ok := chusme.SplitKeyChangeRound1Payload(payload)
		if !ok {
			r.wipe()
			return nil, fmt.Errorf("%w: malformed round-1 package from %s", ErrInconsistent, fp)
		}
		if r.peerKeys[fp], err = hpkeKEM.NewPublicKey(hk); err != nil {
			r.wipe()
			return nil, fmt.Errorf("%w: bad HPKE key from %s", ErrInconsistent, fp)
		}
		r.commitments[fp] = rest
	}
	return r, nil
}

// secretSize is the encoding of one secret in a round state (encodeSecrets):
// the recipient's identifier, then the frost secret (a scalar's 34 bytes).
const secretSize = 32 + 34

// encodeSecrets encodes the secrets a driver made for its peers for its
// round state: for each recipient, its identifier and the secret.
func encodeSecrets[T interface{ MarshalBinary() ([]byte, error) }](secrets map[frost.Identifier]T) ([]byte, error) {
	var out []byte
	for id, s := range secrets {
		b, err := s.MarshalBinary()
		if err != nil || len(b) != secretSize-32 {
			clear(out)
			return nil, errors.New("client: a round secret does not encode")
		}
		out = append(append(out, id.Bytes()...), b...)
		clear(b)
	}
	return out, nil
}

// decodeSecrets reverses encodeSecrets.
func decodeSecrets[T secretPackage](b []byte, newSecret func() T) (map[frost.Identifier]T, error) {
	if len(b) == 0 || len(b)%secretSize != 0 {
		return nil, fmt.Errorf("%w: the round's secrets", roundstate.ErrFormat)
	}
	out := map[frost.Identifier]T{}
	for ; len(b) > 0; b = b[secretSize:] {
		id, err := frost.IdentifierFromBytes(b[:32])
		s := newSecret()
		if err != nil || s.UnmarshalBinary(b[32:secretSize]) != nil {
			return nil, fmt.Errorf("%w: the round's secrets", roundstate.ErrFormat)
		}
		out[id] = s
	}
	return out, nil
}

// ceremonyKey is the generation of the key that the ceremony changes or
// repairs, as GroupKeyGeneration verifies it (once per driver), with its
// public key package.
func (p *participant) ceremonyKey(ctx context.Context) (chusme.GroupKeyInfo, *frost.PublicKeyPackage, error) {
	if p.oldKey == nil {
		key, err := p.c.GroupKeyGeneration(ctx, p.info.KeyID, p.info.KeyGeneration)
		if err != nil {
			return key, nil, err
		}
		p.oldKey = &key
	}
	pub := new(frost.PublicKeyPackage)
	if err := pub.UnmarshalBinary(p.oldKey.PublicKeyPackage); err != nil {
		return *p.oldKey, nil, err
	}
	return *p.oldKey, pub, nil
}

// endorsement is this participant's round-3 endorsement of the generation
// that refresh or reshare p.info makes for holders with threshold t after
// round-1 transcript, if it holds a share of the one replaced (a refresh's
// participant, a reshare's dealer): chusme.GroupKeyEndorseMessage over that
// generation, as ceremonyKey verifies it, signed at this identity's chain
// head as the driver verified it. It is nil for anyone else.
func (p *participant) endorsement(ctx context.Context, holders []string, t int, transcript []byte) ([]byte, error) {
	info := p.info
	if info.Kind != chusme.KindRefresh && (info.Kind != chusme.KindReshare || !slices.Contains(info.Dealers, p.me)) {
		return nil, nil
	}
	old, _, err := p.ceremonyKey(ctx)
	if err != nil {
		return nil, err
	}
	own, err := p.chain(ctx, p.me)
	if err != nil {
		return nil, err
	}
	msg := chusme.GroupKeyEndorseMessage(p.c.issuer, info.ID, info.Kind, p.me, old.PublicKey, old.Generation,
		old.Certificate.VerifyingSharesHash, transcript, t, holders)
	sig, err := signWith(p.key, msg)
	if err != nil {
		return nil, err
	}
	head := own.head()
	return chusme.EndorsementPayload(chusme.GroupKeyConfirmation{HeadSeq: head.Seq, HeadHash: head.Hash,
		PublicKey: chusme.Bytes(p.key.Public().(ed25519.PublicKey)), Signature: sig}), nil
}

// of reports whether s is a share of key, the generation ceremony info
// changes or repairs.
func (s *OldShare) of(info chusme.CeremonyInfo, key chusme.GroupKeyInfo) bool {
	return s != nil && s.Generation == info.KeyGeneration && bytes.Equal(mustMarshal(s.PublicKeyPackage), key.PublicKeyPackage)
}

// mustMarshal is the encoding of a public key package (nil if it has none).
func mustMarshal(pub *frost.PublicKeyPackage) []byte {
	if pub == nil {
		return nil
	}
	b, _ := pub.MarshalBinary()
	return b
}
