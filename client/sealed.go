package client

import (
	"context"
	"crypto/hpke"
	"errors"
	"fmt"
	"slices"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/frost"
)

// ErrCheater means another participant sent this one a secret (a share, a
// repair delta or sigma) that does not open its public commitment, or a
// sealed package whose plaintext it did not sign. The driver aborts without
// using it. A secret signed by its sender inside the ciphertext it reveals
// to the server in a complaint, and the server fails the ceremony at once
// naming the sender (reason chusme.FailInvalidShare); an unsigned one the
// server can't judge, and the ceremony waits for its deadline.
var ErrCheater = errors.New("client: a participant sent a secret that does not open its public commitment")

// badSecret is ErrCheater about the senders of round's secrets.
type badSecret struct {
	round   int
	senders []string
}

func (e *badSecret) Error() string {
	return fmt.Sprintf("%v: the round-%d secrets from %v", ErrCheater, e.round, e.senders)
}

func (e *badSecret) Unwrap() error { return ErrCheater }

// sealEach seals, for round, each recipient's secret to its HPKE key
// (every recipient but this participant itself): the plaintext is
// chusme.SealedSecret, the secret with this participant's signature over
// it, and the package is signed as every package is.
func sealEach[T interface{ MarshalBinary() ([]byte, error) }](p *participant, round int, secrets map[frost.Identifier]T,
	peerKeys map[string]hpke.PublicKey, ids map[string]frost.Identifier, recipients []string) ([]chusme.DirectPackage, error) {
	var out []chusme.DirectPackage
	for _, fp := range recipients {
		if fp == p.me {
			continue
		}
		s, ok := secrets[ids[fp]]
		if !ok {
			return nil, fmt.Errorf("client: no round-%d secret for %s", round, fp)
		}
		secret, err := s.MarshalBinary()
		if err != nil {
			return nil, err
		}
		if p.tamper != nil {
			p.tamper(round, fp, secret)
		}
		inner, err := signWith(p.key, chusme.CeremonySecretMessage(p.info.ID, round, p.me, fp, secret))
		if err != nil {
			clear(secret)
			return nil, err
		}
		pt := chusme.SealedSecret(secret, inner)
		clear(secret)
		ct, err := hpke.Seal(peerKeys[fp], hpkeKDF, hpkeAEAD, chusme.DKGShareInfo(p.info.ID, p.me, fp), pt)
		clear(pt)
		if err != nil {
			return nil, err
		}
		sig, err := p.sign(round, fp, ct)
		if err != nil {
			return nil, err
		}
		out = append(out, chusme.DirectPackage{Recipient: fp, Payload: ct, Signature: sig})
	}
	return out, nil
}

// opened holds what a driver opened of one round's point-to-point packages:
// each sender's chusme.SealedSecret plaintext, kept to reveal in a complaint
// if the secret turns out bad. It is secret: wipe it.
type opened struct {
	round int
	pt    map[string][]byte
}

// wipe zeroes every plaintext.
func (o *opened) wipe() {
	for _, pt := range o.pt {
		clear(pt)
	}
}

// openRound opens the point-to-point packages of round sent to p, each
// HPKE-sealed to hpkeKey by one of senders, into received, keyed by the
// sender's identifier and decoded into a fresh value of newPkg; each
// plaintext must carry its sender's signature over the secret. It
// complains about a package that does not open. The caller wipes what it
// returns.
func openRound[T secretPackage](ctx context.Context, p *participant, round int, pkgs []chusme.CeremonyPackage, hpkeKey hpke.PrivateKey, senders []string,
	ids map[string]frost.Identifier, received map[frost.Identifier]T, newPkg func() T) (*opened, error) {
	o := &opened{round, map[string][]byte{}}
	fail := func(err error) (*opened, error) {
		o.wipe()
		return nil, err
	}
	for _, pkg := range pkgs {
		if pkg.Recipient != p.me || pkg.Sender == p.me || !slices.Contains(senders, pkg.Sender) {
			return fail(fmt.Errorf("%w: a round-%d package from %s to %q", ErrTampered, round, pkg.Sender, pkg.Recipient))
		}
		if _, dup := received[ids[pkg.Sender]]; dup {
			return fail(fmt.Errorf("%w: two round-%d packages from %s", ErrTampered, round, pkg.Sender))
		}
		pt, err := hpke.Open(hpkeKey, hpkeKDF, hpkeAEAD, chusme.DKGShareInfo(p.info.ID, pkg.Sender, p.me), pkg.Payload)
		if err != nil {
			return fail(p.complained(ctx, &forgedPackage{round, pkg.Sender, "does not decrypt"}))
		}
		o.pt[pkg.Sender] = pt
		secret, sig, ok := chusme.SplitSealedSecret(pt)
		if ok {
			if ok, err = p.signedBy(ctx, pkg.Sender, chusme.CeremonySecretMessage(p.info.ID, round, pkg.Sender, p.me, secret), sig); err != nil {
				return fail(err)
			}
		}
		if !ok {
			// Its sender signed the ciphertext, not what it holds: nothing
			// the server could check.
			return fail(fmt.Errorf("%w: the round-%d package from %s holds no secret it signed", ErrCheater, round, pkg.Sender))
		}
		r := newPkg()
		if err := r.UnmarshalBinary(secret); err != nil {
			// Signed by its sender: a complaint shows the server.
			return fail(p.revealBad(ctx, o, []string{pkg.Sender}))
		}
		received[ids[pkg.Sender]] = r
	}
	return o, nil
}

// revealBad complains about each of senders, whose secrets o holds and that
// do not open their commitments, revealing each secret and its sender's
// signature: the server checks them and fails the ceremony naming the
// sender. It returns the ErrCheater to abort with; the complaints' own
// outcome changes nothing here.
func (p *participant) revealBad(ctx context.Context, o *opened, senders []string) error {
	for _, fp := range senders {
		if secret, sig, ok := chusme.SplitSealedSecret(o.pt[fp]); ok {
			p.c.complain(ctx, p.info.ID, p.key, chusme.ComplaintRequest{Round: o.round, Accused: fp, Secret: secret, SecretSignature: sig})
		}
	}
	return &badSecret{o.round, senders}
}

// cheated is err, a frost step's failure, after revealing the secrets of
// the senders it names if it is a *frost.CheaterError about secrets
// (frost.ErrInvalidSecretShare); ids are the participants' identifiers.
func (p *participant) cheated(ctx context.Context, o *opened, err error, ids map[string]frost.Identifier) error {
	var ce *frost.CheaterError
	if !errors.As(err, &ce) || !errors.Is(err, frost.ErrInvalidSecretShare) {
		return err
	}
	var senders []string
	for _, fp := range p.info.Participants {
		if slices.Contains(ce.Identifiers, ids[fp]) {
			senders = append(senders, fp)
		}
	}
	return p.revealBad(ctx, o, senders)
}
