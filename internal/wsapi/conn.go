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
	pm   *websocket.PreparedMessage
	data []byte
	size int
}

// conn is one live connection: its reader handles requests and queues the
// answers; its writer sends the queue, pings, and closes.
type conn struct {
	s    *Server
	ws   *websocket.Conn
	p    auth.Principal
	ip   string      // the client's address, for per-IP limits
	send chan *frame // the bounded queue; never closed
	// queued is how many bytes wait in send.
	queued atomic.Int64
	// running is how many ceremony requests are being served (see
	// ceremonyRequest).
	running atomic.Int32

	once   sync.Once
	quit   chan struct{} // closed by fail
	code   int           // the close code, set by fail before quit closes
	reason string
}

func newConn(s *Server, ws *websocket.Conn, p auth.Principal, ip string) *conn {
	return &conn{s: s, ws: ws, p: p, ip: ip, send: make(chan *frame, s.cfg.SendQueue), quit: make(chan struct{})}
}

// fail ends the connection with code: the first call wins. The writer then
// drops the queue, sends the close frame and closes the socket.
func (c *conn) fail(code int, reason string) {
	c.once.Do(func() {
		c.code, c.reason = code, reason
		close(c.quit)
	})
}

// enqueue adds f to the send queue without blocking. A queue that is full
// (in messages or bytes) closes the connection with chusmev1.CloseSlowConsumer.
func (c *conn) enqueue(f *frame) {
	select {
	case <-c.quit:
		return
	default:
	}
	if c.queued.Add(int64(f.size)) > int64(c.s.cfg.SendQueueBytes) {
		c.queued.Add(-int64(f.size))
		c.slow()
		return
	}
	select {
	case c.send <- f:
		c.s.queue.Add(int64(f.size))
		c.s.ev.WSQueueBytes(f.size)
	default:
		c.queued.Add(-int64(f.size))
		c.slow()
	}
}

func (c *conn) slow() {
	c.s.ev.WSSlowConsumer()
	c.s.log.Warn("websocket slow consumer closed", "fingerprint", c.p.Fingerprint, "queued_bytes", c.queued.Load())
	c.fail(chusmev1.CloseSlowConsumer, "slow consumer: send queue full")
}

// dequeued accounts for a frame that left the queue.
func (c *conn) dequeued(f *frame) {
	c.queued.Add(-int64(f.size))
	c.s.queue.Add(-int64(f.size))
	c.s.ev.WSQueueBytes(-f.size)
}

// writeLoop sends queued frames and pings until the connection fails, then
// closes it and unregisters it.
func (c *conn) writeLoop() {
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
			if err != nil {
				c.fail(chusmev1.CloseInternal, "write failed")
				return
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
	if chusme.ErrorCode(err) == chusme.CodeInternal {
		c.s.log.Error("websocket session check failed", "err", err)
		return nil // the store's trouble is not the peer's fault
	}
	return err
}

// drain drops whatever is still queued.
func (c *conn) drain() {
	for {
		select {
		case f := <-c.send:
			c.dequeued(f)
		default:
			return
		}
	}
}

// readLoop reads and handles requests until the peer goes away, a pong is
// late, or the connection fails.
func (c *conn) readLoop() {
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
		c.handle(mt, data)
	}
}

// handle answers one inbound message.
func (c *conn) handle(mt int, data []byte) {
	if mt != websocket.BinaryMessage {
		c.s.ev.WSMessage("text")
		c.reply(0, errorEnvelope(chusme.CodeInvalidMessage, "messages are binary frames holding a protobuf Envelope"))
		return
	}
	var env chusmev1.Envelope
	if err := proto.Unmarshal(data, &env); err != nil {
		c.s.ev.WSMessage("invalid")
		c.reply(0, errorEnvelope(chusme.CodeInvalidMessage, "the message is not a protobuf Envelope"))
		return
	}
	id := env.GetRequestId()
	switch env.GetPayload().(type) {
	case *chusmev1.Envelope_ServerInfoRequest:
		c.s.ev.WSMessage("server_info")
		c.reply(id, &chusmev1.Envelope{Payload: &chusmev1.Envelope_ServerInfoResponse{ServerInfoResponse: &chusmev1.ServerInfoResponse{
			Name: c.s.cfg.Name, Version: c.s.cfg.Version, Issuer: c.s.cfg.Issuer,
			Fingerprint: c.p.Fingerprint, ServerTimeUnixMs: c.s.cfg.Now().UnixMilli(),
		}}})
	case *chusmev1.Envelope_CeremonySyncRequest, *chusmev1.Envelope_CreateCeremonyRequest, *chusmev1.Envelope_SubmitRequest,
		*chusmev1.Envelope_InboxRequest, *chusmev1.Envelope_CancelCeremonyRequest, *chusmev1.Envelope_ListCeremoniesRequest:
		c.ceremonyRequest(&env)
	default:
		c.s.ev.WSMessage("unknown")
		c.reply(id, errorEnvelope(chusme.CodeUnknownPayload, "this server does not handle that payload"))
	}
}

// reply queues env as the answer to request id.
func (c *conn) reply(id uint64, env *chusmev1.Envelope) {
	env.RequestId = id
	b, err := proto.Marshal(env)
	if err != nil {
		c.s.log.Error("websocket: encoding an answer failed", "err", err)
		return
	}
	c.enqueue(&frame{data: b, size: len(b)})
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
