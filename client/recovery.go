package client

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"slices"
	"strconv"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/keys"
)

// Recovery keys (docs/protocol.md §6, "Recovery keys"): up to
// chusme.MaxRecoveryKeys keys, kept offline, that outrank the device key.

// chainKeys fetches and verifies identity fp's chain (VerifiedChain, which
// pins it) and returns its last entry and current keys.
func (c *Client) chainKeys(ctx context.Context, fp string) (chusme.ChainEntry, chusme.ChainKeys, error) {
	ch, _, err := c.VerifiedChain(ctx, fp)
	if err != nil {
		return chusme.ChainEntry{}, chusme.ChainKeys{}, err
	}
	k, err := chusme.VerifyChainKeys(ch.Issuer, fp, ch.Entries, keys.CheckPublicKey, keys.Verify)
	return ch.Entries[len(ch.Entries)-1], k, err
}

// RecoveryKeys returns identity fp's current recovery keys, in priority
// order, from its verified chain.
func (c *Client) RecoveryKeys(ctx context.Context, fp string) ([]ed25519.PublicKey, error) {
	_, k, err := c.chainKeys(ctx, fp)
	out := make([]ed25519.PublicKey, len(k.Recovery))
	for i, r := range k.Recovery {
		out[i] = ed25519.PublicKey(r)
	}
	return out, err
}

// SetRecoveryKeys replaces identity fp's recovery keys by list, in priority
// order (POST /v1/identities/{fp}/recovery-keys). signer is the current
// device key or a recovery key; added holds the private key of every key of
// list that is not a recovery key yet (each signs: proof of possession).
// Every session of the identity ends. A change signed by the device key is
// pending for chusme.RotationCancelWindow: a recovery key can cancel it.
func (c *Client) SetRecoveryKeys(ctx context.Context, fp string, signer ed25519.PrivateKey, list []ed25519.PublicKey, added ...ed25519.PrivateKey) (chusme.ChainEntry, error) {
	if err := checkKey(signer); err != nil {
		return chusme.ChainEntry{}, err
	}
	head, cur, err := c.chainKeys(ctx, fp)
	if err != nil {
		return chusme.ChainEntry{}, err
	}
	req := chusme.RecoveryKeysRequest{
		Seq: head.Seq + 1, Prev: head.Hash, Signer: chusme.Bytes(signer.Public().(ed25519.PublicKey)),
		DeviceKey: cur.Device, Time: c.now().Unix(),
		RecoveryKeys: make([]chusme.Bytes, len(list)), KeySignatures: make([]chusme.Bytes, len(list)),
	}
	for i, k := range list {
		req.RecoveryKeys[i] = chusme.Bytes(k)
	}
	msg := chusme.RecoveryKeysMessage(c.issuer, fp, req.Seq, req.Prev, req.Signer, req.DeviceKey, req.RecoveryKeys, req.Time)
	for i, k := range list {
		if slices.ContainsFunc(cur.Recovery, func(r chusme.Bytes) bool { return bytes.Equal(r, k) }) {
			continue
		}
		j := slices.IndexFunc(added, func(a ed25519.PrivateKey) bool { return checkKey(a) == nil && k.Equal(a.Public()) })
		if j < 0 {
			return chusme.ChainEntry{}, errors.New("client: a new recovery key needs its private key to sign")
		}
		req.KeySignatures[i] = ed25519.Sign(added[j], msg)
	}
	req.Signature = ed25519.Sign(signer, msg)
	return c.appendChain(ctx, fp, "/v1/identities/"+fp+"/recovery-keys", req)
}

// AddRecoveryKey adds recoveryKey as identity fp's lowest-priority recovery
// key, signed by signer (the device key or a recovery key) and recoveryKey.
func (c *Client) AddRecoveryKey(ctx context.Context, fp string, signer, recoveryKey ed25519.PrivateKey) (chusme.ChainEntry, error) {
	if err := checkKey(recoveryKey); err != nil {
		return chusme.ChainEntry{}, err
	}
	list, err := c.RecoveryKeys(ctx, fp)
	if err != nil {
		return chusme.ChainEntry{}, err
	}
	return c.SetRecoveryKeys(ctx, fp, signer, append(list, recoveryKey.Public().(ed25519.PublicKey)), recoveryKey)
}

// Recover rotates identity fp's device key to newKey by one of its recovery
// keys (POST /v1/identities/{fp}/recoveries): both sign. It overrides a
// pending device rotation, and no device key can cancel it. Every session
// of the identity ends; log in with newKey.
func (c *Client) Recover(ctx context.Context, fp string, recoveryKey, newKey ed25519.PrivateKey) (chusme.ChainEntry, error) {
	if err := checkKey(recoveryKey); err != nil {
		return chusme.ChainEntry{}, err
	}
	if err := checkKey(newKey); err != nil {
		return chusme.ChainEntry{}, err
	}
	head, cur, err := c.chainKeys(ctx, fp)
	if err != nil {
		return chusme.ChainEntry{}, err
	}
	req := chusme.RecoverRequest{
		Seq: head.Seq + 1, Prev: head.Hash, Signer: chusme.Bytes(recoveryKey.Public().(ed25519.PublicKey)),
		OldKey: cur.Device, NewKey: chusme.Bytes(newKey.Public().(ed25519.PublicKey)), Time: c.now().Unix(),
	}
	msg := chusme.RecoverMessage(c.issuer, fp, req.Seq, req.Prev, req.Signer, req.OldKey, req.NewKey, req.Time)
	req.Signature, req.NewSignature = ed25519.Sign(recoveryKey, msg), ed25519.Sign(newKey, msg)
	return c.appendChain(ctx, fp, "/v1/identities/"+fp+"/recoveries", req)
}

// CancelWithRecoveryKey cancels identity fp's pending last entry (a
// rotation, a recovery rotation by a lower recovery key, or a change of
// recovery keys) with recoveryKey, restoring the keys from before it. Every
// session of the identity ends.
func (c *Client) CancelWithRecoveryKey(ctx context.Context, fp string, recoveryKey ed25519.PrivateKey) (chusme.ChainEntry, error) {
	if err := checkKey(recoveryKey); err != nil {
		return chusme.ChainEntry{}, err
	}
	head, _, err := c.chainKeys(ctx, fp)
	if err != nil {
		return chusme.ChainEntry{}, err
	}
	req := chusme.CancelRequest{Seq: head.Seq + 1, Prev: head.Hash, Signer: chusme.Bytes(recoveryKey.Public().(ed25519.PublicKey)), Time: c.now().Unix()}
	req.Signature = ed25519.Sign(recoveryKey, chusme.RecoveryCancelMessage(c.issuer, fp, req.Seq, head.Seq, req.Prev, req.Signer, head.NewKey, head.OldKey, req.Time))
	return c.appendChain(ctx, fp, "/v1/identities/"+fp+"/rotations/"+strconv.FormatUint(head.Seq, 10)+"/cancel", req)
}
