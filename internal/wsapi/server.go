package wsapi

import (
	chusmev1 "github.com/chusme/chusme/proto/chusme/v1"

	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/auth"
	"github.com/chusme/chusme/internal/ratelimit"
)

// Authenticator checks the credentials of a WebSocket (auth.Service).
type Authenticator interface {
	RedeemWSTicket(ctx context.Context, ticket string) (auth.Principal, error)
	Authenticate(ctx context.Context, accessToken string) (auth.Principal, error)
	// LiveSession is called after registration and at every ping: a logout
	// or a ban, on any node, closes the connection within PingInterval.
	LiveSession(ctx context.Context, p auth.Principal) (chusme.Session, error)
}

// Ceremonies is the ceremony API the connections serve: catch-up requests
// and the requests of the HTTP API's /v1/ceremonies routes
// (ceremony.Service).
type Ceremonies interface {
	Get(ctx context.Context, caller, id string) (chusme.Ceremony, error)
	List(ctx context.Context, caller string, q chusme.CeremonyListQuery) ([]chusme.Ceremony, string, error)
	Create(ctx context.Context, caller string, req chusme.CreateCeremonyRequest) (chusme.Ceremony, error)
	Submit(ctx context.Context, caller, id string, round int, req chusme.SubmitRequest) (chusme.Ceremony, error)
	Inbox(ctx context.Context, caller, id string, round int) ([]chusme.CeremonySubmission, bool, error)
	Cancel(ctx context.Context, caller, id string) (chusme.Ceremony, error)
	Decline(ctx context.Context, caller, id string, sig []byte) (chusme.Ceremony, error)
	Complain(ctx context.Context, caller, id string, req chusme.ComplaintRequest) (chusme.Ceremony, error)
	// Relayed returns the commitment round's packages of an open sign
	// ceremony in its share round if this node moved it there and still
	// has them (pushed with the event to its participants).
	Relayed(id string) ([]chusme.CeremonySubmission, bool)
}

// Config holds the transport's settings. Zero values take the defaults.
type Config struct {
	Name, Version, Issuer string // for server info answers

	// Origins lists the allowed Origin values (scheme://host[:port]); "*"
	// allows any. Empty allows only the request's own host. A request
	// without Origin (not a browser) is allowed: it carries its credential
	// explicitly, so cross-site request forgery does not apply.
	Origins []string

	PingInterval   time.Duration
	PongTimeout    time.Duration
	WriteTimeout   time.Duration
	SendQueue      int // messages
	SendQueueBytes int // bytes
	Now            func() time.Time

	Limits Limits
}

// Limits are the HTTP API's limiters that every WebSocket message counts
// against, keyed as over HTTP, so that switching transport bypasses none. A nil limiter allows everything.
type Limits struct {
	IP       *ratelimit.Limiter // every request but the ceremony API's, per client IP
	Identity *ratelimit.Limiter // every request, per identity
	Create   *ratelimit.Limiter // ceremony creations, per client IP
	Submit   *ratelimit.Limiter // round submissions, per session
}

// Server is the WebSocket core of one chusmed. It is safe for concurrent use.
type Server struct {
	cfg   Config
	auth  Authenticator
	cers  Ceremonies
	ev    Events
	log   *slog.Logger
	upg   websocket.Upgrader
	queue atomic.Int64 // bytes waiting in every send queue

	mu      sync.Mutex
	byFP    map[string]map[*conn]struct{} // the registry: identity → live connections
	n       int                           // live connections
	closing bool                          // Shutdown began
	changed chan struct{}                 // closed and replaced whenever a connection goes
	// work counts the goroutines of every connection (reader, writer, the
	// setup's session check, ceremony requests): Shutdown waits for them,
	// as each may still be using the store that closes after it.
	work sync.WaitGroup

	events coalescer // ceremony events held back briefly (events.go)
}

