package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ceremonyMetrics are the FROST coordinator's collectors. Labels carry kinds,
// rounds, outcomes and operation names only.
type ceremonyMetrics struct {
	started  *prometheus.CounterVec
	finished *prometheus.CounterVec
	rounds   *prometheus.HistogramVec
	crypto   *prometheus.HistogramVec
	open     prometheus.Gauge
}

func newCeremonyMetrics(r *prometheus.Registry) ceremonyMetrics {
	c := ceremonyMetrics{
		started: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chusme_ceremonies_started_total", Help: "FROST ceremonies started, by kind.",
		}, []string{"kind"}),
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chusme_ceremonies_finished_total", Help: "FROST ceremonies finished, by kind, status (completed, failed, cancelled) and failure reason.",
		}, []string{"kind", "status", "reason"}),
		rounds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "chusme_ceremony_round_duration_seconds", Help: "Time from a ceremony round's start to its last submission, by kind and round.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5, 30, 60, 300},
		}, []string{"kind", "round"}),
		crypto: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "chusme_crypto_operation_duration_seconds", Help: "Coordinator cryptographic checks, by operation.",
			Buckets: []float64{.00001, .000025, .00005, .0001, .00025, .0005, .001, .0025, .005, .01, .05},
		}, []string{"op"}),
		open: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chusme_ceremonies_open", Help: "FROST ceremonies open (this node's view).",
		}),
	}
	r.MustRegister(c.started, c.finished, c.rounds, c.crypto, c.open)
	return c
}

// CeremonyStarted records a new ceremony.
func (m *Metrics) CeremonyStarted(kind string) { m.ceremony.started.WithLabelValues(kind).Inc() }

// CeremonyFinished records a ceremony's end.
func (m *Metrics) CeremonyFinished(kind, status, reason string) {
	m.ceremony.finished.WithLabelValues(kind, status, reason).Inc()
}

// CeremonyRound records the duration of a completed round.
func (m *Metrics) CeremonyRound(kind string, round int, d time.Duration) {
	m.ceremony.rounds.WithLabelValues(kind, strconv.Itoa(round)).Observe(d.Seconds())
}

// CryptoOp records the duration of a cryptographic operation.
func (m *Metrics) CryptoOp(op string, d time.Duration) {
	m.ceremony.crypto.WithLabelValues(op).Observe(d.Seconds())
}

// CeremoniesOpen sets the number of open ceremonies.
func (m *Metrics) CeremoniesOpen(n int) { m.ceremony.open.Set(float64(n)) }

// CeremonyOpenDelta changes the number of open ceremonies.
func (m *Metrics) CeremonyOpenDelta(delta int) { m.ceremony.open.Add(float64(delta)) }
