package ratelimit

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/testkit"
)

func TestBurstThenRefuseWithRetryAfter(t *testing.T) {
	c := testkit.NewClock(time.Unix(1_700_000_000, 0))
	l := New(Limit{Events: 10, Per: time.Minute, Burst: 10}, c.Now)
	for i := range 10 {
		if ok, _ := l.Allow("ip"); !ok {
			t.Fatalf("request %d refused within the burst", i+1)
		}
	}
	ok, retry := l.Allow("ip")
	if ok {
		t.Fatal("11th request in a minute allowed")
	}
	if retry <= 0 || retry > 6*time.Second {
		t.Fatalf("retry after %v, want (0, 6s]", retry)
	}
	if ok, _ := l.Allow("other"); !ok {
		t.Fatal("another key shares the bucket")
	}
	c.Add(retry)
	if ok, _ := l.Allow("ip"); !ok {
		t.Fatal("refused after the advertised Retry-After")
	}
}

func TestIdleKeysEvicted(t *testing.T) {
	c := testkit.NewClock(time.Unix(1_700_000_000, 0))
	l := New(Limit{Events: 10, Per: time.Minute, Burst: 10}, c.Now)
	for _, k := range []string{"a", "b", "c"} {
		l.Allow(k)
	}
	if l.Len() != 3 {
		t.Fatalf("len %d, want 3", l.Len())
	}
	c.Add(2 * time.Minute)
	l.Allow("d")
	if l.Len() != 1 {
		t.Fatalf("after idle sweep len %d, want 1", l.Len())
	}
}

func TestZeroLimitAllowsAll(t *testing.T) {
	l := New(Limit{}, time.Now)
	for range 1000 {
		if ok, _ := l.Allow("x"); !ok {
			t.Fatal("unlimited limiter refused")
		}
	}
	if l.Len() != 0 {
		t.Fatal("unlimited limiter kept buckets")
	}
}

// TestTakeRefusal: Take's refusal is rate_limited, its message names what
// was refused, and its Seconds round up to whole seconds, at least 1.
func TestTakeRefusal(t *testing.T) {
	c := testkit.NewClock(time.Unix(1_700_000_000, 0))
	l := New(Limit{Events: 1, Per: time.Hour, Burst: 1}, c.Now)
	if err := l.Take("k", "things"); err != nil {
		t.Fatal(err)
	}
	err := l.Take("k", "things")
	testkit.WantCode(t, err, chusme.CodeRateLimited)
	var r *Refused
	if !errors.As(err, &r) || r.Seconds() != 3600 || !strings.Contains(err.Error(), "too many things; retry after 3600 s") {
		t.Fatalf("refusal %v", err)
	}
	for d, want := range map[time.Duration]int64{0: 1, time.Millisecond: 1, time.Second: 1, 1001 * time.Millisecond: 2} {
		if got := (&Refused{Retry: d}).Seconds(); got != want {
			t.Errorf("Seconds of %v = %d, want %d", d, got, want)
		}
	}
}

// Check refuses as Take would once the bucket is empty, with the same wait,
// but takes nothing and makes no bucket for a new key.
func TestCheckTakesNothing(t *testing.T) {
	c := testkit.NewClock(time.Unix(1_700_000_000, 0))
	l := New(Limit{Events: 6, Per: time.Minute, Burst: 2}, c.Now)
	for range 5 {
		if err := l.Check("ip", "requests"); err != nil {
			t.Fatalf("Check of a full bucket: %v", err)
		}
	}
	if l.Len() != 0 {
		t.Fatalf("Check made %d buckets, want none", l.Len())
	}
	l.Take("ip", "requests")
	if err := l.Check("ip", "requests"); err != nil {
		t.Fatalf("Check with one token left: %v", err)
	}
	l.Take("ip", "requests")
	err := l.Check("ip", "requests")
	var r *Refused
	if !errors.As(err, &r) || chusme.ErrorCode(err) != chusme.CodeRateLimited || r.Retry <= 0 || r.Retry > 10*time.Second {
		t.Fatalf("Check of an empty bucket: %v, want rate_limited within 10 s", err)
	}
	c.Add(r.Retry)
	if err := l.Check("ip", "requests"); err != nil {
		t.Fatalf("Check after its wait: %v", err)
	}
	if err := l.Take("ip", "requests"); err != nil {
		t.Fatalf("Take after Check's wait: %v", err)
	}
}

// RetryAfter: a refusal's seconds, 1 for unavailable, 0 for anything else.
func TestRetryAfter(t *testing.T) {
	for _, c := range []struct {
		err  error
		want int64
	}{
		{&Refused{Err: chusme.Errorf(chusme.CodeRateLimited, "x"), Retry: 2500 * time.Millisecond}, 3},
		{chusme.Errorf(chusme.CodeUnavailable, "store"), UnavailableRetryAfter},
		{chusme.Errorf(chusme.CodeInternal, "x"), 0},
		{errors.New("x"), 0},
		{nil, 0},
	} {
		if got := RetryAfter(c.err); got != c.want {
			t.Errorf("RetryAfter(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}