// New returns a server core. cers and ev may be nil.
func New(cfg Config, a Authenticator, cers Ceremonies, ev Events, log *slog.Logger) *Server {
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = DefaultPingInterval
	}
	if cfg.PongTimeout <= 0 {
		cfg.PongTimeout = DefaultPongTimeout
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.SendQueue <= 0 {
		cfg.SendQueue = DefaultSendQueue
	}
	if cfg.SendQueueBytes <= 0 {
		cfg.SendQueueBytes = DefaultSendQueueBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if ev == nil {
		ev = noEvents{}
	}
	s := &Server{cfg: cfg, auth: a, cers: cers, ev: ev, log: log, byFP: map[string]map[*conn]struct{}{}}
	s.upg = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   readBufferSize,
		WriteBufferSize:  writeBufferSize,
		WriteBufferPool:  &sync.Pool{},
		CheckOrigin:      s.checkOrigin,
	}
	return s
}

// Accept takes over an upgraded connection authenticated as p from client
// address ip (the key of the per-IP limits): it registers it, starts its
// reader and writer, checks the session once more, and returns. After
// Shutdown began, it closes the connection with 1001 at once.
func (s *Server) Accept(ws *websocket.Conn, p auth.Principal, ip string) {
	// The HTTP server's read and write deadlines stay on a hijacked
	// connection: the writer sets its own.
	ws.NetConn().SetDeadline(time.Time{})
	c := newConn(s, ws, p, ip)
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		closeNow(ws, chusmev1.CloseGoingAway, "server shutting down", s.cfg.WriteTimeout)
		return
	}
	set := s.byFP[p.Fingerprint]
	if set == nil {
		set = map[*conn]struct{}{}
		s.byFP[p.Fingerprint] = set
	}
	set[c] = struct{}{}
	s.n++
	s.work.Add(3) // the reader, the writer and the check below
	s.mu.Unlock()
	defer s.work.Done()
	s.ev.WSConnected()
	go c.readLoop()
	go c.writeLoop()
	// A logout or ban that committed while this connection was being set
	// up found it not yet registered, so it closed nothing: check once now
	// that it is (anything later reaches it through the registry). This
	// runs on the upgrading request's goroutine, which ends here, so the
	// long-lived loops' stacks stay small.
	if err := c.checkSession(); err != nil {
		c.fail(closeCodeOf(err), chusme.ErrorMessage(err))
	}
}

// remove unregisters a connection whose writer has ended.
func (s *Server) remove(c *conn) {
	s.mu.Lock()
	if set := s.byFP[c.p.Fingerprint]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(s.byFP, c.p.Fingerprint)
		}
	}
	s.n--
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
	s.mu.Unlock()
}

// WaitIdle waits until no connection is live, or ctx is done.
func (s *Server) WaitIdle(ctx context.Context) error {
	for {
		s.mu.Lock()
		if s.n == 0 {
			s.mu.Unlock()
			return nil
		}
		if s.changed == nil {
			s.changed = make(chan struct{})
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Connections returns how many connections are live.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// Identities returns how many identities have a live connection: the size
// of the registry, 0 again once every client has gone.
func (s *Server) Identities() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byFP)
}

// QueuedBytes returns how many bytes wait in every connection's send queue.
func (s *Server) QueuedBytes() int64 { return s.queue.Load() }

// each calls fn for every live connection of fp, under the registry lock
// (fn must not block).
func (s *Server) each(fp string, fn func(*conn)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.byFP[fp] {
		fn(c)
	}
}

// CloseIdentity closes every connection of the identity with code (4003
// when it is banned).
func (s *Server) CloseIdentity(fp string, code int, reason string) {
	s.each(fp, func(c *conn) { c.fail(code, reason) })
}

// Banned closes every connection of a banned identity with 4003 at once.
func (s *Server) Banned(fp string) { s.CloseIdentity(fp, chusmev1.CloseBanned, "identity banned") }

// Shutdown closes every connection with 1001 and waits until their
// goroutines, the requests they serve included, have ended or ctx is done;
// connections accepted afterwards are closed at once. http.Server.Shutdown
// does not close hijacked connections: call this after it.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	var all []*conn
	for _, set := range s.byFP {
		for c := range set {
			all = append(all, c)
		}
	}
	s.mu.Unlock()
	for _, c := range all {
		c.fail(chusmev1.CloseGoingAway, "server shutting down")
	}
	done := make(chan struct{})
	go func() {
		s.work.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		for _, c := range all {
			c.ws.NetConn().Close()
		}
		return ctx.Err()
	}
}

// closeNow writes a close frame and closes the connection.
func closeNow(ws *websocket.Conn, code int, reason string, timeout time.Duration) {
	ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(timeout))
	ws.Close()
}
