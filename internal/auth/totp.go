package auth

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"hash"
	"net/url"
	"strings"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/ratelimit"
)

// TOTP parameters (RFC 6238): HMAC-SHA-1, 6 digits, 30-second steps from
// the Unix epoch, and codes of the previous and next step accepted too, for
// clock drift between phone and server.
const (
	TOTPDigits = 6
	TOTPPeriod = 30 * time.Second
	TOTPSkew   = 1 // steps accepted either side of the current one

	totpSecretSize    = 20 // bytes: 160 bits, the HMAC-SHA-1 block-sized secret RFC 4226 recommends
	recoveryCodeCount = 10
	recoveryCodeBytes = 10 // 80 random bits per recovery code
)

// DefaultTOTPLimit is how many TOTP or recovery codes an identity may submit
// (at login, confirmation or disabling): 5 a minute. Every login attempt
// also needs a fresh challenge signed by the identity's key, so guessing is
// bounded by both.
var DefaultTOTPLimit = ratelimit.Limit{Events: 5, Per: time.Minute, Burst: 5}

// totpAD is the associated data of an encrypted TOTP secret: the purpose and
// the identity, so a sealed secret copied to another identity's row (or used
// for another purpose) does not decrypt.
func totpAD(fp string) []byte { return []byte(chusme.LabelTOTPSecret + "\x00" + fp) }

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// hotp returns the RFC 4226 HOTP value of key at counter with digits
// digits, using hash h (RFC 6238 allows SHA-1, SHA-256 and SHA-512).
func hotp(h func() hash.Hash, key []byte, counter uint64, digits int) string {
	mac := hmac.New(h, key)
	mac.Write(binary.BigEndian.AppendUint64(nil, counter))
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	v %= mod
	out := make([]byte, digits)
	for i := digits - 1; i >= 0; i-- {
		out[i] = byte('0' + v%10)
		v /= 10
	}
	return string(out)
}

// totpStep returns the RFC 6238 time step of t.
func totpStep(t time.Time) int64 { return t.Unix() / int64(TOTPPeriod/time.Second) }

// TOTPCode returns the 6-digit code of secret at time t. Clients and tests
// use it; the server checks codes with verifyTOTP.
func TOTPCode(secret []byte, t time.Time) string {
	return hotp(sha1.New, secret, uint64(totpStep(t)), TOTPDigits)
}

// matchTOTP returns the step within TOTPSkew of now whose code is code, or
// false. It compares in constant time and looks at every candidate step.
func matchTOTP(secret []byte, code string, now time.Time) (int64, bool) {
	if len(code) != TOTPDigits {
		return 0, false
	}
	cur := totpStep(now)
	var found int64
	ok := 0
	for d := int64(-TOTPSkew); d <= TOTPSkew; d++ {
		step := cur + d
		eq := subtle.ConstantTimeCompare([]byte(hotp(sha1.New, secret, uint64(step), TOTPDigits)), []byte(code))
		if eq == 1 && ok == 0 {
			found, ok = step, 1
		}
	}
	return found, ok == 1
}

// sealSecret encrypts a TOTP secret under the data key: AES-256-GCM with a
// random nonce, nonce ‖ ciphertext ‖ tag, the identity and purpose bound in.
func (s *Service) sealSecret(fp string, secret []byte) ([]byte, error) {
	aead, err := s.dataAEAD()
	if err != nil {
		return nil, err
	}
	return aead.Seal(nil, nil, secret, totpAD(fp)), nil
}

// openSecret decrypts a secret sealed by sealSecret.
func (s *Service) openSecret(fp string, sealed []byte) ([]byte, error) {
	aead, err := s.dataAEAD()
	if err != nil {
		return nil, err
	}
	secret, err := aead.Open(nil, nil, sealed, totpAD(fp))
	if err != nil {
		return nil, errors.New("auth: TOTP secret does not decrypt under the data key")
	}
	return secret, nil
}

func (s *Service) dataAEAD() (cipher.AEAD, error) {
	if len(s.cfg.DataKey) != 32 {
		return nil, errors.New("auth: no 256-bit data key configured")
	}
	block, err := aes.NewCipher(s.cfg.DataKey)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithRandomNonce(block)
}

// totpIssuerName is the issuer shown in authenticator apps: "ChusMe" and the
// server's host.
func (s *Service) totpIssuerName() string {
	// The Key Uri Format's label is "issuer:account": the issuer must hold
	// no colon, so a port is written after a comma.
	if u, err := url.Parse(s.cfg.Issuer); err == nil && u.Hostname() != "" {
		name := u.Hostname()
		if p := u.Port(); p != "" {
			name += ", port " + p
		}
		return "ChusMe (" + name + ")"
	}
	return "ChusMe"
}

