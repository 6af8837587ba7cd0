package ceremony

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestFlightLoadsOnce: callers that ask for a key while it is loading wait
// for that one load; a failed load is not kept; a value older than the ttl
// is loaded again; past the size budget the cache starts over.
func TestFlightLoadsOnce(t *testing.T) {
	var f flight[string, int]
	var reads atomic.Int32
	release := make(chan struct{})
	size := func(int) int { return 1 }
	now := time.Unix(1000, 0)
	began := make(chan struct{})
	slow := func() (int, error) {
		if reads.Add(1) == 1 {
			close(began)
		}
		<-release
		return 7, nil
	}
	var wg sync.WaitGroup
	got := make([]int, 20)
	wg.Go(func() { got[0], _ = f.load(t.Context(), "a", now, 0, 10, size, slow) })
	<-began
	for i := 1; i < len(got); i++ {
		wg.Go(func() { got[i], _ = f.load(t.Context(), "a", now, 0, 10, size, slow) })
	}
	close(release)
	wg.Wait()
	for i, v := range got {
		if v != 7 {
			t.Fatalf("caller %d got %d, want 7", i, v)
		}
	}
	if n := reads.Load(); n != 1 {
		t.Fatalf("%d reads for %d callers, want 1", n, len(got))
	}

	boom := errors.New("boom")
	if _, err := f.load(t.Context(), "b", now, 0, 10, size, func() (int, error) { return 0, boom }); err != boom {
		t.Fatalf("failed load: %v", err)
	}
	if v, err := f.load(t.Context(), "b", now, 0, 10, size, func() (int, error) { return 2, nil }); v != 2 || err != nil {
		t.Fatalf("after a failed load: %d, %v; want it loaded again", v, err)
	}

	fresh := func(v int) func() (int, error) { return func() (int, error) { return v, nil } }
	f.load(t.Context(), "c", now, time.Second, 10, size, fresh(1))
	if v, _ := f.load(t.Context(), "c", now.Add(999*time.Millisecond), time.Second, 10, size, fresh(2)); v != 1 {
		t.Fatalf("within the ttl: %d, want the first value", v)
	}
	if v, _ := f.load(t.Context(), "c", now.Add(time.Second), time.Second, 10, size, fresh(3)); v != 3 {
		t.Fatalf("at the ttl: %d, want a new load", v)
	}

	var g flight[int, int]
	for k := range 3 {
		g.load(t.Context(), k, now, 0, 2, size, fresh(k))
	}
	if len(g.m) != 1 || g.total != 1 {
		t.Fatalf("past the budget of 2: %d values of total size %d, want the cache started over with 1", len(g.m), g.total)
	}

	ctx, cancel := context.WithCancel(t.Context())
	block, loading := make(chan struct{}), make(chan struct{})
	defer close(block)
	go f.load(t.Context(), "d", now, 0, 10, size, func() (int, error) { close(loading); <-block; return 4, nil })
	<-loading
	cancel()
	if _, err := f.load(ctx, "d", now, 0, 10, size, fresh(5)); !errors.Is(err, context.Canceled) {
		t.Fatalf("a waiter whose context ends: %v, want context.Canceled", err)
	}
}
