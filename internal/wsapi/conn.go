package wsapi

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/auth"
	chusmev1 "github.com/chusme/chusme/proto/chusme/v1"
)

// frame is one message waiting in a send queue: a prepared message shared
// by every recipient of a fan-out, or the bytes of one answer.
type frame struct {
	pm     *websocket.PreparedMessage
	data   []byte
	size   int
	answer bool // the answer to a request, not a pushed event
}

// maxOwed bounds the requests of one connection that are read but not yet
// answered on the socket (running, queued or being written): the reader
// waits for the writer beyond it, so a client that floods is slowed to the
// pace at which it reads its answers, and one that reads them is never a
// slow consumer. Each answer fits in SendQueueBytes (Server.fits).
const maxOwed = 8

// maxRefused is how many requests in a row a connection may have refused
// by a rate limit: the next one closes it with
// chusmev1.CloseTooManyRequests (4029). A request that is let through
// starts the count again.
const maxRefused = 16

// conn is one live connection: its reader handles requests and queues the
// answers; its writer sends the queue, pings, and closes.
type conn struct {
	s    *Server
	ws   *websocket.Conn
	p    auth.Principal
	ip   string      // the client's address, for per-IP limits
	send chan *frame // the queue: SendQueue events and maxOwed answers; never closed
	// events and queued are how many pushed events, and their bytes, wait
	// in send: the bounds of SendQueue and SendQueueBytes.
	events atomic.Int32
	queued atomic.Int64
	// owed holds a token for each request whose answer is not yet written:
	// the reader waits while it is full (maxOwed).
	owed chan struct{}
	// refused counts the requests refused in a row (the reader's).
	refused int
	// running is how many ceremony requests are being served (see
	// ceremonyRequest).
	running atomic.Int32

	once   sync.Once
	quit   chan struct{} // closed by fail
	code   int           // the close code, set by fail before quit closes
	reason string
}

func newConn(s *Server, ws *websocket.Conn, p auth.Principal, ip string) *conn {
	return &conn{s: s, ws: ws, p: p, ip: ip, send: make(chan *frame, s.cfg.SendQueue+maxOwed),
		owed: make(chan struct{}, maxOwed), quit: make(chan struct{})}
}

// fail ends the connection with code: the first call wins. The writer then
// drops the queue, sends the close frame and closes the socket.
func (c *conn) fail(code int, reason string) {
	c.once.Do(func() {
		c.code, c.reason = code, reason
		close(c.quit)
	})
}

// enqueue adds f to the send queue without blocking. An event that doesn't
// fit (SendQueue messages, SendQueueBytes bytes) closes the connection with
// chusmev1.CloseSlowConsumer; an answer always fits, as the reader owes at
// most maxOwed.
func (c *conn) enqueue(f *frame) {
	select {
	case <-c.quit:
		return
	default:
	}
	if !f.answer && !c.reserveEvent(f.size) {
		c.slow("slow consumer: send queue full")
		return
	}
	// Counted before the send: once in the queue the writer may take f and
	// uncount it before this goroutine runs again.
	c.s.queue.Add(int64(f.size))
	c.s.ev.WSQueueBytes(f.size)
	select {
	case c.send <- f:
	default: // not while the bounds hold: an event's room is kept
		c.s.queue.Add(-int64(f.size))
		c.s.ev.WSQueueBytes(-f.size)
		if !f.answer {
			c.releaseEvent(f.size)
		}
		c.slow("slow consumer: send queue full")
	}
}

// reserveEvent counts an event of size bytes into the queue's bounds, or
// reports that it does not fit.
func (c *conn) reserveEvent(size int) bool {
	n, b := c.events.Add(1), c.queued.Add(int64(size))
	if int(n) > c.s.cfg.SendQueue || b > int64(c.s.cfg.SendQueueBytes) {
		c.releaseEvent(size)
		return false
	}
	return true
}

func (c *conn) releaseEvent(size int) {
	c.events.Add(-1)
	c.queued.Add(-int64(size))
}

