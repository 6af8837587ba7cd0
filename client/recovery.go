package client

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
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

// A KeySigner signs chain statements as one Ed25519 key: a private key
// held here (LocalKey) or a key whose signature is made elsewhere
// (RemoteKey), such as a FROST group key of guardians, whose signing
// ceremony signs the exact statement (docs/protocol.md §6, "Guardian
// recovery keys").
type KeySigner interface {
	// PublicKey returns the key that signs, nil if there is none.
	PublicKey() ed25519.PublicKey
	// SignStatement returns the key's signature over statement.
	SignStatement(ctx context.Context, statement []byte) ([]byte, error)
}

// localKey is LocalKey's KeySigner.
type localKey ed25519.PrivateKey

// LocalKey returns the KeySigner of private key k, held here.
func LocalKey(k ed25519.PrivateKey) KeySigner { return localKey(k) }

// PublicKey returns k's public key, nil if k is not an Ed25519 private key.
func (k localKey) PublicKey() ed25519.PublicKey {
	if checkKey(ed25519.PrivateKey(k)) != nil {
		return nil
	}
	return ed25519.PrivateKey(k).Public().(ed25519.PublicKey)
}

// SignStatement signs statement with k.
func (k localKey) SignStatement(_ context.Context, statement []byte) ([]byte, error) {
	if err := checkKey(ed25519.PrivateKey(k)); err != nil {
		return nil, err
	}
	return ed25519.Sign(ed25519.PrivateKey(k), statement), nil
}

// RemoteKey is a KeySigner whose signature is made elsewhere: Sign gets
// the exact statement and returns Key's signature over it (say, after a
// signing ceremony of the guardians holding Key). The client checks the
// signature before it sends it.
type RemoteKey struct {
	Key  ed25519.PublicKey
	Sign func(ctx context.Context, statement []byte) ([]byte, error)
}

// PublicKey returns r.Key.
func (r RemoteKey) PublicKey() ed25519.PublicKey { return r.Key }

// SignStatement returns r.Sign's signature over statement.
func (r RemoteKey) SignStatement(ctx context.Context, statement []byte) ([]byte, error) {
	return r.Sign(ctx, statement)
}

// publicKey returns s's key, or an error if it has none.
func publicKey(s KeySigner) (ed25519.PublicKey, error) {
	if s == nil || len(s.PublicKey()) != ed25519.PublicKeySize {
		return nil, errors.New("client: a signer without an Ed25519 key")
	}
	return s.PublicKey(), nil
}

// signStatement has s sign statement and checks the signature.
func signStatement(ctx context.Context, s KeySigner, statement []byte) ([]byte, error) {
	sig, err := s.SignStatement(ctx, statement)
	if err != nil {
		return nil, err
	}
	if !ed25519.Verify(s.PublicKey(), statement, sig) {
		return nil, fmt.Errorf("client: the signature of key %x does not verify over the statement", []byte(s.PublicKey()))
	}
	return sig, nil
}

// SetRecoveryKeys replaces identity fp's recovery keys by list, in priority
// order (POST /v1/identities/{fp}/recovery-keys). signer is the current
// device key or a recovery key; added holds the signer of every key of list
// that is not a recovery key yet (each signs: proof of possession). Every
// session of the identity ends. A change signed by the device key is
// pending for chusme.RotationCancelWindow: a recovery key can cancel it.
func (c *Client) SetRecoveryKeys(ctx context.Context, fp string, signer KeySigner, list []ed25519.PublicKey, added ...KeySigner) (chusme.ChainEntry, error) {
	signerKey, err := publicKey(signer)
	if err != nil {
		return chusme.ChainEntry{}, err
	}
	head, cur, err := c.chainKeys(ctx, fp)
	if err != nil {
		return chusme.ChainEntry{}, err
	}
	req := chusme.RecoveryKeysRequest{
		Seq: head.Seq + 1, Prev: head.Hash, Signer: chusme.Bytes(signerKey),
		DeviceKey: deviceKeyOf(cur, signerKey), Time: c.now().Unix(),
		RecoveryKeys: make([]chusme.Bytes, len(list)), KeySignatures: make([]chusme.Bytes, len(list)),
	}
	for i, k := range list {
		req.RecoveryKeys[i] = chusme.Bytes(k)
	}
	msg := chusme.RecoveryKeysMessage(c.issuer, fp, req.Seq, req.Prev, req.Signer, req.DeviceKey, req.RecoveryKeys, req.Time)
	if req.Signature, err = signStatement(ctx, signer, msg); err != nil {
		return chusme.ChainEntry{}, err
	}
	for i, k := range list {
		if slices.ContainsFunc(cur.Recovery, func(r chusme.Bytes) bool { return bytes.Equal(r, k) }) {
			continue
		}
		j := slices.IndexFunc(added, func(a KeySigner) bool { pub, err := publicKey(a); return err == nil && k.Equal(pub) })
		if j < 0 {
			return chusme.ChainEntry{}, errors.New("client: a new recovery key needs its signer to sign")
		}
		if req.KeySignatures[i], err = signStatement(ctx, added[j], msg); err != nil {
			return chusme.ChainEntry{}, err
		}
	}
	return c.appendChain(ctx, fp, "/v1/identities/"+fp+"/recovery-keys", req)
}

