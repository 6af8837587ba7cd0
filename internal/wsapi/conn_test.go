package wsapi

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/auth"
	chusmev1 "github.com/chusme/chusme/proto/chusme/v1"
)

// TokenAuth, for the tests of this package and wsapi_test, accepts
// ?token=FP as identity FP in session s-FP, which stays live; it redeems no
// tickets.
type TokenAuth struct{}

// RedeemWSTicket refuses every ticket.
func (TokenAuth) RedeemWSTicket(context.Context, string) (auth.Principal, error) {
	return auth.Principal{}, chusme.Errorf(chusme.CodeTokenInvalid, "no tickets here")
}

// Authenticate takes the token for the fingerprint.
func (TokenAuth) Authenticate(_ context.Context, tok string) (auth.Principal, error) {
	return auth.Principal{Fingerprint: tok, SessionID: "s-" + tok}, nil
}

// LiveSession reports p's session live.
func (TokenAuth) LiveSession(_ context.Context, p auth.Principal) (chusme.Session, error) {
	return chusme.Session{ID: p.SessionID, Fingerprint: p.Fingerprint}, nil
}

// events records closes and slow consumers on channels.
type events struct {
	noEvents
	closed chan int
	slow   chan struct{}
	max    atomic.Int64
	cur    atomic.Int64
}

func newEvents() *events { return &events{closed: make(chan int, 100), slow: make(chan struct{}, 100)} }

func (e *events) WSClosed(code int) { e.closed <- code }
func (e *events) WSSlowConsumer()   { e.slow <- struct{}{} }
func (e *events) WSQueueBytes(d int) {
	if v := e.cur.Add(int64(d)); v > e.max.Load() {
		e.max.Store(v)
	}
}

func start(t *testing.T, cfg Config, ev Events) (*Server, string) {
	t.Helper()
	s := New(cfg, TokenAuth{}, nil, ev, slog.New(slog.DiscardHandler))
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	return s, "ws" + strings.TrimPrefix(hs.URL, "http") + "/?token="
}

