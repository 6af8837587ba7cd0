package ceremony

import (
	"context"
	"sync"
	"time"

	"github.com/chusme/chusme"
)

// notifier wakes the long-polls of a ceremony when this node changes it. It
// is only a hint: the store stays the truth, and waiters reread it.
type notifier struct {
	mu sync.Mutex
	ch map[string]chan struct{}

	lmu       sync.RWMutex
	listeners []func(chusme.Ceremony) // OnChange callbacks
}

// OnChange registers fn to receive every ceremony this node creates or
// changes, right after the write committed (the WebSocket transport pushes
// it to the members). fn must not block. Like the long-poll wake-up it is a
// hint: the store stays the truth, and a reader that missed a call catches
// up from the ceremony's version.
func (s *Service) OnChange(fn func(chusme.Ceremony)) {
	s.notify.lmu.Lock()
	defer s.notify.lmu.Unlock()
	s.notify.listeners = append(s.notify.listeners, fn)
}

// changed calls the OnChange callbacks with c.
func (n *notifier) changed(c chusme.Ceremony) {
	n.lmu.RLock()
	defer n.lmu.RUnlock()
	for _, fn := range n.listeners {
		fn(c)
	}
}

func newNotifier() *notifier { return &notifier{ch: map[string]chan struct{}{}} }

// wait returns a channel that is closed at the ceremony's next change.
func (n *notifier) wait(id string) <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	c, ok := n.ch[id]
	if !ok {
		c = make(chan struct{})
		n.ch[id] = c
	}
	return c
}

// notify wakes every waiter of the ceremony.
func (n *notifier) notify(id string) {
	n.mu.Lock()
	c, ok := n.ch[id]
	delete(n.ch, id)
	n.mu.Unlock()
	if ok {
		close(c)
	}
}

// schedulerInterval returns how often the deadline scheduler scans the
// store: a tenth of the round timeout, between 50 ms and 1 s.
func (s *Service) schedulerInterval() time.Duration {
	return min(max(s.cfg.RoundTimeout/10, 50*time.Millisecond), time.Second)
}

// RunScheduler fails ceremonies whose round deadline has passed until ctx
// ends. Deadlines live in the store, so a restarted server catches up at
// once: it scans at start, then on a ticker. Several nodes may run it; each
// expiry is one transaction that rechecks the deadline.
func (s *Service) RunScheduler(ctx context.Context) {
	if n, err := s.store.CountCeremonies(ctx, chusme.CeremonyOpen); err == nil {
		s.ev.CeremoniesOpen(n)
	}
	t := time.NewTicker(s.schedulerInterval())
	defer t.Stop()
	for {
		s.ExpireDue(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ExpireDue fails every open ceremony whose deadline has passed.
func (s *Service) ExpireDue(ctx context.Context) {
	ids, err := s.store.DueCeremonies(ctx, s.now())
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("scanning ceremony deadlines failed", "err", err)
		}
		return
	}
	for _, id := range ids {
		if _, err := s.Expire(ctx, id); err != nil && ctx.Err() == nil {
			s.log.Error("expiring a ceremony failed", "ceremony", id, "err", err)
		}
	}
}

// ChangedElsewhere tells the service that another node changed ceremony c
// (as read back from the store): it refreshes the head hint and wakes the
// ceremony's long-polls. It does not call the OnChange callbacks; the caller
// pushes c itself.
func (s *Service) ChangedElsewhere(c chusme.Ceremony) {
	s.rememberHead(c)
	s.notify.notify(c.ID)
}
