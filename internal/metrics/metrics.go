// Package metrics owns the server's Prometheus metrics. Labels carry routes,
// statuses and outcomes only: never identities, tokens or other secrets.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the collectors of one server. It is safe for concurrent use.
type Metrics struct {
	registry     *prometheus.Registry
	requests     *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	logins       *prometheus.CounterVec
	rateLimited  *prometheus.CounterVec
	refreshReuse prometheus.Counter
	ceremony     ceremonyMetrics
	ws           wsMetrics
}

// New returns a fresh set of metrics in its own registry, with the Go
// runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chusme_http_requests_total", Help: "HTTP requests by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "chusme_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chusme_logins_total", Help: "Login attempts (answered challenges) by outcome.",
		}, []string{"outcome"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chusme_rate_limit_rejections_total", Help: "Requests refused by a rate limit, by scope.",
		}, []string{"scope"}),
		refreshReuse: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chusme_refresh_reuse_detections_total", Help: "Used refresh tokens presented again; each revoked a session.",
		}),
	}
	m.ceremony = newCeremonyMetrics(m.registry)
	m.ws = newWSMetrics(m.registry)
	m.registry.MustRegister(m.requests, m.latency, m.logins, m.rateLimited, m.refreshReuse,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// Request records one HTTP request.
func (m *Metrics) Request(route, method string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

// Login records a login attempt's outcome ("ok" or a problem code).
func (m *Metrics) Login(outcome string) { m.logins.WithLabelValues(outcome).Inc() }

// RefreshReused records a refresh-token reuse detection.
func (m *Metrics) RefreshReused() { m.refreshReuse.Inc() }

// RateLimited records a request refused by the limit of scope ("ip", "identity", …).
func (m *Metrics) RateLimited(scope string) { m.rateLimited.WithLabelValues(scope).Inc() }
