package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
)

// Refresh tokens are stateless like login challenges: a token names its
// session and its sequence number in the session's chain, authenticated with
// HMAC-SHA256 under a key derived from the data key. A session stores only
// the sequence number of its newest token (chusme.RefreshState), so its
// state is the same size whatever the number of refreshes, and any earlier
// token of the session is recognised as reuse by its number alone.
//
// The token is the unpadded base64url encoding of
//
//	version (1 byte) ‖ seq (8 bytes big-endian) ‖ session id (26 ASCII bytes) ‖ tag (32)
//
// where tag is the HMAC of everything before it. Token seq+1 of a session
// is derived, not drawn, so every exchange of token seq (the first one and
// a grace re-presentation) returns the same successor.
const (
	refreshVersion = 1
	sessionIDSize  = 26 // len(rand.Text())
	refreshBody    = 1 + 8 + sessionIDSize
	refreshSize    = refreshBody + sha256.Size
)

// refreshToken returns token seq of session sessionID.
func (s *Service) refreshToken(sessionID string, seq int64) string {
	return base64.RawURLEncoding.EncodeToString(s.refreshRaw(sessionID, seq))
}

// refreshRaw returns token seq of session sessionID before its encoding.
func (s *Service) refreshRaw(sessionID string, seq int64) []byte {
	body := make([]byte, 9, refreshSize)
	body[0] = refreshVersion
	binary.BigEndian.PutUint64(body[1:9], uint64(seq))
	body = append(body, sessionID...)
	m := hmac.New(sha256.New, s.refreshMAC)
	m.Write(body)
	return m.Sum(body)
}

// openRefresh checks a refresh token and returns the session and sequence
// number it names. ok is false unless the token is well formed and its tag
// is right (compared in constant time).
func (s *Service) openRefresh(token string) (sessionID string, seq int64, ok bool) {
	if len(token) != base64.RawURLEncoding.EncodedLen(refreshSize) {
		return "", 0, false
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(raw) != refreshSize || raw[0] != refreshVersion {
		return "", 0, false
	}
	seq = int64(binary.BigEndian.Uint64(raw[1:9]))
	sessionID = string(raw[9:refreshBody])
	if seq < 0 || !hmac.Equal(s.refreshRaw(sessionID, seq)[refreshBody:], raw[refreshBody:]) {
		return "", 0, false
	}
	return sessionID, seq, true
}
