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

// codeLoadErrors: more of a load test's requests failed (errors and 429s
// together) than --max-error-rate allows.
const codeLoadErrors = "load_errors"

// loadResult is what `chusme load` reports. Requests counts those that
// succeeded (and PerSecond and the percentiles are theirs); RateLimited
// those refused with 429; Errors every other failure.
type loadResult struct {
	Scenario    string  `json:"scenario"`
	Requests    int64   `json:"requests"`
	RateLimited int64   `json:"rate_limited"`
	Errors      int64   `json:"errors"`
	ErrorRate   float64 `json:"error_rate"` // (RateLimited + Errors) / all attempts
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
	maxRate := fs.Float64("max-error-rate", 0.01, "")
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
	case !(*maxRate >= 0 && *maxRate <= 1):
		return usagef("load: --max-error-rate must be from 0 to 1")
	}
	key, err := e.loadKey()
	if err != nil {
		return err
	}
	defer clear(key)

	ctx, cancel := context.WithTimeout(e.ctx, *dur)
	defer cancel()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conc, MaxConnsPerHost: *conc}}
	var issued, failed, limited atomic.Int64
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
					if chusme.ErrorCode(err) == chusme.CodeRateLimited {
						limited.Add(1)
						continue
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
		Scenario: rest[0], Requests: int64(len(lat)), RateLimited: limited.Load(), Errors: failed.Load(), FirstError: firstErr,
		Concurrency: *conc, Seconds: elapsed.Seconds(), PerSecond: float64(len(lat)) / elapsed.Seconds(),
		P50ms: pct(.5), P90ms: pct(.9), P99ms: pct(.99),
	}
	if all := r.Requests + r.RateLimited + r.Errors; all > 0 {
		r.ErrorRate = float64(r.RateLimited+r.Errors) / float64(all)
	}
	err = e.output(r, func(w io.Writer) {
		fmt.Fprintf(w, "scenario\t%s\n", r.Scenario)
		fmt.Fprintf(w, "succeeded\t%d in %.2f s\n", r.Requests, r.Seconds)
		fmt.Fprintf(w, "refused (429)\t%d\n", r.RateLimited)
		fmt.Fprintf(w, "other errors\t%d\n", r.Errors)
		if r.FirstError != "" {
			fmt.Fprintf(w, "first error\t%s\n", r.FirstError)
		}
		fmt.Fprintf(w, "throughput\t%.0f/s succeeded with %d workers\n", r.PerSecond, r.Concurrency)
		fmt.Fprintf(w, "latency\tp50 %.2f ms, p90 %.2f ms, p99 %.2f ms (of the successes)\n", r.P50ms, r.P90ms, r.P99ms)
	})
	if err == nil && r.ErrorRate > *maxRate {
		err = chusme.Errorf(codeLoadErrors, "%.1f %% of the requests failed (%d refused with 429, %d other errors), above --max-error-rate %g: "+
			"the figures above are not the server's capacity (raise its --rate-* limits for a load test, or lower --concurrency)",
			100*r.ErrorRate, r.RateLimited, r.Errors, *maxRate)
	}
	return err
}

// issuerOption passes the configured issuer, if any, to a client.
func (e *env) issuerOption() client.Option {
	if e.issuer == "" {
		return func(*client.Client) error { return nil }
	}
	return client.WithIssuer(e.issuer)
}
