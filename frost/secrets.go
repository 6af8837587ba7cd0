package frost

import (
	"fmt"

	"filippo.io/edwards25519"
)

// The round secrets' encodings let a participant seal them between rounds
// (ChusMe's client keeps them, encrypted, so that an interrupted participant
// can resume). They are secret: whoever holds them can finish the round in
// the participant's place, and two signature shares made with the same
// nonces for different signing packages give away the signing share. The
// caller encrypts them and wipes the bytes after use.

// MarshalBinary encodes the round-1 secret (secret!): version, type,
// identifier, uint16 t, uint16 n, the t polynomial coefficients. The
// commitment is not stored: UnmarshalBinary derives it from the
// coefficients. A secret already used by DKGPart2 (zeroed) does not encode.
// A refresh secret (RefreshDKGPart1) has its own type byte and a zero first
// coefficient.
func (s *DKGRound1Secret) MarshalBinary() ([]byte, error) {
	typ, first := typeDKGRound1Secret, 0
	if s.refresh {
		typ, first = typeRefreshRound1Secret, 1
	}
	if len(s.coefficients) <= first || isZeroScalar(&s.coefficients[first]) {
		return nil, ErrInvalidScalar
	}
	b := make([]byte, 0, 2+32+4+32*len(s.coefficients))
	b = appendHeader(b, typ)
	b = append(b, s.identifier.b[:]...)
	b = appendU16(b, s.minSigners)
	b = appendU16(b, s.maxSigners)
	for i := range s.coefficients {
		b = appendScalar(b, &s.coefficients[i])
	}
	return b, nil
}

// UnmarshalBinary decodes a round-1 secret strictly: a valid identifier,
// 2 ≤ t ≤ n ≤ MaxParticipants, t canonical non-zero coefficients (for a
// refresh secret, the first one zero and the others not). On error s is left
// zero.
func (s *DKGRound1Secret) UnmarshalBinary(data []byte) error {
	*s = DKGRound1Secret{}
	refresh := isType(data, typeRefreshRound1Secret)
	d := newDecoder(data, pickType(refresh, typeRefreshRound1Secret, typeDKGRound1Secret))
	id, t, n := d.dkgSecretHeader(0)
	coeffs := make([]edwards25519.Scalar, 0, t)
	for i := 0; i < t && d.err == nil; i++ {
		coeffs = append(coeffs, d.scalar())
	}
	com := make([]element, len(coeffs))
	for i := range coeffs {
		if d.err == nil && isZeroScalar(&coeffs[i]) != (refresh && i == 0) {
			d.err = ErrInvalidScalar
		}
		com[i] = newElement(new(edwards25519.Point).ScalarBaseMult(&coeffs[i]))
	}
	if err := d.finish(); err != nil {
		clear(coeffs)
		return err
	}
	*s = DKGRound1Secret{identifier: id, coefficients: coeffs, commitment: com, minSigners: t, maxSigners: n, refresh: refresh}
	return nil
}

// dkgSecretHeader reads what both DKG round secrets start with: the
// identifier, t and n (2 ≤ t ≤ n ≤ MaxParticipants), and requires that
// t 32-byte values and extra bytes follow, no more and no less.
func (d *decoder) dkgSecretHeader(extra int) (Identifier, int, int) {
	id := d.identifier()
	t, n := d.u16(), d.u16()
	if d.err == nil && checkParameters(t, n) != nil {
		d.err = fmt.Errorf("%w: %w", ErrMalformedEncoding, ErrInvalidParameters)
	}
	if d.err == nil && len(d.b) != 32*t+extra {
		d.err = ErrMalformedEncoding
	}
	return id, t, n
}

