package ceremony_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/frost"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/testkit"
)

// round1 builds a DKG round-1 submission for m whose proof of knowledge is
// made for the identifier of proofFP (m's own for an honest package).
func round1(t *testing.T, m *member, ceremonyID string, n, threshold int, proofFP string) chusme.SubmitRequest {
	t.Helper()
	ident, err := frost.DeriveIdentifier([]byte(proofFP))
	if err != nil {
		t.Fatal(err)
	}
	secret, pkg, err := frost.DKGPart1(nil, ident, n, threshold)
	if err != nil {
		t.Fatal(err)
	}
	secret.Zero()
	b, _ := pkg.MarshalBinary()
	payload := chusme.DKGRound1Payload(bytes.Repeat([]byte{9}, 32), b)
	return signed(m, ceremonyID, 1, payload)
}

func signed(m *member, ceremonyID string, round int, payload []byte) chusme.SubmitRequest {
	return chusme.SubmitRequest{Payload: payload, Signature: ed25519.Sign(m.Key, chusme.CeremonyPackageMessage(ceremonyID, round, m.Fingerprint, "", payload))}
}

func roundURL(p *party, id string, round int) string {
	return p.srv.URL + "/v1/ceremonies/" + id + "/rounds/" + strconv.Itoa(round)
}

func TestBadProofOfKnowledgeFailsNamingSender(t *testing.T) {
	p := newParty(t, 3)
	ms := p.members
	info, err := ms[0].Client.StartDKG(t.Context(), ms[0].Key, 2, servertest.Fingerprints(ms))
	if err != nil {
		t.Fatal(err)
	}
	// ms[1] signs its package properly, but the proof is for another identifier.
	req := round1(t, ms[1], info.ID, 3, 2, ms[2].Fingerprint)
	testkit.Do(t, "POST", roundURL(p, info.ID, 1), ms[1].Access(t), req).Expect(t, 400, chusme.CodeInvalidPackage)
	got := waitStatus(t, ms[0], info.ID)
	if got.Status != chusme.CeremonyFailed || got.Failure.Reason != chusme.FailProofOfKnowledge || !slices.Equal(got.Failure.Culprits, []string{ms[1].Fingerprint}) {
		t.Fatalf("ceremony %+v, failure %+v; want failed naming %s", got, got.Failure, ms[1].Fingerprint)
	}
}

func TestIdempotentSubmissionAndConflict(t *testing.T) {
	p := newParty(t, 3)
	ms := p.members
	info, err := ms[0].Client.StartDKG(t.Context(), ms[0].Key, 2, servertest.Fingerprints(ms))
	if err != nil {
		t.Fatal(err)
	}
	req := round1(t, ms[0], info.ID, 3, 2, ms[0].Fingerprint)
	r1 := testkit.Do(t, "POST", roundURL(p, info.ID, 1), ms[0].Access(t), req)
	r2 := testkit.Do(t, "POST", roundURL(p, info.ID, 1), ms[0].Access(t), req)
	if r1.Status != 200 || r2.Status != 200 || !bytes.Equal(r1.Body, r2.Body) {
		t.Fatalf("same body twice: %d %s / %d %s", r1.Status, r1.Body, r2.Status, r2.Body)
	}
	other := round1(t, ms[0], info.ID, 3, 2, ms[0].Fingerprint)
	testkit.Do(t, "POST", roundURL(p, info.ID, 1), ms[0].Access(t), other).Expect(t, 409, chusme.CodeConflict)
	// A bad package signature is refused and changes nothing.
	bad := round1(t, ms[1], info.ID, 3, 2, ms[1].Fingerprint)
	bad.Signature[0] ^= 1
	testkit.Do(t, "POST", roundURL(p, info.ID, 1), ms[1].Access(t), bad).Expect(t, 400, chusme.CodeInvalidPackage)
	// A submission for a later round is refused.
	testkit.Do(t, "POST", roundURL(p, info.ID, 3), ms[1].Access(t), round1(t, ms[1], info.ID, 3, 2, ms[1].Fingerprint)).Expect(t, 409, chusme.CodeWrongRound)
	now, err := ms[0].Client.Ceremony(t.Context(), info.ID)
	if err != nil || !slices.Equal(now.Submitted, []string{ms[0].Fingerprint}) || now.Status != chusme.CeremonyOpen {
		t.Fatalf("after refusals: %+v, %v", now, err)
	}
}

