package ceremony_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/frost"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/testkit"
)

// refuse is an approver that says no.
func refuse(context.Context, client.SignRequest) (bool, error) { return false, nil }

// declineURL is the decline route of ceremony id.
func declineURL(p *party, id string) string { return p.srv.URL + "/v1/ceremonies/" + id + "/decline" }

// ceremonyError returns the final state of a driver's ceremony error.
func ceremonyError(t *testing.T, err error) chusme.CeremonyInfo {
	t.Helper()
	var ce *client.CeremonyError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v, want a *client.CeremonyError", err)
	}
	return ce.Info
}

// A participant that declines a DKG makes it fail at once, reason
// declined naming it, with its signed decline in the ceremony: the others'
// drivers end instead of waiting out the 5-minute round.
func TestDeclinedDKGFailsAtOnce(t *testing.T) {
	p := newParty(t, 3)
	ms := p.members
	info, err := ms[0].Client.StartDKG(t.Context(), ms[0].Key, 2, servertest.Fingerprints(ms))
	if err != nil {
		t.Fatal(err)
	}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() { _, errs[i] = ms[i].Client.RunDKG(t.Context(), info.ID, ms[i].Key, nil) })
	}
	declined, err := ms[2].Client.DeclineCeremony(t.Context(), info.ID, ms[2].Key)
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if declined.Status != chusme.CeremonyFailed || declined.Failure.Reason != chusme.FailDeclined ||
		!slices.Equal(declined.Failure.Culprits, []string{ms[2].Fingerprint}) || len(declined.Declines) != 1 {
		t.Fatalf("after the decline: %+v", declined)
	}
	d := declined.Declines[0]
	if d.Fingerprint != ms[2].Fingerprint || d.Round != 1 ||
		!ed25519.Verify(ms[2].Key.Public().(ed25519.PublicKey), chusme.CeremonyDeclineMessage(p.srv.URL, info.ID, d.Fingerprint), d.Signature) {
		t.Fatalf("the decline %+v is not ms[2]'s signed statement", d)
	}
	for i, err := range errs {
		if got := ceremonyError(t, err); got.Failure.Reason != chusme.FailDeclined {
			t.Fatalf("member %d ended with %+v", i, got.Failure)
		}
	}
	// The same decline again is answered like the first; one that does not
	// verify, by a non-participant, or to a closed ceremony changes nothing.
	again, err := ms[2].Client.DeclineCeremony(t.Context(), info.ID, ms[2].Key)
	if err != nil || again.Version != declined.Version {
		t.Fatalf("the decline again: %v, version %d, want %d", err, again.Version, declined.Version)
	}
	testkit.Do(t, "POST", declineURL(p, info.ID), ms[1].Access(t), chusme.DeclineRequest{Signature: d.Signature}).Expect(t, 401, chusme.CodeInvalidSignature)
	testkit.Do(t, "POST", declineURL(p, info.ID), ms[1].Access(t), chusme.DeclineRequest{
		Signature: ed25519.Sign(ms[1].Key, chusme.CeremonyDeclineMessage(p.srv.URL, info.ID, ms[1].Fingerprint))}).Expect(t, 409, chusme.CodeCeremonyClosed)
	outsider := servertest.NewMember(t, p.srv.URL, nil)
	outsider.Register(t, "")
	testkit.Do(t, "POST", declineURL(p, info.ID), outsider.Access(t), chusme.DeclineRequest{
		Signature: ed25519.Sign(outsider.Key, chusme.CeremonyDeclineMessage(p.srv.URL, info.ID, outsider.Fingerprint))}).Expect(t, 404, chusme.CodeNotFound)
	if now := waitStatus(t, ms[0], info.ID); now.Version != declined.Version {
		t.Fatalf("refused declines changed the ceremony: %+v", now)
	}
}

// A bad decline signature over an open ceremony is refused and changes
// nothing: the server can't be made to record a decline nobody signed.
func TestForgedDeclineRefused(t *testing.T) {
	p := newParty(t, 2)
	ms := p.members
	info, err := ms[0].Client.StartDKG(t.Context(), ms[0].Key, 2, servertest.Fingerprints(ms))
	if err != nil {
		t.Fatal(err)
	}
	other := ed25519.Sign(ms[0].Key, chusme.CeremonyDeclineMessage(p.srv.URL, info.ID, ms[1].Fingerprint))
	testkit.Do(t, "POST", declineURL(p, info.ID), ms[1].Access(t), chusme.DeclineRequest{Signature: other}).Expect(t, 401, chusme.CodeInvalidSignature)
	testkit.Do(t, "POST", declineURL(p, info.ID), ms[1].Access(t), []byte(`{"signature":"AA","extra":1}`)).Expect(t, 400, chusme.CodeInvalidJSON)
	now, err := ms[0].Client.Ceremony(t.Context(), info.ID)
	if err != nil || now.Version != info.Version || now.Status != chusme.CeremonyOpen || len(now.Declines) != 0 {
		t.Fatalf("after refused declines: %v %+v", err, now)
	}
}

