package wsapi

import (
	"log/slog"
	"testing"

	"github.com/gorilla/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/chusme/chusme/internal/auth"
	chusmev1 "github.com/chusme/chusme/proto/chusme/v1"
)

// FuzzHandle feeds untrusted bytes to a connection's request handler: it
// never panics, answers every binary message with exactly one Envelope (an
// answer or an Error, never a disconnect), and an Envelope that parses
// re-encodes to an equal one.
func FuzzHandle(f *testing.F) {
	for _, env := range []*chusmev1.Envelope{
		{RequestId: 1, Payload: &chusmev1.Envelope_ServerInfoRequest{ServerInfoRequest: &chusmev1.ServerInfoRequest{}}},
		{RequestId: 2, Payload: &chusmev1.Envelope_CeremonySyncRequest{CeremonySyncRequest: &chusmev1.CeremonySyncRequest{CeremonyId: "x", AfterVersion: 3}}},
		{RequestId: 3, Payload: &chusmev1.Envelope_Error{Error: &chusmev1.Error{Code: "c"}}},
	} {
		b, _ := proto.Marshal(env)
		f.Add(b)
	}
	f.Add([]byte{0x08, 0x07, 0x98, 0x06, 0x01})
	f.Add([]byte{0xff, 0xff})
	s := New(Config{SendQueue: 4}, TokenAuth{}, nil, nil, slog.New(slog.DiscardHandler))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := newConn(s, nil, auth.Principal{Fingerprint: "fuzz"}, "192.0.2.1")
		c.handle(websocket.BinaryMessage, data)
		if len(c.send) != 1 {
			t.Fatalf("%d answers, want 1", len(c.send))
		}
		var ans chusmev1.Envelope
		if err := proto.Unmarshal((<-c.send).data, &ans); err != nil || ans.GetPayload() == nil {
			t.Fatalf("answer is not an Envelope with a payload: %v", err)
		}
		var in chusmev1.Envelope
		if proto.Unmarshal(data, &in) == nil {
			b, err := proto.Marshal(&in)
			if err != nil {
				t.Fatal(err)
			}
			var again chusmev1.Envelope
			if err := proto.Unmarshal(b, &again); err != nil || !proto.Equal(&in, &again) {
				t.Fatalf("re-encoding changed the Envelope: %v", err)
			}
		}
	})
}