// TOTPURI returns the otpauth:// URI of a secret (the Key Uri Format of
// Google Authenticator): issuer and the fingerprint as the account.
func TOTPURI(issuer, fp string, secret []byte) string {
	q := url.Values{
		"secret":    {b32.EncodeToString(secret)},
		"issuer":    {issuer},
		"algorithm": {"SHA1"},
		"digits":    {"6"},
		"period":    {"30"},
	}
	return "otpauth://totp/" + url.PathEscape(issuer+":"+fp) + "?" + q.Encode()
}

// EnrolTOTP starts TOTP enrolment: a new random secret, stored encrypted and
// unconfirmed (replacing an unconfirmed one). TOTP is on only once
// ConfirmTOTP has checked a code. CodeTOTPEnabled if it is on already.
func (s *Service) EnrolTOTP(ctx context.Context, p Principal) (chusme.TOTPEnrolment, error) {
	secret := make([]byte, totpSecretSize)
	rand.Read(secret)
	defer clear(secret)
	sealed, err := s.sealSecret(p.Fingerprint, secret)
	if err != nil {
		return chusme.TOTPEnrolment{}, err
	}
	err = s.store.PutTOTP(ctx, chusme.TOTPCredential{Fingerprint: p.Fingerprint, SecretSealed: sealed, CreatedAt: s.now().UTC()})
	if chusme.ErrorCode(err) == chusme.CodeConflict {
		return chusme.TOTPEnrolment{}, chusme.Errorf(chusme.CodeTOTPEnabled, "TOTP is on already; disable it first")
	} else if err != nil {
		return chusme.TOTPEnrolment{}, err
	}
	issuer := s.totpIssuerName()
	return chusme.TOTPEnrolment{
		Secret: b32.EncodeToString(secret), URI: TOTPURI(issuer, p.Fingerprint, secret), Issuer: issuer,
		Algorithm: "SHA1", Digits: TOTPDigits, Period: int(TOTPPeriod / time.Second),
	}, nil
}

// ConfirmTOTP turns TOTP on: sig must be the identity's current key's
// signature over chusme.TOTPConfirmMessage for the enrolled secret (so that a
// stolen access token can't turn TOTP on and lock the key's owner out), and
// code the secret's current code. It returns 10 single-use recovery codes,
// stored only as hashes.
func (s *Service) ConfirmTOTP(ctx context.Context, p Principal, code string, sig []byte) ([]string, error) {
	id, c, err := s.store.GetLoginIdentity(ctx, p.Fingerprint)
	switch {
	case err != nil:
		return nil, err
	case c.Fingerprint == "":
		return nil, chusme.Errorf(chusme.CodeTOTPNotEnabled, "no TOTP enrolment to confirm; enrol first")
	case c.Confirmed():
		return nil, chusme.Errorf(chusme.CodeTOTPEnabled, "TOTP is on already")
	}
	secret, err := s.openSecret(c.Fingerprint, c.SecretSealed)
	if err != nil {
		return nil, err
	}
	msg := chusme.TOTPConfirmMessage(s.cfg.Issuer, p.Fingerprint, secret)
	clear(secret)
	if len(sig) != ed25519.SignatureSize || !ed25519.Verify(id.PublicKey, msg, sig) {
		return nil, chusme.Errorf(chusme.CodeInvalidSignature, "the confirmation is not signed by the identity's current key for this enrolment")
	}
	if err := s.totpAllow(p.Fingerprint); err != nil {
		return nil, err
	}
	step, err := s.checkCode(c, code)
	if err != nil {
		return nil, err
	}
	codes := make([]string, recoveryCodeCount)
	hashes := make([][]byte, recoveryCodeCount)
	for i := range codes {
		codes[i] = newRecoveryCode()
		hashes[i] = hashRecoveryCode(codes[i])
	}
	switch err := s.store.ConfirmTOTP(ctx, p.Fingerprint, step, hashes, s.now().UTC()); chusme.ErrorCode(err) {
	case "":
		s.log.Info("TOTP enabled", "fingerprint", p.Fingerprint)
		return codes, nil
	case chusme.CodeConflict, chusme.CodeNotFound:
		return nil, chusme.Errorf(chusme.CodeTOTPInvalid, "the code was used already or the enrolment changed")
	default:
		return nil, err
	}
}

