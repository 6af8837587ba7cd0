package chusme

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
)

// Group key certificates (docs/protocol.md, "Group key certificates"): in
// DKG round 3 every participant signs, with one of its device keys current
// at its chain head,
// GroupKeyConfirmMessage over the group key it computed, the hash of every
// verifying share, the round-1 transcript, the threshold and the chain head
// of every participant as it verified them. The server stores the n
// signatures with the key; anyone holding the key's GroupKeyInfo can check
// offline (VerifyGroupKeyCertificate) that these n identities, at these
// chain heads, made it.
//
// Each holder also signs, with its signing share s_i as an Ed25519 key
// whose public key is its verifying share Y_i = s_i·G,
// SharePossessionMessage over that statement: a server that made up the
// verifying shares of a key it does not hold (t−1 of them from scalars it
// knows, the rest interpolated in the exponent from the group key) can't
// make these signatures for the shares whose scalars it does not know, so
// a certificate that needs all n can't be forged without the group secret.

// ParticipantHead is a ceremony participant's identity chain head: as
// another participant verified it (in a DKG confirmation), or as the server
// has it (CeremonyHeads).
type ParticipantHead struct {
	Fingerprint string `json:"fingerprint"`
	ChainHead
}

// VerifyingSharesHash is what a group key certificate signs of the
// verifying shares: SHA-256 over LabelVerifyingShares framed with each
// participant's fingerprint and 32-byte verifying share, in the
// participants' order. (Hashing the shares rather than the frost
// PublicKeyPackage encoding lets a verifier check it from GroupKeyInfo's
// JSON alone, and binds each share to its identity, not to a FROST
// identifier.) A participant without a share contributes an empty share.
func VerifyingSharesHash(participants []string, shares map[string][]byte) []byte {
	fields := make([][]byte, 0, 2*len(participants))
	for _, fp := range participants {
		fields = append(fields, []byte(fp), shares[fp])
	}
	h := sha256.Sum256(signedMessage(LabelVerifyingShares, fields...))
	return h[:]
}

// GroupKeyConfirmMessage is what every DKG participant signs with its
// identity key in round 3: the label, the issuer, the ceremony id, the
// 32-byte group public key, VerifyingSharesHash, the DKG transcript hash, the
// threshold (8 bytes), then for every participant in the DKG's order its
// fingerprint, head sequence number (8 bytes) and head hash.
func GroupKeyConfirmMessage(issuer, ceremonyID string, groupKey, sharesHash, transcript []byte, threshold int, heads []ParticipantHead) []byte {
	fields := [][]byte{[]byte(issuer), []byte(ceremonyID), groupKey, sharesHash, transcript, u64(uint64(threshold))}
	for _, h := range heads {
		fields = append(fields, []byte(h.Fingerprint), u64(h.Seq), h.Hash)
	}
	return signedMessage(LabelGroupKeyConfirm, fields...)
}

// SharePossessionMessage is what a holder signs with its signing share
// (frost.KeyPackage.SignWithShare) in round 3: the label, SHA-256 of the
// GroupKeyConfirmMessage it signs with its identity key, and its
// fingerprint. The signature verifies as Ed25519 under its verifying share.
func SharePossessionMessage(statement []byte, holder string) []byte {
	h := sha256.Sum256(statement)
	return signedMessage(LabelSharePossession, h[:], []byte(holder))
}

// DKGConfirmation is a DKG round-3 payload, decoded.
type DKGConfirmation struct {
	Signature        []byte            // 64 bytes: the sender's identity key over GroupKeyConfirmMessage
	ShareSignature   []byte            // 64 bytes: the sender's signing share over SharePossessionMessage
	Transcript       []byte            // 32 bytes: DKGTranscriptHash
	Heads            []ParticipantHead // one per participant, in the DKG's order
	PublicKeyPackage []byte            // the frost PublicKeyPackage encoding
}

// dkgHeadSize is the size of one head in a confirmation payload: the
// fingerprint's 32 bytes, the sequence number's 8, the hash's 32.
const dkgHeadSize = 32 + 8 + 32

// DKGConfirmSignaturesSize is the size of what opens a confirmation
// payload and differs between participants: the two 64-byte signatures.
const DKGConfirmSignaturesSize = 64 + 64

