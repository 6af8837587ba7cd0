package metrics

import "github.com/prometheus/client_golang/prometheus"

// Readiness exports chusme_ready: 1 while ready reports true, 0 otherwise,
// evaluated at every scrape. Call it once.
func (m *Metrics) Readiness(ready func() bool) {
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "chusme_ready", Help: "1 while /readyz would answer ready (store reachable, enough free disk), 0 otherwise.",
	}, func() float64 {
		if ready() {
			return 1
		}
		return 0
	}))
}
