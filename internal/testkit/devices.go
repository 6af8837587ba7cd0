package testkit

import (
	"crypto/ed25519"

	"github.com/chusme/chusme"
)

// DeviceAddRequest returns the addition of device key next to identity fp
// on the chain's head, signed for issuer at unixTime by the device key
// signer, with next's join request dated joinTime.
func DeviceAddRequest(issuer, fp string, head chusme.ChainEntry, signer, next ed25519.PrivateKey, joinTime, unixTime int64) chusme.DeviceAddRequest {
	r := chusme.DeviceAddRequest{Seq: head.Seq + 1, Prev: head.Hash, Signer: Public(signer), NewKey: Public(next), JoinTime: joinTime, Time: unixTime}
	r.Signature = ed25519.Sign(signer, chusme.DeviceAddMessage(issuer, fp, r.Seq, r.Prev, r.Signer, r.NewKey, r.JoinTime, r.Time))
	r.JoinSignature = ed25519.Sign(next, chusme.DeviceJoinMessage(issuer, fp, r.NewKey, joinTime))
	return r
}

// DeviceRemoveRequest returns the removal of device key removed from
// identity fp on the chain's head, signed for issuer at unixTime by signer.
func DeviceRemoveRequest(issuer, fp string, head chusme.ChainEntry, signer ed25519.PrivateKey, removed []byte, unixTime int64) chusme.DeviceRemoveRequest {
	r := chusme.DeviceRemoveRequest{Seq: head.Seq + 1, Prev: head.Hash, Signer: Public(signer), Key: removed, Time: unixTime}
	r.Signature = ed25519.Sign(signer, chusme.DeviceRemoveMessage(issuer, fp, r.Seq, r.Prev, r.Signer, r.Key, r.Time))
	return r
}
