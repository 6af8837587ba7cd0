package client

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math"
	"slices"

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
// key at the chain head it names; or that the holders of the generation
// before made it (chusme.VerifyGroupKeyLineage), or the generation is not
// in one line with the one the client pinned. GroupKey returns it wrapped,
// naming the key and, where one is to blame, the identity or generation.
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

// checkCertifiedHeads checks that every confirmation and endorsement of
// k's certificate names an entry of its identity's verified and pinned
// chain (trust), and that its key is one of the identity's device keys
// current at that head: not one removed before it, nor added after.
func (c *Client) checkCertifiedHeads(ctx context.Context, k chusme.GroupKeyInfo) error {
	for _, cf := range slices.Concat(k.Certificate.Confirmations, k.Certificate.Endorsements) {
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
		at, err := chusme.VerifyChainKeys(ch.Issuer, cf.Fingerprint, ch.Entries[:cf.HeadSeq+1], keys.CheckPublicKey, keys.Verify)
		if err != nil || !bytes.Equal(e.Hash, cf.HeadHash) || !slices.ContainsFunc(at.Devices, func(d chusme.Bytes) bool { return bytes.Equal(d, cf.PublicKey) }) {
			return fmt.Errorf("%w: key %s: %s's confirmation names head %d, which is not entry %d of its verified chain, or a key not one of its device keys at that entry",
				ErrBadCertificate, k.KeyID, cf.Fingerprint, cf.HeadSeq, cf.HeadSeq)
		}
	}
	return nil
}

// keyPinName is the name a group key's pin has in the pin store: never an
// identity's fingerprint.
func keyPinName(keyID string) string { return "group-key/" + keyID }

// checkLine checks that generation k of a group key, certified
// (certifiedKey, checkCertifiedHeads), is in one line with the generation
// pinned for the key: the pin is its generation number and
// VerifyingSharesHash. It fetches and certifies the generations between
// the two (from generation 1 if there is no pin; the pinned one is taken
// from memory or, fetched, must have the pinned hash), checks them with
// chusme.VerifyGroupKeyLineage and pins the later generation.
func (c *Client) checkLine(ctx context.Context, k chusme.GroupKeyInfo) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: key %s: %s", ErrBadCertificate, k.KeyID, fmt.Sprintf(format, args...))
	}
	if k.Generation < 1 {
		return fmt.Errorf("%w: key %s: generation %d", ErrWrongGroupKey, k.KeyID, k.Generation)
	}
	tc := &c.trusted
	tc.keyMu.Lock()
	defer tc.keyMu.Unlock()
	pin, pinned, err := c.pins.Load(ctx, c.issuer, keyPinName(k.KeyID))
	if err != nil {
		return fmt.Errorf("client: loading the pin of key %s: %w", k.KeyID, err)
	}
	if pinned && (pin.Seq < 1 || pin.Seq > math.MaxInt32) {
		return fmt.Errorf("client: the pin of key %s names generation %d", k.KeyID, pin.Seq)
	}
	lo, hi, at := 1, k.Generation, int(pin.Seq)
	if pinned {
		lo, hi = min(at, k.Generation), max(at, k.Generation)
	}
	gens := make([]chusme.GroupKeyInfo, 0, min(hi-lo+1, 16)) // hi is the server's word
	for g := lo; g <= hi; g++ {
		last, ok := tc.keys[k.KeyID]
		switch {
		case g == k.Generation:
			gens = append(gens, k)
		case ok && g == at && last.Generation == at:
			gens = append(gens, last)
		default:
			gk, err := c.certifiedKey(ctx, k.KeyID, g)
			if err == nil && !(pinned && g == at) {
				err = c.checkCertifiedHeads(ctx, gk)
			}
			if err != nil {
				return err
			}
			gens = append(gens, gk)
		}
	}
	if pinned && !bytes.Equal(gens[at-lo].Certificate.VerifyingSharesHash, pin.Hash) {
		return bad("the server's generation %d is not the one this client verified and pinned", at)
	}
	if pinned && lo == hi {
		// The pinned generation itself: its line was checked when it was
		// pinned, and certifiedKey checked its certificate.
		return nil
	}
	if err := chusme.VerifyGroupKeyLineage(gens, keys.Verify); err != nil {
		return fmt.Errorf("%w: %v", ErrBadCertificate, err)
	}
	if pinned && hi == at {
		return nil
	}
	top := gens[len(gens)-1]
	if err := c.pins.Save(ctx, c.issuer, keyPinName(k.KeyID), chusme.ChainHead{Seq: uint64(hi), Hash: top.Certificate.VerifyingSharesHash}); err != nil {
		return fmt.Errorf("client: pinning generation %d of key %s: %w", hi, k.KeyID, err)
	}
	if tc.keys == nil || len(tc.keys) >= maxTrusted {
		tc.keys = map[string]chusme.GroupKeyInfo{}
	}
	tc.keys[k.KeyID] = top
	return nil
}
