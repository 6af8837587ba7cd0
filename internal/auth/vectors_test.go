package auth

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/vectortest"
)

// The login challenge id of the golden vector: its MAC key derived from the
// data key, the id built from the layout version ‖ expiry ‖ nonce ‖
// fingerprint ‖ tag, and openChallenge reading the inputs back out of it.
func TestGoldenLoginChallenge(t *testing.T) {
	vectortest.Each(t, "login_challenge", func(t *testing.T, in struct {
		DataKey       vectortest.Hex `json:"data_key"`
		ExpiresUnixNS int64          `json:"expires_unix_ns,string"`
		Nonce         vectortest.Hex `json:"nonce"`
		Fingerprint   string         `json:"fingerprint"`
	}, want struct {
		MACKey vectortest.Hex `json:"mac_key"`
		Tag    vectortest.Hex `json:"tag"`
		ID     string         `json:"id"`
	}) {
		key, err := macKey(in.DataKey, chusme.LabelLoginChallengeMAC)
		if err != nil {
			t.Fatal(err)
		}
		vectortest.Equal(t, "mac_key", key, want.MACKey)
		s := &Service{challengeMAC: key}
		fp, err := hex.DecodeString(in.Fingerprint)
		if err != nil {
			t.Fatal(err)
		}
		body := binary.BigEndian.AppendUint64([]byte{challengeVersion}, uint64(in.ExpiresUnixNS))
		body = append(append(body, in.Nonce...), fp...)
		raw := s.challengeTag(body)
		vectortest.Equal(t, "tag", raw[challengeBody:], want.Tag)
		vectortest.EqualString(t, "id", base64.RawURLEncoding.EncodeToString(raw), want.ID)

		c, ok := s.openChallenge(want.ID)
		if !ok {
			t.Fatal("openChallenge refused the vector's id")
		}
		if c.Fingerprint != in.Fingerprint || !c.ExpiresAt.Equal(time.Unix(0, in.ExpiresUnixNS)) {
			t.Errorf("openChallenge = %s, %v; want %s, %v", c.Fingerprint, c.ExpiresAt, in.Fingerprint, time.Unix(0, in.ExpiresUnixNS))
		}
		vectortest.Equal(t, "opened nonce", c.Nonce, in.Nonce)
	})
}

// The associated data of a TOTP secret sealed under the data key.
func TestGoldenTOTPSecretAD(t *testing.T) {
	vectortest.Each(t, "totp_secret_ad", func(t *testing.T, in struct {
		Fingerprint string `json:"fingerprint"`
	}, want struct {
		AD vectortest.Hex `json:"ad"`
	}) {
		vectortest.Equal(t, "ad", totpAD(in.Fingerprint), want.AD)
	})
}

// A refresh token: its MAC key derived from the data key, the token built
// from the layout version ‖ seq ‖ session id ‖ tag, and openRefresh reading
// the session and seq back out of it.
func TestGoldenRefreshToken(t *testing.T) {
	vectortest.Each(t, "refresh_token", func(t *testing.T, in struct {
		DataKey   vectortest.Hex `json:"data_key"`
		SessionID string         `json:"session_id"`
		Seq       int64          `json:"seq,string"`
	}, want struct {
		MACKey vectortest.Hex `json:"mac_key"`
		Tag    vectortest.Hex `json:"tag"`
		Token  string         `json:"token"`
	}) {
		key, err := macKey(in.DataKey, chusme.LabelRefreshTokenMAC)
		if err != nil {
			t.Fatal(err)
		}
		vectortest.Equal(t, "mac_key", key, want.MACKey)
		s := &Service{refreshMAC: key}
		vectortest.Equal(t, "tag", s.refreshRaw(in.SessionID, in.Seq)[refreshBody:], want.Tag)
		vectortest.EqualString(t, "token", s.refreshToken(in.SessionID, in.Seq), want.Token)
		sid, seq, ok := s.openRefresh(want.Token)
		if !ok || sid != in.SessionID || seq != in.Seq {
			t.Fatalf("openRefresh = %q, %d, %v; want %q, %d, true", sid, seq, ok, in.SessionID, in.Seq)
		}
	})
}
