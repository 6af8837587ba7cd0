package auth

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"time"

	"github.com/chusme/chusme"
)

// Login challenges are stateless: issuing one writes nothing. Its id carries
// the fingerprint it was issued for, its expiry and its random nonce,
// authenticated with HMAC-SHA256 under a key derived from the data key (so
// every node sharing the data key can check it). Answering a challenge
// records it as used (chusme.UsedChallenge) in the transaction that opens the
// session, or alone when the answer fails, so it is answered at most once.
//
// The id is the unpadded base64url encoding of
//
//	version (1 byte) ‖ expiry (Unix ns, 8 bytes big-endian) ‖ nonce (32) ‖ fingerprint (32) ‖ tag (32)
//
// where tag is the HMAC of everything before it.
const (
	challengeVersion = 1
	challengeBody    = 1 + 8 + nonceSize + sha256.Size
	challengeSize    = challengeBody + sha256.Size

	// usedChallengeMargin is how much longer than its challenge a used
	// challenge's record is kept, so that a node whose clock runs behind
	// can't accept a purged challenge again.
	usedChallengeMargin = 5 * time.Minute
)

// macKey derives an HMAC-SHA-256 key from the data key (HKDF-SHA-256, no
// salt, info label): the challenge MAC key under
// chusme.LabelLoginChallengeMAC, the refresh token MAC key under
// chusme.LabelRefreshTokenMAC. The data key is used for nothing else under
// these labels.
func macKey(dataKey []byte, label string) ([]byte, error) {
	if len(dataKey) != 32 {
		return nil, errors.New("auth: the data key must be 256 bits")
	}
	return hkdf.Key(sha256.New, dataKey, nil, label, sha256.Size)
}

// newChallenge issues a challenge for fingerprint fp, valid until expires.
func (s *Service) newChallenge(fp string, expires time.Time) (chusme.Challenge, error) {
	raw := make([]byte, challengeBody, challengeSize)
	raw[0] = challengeVersion
	binary.BigEndian.PutUint64(raw[1:9], uint64(expires.UnixNano()))
	nonce := raw[9 : 9+nonceSize]
	rand.Read(nonce)
	if _, err := hex.Decode(raw[9+nonceSize:], []byte(fp)); err != nil {
		return chusme.Challenge{}, chusme.Errorf(chusme.CodeNotFound, "no such identity")
	}
	raw = s.challengeTag(raw)
	return chusme.Challenge{
		ID:          base64.RawURLEncoding.EncodeToString(raw),
		Fingerprint: fp,
		Nonce:       append([]byte(nil), nonce...),
		ExpiresAt:   expires,
	}, nil
}

// challengeTag appends the MAC of body to it.
func (s *Service) challengeTag(body []byte) []byte {
	m := hmac.New(sha256.New, s.challengeMAC)
	m.Write(body)
	return m.Sum(body)
}

// openChallenge checks a challenge id and returns what it carries. ok is
// false unless the id is well formed and its tag is right; expiry is the
// caller's to check.
func (s *Service) openChallenge(id string) (c chusme.Challenge, ok bool) {
	if len(id) != base64.RawURLEncoding.EncodedLen(challengeSize) {
		return chusme.Challenge{}, false
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(id)
	if err != nil || len(raw) != challengeSize || raw[0] != challengeVersion {
		return chusme.Challenge{}, false
	}
	want := s.challengeTag(append(make([]byte, 0, challengeSize), raw[:challengeBody]...))
	if !hmac.Equal(want[challengeBody:], raw[challengeBody:]) {
		return chusme.Challenge{}, false
	}
	return chusme.Challenge{
		ID:          id,
		Fingerprint: hex.EncodeToString(raw[9+nonceSize : challengeBody]),
		Nonce:       raw[9 : 9+nonceSize],
		ExpiresAt:   time.Unix(0, int64(binary.BigEndian.Uint64(raw[1:9]))).UTC(),
	}, true
}

// usedChallenge is the record that marks c answered.
func usedChallenge(c chusme.Challenge) *chusme.UsedChallenge {
	return &chusme.UsedChallenge{Nonce: c.Nonce, ExpiresAt: c.ExpiresAt.Add(usedChallengeMargin)}
}
