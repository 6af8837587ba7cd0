package chusme

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
)

// Signing labels. Every message a ChusMe key signs starts with one of these,
// so that a signature made for one protocol step can never be presented as
// another step's, and the issuer is bound in so that it can't be replayed
// against another server.
const (
	LabelRegister = "chusme/v1/register" // proof of possession at registration
	LabelLogin    = "chusme/v1/login"    // challenge-response login
)

// Fingerprint returns an identity's fingerprint: the lowercase hex SHA-256 of
// its genesis public key's 32 raw bytes. It never changes, even when the key
// rotates.
func Fingerprint(genesisKey []byte) string {
	sum := sha256.Sum256(genesisKey)
	return hex.EncodeToString(sum[:])
}

// ValidFingerprint reports whether s has the form of a fingerprint: 64
// lowercase hex digits.
func ValidFingerprint(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// signedMessage frames a label and fields unambiguously: the label, then each
// field as a 4-byte big-endian length and its bytes.
func signedMessage(label string, fields ...[]byte) []byte {
	n := len(label) + 1
	for _, f := range fields {
		n += 4 + len(f)
	}
	m := make([]byte, 0, n)
	m = append(m, label...)
	m = append(m, 0)
	for _, f := range fields {
		m = binary.BigEndian.AppendUint32(m, uint32(len(f)))
		m = append(m, f...)
	}
	return m
}

// LoginMessage is what a client signs with its current key to answer a login
// challenge: the login label, the server's issuer, the challenge id and the
// nonce.
func LoginMessage(issuer, challengeID string, nonce []byte) []byte {
	return signedMessage(LabelLogin, []byte(issuer), []byte(challengeID), nonce)
}

// RegisterMessage is what a client signs with its new key to register it: the
// registration label, the server's issuer and the public key itself. It
// proves possession of the private key.
func RegisterMessage(issuer string, publicKey []byte) []byte {
	return signedMessage(LabelRegister, []byte(issuer), publicKey)
}
