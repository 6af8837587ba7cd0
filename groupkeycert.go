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
// DKG round 3 every participant signs, with its identity key,
// GroupKeyConfirmMessage over the group key it computed, the hash of every
// verifying share, the round-1 transcript, the threshold and the chain head
// of every participant as it verified them. The server stores the n
// signatures with the key; anyone holding the key's GroupKeyInfo can check
// offline (VerifyGroupKeyCertificate) that these n identities, at these
// chain heads, made it.

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

// DKGConfirmation is a DKG round-3 payload, decoded.
type DKGConfirmation struct {
	Signature        []byte            // 64 bytes: the sender's identity key over GroupKeyConfirmMessage
	Transcript       []byte            // 32 bytes: DKGTranscriptHash
	Heads            []ParticipantHead // one per participant, in the DKG's order
	PublicKeyPackage []byte            // the frost PublicKeyPackage encoding
}

// dkgHeadSize is the size of one head in a confirmation payload: the
// fingerprint's 32 bytes, the sequence number's 8, the hash's 32.
const dkgHeadSize = 32 + 8 + 32

// DKGConfirmPayload is the payload of a DKG confirmation: the 64-byte
// certificate signature, the 32-byte transcript hash, the number of heads
// (4 bytes, big-endian), each head as its fingerprint's 32 raw bytes, its
// sequence number (8 bytes) and its 32-byte hash, then the frost
// PublicKeyPackage encoding. Everything after the signature is what all n
// participants must agree on (DKGConfirmAgreed). The heads' fingerprints
// must be valid (ValidFingerprint) and their hashes 32 bytes.
func DKGConfirmPayload(c DKGConfirmation) []byte {
	p := make([]byte, 0, 64+32+4+len(c.Heads)*dkgHeadSize+len(c.PublicKeyPackage))
	p = append(append(p, c.Signature...), c.Transcript...)
	p = binary.BigEndian.AppendUint32(p, uint32(len(c.Heads)))
	for _, h := range c.Heads {
		fp, _ := hex.DecodeString(h.Fingerprint)
		p = append(append(append(p, fp...), u64(h.Seq)...), h.Hash...)
	}
	return append(p, c.PublicKeyPackage...)
}

// DKGConfirmAgreed returns the part of a confirmation payload every
// participant's must equal: all but the signature.
func DKGConfirmAgreed(p []byte) []byte {
	if len(p) < 64 {
		return nil
	}
	return p[64:]
}

// ParseDKGConfirmPayload decodes a confirmation payload; the parts alias p.
// ok is false if it is malformed: too short, a head count of 0, over
// MaxCeremonyParticipants or that does not fit, or no public key package.
func ParseDKGConfirmPayload(p []byte) (c DKGConfirmation, ok bool) {
	if len(p) < 64+32+4 {
		return c, false
	}
	c.Signature, c.Transcript = p[:64], p[64:96]
	n := binary.BigEndian.Uint32(p[96:100])
	rest := p[100:]
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
// order; and every confirmation's signature verifies, under the public key
// it names, over the one GroupKeyConfirmMessage they all make. It does not
// say that each public key is its identity's key at the head named: check
// that against the identity's verified chain (client.GroupKey does).
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
	}
	return nil
}
