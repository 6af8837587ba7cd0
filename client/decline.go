package client

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/chusme/chusme"
)

// ErrNotNeeded means a signing ceremony was signed, or is being signed,
// by other candidates: the first t to commit (chusme.CeremonyInfo.Signers)
// made the signing package without this one. Nothing of it is used.
var ErrNotNeeded = errors.New("client: not needed: the signing package was made from other signers' commitments")

// DeclineCeremony declines ceremony id as the identity of key, its current
// identity key (POST /v1/ceremonies/{id}/decline, or its WebSocket request):
// it signs chusme.CeremonyDeclineMessage and returns the ceremony as the
// server answered. A DKG then fails at once; a signing ceremony goes on
// without this participant while t candidates are left.
func (c *Client) DeclineCeremony(ctx context.Context, id string, key crypto.Signer) (chusme.CeremonyInfo, error) {
	p, err := ceremonyPath(id)
	if err != nil {
		return chusme.CeremonyInfo{}, err
	}
	if err := checkKey(key); err != nil {
		return chusme.CeremonyInfo{}, err
	}
	if err := c.checkIssuer(ctx); err != nil {
		return chusme.CeremonyInfo{}, err
	}
	me, err := c.identityOf(ctx, key)
	if err != nil {
		return chusme.CeremonyInfo{}, err
	}
	sig, err := signWith(key, chusme.CeremonyDeclineMessage(c.issuer, id, me))
	if err != nil {
		return chusme.CeremonyInfo{}, err
	}
	if rt := c.overRealtime(); rt != nil {
		return retry(ctx, func() (chusme.CeremonyInfo, error) { return rt.DeclineCeremony(ctx, id, sig) })
	}
	return retry(ctx, func() (chusme.CeremonyInfo, error) {
		var info chusme.CeremonyInfo
		err := c.do(ctx, http.MethodPost, p+"/decline", chusme.DeclineRequest{Signature: sig}, &info)
		return info, err
	})
}

// identityOf is the fingerprint of the identity whose current key is key:
// the session's identity when there is one (after a rotation the genesis
// key's fingerprint is not the current key's), else key's own.
func (c *Client) identityOf(ctx context.Context, key crypto.Signer) (string, error) {
	if t, err := c.store.Load(ctx); err == nil && t.Fingerprint != "" {
		return t.Fingerprint, nil
	}
	return chusme.Fingerprint(key.Public().(ed25519.PublicKey)), nil
}

// checkDeclines checks every decline the ceremony carries: each by a
// participant, at most once, its signature valid under the decliner's
// verified key (ErrTampered otherwise: the server made a decline up).
func (p *participant) checkDeclines(ctx context.Context, info chusme.CeremonyInfo) error {
	seen := map[string]bool{}
	for _, d := range info.Declines {
		if !slices.Contains(info.Participants, d.Fingerprint) || seen[d.Fingerprint] {
			return fmt.Errorf("%w: a decline by %q, who is not a participant or declined twice", ErrTampered, d.Fingerprint)
		}
		seen[d.Fingerprint] = true
		ok, err := p.signedBy(ctx, d.Fingerprint, chusme.CeremonyDeclineMessage(p.c.issuer, info.ID, d.Fingerprint), d.Signature)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: the decline of %s does not verify under its verified key", ErrTampered, d.Fingerprint)
		}
	}
	if f := info.Failure; f != nil && f.Reason == chusme.FailDeclined {
		for _, fp := range f.Culprits {
			if !seen[fp] {
				return fmt.Errorf("%w: the ceremony failed as declined by %s, who did not sign a decline", ErrTampered, fp)
			}
		}
	}
	return nil
}

// checkSigners checks the signers a signing ceremony's round 2 names
// before this signer signs: sorted candidates, no duplicates, at least
// the threshold, this signer among them (ErrNotNeeded otherwise), and,
// when the request asked for every signer, every candidate left out with
// a valid decline.
func (p *participant) checkSigners(ctx context.Context, info chusme.CeremonyInfo) error {
	s := info.Signers
	if !slices.IsSorted(s) || len(slices.Compact(slices.Clone(s))) != len(s) || len(s) < info.Threshold {
		return fmt.Errorf("%w: the signers %v are not a sorted set of at least %d", ErrInconsistent, s, info.Threshold)
	}
	for _, fp := range s {
		if !slices.Contains(info.Participants, fp) {
			return fmt.Errorf("%w: signer %s is not a candidate", ErrInconsistent, fp)
		}
	}
	if err := p.checkDeclines(ctx, info); err != nil {
		return err
	}
	if info.Request != nil && info.Request.AllSigners {
		for _, fp := range info.Participants {
			declined := slices.ContainsFunc(info.Declines, func(d chusme.CeremonyDecline) bool { return d.Fingerprint == fp })
			if !slices.Contains(s, fp) && !declined {
				return fmt.Errorf("%w: the request asks every signer to sign, but %s is left out without declining", ErrInconsistent, fp)
			}
		}
	}
	if !slices.Contains(s, p.me) {
		return ErrNotNeeded
	}
	return nil
}
