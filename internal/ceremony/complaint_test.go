package ceremony_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/frost"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/testkit"
)

// dkgWithAdversary starts a 2-of-3 DKG in which ms[0] and ms[1] run the
// client driver and ms[2] is played by the test: an honest round 1, then
// the round-2 packages that round2 makes for each recipient of ceremony id. It returns the
// ceremony and the drivers' errors once both have returned.
func dkgWithAdversary(t *testing.T, p *party, round2 func(id, recipient string) chusme.DirectPackage) (chusme.CeremonyInfo, []error) {
	t.Helper()
	ms := p.members
	info, errs, wg := twoDrivers(t, p)
	var err error
	adv := ms[2]
	if _, err := adv.Client.Submit(t.Context(), info.ID, 1, round1(t, adv, info.ID, 3, 2, adv.Fingerprint)); err != nil {
		t.Fatal(err)
	}
	cur := info
	for err == nil && cur.Round < 2 {
		cur, err = adv.Client.WaitCeremony(t.Context(), info.ID, cur.Version)
	}
	if err != nil {
		t.Fatal(err)
	}
	var req chusme.SubmitRequest
	for _, fp := range info.Participants {
		if fp != adv.Fingerprint {
			req.Packages = append(req.Packages, round2(info.ID, fp))
		}
	}
	if _, err := adv.Client.Submit(t.Context(), info.ID, 2, req); err != nil {
		t.Fatalf("round 2 with packages the server no longer verifies: %v", err)
	}
	wg.Wait()
	return info, errs
}

// twoDrivers starts a 2-of-3 DKG among p's members, created by the first,
// in which the first two run the client driver; errs holds their errors
// once wg is done.
func twoDrivers(t *testing.T, p *party) (info chusme.CeremonyInfo, errs []error, wg *sync.WaitGroup) {
	t.Helper()
	ms := p.members
	info, err := ms[0].Client.StartDKG(t.Context(), ms[0].Key, 2, servertest.Fingerprints(ms))
	if err != nil {
		t.Fatal(err)
	}
	errs, wg = make([]error, 2), new(sync.WaitGroup)
	for i, m := range ms[:2] {
		wg.Go(func() { _, errs[i] = m.Client.RunDKG(t.Context(), info.ID, m.Key, nil) })
	}
	return info, errs, wg
}

// foundOrLearned checks the drivers' errors after a participant's bad
// package: each driver found it (found, naming culprit), unless the other's
// complaint failed the ceremony before it looked, when it learned the
// failure (invalid_package); at least one found it.
func foundOrLearned(t *testing.T, errs []error, found error, culprit string) {
	t.Helper()
	n := 0
	for i, err := range errs {
		var ce *client.CeremonyError
		switch {
		case errors.Is(err, found) && strings.Contains(err.Error(), culprit):
			n++
		case errors.As(err, &ce) && ce.Info.Failure != nil && ce.Info.Failure.Reason == chusme.FailInvalidPackage:
		default:
			t.Errorf("driver %d: %v, want %v naming %s, or the failure it caused", i, err, found, culprit)
		}
	}
	if n == 0 {
		t.Errorf("no driver found the bad package: %v", errs)
	}
}

// A participant sends round-2 packages signed over garbage: the server
// takes them (it checks their shape, not their signatures), the recipients'
// drivers catch them and complain, and the first complaint fails the
// ceremony at once, naming the sender.
func TestComplaintAboutForgedPackageFailsNamingSender(t *testing.T) {
	p := newParty(t, 3)
	adv := p.members[2]
	info, errs := dkgWithAdversary(t, p, func(id, recipient string) chusme.DirectPackage {
		return chusme.DirectPackage{Recipient: recipient, Payload: []byte("sealed share"), Signature: ed25519.Sign(adv.Key, []byte("garbage"))}
	})
	foundOrLearned(t, errs, client.ErrTampered, adv.Fingerprint)
	got := waitStatus(t, p.members[0], info.ID)
	if got.Status != chusme.CeremonyFailed || got.Failure == nil || got.Failure.Reason != chusme.FailInvalidPackage ||
		!slices.Equal(got.Failure.Culprits, []string{adv.Fingerprint}) {
		t.Fatalf("ceremony %+v, failure %+v; want failed with %s naming %s", got, got.Failure, chusme.FailInvalidPackage, adv.Fingerprint)
	}
}

