package client

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/chusme/chusme"
)

// Devices (docs/protocol.md §6, "Devices"): an identity has 1 to
// chusme.MaxDevices device keys, each logging in with its own sessions. A
// new machine makes a key and a join request (JoinRequest), carried as text
// (JoinRequestText) to a current device, which adds it (AddDevice).

// Devices returns identity fp's current device keys from its verified,
// pinned chain, the identity's public key first.
func (c *Client) Devices(ctx context.Context, fp string) ([]ed25519.PublicKey, error) {
	_, k, err := c.chainKeys(ctx, fp)
	if err != nil {
		return nil, err
	}
	out := make([]ed25519.PublicKey, len(k.Devices))
	for i, d := range k.Devices {
		out[i] = ed25519.PublicKey(d)
	}
	return out, nil
}

// JoinRequest returns key's request to join identity fp as a device, dated
// now: key signs chusme.DeviceJoinMessage. It can be used for
// chusme.DeviceJoinValidity.
func (c *Client) JoinRequest(fp string, key ed25519.PrivateKey) (chusme.DeviceJoinRequest, error) {
	if err := checkKey(key); err != nil {
		return chusme.DeviceJoinRequest{}, err
	}
	if !chusme.ValidFingerprint(fp) {
		return chusme.DeviceJoinRequest{}, fmt.Errorf("client: %q is not a fingerprint (64 lowercase hex digits)", fp)
	}
	pub := key.Public().(ed25519.PublicKey)
	r := chusme.DeviceJoinRequest{Fingerprint: fp, Key: chusme.Bytes(pub), Time: c.now().Unix()}
	r.Signature = ed25519.Sign(key, chusme.DeviceJoinMessage(c.issuer, fp, r.Key, r.Time))
	return r, nil
}

// JoinRequestText is the printable form of a join request: the base64url
// (unpadded) of its JSON.
func JoinRequestText(r chusme.DeviceJoinRequest) string {
	b, _ := json.Marshal(r) // a struct of strings, numbers and bytes
	return base64.RawURLEncoding.EncodeToString(b)
}

// ParseJoinRequest reads a join request's text (JoinRequestText) back,
// ignoring spaces and line breaks.
func ParseJoinRequest(text string) (chusme.DeviceJoinRequest, error) {
	var r chusme.DeviceJoinRequest
	b, err := base64.RawURLEncoding.DecodeString(strings.Join(strings.Fields(text), ""))
	if err != nil || json.Unmarshal(b, &r) != nil || !chusme.ValidFingerprint(r.Fingerprint) || len(r.Key) != ed25519.PublicKeySize {
		return chusme.DeviceJoinRequest{}, errors.New("client: not a device join request (the text chusme devices join prints)")
	}
	return r, nil
}

// AddDevice adds the key of join request r as a device of identity r's
// fingerprint, signed by signer, one of its current device keys (POST
// /v1/identities/{fp}/devices). It checks r's signature and age first. No
// session ends; the new device logs in with its key.
func (c *Client) AddDevice(ctx context.Context, signer ed25519.PrivateKey, r chusme.DeviceJoinRequest) (chusme.ChainEntry, error) {
	if err := checkKey(signer); err != nil {
		return chusme.ChainEntry{}, err
	}
	if !ed25519.Verify(ed25519.PublicKey(r.Key), chusme.DeviceJoinMessage(c.issuer, r.Fingerprint, r.Key, r.Time), r.Signature) {
		return chusme.ChainEntry{}, errors.New("client: the join request's signature does not verify (made for another server or identity, or altered)")
	}
	if age := c.now().Sub(time.Unix(r.Time, 0)); age > chusme.DeviceJoinValidity || age < -chusme.MaxStatementSkew {
		return chusme.ChainEntry{}, fmt.Errorf("client: the join request is from %s: it is valid for %s; make a new one", time.Unix(r.Time, 0).UTC().Format(time.RFC3339), chusme.DeviceJoinValidity)
	}
	head, cur, err := c.chainKeys(ctx, r.Fingerprint)
	if err != nil {
		return chusme.ChainEntry{}, err
	}
	pub := signer.Public().(ed25519.PublicKey)
	if !cur.IsDevice(pub) {
		return chusme.ChainEntry{}, errors.New("client: the signing key is not a current device key of the identity")
	}
	req := chusme.DeviceAddRequest{
		Seq: head.Seq + 1, Prev: head.Hash, Signer: chusme.Bytes(pub), NewKey: r.Key,
		JoinTime: r.Time, Time: c.now().Unix(), JoinSignature: r.Signature,
	}
	req.Signature = ed25519.Sign(signer, chusme.DeviceAddMessage(c.issuer, r.Fingerprint, req.Seq, req.Prev, req.Signer, req.NewKey, req.JoinTime, req.Time))
	return c.appendChain(ctx, r.Fingerprint, "/v1/identities/"+r.Fingerprint+"/devices", req)
}

// RemoveDevice removes device key key of identity fp, signed by signer: a
// current device key (key itself too) or a recovery key (POST
// /v1/identities/{fp}/devices/remove). The removed key's sessions end at
// once.
func (c *Client) RemoveDevice(ctx context.Context, fp string, signer KeySigner, key ed25519.PublicKey) (chusme.ChainEntry, error) {
	signerKey, err := publicKey(signer)
	if err != nil {
		return chusme.ChainEntry{}, err
	}
	head, cur, err := c.chainKeys(ctx, fp)
	if err != nil {
		return chusme.ChainEntry{}, err
	}
	if !cur.IsDevice(key) {
		return chusme.ChainEntry{}, fmt.Errorf("client: %s is not a current device key of the identity", base64.RawURLEncoding.EncodeToString(key))
	}
	req := chusme.DeviceRemoveRequest{Seq: head.Seq + 1, Prev: head.Hash, Signer: chusme.Bytes(signerKey), Key: chusme.Bytes(key), Time: c.now().Unix()}
	msg := chusme.DeviceRemoveMessage(c.issuer, fp, req.Seq, req.Prev, req.Signer, req.Key, req.Time)
	if req.Signature, err = signStatement(ctx, signer, msg); err != nil {
		return chusme.ChainEntry{}, err
	}
	return c.appendChain(ctx, fp, "/v1/identities/"+fp+"/devices/remove", req)
}
