package wsapi_test

import (
	"crypto/ed25519"
	"reflect"
	"slices"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/frost"
	"github.com/chusme/chusme/internal/servertest"
	chusmev1 "github.com/chusme/chusme/proto/chusme/v1"
)

// fieldPaths lists the fields of struct type t, following pointers to
// structs (the pointer itself is a field too).
func fieldPaths(t reflect.Type, prefix string) []string {
	var out []string
	for f := range t.Fields() {
		name := prefix + f.Name
		out = append(out, name)
		if f.Type.Kind() == reflect.Pointer && f.Type.Elem().Kind() == reflect.Struct {
			out = append(out, fieldPaths(f.Type.Elem(), name+".")...)
		}
	}
	return out
}

// setFields adds the fields of struct value v that are not zero to set.
func setFields(v reflect.Value, prefix string, set map[string]bool) {
	for i := range v.NumField() {
		f, name := v.Field(i), prefix+v.Type().Field(i).Name
		if f.IsZero() {
			continue
		}
		set[name] = true
		if f.Kind() == reflect.Pointer && f.Elem().Kind() == reflect.Struct {
			setFields(f.Elem(), name+".", set)
		}
	}
}

// lastEvents reads ws up to the answer of request id and returns the last
// pushed event of every ceremony, as views.
func lastEvents(t *testing.T, ws *websocket.Conn, id uint64) map[string]chusme.CeremonyInfo {
	t.Helper()
	out := map[string]chusme.CeremonyInfo{}
	for {
		env := next(t, ws)
		if env.GetRequestId() == id {
			return out
		}
		if ev := env.GetCeremonyEvent(); ev != nil && ev.GetVersion() > out[ev.GetCeremonyId()].Version {
			out[ev.GetCeremonyId()] = ev.View()
		}
	}
}

