package wsapi

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/ratelimit"
	chusmev1 "github.com/chusme/chusme/proto/chusme/v1"
)

func errorEnvelope(code, msg string) *chusmev1.Envelope {
	return &chusmev1.Envelope{Payload: &chusmev1.Envelope_Error{Error: &chusmev1.Error{Code: code, Message: msg}}}
}

// ceremonyEvent is the protobuf view of a ceremony: chusme.CeremonyInfoOf,
// as the HTTP API sends it.
func ceremonyEvent(c chusme.Ceremony) *chusmev1.CeremonyEvent {
	return chusmev1.NewCeremonyEvent(chusme.CeremonyInfoOf(c))
}

// eventFrame encodes and frames a pushed message once for all its receivers.
func (s *Server) eventFrame(env *chusmev1.Envelope) *frame {
	b, err := proto.Marshal(env)
	if err != nil {
		s.log.Error("websocket: encoding a ceremony event failed", "err", err)
		return nil
	}
	pm, err := websocket.NewPreparedMessage(websocket.BinaryMessage, b)
	if err != nil {
		s.log.Error("websocket: framing a ceremony event failed", "err", err)
		return nil
	}
	return &frame{pm: pm, size: len(b)}
}

// EventCoalesce is the shortest time the push of a change that leaves a
// ceremony open in the same round (one more submission) waits for the next
// one: 100 ms; a ceremony of more than ten participants waits 10 ms per
// participant (coalesceWindow). A round of n submissions then pushes its n
// members a few changes instead of n each; a change of round or status is
// pushed at once, and with it the newest state, so the drivers, which wait
// for those, wait no longer.
const EventCoalesce = 100 * time.Millisecond

// coalescePerParticipant is how long a ceremony's changes are held per
// participant beyond ten: a push costs a frame per member, so 10 ms each
// keeps a ceremony's changes to about 100 frames a second whatever its size.
// At a fixed 100 ms a 67-of-100 DKG whose submissions came over 30 s (shared
// cores, or people answering at their own pace) pushed 3,900-4,100 frames;
// at 1 s, 966-1,000 (docs/performance-ceremonies.md).
const coalescePerParticipant = 10 * time.Millisecond

// coalesceWindow is how long a change of c is held: EventCoalesce, or 10 ms
// per participant when that is longer (1 s at 100, 2.55 s at 255).
func coalesceWindow(c chusme.Ceremony) time.Duration {
	return max(EventCoalesce, time.Duration(len(c.Participants))*coalescePerParticipant)
}

// coalescer holds back the intermediate changes of each ceremony.
type coalescer struct {
	mu      sync.Mutex
	held    map[string]chusme.Ceremony // id → the newest change not pushed yet
	settled map[string]pushed          // id → the last state pushed of each open ceremony
}

// pushed is what a change pushed as a CeremonyChange is measured against:
// the last state pushed of a ceremony.
type pushed struct {
	round, declines, excluded int
	version                   int64
	submitted                 []string // sorted, as the ceremony keeps it
}

// pushedOf is c as pushed.
func pushedOf(c chusme.Ceremony) pushed {
	return pushed{round: c.Round, declines: len(c.Declines), excluded: len(c.Excluded), version: c.Version,
		submitted: slices.Clone(c.Submitted)}
}

// changeOf is c as a CeremonyChange of the state last pushed, if all that
// changed since are submissions in the same round (of an open ceremony).
func (last pushed) changeOf(c chusme.Ceremony) (chusme.CeremonyChange, bool) {
	if c.Status != chusme.CeremonyOpen || c.Round != last.round || c.Version <= last.version ||
		len(c.Declines) != last.declines || len(c.Excluded) != last.excluded || len(c.Submitted) < len(last.submitted) {
		return chusme.CeremonyChange{}, false
	}
	added := make([]string, 0, len(c.Submitted)-len(last.submitted))
	for _, fp := range c.Submitted {
		if _, found := slices.BinarySearch(last.submitted, fp); !found {
			added = append(added, fp)
		}
	}
	if len(last.submitted)+len(added) != len(c.Submitted) {
		return chusme.CeremonyChange{}, false // someone's submission is gone: not a change of submissions only
	}
	return chusme.CeremonyChange{ID: c.ID, BaseVersion: last.version, Version: c.Version, Round: c.Round, Status: c.Status,
		Submitted: added, Needed: c.Needed(), UpdatedAt: chusme.WireTime(c.UpdatedAt)}, true
}

