package wsapi

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/chusme/chusme"
	chusmev1 "github.com/chusme/chusme/proto/chusme/v1"
)

// relayedCeremonies remembers round 1's packages of every ceremony (and
// serves no request).
type relayedCeremonies struct {
	Ceremonies
	subs []chusme.CeremonySubmission
}

func (relayedCeremonies) Get(context.Context, string, string) (chusme.Ceremony, error) {
	return chusme.Ceremony{}, chusme.Errorf(chusme.CodeNotFound, "no such ceremony")
}
func (relayedCeremonies) List(context.Context, string, chusme.CeremonyListQuery) ([]chusme.Ceremony, string, error) {
	return nil, "", nil
}
func (r relayedCeremonies) Relayed(string) ([]chusme.CeremonySubmission, bool) { return r.subs, true }

// The event that opens a sign ceremony's round 2 carries round 1's packages
// to the participants, and not to a creator who is not one.
func TestRoundTwoEventCarriesInboxToParticipantsOnly(t *testing.T) {
	subs := []chusme.CeremonySubmission{
		{CeremonyID: "c1", Round: 1, Sender: "alice", Payload: []byte("ca"), Signature: []byte("sa")},
		{CeremonyID: "c1", Round: 1, Sender: "bob", Payload: []byte("cb"), Signature: []byte("sb")},
	}
	s := New(Config{}, TokenAuth{}, relayedCeremonies{subs: subs}, nil, slog.New(slog.DiscardHandler))
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/?token="
	conns := map[string]*websocket.Conn{}
	for _, fp := range []string{"alice", "admin"} {
		ws := dialWith(t, websocket.DefaultDialer, url+fp)
		ws.WriteMessage(websocket.BinaryMessage, infoRequest)
		if _, _, err := ws.ReadMessage(); err != nil { // accepted and registered
			t.Fatal(err)
		}
		conns[fp] = ws
	}
	c := chusme.Ceremony{ID: "c1", Kind: chusme.KindSign, Creator: "admin", Participants: []string{"alice", "bob"},
		Status: chusme.CeremonyOpen, Round: 2, Version: 4}
	s.CeremonyChanged(c)
	event := func(fp string) *chusmev1.CeremonyEvent {
		_, b, err := conns[fp].ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		var env chusmev1.Envelope
		if err := proto.Unmarshal(b, &env); err != nil || env.GetCeremonyEvent() == nil {
			t.Fatalf("%s: not a ceremony event (%v)", fp, err)
		}
		return env.GetCeremonyEvent()
	}
	in := event("alice").GetInbox()
	if in.GetRound() != 1 || len(in.GetPackages()) != 2 {
		t.Fatalf("participant's inbox: round %d with %d packages, want round 1 with 2", in.GetRound(), len(in.GetPackages()))
	}
	for i, p := range in.GetPackages() {
		if p.GetSender() != subs[i].Sender || string(p.GetPayload()) != string(subs[i].Payload) ||
			string(p.GetSignature()) != string(subs[i].Signature) || p.GetRound() != 1 || p.GetRecipient() != "" {
			t.Errorf("package %d is %v, want %+v", i, p, subs[i])
		}
	}
	if ev := event("admin"); ev.GetInbox() != nil || ev.GetVersion() != 4 {
		t.Errorf("the non-participant creator got version %d with inbox %v, want version 4 without", ev.GetVersion(), ev.GetInbox())
	}
}
