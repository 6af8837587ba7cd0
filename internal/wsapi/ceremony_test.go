package wsapi_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/frost"
	"github.com/chusme/chusme/internal/servertest"
	chusmev1 "github.com/chusme/chusme/proto/chusme/v1"
)

var requestIDs atomic.Uint64

// ask sends a request and returns its answer.
func ask(t *testing.T, ws *websocket.Conn, env *chusmev1.Envelope) *chusmev1.Envelope {
	t.Helper()
	env.RequestId = requestIDs.Add(1)
	send(t, ws, env)
	ans := recv(t, ws)
	if ans.GetRequestId() != env.RequestId {
		t.Fatalf("answer to request %d is for %d", env.RequestId, ans.GetRequestId())
	}
	return ans
}

// wantError asserts an Error answer with code.
func wantError(t *testing.T, what string, ans *chusmev1.Envelope, code string) {
	t.Helper()
	if got := ans.GetError().GetCode(); got != code {
		t.Errorf("%s: answer %v, want an Error with code %s", what, ans, code)
	}
}

func createReq(req chusme.CreateCeremonyRequest) *chusmev1.Envelope {
	return &chusmev1.Envelope{Payload: &chusmev1.Envelope_CreateCeremonyRequest{CreateCeremonyRequest: chusmev1.NewCreateCeremonyRequest(req)}}
}

func submitReq(id string, round int, req chusme.SubmitRequest) *chusmev1.Envelope {
	return &chusmev1.Envelope{Payload: &chusmev1.Envelope_SubmitRequest{SubmitRequest: chusmev1.NewSubmitRequest(id, round, req)}}
}

func inboxReq(id string, round int) *chusmev1.Envelope {
	return &chusmev1.Envelope{Payload: &chusmev1.Envelope_InboxRequest{InboxRequest: &chusmev1.InboxRequest{CeremonyId: id, Round: int32(round)}}}
}

func cancelReq(id string) *chusmev1.Envelope {
	return &chusmev1.Envelope{Payload: &chusmev1.Envelope_CancelCeremonyRequest{CancelCeremonyRequest: &chusmev1.CancelCeremonyRequest{CeremonyId: id}}}
}

func listReq(status string) *chusmev1.Envelope {
	return &chusmev1.Envelope{Payload: &chusmev1.Envelope_ListCeremoniesRequest{ListCeremoniesRequest: &chusmev1.ListCeremoniesRequest{Status: status}}}
}

