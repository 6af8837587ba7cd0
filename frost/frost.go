package frost

import (
	"crypto/rand"
	"crypto/sha512"
	"errors"
	"fmt"
	"io"

	"filippo.io/edwards25519"
)

// ContextString is the RFC 9591 context string of the FROST(Ed25519, SHA-512)
// ciphersuite. It prefixes every hash except H2.
const ContextString = "FROST-ED25519-SHA512-v1"

// MaxParticipants bounds the number of participants n of a key (and so the
// number of signers, commitments and verifying shares any message may carry).
//
// The bound exists because every decoder sizes its allocation and every
// protocol step sizes its work from counts received from others: a DKG round-1
// package carries t commitments, a public key package n verifying shares, and
// the DKG costs O(n·t) group operations per participant (O(n²·t) overall). With
// n ≤ 1000 the largest message is below 64 KiB, the largest benchmarked session
// (667-of-1000) stays within tens of milliseconds for the coordinator, and a
// peer cannot make us allocate or compute without limit. It also keeps every
// count inside the uint16 fields of the encodings and frost-core's u16 limits.
const MaxParticipants = 1000

// Version is the leading byte of every encoding produced by this package.
// Decoders refuse any other version.
const Version byte = 1

// Sentinel errors. Errors returned by this package wrap one of these, so test
// them with errors.Is.
var (
	// ErrInvalidElement reports a group element that is malformed,
	// non-canonically encoded, the identity, or not in the prime-order subgroup
	// (small-order or mixed-order).
	ErrInvalidElement = errors.New("frost: invalid group element")
	// ErrInvalidScalar reports a scalar that is not canonically encoded
	// (not reduced modulo the group order) or is zero where zero is not allowed.
	ErrInvalidScalar = errors.New("frost: invalid scalar")
	// ErrInvalidIdentifier reports a zero or non-canonical participant identifier.
	ErrInvalidIdentifier = errors.New("frost: invalid identifier")
	// ErrInvalidParameters reports a threshold t and participant count n
	// outside 2 ≤ t ≤ n ≤ MaxParticipants.
	ErrInvalidParameters = errors.New("frost: invalid threshold or number of participants")
	// ErrDuplicateIdentifier reports the same identifier listed twice.
	ErrDuplicateIdentifier = errors.New("frost: duplicate identifier")
	// ErrUnknownParticipant reports an identifier that is not part of the key
	// or of the signing session.
	ErrUnknownParticipant = errors.New("frost: unknown participant")
	// ErrWrongParticipants reports a set of packages, commitments or shares
	// that does not match the set the protocol step expects.
	ErrWrongParticipants = errors.New("frost: wrong set of participants")
	// ErrTooFewSigners reports a signing session with fewer than t signers.
	ErrTooFewSigners = errors.New("frost: fewer signers than the threshold")
	// ErrNonceReused reports an attempt to sign twice with the same
	// SigningNonces (or with nonces that were zeroed).
	ErrNonceReused = errors.New("frost: signing nonces already used")
	// ErrCommitmentMismatch reports a signing package whose commitments for
	// this signer are not the ones made by its nonces.
	ErrCommitmentMismatch = errors.New("frost: signing package does not hold this signer's commitments")
	// ErrInvalidSignatureShare reports a signature share that does not verify
	// against the signer's verifying share.
	ErrInvalidSignatureShare = errors.New("frost: invalid signature share")
	// ErrInvalidSignature reports an aggregated signature that does not verify
	// although no share could be blamed (inconsistent public key package).
	ErrInvalidSignature = errors.New("frost: aggregated signature does not verify")
	// ErrInvalidProofOfKnowledge reports a DKG round-1 package whose Schnorr
	// proof of knowledge does not verify.
	ErrInvalidProofOfKnowledge = errors.New("frost: invalid DKG proof of knowledge")
	// ErrInvalidSecretShare reports a DKG round-2 share (or dealer share) that
	// does not match the sender's published commitment.
	ErrInvalidSecretShare = errors.New("frost: invalid secret share")
	// ErrMalformedEncoding reports an encoding with a wrong version or type
	// byte, a wrong length or trailing bytes.
	ErrMalformedEncoding = errors.New("frost: malformed encoding")
)

