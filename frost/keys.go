package frost

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"io"
	"slices"

	"filippo.io/edwards25519"
)

// redact writes the redacted form of a secret-holding value for any verb.
func redact(f fmt.State, name string) { _, _ = io.WriteString(f, name+"{REDACTED}") }

// SigningShare is a participant's long-lived secret share s_i of the group
// key. It never prints its value.
type SigningShare struct {
	s edwards25519.Scalar
}

// NewSigningShare decodes a canonical, non-zero 32-byte scalar.
func NewSigningShare(b []byte) (*SigningShare, error) {
	s, err := decodeScalar(b)
	if err != nil || isZeroScalar(&s) {
		return nil, ErrInvalidScalar
	}
	return &SigningShare{s: s}, nil
}

// Bytes returns the 32-byte scalar encoding. Handle with care: it is secret.
func (s *SigningShare) Bytes() []byte { return s.s.Bytes() }

// VerifyingShare returns the public share s_i·G.
func (s *SigningShare) VerifyingShare() VerifyingShare {
	return VerifyingShare{e: newElement(new(edwards25519.Point).ScalarBaseMult(&s.s))}
}

// Zero overwrites the secret.
func (s *SigningShare) Zero() { s.s = edwards25519.Scalar{} }

// String returns a redacted placeholder.
func (s SigningShare) String() string { return "frost.SigningShare{REDACTED}" }

// GoString returns a redacted placeholder.
func (s SigningShare) GoString() string { return s.String() }

// Format prints a redacted placeholder for every verb.
func (s SigningShare) Format(f fmt.State, _ rune) { redact(f, "frost.SigningShare") }

// VerifyingShare is a participant's public share Y_i = s_i·G.
type VerifyingShare struct {
	e element
}

// NewVerifyingShare decodes a verifying share strictly (canonical, not the
// identity, torsion-free).
func NewVerifyingShare(b []byte) (VerifyingShare, error) {
	e, err := decodeElement(b)
	if err != nil {
		return VerifyingShare{}, err
	}
	return VerifyingShare{e: e}, nil
}

// Bytes returns the 32-byte point encoding.
func (v VerifyingShare) Bytes() []byte { b := v.e.enc; return b[:] }

// Equal reports whether v and o are the same point.
func (v VerifyingShare) Equal(o VerifyingShare) bool { return v.e.enc == o.e.enc }

// String returns the hex encoding.
func (v VerifyingShare) String() string { return hex.EncodeToString(v.e.enc[:]) }

// VerifyingKey is the group public key: an Ed25519 public key.
type VerifyingKey struct {
	e element
}

// NewVerifyingKey decodes a group public key strictly (canonical, not the
// identity, torsion-free).
func NewVerifyingKey(b []byte) (VerifyingKey, error) {
	e, err := decodeElement(b)
	if err != nil {
		return VerifyingKey{}, err
	}
	return VerifyingKey{e: e}, nil
}

// Bytes returns the 32-byte point encoding.
func (v VerifyingKey) Bytes() []byte { b := v.e.enc; return b[:] }

// Ed25519 returns the key as a crypto/ed25519 public key.
func (v VerifyingKey) Ed25519() ed25519.PublicKey { return ed25519.PublicKey(v.Bytes()) }

// Equal reports whether v and o are the same point.
func (v VerifyingKey) Equal(o VerifyingKey) bool { return v.e.enc == o.e.enc }

// String returns the hex encoding.
func (v VerifyingKey) String() string { return hex.EncodeToString(v.e.enc[:]) }

// Verify reports whether sig is a valid Ed25519 signature of msg under v,
// using crypto/ed25519.
func (v VerifyingKey) Verify(msg, sig []byte) bool {
	return len(sig) == ed25519.SignatureSize && ed25519.Verify(v.Ed25519(), msg, sig)
}