func TestNonParticipantSeesNothing(t *testing.T) {
	p := newParty(t, 4)
	ms := p.members
	info, err := ms[0].Client.StartDKG(t.Context(), ms[0].Key, 2, servertest.Fingerprints(ms[:3]))
	if err != nil {
		t.Fatal(err)
	}
	outsider := ms[3]
	unknown := strings.Repeat("ab", 16)
	for _, id := range []string{info.ID, unknown} {
		testkit.Do(t, "GET", p.srv.URL+"/v1/ceremonies/"+id, outsider.Access(t), nil).Expect(t, 404, chusme.CodeNotFound)
		testkit.Do(t, "GET", p.srv.URL+"/v1/ceremonies/"+id+"?after=0", outsider.Access(t), nil).Expect(t, 404, chusme.CodeNotFound)
		testkit.Do(t, "GET", roundURL(p, id, 1)+"/inbox", outsider.Access(t), nil).Expect(t, 404, chusme.CodeNotFound)
		testkit.Do(t, "POST", roundURL(p, id, 1), outsider.Access(t), round1(t, outsider, id, 3, 2, outsider.Fingerprint)).Expect(t, 404, chusme.CodeNotFound)
		testkit.Do(t, "POST", p.srv.URL+"/v1/ceremonies/"+id+"/cancel", outsider.Access(t), nil).Expect(t, 404, chusme.CodeNotFound)
	}
	list, err := outsider.Client.Ceremonies(t.Context(), "")
	if err != nil || len(list) != 0 {
		t.Fatalf("outsider lists %v, %v", list, err)
	}
	// Without a token nothing at all.
	testkit.Do(t, "GET", p.srv.URL+"/v1/ceremonies/"+info.ID, "", nil).Expect(t, 401, chusme.CodeUnauthorized)
	// A participant who is not the creator may not cancel; the creator may.
	testkit.Do(t, "POST", p.srv.URL+"/v1/ceremonies/"+info.ID+"/cancel", ms[1].Access(t), nil).Expect(t, 403, chusme.CodeForbidden)
	got, err := ms[0].Client.CancelCeremony(t.Context(), info.ID)
	if err != nil || got.Status != chusme.CeremonyCancelled {
		t.Fatalf("cancel: %+v, %v", got, err)
	}
}

func TestDeadlineFailsNamingNonSubmitters(t *testing.T) {
	p := newParty(t, 3, "--ceremony-round-timeout", "1s")
	ms := p.members
	info, errs, wg := twoDrivers(t, p)
	got := waitStatus(t, ms[0], info.ID)
	wg.Wait()
	if got.Status != chusme.CeremonyFailed || got.Failure.Reason != chusme.FailDeadline || !slices.Equal(got.Failure.Culprits, []string{ms[2].Fingerprint}) {
		t.Fatalf("ceremony %+v, failure %+v; want failed at the deadline naming %s", got, got.Failure, ms[2].Fingerprint)
	}
	for _, err := range errs {
		var ce *client.CeremonyError
		if !errors.As(err, &ce) || ce.Info.Failure.Reason != chusme.FailDeadline {
			t.Fatalf("driver: %v, want a CeremonyError at the deadline", err)
		}
	}
}

func TestBadSignatureShareFailsNamingSigner(t *testing.T) {
	p := newParty(t, 3)
	ms := p.members
	res := servertest.DKG(p.t, ms, 2)
	ctx := t.Context()
	msg := []byte("pay 10")
	info, err := ms[0].Client.StartSign(ctx, ms[0].Key, res[0].KeyID, msg, servertest.Fingerprints(ms[:2]))
	if err != nil {
		t.Fatal(err)
	}
	honest := make(chan error, 1)
	go func() {
		_, err := ms[0].Client.RunSign(ctx, info.ID, ms[0].Key, res[0].KeyID, res[0].KeyPackage, servertest.ApproveAll, nil)
		honest <- err
	}()
	// ms[1] commits honestly, then sends a share that is off by one.
	nonces, com, err := frost.Commit(nil, res[1].KeyPackage)
	if err != nil {
		t.Fatal(err)
	}
	cb, _ := com.MarshalBinary()
	if _, err := ms[1].Client.Submit(ctx, info.ID, 1, signed(ms[1], info.ID, 1, cb)); err != nil {
		t.Fatal(err)
	}
	cur, err := ms[1].Client.Ceremony(ctx, info.ID)
	for err == nil && cur.Round < 2 {
		cur, err = ms[1].Client.WaitCeremony(ctx, info.ID, cur.Version)
	}
	if err != nil {
		t.Fatal(err)
	}
	var pkg frost.SigningPackage
	if err := pkg.UnmarshalBinary(cur.SigningPackage); err != nil {
		t.Fatal(err)
	}
	share, err := frost.Sign(&pkg, nonces, res[1].KeyPackage)
	if err != nil {
		t.Fatal(err)
	}
	sb, _ := share.MarshalBinary()
	sb[2] ^= 1 // the low byte of the scalar: still canonical, now wrong
	if _, err := ms[1].Client.Submit(ctx, info.ID, 2, signed(ms[1], info.ID, 2, sb)); err != nil {
		t.Fatal(err)
	}
	got := waitStatus(t, ms[0], info.ID)
	if got.Status != chusme.CeremonyFailed || got.Failure.Reason != chusme.FailSignatureShare || !slices.Equal(got.Failure.Culprits, []string{ms[1].Fingerprint}) {
		t.Fatalf("ceremony %+v, failure %+v; want failed naming %s", got, got.Failure, ms[1].Fingerprint)
	}
	var ce *client.CeremonyError
	if err := <-honest; !errors.As(err, &ce) {
		t.Fatalf("honest signer: %v", err)
	}
}