// DKGConfirmPayload is the payload of a DKG confirmation: the 64-byte
// certificate signature, the 64-byte share signature, the 32-byte
// transcript hash, the number of heads (4 bytes, big-endian), each head as
// its fingerprint's 32 raw bytes, its sequence number (8 bytes) and its
// 32-byte hash, then the frost PublicKeyPackage encoding. Everything after
// the signatures is what all n participants must agree on
// (DKGConfirmAgreed). The heads' fingerprints must be valid
// (ValidFingerprint) and their hashes 32 bytes.
func DKGConfirmPayload(c DKGConfirmation) []byte {
	p := make([]byte, 0, DKGConfirmSignaturesSize+32+4+len(c.Heads)*dkgHeadSize+len(c.PublicKeyPackage))
	p = append(append(append(p, c.Signature...), c.ShareSignature...), c.Transcript...)
	p = binary.BigEndian.AppendUint32(p, uint32(len(c.Heads)))
	for _, h := range c.Heads {
		fp, _ := hex.DecodeString(h.Fingerprint)
		p = append(append(append(p, fp...), u64(h.Seq)...), h.Hash...)
	}
	return append(p, c.PublicKeyPackage...)
}

// DKGConfirmAgreed returns the part of a confirmation payload every
// participant's must equal: all but the signatures.
func DKGConfirmAgreed(p []byte) []byte {
	if len(p) < DKGConfirmSignaturesSize {
		return nil
	}
	return p[DKGConfirmSignaturesSize:]
}

// ParseDKGConfirmPayload decodes a confirmation payload; the parts alias p.
// ok is false if it is malformed: too short, a head count of 0, over
// MaxCeremonyParticipants or that does not fit, or no public key package.
func ParseDKGConfirmPayload(p []byte) (c DKGConfirmation, ok bool) {
	const at = DKGConfirmSignaturesSize
	if len(p) < at+32+4 {
		return c, false
	}
	c.Signature, c.ShareSignature, c.Transcript = p[:64], p[64:at], p[at:at+32]
	n := binary.BigEndian.Uint32(p[at+32 : at+36])
	rest := p[at+36:]
	if n == 0 || n > MaxCeremonyParticipants || uint64(len(rest)) <= uint64(n)*dkgHeadSize {
		return DKGConfirmation{}, false
	}
	c.Heads = make([]ParticipantHead, n)
	for i := range c.Heads {
		r := rest[i*dkgHeadSize:]
		c.Heads[i] = ParticipantHead{hex.EncodeToString(r[:32]), ChainHead{Seq: binary.BigEndian.Uint64(r[32:40]), Hash: r[40:72]}}
	}
	c.PublicKeyPackage = rest[n*dkgHeadSize:]
	return c, true
}

// VerifyGroupKeyCertificate checks group key k's certificate offline, with
// the root and keys packages only (pass keys.Verify): the key id is
// GroupKeyID of the public key; the certificate is of k's ceremony and
// threshold; its verifying-shares hash is VerifyingSharesHash of k's shares;
// it has exactly one confirmation per participant, in the participants'
// order; every confirmation's signature verifies, under the public key it
// names, over the one GroupKeyConfirmMessage they all make; and every
// confirmation's share signature verifies, under its holder's verifying
// share, over that holder's SharePossessionMessage of it. It does not
// say that each public key is one of its identity's device keys at the
// head named: check that against the identity's verified chain
// (client.GroupKey does).
func VerifyGroupKeyCertificate(k GroupKeyInfo, verify ChainVerifier) error {
	bad := func(format string, args ...any) error {
		return Errorf(CodeInvalidPackage, "group key %s: certificate: %s", k.KeyID, fmt.Sprintf(format, args...))
	}
	if len(k.PublicKey) != 32 || GroupKeyID(k.PublicKey) != k.KeyID {
		return bad("the key id is not the public key's")
	}
	cert := k.Certificate
	if cert == nil {
		return bad("none")
	}
	if cert.CeremonyID != k.CeremonyID || cert.Threshold != k.Threshold {
		return bad("it is of ceremony %s, threshold %d, not %s, %d", cert.CeremonyID, cert.Threshold, k.CeremonyID, k.Threshold)
	}
	for i, fp := range k.Participants {
		if slices.Contains(k.Participants[:i], fp) {
			return bad("participant %s is listed twice", fp)
		}
	}
	shares := make(map[string][]byte, len(k.VerifyingShares))
	for fp, s := range k.VerifyingShares {
		shares[fp] = s
	}
	if len(shares) != len(k.Participants) || !bytes.Equal(VerifyingSharesHash(k.Participants, shares), cert.VerifyingSharesHash) {
		return bad("the verifying-shares hash is not the shares'")
	}
	if len(cert.Confirmations) != len(k.Participants) {
		return bad("%d confirmations for %d participants", len(cert.Confirmations), len(k.Participants))
	}
	heads := make([]ParticipantHead, len(cert.Confirmations))
	for i, c := range cert.Confirmations {
		if c.Fingerprint != k.Participants[i] || len(c.HeadHash) != sha256.Size {
			return bad("confirmation %d is not participant %s's", i, k.Participants[i])
		}
		heads[i] = ParticipantHead{c.Fingerprint, ChainHead{Seq: c.HeadSeq, Hash: c.HeadHash}}
	}
	msg := GroupKeyConfirmMessage(cert.Issuer, k.CeremonyID, k.PublicKey, cert.VerifyingSharesHash, cert.Transcript, k.Threshold, heads)
	for _, c := range cert.Confirmations {
		if verify(c.PublicKey, msg, c.Signature) != nil {
			return bad("the signature of %s does not verify", c.Fingerprint)
		}
		if verify(shares[c.Fingerprint], SharePossessionMessage(msg, c.Fingerprint), c.ShareSignature) != nil {
			return bad("the share signature of %s does not verify under its verifying share", c.Fingerprint)
		}
	}
	return nil
}