// CheaterError names the participants whose contribution failed verification.
// Err is ErrInvalidSignatureShare, ErrInvalidProofOfKnowledge or
// ErrInvalidSecretShare; errors.Is sees through a CheaterError to it.
type CheaterError struct {
	// Identifiers lists the culprits in ascending order.
	Identifiers []Identifier
	// Err says what they did wrong.
	Err error
}

// Error implements error.
func (e *CheaterError) Error() string {
	return fmt.Sprintf("%v: participants %v", e.Err, e.Identifiers)
}

// Unwrap returns e.Err.
func (e *CheaterError) Unwrap() error { return e.Err }

// identityPoint and friends are read-only after package initialisation.
var (
	identityPoint  = edwards25519.NewIdentityPoint()
	generatorPoint = edwards25519.NewGeneratorPoint()
	scalarZero     = edwards25519.NewScalar()
	scalarOne      = mustScalar(1)
	scalarMinusOne = new(edwards25519.Scalar).Negate(scalarOne) // L-1
)

func mustScalar(v uint64) *edwards25519.Scalar {
	var b [32]byte
	for i := 0; i < 8; i++ {
		b[i] = byte(v >> (8 * i))
	}
	s, err := new(edwards25519.Scalar).SetCanonicalBytes(b[:])
	if err != nil {
		panic(err)
	}
	return s
}

// hashParts returns SHA-512 of the concatenated parts; every call uses a
// fresh hash state, so concurrent use is safe.
func hashParts(parts ...[]byte) [64]byte {
	h := sha512.New()
	for _, p := range parts {
		h.Write(p)
	}
	var out [64]byte
	h.Sum(out[:0])
	return out
}

// hashToScalar reduces a SHA-512 digest of the parts modulo L.
func hashToScalar(parts ...[]byte) *edwards25519.Scalar {
	d := hashParts(parts...)
	s, err := new(edwards25519.Scalar).SetUniformBytes(d[:])
	if err != nil {
		panic(err) // unreachable: the digest is 64 bytes
	}
	return s
}

var (
	tagRho   = []byte(ContextString + "rho")
	tagNonce = []byte(ContextString + "nonce")
	tagMsg   = []byte(ContextString + "msg")
	tagCom   = []byte(ContextString + "com")
	tagDKG   = []byte(ContextString + "dkg")
	tagID    = []byte(ContextString + "id")
)

// h1 is RFC 9591 H1: binding factors.
func h1(m ...[]byte) *edwards25519.Scalar { return hashToScalar(append([][]byte{tagRho}, m...)...) }

// h2 is RFC 9591 H2: the Ed25519 challenge, no prefix.
func h2(m ...[]byte) *edwards25519.Scalar { return hashToScalar(m...) }

// h3 is RFC 9591 H3: nonce generation.
func h3(m ...[]byte) *edwards25519.Scalar { return hashToScalar(append([][]byte{tagNonce}, m...)...) }

// h4 is RFC 9591 H4: message hash.
func h4(m []byte) [64]byte { return hashParts(tagMsg, m) }

// h5 is RFC 9591 H5: commitment list hash.
func h5(m []byte) [64]byte { return hashParts(tagCom, m) }

// hdkg is frost-core's HDKG: the DKG proof-of-knowledge challenge.
func hdkg(m ...[]byte) *edwards25519.Scalar { return hashToScalar(append([][]byte{tagDKG}, m...)...) }

// hid is frost-core's HID: identifier derivation.
func hid(m []byte) *edwards25519.Scalar { return hashToScalar(tagID, m) }

// randReader returns r, or crypto/rand.Reader when r is nil.
func randReader(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}

