// Package keys checks Ed25519 public keys and signatures strictly, so that
// every ChusMe server and client agrees on which keys exist.
//
// Go's crypto/ed25519.Verify accepts small-order public keys, for which a
// signature can be forged without any private key (CCTV vectors). Wherever
// ChusMe accepts a public key it calls CheckPublicKey first: the key must be
// the canonical encoding of a point of prime order ℓ (torsion-free and not the
// identity).
package keys

import (
	"crypto/ed25519"
	"errors"

	"filippo.io/edwards25519"
)

// Errors returned by CheckPublicKey and Verify.
var (
	ErrKeySize        = errors.New("public key is not 32 bytes")
	ErrKeyEncoding    = errors.New("public key is not a canonical point encoding")
	ErrKeySmallOrder  = errors.New("public key has a small-order component")
	ErrSignatureSize  = errors.New("signature is not 64 bytes")
	ErrSignatureCheck = errors.New("signature does not verify")
)

// CheckPublicKey returns nil if pk is a canonical encoding of an Ed25519
// point of prime order: not the identity, no torsion component.
func CheckPublicKey(pk []byte) error {
	if len(pk) != ed25519.PublicKeySize {
		return ErrKeySize
	}
	p, err := new(edwards25519.Point).SetBytes(pk)
	if err != nil {
		return ErrKeyEncoding
	}
	// SetBytes accepts a few non-canonical encodings (y ≥ p, and x = 0
	// with the sign bit set); re-encoding tells them apart.
	if string(p.Bytes()) != string(pk) {
		return ErrKeyEncoding
	}
	if p.Equal(edwards25519.NewIdentityPoint()) == 1 {
		return ErrKeySmallOrder
	}
	if !TorsionFree(p) {
		return ErrKeySmallOrder
	}
	return nil
}

// TorsionFree reports whether p lies in the prime-order subgroup: [ℓ]p is the
// identity. It computes [ℓ-1]p + p, since ℓ itself is not a canonical scalar.
func TorsionFree(p *edwards25519.Point) bool {
	// Public points only, so variable time is fine.
	q := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(lMinusOne, p, edwards25519.NewScalar())
	q.Add(q, p)
	return q.Equal(edwards25519.NewIdentityPoint()) == 1
}

// lMinusOne is ℓ-1, the largest canonical scalar.
var lMinusOne = func() *edwards25519.Scalar {
	s, err := new(edwards25519.Scalar).SetCanonicalBytes([]byte{
		0xec, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
		0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
	})
	if err != nil {
		panic(err)
	}
	return s
}()

// Verify checks pk strictly (CheckPublicKey) and then sig over msg with
// crypto/ed25519, which refuses non-canonical S.
func Verify(pk, msg, sig []byte) error {
	if err := CheckPublicKey(pk); err != nil {
		return err
	}
	if len(sig) != ed25519.SignatureSize {
		return ErrSignatureSize
	}
	if !ed25519.Verify(ed25519.PublicKey(pk), msg, sig) {
		return ErrSignatureCheck
	}
	return nil
}