// dkgRound1 is u's round-1 broadcast in a 2-of-2 DKG: genuine when as is
// u's fingerprint; made for the FROST identifier of as otherwise, so that
// its proof of knowledge fails for u.
func dkgRound1(t *testing.T, u *user, id, as string) chusme.SubmitRequest {
	t.Helper()
	fid, err := frost.DeriveIdentifier([]byte(as))
	if err != nil {
		t.Fatal(err)
	}
	secret, pkg, err := frost.DKGPart1(nil, fid, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	secret.Zero()
	b, err := pkg.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	hpkeKey := make([]byte, chusme.HPKEPublicKeySize)
	rand.Read(hpkeKey)
	payload := chusme.DKGRound1Payload(hpkeKey, b)
	return chusme.SubmitRequest{Payload: payload, Signature: ed25519.Sign(u.Key, chusme.CeremonyPackageMessage(id, 1, u.Fingerprint, "", payload))}
}

// connect opens u's WebSocket.
func connect(t *testing.T, srv *servertest.Server, u *user) *websocket.Conn {
	t.Helper()
	ws := dial(t, wsURL(srv, "ticket="+ticket(t, srv, u.Access(t))))
	serverInfo(t, ws, 1) // registered
	return ws
}

// unchanged asserts that ceremony id reads over HTTP as before.
func unchanged(t *testing.T, what string, u *user, before chusme.CeremonyInfo) {
	t.Helper()
	after, err := u.Client.Ceremony(t.Context(), before.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(after, before) {
		t.Errorf("%s changed the ceremony: version %d → %d, submitted %v → %v", what, before.Version, after.Version, before.Submitted, after.Submitted)
	}
}

// Every ceremony request over the WebSocket answers what the HTTP API
// answers, and every refusal carries the HTTP API's code and changes
// nothing.
func TestCeremonyRequests(t *testing.T) {
	srv, us := world(t, 3)
	ctx := t.Context()
	alice, bob, eve := us[1], us[2], us[3]
	wsA, wsB, wsE := connect(t, srv, alice), connect(t, srv, bob), connect(t, srv, eve)
	pair := []string{alice.Fingerprint, bob.Fingerprint}

	// Create.
	wantError(t, "create of an unknown kind", ask(t, wsA, createReq(chusme.CreateCeremonyRequest{Kind: "vote"})), chusme.CodeInvalidRequest)
	wantError(t, "create with threshold 3 of 2", ask(t, wsA, createReq(chusme.CreateCeremonyRequest{Kind: chusme.KindDKG, Threshold: 3, Participants: pair})), chusme.CodeInvalidRequest)
	dkg := chusme.CreateCeremonyRequest{Kind: chusme.KindDKG, Threshold: 2, Participants: pair}
	signed, err := alice.Client.SignCeremonyRequest(ctx, alice.Key, dkg)
	if err != nil {
		t.Fatal(err)
	}
	eves, err := eve.Client.SignCeremonyRequest(ctx, eve.Key, dkg)
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, "create by a non-participant", ask(t, wsE, createReq(eves)), chusme.CodeForbidden)
	wantError(t, "an unsigned create", ask(t, wsA, createReq(dkg)), chusme.CodeInvalidRequest)
	bobs, err := bob.Client.SignCeremonyRequest(ctx, bob.Key, dkg)
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, "a create signed by another's key", ask(t, wsA, createReq(bobs)), chusme.CodeInvalidSignature)
	altered := signed
	altered.Participants = []string{alice.Fingerprint, eve.Fingerprint}
	wantError(t, "a create whose participants are not the signed ones", ask(t, wsA, createReq(altered)), chusme.CodeInvalidSignature)
	if l, err := alice.Client.Ceremonies(ctx, ""); err != nil || len(l) != 0 {
		t.Fatalf("refused creations left %d ceremonies (%v)", len(l), err)
	}
	ans := ask(t, wsA, createReq(signed))
	wantError(t, "the same signed create again", ask(t, wsA, createReq(signed)), chusme.CodeConflict)
	created := ans.GetCeremonyResponse().GetCeremony().View()
	info, err := alice.Client.Ceremony(ctx, created.ID)
	if err != nil {
		t.Fatalf("the created ceremony over HTTP: %v (answer %v)", err, ans)
	}
	if !reflect.DeepEqual(created, info) {
		t.Errorf("create answered\n%+v\nHTTP reads\n%+v", created, info)
	}

	// Submit: refusals first.
	r1 := dkgRound1(t, alice, info.ID, alice.Fingerprint)
	unknown := strings.Repeat("0", 32)
	wantError(t, "submit to an unknown ceremony", ask(t, wsA, submitReq(unknown, 1, r1)), chusme.CodeNotFound)
	wantError(t, "submit by a non-participant", ask(t, wsE, submitReq(info.ID, 1, dkgRound1(t, eve, info.ID, eve.Fingerprint))), chusme.CodeNotFound)
	wantError(t, "submit to round 3 in round 1", ask(t, wsA, submitReq(info.ID, 3, r1)), chusme.CodeWrongRound)
	wantError(t, "submit to round 9", ask(t, wsA, submitReq(info.ID, 9, r1)), chusme.CodeNotFound)
	forged := chusme.SubmitRequest{Payload: r1.Payload, Signature: ed25519.Sign(bob.Key, chusme.CeremonyPackageMessage(info.ID, 1, alice.Fingerprint, "", r1.Payload))}
	wantError(t, "submit signed by another key", ask(t, wsA, submitReq(info.ID, 1, forged)), chusme.CodeInvalidPackage)
	wantError(t, "submit without a payload", ask(t, wsA, submitReq(info.ID, 1, chusme.SubmitRequest{Signature: r1.Signature})), chusme.CodeInvalidRequest)
	unchanged(t, "the refused submissions", alice, info)

	ans = ask(t, wsA, submitReq(info.ID, 1, r1))
	change := ans.GetCeremonyChange().View()
	if change.Version != info.Version+1 || change.Round != 1 || change.Status != chusme.CeremonyOpen || change.Needed != 1 ||
		!reflect.DeepEqual(change.Submitted, []string{alice.Fingerprint}) || change.Ceremony != nil {
		t.Fatalf("submit answered %v; want the change only: version %d, 1 more needed", ans, info.Version+1)
	}
	if again := ask(t, wsA, submitReq(info.ID, 1, r1)).GetCeremonyChange().View(); !reflect.DeepEqual(again, change) {
		t.Errorf("the same submission again answered %+v, want %+v", again, change)
	}
	other := dkgRound1(t, alice, info.ID, alice.Fingerprint)
	wantError(t, "another submission for the same slot", ask(t, wsA, submitReq(info.ID, 1, other)), chusme.CodeConflict)
	submitted := info
	info, err = alice.Client.Ceremony(ctx, info.ID)
	submitted.Submitted, submitted.Missing, submitted.Needed = []string{alice.Fingerprint}, []string{bob.Fingerprint}, 1
	submitted.Version, submitted.UpdatedAt = change.Version, change.UpdatedAt
	if err != nil || !reflect.DeepEqual(info, submitted) {
		t.Fatalf("after the submission HTTP reads %+v (%v), the answer makes %+v", info, err, submitted)
	}

	// Inbox.
	in := ask(t, wsB, inboxReq(info.ID, 1)).GetCeremonyInbox().View()
	httpIn, err := bob.Client.Inbox(ctx, info.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, httpIn) || len(in.Packages) != 1 || in.Packages[0].Sender != alice.Fingerprint || in.Complete {
		t.Errorf("inbox over the WebSocket\n%+v\nover HTTP\n%+v", in, httpIn)
	}
	wantError(t, "inbox of a non-participant", ask(t, wsE, inboxReq(info.ID, 1)), chusme.CodeNotFound)
	wantError(t, "inbox of round 9", ask(t, wsB, inboxReq(info.ID, 9)), chusme.CodeNotFound)
	wantError(t, "inbox of an unknown ceremony", ask(t, wsB, inboxReq(unknown, 1)), chusme.CodeNotFound)

	// List.
	list := ask(t, wsB, listReq("")).GetCeremonyList().View()
	httpList, err := bob.Client.Ceremonies(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(list.Ceremonies, httpList) || len(httpList) != 1 {
		t.Errorf("list over the WebSocket\n%+v\nover HTTP\n%+v", list.Ceremonies, httpList)
	}
	if l := ask(t, wsE, listReq("")).GetCeremonyList(); l == nil || len(l.GetCeremonies()) != 0 {
		t.Errorf("an outsider's list: %v", l)
	}
	wantError(t, "list by an unknown status", ask(t, wsB, listReq("pending")), chusme.CodeInvalidRequest)

	// Cancel.
	wantError(t, "cancel by a participant who did not create it", ask(t, wsB, cancelReq(info.ID)), chusme.CodeForbidden)
	wantError(t, "cancel by an outsider", ask(t, wsE, cancelReq(info.ID)), chusme.CodeNotFound)
	unchanged(t, "the refused cancels", alice, info)
	cancelled := ask(t, wsA, cancelReq(info.ID)).GetCeremonyResponse().GetCeremony().View()
	if cancelled.Status != chusme.CeremonyCancelled || cancelled.Failure == nil || cancelled.Failure.Reason != "cancelled" {
		t.Fatalf("cancel answered %+v", cancelled)
	}
	wantError(t, "cancel of a cancelled ceremony", ask(t, wsA, cancelReq(info.ID)), chusme.CodeCeremonyClosed)
	wantError(t, "submit to a cancelled ceremony", ask(t, wsB, submitReq(info.ID, 1, dkgRound1(t, bob, info.ID, bob.Fingerprint))), chusme.CodeCeremonyClosed)
	unchanged(t, "the requests after the cancel", alice, cancelled)

	// A payload that is not a protobuf message.
	bad := []byte{0x08, 0x05, 0x82, 0x01, 0x03, 0xff, 0xff, 0xff} // request 5, field 16 holding garbage
	if err := wsA.WriteMessage(websocket.BinaryMessage, bad); err != nil {
		t.Fatal(err)
	}
	wantError(t, "a malformed create request", recv(t, wsA), "invalid_message")
}

// The ceremony limits are the HTTP API's, shared: creations per client IP
// and submissions per session count on both transports together.
func TestCeremonyLimitsSharedWithHTTP(t *testing.T) {
	srv, us := world(t, 2, "--rate-ceremony-create", "1/h", "--rate-ceremony-submit", "1/h")
	ctx := t.Context()
	alice, bob := us[1], us[2]
	ws := connect(t, srv, alice)
	info, err := alice.Client.StartDKG(ctx, alice.Key, 2, []string{alice.Fingerprint, bob.Fingerprint}) // the IP's one creation
	if err != nil {
		t.Fatal(err)
	}
	req, err := alice.Client.SignCeremonyRequest(ctx, alice.Key, chusme.CreateCeremonyRequest{Kind: chusme.KindDKG, Threshold: 2, Participants: []string{alice.Fingerprint, bob.Fingerprint}})
	if err != nil {
		t.Fatal(err)
	}
	ans := ask(t, ws, createReq(req))
	wantError(t, "a second creation from the same IP over the WebSocket", ans, chusme.CodeRateLimited)
	if !strings.Contains(ans.GetError().GetMessage(), "retry after") {
		t.Errorf("rate limit message %q says nothing of when to retry", ans.GetError().GetMessage())
	}
	if l, err := alice.Client.Ceremonies(ctx, ""); err != nil || len(l) != 1 {
		t.Fatalf("%d ceremonies after the refused creation, want 1 (%v)", len(l), err)
	}

	// The session's one submission, over HTTP (refused, but counted), then
	// a genuine one over the WebSocket.
	if _, err := alice.Client.Submit(ctx, info.ID, 1, chusme.SubmitRequest{}); chusme.ErrorCode(err) != chusme.CodeInvalidRequest {
		t.Fatalf("empty submission over HTTP: %v", err)
	}
	wantError(t, "a second submission of the session over the WebSocket", ask(t, ws, submitReq(info.ID, 1, dkgRound1(t, alice, info.ID, alice.Fingerprint))), chusme.CodeRateLimited)
	unchanged(t, "the refused submission", alice, info)
	// Another session (bob's) has its own bucket.
	wsB := connect(t, srv, bob)
	if v := ask(t, wsB, submitReq(info.ID, 1, dkgRound1(t, bob, info.ID, bob.Fingerprint))).GetCeremonyChange(); v.GetVersion() != info.Version+1 {
		t.Errorf("bob's submission answered version %d, want %d", v.Version, info.Version+1)
	}
}

// The per-identity limit of every authenticated HTTP request counts the
// WebSocket's ceremony requests too: once they have used it up, the HTTP API
// refuses the identity as well.
func TestIdentityLimitSharedWithHTTP(t *testing.T) {
	srv, us := world(t, 1, "--rate-identity", "6/h")
	alice := us[1]
	ws := connect(t, srv, alice)
	for i := 0; ; i++ {
		ans := ask(t, ws, listReq(""))
		if ans.GetError().GetCode() == chusme.CodeRateLimited {
			break
		}
		if ans.GetCeremonyList() == nil || i == 6 {
			t.Fatalf("list %d answered %v, want a list until the identity's 6 requests are used", i, ans)
		}
	}
	if _, err := alice.Client.Ceremonies(t.Context(), ""); chusme.ErrorCode(err) != chusme.CodeRateLimited {
		t.Errorf("over HTTP after the WebSocket used the identity's limit: %v, want rate_limited", err)
	}
}

// Every WebSocket request counts against the identity's limit, catch-up and
// server info included, and is refused after the same count as over HTTP:
// with an Error rate_limited and the seconds to wait. A client that keeps
// sending while refused is closed with 4029.
func TestEveryRequestLimitedPerIdentityLikeHTTP(t *testing.T) {
	srv, us := world(t, 2, "--rate-identity", "8/h")
	alice, bob := us[1], us[2]
	wsA := connect(t, srv, alice)
	connect(t, srv, bob) // the same requests: a ticket and a server info each
	sync := func() *chusmev1.Envelope {
		return &chusmev1.Envelope{Payload: &chusmev1.Envelope_CeremonySyncRequest{CeremonySyncRequest: &chusmev1.CeremonySyncRequest{}}}
	}
	overWS := 0
	var refused *chusmev1.Envelope
	for ; overWS <= 8; overWS++ {
		ans := ask(t, wsA, sync())
		if ans.GetError().GetCode() == chusme.CodeRateLimited {
			refused = ans
			break
		}
		if ans.GetCeremonySyncResponse() == nil {
			t.Fatalf("catch-up %d answered %v", overWS, ans)
		}
	}
	overHTTP := 0
	for ; overHTTP <= 8; overHTTP++ {
		if _, err := bob.Client.Ceremonies(t.Context(), ""); chusme.ErrorCode(err) == chusme.CodeRateLimited {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if refused == nil || overWS != overHTTP {
		t.Fatalf("catch-ups allowed over the WebSocket: %d (refused: %v), lists over HTTP: %d; want the same count", overWS, refused != nil, overHTTP)
	}
	e := refused.GetError()
	if e.GetRetryAfterSeconds() == 0 || !strings.Contains(e.GetMessage(), "retry after") {
		t.Errorf("refusal %v has no retry hint", e)
	}
	wantError(t, "a server info request over the limit", ask(t, wsA, &chusmev1.Envelope{Payload: &chusmev1.Envelope_ServerInfoRequest{ServerInfoRequest: &chusmev1.ServerInfoRequest{}}}), chusme.CodeRateLimited)
	// Two refused so far; the connection takes maxRefused (16) in a row.
	for i := 3; i <= 16; i++ {
		wantError(t, "a catch-up while refused", ask(t, wsA, sync()), chusme.CodeRateLimited)
	}
	send(t, wsA, sync())
	if code := closeCode(t, wsA); code != chusmev1.CloseTooManyRequests {
		t.Errorf("a client that kept sending while refused: close %d, want %d", code, chusmev1.CloseTooManyRequests)
	}
}