// AddRecoveryKey adds recoveryKey as identity fp's lowest-priority recovery
// key, signed by signer (the device key or a recovery key) and recoveryKey.
func (c *Client) AddRecoveryKey(ctx context.Context, fp string, signer, recoveryKey KeySigner) (chusme.ChainEntry, error) {
	pub, err := publicKey(recoveryKey)
	if err != nil {
		return chusme.ChainEntry{}, err
	}
	list, err := c.RecoveryKeys(ctx, fp)
	if err != nil {
		return chusme.ChainEntry{}, err
	}
	return c.SetRecoveryKeys(ctx, fp, signer, append(list, pub), recoveryKey)
}

// Recover rotates identity fp's device key to newKey by one of its recovery
// keys (POST /v1/identities/{fp}/recoveries): both sign. It overrides a
// pending device rotation, and no device key can cancel it. Every session
// of the identity ends; log in with newKey.
func (c *Client) Recover(ctx context.Context, fp string, recoveryKey KeySigner, newKey ed25519.PrivateKey) (chusme.ChainEntry, error) {
	rk, err := publicKey(recoveryKey)
	if err != nil {
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
		Seq: head.Seq + 1, Prev: head.Hash, Signer: chusme.Bytes(rk),
		OldKey: cur.Devices[0], NewKey: chusme.Bytes(newKey.Public().(ed25519.PublicKey)), Time: c.now().Unix(),
	}
	msg := chusme.RecoverMessage(c.issuer, fp, req.Seq, req.Prev, req.Signer, req.OldKey, req.NewKey, req.Time)
	if req.Signature, err = signStatement(ctx, recoveryKey, msg); err != nil {
		return chusme.ChainEntry{}, err
	}
	req.NewSignature = ed25519.Sign(newKey, msg)
	return c.appendChain(ctx, fp, "/v1/identities/"+fp+"/recoveries", req)
}

// CancelWithRecoveryKey cancels identity fp's pending last entry (a
// rotation, a recovery rotation by a lower recovery key, or a change of
// recovery keys) with recoveryKey, restoring the keys from before it. Every
// session of the identity ends.
func (c *Client) CancelWithRecoveryKey(ctx context.Context, fp string, recoveryKey KeySigner) (chusme.ChainEntry, error) {
	rk, err := publicKey(recoveryKey)
	if err != nil {
		return chusme.ChainEntry{}, err
	}
	head, _, err := c.chainKeys(ctx, fp)
	if err != nil {
		return chusme.ChainEntry{}, err
	}
	req := chusme.CancelRequest{Seq: head.Seq + 1, Prev: head.Hash, Signer: chusme.Bytes(rk), Time: c.now().Unix()}
	msg := chusme.RecoveryCancelMessage(c.issuer, fp, req.Seq, head.Seq, req.Prev, req.Signer, head.NewKey, head.OldKey, req.Time)
	if req.Signature, err = signStatement(ctx, recoveryKey, msg); err != nil {
		return chusme.ChainEntry{}, err
	}
	return c.appendChain(ctx, fp, "/v1/identities/"+fp+"/rotations/"+strconv.FormatUint(head.Seq, 10)+"/cancel", req)
}

// deviceKeyOf returns the device key a recovery-keys statement by signer
// names: the signer if it is one of cur's device keys, else the first.
func deviceKeyOf(cur chusme.ChainKeys, signer ed25519.PublicKey) chusme.Bytes {
	if cur.IsDevice(signer) {
		return chusme.Bytes(signer)
	}
	return cur.Devices[0]
}