func (c *conn) slow(reason string) {
	c.s.ev.WSSlowConsumer()
	c.s.log.Warn("websocket slow consumer closed", "fingerprint", c.p.Fingerprint, "queued_bytes", c.queued.Load(), "reason", reason)
	c.fail(chusmev1.CloseSlowConsumer, reason)
}

// dequeued accounts for a frame that left the queue.
func (c *conn) dequeued(f *frame) {
	if !f.answer {
		c.releaseEvent(f.size)
	}
	c.s.queue.Add(-int64(f.size))
	c.s.ev.WSQueueBytes(-f.size)
}

// owe waits until the connection owes fewer than maxOwed answers, then
// counts one more; it reports false if the connection failed meanwhile.
func (c *conn) owe() bool {
	select {
	case c.owed <- struct{}{}:
		return true
	case <-c.quit:
		return false
	}
}

// paid counts an owed answer as written (or dropped), which lets a waiting
// reader go on.
func (c *conn) paid() {
	select {
	case <-c.owed:
	default: // not while every answer is owed once
	}
}

// writeLoop sends queued frames and pings until the connection fails, then
// closes it and unregisters it.
func (c *conn) writeLoop() {
	defer c.s.work.Done()
	cfg := &c.s.cfg
	ping := time.NewTicker(cfg.PingInterval)
	defer func() {
		ping.Stop()
		c.drain()
		c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(c.code, c.reason), time.Now().Add(cfg.WriteTimeout))
		c.ws.Close()
		c.s.ev.WSClosed(c.code)
		c.s.remove(c)
	}()
	for {
		select {
		case <-c.quit:
			return
		case f := <-c.send:
			c.dequeued(f)
			c.ws.SetWriteDeadline(time.Now().Add(cfg.WriteTimeout))
			var err error
			if f.pm != nil {
				err = c.ws.WritePreparedMessage(f.pm)
			} else {
				err = c.ws.WriteMessage(websocket.BinaryMessage, f.data)
			}
			switch {
			case isTimeout(err):
				c.slow("slow consumer: a write timed out")
				return
			case err != nil:
				c.fail(chusmev1.CloseInternal, "write failed")
				return
			case f.answer:
				c.paid()
			}
		case <-ping.C:
			// A connection opened with ?token= lives as long as its access
			// token: then 4001 tells the client to refresh and reconnect.
			if exp := c.p.ExpiresAt; !exp.IsZero() && !c.s.cfg.Now().Before(exp) {
				c.fail(chusmev1.CloseTokenExpired, "access token expired")
				return
			}
			if err := c.checkSession(); err != nil {
				c.fail(closeCodeOf(err), chusme.ErrorMessage(err))
				return
			}
			// The deadline goes first: the pong handler clears it.
			c.ws.SetReadDeadline(time.Now().Add(cfg.PongTimeout))
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(cfg.WriteTimeout)); err != nil {
				c.fail(chusmev1.CloseInternal, "ping failed")
				return
			}
		}
	}
}

// checkSession asks the authenticator whether the session is still live.
func (c *conn) checkSession() error {
	ctx, cancel := context.WithTimeout(context.Background(), c.s.cfg.WriteTimeout)
	defer cancel()
	_, err := c.s.auth.LiveSession(ctx, c.p)
	if code := chusme.ErrorCode(err); code == chusme.CodeInternal || code == chusme.CodeUnavailable {
		c.s.log.Error("websocket session check failed", "err", err)
		return nil // the store's trouble is not the peer's fault: the next ping checks again
	}
	return err
}

// drain drops whatever is still queued.
func (c *conn) drain() {
	for {
		select {
		case f := <-c.send:
			c.dequeued(f)
			if f.answer {
				c.paid()
			}
		default:
			return
		}
	}
}

