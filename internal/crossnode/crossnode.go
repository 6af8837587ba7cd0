// Package crossnode relays events between chusmed nodes that share one
// PostgreSQL database: each node publishes its ceremony changes and bans
// with NOTIFY, and delivers the other nodes' ones (received with LISTEN) to
// the WebSocket clients and long-polls it serves. Events are hints, never
// secrets: a node that missed some (its listening connection dropped)
// re-reads every open ceremony.
package crossnode

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"sync"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/ceremony"
	"github.com/chusme/chusme/internal/postgres"
	"github.com/chusme/chusme/internal/wsapi"
)

// eventsChannel is the PostgreSQL notification channel of cross-node events.
const eventsChannel = "chusme_events"

// eventQueue bounds the events waiting to be published; beyond it they are
// dropped (they are hints: clients catch up from ceremony versions, and a
// ban's sessions fail their next check).
const eventQueue = 1024

// nodeEvent is the payload of a cross-node notification: which ceremony
// changed or which identity was banned, never a secret.
type nodeEvent struct {
	Kind string `json:"kind"` // "ceremony" or "ban"
	ID   string `json:"id,omitempty"`
	FP   string `json:"fp,omitempty"`
	Node string `json:"node"` // the publishing node; it ignores its own events
}

// Relay publishes this node's ceremony changes and bans through PostgreSQL
// LISTEN/NOTIFY and delivers other nodes' ones to the WebSocket clients
// connected here.
type Relay struct {
	db         *postgres.DB
	node       string
	ceremonies *ceremony.Service
	realtime   *wsapi.Server
	log        *slog.Logger
	out        chan nodeEvent

	cancel               context.CancelFunc
	listening, published <-chan struct{} // closed when each loop has ended

	mu   sync.Mutex
	open map[string]bool // ceremonies known to be open: resync re-reads them even once closed
}

// Start starts relaying (the first LISTEN is in place when it returns):
// from now on the changes ceremonies reports are published, and other
// nodes' changes and bans reach ceremonies' waiters and realtime's
// connections. Bans made here go through Banned. Stop ends it.
func Start(ctx context.Context, db *postgres.DB, ceremonies *ceremony.Service, realtime *wsapi.Server, log *slog.Logger) (*Relay, error) {
	ctx, cancel := context.WithCancel(ctx)
	x := &Relay{
		db: db, node: rand.Text(), ceremonies: ceremonies, realtime: realtime, log: log,
		out: make(chan nodeEvent, eventQueue), open: map[string]bool{}, cancel: cancel,
	}
	listening, err := db.Listen(ctx, eventsChannel, func(p string) { x.received(ctx, p) }, func() { x.resync(ctx) }, log)
	if err != nil {
		cancel()
		return nil, err
	}
	published := make(chan struct{})
	go func() {
		defer close(published)
		x.publish(ctx)
	}()
	x.listening, x.published = listening, published
	ceremonies.OnChange(func(c chusme.Ceremony) {
		x.track(c)
		x.send(nodeEvent{Kind: "ceremony", ID: c.ID})
	})
	return x, nil
}

// Banned closes identity fp's WebSockets here (realtime.Banned) and tells
// the other nodes to close theirs: the ban hook of a node that relays.
func (x *Relay) Banned(fp string) {
	x.realtime.Banned(fp)
	x.send(nodeEvent{Kind: "ban", FP: fp})
}

// Stop ends listening and publishing and waits for both.
func (x *Relay) Stop() {
	x.cancel()
	<-x.listening
	<-x.published
}

// send queues ev for publication without blocking.
func (x *Relay) send(ev nodeEvent) {
	ev.Node = x.node
	select {
	case x.out <- ev:
	default:
		x.log.Warn("cross-node event queue full; dropping an event", "kind", ev.Kind)
	}
}

// publish notifies the queued events in order until ctx ends.
func (x *Relay) publish(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-x.out:
			b, _ := json.Marshal(ev)
			if err := x.db.Notify(ctx, eventsChannel, string(b)); err != nil && ctx.Err() == nil {
				x.log.Error("publishing a cross-node event failed", "kind", ev.Kind, "err", err)
			}
		}
	}
}

// received handles another node's event.
func (x *Relay) received(ctx context.Context, payload string) {
	var ev nodeEvent
	if err := json.Unmarshal([]byte(payload), &ev); err != nil {
		x.log.Warn("ignoring a malformed cross-node event", "err", err)
		return
	}
	if ev.Node == x.node {
		return
	}
	switch ev.Kind {
	case "ceremony":
		x.push(ctx, ev.ID)
	case "ban":
		x.realtime.Banned(ev.FP)
	}
}

// push re-reads a ceremony changed elsewhere and delivers it as a local
// change is: to the members' WebSockets and the long-polls.
func (x *Relay) push(ctx context.Context, id string) {
	c, err := x.db.GetCeremony(ctx, id)
	if err != nil {
		if chusme.ErrorCode(err) == chusme.CodeNotFound {
			x.track(chusme.Ceremony{ID: id})
		} else if ctx.Err() == nil {
			x.log.Error("reading a ceremony changed on another node failed", "ceremony", id, "err", err)
		}
		return
	}
	x.track(c)
	x.ceremonies.ChangedElsewhere(c)
	x.realtime.CeremonyChanged(c)
}

// track records whether c is open.
func (x *Relay) track(c chusme.Ceremony) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if c.Status == chusme.CeremonyOpen {
		x.open[c.ID] = true
	} else {
		delete(x.open, c.ID)
	}
}

// resync runs after the listening connection came back: events sent
// meanwhile are lost, so it pushes the current state of every open
// ceremony, and of those known open before, which may have finished
// meanwhile. Clients drop versions they already have.
func (x *Relay) resync(ctx context.Context) {
	open, err := x.db.ListCeremonies(ctx, chusme.CeremonyFilter{Status: chusme.CeremonyOpen, Limit: 1 << 20})
	if err != nil {
		if ctx.Err() == nil {
			x.log.Error("resynchronising ceremonies failed", "err", err)
		}
		return
	}
	x.mu.Lock()
	ids := make(map[string]bool, len(x.open)+len(open))
	for id := range x.open {
		ids[id] = true
	}
	x.mu.Unlock()
	for _, c := range open {
		delete(ids, c.ID)
		x.track(c)
		x.ceremonies.ChangedElsewhere(c)
		x.realtime.CeremonyChanged(c)
	}
	for id := range ids {
		x.push(ctx, id)
	}
	x.log.Info("cross-node events resynchronised", "open_ceremonies", len(open))
}