// KeyPackage is what a participant keeps to sign: its identifier, signing
// share, verifying share, the group key and the threshold. It holds a secret
// and never prints it.
type KeyPackage struct {
	identifier     Identifier
	signingShare   SigningShare
	verifyingShare VerifyingShare
	verifyingKey   VerifyingKey
	minSigners     int
}

// NewKeyPackage assembles a key package, for example when importing a key.
// The verifying share is derived from the signing share.
func NewKeyPackage(id Identifier, share *SigningShare, verifyingKey VerifyingKey, minSigners int) (*KeyPackage, error) {
	if id.IsZero() {
		return nil, ErrInvalidIdentifier
	}
	if share == nil || isZeroScalar(&share.s) {
		return nil, ErrInvalidScalar
	}
	if verifyingKey.e.isZero() {
		return nil, ErrInvalidElement
	}
	if err := checkParameters(minSigners, minSigners); err != nil {
		return nil, err
	}
	return &KeyPackage{
		identifier:     id,
		signingShare:   *share,
		verifyingShare: share.VerifyingShare(),
		verifyingKey:   verifyingKey,
		minSigners:     minSigners,
	}, nil
}

// Identifier returns the participant's identifier.
func (k *KeyPackage) Identifier() Identifier { return k.identifier }

// SigningShare returns a copy of the secret signing share.
func (k *KeyPackage) SigningShare() *SigningShare { s := k.signingShare; return &s }

// VerifyingShare returns the participant's public share.
func (k *KeyPackage) VerifyingShare() VerifyingShare { return k.verifyingShare }

// VerifyingKey returns the group public key.
func (k *KeyPackage) VerifyingKey() VerifyingKey { return k.verifyingKey }

// MinSigners returns the threshold t.
func (k *KeyPackage) MinSigners() int { return k.minSigners }

// Zero overwrites the signing share. The package is unusable afterwards.
func (k *KeyPackage) Zero() { k.signingShare.Zero() }

// String returns a redacted description (identifier and public parts only).
func (k KeyPackage) String() string {
	return fmt.Sprintf("frost.KeyPackage{identifier: %v, signingShare: REDACTED, verifyingKey: %v, minSigners: %d}",
		k.identifier, k.verifyingKey, k.minSigners)
}

// GoString returns the same redacted description as String.
func (k KeyPackage) GoString() string { return k.String() }

// Format prints the redacted description for every verb.
func (k KeyPackage) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }

// MarshalBinary encodes the key package (secret!):
// version, type, identifier, signing share, verifying share, group key,
// uint16 threshold.
func (k *KeyPackage) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 2+4*32+2)
	b = appendHeader(b, typeKeyPackage)
	b = append(b, k.identifier.b[:]...)
	b = appendScalar(b, &k.signingShare.s)
	b = append(b, k.verifyingShare.e.enc[:]...)
	b = append(b, k.verifyingKey.e.enc[:]...)
	b = appendU16(b, k.minSigners)
	return b, nil
}

// UnmarshalBinary decodes a key package strictly; the verifying share must be
// the one derived from the signing share. On error k is left zero.
func (k *KeyPackage) UnmarshalBinary(data []byte) error {
	*k = KeyPackage{}
	d := newDecoder(data, typeKeyPackage)
	id := d.identifier()
	s := d.scalar()
	vs := d.element()
	vk := d.element()
	t := d.u16()
	if err := d.finish(); err != nil {
		return err
	}
	kp, err := NewKeyPackage(id, &SigningShare{s: s}, VerifyingKey{e: vk}, t)
	if err != nil {
		return err
	}
	if kp.verifyingShare.e.enc != vs.enc {
		kp.Zero()
		return fmt.Errorf("%w: verifying share does not match signing share", ErrMalformedEncoding)
	}
	*k = *kp
	return nil
}

// PublicKeyPackage holds the public side of a key: the group key, every
// participant's verifying share and the threshold. The coordinator needs it to
// verify signature shares.
type PublicKeyPackage struct {
	verifyingKey VerifyingKey
	shares       map[Identifier]VerifyingShare
	minSigners   int
}

