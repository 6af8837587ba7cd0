package chusme

import (
	"crypto/rand"
	"encoding/hex"
)

// CeremonyIDSize is the number of random bytes in a ceremony id: 128 bits.
// The id is their lowercase hex encoding, 32 digits.
const CeremonyIDSize = 16

// NewCeremonyID returns a fresh ceremony id: CeremonyIDSize bytes from
// crypto/rand, in lowercase hex.
func NewCeremonyID() string {
	var b [CeremonyIDSize]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// ValidCeremonyID reports whether s has the form of a ceremony id: 32
// lowercase hex digits. Everyone who takes an id from outside (HTTP paths,
// WebSocket requests, the client library, the CLI, share files) checks it
// with this.
func ValidCeremonyID(s string) bool {
	// Twice an id is as long as a fingerprint, in the same alphabet.
	return len(s) == 2*CeremonyIDSize && ValidFingerprint(s+s)
}