// MarshalBinary encodes the round-2 secret (secret!): version, type,
// identifier, uint16 t, uint16 n, the t commitment points, the own share
// f_i(i). A refresh secret (RefreshDKGPart2) has its own type byte and
// leaves out the first commitment point, the identity.
func (s *DKGRound2Secret) MarshalBinary() ([]byte, error) {
	if len(s.commitment) == 0 || isZeroScalar(&s.secretShare) {
		return nil, ErrInvalidScalar
	}
	typ, first := typeDKGRound2Secret, 0
	if s.refresh {
		typ, first = typeRefreshRound2Secret, 1
	}
	b := make([]byte, 0, 2+32+4+32*len(s.commitment)+32)
	b = appendHeader(b, typ)
	b = append(b, s.identifier.b[:]...)
	b = appendU16(b, s.minSigners)
	b = appendU16(b, s.maxSigners)
	for i := first; i < len(s.commitment); i++ {
		b = append(b, s.commitment[i].enc[:]...)
	}
	return appendScalar(b, &s.secretShare), nil
}

// UnmarshalBinary decodes a round-2 secret strictly: a valid identifier,
// 2 ≤ t ≤ n ≤ MaxParticipants, t valid commitment points and a canonical
// share that the commitment opens to at the identifier. On error s is left
// zero.
func (s *DKGRound2Secret) UnmarshalBinary(data []byte) error {
	*s = DKGRound2Secret{}
	refresh := isType(data, typeRefreshRound2Secret)
	d := newDecoder(data, pickType(refresh, typeRefreshRound2Secret, typeDKGRound2Secret))
	first := 0
	if refresh {
		first = 1
	}
	id, t, n := d.dkgSecretHeader(32 - 32*first)
	com := make([]element, 0, t)
	if refresh && d.err == nil {
		com = append(com, newElement(identityPoint))
	}
	for i := first; i < t && d.err == nil; i++ {
		com = append(com, d.element())
	}
	share := d.scalar()
	if err := d.finish(); err != nil {
		share = edwards25519.Scalar{}
		return err
	}
	if evalCommitment(com, id.scalar()).Equal(new(edwards25519.Point).ScalarBaseMult(&share)) != 1 {
		share = edwards25519.Scalar{}
		return fmt.Errorf("%w: the share is not the commitment's value at the identifier", ErrMalformedEncoding)
	}
	*s = DKGRound2Secret{identifier: id, commitment: com, secretShare: share, minSigners: t, maxSigners: n, refresh: refresh}
	return nil
}

// MarshalBinary encodes the nonces (secret!): version, type, hiding nonce,
// binding nonce. Used nonces (after Sign or Zero) do not encode: it returns
// ErrNonceReused. Encoding does not use them up: the caller who stores the
// bytes must make sure they sign at most one signing package, across
// restarts too.
func (n *SigningNonces) MarshalBinary() ([]byte, error) {
	if n.st == nil {
		return nil, ErrNonceReused
	}
	n.st.mu.Lock()
	defer n.st.mu.Unlock()
	if n.st.used {
		return nil, ErrNonceReused
	}
	b := make([]byte, 0, 2+64)
	b = appendHeader(b, typeSigningNonces)
	b = appendScalar(b, &n.st.hiding)
	return appendScalar(b, &n.st.binding), nil
}

// UnmarshalBinary decodes nonces strictly (two canonical non-zero scalars)
// into a fresh, unused state with its commitments derived: copies of n made
// afterwards share it, so the decoded nonces, like Commit's, give one
// signature share. On error n is left zero.
func (n *SigningNonces) UnmarshalBinary(data []byte) error {
	*n = SigningNonces{}
	d := newDecoder(data, typeSigningNonces)
	st := &nonceState{}
	st.hiding, st.binding = d.scalar(), d.scalar()
	if d.err == nil && (isZeroScalar(&st.hiding) || isZeroScalar(&st.binding)) {
		d.err = ErrInvalidScalar
	}
	if err := d.finish(); err != nil {
		st.zeroLocked()
		return err
	}
	st.commitments.hiding = newElement(new(edwards25519.Point).ScalarBaseMult(&st.hiding))
	st.commitments.binding = newElement(new(edwards25519.Point).ScalarBaseMult(&st.binding))
	n.st = st
	return nil
}