// 3-of-5 signing with five candidates of whom two are offline: the first
// three to commit make the signing package and sign. The signature
// verifies; Signers names the three; an offline candidate that comes back
// later is told it is not needed, over the driver and the raw API.
func TestSignAnyThreeOfFive(t *testing.T) {
	p := newParty(t, 5)
	ms := p.members
	res := servertest.DKG(p.t, ms, 3)
	msg := []byte("any three of five")
	info, err := ms[0].Client.StartSign(t.Context(), ms[0].Key, res[0].KeyID, msg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Participants) != 5 || info.Needed != 3 || len(info.Missing) != 5 || info.AllSigners {
		t.Fatalf("a fresh any-3-of-5 signing: %+v", info)
	}
	online := []int{0, 2, 4}
	sigs := make([][]byte, len(online))
	errs := make([]error, len(online))
	var wg sync.WaitGroup
	for j, i := range online {
		wg.Go(func() {
			sigs[j], errs[j] = ms[i].Client.RunSign(t.Context(), info.ID, ms[i].Key, res[i].KeyID, res[i].KeyPackage, servertest.ApproveAll, nil)
		})
	}
	wg.Wait()
	for j, err := range errs {
		if err != nil {
			t.Fatalf("signer %d: %v", online[j], err)
		}
		if !ed25519.Verify(res[0].PublicKeyPackage.VerifyingKey().Ed25519(), msg, sigs[j]) {
			t.Fatalf("signer %d: the signature does not verify", online[j])
		}
	}
	done := waitStatus(t, ms[1], info.ID)
	want := slices.Sorted(slices.Values([]string{ms[0].Fingerprint, ms[2].Fingerprint, ms[4].Fingerprint}))
	if done.Status != chusme.CeremonyCompleted || !slices.Equal(done.Signers, want) || done.Needed != 0 || len(done.Missing) != 0 {
		t.Fatalf("completed: %+v, want signers %v", done, want)
	}
	if _, err := ms[1].Client.RunSign(t.Context(), info.ID, ms[1].Key, res[1].KeyID, res[1].KeyPackage, servertest.ApproveAll, nil); err == nil {
		t.Fatal("a signer joining a completed signing signed")
	}
	// A late commitment to round 1 is not taken, and nothing of it is
	// recorded: the same commitment can still be used elsewhere.
	nonces, com, err := frost.Commit(nil, res[3].KeyPackage)
	if err != nil {
		t.Fatal(err)
	}
	defer nonces.Zero()
	comBytes, _ := com.MarshalBinary()
	testkit.Do(t, "POST", roundURL(p, info.ID, 1), ms[3].Access(t), signed(ms[3], info.ID, 1, comBytes)).Expect(t, 409, chusme.CodeNotNeeded)
}

// commitByHand commits for member i of a signing ceremony's round and
// returns the nonces (the caller zeroes them).
func commitByHand(t *testing.T, m *member, kp *frost.KeyPackage, id string, round int) *frost.SigningNonces {
	t.Helper()
	nonces, com, err := frost.Commit(nil, kp)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := com.MarshalBinary()
	if _, err := m.Client.Submit(t.Context(), id, round, signed(m, id, round, b)); err != nil {
		t.Fatal(err)
	}
	return nonces
}

