package wsapi

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/chusme/chusme"
)

// Intermediate changes of a ceremony (submissions in the same round) are
// held back and only the newest is kept; a change of round or status goes
// out at once and drops what was held; an ended ceremony is forgotten.
func TestIntermediateEventsHeldBack(t *testing.T) {
	s := New(Config{}, nil, nil, nil, nil)
	e := &s.events
	c := chusme.Ceremony{ID: "c", Status: chusme.CeremonyOpen, Round: 1, Version: 1}
	held := func() (chusme.Ceremony, bool) {
		e.mu.Lock()
		defer e.mu.Unlock()
		h, ok := e.held["c"]
		return h, ok
	}
	s.CeremonyChanged(c) // the first state: pushed
	if _, ok := held(); ok {
		t.Fatal("the first state was held back")
	}
	for v := int64(2); v <= 4; v++ {
		c.Version = v
		s.CeremonyChanged(c)
	}
	older := c
	older.Version = 3
	s.CeremonyChanged(older) // out of order: the newest stays
	if h, ok := held(); !ok || h.Version != 4 {
		t.Fatalf("held %+v %v, want version 4", h, ok)
	}
	c.Version, c.Round = 5, 2 // the round moves on: at once
	s.CeremonyChanged(c)
	if _, ok := held(); ok {
		t.Fatal("a round change left an older state held back")
	}
	c.Version, c.Status = 6, chusme.CeremonyCompleted
	s.CeremonyChanged(c)
	e.mu.Lock()
	_, settled := e.settled["c"]
	e.mu.Unlock()
	if settled {
		t.Fatal("an ended ceremony is still remembered")
	}
}

// A ceremony request that runs out of time answers unavailable, with a
// retry hint, rather than internal: the client retries it.
func TestRequestOutOfTimeIsRetryable(t *testing.T) {
	s := New(Config{}, nil, nil, nil, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	<-ctx.Done()
	env := s.errorOf(fmt.Errorf("get ceremony: %w", ctx.Err()))
	if e := env.GetError(); e.GetCode() != chusme.CodeUnavailable || e.GetRetryAfterSeconds() == 0 || strings.Contains(e.GetMessage(), "deadline") {
		t.Fatalf("out of time: %+v", e)
	}
}
