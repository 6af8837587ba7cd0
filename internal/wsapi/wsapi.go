// Package wsapi is ChusMe's WebSocket transport (DESIGN §6): binary frames
// carrying the protobuf Envelope of proto/chusme/v1, pushed ceremony
// events, the HTTP API's ceremony requests (ceremony.go: the same service
// calls, limiters and error codes), and a registry of live connections per
// identity for fan-out.
//
// The HTTP upgrade (Upgrade, or ServeHTTP without a proxy in front) is a
// thin adapter: it checks Origin, authenticates the ticket or token of the
// URL, upgrades, and hands the connection to Accept, the server core. Accept
// registers the connection and starts its two goroutines — one reader, one
// writer — and returns, so that an idle connection holds two small goroutine
// stacks, a 1 KiB read buffer and its queue, and no write buffer (they are
// pooled). A request that reads or writes the store runs on a goroutine of
// its own while it lasts, so the reader's stack stays small too.
//
// Each connection has a bounded send queue of pushed events (SendQueue
// messages and SendQueueBytes bytes). An event that doesn't fit closes the
// connection with chusmev1.CloseSlowConsumer (4008): the queue is dropped at
// once, so the server's memory doesn't grow; the close frame follows once
// the socket takes it, or the connection is cut after WriteTimeout. Answers
// don't overflow it: the reader stops reading while maxOwed answers are not
// yet written (back-pressure on the requester), so a client that reads gets
// every answer, and one that never reads is cut by the writer's timeout.
//
// Every inbound message counts against Limits' per-identity limiter, and
// every one but the ceremony API's (charged to the identity only, as over
// HTTP) against the per-IP one (and creations and submissions against
// theirs). A refusal is an Error rate_limited with the seconds to wait; maxRefused refusals in a row
// and the next message closes the connection with
// chusmev1.CloseTooManyRequests (4029).
package wsapi

import (
	"time"
)

// Defaults of Config.
const (
	// DefaultPingInterval is how often the server pings an idle peer: 30 s.
	DefaultPingInterval = 30 * time.Second
	// DefaultPongTimeout is how long a peer has to answer a ping before it
	// is dropped: 10 s.
	DefaultPongTimeout = 10 * time.Second
	// DefaultWriteTimeout bounds one frame's write: 10 s. A peer that reads
	// nothing for that long is cut.
	DefaultWriteTimeout = 10 * time.Second
	// DefaultSendQueue is how many messages may wait for one connection's
	// writer: 32. A ceremony produces a few events per round, so only a
	// peer that stopped reading fills it.
	DefaultSendQueue = 32
	// DefaultSendQueueBytes is how many bytes may wait for one connection's
	// writer: 256 KiB.
	DefaultSendQueueBytes = 256 << 10
	// MaxMessage is the largest inbound message: 128 KiB, room for the
	// largest request (a ceremony creation with a 64 KiB message to sign
	// and 255 participants, ≈ 82 KiB; a DKG round 2 of 255 participants is
	// ≈ 58 KiB, a confirmation at most 48 KiB). Anything bigger is closed
	// with 1009. It bounds what one read may allocate, not a buffer a
	// connection keeps.
	MaxMessage = 128 << 10
	// readBufferSize is the per-connection read buffer: 1 KiB, enough for
	// every request in one read, small for ten thousand idle peers.
	readBufferSize = 1 << 10
	// writeBufferSize is the size of the pooled write buffers.
	writeBufferSize = 4 << 10
)

// Events receives what the metrics count. Every method must be cheap and
// safe for concurrent use.
type Events interface {
	WSConnected()             // a connection was accepted
	WSClosed(code int)        // a connection ended with this close code
	WSQueueBytes(delta int)   // bytes waiting in send queues changed by delta
	WSSlowConsumer()          // a connection was closed because its queue overflowed
	WSMessage(kind string)    // a request of this kind was handled
	RateLimited(scope string) // a request was refused by a rate limit of this scope
}

type noEvents struct{}

func (noEvents) WSConnected()       {}
func (noEvents) WSClosed(int)       {}
func (noEvents) WSQueueBytes(int)   {}
func (noEvents) WSSlowConsumer()    {}
func (noEvents) WSMessage(string)   {}
func (noEvents) RateLimited(string) {}
