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

// tinyReceiveBuffer is a dialer whose sockets have a 4 KiB receive buffer,
// so that the server's writes block soon when the client doesn't read.
var tinyReceiveBuffer = &websocket.Dialer{NetDialContext: (&net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
	return c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
}}).DialContext}

// readToClose reads what was in flight, then returns the close code.
func readToClose(t *testing.T, ws *websocket.Conn) int {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	var ce *websocket.CloseError
	for {
		_, _, err := ws.ReadMessage()
		if errors.As(err, &ce) {
			return ce.Code
		}
		if err != nil {
			t.Fatalf("ended without a close frame: %v", err)
		}
	}
}

// Pushed events keep the bounded queue: a client that stops reading them
// is closed with 4008 and the queue never grows past its bound.
func TestSlowConsumerClosed4008AndQueueBounded(t *testing.T) {
	ev := newEvents()
	const limit = 4 << 10
	s, url := start(t, Config{SendQueue: 8, SendQueueBytes: limit, WriteTimeout: 5 * time.Second}, ev)
	ws := dialWith(t, tinyReceiveBuffer, url+"slow")
	ws.WriteMessage(websocket.BinaryMessage, infoRequest)
	if _, _, err := ws.ReadMessage(); err != nil { // registered
		t.Fatal(err)
	}
	event := &chusmev1.Envelope{Payload: &chusmev1.Envelope_Error{Error: &chusmev1.Error{Code: "test", Message: strings.Repeat("e", 500)}}}
	pushed := 0
	for slow := false; !slow; pushed++ {
		if pushed == 100_000 {
			t.Fatal("the server never found the reader slow")
		}
		if err := s.Broadcast(event, "slow"); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ev.slow:
			slow = true
		default:
		}
	}
	t.Logf("events pushed before the slow-consumer close: %d", pushed)
	if m := ev.max.Load(); m > limit {
		t.Errorf("queued bytes reached %d, over the limit %d", m, limit)
	}
	// The reader wakes up: it gets what was in flight, then 4008.
	if code := readToClose(t, ws); code != chusmev1.CloseSlowConsumer {
		t.Errorf("close %d, want %d", code, chusmev1.CloseSlowConsumer)
	}
	gone(t, s)
}

// gone waits until s has no connection, then asserts nothing is queued.
func gone(t *testing.T, s *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := s.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	if q := s.QueuedBytes(); q != 0 {
		t.Errorf("%d bytes still queued after the close", q)
	}
}

// A client that sends requests but never reads its answers is not waited
// for forever: once maxOwed answers are owed the reader stops reading, and
// the writer's timeout closes the connection as a slow consumer.
func TestNeverReadingRequesterClosed(t *testing.T) {
	ev := newEvents()
	s, url := startSmall(t, Config{WriteTimeout: 500 * time.Millisecond}, ev)
	ws := dialWith(t, tinyReceiveBuffer, url+"deaf")
	sent := make(chan int, 1)
	go func() {
		n := 0
		defer func() { sent <- n }()
		ws.SetWriteDeadline(time.Now().Add(30 * time.Second))
		for ; n < 2_000_000; n++ {
			if ws.WriteMessage(websocket.BinaryMessage, infoRequest) != nil {
				return
			}
		}
	}()
	select {
	case code := <-ev.closed:
		if code != chusmev1.CloseSlowConsumer {
			t.Errorf("closed with %d, want %d", code, chusmev1.CloseSlowConsumer)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a client that never reads was not closed")
	}
	ws.Close() // ends the sender if the server's close left it blocked
	t.Logf("requests sent before the close: %d", <-sent)
	gone(t, s)
}

// smallSendBuffers sets a 4 KiB send buffer on every accepted connection,
// so that little of a burst's answers fits in the kernel.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4096)
	}
	return c, err
}

// startSmall is start with smallSendBuffers.
func startSmall(t *testing.T, cfg Config, ev Events) (*Server, string) {
	t.Helper()
	s := New(cfg, TokenAuth{}, nil, ev, slog.New(slog.DiscardHandler))
	hs := httptest.NewUnstartedServer(s)
	hs.Listener = smallSendBuffers{hs.Listener}
	hs.Start()
	t.Cleanup(hs.Close)
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	return s, "ws" + strings.TrimPrefix(hs.URL, "http") + "/?token="
}

// A client that reads its answers is never a slow consumer: it sends a
// burst of 200 requests, far more than the send queue holds, then reads,
// and gets 200 answers in order and no close. The reader waits for the
// writer instead of queueing answers faster than they leave.
func TestBurstFromReadingClientAllAnswered(t *testing.T) {
	ev := newEvents()
	_, url := startSmall(t, Config{Name: strings.Repeat("n", 1000), SendQueue: 8, SendQueueBytes: 16 << 10}, ev)
	ws := dialWith(t, tinyReceiveBuffer, url+"burst")
	const burst = 200
	for i := range burst {
		b, _ := proto.Marshal(&chusmev1.Envelope{RequestId: uint64(i + 1), Payload: &chusmev1.Envelope_ServerInfoRequest{ServerInfoRequest: &chusmev1.ServerInfoRequest{}}})
		if err := ws.WriteMessage(websocket.BinaryMessage, b); err != nil {
			t.Fatal(err)
		}
	}
	ws.SetReadDeadline(time.Now().Add(20 * time.Second))
	for i := range burst {
		_, b, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("answer %d of %d: %v", i+1, burst, err)
		}
		var env chusmev1.Envelope
		if proto.Unmarshal(b, &env) != nil || env.GetRequestId() != uint64(i+1) || env.GetServerInfoResponse() == nil {
			t.Fatalf("answer %d: %v", i+1, &env)
		}
	}
	select {
	case <-ev.slow:
		t.Error("a client reading its answers was found slow")
	default:
	}
	serverInfoOK := ws.WriteMessage(websocket.BinaryMessage, infoRequest) == nil
	if _, _, err := ws.ReadMessage(); !serverInfoOK || err != nil {
		t.Errorf("the connection did not stay open after the burst: %v", err)
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
