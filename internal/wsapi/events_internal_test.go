package wsapi

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

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

// A held change is pushed as a CeremonyChange of the state pushed before
// when only submissions were added in the same round: the new submitters,
// sorted, on the old version; anything else (a decline, an exclusion, a
// submission gone, an older state) is not a change and goes out whole.
func TestChangeOfSubmissionsOnly(t *testing.T) {
	base := chusme.Ceremony{ID: "c", Kind: chusme.KindDKG, Status: chusme.CeremonyOpen, Round: 1, Version: 3,
		Participants: []string{"a", "b", "c", "d"}, Submitted: []string{"b"}}
	last := pushedOf(base)
	base.Submitted[0] = "x" // pushedOf keeps its own copy
	now := base
	now.Version, now.Submitted = 5, []string{"a", "b", "d"}
	ch, ok := last.changeOf(now)
	want := chusme.CeremonyChange{ID: "c", BaseVersion: 3, Version: 5, Round: 1, Status: chusme.CeremonyOpen,
		Submitted: []string{"a", "d"}, Needed: 1}
	if !ok || !reflect.DeepEqual(ch, want) {
		t.Fatalf("change %+v %v, want %+v", ch, ok, want)
	}
	for what, c := range map[string]chusme.Ceremony{
		"a decline":        func() chusme.Ceremony { c := now; c.Declines = []chusme.CeremonyDecline{{Fingerprint: "c"}}; return c }(),
		"an exclusion":     func() chusme.Ceremony { c := now; c.Excluded = []string{"c"}; return c }(),
		"a lost submitter": func() chusme.Ceremony { c := now; c.Submitted = []string{"a", "d"}; return c }(),
		"a swapped one":    func() chusme.Ceremony { c := now; c.Submitted = []string{"a", "c"}; return c }(),
		"the next round":   func() chusme.Ceremony { c := now; c.Round = 2; return c }(),
		"the end":          func() chusme.Ceremony { c := now; c.Status = chusme.CeremonyCompleted; return c }(),
		"no newer":         func() chusme.Ceremony { c := now; c.Version = 3; return c }(),
	} {
		if ch, ok := last.changeOf(c); ok {
			t.Errorf("%s made the change %+v", what, ch)
		}
	}
}

// A ceremony's changes are held 100 ms up to ten participants and 10 ms
// per participant beyond, so that a push to every member costs about as
// many frames a second whatever the ceremony's size.
func TestCoalesceWindowGrowsWithParticipants(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want time.Duration
	}{{2, 100 * time.Millisecond}, {10, 100 * time.Millisecond}, {11, 110 * time.Millisecond},
		{100, time.Second}, {chusme.MaxCeremonyParticipants, 2550 * time.Millisecond}} {
		c := chusme.Ceremony{Participants: make([]string, tc.n)}
		if got := coalesceWindow(c); got != tc.want {
			t.Errorf("coalesceWindow(%d participants) = %v, want %v", tc.n, got, tc.want)
		}
	}
}