// DisableTOTP turns TOTP off. A confirmed credential needs a current code
// or a recovery code; an unconfirmed enrolment is simply dropped.
func (s *Service) DisableTOTP(ctx context.Context, p Principal, code, recovery string) error {
	c, err := s.store.GetTOTP(ctx, p.Fingerprint)
	if chusme.ErrorCode(err) == chusme.CodeNotFound {
		return chusme.Errorf(chusme.CodeTOTPNotEnabled, "TOTP is not on")
	} else if err != nil {
		return err
	}
	if c.Confirmed() {
		if err := s.secondFactor(ctx, c, code, recovery); err != nil {
			return err
		}
	}
	if err := s.store.DeleteTOTP(ctx, p.Fingerprint); err != nil && chusme.ErrorCode(err) != chusme.CodeNotFound {
		return err
	}
	s.log.Info("TOTP disabled", "fingerprint", p.Fingerprint)
	return nil
}

// loginTOTP is the TOTP step of a login, after the signature checked out,
// given the identity's credential (zero if none): false if TOTP is off (and
// no code was sent); true if a code was sent for secondFactor to check.
func loginTOTP(c chusme.TOTPCredential, code, recovery string) (bool, error) {
	switch {
	case !c.Confirmed():
		if code != "" || recovery != "" {
			return false, chusme.Errorf(chusme.CodeInvalidRequest, "this identity has no TOTP; send no code")
		}
		return false, nil
	case code == "" && recovery == "":
		return false, chusme.Errorf(chusme.CodeTOTPRequired, "this identity needs a TOTP code (totp_code) or a recovery code (recovery_code)")
	}
	return true, nil
}

// secondFactor checks and consumes a TOTP code or a recovery code of a
// confirmed credential, within the per-identity attempt limit.
func (s *Service) secondFactor(ctx context.Context, c chusme.TOTPCredential, code, recovery string) error {
	invalid := chusme.Errorf(chusme.CodeTOTPInvalid, "the code is wrong, used already or expired")
	if (code == "") == (recovery == "") {
		return chusme.Errorf(chusme.CodeInvalidRequest, "send exactly one of a TOTP code and a recovery code")
	}
	if err := s.totpAllow(c.Fingerprint); err != nil {
		return err
	}
	if recovery != "" {
		h := hashRecoveryCode(recovery)
		if h == nil {
			return invalid
		}
		err := s.store.UseRecoveryCode(ctx, c.Fingerprint, h, s.now().UTC())
		if chusme.ErrorCode(err) == chusme.CodeNotFound {
			return invalid
		} else if err != nil {
			return err
		}
		s.log.Info("recovery code used", "fingerprint", c.Fingerprint)
		return nil
	}
	step, err := s.checkCode(c, code)
	if err != nil {
		return err
	}
	switch err := s.store.UseTOTPStep(ctx, c.Fingerprint, step); chusme.ErrorCode(err) {
	case "":
		return nil
	case chusme.CodeConflict, chusme.CodeNotFound:
		return invalid // a replay, or TOTP was turned off meanwhile
	default:
		return err
	}
}

// checkCode returns the step whose code is code, if it is within the skew
// and after the last accepted step.
func (s *Service) checkCode(c chusme.TOTPCredential, code string) (int64, error) {
	invalid := chusme.Errorf(chusme.CodeTOTPInvalid, "the code is wrong, used already or expired")
	secret, err := s.openSecret(c.Fingerprint, c.SecretSealed)
	if err != nil {
		return 0, err
	}
	defer clear(secret)
	step, ok := matchTOTP(secret, strings.TrimSpace(code), s.now())
	if !ok || step <= c.LastStep {
		return 0, invalid
	}
	return step, nil
}

// totpAllow takes one attempt from the identity's TOTP bucket.
func (s *Service) totpAllow(fp string) error {
	return s.totpLimit.Take(fp, "TOTP attempts")
}

// newRecoveryCode returns a random recovery code: 80 bits in base32, as
// four groups of four characters.
func newRecoveryCode() string {
	b := make([]byte, recoveryCodeBytes)
	rand.Read(b)
	s := b32.EncodeToString(b) // 16 characters
	return s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16]
}

// hashRecoveryCode normalizes a recovery code (case, dashes, spaces) and
// returns its SHA-256, or nil if it is not one. A fast hash is right here:
// the codes carry 80 random bits, so even a leaked hash table can't be
// searched, and a slow hash (made for low-entropy passwords) would only add
// cost to every login.
func hashRecoveryCode(code string) []byte {
	norm := strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ':
			return -1
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, code)
	if b, err := b32.DecodeString(norm); err != nil || len(b) != recoveryCodeBytes || len(norm) != b32.EncodedLen(recoveryCodeBytes) {
		return nil
	}
	h := sha256.Sum256([]byte(norm))
	return h[:]
}
