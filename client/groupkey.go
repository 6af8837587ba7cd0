package client

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/frost"
	"github.com/chusme/chusme/keys"
)

// ErrWrongGroupKey means the server answered a group key that is not the
// one asked for: its public key's fingerprint is not the key id, or its
// public key package (what signers and verifiers use) disagrees with its
// public key, threshold, participants or verifying shares. GroupKey returns
// it wrapped, naming the key.
var ErrWrongGroupKey = errors.New("client: the server answered another group key than the one asked for")

// ErrBadCertificate means a group key's certificate does not show that its
// participants made it: it is missing, a confirmation's signature fails, it
// is bound to another issuer, or a confirmation's key is not its identity's
// key at the chain head it names. GroupKey returns it wrapped, naming the
// key and, where one is to blame, the identity.
var ErrBadCertificate = errors.New("client: the group key's certificate does not verify")

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

// checkCertificate checks k's certificate offline (chusme.VerifyGroupKeyCertificate)
// and that it is bound to issuer.
func checkCertificate(issuer string, k chusme.GroupKeyInfo) error {
	if err := chusme.VerifyGroupKeyCertificate(k, keys.Verify); err != nil {
		return fmt.Errorf("%w: %v", ErrBadCertificate, err)
	}
	if k.Certificate.Issuer != issuer {
		return fmt.Errorf("%w: key %s: the certificate is bound to issuer %q, not %q", ErrBadCertificate, k.KeyID, k.Certificate.Issuer, issuer)
	}
	return nil
}

// checkCertifiedHeads checks that every confirmation of k's certificate
// names an entry of its identity's verified and pinned chain (trust), and
// that its key is that entry's key: the identity's key at the head it
// confirmed.
func (c *Client) checkCertifiedHeads(ctx context.Context, k chusme.GroupKeyInfo) error {
	for _, cf := range k.Certificate.Confirmations {
		ch, err := retry(ctx, func() (chusme.ChainResponse, error) { return c.Chain(ctx, cf.Fingerprint) })
		if err == nil {
			_, err = c.trust(ctx, cf.Fingerprint, ch, false) // verified whole: entries below the head are read
		}
		if err != nil {
			return fmt.Errorf("%w: key %s: the chain of %s: %w", ErrBadCertificate, k.KeyID, cf.Fingerprint, err)
		}
		if cf.HeadSeq >= uint64(len(ch.Entries)) {
			return fmt.Errorf("%w: key %s: %s confirmed at head %d, beyond its chain's %d entries", ErrBadCertificate, k.KeyID, cf.Fingerprint, cf.HeadSeq, len(ch.Entries))
		}
		e := ch.Entries[cf.HeadSeq]
		if !bytes.Equal(e.Hash, cf.HeadHash) || !bytes.Equal(e.NewKey, cf.PublicKey) {
			return fmt.Errorf("%w: key %s: %s's confirmation names head %d, which is not entry %d of its verified chain or not that entry's key",
				ErrBadCertificate, k.KeyID, cf.Fingerprint, cf.HeadSeq, cf.HeadSeq)
		}
	}
	return nil
}
