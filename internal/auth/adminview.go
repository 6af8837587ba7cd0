package auth

import (
	"crypto/rand"
	"encoding/hex"

	"github.com/chusme/chusme"
)

// newInviteID returns a random invite id: chusme.InviteIDSize bytes in
// hex, from crypto/rand.
func newInviteID() string {
	var b [chusme.InviteIDSize]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}