// A participant's round-1 package has a valid proof of knowledge over its
// first commitment point but a small-order second one: the server, which
// decodes the first point only, takes it; the drivers, which decode every
// point, complain, and the first complaint fails the ceremony at once,
// naming the sender.
func TestComplaintAboutMalformedRound1FailsNamingSender(t *testing.T) {
	p := newParty(t, 3)
	ms, adv := p.members, p.members[2]
	info, errs, wg := twoDrivers(t, p)
	ident, err := frost.DeriveIdentifier([]byte(adv.Fingerprint))
	if err != nil {
		t.Fatal(err)
	}
	secret, pkg, err := frost.DKGPart1(nil, ident, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	secret.Zero()
	b, _ := pkg.MarshalBinary()
	copy(b[4+32:], testkit.Unhex(t, testkit.SmallOrderPoints[1])) // φ_1
	if _, err := adv.Client.Submit(t.Context(), info.ID, 1, signed(adv, info.ID, 1, chusme.DKGRound1Payload(bytes.Repeat([]byte{9}, 32), b))); err != nil {
		t.Fatalf("a round-1 package whose proof verifies: %v", err)
	}
	wg.Wait()
	foundOrLearned(t, errs, client.ErrInconsistent, adv.Fingerprint)
	got := waitStatus(t, ms[0], info.ID)
	if got.Status != chusme.CeremonyFailed || got.Failure == nil || got.Failure.Reason != chusme.FailInvalidPackage ||
		!slices.Equal(got.Failure.Culprits, []string{adv.Fingerprint}) {
		t.Fatalf("ceremony %+v, failure %+v; want failed with %s naming %s", got, got.Failure, chusme.FailInvalidPackage, adv.Fingerprint)
	}
}

// Packages that verify but don't open: the drivers complain, and the
// server, which holds packages whose signatures verify, answers
// package_valid and changes nothing. So do complaints about a good
// package, over HTTP and the WebSocket; a non-participant's complaint is
// not found, a badly signed one invalid_signature, a revealed secret its
// accused did not sign invalid_signature, one revealed about a broadcast
// round invalid_request, and none changes anything either.
func TestComplaintAboutGoodPackageChangesNothing(t *testing.T) {
	p := newParty(t, 4)
	ms, outsider := p.members[:3], p.members[3]
	p.members = ms
	adv := ms[2]
	info, errs := dkgWithAdversary(t, p, func(id, recipient string) chusme.DirectPackage {
		payload := []byte("not a sealed share")
		return chusme.DirectPackage{Recipient: recipient, Payload: payload,
			Signature: ed25519.Sign(adv.Key, chusme.CeremonyPackageMessage(id, 2, adv.Fingerprint, recipient, payload))}
	})
	for i, err := range errs {
		if !errors.Is(err, client.ErrTampered) {
			t.Errorf("driver %d: %v, want ErrTampered", i, err)
		}
	}
	before, err := adv.Client.Ceremony(t.Context(), info.ID)
	if err != nil || before.Status != chusme.CeremonyOpen || before.Round != 3 {
		t.Fatalf("after the drivers' complaints: %+v, %v; want open in round 3", before, err)
	}
	url := p.srv.URL + "/v1/ceremonies/" + info.ID + "/complaints"
	complaint := func(m *member, accused string) chusme.ComplaintRequest {
		return chusme.ComplaintRequest{Round: 2, Accused: accused,
			Signature: ed25519.Sign(m.Key, chusme.CeremonyComplaintMessage(info.ID, 2, m.Fingerprint, accused))}
	}
	testkit.Do(t, "POST", url, adv.Access(t), complaint(adv, ms[0].Fingerprint)).Expect(t, 409, chusme.CodePackageValid)
	forged := complaint(adv, ms[0].Fingerprint)
	forged.Signature[0] ^= 1
	testkit.Do(t, "POST", url, adv.Access(t), forged).Expect(t, 401, chusme.CodeInvalidSignature)
	testkit.Do(t, "POST", url, outsider.Access(t), complaint(outsider, ms[0].Fingerprint)).Expect(t, 404, chusme.CodeNotFound)
	testkit.Do(t, "POST", url, adv.Access(t), complaint(adv, adv.Fingerprint)).Expect(t, 400, chusme.CodeInvalidRequest)
	testkit.Do(t, "POST", url, adv.Access(t), chusme.ComplaintRequest{Round: 1, Accused: ms[0].Fingerprint,
		Signature: ed25519.Sign(adv.Key, chusme.CeremonyComplaintMessage(info.ID, 1, adv.Fingerprint, ms[0].Fingerprint))}).
		Expect(t, 409, chusme.CodePackageValid)
	revealed := complaint(adv, ms[0].Fingerprint)
	revealed.Secret = []byte("a share ms[0] never signed")
	revealed.SecretSignature = ed25519.Sign(adv.Key, chusme.CeremonySecretMessage(info.ID, 2, ms[0].Fingerprint, adv.Fingerprint, revealed.Secret))
	testkit.Do(t, "POST", url, adv.Access(t), revealed).Expect(t, 401, chusme.CodeInvalidSignature)
	revealed1 := chusme.ComplaintRequest{Round: 1, Accused: ms[0].Fingerprint, Secret: revealed.Secret, SecretSignature: revealed.SecretSignature,
		Signature: ed25519.Sign(adv.Key, chusme.CeremonyComplaintMessage(info.ID, 1, adv.Fingerprint, ms[0].Fingerprint))}
	testkit.Do(t, "POST", url, adv.Access(t), revealed1).Expect(t, 400, chusme.CodeInvalidRequest)
	testkit.Do(t, "POST", url, adv.Access(t), chusme.ComplaintRequest{Round: 3, Accused: ms[0].Fingerprint,
		Signature: ed25519.Sign(adv.Key, chusme.CeremonyComplaintMessage(info.ID, 3, adv.Fingerprint, ms[0].Fingerprint))}).
		Expect(t, 400, chusme.CodeInvalidRequest)

	p.connectAPI([]*member{adv})
	if _, err := adv.Client.Complain(t.Context(), info.ID, adv.Key, 2, ms[1].Fingerprint); chusme.ErrorCode(err) != chusme.CodePackageValid {
		t.Fatalf("complaint over the WebSocket: %v, want %s", err, chusme.CodePackageValid)
	}
	after, err := adv.Client.Ceremony(t.Context(), info.ID)
	if err != nil || after.Version != before.Version || after.Status != chusme.CeremonyOpen {
		t.Fatalf("after the refused complaints: %+v, %v; want version %d, open", after, err, before.Version)
	}
}
