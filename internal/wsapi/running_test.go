package wsapi

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/chusme/chusme"
	chusmev1 "github.com/chusme/chusme/proto/chusme/v1"
)

// slowCeremonies answers a creation once release is closed, telling
// started when it begins; a creation of kind "panic" panics.
type slowCeremonies struct {
	Ceremonies
	started chan struct{}
	release chan struct{}
}

func (s slowCeremonies) Create(_ context.Context, caller string, req chusme.CreateCeremonyRequest) (chusme.Ceremony, error) {
	if req.Kind == "panic" {
		panic("a bug in the service")
	}
	s.started <- struct{}{}
	<-s.release
	return chusme.Ceremony{ID: "c1", Kind: req.Kind, Creator: caller, Status: chusme.CeremonyOpen, Round: 1, Version: 1}, nil
}

func readEnvelope(t *testing.T, ws *websocket.Conn) *chusmev1.Envelope {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, b, err := ws.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	var env chusmev1.Envelope
	if err := proto.Unmarshal(b, &env); err != nil {
		t.Fatal(err)
	}
	return &env
}

// A ceremony request runs beside the reader: while the service works on
// it, the connection answers other requests; a panic in the service is an
// internal error, not a crash.
func TestCeremonyRequestDoesNotBlockReader(t *testing.T) {
	cers := slowCeremonies{started: make(chan struct{}, 1), release: make(chan struct{})}
	s := New(Config{}, tokenAuth{}, cers, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	ws := dialWith(t, websocket.DefaultDialer, "ws"+strings.TrimPrefix(hs.URL, "http")+"/?token=alice")

	create := func(id uint64, kind string) []byte {
		b, _ := proto.Marshal(&chusmev1.Envelope{RequestId: id, Payload: &chusmev1.Envelope_CreateCeremonyRequest{
			CreateCeremonyRequest: &chusmev1.CreateCeremonyRequest{Kind: kind}}})
		return b
	}
	ws.WriteMessage(websocket.BinaryMessage, create(7, chusme.KindDKG))
	<-cers.started
	ws.WriteMessage(websocket.BinaryMessage, infoRequest)
	if env := readEnvelope(t, ws); env.GetRequestId() != 1 || env.GetServerInfoResponse() == nil {
		t.Fatalf("while a creation runs, the server info request got %v", env)
	}
	close(cers.release)
	if env := readEnvelope(t, ws); env.GetRequestId() != 7 || env.GetCeremonyResponse().GetCeremony().GetCeremonyId() != "c1" {
		t.Fatalf("the creation got %v", env)
	}
	ws.WriteMessage(websocket.BinaryMessage, create(8, "panic"))
	if env := readEnvelope(t, ws); env.GetRequestId() != 8 || env.GetError().GetCode() != chusme.CodeInternal {
		t.Fatalf("a panicking request got %v", env)
	}
	ws.WriteMessage(websocket.BinaryMessage, infoRequest)
	if env := readEnvelope(t, ws); env.GetServerInfoResponse() == nil {
		t.Fatalf("after the panic: %v", env)
	}
}