// readLoop reads and handles requests until the peer goes away, a pong is
// late, or the connection fails.
func (c *conn) readLoop() {
	defer c.s.work.Done()
	c.ws.SetReadLimit(MaxMessage)
	c.ws.SetPongHandler(func(string) error { return c.ws.SetReadDeadline(time.Time{}) })
	for {
		mt, data, err := c.ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			switch {
			case errors.As(err, &ce):
				c.fail(chusmev1.CloseNormal, "")
			case errors.Is(err, websocket.ErrReadLimit):
				c.fail(chusmev1.CloseTooBig, "message too big")
			case isTimeout(err):
				c.fail(chusmev1.CloseGoingAway, "no pong within the timeout")
			default:
				c.fail(chusmev1.CloseGoingAway, "connection lost")
			}
			return
		}
		select {
		case <-c.quit:
			continue // answers would be dropped anyway; keep reading until the socket closes
		default:
		}
		// Back-pressure: wait while maxOwed answers are not yet written.
		if !c.owe() {
			continue
		}
		c.handle(mt, data)
	}
}

// handle answers one inbound message, of whatever kind, after counting it
// against the rate limits.
func (c *conn) handle(mt int, data []byte) {
	var env chusmev1.Envelope
	var serve func(context.Context) *chusmev1.Envelope
	kind := "text"
	if mt == websocket.BinaryMessage {
		kind = "invalid"
		if proto.Unmarshal(data, &env) == nil {
			switch env.GetPayload().(type) {
			case *chusmev1.Envelope_ServerInfoRequest:
				kind = "server_info"
			case *chusmev1.Envelope_CeremonySyncRequest, *chusmev1.Envelope_CreateCeremonyRequest, *chusmev1.Envelope_SubmitRequest,
				*chusmev1.Envelope_InboxRequest, *chusmev1.Envelope_CancelCeremonyRequest, *chusmev1.Envelope_ListCeremoniesRequest,
				*chusmev1.Envelope_DeclineCeremonyRequest, *chusmev1.Envelope_ComplaintRequest:
				kind, serve = c.ceremonyCall(&env)
			default:
				kind = "unknown"
			}
		}
	}
	c.s.ev.WSMessage(kind)
	id := env.GetRequestId()
	if refused := c.limited(kind); refused != nil {
		if c.refused++; c.refused > maxRefused {
			c.s.log.Warn("websocket closed: kept sending while rate limited", "fingerprint", c.p.Fingerprint)
			c.fail(chusmev1.CloseTooManyRequests, "too many requests: back off, then reconnect")
			c.paid()
			return
		}
		c.reply(id, refused)
		return
	}
	c.refused = 0
	switch {
	case serve != nil:
		c.ceremonyRequest(id, kind, serve)
	case kind == "server_info":
		c.reply(id, &chusmev1.Envelope{Payload: &chusmev1.Envelope_ServerInfoResponse{ServerInfoResponse: &chusmev1.ServerInfoResponse{
			Name: c.s.cfg.Name, Version: c.s.cfg.Version, Issuer: c.s.cfg.Issuer,
			Fingerprint: c.p.Fingerprint, ServerTimeUnixMs: c.s.cfg.Now().UnixMilli(),
		}}})
	case kind == "unknown":
		c.reply(id, errorEnvelope(chusme.CodeUnknownPayload, "this server does not handle that payload"))
	case kind == "text":
		c.reply(0, errorEnvelope(chusme.CodeInvalidMessage, "messages are binary frames holding a protobuf Envelope"))
	default:
		c.reply(0, errorEnvelope(chusme.CodeInvalidMessage, "the message is not a protobuf Envelope"))
	}
}

// reply queues env as the answer to request id: the one answer the reader
// owes each message it read.
func (c *conn) reply(id uint64, env *chusmev1.Envelope) {
	env.RequestId = id
	b, err := proto.Marshal(env)
	if err != nil {
		c.s.log.Error("websocket: encoding an answer failed", "err", err)
		c.paid()
		return
	}
	c.enqueue(&frame{data: b, size: len(b), answer: true})
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