// CeremonyChanged pushes the ceremony's change to every live connection of
// its members (participants and creator): a change of round or status at
// once, as the whole state; otherwise within coalesceWindow, as a
// CeremonyChange of the state pushed before (the whole state when more than
// submissions changed). Call it after every committed change.
func (s *Server) CeremonyChanged(c chusme.Ceremony) {
	e := &s.events
	e.mu.Lock()
	if e.held == nil {
		e.held, e.settled = map[string]chusme.Ceremony{}, map[string]pushed{}
	}
	last, known := e.settled[c.ID]
	if known && last.round == c.Round && c.Status == chusme.CeremonyOpen {
		held, waiting := e.held[c.ID]
		if !waiting || held.Version < c.Version {
			e.held[c.ID] = c
		}
		e.mu.Unlock()
		if !waiting {
			time.AfterFunc(coalesceWindow(c), func() { s.flush(c.ID) })
		}
		return
	}
	if known && c.Version <= last.version {
		e.mu.Unlock()
		return // an older state, read back after a newer one was pushed
	}
	delete(e.held, c.ID)
	e.settle(c)
	e.mu.Unlock()
	s.push(c)
}

// settle records c as the last state pushed of its ceremony. The caller
// holds mu.
func (e *coalescer) settle(c chusme.Ceremony) {
	if c.Status == chusme.CeremonyOpen {
		e.settled[c.ID] = pushedOf(c)
	} else {
		delete(e.settled, c.ID)
	}
}

// flush pushes the change of ceremony id held back, if it still is: as a
// CeremonyChange when only submissions changed since the state pushed
// before, else whole.
func (s *Server) flush(id string) {
	e := &s.events
	e.mu.Lock()
	c, ok := e.held[id]
	delete(e.held, id)
	var change chusme.CeremonyChange
	delta := false
	if last, known := e.settled[id]; ok && known {
		if c.Version <= last.version {
			ok = false // a newer state went out meanwhile
		} else {
			change, delta = last.changeOf(c)
		}
	}
	if ok {
		e.settle(c)
	}
	e.mu.Unlock()
	switch {
	case !ok:
	case delta:
		s.pushChange(c, change)
	default:
		s.push(c)
	}
}

// pushChange sends a ceremony's change to every live connection of its
// members, encoded and framed once for all of them.
func (s *Server) pushChange(c chusme.Ceremony, change chusme.CeremonyChange) {
	f := s.eventFrame(&chusmev1.Envelope{Payload: &chusmev1.Envelope_CeremonyChange{CeremonyChange: chusmev1.NewCeremonyChange(change)}})
	if f == nil {
		return
	}
	s.each(c.Creator, func(cn *conn) { cn.enqueue(f) })
	for _, fp := range c.Participants {
		if fp != c.Creator {
			s.each(fp, func(cn *conn) { cn.enqueue(f) })
		}
	}
}