// Lineage (docs/protocol.md, "Group key certificates"): a refresh or reshare
// makes a key's next generation, and the holders of the generation before
// that take part (Ceremony.Endorsers) each sign, in round 3,
// GroupKeyEndorseMessage: that this ceremony, from their share of that
// generation, made the next one for these holders with this threshold and
// round-1 transcript. The new generation's certificate carries those
// endorsements; VerifyGroupKeyLineage checks, generation by generation,
// that each was endorsed by at least the threshold of holders of the one
// before, so a server can't give a key new holders of its own.

// GroupKeyEndorseMessage is what a holder of generation g of a group key,
// endorser, signs with a device key in round 3 of refresh or reshare
// ceremonyID (kind): the label, the issuer, the ceremony id, the kind, the
// endorser's fingerprint, the 32-byte group public key, g (8 bytes), g's
// VerifyingSharesHash, the ceremony's round-1 transcript hash, the new
// generation's threshold (8 bytes), then the fingerprint of each of its
// holders, in the ceremony's order.
func GroupKeyEndorseMessage(issuer, ceremonyID, kind, endorser string, groupKey []byte, generation int, sharesHash, transcript []byte, threshold int, holders []string) []byte {
	fields := [][]byte{[]byte(issuer), []byte(ceremonyID), []byte(kind), []byte(endorser), groupKey,
		u64(uint64(generation)), sharesHash, transcript, u64(uint64(threshold))}
	for _, fp := range holders {
		fields = append(fields, []byte(fp))
	}
	return signedMessage(LabelGroupKeyEndorse, fields...)
}

// EndorsementSize is the size of an endorsement in a round-3 payload
// (EndorsementPayload).
const EndorsementSize = 8 + 32 + 32 + 64

// EndorsementPayload encodes endorsement e as a refresh's or reshare's
// round-3 payload starts with it: the endorser's chain head sequence number
// (8 bytes) and hash (32), its identity key at that head (32) and its
// signature over GroupKeyEndorseMessage (64). A participant that is also a
// new holder follows it with its DKGConfirmPayload (SplitKeyChangeRound3).
func EndorsementPayload(e GroupKeyConfirmation) []byte {
	p := make([]byte, 0, EndorsementSize)
	return append(append(append(append(p, u64(e.HeadSeq)...), e.HeadHash...), e.PublicKey...), e.Signature...)
}

// SplitKeyChangeRound3 splits the round-3 payload of a refresh or reshare
// from sender: its endorsement if endorser (decoded, the parts aliasing p),
// then its confirmation if holder (the rest, which must be empty
// otherwise). ok is false if the layout is not that.
func SplitKeyChangeRound3(p []byte, sender string, endorser, holder bool) (e GroupKeyConfirmation, confirmation []byte, ok bool) {
	if endorser {
		if len(p) < EndorsementSize {
			return e, nil, false
		}
		e = GroupKeyConfirmation{Fingerprint: sender, HeadSeq: binary.BigEndian.Uint64(p[:8]), HeadHash: p[8:40], PublicKey: p[40:72], Signature: p[72:EndorsementSize]}
		p = p[EndorsementSize:]
	}
	if holder != (len(p) > 0) {
		return GroupKeyConfirmation{}, nil, false
	}
	return e, p, true
}