func TestReusedCommitmentRefused(t *testing.T) {
	p := newParty(t, 3)
	ms := p.members
	res := servertest.DKG(p.t, ms, 2)
	ctx := t.Context()
	_, com, err := frost.Commit(nil, res[0].KeyPackage)
	if err != nil {
		t.Fatal(err)
	}
	cb, _ := com.MarshalBinary()
	var ids []string
	for range 2 {
		info, err := ms[0].Client.StartSign(ctx, ms[0].Key, res[0].KeyID, []byte("m"), servertest.Fingerprints(ms[:2]))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, info.ID)
	}
	if _, err := ms[0].Client.Submit(ctx, ids[0], 1, signed(ms[0], ids[0], 1, cb)); err != nil {
		t.Fatal(err)
	}
	testkit.Do(t, "POST", roundURL(p, ids[1], 1), ms[0].Access(t), signed(ms[0], ids[1], 1, cb)).Expect(t, 409, chusme.CodeCommitmentReused)
	if got, _ := ms[0].Client.Ceremony(ctx, ids[1]); len(got.Submitted) != 0 {
		t.Fatalf("refused commitment recorded: %+v", got)
	}
}

// A proxy between one participant and the server alters a relayed round-1
// package from another participant: that participant aborts with
// ErrTampered instead of using it.
func TestTamperingProxyCaught(t *testing.T) {
	p := newParty(t, 3)
	ms := p.members
	target, _ := url.Parse(p.srv.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = func(r *http.Response) error {
		if !strings.HasSuffix(r.Request.URL.Path, "/rounds/1/inbox") || r.StatusCode != 200 {
			return nil
		}
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return err
		}
		pb := servertest.IsProtobuf(r.Header)
		if pb {
			if b, err = servertest.AnswerToJSON(r.Request.URL.Path, b); err != nil {
				return err
			}
		}
		var in chusme.Inbox
		if err := json.Unmarshal(b, &in); err != nil {
			return err
		}
		for i := range in.Packages {
			if in.Packages[i].Sender == ms[1].Fingerprint {
				in.Packages[i].Payload[len(in.Packages[i].Payload)-1] ^= 1
			}
		}
		b, _ = json.Marshal(in)
		if pb {
			if b, err = servertest.AnswerFromJSON(r.Request.URL.Path, b); err != nil {
				return err
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.ContentLength = int64(len(b))
		r.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
	proxy := httptest.NewServer(rp)
	defer proxy.Close()
	victim := servertest.NewMember(t, proxy.URL, ms[0].Key, client.WithIssuer(p.srv.URL))
	victim.Login(t)

	info, err := ms[0].Client.StartDKG(t.Context(), ms[0].Key, 2, servertest.Fingerprints(ms))
	if err != nil {
		t.Fatal(err)
	}
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i, m := range []*member{victim, ms[1], ms[2]} {
		wg.Go(func() {
			_, errs[i] = m.Client.RunDKG(t.Context(), info.ID, m.Key, nil)
			t.Logf("participant %d: %v", i, errs[i])
		})
	}
	// The victim stops after round 1; once the others are waiting for its
	// round-2 packages, cancel so that they return.
	cur, err := ms[0].Client.Ceremony(t.Context(), info.ID)
	for err == nil && (cur.Round < 2 || len(cur.Submitted) < 2) {
		cur, err = ms[0].Client.WaitCeremony(t.Context(), info.ID, cur.Version)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ms[0].Client.CancelCeremony(t.Context(), info.ID); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if !errors.Is(errs[0], client.ErrTampered) {
		t.Fatalf("victim: %v, want ErrTampered", errs[0])
	}
	t.Logf("victim's error: %v", errs[0])
	for _, err := range errs[1:] {
		var ce *client.CeremonyError
		if !errors.As(err, &ce) || ce.Info.Status != chusme.CeremonyCancelled {
			t.Fatalf("honest participant: %v", err)
		}
	}
}
