// Package ratelimit keeps one token bucket per key (a client IP, an
// identity) and evicts the buckets of keys that have gone quiet, so memory
// follows the set of active clients rather than every client ever seen.
package ratelimit

import (
	"errors"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/chusme/chusme"
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
	b := l.bucket(key, now, true)
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

// Check refuses as Take would when key's bucket holds no token, but takes
// none: for a bucket charged only after the fact (requests that turned out
// to fail), checked before the work. A nil Limiter allows everything.
func (l *Limiter) Check(key, what string) error {
	if l == nil || l.limit.Unlimited() {
		return nil
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(key, now, false)
	if b == nil {
		return nil // a new bucket is full
	}
	tokens := b.lim.TokensAt(now)
	if tokens >= 1 {
		return nil
	}
	return refused(time.Duration((1-tokens)/float64(l.every)*float64(time.Second)), what)
}

// bucket returns key's bucket at now, evicting idle ones first; a key
// without one gets a new full bucket if create is set, else nil. The caller
// holds mu.
func (l *Limiter) bucket(key string, now time.Time, create bool) *bucket {
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
		if !create {
			return nil
		}
		b = &bucket{lim: rate.NewLimiter(l.every, l.limit.Burst)}
		l.buckets[key] = b
	}
	b.last = now
	return b
}

// Take takes one token from key's bucket, like Allow. When none is left it
// returns a *Refused whose message names what (such as "requests"); every
// transport answers a refusal from it, so all carry the same retry hint.
func (l *Limiter) Take(key, what string) error {
	ok, retry := l.Allow(key)
	if ok {
		return nil
	}
	return refused(retry, what)
}

// refused is the *Refused of a request for what that may come back after
// retry.
func refused(retry time.Duration, what string) *Refused {
	e := &Refused{Retry: retry}
	e.Err = chusme.Errorf(chusme.CodeRateLimited, "too many %s; retry after %d s", what, e.Seconds())
	return e
}

// Refused is the error of a request over its limit: a chusme.Error with code
// rate_limited (found by errors.As through Unwrap) and the wait until the
// bucket holds a token again.
type Refused struct {
	Err   *chusme.Error
	Retry time.Duration
}

// Error implements the error interface.
func (e *Refused) Error() string { return e.Err.Error() }

// Unwrap returns the chusme.Error.
func (e *Refused) Unwrap() error { return e.Err }

// Seconds returns Retry in whole seconds, rounded up and at least 1: the
// value of a Retry-After header.
func (e *Refused) Seconds() int64 {
	s := int64(e.Retry / time.Second)
	if e.Retry%time.Second != 0 {
		s++
	}
	return max(s, 1)
}

// UnavailableRetryAfter is the wait, in whole seconds, that every transport
// asks for after an error with code chusme.CodeUnavailable: the store's
// outages that the code stands for (a database restarting, a connection
// lost) last about that long, and the client backs off further by itself.
const UnavailableRetryAfter = 1

// RetryAfter returns the whole seconds a client should wait before it
// retries after err, the value of a Retry-After header: a *Refused's
// Seconds, UnavailableRetryAfter for code unavailable, 0 for anything else
// (no header).
func RetryAfter(err error) int64 {
	var refused *Refused
	switch {
	case errors.As(err, &refused):
		return refused.Seconds()
	case chusme.ErrorCode(err) == chusme.CodeUnavailable:
		return UnavailableRetryAfter
	}
	return 0
}

// Len returns how many buckets are held.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
