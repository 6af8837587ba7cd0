package testkit

import (
	"crypto/ed25519"
	"testing"

	"github.com/chusme/chusme"
)

// SetupRequest returns the redemption of setupToken by k, signed for issuer.
func SetupRequest(issuer string, k ed25519.PrivateKey, setupToken string) chusme.SetupRequest {
	pub := Public(k)
	return chusme.SetupRequest{SetupToken: setupToken, PublicKey: pub, Signature: ed25519.Sign(k, chusme.RegisterMessage(issuer, pub))}
}

// RegisterRequest returns the registration of k with invite ("" for none),
// signed for issuer.
func RegisterRequest(issuer string, k ed25519.PrivateKey, invite string) chusme.RegisterRequest {
	pub := Public(k)
	return chusme.RegisterRequest{PublicKey: pub, Signature: ed25519.Sign(k, chusme.RegisterMessage(issuer, pub)), Invite: invite}
}

// TokenRequest returns k's answer to the login challenge id with nonce,
// signed for issuer.
func TokenRequest(issuer string, k ed25519.PrivateKey, id string, nonce []byte) chusme.TokenRequest {
	return chusme.TokenRequest{ChallengeID: id, Signature: ed25519.Sign(k, chusme.LoginMessage(issuer, id, nonce))}
}

// Login logs k in to the server at url over raw HTTP (a challenge, then its
// answer signed for issuer) and returns the tokens.
func Login(t testing.TB, url, issuer string, k ed25519.PrivateKey) chusme.TokenResponse {
	t.Helper()
	var c chusme.ChallengeResponse
	Do(t, "POST", url+"/v1/auth/challenge", "", chusme.ChallengeRequest{Fingerprint: Fingerprint(k)}).Want(t, 200, &c)
	var tr chusme.TokenResponse
	Do(t, "POST", url+"/v1/auth/token", "", TokenRequest(issuer, k, c.ChallengeID, c.Nonce)).Want(t, 200, &tr)
	return tr
}