// VerifyGroupKeyLineage checks offline, as VerifyGroupKeyCertificate does
// (pass keys.Verify), that gens, consecutive generations of one group key
// in order, descend each from the one before: every certificate verifies;
// the key id and public key stay, the generation numbers are consecutive,
// every certificate names its ceremony's kind (a DKG's for generation 1,
// which has no endorsements; a refresh's or a reshare's for each later
// one) and every later generation carries, in its certificate, signed
// endorsements (GroupKeyEndorseMessage over the generation before, the
// certificate's ceremony, transcript, threshold and holders) from at least
// the threshold of distinct holders of the generation before, none at a
// chain head older than the one it confirmed that generation at. A refresh
// must moreover keep the threshold, its holders must all hold the
// generation before, and each must have endorsed. gens[0] is taken as
// trusted if it is not generation 1: the caller verified it before (a
// client's pin). As VerifyGroupKeyCertificate, it does not say that each
// public key is one of its identity's device keys at the head named.
func VerifyGroupKeyLineage(gens []GroupKeyInfo, verify ChainVerifier) error {
	if len(gens) == 0 {
		return Errorf(CodeInvalidPackage, "group key lineage: no generation")
	}
	for i, k := range gens {
		if err := VerifyGroupKeyCertificate(k, verify); err != nil {
			return err
		}
		if i == 0 && k.Generation == 1 && (k.Certificate.Kind != KindDKG || len(k.Certificate.Endorsements) != 0) {
			return Errorf(CodeInvalidPackage, "group key %s: generation 1: its certificate is of a %q with %d endorsements, not of a DKG",
				k.KeyID, k.Certificate.Kind, len(k.Certificate.Endorsements))
		}
		if i > 0 {
			if err := verifyEndorsed(gens[i-1], k, verify); err != nil {
				return err
			}
		}
	}
	return nil
}

// verifyEndorsed checks that generation k of a group key was made from
// prev, its certificate already verified, by prev's holders
// (VerifyGroupKeyLineage).
func verifyEndorsed(prev, k GroupKeyInfo, verify ChainVerifier) error {
	bad := func(format string, args ...any) error {
		return Errorf(CodeInvalidPackage, "group key %s: generation %d does not descend from generation %d: %s",
			k.KeyID, k.Generation, prev.Generation, fmt.Sprintf(format, args...))
	}
	cert := k.Certificate
	switch {
	case k.KeyID != prev.KeyID || !bytes.Equal(k.PublicKey, prev.PublicKey):
		return bad("it is of another key")
	case cert.Issuer != prev.Certificate.Issuer:
		return bad("its certificate is bound to issuer %q, not %q", cert.Issuer, prev.Certificate.Issuer)
	case k.Generation != prev.Generation+1:
		return bad("it is generation %d", k.Generation)
	case cert.Kind != KindRefresh && cert.Kind != KindReshare:
		return bad("its certificate is of a %q, not of a refresh or reshare", cert.Kind)
	case cert.Kind == KindRefresh && k.Threshold != prev.Threshold:
		return bad("a refresh changed the threshold from %d to %d", prev.Threshold, k.Threshold)
	}
	confirmedAt := make(map[string]uint64, len(prev.Participants))
	for _, c := range prev.Certificate.Confirmations {
		confirmedAt[c.Fingerprint] = c.HeadSeq
	}
	if cert.Kind == KindRefresh {
		for _, fp := range k.Participants {
			if _, ok := confirmedAt[fp]; !ok {
				return bad("refresh participant %s holds no share of generation %d", fp, prev.Generation)
			}
		}
		if len(cert.Endorsements) != len(k.Participants) {
			return bad("%d endorsements for %d refresh participants", len(cert.Endorsements), len(k.Participants))
		}
	}
	seen := make(map[string]bool, len(cert.Endorsements))
	for i, e := range cert.Endorsements {
		at, holder := confirmedAt[e.Fingerprint]
		switch {
		case !holder:
			return bad("endorser %s holds no share of generation %d", e.Fingerprint, prev.Generation)
		case seen[e.Fingerprint]:
			return bad("%s endorsed twice", e.Fingerprint)
		case cert.Kind == KindRefresh && e.Fingerprint != k.Participants[i]:
			return bad("endorsement %d is not refresh participant %s's", i, k.Participants[i])
		case len(e.HeadHash) != sha256.Size:
			return bad("the endorsement of %s has a %d-byte head hash", e.Fingerprint, len(e.HeadHash))
		case e.HeadSeq < at:
			return bad("%s endorsed at head %d, before the head %d it confirmed generation %d at", e.Fingerprint, e.HeadSeq, at, prev.Generation)
		}
		seen[e.Fingerprint] = true
		msg := GroupKeyEndorseMessage(cert.Issuer, cert.CeremonyID, cert.Kind, e.Fingerprint, k.PublicKey, prev.Generation,
			prev.Certificate.VerifyingSharesHash, cert.Transcript, k.Threshold, k.Participants)
		if verify(e.PublicKey, msg, e.Signature) != nil {
			return bad("the endorsement of %s does not verify", e.Fingerprint)
		}
	}
	if len(seen) < prev.Threshold {
		return bad("%d holders of it endorsed it, fewer than its threshold of %d", len(seen), prev.Threshold)
	}
	return nil
}
