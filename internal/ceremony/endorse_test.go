package ceremony_test

import (
	"bytes"
	"crypto/ed25519"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/testkit"
)

// A reshare dealer that holds no new share must endorse the new generation
// in round 3: the server refuses, with invalid_package and nothing
// changed, an endorsement signed by another key or over another
// generation, one at a head that is not the dealer's current one, one
// naming (and signed by) a key that is none of its device keys, and a
// payload of another layout; the dealer's real endorsement then completes
// the reshare, whose generation carries every dealer's endorsement and
// passes a fresh client's lineage check.
func TestReshareEndorsementChecked(t *testing.T) {
	ctx := t.Context()
	p := newParty(t, 5)
	ms := p.members
	res := servertest.DKG(t, ms[1:4], 2)
	keyID := res[0].KeyID
	dealer := ms[1] // deals, holds no new share
	parts, holders := servertest.Fingerprints(ms[1:5]), servertest.Fingerprints(ms[2:5])
	info, err := dealer.Client.CreateCeremony(ctx, dealer.Key, chusme.CreateCeremonyRequest{Kind: chusme.KindReshare, KeyID: keyID,
		Threshold: 2, Participants: parts, NewParticipants: holders})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	gated := p.srv.Gated(t, dealer, 3, release)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i, m := range append([]*member{gated}, ms[2:5]...) {
		var old *client.OldShare
		if i < 3 {
			old = &client.OldShare{KeyPackage: res[i].KeyPackage, PublicKeyPackage: res[i].PublicKeyPackage, Generation: 1}
		}
		wg.Go(func() {
			r, err := m.Client.RunReshare(ctx, info.ID, m.Key, old, nil)
			if err == nil && r.KeyPackage != nil {
				r.KeyPackage.Zero()
			}
			errs[i] = err
		})
	}
	for info.Status == chusme.CeremonyOpen && info.Round < 3 {
		if info, err = ms[2].Client.WaitCeremony(ctx, info.ID, info.Version); err != nil {
			t.Fatal(err)
		}
	}

	// What an honest endorsement is made of.
	inbox, err := dealer.Client.Inbox(ctx, info.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	round1 := map[string][]byte{}
	for _, pkg := range inbox.Packages {
		round1[pkg.Sender] = pkg.Payload
	}
	transcript := chusme.DKGTranscriptHash(info.ID, info.Participants, round1)
	gen1, err := dealer.Client.GroupKey(ctx, keyID)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := dealer.Client.Chain(ctx, dealer.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	endorsement := func(signer ed25519.PrivateKey, generation int, seq uint64) []byte {
		msg := chusme.GroupKeyEndorseMessage(gen1.Certificate.Issuer, info.ID, chusme.KindReshare, dealer.Fingerprint, gen1.PublicKey, generation,
			gen1.Certificate.VerifyingSharesHash, transcript, 2, info.NewParticipants)
		return chusme.EndorsementPayload(chusme.GroupKeyConfirmation{HeadSeq: seq, HeadHash: ch.Head().Hash,
			PublicKey: chusme.Bytes(dealer.Key.Public().(ed25519.PublicKey)), Signature: ed25519.Sign(signer, msg)})
	}
	// Signed by the key it names, which is no device key of the dealer's.
	other := testkit.NewKey(t)
	otherKey := endorsement(other, 1, 0)
	copy(otherKey[8+32:8+32+ed25519.PublicKeySize], other.Public().(ed25519.PublicKey))
	for name, c := range map[string]struct {
		payload []byte
		want    string
	}{
		"signed_by_another_key":    {endorsement(testkit.NewKey(t), 1, 0), "endorsement signature of " + dealer.Fingerprint + " does not verify"},
		"over_another_generation":  {endorsement(dealer.Key, 2, 0), "endorsement signature of " + dealer.Fingerprint + " does not verify"},
		"not_at_its_current_head":  {endorsement(dealer.Key, 1, 1), "names head 1"},
		"naming_another_key":       {otherKey, "one of its current device keys"},
		"with_a_confirmation_too":  {append(endorsement(dealer.Key, 1, 0), 1, 2, 3), "malformed reshare round-3 payload"},
		"shorter_than_endorsement": {endorsement(dealer.Key, 1, 0)[:chusme.EndorsementSize-1], "malformed reshare round-3 payload"},
	} {
		t.Run(name, func(t *testing.T) {
			sig := ed25519.Sign(dealer.Key, chusme.CeremonyPackageMessage(info.ID, 3, dealer.Fingerprint, "", c.payload))
			_, err := dealer.Client.Submit(ctx, info.ID, 3, chusme.SubmitRequest{Payload: c.payload, Signature: sig})
			if chusme.ErrorCode(err) != chusme.CodeInvalidPackage || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Submit = %v, want invalid_package saying %q", err, c.want)
			}
			now, err := ms[2].Client.Ceremony(ctx, info.ID)
			if err != nil || now.Status != chusme.CeremonyOpen || now.Round != 3 || slices.Contains(now.Submitted, dealer.Fingerprint) {
				t.Fatalf("after the refused endorsement: %+v, %v", now, err)
			}
		})
	}

	close(release)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("participant %d: RunReshare: %v", i, err)
		}
	}
	gen2, err := ms[4].Client.GroupKey(ctx, keyID)
	if err != nil {
		t.Fatalf("a fresh client's GroupKey of the reshared key: %v", err)
	}
	var endorsers []string
	var mine []byte
	for _, e := range gen2.Certificate.Endorsements {
		endorsers = append(endorsers, e.Fingerprint)
		if e.Fingerprint == dealer.Fingerprint {
			mine = e.Signature
		}
	}
	if gen2.Generation != 2 || gen2.Certificate.Kind != chusme.KindReshare || !slices.Equal(endorsers, slices.Sorted(slices.Values(servertest.Fingerprints(ms[1:4])))) ||
		!bytes.Equal(mine, endorsement(dealer.Key, 1, 0)[chusme.EndorsementSize-ed25519.SignatureSize:]) {
		t.Fatalf("the reshared generation: %d, %q, endorsed by %v; want 2, reshare, by the three dealers, in order", gen2.Generation, gen2.Certificate.Kind, endorsers)
	}
}