// One DKG, a signing with its key, a DKG that failed, a declined signing,
// a signing whose signers went silent and an open reshare of the key, each read over HTTP
// (GET and list) and over the WebSocket (pushed events, sync, list): every
// reading is the same view, field for field, and together they leave no
// field of CeremonyInfo zero. Every round's inbox reads the same too.
func TestCeremonyViewsSameOverHTTPAndWebSocket(t *testing.T) {
	srv, us := world(t, 2)
	ctx := t.Context()
	alice, bob := us[1], us[2]
	ws := connect(t, srv, alice)

	res := servertest.DKG(t, []*user{alice, bob}, 2)
	dkg := res[0].Ceremony
	_, sign := servertest.Sign(t, bob, []*user{alice, bob}, res, nil, []byte("the parity of views"))
	failed, err := alice.Client.StartDKG(ctx, alice.Key, 2, []string{alice.Fingerprint, bob.Fingerprint})
	if err != nil {
		t.Fatal(err)
	}
	// alice's round-1 package made for bob's identifier: its proof of
	// knowledge fails, and so does the ceremony, naming alice.
	if _, err := alice.Client.Submit(ctx, failed.ID, 1, dkgRound1(t, alice, failed.ID, bob.Fingerprint)); chusme.ErrorCode(err) != chusme.CodeInvalidPackage {
		t.Fatalf("a bad proof of knowledge: %v", err)
	}
	// A signing bob asked every signer for, with a round timeout of its
	// own, which alice declines; and a DKG left open, still needing both.
	declined, err := bob.Client.CreateCeremony(ctx, bob.Key, chusme.CreateCeremonyRequest{Kind: chusme.KindSign, KeyID: res[0].KeyID,
		Message: []byte("declined"), RoundTimeout: 600, AllSigners: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Client.DeclineCeremony(ctx, declined.ID, alice.Key); err != nil {
		t.Fatal(err)
	}
	// A signing whose two signers commit and then fall silent: its share
	// round's one-second deadline fails it, naming both as excluded.
	silent, err := bob.Client.CreateCeremony(ctx, bob.Key, chusme.CreateCeremonyRequest{Kind: chusme.KindSign, KeyID: res[0].KeyID,
		Message: []byte("silent"), RoundTimeout: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i, u := range []*user{alice, bob} {
		nonces, com, err := frost.Commit(nil, res[i].KeyPackage)
		if err != nil {
			t.Fatal(err)
		}
		nonces.Zero()
		b, _ := com.MarshalBinary()
		ans, err := u.Client.Submit(ctx, silent.ID, 1, chusme.SubmitRequest{Payload: b,
			Signature: ed25519.Sign(u.Key, chusme.CeremonyPackageMessage(silent.ID, 1, u.Fingerprint, "", b))})
		if err != nil {
			t.Fatal(err)
		}
		silent.Version = ans.Version
	}
	for silent.Status == chusme.CeremonyOpen {
		if silent, err = alice.Client.WaitCeremony(ctx, silent.ID, silent.Version); err != nil {
			t.Fatal(err)
		}
	}
	if len(silent.Excluded) != 2 || silent.Failure == nil || silent.Failure.Reason != chusme.FailDeadline {
		t.Fatalf("the silent signing: %+v", silent)
	}
	open, err := alice.Client.CreateCeremony(ctx, alice.Key, chusme.CreateCeremonyRequest{Kind: chusme.KindReshare, KeyID: res[0].KeyID,
		Threshold: 2, NewParticipants: []string{alice.Fingerprint, bob.Fingerprint}})
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{dkg.ID, sign.ID, failed.ID, declined.ID, silent.ID, open.ID}

	// The pushed events, up to a list request's answer.
	list := listReq("")
	list.RequestId = requestIDs.Add(1)
	send(t, ws, list)
	events := lastEvents(t, ws, list.RequestId)
	wsList := ask(t, ws, listReq("")).GetCeremonyList().View().Ceremonies
	httpList, err := alice.Client.Ceremonies(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(wsList, httpList) {
		t.Errorf("the list over the WebSocket\n%+v\nover HTTP\n%+v", wsList, httpList)
	}
	set := map[string]bool{}
	for i, id := range ids {
		httpView, err := alice.Client.Ceremony(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		sync := ask(t, ws, &chusmev1.Envelope{Payload: &chusmev1.Envelope_CeremonySyncRequest{
			CeremonySyncRequest: &chusmev1.CeremonySyncRequest{CeremonyId: id}}}).GetCeremonySyncResponse().View()
		readings := map[string]chusme.CeremonyInfo{"the pushed event": events[id], "the HTTP list": httpList[len(ids)-1-i]}
		if len(sync) == 1 {
			readings["sync"] = sync[0]
		}
		if len(readings) != 3 {
			t.Errorf("ceremony %s: sync answered %d ceremonies", id, len(sync))
		}
		for what, v := range readings {
			if !reflect.DeepEqual(v, httpView) {
				t.Errorf("ceremony %s (%s, %s): %s reads\n%+v\nGET reads\n%+v", id, httpView.Kind, httpView.Status, what, v, httpView)
			}
		}
		setFields(reflect.ValueOf(httpView), "", set)
	}
	// Every round's inbox of the two completed ceremonies (DKG round 2
	// holds point-to-point packages).
	for _, c := range []struct {
		id     string
		rounds int
	}{{dkg.ID, chusme.DKGRounds}, {sign.ID, chusme.SignRounds}} {
		for round := 1; round <= c.rounds; round++ {
			httpIn, err := alice.Client.Inbox(ctx, c.id, round)
			if err != nil {
				t.Fatal(err)
			}
			wsIn := ask(t, ws, inboxReq(c.id, round)).GetCeremonyInbox().View()
			if !reflect.DeepEqual(wsIn, httpIn) || len(httpIn.Packages) == 0 || !httpIn.Complete {
				t.Errorf("ceremony %s round %d: the inbox over the WebSocket\n%+v\nover HTTP\n%+v", c.id, round, wsIn, httpIn)
			}
		}
	}
	var st []string
	for i := range httpList {
		st = append(st, httpList[len(httpList)-1-i].Status)
	}
	if want := []string{chusme.CeremonyCompleted, chusme.CeremonyCompleted, chusme.CeremonyFailed, chusme.CeremonyFailed, chusme.CeremonyFailed,
		chusme.CeremonyOpen}; !slices.Equal(st, want) {
		t.Fatalf("the ceremonies are %v, want %v", st, want)
	}
	for _, f := range fieldPaths(reflect.TypeFor[chusme.CeremonyInfo](), "") {
		if !set[f] {
			t.Errorf("field %s of CeremonyInfo is zero in every ceremony read: it is not compared", f)
		}
	}
}
