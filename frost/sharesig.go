package frost

import (
	"io"

	"filippo.io/edwards25519"
)

// SignWithShare signs msg with the key package's signing share s_i, as an
// Ed25519 signature whose public key is its verifying share Y_i = s_i·G:
// R = k·G for a fresh uniform k read from rand (nil means crypto/rand; k is
// never derived from the share), S = k + H(R ‖ Y_i ‖ msg)·s_i mod L, H
// SHA-512. It is what RFC 8032 §5.1.7 verification checks, so
// crypto/ed25519.Verify(Y_i, msg, sig) accepts it; as a Schnorr proof of
// knowledge of s_i (RFC 8235) bound to msg, it shows that whoever made it
// holds the share, which no one can forge from the verifying share alone.
// The caller labels msg. It returns the 64-byte R ‖ S.
func (k *KeyPackage) SignWithShare(rand io.Reader, msg []byte) ([]byte, error) {
	nonce, err := randomScalar(rand)
	if err != nil {
		return nil, err
	}
	defer nonce.Set(edwards25519.NewScalar())
	r := new(edwards25519.Point).ScalarBaseMult(nonce).Bytes()
	c := h2(r, k.verifyingShare.Bytes(), msg)
	s := new(edwards25519.Scalar).MultiplyAdd(c, &k.signingShare.s, nonce)
	return append(r, s.Bytes()...), nil
}