// A candidate that arrives after the signing package was made without it
// stands by, and ends with ErrNotNeeded once the chosen signers have
// signed.
func TestLateSignerStandsBy(t *testing.T) {
	p := newParty(t, 3)
	ms := p.members
	res := servertest.DKG(p.t, ms, 2)
	info, err := ms[0].Client.StartSign(t.Context(), ms[0].Key, res[0].KeyID, []byte("late"), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Two commit by hand; the ceremony moves to round 2 and waits for
	// their shares.
	nonces := []*frost.SigningNonces{commitByHand(t, ms[0], res[0].KeyPackage, info.ID, 1), commitByHand(t, ms[1], res[1].KeyPackage, info.ID, 1)}
	now, err := ms[2].Client.Ceremony(t.Context(), info.ID)
	if err != nil || now.Round != 2 || len(now.Signers) != 2 || slices.Contains(now.Signers, ms[2].Fingerprint) || now.Needed != 2 {
		t.Fatalf("after two commitments: %v %+v", err, now)
	}
	if !slices.Equal(now.Missing, now.Signers) {
		t.Fatalf("round 2 misses %v, want the signers %v", now.Missing, now.Signers)
	}
	approved := make(chan struct{})
	late := make(chan error, 1)
	go func() {
		_, err := ms[2].Client.RunSign(t.Context(), info.ID, ms[2].Key, res[2].KeyID, res[2].KeyPackage,
			func(context.Context, client.SignRequest) (bool, error) { close(approved); return true, nil }, nil)
		late <- err
	}()
	<-approved
	var pkg frost.SigningPackage
	if err := pkg.UnmarshalBinary(now.SigningPackage); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		z, err := frost.Sign(&pkg, nonces[i], res[i].KeyPackage)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := z.MarshalBinary()
		if _, err := ms[i].Client.Submit(t.Context(), info.ID, 2, signed(ms[i], info.ID, 2, b)); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-late; !errors.Is(err, client.ErrNotNeeded) {
		t.Fatalf("the late signer: %v, want ErrNotNeeded", err)
	}
	if done := waitStatus(t, ms[2], info.ID); done.Status != chusme.CeremonyCompleted {
		t.Fatalf("the ceremony: %+v", done)
	}
}

// dkgWithTimeout runs a DKG among ms whose rounds may take secs seconds.
func dkgWithTimeout(t *testing.T, ms []*member, threshold int, secs int64) []*client.DKGResult {
	t.Helper()
	info, err := ms[0].Client.CreateCeremony(t.Context(), ms[0].Key, chusme.CreateCeremonyRequest{Kind: chusme.KindDKG, Threshold: threshold,
		Participants: servertest.Fingerprints(ms), RoundTimeout: secs})
	if err != nil {
		t.Fatal(err)
	}
	res := make([]*client.DKGResult, len(ms))
	errs := make([]error, len(ms))
	var wg sync.WaitGroup
	for i, m := range ms {
		wg.Go(func() { res[i], errs[i] = m.Client.RunDKG(t.Context(), info.ID, m.Key, nil) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("member %d: %v", i, err)
		}
	}
	return res
}

// One chosen signer goes silent after committing (a closed laptop): at the
// share round's deadline the ceremony starts over without it (ROAST), the
// signer that shared and the candidate that stood by commit afresh, and
// the second attempt signs. The silent signer is named in excluded.
func TestSilentSignerStartsOver(t *testing.T) {
	p := newParty(t, 3, "--ceremony-round-timeout", "3s")
	ms := p.members
	res := dkgWithTimeout(t, ms, 2, 60)
	msg := []byte("signed despite a closed laptop")
	info, err := ms[0].Client.StartSign(t.Context(), ms[0].Key, res[0].KeyID, msg, nil)
	if err != nil {
		t.Fatal(err)
	}
	commitByHand(t, ms[1], res[1].KeyPackage, info.ID, 1).Zero() // and then nothing
	sigs := make([][]byte, 3)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	wg.Go(func() {
		sigs[0], errs[0] = ms[0].Client.RunSign(t.Context(), info.ID, ms[0].Key, res[0].KeyID, res[0].KeyPackage, servertest.ApproveAll, nil)
	})
	// The third joins once the package is made without it, and stands by.
	now := info
	for now.Round < 2 {
		if now, err = ms[2].Client.WaitCeremony(t.Context(), info.ID, now.Version); err != nil {
			t.Fatal(err)
		}
	}
	wg.Go(func() {
		sigs[2], errs[2] = ms[2].Client.RunSign(t.Context(), info.ID, ms[2].Key, res[2].KeyID, res[2].KeyPackage, servertest.ApproveAll, nil)
	})
	wg.Wait()
	for _, i := range []int{0, 2} {
		if errs[i] != nil || !ed25519.Verify(res[0].PublicKeyPackage.VerifyingKey().Ed25519(), msg, sigs[i]) {
			t.Fatalf("signer %d: %v", i, errs[i])
		}
	}
	done := waitStatus(t, ms[1], info.ID)
	want := slices.Sorted(slices.Values([]string{ms[0].Fingerprint, ms[2].Fingerprint}))
	if done.Status != chusme.CeremonyCompleted || done.Round != 4 || done.Rounds != 4 || !slices.Equal(done.Signers, want) ||
		!slices.Equal(done.Excluded, []string{ms[1].Fingerprint}) {
		t.Fatalf("completed: %+v, want round 4 signed by %v without %s", done, want, ms[1].Fingerprint)
	}
	// The first attempt's rounds are kept: ms[1]'s commitment is in round 1.
	in, err := ms[0].Client.Inbox(t.Context(), info.ID, 1)
	if err != nil || !slices.ContainsFunc(in.Packages, func(c chusme.CeremonyPackage) bool { return c.Sender == ms[1].Fingerprint }) {
		t.Fatalf("round 1's inbox: %v %+v", err, in)
	}
}

// A signer that declines (its approver says no) is dropped: with every
// signer asked for (all_signers), the two left sign at once; Signers leaves
// out the decliner, whose signed decline the others checked.
func TestSignDeclineDropsSigner(t *testing.T) {
	p := newParty(t, 3)
	ms := p.members
	res := servertest.DKG(p.t, ms, 2)
	msg := []byte("all of us, unless one declines")
	info, err := ms[0].Client.CreateCeremony(t.Context(), ms[0].Key, chusme.CreateCeremonyRequest{Kind: chusme.KindSign, KeyID: res[0].KeyID,
		Message: msg, AllSigners: true})
	if err != nil {
		t.Fatal(err)
	}
	if !info.AllSigners || info.Needed != 3 || info.Request == nil || !info.Request.AllSigners {
		t.Fatalf("an all-signers ceremony: %+v", info)
	}
	sigs := make([][]byte, 3)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range 3 {
		approve := servertest.ApproveAll
		if i == 1 {
			approve = refuse
		}
		wg.Go(func() {
			sigs[i], errs[i] = ms[i].Client.RunSign(t.Context(), info.ID, ms[i].Key, res[i].KeyID, res[i].KeyPackage, approve, nil)
		})
	}
	wg.Wait()
	if !errors.Is(errs[1], client.ErrNotApproved) {
		t.Fatalf("the refusing signer: %v", errs[1])
	}
	for _, i := range []int{0, 2} {
		if errs[i] != nil || !ed25519.Verify(res[0].PublicKeyPackage.VerifyingKey().Ed25519(), msg, sigs[i]) {
			t.Fatalf("signer %d: %v", i, errs[i])
		}
	}
	done := waitStatus(t, ms[0], info.ID)
	if done.Status != chusme.CeremonyCompleted || slices.Contains(done.Signers, ms[1].Fingerprint) || len(done.Signers) != 2 ||
		len(done.Declines) != 1 || done.Declines[0].Fingerprint != ms[1].Fingerprint {
		t.Fatalf("completed: %+v", done)
	}
}

// When declines leave fewer candidates than the threshold, the signing
// fails at once naming every decliner.
func TestSignDeclinesBelowThreshold(t *testing.T) {
	p := newParty(t, 3)
	ms := p.members
	res := servertest.DKG(p.t, ms, 2)
	info, err := ms[0].Client.StartSign(t.Context(), ms[0].Key, res[0].KeyID, []byte("nobody wants this"), nil)
	if err != nil {
		t.Fatal(err)
	}
	first, err := ms[1].Client.DeclineCeremony(t.Context(), info.ID, ms[1].Key)
	if err != nil || first.Status != chusme.CeremonyOpen || first.Needed != 2 || slices.Contains(first.Missing, ms[1].Fingerprint) {
		t.Fatalf("after one decline of three: %v %+v", err, first)
	}
	// A decliner can't submit afterwards.
	nonces, com, err := frost.Commit(nil, res[1].KeyPackage)
	if err != nil {
		t.Fatal(err)
	}
	nonces.Zero()
	b, _ := com.MarshalBinary()
	testkit.Do(t, "POST", roundURL(p, info.ID, 1), ms[1].Access(t), signed(ms[1], info.ID, 1, b)).Expect(t, 409, chusme.CodeDeclined)
	_, err = ms[2].Client.RunSign(t.Context(), info.ID, ms[2].Key, res[2].KeyID, res[2].KeyPackage, refuse, nil)
	if !errors.Is(err, client.ErrNotApproved) {
		t.Fatalf("the second decliner: %v", err)
	}
	done := waitStatus(t, ms[0], info.ID)
	want := slices.Sorted(slices.Values([]string{ms[1].Fingerprint, ms[2].Fingerprint}))
	if done.Status != chusme.CeremonyFailed || done.Failure.Reason != chusme.FailDeclined || !slices.Equal(done.Failure.Culprits, want) {
		t.Fatalf("after two declines of three at t = 2: %+v", done)
	}
}

// The creator sets the round timeout within the server's bounds; each
// round's deadline is that long after the round started, and the request
// carries the timeout it signed.
func TestRoundTimeoutPerCeremony(t *testing.T) {
	p := newParty(t, 2, "--ceremony-round-timeout-max", "1h")
	ms := p.members
	fps := servertest.Fingerprints(ms)
	create := func(secs int64) (chusme.CeremonyInfo, error) {
		return ms[0].Client.CreateCeremony(t.Context(), ms[0].Key, chusme.CreateCeremonyRequest{Kind: chusme.KindDKG, Threshold: 2,
			Participants: fps, RoundTimeout: secs})
	}
	for _, secs := range []int64{3601, -1} {
		if _, err := create(secs); chusme.ErrorCode(err) != chusme.CodeInvalidRequest {
			t.Fatalf("round timeout %d s: %v, want invalid_request", secs, err)
		}
	}
	info, err := create(1800)
	if err != nil {
		t.Fatal(err)
	}
	if info.RoundTimeout != 1800 || info.Request.RoundTimeout != 1800 || info.Deadline.Sub(info.CreatedAt) != 30*time.Minute {
		t.Fatalf("a 30-minute ceremony: timeout %d, request %d, deadline %s after creation",
			info.RoundTimeout, info.Request.RoundTimeout, info.Deadline.Sub(info.CreatedAt))
	}
	// The default when the request names none; and the next round gets
	// the ceremony's own timeout again.
	def, err := create(0)
	if err != nil || def.RoundTimeout != 300 || def.Request.RoundTimeout != 0 {
		t.Fatalf("the default: %v %+v", err, def)
	}
	for _, m := range ms {
		if _, err := m.Client.Submit(t.Context(), info.ID, 1, round1(t, m, info.ID, 2, 2, m.Fingerprint)); err != nil {
			t.Fatal(err)
		}
	}
	r2, err := ms[1].Client.Ceremony(t.Context(), info.ID)
	if err != nil || r2.Round != 2 || r2.Deadline.Sub(r2.UpdatedAt) != 30*time.Minute {
		t.Fatalf("round 2: %v, deadline %s after it began", err, r2.Deadline.Sub(r2.UpdatedAt))
	}
	// A DKG can't ask for every signer.
	_, err = ms[0].Client.CreateCeremony(t.Context(), ms[0].Key, chusme.CreateCeremonyRequest{Kind: chusme.KindDKG, Threshold: 2,
		Participants: fps, AllSigners: true})
	if chusme.ErrorCode(err) != chusme.CodeInvalidRequest {
		t.Fatalf("a dkg with all_signers: %v", err)
	}
}

// A signer of the signing package that declines in the share round makes
// the ceremony start over without it, and the others sign in the next
// attempt.
func TestShareRoundDeclineStartsOver(t *testing.T) {
	p := newParty(t, 3)
	ms := p.members
	res := servertest.DKG(p.t, ms, 2)
	msg := []byte("declined after committing")
	info, err := ms[0].Client.StartSign(t.Context(), ms[0].Key, res[0].KeyID, msg, nil)
	if err != nil {
		t.Fatal(err)
	}
	commitByHand(t, ms[0], res[0].KeyPackage, info.ID, 1).Zero()
	commitByHand(t, ms[1], res[1].KeyPackage, info.ID, 1).Zero()
	over, err := ms[1].Client.DeclineCeremony(t.Context(), info.ID, ms[1].Key)
	if err != nil || over.Status != chusme.CeremonyOpen || over.Round != 3 || len(over.Signers) != 0 || len(over.Declines) != 1 ||
		slices.Contains(over.Missing, ms[1].Fingerprint) {
		t.Fatalf("after a share-round decline: %v %+v", err, over)
	}
	sigs := make([][]byte, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for j, i := range []int{0, 2} {
		wg.Go(func() {
			sigs[j], errs[j] = ms[i].Client.RunSign(t.Context(), info.ID, ms[i].Key, res[i].KeyID, res[i].KeyPackage, servertest.ApproveAll, nil)
		})
	}
	wg.Wait()
	for j, err := range errs {
		if err != nil || !ed25519.Verify(res[0].PublicKeyPackage.VerifyingKey().Ed25519(), msg, sigs[j]) {
			t.Fatalf("signer %d: %v", j, err)
		}
	}
	if done := waitStatus(t, ms[0], info.ID); done.Status != chusme.CeremonyCompleted || done.Round != 4 {
		t.Fatalf("the second attempt: %+v", done)
	}
}