// push sends the ceremony's state to every live connection of its members.
// The event is encoded and framed once for all of them. When the ceremony
// service still has the commitments of a sign ceremony it has just moved to
// its share round, the participants' event carries them as its inbox (a
// creator who is not a participant gets the event without).
func (s *Server) push(c chusme.Ceremony) {
	ev := ceremonyEvent(c)
	plain := s.eventFrame(eventEnvelope(ev))
	if plain == nil {
		return
	}
	withInbox := plain
	if s.cers != nil && c.ShareRound(c.Round) && c.Status == chusme.CeremonyOpen {
		if subs, ok := s.cers.Relayed(c.ID); ok && len(subs) > 0 && subs[0].Round == c.Round-1 {
			ev.Inbox = chusmev1.NewCeremonyInbox(chusme.InboxOf(c.Round-1, true, subs))
			if withInbox = s.eventFrame(eventEnvelope(ev)); withInbox == nil {
				withInbox = plain
			}
		}
	}
	seen := make(map[string]bool, len(c.Participants)+1)
	for _, fp := range c.Participants {
		seen[fp] = true
		s.each(fp, func(cn *conn) { cn.enqueue(withInbox) })
	}
	if !seen[c.Creator] {
		s.each(c.Creator, func(cn *conn) { cn.enqueue(plain) })
	}
}

// eventEnvelope is the Envelope of a pushed ceremony event.
func eventEnvelope(ev *chusmev1.CeremonyEvent) *chusmev1.Envelope {
	return &chusmev1.Envelope{Payload: &chusmev1.Envelope_CeremonyEvent{CeremonyEvent: ev}}
}

// Broadcast sends one message to every live connection of the identities:
// the fan-out path of CeremonyChanged, for other events and benchmarks.
func (s *Server) Broadcast(env *chusmev1.Envelope, fps ...string) error {
	b, err := proto.Marshal(env)
	if err != nil {
		return err
	}
	pm, err := websocket.NewPreparedMessage(websocket.BinaryMessage, b)
	if err != nil {
		return err
	}
	f := &frame{pm: pm, size: len(b)}
	for _, fp := range fps {
		s.each(fp, func(cn *conn) { cn.enqueue(f) })
	}
	return nil
}

// sync answers a catch-up request: one ceremony if it changed after the
// version given, or every open ceremony of the caller.
func (s *Server) sync(ctx context.Context, caller string, req *chusmev1.CeremonySyncRequest) *chusmev1.Envelope {
	resp := &chusmev1.CeremonySyncResponse{}
	if id := req.GetCeremonyId(); id != "" {
		c, err := s.cers.Get(ctx, caller, id)
		if err != nil {
			return s.errorOf(err)
		}
		if c.Version > req.GetAfterVersion() {
			resp.Ceremonies = append(resp.Ceremonies, ceremonyEvent(c))
		}
	} else {
		cs, next, err := s.cers.List(ctx, caller, chusme.CeremonyListQuery{
			Status: chusme.CeremonyOpen, Cursor: req.GetCursor(), Limit: int(req.GetLimit())})
		if err != nil {
			return s.errorOf(err)
		}
		resp.NextCursor = next
		for _, c := range cs {
			resp.Ceremonies = append(resp.Ceremonies, ceremonyEvent(c))
		}
	}
	return &chusmev1.Envelope{Payload: &chusmev1.Envelope_CeremonySyncResponse{CeremonySyncResponse: resp}}
}

// errorOf is the Error envelope of a service error; internal detail goes to
// the log only.
func (s *Server) errorOf(err error) *chusmev1.Envelope {
	if errors.Is(err, context.DeadlineExceeded) {
		// The request outlasted requestTimeout (a loaded store): worth
		// retrying, as the answer to a store outage is.
		s.log.Warn("websocket request failed: out of time", "err", err)
		err = chusme.Errorf(chusme.CodeUnavailable, "the server did not finish the request within %s: retry shortly", requestTimeout)
	}
	switch chusme.ErrorCode(err) {
	case chusme.CodeInternal:
		s.log.Error("websocket request failed", "err", err)
	case chusme.CodeUnavailable:
		s.log.Warn("websocket request failed: store unavailable", "err", err)
	}
	env := errorEnvelope(chusme.ErrorCode(err), chusme.ErrorMessage(err))
	env.GetError().RetryAfterSeconds = uint32(min(ratelimit.RetryAfter(err), math.MaxUint32))
	return env
}
