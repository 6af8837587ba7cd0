// Package ratelimit keeps one token bucket per key (a client IP, an
// identity) and evicts the buckets of keys that have gone quiet, so memory
// follows the set of active clients rather than every client ever seen.
package ratelimit

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limit is a rate: Events per Per, with bursts of up to Burst. The zero
// Limit allows everything.
type Limit struct {
	Events int
	Per    time.Duration
	Burst  int
}

// Unlimited reports whether the limit allows everything.
func (l Limit) Unlimited() bool { return l.Events <= 0 || l.Per <= 0 }

// Limiter rate-limits per key. It is safe for concurrent use.
type Limiter struct {
	limit Limit
	every rate.Limit
	idle  time.Duration // a bucket unused this long is dropped
	now   func() time.Time

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	last time.Time
}

// New returns a limiter for l, with the clock now. A bucket unused for the
// time it takes to refill completely (at least a minute) is evicted: a fresh
// bucket is then the same as the old one.
func New(l Limit, now func() time.Time) *Limiter {
	lim := &Limiter{limit: l, now: now, buckets: map[string]*bucket{}}
	if l.Unlimited() {
		return lim
	}
	if l.Burst < 1 {
		lim.limit.Burst = 1
	}
	lim.every = rate.Limit(float64(l.Events) / l.Per.Seconds())
	lim.idle = max(time.Minute, time.Duration(float64(lim.limit.Burst)/float64(lim.every)*float64(time.Second)))
	return lim
}

// Allow takes one token from key's bucket. When none is left it returns
// false and how long until one is. A nil Limiter allows everything.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	if l == nil || l.limit.Unlimited() {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) >= l.idle {
		for k, b := range l.buckets {
			if now.Sub(b.last) >= l.idle {
				delete(l.buckets, k)
			}
		}
		l.lastSweep = now
	}
	b := l.buckets[key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(l.every, l.limit.Burst)}
		l.buckets[key] = b
	}
	b.last = now
	r := b.lim.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Duration(math.MaxInt64)
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// Len returns how many buckets are held.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
