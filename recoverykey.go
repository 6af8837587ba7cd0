package chusme

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"strings"
)

// A recovery key is kept offline, on paper: RecoveryKeyText prints its
// 32-byte Ed25519 seed in a form made to be copied by hand, and
// ParseRecoveryKey reads it back, catching a mistyped character
// (docs/protocol.md §6, "Recovery key text").

// recoveryCheckSize is how many bytes of check follow the seed.
const recoveryCheckSize = 3

// recoveryKeyChars is the length of the text without its dashes: 35 bytes
// in base32.
const recoveryKeyChars = (32 + recoveryCheckSize) * 8 / 5

var recoveryBase32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// recoveryCheck returns the check bytes of a seed: the first three bytes of
// SHA-256 over LabelRecoveryKeyCheck and the seed.
func recoveryCheck(seed []byte) []byte {
	h := sha256.Sum256(signedMessage(LabelRecoveryKeyCheck, seed))
	return h[:recoveryCheckSize]
}

// RecoveryKeyText returns the printable form of a recovery key's 32-byte
// seed: the RFC 4648 base32 of the seed and its 3 check bytes (56
// characters, A–Z and 2–7), in 14 groups of 4 joined by dashes.
func RecoveryKeyText(seed []byte) string {
	s := recoveryBase32.EncodeToString(append(append([]byte(nil), seed...), recoveryCheck(seed)...))
	groups := make([]string, 0, len(s)/4)
	for i := 0; i < len(s); i += 4 {
		groups = append(groups, s[i:i+4])
	}
	return strings.Join(groups, "-")
}

// ParseRecoveryKey reads a recovery key's text back to its seed. Case,
// spaces, line breaks and dashes don't matter; a text of the wrong length,
// a character outside the alphabet, or a check that does not match (a
// mistyped character) is refused.
func ParseRecoveryKey(text string) ([]byte, error) {
	s := strings.Map(func(r rune) rune {
		switch r {
		case '-', ' ', '\t', '\n', '\r':
			return -1
		}
		return r
	}, strings.ToUpper(text))
	if len(s) != recoveryKeyChars {
		return nil, errors.New("a recovery key is 56 letters and digits (14 groups of 4)")
	}
	b, err := recoveryBase32.DecodeString(s)
	if err != nil {
		return nil, errors.New("a recovery key has only the letters A–Z and the digits 2–7")
	}
	seed, check := b[:32], b[32:]
	if subtle.ConstantTimeCompare(check, recoveryCheck(seed)) != 1 {
		return nil, errors.New("the recovery key's check does not match: a character was mistyped")
	}
	return seed, nil
}