func dialWith(t *testing.T, d *websocket.Dialer, url string) *websocket.Conn {
	t.Helper()
	ws, _, err := d.DialContext(t.Context(), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

var infoRequest = func() []byte {
	b, _ := proto.Marshal(&chusmev1.Envelope{RequestId: 1, Payload: &chusmev1.Envelope_ServerInfoRequest{ServerInfoRequest: &chusmev1.ServerInfoRequest{}}})
	return b
}()

func TestRegistryEmptyAfterDisconnects(t *testing.T) {
	s, url := start(t, Config{}, nil)
	var conns []*websocket.Conn
	for i := range 30 {
		ws := dialWith(t, websocket.DefaultDialer, url+[]string{"alice", "bob", "carol"}[i%3])
		ws.WriteMessage(websocket.BinaryMessage, infoRequest)
		if _, _, err := ws.ReadMessage(); err != nil { // accepted and registered
			t.Fatal(err)
		}
		conns = append(conns, ws)
	}
	if n, ids := s.Connections(), s.Identities(); n != 30 || ids != 3 {
		t.Fatalf("%d connections of %d identities, want 30 of 3", n, ids)
	}
	for i, ws := range conns {
		if i%2 == 0 {
			ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(chusmev1.CloseNormal, "bye"), time.Now().Add(time.Second))
		}
		ws.Close() // the odd ones just vanish
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := s.WaitIdle(ctx); err != nil {
		t.Fatalf("connections still live: %d", s.Connections())
	}
	if ids := s.Identities(); ids != 0 {
		t.Errorf("registry holds %d identities after every disconnect", ids)
	}
	if q := s.QueuedBytes(); q != 0 {
		t.Errorf("%d bytes still queued", q)
	}
}

func TestSlowConsumerClosed4008AndQueueBounded(t *testing.T) {
	ev := newEvents()
	const limit = 4 << 10
	s, url := start(t, Config{SendQueue: 8, SendQueueBytes: limit, WriteTimeout: 5 * time.Second}, ev)
	// A tiny receive buffer, so that the server's writes block soon.
	d := &websocket.Dialer{NetDialContext: (&net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}).DialContext}
	ws := dialWith(t, d, url+"slow")
	stop := make(chan struct{})
	sent := make(chan int, 1)
	go func() {
		n := 0
		defer func() { sent <- n }()
		for ; n < 2_000_000; n++ {
			select {
			case <-stop:
				return
			default:
			}
			if ws.WriteMessage(websocket.BinaryMessage, infoRequest) != nil {
				return
			}
		}
	}()
	select {
	case <-ev.slow:
	case <-time.After(20 * time.Second):
		t.Fatal("the server never found the reader slow")
	}
	close(stop)
	t.Logf("requests sent before the slow-consumer close: %d", <-sent)
	if m := ev.max.Load(); m > limit {
		t.Errorf("queued bytes reached %d, over the limit %d", m, limit)
	}
	// The reader wakes up: it gets what was in flight, then 4008.
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	var ce *websocket.CloseError
	for {
		_, _, err := ws.ReadMessage()
		if errors.As(err, &ce) {
			break
		}
		if err != nil {
			t.Fatalf("ended without a close frame: %v", err)
		}
	}
	if ce.Code != chusmev1.CloseSlowConsumer {
		t.Errorf("close %d, want %d", ce.Code, chusmev1.CloseSlowConsumer)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := s.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	if q := s.QueuedBytes(); q != 0 {
		t.Errorf("%d bytes still queued after the close", q)
	}
}

func TestPingKeepsAnsweringPeerAndDropsSilentOne(t *testing.T) {
	ev := newEvents()
	const interval, timeout = 40 * time.Millisecond, 40 * time.Millisecond
	_, url := start(t, Config{PingInterval: interval, PongTimeout: timeout}, ev)

	// The live peer reads (gorilla answers pings while reading) and sees
	// several pings in a row while staying connected.
	live := dialWith(t, websocket.DefaultDialer, url+"live")
	pings := make(chan struct{}, 16)
	live.SetPingHandler(func(data string) error {
		pings <- struct{}{}
		return live.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	go func() {
		for {
			if _, _, err := live.ReadMessage(); err != nil {
				return
			}
		}
	}()
	// The silent peer never reads, so never answers.
	silent := dialWith(t, websocket.DefaultDialer, url+"silent")
	start := time.Now()
	select {
	case code := <-ev.closed:
		if code != chusmev1.CloseGoingAway {
			t.Errorf("silent peer closed with %d, want %d", code, chusmev1.CloseGoingAway)
		}
		if d := time.Since(start); d < interval+timeout/2 {
			t.Errorf("silent peer dropped after %v, before ping interval + pong timeout", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the silent peer was never dropped")
	}
	for range 5 {
		select {
		case <-pings:
		case <-time.After(10 * time.Second):
			t.Fatal("the live peer stopped getting pings")
		}
	}
	select {
	case code := <-ev.closed:
		t.Errorf("the live peer was closed (%d)", code)
	default:
	}
	if err := live.WriteMessage(websocket.BinaryMessage, infoRequest); err != nil {
		t.Errorf("live peer: %v", err)
	}
	_ = silent
}

// bannedMeanwhile authenticates anyone, but reports every session banned:
// a ban that committed after the credential was checked and before the
// connection was registered, so that no Banned call could find it.
type bannedMeanwhile struct{ TokenAuth }

func (bannedMeanwhile) LiveSession(context.Context, auth.Principal) (chusme.Session, error) {
	return chusme.Session{}, chusme.Errorf(chusme.CodeBanned, "the identity is banned")
}

func TestBanDuringSetupClosesAtOnce(t *testing.T) {
	s := New(Config{PingInterval: time.Hour}, bannedMeanwhile{}, nil, nil, slog.New(slog.DiscardHandler))
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	ws := dialWith(t, websocket.DefaultDialer, "ws"+strings.TrimPrefix(hs.URL, "http")+"/?token=mallory")
	ws.SetReadDeadline(time.Now().Add(10 * time.Second)) // the next ping is an hour away
	_, _, err := ws.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != chusmev1.CloseBanned {
		t.Fatalf("read = %v, want close %d", err, chusmev1.CloseBanned)
	}
}
