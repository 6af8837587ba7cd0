package client

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/base32"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/keys"
)

// LoginOption configures Login.
type LoginOption func(*loginOptions)

type loginOptions struct {
	fingerprint string
	totp        func(context.Context) (string, error)
}

// LoginFingerprint logs in as identity fp, for a key that is not the
// identity's genesis key (after a rotation).
func LoginFingerprint(fp string) LoginOption {
	return func(o *loginOptions) { o.fingerprint = fp }
}

// LoginTOTP gives Login a callback that returns a TOTP code (6 digits) or a
// recovery code, asked only when the server answers totp_required.
func LoginTOTP(code func(context.Context) (string, error)) LoginOption {
	return func(o *loginOptions) { o.totp = code }
}

// isTOTPCode reports whether s is a 6-digit TOTP code (else it is taken for
// a recovery code).
func isTOTPCode(s string) bool {
	if len(s) != 6 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// answerChallenge asks for a challenge for fp and answers it with key and
// code (a TOTP or recovery code, or "").
func (c *Client) answerChallenge(ctx context.Context, fp string, key crypto.Signer, code string) (chusme.TokenResponse, error) {
	var ch chusme.ChallengeResponse
	if err := c.call(ctx, http.MethodPost, "/v1/auth/challenge", "", chusme.ChallengeRequest{Fingerprint: fp}, &ch); err != nil {
		return chusme.TokenResponse{}, err
	}
	sig, err := signWith(key, chusme.LoginMessage(c.issuer, ch.ChallengeID, ch.Nonce))
	if err != nil {
		return chusme.TokenResponse{}, err
	}
	req := chusme.TokenRequest{ChallengeID: ch.ChallengeID, Signature: sig}
	code = strings.TrimSpace(code)
	if isTOTPCode(code) {
		req.TOTPCode = code
	} else {
		req.RecoveryCode = code
	}
	var tr chusme.TokenResponse
	err = c.call(ctx, http.MethodPost, "/v1/auth/token", "", req, &tr)
	return tr, err
}

// EnrolTOTP starts TOTP enrolment (POST /v1/me/totp): the secret and its
// otpauth:// URI. TOTP is on once ConfirmTOTP succeeds.
func (c *Client) EnrolTOTP(ctx context.Context) (chusme.TOTPEnrolment, error) {
	var en chusme.TOTPEnrolment
	err := c.do(ctx, http.MethodPost, "/v1/me/totp", nil, &en)
	return en, err
}

// ConfirmTOTP turns TOTP on (POST /v1/me/totp/confirm) for enrolment en,
// with the authenticator's current code and a signature by key, the
// logged-in identity's current key, over chusme.TOTPConfirmMessage. It
// returns the 10 single-use recovery codes.
func (c *Client) ConfirmTOTP(ctx context.Context, key crypto.Signer, en chusme.TOTPEnrolment, code string) ([]string, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	secret, err := totpSecret.DecodeString(strings.ToUpper(strings.TrimSpace(en.Secret)))
	if err != nil || len(secret) == 0 {
		return nil, fmt.Errorf("client: the enrolment's secret is not base32")
	}
	defer clear(secret)
	if err := c.checkIssuer(ctx); err != nil {
		return nil, err
	}
	t, err := c.loadTokens(ctx)
	if err != nil {
		return nil, err
	}
	sig, err := signWith(key, chusme.TOTPConfirmMessage(c.issuer, t.Fingerprint, secret))
	if err != nil {
		return nil, err
	}
	req := chusme.TOTPConfirmRequest{Code: strings.TrimSpace(code), Signature: sig}
	var conf chusme.TOTPConfirmation
	err = c.do(ctx, http.MethodPost, "/v1/me/totp/confirm", req, &conf)
	return conf.RecoveryCodes, err
}

// totpSecret is the encoding of TOTP secrets: base32 without padding.
var totpSecret = base32.StdEncoding.WithPadding(base32.NoPadding)

// DisableTOTP turns TOTP off (DELETE /v1/me/totp) with a current TOTP code
// or a recovery code.
func (c *Client) DisableTOTP(ctx context.Context, code string) error {
	req := chusme.TOTPCodeRequest{}
	if code = strings.TrimSpace(code); isTOTPCode(code) {
		req.Code = code
	} else {
		req.RecoveryCode = code
	}
	return c.do(ctx, http.MethodDelete, "/v1/me/totp", req, nil)
}

// Blob returns identity fp's blob and its ETag (GET
// /v1/identities/{fp}/blob; public, rate-limited per IP). ErrNoBackup's
// code, chusme.CodeNotFound, if there is none.
func (c *Client) Blob(ctx context.Context, fp string) ([]byte, string, error) {
	if !chusme.ValidFingerprint(fp) {
		return nil, "", fmt.Errorf("client: %q is not a fingerprint (64 lowercase hex digits)", fp)
	}
	data, hdr, _, err := c.rawCall(ctx, http.MethodGet, "/v1/identities/"+fp+"/blob", "", nil, nil)
	if err != nil {
		return nil, "", err
	}
	return data, hdr.Get("ETag"), nil
}

// PutBlob writes the logged-in identity's blob (PUT
// /v1/identities/{fp}/blob): etag is the blob's current ETag as Blob
// returned it, or "" for the first write. It returns the new ETag. A blob
// changed meanwhile gives chusme.CodePreconditionFailed.
func (c *Client) PutBlob(ctx context.Context, fp string, content []byte, etag string) (string, error) {
	if !chusme.ValidFingerprint(fp) {
		return "", fmt.Errorf("client: %q is not a fingerprint (64 lowercase hex digits)", fp)
	}
	hdr := map[string]string{"Content-Type": "application/octet-stream", "If-None-Match": "*"}
	if etag != "" {
		hdr = map[string]string{"Content-Type": "application/octet-stream", "If-Match": etag}
	}
	var h http.Header
	err := c.authed(ctx, func(bearer string) (err error) {
		_, h, _, err = c.rawCall(ctx, http.MethodPut, "/v1/identities/"+fp+"/blob", bearer, content, hdr)
		return err
	})
	if err != nil {
		return "", err
	}
	return h.Get("ETag"), nil
}

// Chain returns identity fp's chain as the server sends it, unverified.
func (c *Client) Chain(ctx context.Context, fp string) (chusme.ChainResponse, error) {
	var ch chusme.ChainResponse
	if !chusme.ValidFingerprint(fp) {
		return ch, fmt.Errorf("client: %q is not a fingerprint (64 lowercase hex digits)", fp)
	}
	err := c.call(ctx, http.MethodGet, "/v1/identities/"+fp+"/chain", "", nil, &ch)
	return ch, err
}

// VerifyChain checks an identity's chain offline, from its fingerprint
// alone, for statements bound to issuer, and returns the current key. It
// refuses (with chusme.CodeChainConflict) a chain whose genesis key does not
// hash to fp or whose entries are reordered, missing, altered or badly
// signed. A chain cut short after some entry still verifies (to an older
// key): only the server can say it is the latest.
func VerifyChain(issuer, fp string, entries []chusme.ChainEntry) (ed25519.PublicKey, error) {
	k, err := chusme.VerifyChain(issuer, fp, entries, keys.CheckPublicKey, keys.Verify)
	return ed25519.PublicKey(k), err
}

// VerifiedChain fetches identity fp's chain, checks that it is bound to the
// issuer the client expects, verifies it (VerifyChain) and that it extends
// the head pinned for fp (WithPinStore), pins its head and returns it with
// the current key. A chain refused is a *PeerKeyError (ErrPeerKey).
func (c *Client) VerifiedChain(ctx context.Context, fp string) (chusme.ChainResponse, ed25519.PublicKey, error) {
	ch, err := c.Chain(ctx, fp)
	if err != nil {
		return ch, nil, err
	}
	v, err := c.trust(ctx, fp, ch, false)
	return ch, v.key, err
}

// Rotate replaces identity fp's device key oldKey (one of the current
// ones) by newKey: it fetches and verifies the chain, signs a rotation
// statement on its head with both keys and submits it (POST
// /v1/identities/{fp}/rotations). Every session of oldKey ends, including
// the client's (the other devices' stay); log in again with newKey. For 72
// hours oldKey can cancel it (CancelRotation).
func (c *Client) Rotate(ctx context.Context, fp string, oldKey, newKey ed25519.PrivateKey) (chusme.ChainEntry, error) {
	if err := checkKey(oldKey); err != nil {
		return chusme.ChainEntry{}, err
	}
	if err := checkKey(newKey); err != nil {
		return chusme.ChainEntry{}, err
	}
	head, cur, err := c.chainKeys(ctx, fp)
	if err != nil {
		return chusme.ChainEntry{}, err
	}
	oldPub := oldKey.Public().(ed25519.PublicKey)
	if !cur.IsDevice(oldPub) {
		return chusme.ChainEntry{}, errors.New("client: the old key is not a current device key of the identity")
	}
	req := chusme.RotationRequest{
		Seq: head.Seq + 1, Prev: head.Hash, OldKey: chusme.Bytes(oldPub),
		NewKey: chusme.Bytes(newKey.Public().(ed25519.PublicKey)), Time: c.now().Unix(),
	}
	msg := chusme.RotationMessage(c.issuer, fp, req.Seq, req.Prev, req.OldKey, req.NewKey, req.Time)
	req.OldSignature, req.NewSignature = ed25519.Sign(oldKey, msg), ed25519.Sign(newKey, msg)
	return c.appendChain(ctx, fp, "/v1/identities/"+fp+"/rotations", req)
}

// appendChain posts a rotation or cancellation of identity fp to path and
// forgets the chain the client verified for fp, whatever the answer (an
// answer lost in transport may still have changed the key): a driver
// checking its own key must not meet the old head within identityTTL.
func (c *Client) appendChain(ctx context.Context, fp, path string, req any) (chusme.ChainEntry, error) {
	var e chusme.ChainEntry
	err := c.call(ctx, http.MethodPost, path, "", req, &e)
	c.trusted.forget(fp)
	return e, err
}

// PendingRotation returns the chain's last entry if it is a rotation (which
// CancelRotation may cancel if it is within its window), verified.
func (c *Client) PendingRotation(ctx context.Context, fp string) (chusme.ChainEntry, error) {
	ch, _, err := c.VerifiedChain(ctx, fp)
	if err != nil {
		return chusme.ChainEntry{}, err
	}
	head := ch.Entries[len(ch.Entries)-1]
	if head.Kind != chusme.EntryRotate {
		return chusme.ChainEntry{}, chusme.Errorf(chusme.CodeNotFound, "the identity's last chain entry is not a rotation")
	}
	return head, nil
}

// CancelRotation cancels identity fp's last rotation with the key it
// replaced (POST /v1/identities/{fp}/rotations/{seq}/cancel), restoring
// that key. Every session of the identity ends.
func (c *Client) CancelRotation(ctx context.Context, fp string, oldKey ed25519.PrivateKey) (chusme.ChainEntry, error) {
	if err := checkKey(oldKey); err != nil {
		return chusme.ChainEntry{}, err
	}
	head, err := c.PendingRotation(ctx, fp)
	if err != nil {
		return chusme.ChainEntry{}, err
	}
	if !bytes.Equal(head.OldKey, oldKey.Public().(ed25519.PublicKey)) {
		return chusme.ChainEntry{}, errors.New("client: this key is not the one the last rotation replaced")
	}
	req := c.cancelRequest(fp, head, oldKey)
	return c.appendChain(ctx, fp, "/v1/identities/"+fp+"/rotations/"+strconv.FormatUint(head.Seq, 10)+"/cancel", req)
}

// cancelRequest signs, with oldKey, the cancellation of head, a rotation of
// identity fp's key that oldKey replaced, dated now.
func (c *Client) cancelRequest(fp string, head chusme.ChainEntry, oldKey ed25519.PrivateKey) chusme.CancelRequest {
	req := chusme.CancelRequest{Seq: head.Seq + 1, Prev: head.Hash, Time: c.now().Unix()}
	req.Signature = ed25519.Sign(oldKey, chusme.CancelMessage(c.issuer, fp, req.Seq, head.Seq, req.Prev, head.NewKey, head.OldKey, req.Time))
	return req
}