// NewPublicKeyPackage assembles a public key package. The number of shares n
// must satisfy 2 ≤ minSigners ≤ n ≤ MaxParticipants.
func NewPublicKeyPackage(verifyingKey VerifyingKey, shares map[Identifier]VerifyingShare, minSigners int) (*PublicKeyPackage, error) {
	if err := checkParameters(minSigners, len(shares)); err != nil {
		return nil, err
	}
	if verifyingKey.e.isZero() {
		return nil, ErrInvalidElement
	}
	m := make(map[Identifier]VerifyingShare, len(shares))
	for id, v := range shares {
		if id.IsZero() {
			return nil, ErrInvalidIdentifier
		}
		if v.e.isZero() {
			return nil, ErrInvalidElement
		}
		m[id] = v
	}
	return &PublicKeyPackage{verifyingKey: verifyingKey, shares: m, minSigners: minSigners}, nil
}

// VerifyingKey returns the group public key.
func (p *PublicKeyPackage) VerifyingKey() VerifyingKey { return p.verifyingKey }

// VerifyingShare returns the verifying share of participant id.
func (p *PublicKeyPackage) VerifyingShare(id Identifier) (VerifyingShare, bool) {
	v, ok := p.shares[id]
	return v, ok
}

// Identifiers returns all participants' identifiers in ascending order.
func (p *PublicKeyPackage) Identifiers() []Identifier {
	ids := make([]Identifier, 0, len(p.shares))
	for id := range p.shares {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, Identifier.Compare)
	return ids
}

// MinSigners returns the threshold t.
func (p *PublicKeyPackage) MinSigners() int { return p.minSigners }

// MaxSigners returns the number of participants n.
func (p *PublicKeyPackage) MaxSigners() int { return len(p.shares) }

// String describes the package.
func (p *PublicKeyPackage) String() string {
	return fmt.Sprintf("frost.PublicKeyPackage{verifyingKey: %v, %d-of-%d}", p.verifyingKey, p.minSigners, len(p.shares))
}

// MarshalBinary encodes the package: version, type, uint16 threshold, group
// key, uint16 n, then n × (identifier, verifying share) in ascending
// identifier order.
func (p *PublicKeyPackage) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 2+2+32+2+64*len(p.shares))
	b = appendHeader(b, typePublicKeyPackage)
	b = appendU16(b, p.minSigners)
	b = append(b, p.verifyingKey.e.enc[:]...)
	b = appendU16(b, len(p.shares))
	for _, id := range p.Identifiers() {
		v := p.shares[id]
		b = append(b, id.b[:]...)
		b = append(b, v.e.enc[:]...)
	}
	return b, nil
}

// UnmarshalBinary decodes a package strictly: identifiers strictly ascending,
// every element valid. On error p is left zero.
func (p *PublicKeyPackage) UnmarshalBinary(data []byte) error {
	*p = PublicKeyPackage{}
	d := newDecoder(data, typePublicKeyPackage)
	t := d.u16()
	vk := d.element()
	n := d.count(2, MaxParticipants, 64)
	shares := make(map[Identifier]VerifyingShare, n)
	var prev Identifier
	for i := 0; i < n && d.err == nil; i++ {
		id := d.identifier()
		if d.err == nil && i > 0 && prev.Compare(id) >= 0 {
			d.err = ErrMalformedEncoding // unsorted or duplicate
		}
		prev = id
		e := d.element()
		shares[id] = VerifyingShare{e: e}
	}
	if err := d.finish(); err != nil {
		return err
	}
	pp, err := NewPublicKeyPackage(VerifyingKey{e: vk}, shares, t)
	if err != nil {
		return err
	}
	*p = *pp
	return nil
}

// evalPolynomial evaluates Σ coeffs[k]·x^k with Horner's rule.
func evalPolynomial(coeffs []edwards25519.Scalar, x *edwards25519.Scalar) *edwards25519.Scalar {
	r := new(edwards25519.Scalar)
	for k := len(coeffs) - 1; k >= 0; k-- {
		r.MultiplyAdd(r, x, &coeffs[k])
	}
	return r
}

