package tokens

import (
	"crypto/ed25519"
	"sync"

	"github.com/chusme/chusme"
)

// Verifying an access token's EdDSA signature and decoding its JSON is most
// of the cost of authenticating a request, and a client sends the same
// token with every request for up to AccessTTL. Validate therefore
// remembers tokens that passed every check, keyed by the whole token string
// (header, claims and signature, so the same string can only give the same
// verdict), and on a hit checks again everything that can change: that the
// signing key is still in the keyring, and exp, nbf and iat against the
// current clock. Nothing else about a token can change.

// maxValidated bounds the cache; when full it starts over.
const maxValidated = 8192

type validated struct {
	claims Claims
	kid    string
	pub    ed25519.PublicKey
}

type validCache struct {
	mu sync.Mutex
	m  map[string]*validated
}

func (vc *validCache) get(token string) *validated {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	return vc.m[token]
}

func (vc *validCache) put(token string, v *validated) {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	if vc.m == nil || len(vc.m) >= maxValidated {
		vc.m = map[string]*validated{}
	}
	vc.m[token] = v
}

// recheck repeats, for a cached token, the checks whose outcome can change
// since it was validated: the key and the times (as jwt's validator does,
// with Leeway).
func (is *Issuer) recheck(v *validated) (Claims, error) {
	k, ok := is.Keys.Lookup(v.kid)
	if !ok || !k.Public().Equal(v.pub) {
		return Claims{}, chusme.Errorf(chusme.CodeTokenInvalid, "access token invalid")
	}
	now := is.Now()
	c := v.claims
	switch {
	case !now.Before(c.ExpiresAt.Add(Leeway)):
		return Claims{}, chusme.Errorf(chusme.CodeTokenExpired, "access token expired")
	case now.Before(c.NotBefore.Add(-Leeway)), now.Before(c.IssuedAt.Add(-Leeway)):
		return Claims{}, chusme.Errorf(chusme.CodeTokenInvalid, "access token invalid")
	}
	return c, nil
}
