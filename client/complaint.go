package client

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"

	"github.com/chusme/chusme"
	chusmev1 "github.com/chusme/chusme/proto/chusme/v1"
)

// Complain tells the server, signed with key (the caller's identity key),
// that the package accused sent the caller in round of ceremony id fails
// accused's signature or does not open (a round of point-to-point
// packages), or does not decode (a DKG's round 1) (POST
// /v1/ceremonies/{id}/complaints, or its WebSocket request). If the package
// the server holds fails that check, the ceremony fails at once naming
// accused, and Complain returns it; if it passes, the error has code
// chusme.CodePackageValid: the package was changed between the server and
// the caller. (A secret that opens but is bad the drivers reveal
// themselves, with its sender's signature over it.)
func (c *Client) Complain(ctx context.Context, id string, key crypto.Signer, round int, accused string) (chusme.CeremonyInfo, error) {
	return c.complain(ctx, id, key, chusme.ComplaintRequest{Round: round, Accused: accused})
}

// complain sends req, signed with key, about ceremony id.
func (c *Client) complain(ctx context.Context, id string, key crypto.Signer, req chusme.ComplaintRequest) (chusme.CeremonyInfo, error) {
	var info chusme.CeremonyInfo
	p, err := ceremonyPath(id)
	if err != nil {
		return info, err
	}
	if err := checkKey(key); err != nil {
		return info, err
	}
	me := chusme.Fingerprint(key.Public().(ed25519.PublicKey)) // the genesis key's, unless the session names it
	if t, err := c.store.Load(ctx); err == nil && t.Fingerprint != "" {
		me = t.Fingerprint
	}
	if req.Signature, err = signWith(key, chusme.CeremonyComplaintMessage(id, req.Round, me, req.Accused)); err != nil {
		return info, err
	}
	if rt := c.overRealtime(); rt != nil {
		return rt.ceremonyAnswer(ctx, &chusmev1.Envelope{Payload: &chusmev1.Envelope_ComplaintRequest{
			ComplaintRequest: chusmev1.NewComplaintRequest(id, req)}})
	}
	err = c.do(ctx, http.MethodPost, p+"/complaints", req, &info)
	return info, err
}

// maxChainFetches bounds the peer chains one driver fetches at once: 8, so
// that a 255-participant ceremony's drivers don't open 254 connections
// each.
const maxChainFetches = 8

// forgedPackage is ErrTampered about one sender's package of a round: it
// fails its signature, or does not open.
type forgedPackage struct {
	round        int
	sender, what string
}

func (e *forgedPackage) Error() string {
	return fmt.Sprintf("%v: round-%d package from %s %s", ErrTampered, e.round, e.sender, e.what)
}

func (e *forgedPackage) Unwrap() error { return ErrTampered }

// malformedRound1 is ErrInconsistent about a sender's DKG round-1
// package, signed by the sender, that does not decode.
type malformedRound1 struct{ sender string }

func (e *malformedRound1) Error() string {
	return fmt.Sprintf("%v: malformed round-1 package from %s", ErrInconsistent, e.sender)
}

func (e *malformedRound1) Unwrap() error { return ErrInconsistent }

// complained returns err, a driver's failure, after complaining about the
// sender when err is a forged point-to-point package or a malformed DKG
// round-1 package: the server then fails the ceremony naming the sender if the
// package it holds is bad. The complaint's own outcome changes nothing here
// (package_valid means the package was changed on its way to this driver,
// which fails all the same).
func (p *participant) complained(ctx context.Context, err error) error {
	var fp *forgedPackage
	var mr *malformedRound1
	switch {
	case errors.As(err, &fp) && p.info.Kind != chusme.KindSign: // a point-to-point package
		p.c.Complain(ctx, p.info.ID, p.key, fp.round, fp.sender)
	case p.info.Kind == chusme.KindDKG && errors.As(err, &mr):
		p.c.Complain(ctx, p.info.ID, p.key, 1, mr.sender)
	}
	return err
}
