package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
)

// Bounds of the load command: a load test stops by itself.
const (
	maxLoadRequests    = 1_000_000
	maxLoadConcurrency = 512
	maxLoadDuration    = 10 * time.Minute
)

// loadResult is what `chusme load` reports.
type loadResult struct {
	Scenario    string  `json:"scenario"`
	Requests    int64   `json:"requests"`
	Errors      int64   `json:"errors"`
	FirstError  string  `json:"first_error,omitempty"`
	Concurrency int     `json:"concurrency"`
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"per_second"`
	P50ms       float64 `json:"p50_ms"`
	P90ms       float64 `json:"p90_ms"`
	P99ms       float64 `json:"p99_ms"`
}

// load runs a bounded load test with the identity key: `login` answers
// challenges (challenge + token per request), `refresh` exchanges refresh
// tokens (each worker logs in once, then refreshes).
func (e *env) load(args []string) error {
	fs := e.flags("load")
	n := fs.Int("n", 2000, "")
	conc := fs.Int("concurrency", 8, "")
	dur := fs.Duration("duration", time.Minute, "")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 || (rest[0] != "login" && rest[0] != "refresh") {
		return usagef("load needs a scenario: login or refresh")
	}
	switch {
	case *n < 1 || *n > maxLoadRequests:
		return usagef("load: --n must be from 1 to %d", maxLoadRequests)
	case *conc < 1 || *conc > maxLoadConcurrency:
		return usagef("load: --concurrency must be from 1 to %d", maxLoadConcurrency)
	case *dur <= 0 || *dur > maxLoadDuration:
		return usagef("load: --duration must be at most %s", maxLoadDuration)
	}
	key, err := e.loadKey()
	if err != nil {
		return err
	}
	defer clear(key)

	ctx, cancel := context.WithTimeout(e.ctx, *dur)
	defer cancel()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conc, MaxConnsPerHost: *conc}}
	var issued, failed atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr string
	var wg sync.WaitGroup
	start := time.Now()
	for range *conc {
		c, err := client.New(e.server, client.WithHTTPClient(hc), client.WithUserAgent(userAgent+" load"), e.issuerOption())
		if err != nil {
			return err
		}
		if rest[0] == "refresh" {
			if _, err := c.Login(ctx, key); err != nil {
				return err
			}
		}
		wg.Go(func() {
			var mine []time.Duration
			for issued.Add(1) <= int64(*n) && ctx.Err() == nil {
				t := time.Now()
				var err error
				if rest[0] == "login" {
					_, err = c.Login(ctx, key)
				} else {
					_, err = c.Refresh(ctx)
				}
				if err != nil {
					if ctx.Err() != nil {
						break
					}
					if failed.Add(1) == 1 {
						mu.Lock()
						firstErr = fmt.Sprintf("%s: %s", chusme.ErrorCode(err), err)
						mu.Unlock()
					}
					continue
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	r := loadResult{
		Scenario: rest[0], Requests: int64(len(lat)), Errors: failed.Load(), FirstError: firstErr,
		Concurrency: *conc, Seconds: elapsed.Seconds(), PerSecond: float64(len(lat)) / elapsed.Seconds(),
		P50ms: pct(.5), P90ms: pct(.9), P99ms: pct(.99),
	}
	return e.output(r, func(w io.Writer) {
		fmt.Fprintf(w, "scenario\t%s\n", r.Scenario)
		fmt.Fprintf(w, "completed\t%d in %.2f s (%d errors)\n", r.Requests, r.Seconds, r.Errors)
		if r.FirstError != "" {
			fmt.Fprintf(w, "first error\t%s\n", r.FirstError)
		}
		fmt.Fprintf(w, "throughput\t%.0f/s with %d workers\n", r.PerSecond, r.Concurrency)
		fmt.Fprintf(w, "latency\tp50 %.2f ms, p90 %.2f ms, p99 %.2f ms\n", r.P50ms, r.P90ms, r.P99ms)
	})
}

// issuerOption passes the configured issuer, if any, to a client.
func (e *env) issuerOption() client.Option {
	if e.issuer == "" {
		return func(*client.Client) error { return nil }
	}
	return client.WithIssuer(e.issuer)
}
