package testkit

import (
	"crypto/ed25519"

	"github.com/chusme/chusme"
)

// RecoveryKeysRequest returns the statement setting the recovery keys of
// identity fp (whose device key is device) to list, on the chain's head,
// signed for issuer at unixTime by signer and by every key of added (which
// fills its key_signatures entry; the others stay empty).
func RecoveryKeysRequest(issuer, fp string, head chusme.ChainEntry, device []byte, signer ed25519.PrivateKey, list []ed25519.PrivateKey, added map[int]bool, unixTime int64) chusme.RecoveryKeysRequest {
	r := chusme.RecoveryKeysRequest{Seq: head.Seq + 1, Prev: head.Hash, Signer: Public(signer), DeviceKey: device, Time: unixTime,
		RecoveryKeys: make([]chusme.Bytes, len(list)), KeySignatures: make([]chusme.Bytes, len(list))}
	for i, k := range list {
		r.RecoveryKeys[i] = Public(k)
	}
	msg := chusme.RecoveryKeysMessage(issuer, fp, r.Seq, r.Prev, r.Signer, r.DeviceKey, r.RecoveryKeys, r.Time)
	for i, k := range list {
		if added[i] {
			r.KeySignatures[i] = ed25519.Sign(k, msg)
		}
	}
	r.Signature = ed25519.Sign(signer, msg)
	return r
}

// RecoverRequest returns the recovery rotation of identity fp from device
// key old to next on the chain's head, signed for issuer at unixTime by the
// recovery key signer and by next.
func RecoverRequest(issuer, fp string, head chusme.ChainEntry, signer ed25519.PrivateKey, old []byte, next ed25519.PrivateKey, unixTime int64) chusme.RecoverRequest {
	r := chusme.RecoverRequest{Seq: head.Seq + 1, Prev: head.Hash, Signer: Public(signer), OldKey: old, NewKey: Public(next), Time: unixTime}
	msg := chusme.RecoverMessage(issuer, fp, r.Seq, r.Prev, r.Signer, r.OldKey, r.NewKey, r.Time)
	r.Signature, r.NewSignature = ed25519.Sign(signer, msg), ed25519.Sign(next, msg)
	return r
}

// RecoveryCancel returns the cancellation of the chain's head entry of
// identity fp by the recovery key signer, signed for issuer at unixTime.
func RecoveryCancel(issuer, fp string, head chusme.ChainEntry, signer ed25519.PrivateKey, unixTime int64) chusme.CancelRequest {
	c := chusme.CancelRequest{Seq: head.Seq + 1, Prev: head.Hash, Signer: Public(signer), Time: unixTime}
	c.Signature = ed25519.Sign(signer, chusme.RecoveryCancelMessage(issuer, fp, c.Seq, head.Seq, c.Prev, c.Signer, head.NewKey, head.OldKey, c.Time))
	return c
}
