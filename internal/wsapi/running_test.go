package wsapi_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/wsapi"
	chusmev1 "github.com/chusme/chusme/proto/chusme/v1"
	"github.com/gorilla/websocket"
)

// slowCeremonies answers a creation once release is closed, telling
// started when it begins and setting returned (if not nil) as it ends; a
// creation of kind "panic" panics.
type slowCeremonies struct {
	wsapi.Ceremonies
	started  chan struct{}
	release  chan struct{}
	returned *atomic.Bool
}

func (s slowCeremonies) Create(_ context.Context, caller string, req chusme.CreateCeremonyRequest) (chusme.Ceremony, error) {
	if req.Kind == "panic" {
		panic("a bug in the service")
	}
	s.started <- struct{}{}
	<-s.release
	if s.returned != nil {
		s.returned.Store(true)
	}
	return chusme.Ceremony{ID: "c1", Kind: req.Kind, Creator: caller, Status: chusme.CeremonyOpen, Round: 1, Version: 1}, nil
}

// serveSlow serves cers over WebSocket and connects alice to it.
func serveSlow(t *testing.T, cers slowCeremonies) (*wsapi.Server, *websocket.Conn) {
	t.Helper()
	s := wsapi.New(wsapi.Config{}, wsapi.TokenAuth{}, cers, nil, slog.New(slog.DiscardHandler))
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return s, dial(t, "ws"+strings.TrimPrefix(hs.URL, "http")+"/?token=alice")
}

// create is a request to create a ceremony of kind.
func create(id uint64, kind string) *chusmev1.Envelope {
	return &chusmev1.Envelope{RequestId: id, Payload: &chusmev1.Envelope_CreateCeremonyRequest{
		CreateCeremonyRequest: &chusmev1.CreateCeremonyRequest{Kind: kind}}}
}

// A ceremony request runs beside the reader: while the service works on
// it, the connection answers other requests; a panic in the service is an
// internal error, not a crash.
func TestCeremonyRequestDoesNotBlockReader(t *testing.T) {
	cers := slowCeremonies{started: make(chan struct{}, 1), release: make(chan struct{})}
	s, ws := serveSlow(t, cers)
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	send(t, ws, create(7, chusme.KindDKG))
	<-cers.started
	serverInfo(t, ws, 1) // answered while the creation runs
	close(cers.release)
	if env := recv(t, ws); env.GetRequestId() != 7 || env.GetCeremonyResponse().GetCeremony().GetCeremonyId() != "c1" {
		t.Fatalf("the creation got %v", env)
	}
	send(t, ws, create(8, "panic"))
	if env := recv(t, ws); env.GetRequestId() != 8 || env.GetError().GetCode() != chusme.CodeInternal {
		t.Fatalf("a panicking request got %v", env)
	}
	serverInfo(t, ws, 9) // still open
}

// Shutdown returns only once the requests of the connections it closed
// have ended, not when their writers have: chusmed closes the store after
// it, under a request still reading it otherwise.
func TestShutdownWaitsForRunningRequests(t *testing.T) {
	cers := slowCeremonies{started: make(chan struct{}, 1), release: make(chan struct{}), returned: new(atomic.Bool)}
	s, ws := serveSlow(t, cers)
	send(t, ws, create(7, chusme.KindDKG))
	<-cers.started
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	if code := closeCode(t, ws); code != chusmev1.CloseGoingAway {
		t.Fatalf("close code %d, want %d", code, chusmev1.CloseGoingAway)
	}
	if err := s.WaitIdle(t.Context()); err != nil { // the writer has ended; the creation runs on
		t.Fatal(err)
	}
	close(cers.release)
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if !cers.returned.Load() {
		t.Fatal("Shutdown returned while a request was still being served")
	}
}
