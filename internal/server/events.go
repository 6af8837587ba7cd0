package server

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

// crossNode publishes this node's ceremony changes and bans through
// PostgreSQL LISTEN/NOTIFY and delivers other nodes' ones to the WebSocket
// clients connected here.
type crossNode struct {
	db         *postgres.DB
	node       string
	ceremonies *ceremony.Service
	realtime   *wsapi.Server
	log        *slog.Logger
	out        chan nodeEvent

	mu   sync.Mutex
	open map[string]bool // ceremonies known to be open: resync re-reads them even once closed
}

// startCrossNode starts listening (the first LISTEN is in place when it
// returns) and publishing. It returns the ban hook that replaces
// realtime.Banned, and stop, which ends both and waits for them.
func startCrossNode(ctx context.Context, db *postgres.DB, ceremonies *ceremony.Service, realtime *wsapi.Server, log *slog.Logger) (onBan func(string), stop func(), err error) {
	ctx, cancel := context.WithCancel(ctx)
	x := &crossNode{
		db: db, node: rand.Text(), ceremonies: ceremonies, realtime: realtime, log: log,
		out: make(chan nodeEvent, eventQueue), open: map[string]bool{},
	}
	listening, err := db.Listen(ctx, eventsChannel, func(p string) { x.received(ctx, p) }, func() { x.resync(ctx) }, log)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	published := make(chan struct{})
	go func() {
		defer close(published)
		x.publish(ctx)
	}()
	ceremonies.OnChange(func(c chusme.Ceremony) {
		x.track(c)
		x.send(nodeEvent{Kind: "ceremony", ID: c.ID})
	})
	onBan = func(fp string) {
		realtime.Banned(fp)
		x.send(nodeEvent{Kind: "ban", FP: fp})
	}
	return onBan, func() { cancel(); <-listening; <-published }, nil
}

// send queues ev for publication without blocking.
func (x *crossNode) send(ev nodeEvent) {
	ev.Node = x.node
	select {
	case x.out <- ev:
	default:
		x.log.Warn("cross-node event queue full; dropping an event", "kind", ev.Kind)
	}
}

// publish notifies the queued events in order until ctx ends.
func (x *crossNode) publish(ctx context.Context) {
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
func (x *crossNode) received(ctx context.Context, payload string) {
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
func (x *crossNode) push(ctx context.Context, id string) {
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
func (x *crossNode) track(c chusme.Ceremony) {
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
func (x *crossNode) resync(ctx context.Context) {
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