// evalCommitment returns Σ commitment[k]·x^k, the public image f(x)·G of the
// polynomial whose coefficients' images are commitment.
func evalCommitment(commitment []element, x *edwards25519.Scalar) *edwards25519.Point {
	scalars := make([]*edwards25519.Scalar, len(commitment))
	points := make([]*edwards25519.Point, len(commitment))
	pow := new(edwards25519.Scalar).Set(scalarOne)
	for k := range commitment {
		scalars[k] = new(edwards25519.Scalar).Set(pow)
		points[k] = &commitment[k].p
		pow.Multiply(pow, x)
	}
	return new(edwards25519.Point).VarTimeMultiScalarMult(scalars, points)
}

// checkIdentifiers verifies that ids are non-zero and distinct, and their
// number n satisfies minSigners ≤ n ≤ MaxParticipants.
func checkIdentifiers(ids []Identifier, minSigners int) error {
	if err := checkParameters(minSigners, len(ids)); err != nil {
		return err
	}
	seen := make(map[Identifier]struct{}, len(ids))
	for _, id := range ids {
		if id.IsZero() {
			return ErrInvalidIdentifier
		}
		if _, dup := seen[id]; dup {
			return ErrDuplicateIdentifier
		}
		seen[id] = struct{}{}
	}
	return nil
}

// TrustedDealerKeygen splits a group secret into shares for the given
// participants with threshold minSigners, as RFC 9591 Appendix C
// (trusted_dealer_keygen) does. If secret is nil a random one is drawn.
// rand supplies the secret (if drawn) and the polynomial coefficients
// (64 bytes each, reduced modulo L); nil means crypto/rand. It is meant for
// tests and key import: the dealer learns every share.
func TrustedDealerKeygen(rand io.Reader, secret *SigningShare, ids []Identifier, minSigners int) (map[Identifier]*KeyPackage, *PublicKeyPackage, error) {
	if err := checkIdentifiers(ids, minSigners); err != nil {
		return nil, nil, err
	}
	coeffs := make([]edwards25519.Scalar, minSigners)
	defer func() {
		for i := range coeffs {
			coeffs[i] = edwards25519.Scalar{}
		}
	}()
	if secret == nil {
		s, err := randomScalar(rand)
		if err != nil {
			return nil, nil, err
		}
		coeffs[0] = *s
	} else {
		if isZeroScalar(&secret.s) {
			return nil, nil, ErrInvalidScalar
		}
		coeffs[0] = secret.s
	}
	for k := 1; k < minSigners; k++ {
		s, err := randomScalar(rand)
		if err != nil {
			return nil, nil, err
		}
		coeffs[k] = *s
	}
	return dealWithCoefficients(coeffs, ids, minSigners)
}

// dealWithCoefficients is RFC 9591 secret_share_shard with given coefficients
// (coeffs[0] is the group secret).
func dealWithCoefficients(coeffs []edwards25519.Scalar, ids []Identifier, minSigners int) (map[Identifier]*KeyPackage, *PublicKeyPackage, error) {
	vk := VerifyingKey{e: newElement(new(edwards25519.Point).ScalarBaseMult(&coeffs[0]))}
	kps := make(map[Identifier]*KeyPackage, len(ids))
	shares := make(map[Identifier]VerifyingShare, len(ids))
	for _, id := range ids {
		s := SigningShare{s: *evalPolynomial(coeffs, id.scalar())}
		kp, err := NewKeyPackage(id, &s, vk, minSigners)
		s.Zero()
		if err != nil {
			return nil, nil, err // a zero share: negligible probability
		}
		kps[id] = kp
		shares[id] = kp.verifyingShare
	}
	pub, err := NewPublicKeyPackage(vk, shares, minSigners)
	if err != nil {
		return nil, nil, err
	}
	return kps, pub, nil
}
