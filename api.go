package chusme

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"
)

// Bytes is a byte string that travels in JSON as base64url without padding.
type Bytes []byte

// MarshalText encodes b as unpadded base64url, which encoding/json writes
// as a string. (Text rather than JSON: encoding/json copies a text
// marshaler's output as it is, where it would check a JSON marshaler's
// byte by byte, a cost that large ceremony inboxes noticed.)
func (b Bytes) MarshalText() ([]byte, error) {
	out := make([]byte, base64.RawURLEncoding.EncodedLen(len(b)))
	base64.RawURLEncoding.Encode(out, b)
	return out, nil
}

// UnmarshalJSON decodes an unpadded base64url string, refusing any other
// alphabet or padding. A string without escapes or line breaks (base64url
// needs none) is decoded where it stands; only another goes through
// encoding/json first, which scans and copies it twice more.
func (b *Bytes) UnmarshalJSON(data []byte) error {
	if n := len(data); n >= 2 && data[0] == '"' && data[n-1] == '"' && !bytes.ContainsAny(data[1:n-1], "\\\r\n") {
		return b.decode(data[1 : n-1])
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	return b.decode([]byte(s))
}

// decode sets b to the unpadded base64url s.
func (b *Bytes) decode(s []byte) error {
	v := make([]byte, base64.RawURLEncoding.DecodedLen(len(s)))
	n, err := base64.RawURLEncoding.Strict().Decode(v, s)
	if err != nil {
		return errors.New("not unpadded base64url")
	}
	*b = v[:n]
	return nil
}

// Problem is an RFC 9457 problem details document, the body of every error
// response (media type application/problem+json).
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Code      string `json:"code"`
	RequestID string `json:"request_id,omitempty"`
}

// ServerInfo is the answer of GET /v1/server.
type ServerInfo struct {
	Name         string   `json:"name"`
	Version      string   `json:"version"`
	Issuer       string   `json:"issuer"`
	Registration string   `json:"registration"` // "open" or "invite"
	SetupPending bool     `json:"setup_pending"`
	Features     []string `json:"features"`
}

// SetupRequest redeems the one-time setup token and registers the first
// administrator (POST /v1/setup).
type SetupRequest struct {
	SetupToken string `json:"setup_token"`
	PublicKey  Bytes  `json:"public_key"`
	Signature  Bytes  `json:"signature"` // over RegisterMessage(issuer, PublicKey)
}

// RegisterRequest registers an identity (POST /v1/identities).
type RegisterRequest struct {
	PublicKey Bytes  `json:"public_key"`
	Signature Bytes  `json:"signature"` // over RegisterMessage(issuer, PublicKey)
	Invite    string `json:"invite,omitempty"`
}

// IdentityInfo is the public view of an identity.
type IdentityInfo struct {
	Fingerprint string    `json:"fingerprint"`
	PublicKey   Bytes     `json:"public_key"`  // the first device key
	DeviceKeys  []Bytes   `json:"device_keys"` // every current device key, PublicKey first
	Role        string    `json:"role"`
	Status      string    `json:"status"`
	CreatedAt   time.Time `json:"created_at"`
}

// ChallengeRequest asks for a login challenge (POST /v1/auth/challenge).
type ChallengeRequest struct {
	Fingerprint string `json:"fingerprint"`
}

// ChallengeResponse carries a login challenge.
type ChallengeResponse struct {
	ChallengeID string    `json:"challenge_id"`
	Nonce       Bytes     `json:"nonce"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// TokenRequest answers a challenge (POST /v1/auth/token).
type TokenRequest struct {
	ChallengeID string `json:"challenge_id"`
	Signature   Bytes  `json:"signature"` // over LoginMessage(issuer, ChallengeID, Nonce)
	// TOTPCode or RecoveryCode is the second factor of an identity with
	// TOTP on (see CodeTOTPRequired).
	TOTPCode     string `json:"totp_code,omitempty"`
	RecoveryCode string `json:"recovery_code,omitempty"`
}

// TokenResponse carries a fresh access and refresh token pair.
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"` // always "Bearer"
	ExpiresIn    int    `json:"expires_in"` // access token lifetime, seconds
	RefreshToken string `json:"refresh_token"`
	SessionID    string `json:"session_id"`
}

// RefreshRequest exchanges a refresh token (POST /v1/auth/refresh).
type RefreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

// Me is the answer of GET /v1/me: who the access token speaks for.
type Me struct {
	Fingerprint string    `json:"fingerprint"`
	Role        string    `json:"role"`
	SessionID   string    `json:"session_id"`
	ExpiresAt   time.Time `json:"expires_at"` // of the access token
}

// InviteRequest asks for a registration invite (POST /v1/admin/invites).
type InviteRequest struct {
	TTLSeconds int `json:"ttl_seconds,omitempty"` // 0 = the server's default
}

// InviteResponse carries a single-use invite token and the id that lists
// and revokes it (GET and DELETE /v1/admin/invites).
type InviteResponse struct {
	Invite    string    `json:"invite"`
	ID        string    `json:"id"`
	ExpiresAt time.Time `json:"expires_at"`
}
