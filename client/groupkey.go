package client

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/frost"
)

// ErrWrongGroupKey means the server answered a group key that is not the
// one asked for: its public key's fingerprint is not the key id, or its
// public key package (what signers and verifiers use) disagrees with its
// public key, threshold, participants or verifying shares. GroupKey returns
// it wrapped, naming the key.
var ErrWrongGroupKey = errors.New("client: the server answered another group key than the one asked for")

// checkGroupKey checks k, as the server sent it for keyID: the id is the
// fingerprint of the public key, and the public key package holds that
// public key, the threshold, and exactly the participants' verifying shares.
func checkGroupKey(keyID string, k chusme.GroupKeyInfo) error {
	wrong := func(format string, args ...any) error {
		return fmt.Errorf("%w: key %s: %s", ErrWrongGroupKey, keyID, fmt.Sprintf(format, args...))
	}
	if k.KeyID != keyID {
		return wrong("the answer is about key %q", k.KeyID)
	}
	if len(k.PublicKey) != ed25519.PublicKeySize || chusme.GroupKeyID(k.PublicKey) != keyID {
		return wrong("the public key is not the one the id names")
	}
	var pkp frost.PublicKeyPackage
	if err := pkp.UnmarshalBinary(k.PublicKeyPackage); err != nil {
		return wrong("the public key package is malformed: %v", err)
	}
	if !bytes.Equal(pkp.VerifyingKey().Bytes(), k.PublicKey) {
		return wrong("the public key package holds another public key")
	}
	if pkp.MinSigners() != k.Threshold || pkp.MaxSigners() != len(k.Participants) || len(k.VerifyingShares) != len(k.Participants) {
		return wrong("%d-of-%d with %d verifying shares, but the public key package is %d-of-%d",
			k.Threshold, len(k.Participants), len(k.VerifyingShares), pkp.MinSigners(), pkp.MaxSigners())
	}
	ids, err := identifiers(k.Participants)
	if err != nil || len(ids) != len(k.Participants) {
		return wrong("the participants are not distinct fingerprints")
	}
	for _, fp := range k.Participants {
		vs, ok := pkp.VerifyingShare(ids[fp])
		if !ok || !bytes.Equal(vs.Bytes(), k.VerifyingShares[fp]) {
			return wrong("participant %s's verifying share is not the public key package's", fp)
		}
	}
	return nil
}
