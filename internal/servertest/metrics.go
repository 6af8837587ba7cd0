package servertest

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chusme/chusme/internal/testkit"
)

// Metrics is a scrape of a server's /metrics: sample ("name{labels}") →
// value.
type Metrics map[string]float64

// Metrics scrapes the server's Prometheus metrics. /metrics counts against
// the per-address limit, which a test's clients on 127.0.0.1 may have used
// up: a 429 is waited out for its Retry-After, as a scraper would, up to 5
// times.
func (s *Server) Metrics(t testing.TB) Metrics {
	t.Helper()
	r := testkit.Do(t, "GET", s.URL+"/metrics", "", nil)
	for range 5 {
		if r.Status != http.StatusTooManyRequests {
			break
		}
		wait, err := strconv.Atoi(r.Header.Get("Retry-After"))
		if err != nil || wait < 1 || wait > 60 {
			t.Fatalf("/metrics answered 429 with Retry-After %q", r.Header.Get("Retry-After"))
		}
		time.Sleep(time.Duration(wait) * time.Second) // the server's own wait, not a synchronisation
		r = testkit.Do(t, "GET", s.URL+"/metrics", "", nil)
	}
	r.Want(t, 200, nil)
	m := Metrics{}
	for line := range strings.Lines(string(r.Body)) {
		line = strings.TrimSpace(line)
		i := strings.LastIndexByte(line, ' ')
		if strings.HasPrefix(line, "#") || i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			m[line[:i]] = v
		}
	}
	return m
}

// Sum adds the samples of metric name whose labels (what follows the
// opening brace) keep accepts.
func (m Metrics) Sum(name string, keep func(labels string) bool) float64 {
	total := 0.0
	for k, v := range m {
		if rest, ok := strings.CutPrefix(k, name+"{"); ok && keep(rest) {
			total += v
		}
	}
	return total
}