// randomScalar reads 64 bytes from r and reduces them modulo L, retrying
// in the negligible case of zero.
func randomScalar(r io.Reader) (*edwards25519.Scalar, error) {
	var b [64]byte
	for {
		if _, err := io.ReadFull(randReader(r), b[:]); err != nil {
			return nil, fmt.Errorf("frost: reading randomness: %w", err)
		}
		s, _ := new(edwards25519.Scalar).SetUniformBytes(b[:])
		clear(b[:])
		if s.Equal(edwards25519.NewScalar()) == 0 {
			return s, nil
		}
	}
}

// element is a prime-order-subgroup point other than the identity, together
// with its canonical encoding (encoding costs a field inversion, so it is
// computed once).
type element struct {
	p   edwards25519.Point
	enc [32]byte
}

func newElement(p *edwards25519.Point) element {
	var e element
	e.p.Set(p)
	copy(e.enc[:], p.Bytes())
	return e
}

func (e *element) isZero() bool { return e.enc == [32]byte{} }

// decodeElement decodes a group element strictly: canonical encoding, not the
// identity, and torsion-free (no small-order component).
func decodeElement(b []byte) (element, error) {
	var e element
	if len(b) != 32 || !canonicalY(b) {
		return element{}, ErrInvalidElement
	}
	if _, err := e.p.SetBytes(b); err != nil {
		return element{}, ErrInvalidElement
	}
	// The other non-canonical form, x = 0 with the sign bit set, can only
	// name the identity or the point of order 2: both are refused below.
	copy(e.enc[:], b)
	if e.p.Equal(identityPoint) == 1 {
		return element{}, ErrInvalidElement
	}
	if !isTorsionFree(&e.p) {
		return element{}, ErrInvalidElement
	}
	return e, nil
}

// canonicalY reports whether the y coordinate of encoding b (32 bytes,
// little-endian, the top bit being x's sign) is below p = 2^255 - 19, by
// comparing bytes instead of re-encoding the decoded point (which costs a
// field inversion).
func canonicalY(b []byte) bool {
	if b[31]&0x7f != 0x7f {
		return true
	}
	for _, c := range b[1:31] {
		if c != 0xff {
			return true
		}
	}
	return b[0] < 0xed
}

// isTorsionFree reports whether [L]p is the identity. [L-1]p is computed as
// an integer multiple (the scalar is canonical, L-1 < 2^253) by
// VarTimeDoubleScalarBaseMult with a zero base-point scalar (the same
// width-5 NAF ladder as a one-point VarTimeMultiScalarMult, without its
// heap-allocated tables), then p is added. Since L ≡ 5 (mod 8), a non-zero
// torsion component T gives [L]T = [5]T ≠ 0. p is public, so variable time is
// fine.
func isTorsionFree(p *edwards25519.Point) bool {
	var q edwards25519.Point
	q.VarTimeDoubleScalarBaseMult(scalarMinusOne, p, scalarZero)
	q.Add(&q, p)
	return q.Equal(identityPoint) == 1
}

// decodeScalar decodes a canonical scalar (zero allowed).
func decodeScalar(b []byte) (edwards25519.Scalar, error) {
	var s edwards25519.Scalar
	if len(b) != 32 {
		return edwards25519.Scalar{}, ErrInvalidScalar
	}
	if _, err := s.SetCanonicalBytes(b); err != nil {
		return edwards25519.Scalar{}, ErrInvalidScalar
	}
	return s, nil
}

func isZeroScalar(s *edwards25519.Scalar) bool {
	return s.Equal(edwards25519.NewScalar()) == 1
}

// checkParameters enforces 2 ≤ t ≤ n ≤ MaxParticipants.
func checkParameters(minSigners, maxSigners int) error {
	if minSigners < 2 || maxSigners < minSigners || maxSigners > MaxParticipants {
		return ErrInvalidParameters
	}
	return nil
}
