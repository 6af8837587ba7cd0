package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// wsMetrics are the WebSocket transport's collectors.
type wsMetrics struct {
	live     prometheus.Gauge
	closed   *prometheus.CounterVec
	queue    prometheus.Gauge
	slow     prometheus.Counter
	messages *prometheus.CounterVec
}

func newWSMetrics(r *prometheus.Registry) wsMetrics {
	w := wsMetrics{
		live: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chusme_ws_connections", Help: "Live WebSocket connections.",
		}),
		closed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chusme_ws_closed_total", Help: "WebSocket connections ended, by close code.",
		}, []string{"code"}),
		queue: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chusme_ws_queue_bytes", Help: "Bytes waiting in WebSocket send queues.",
		}),
		slow: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chusme_ws_slow_consumers_total", Help: "WebSocket connections closed because their send queue overflowed.",
		}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chusme_ws_messages_total", Help: "Inbound WebSocket messages, by kind.",
		}, []string{"kind"}),
	}
	r.MustRegister(w.live, w.closed, w.queue, w.slow, w.messages)
	return w
}

// WSConnected records an accepted WebSocket.
func (m *Metrics) WSConnected() { m.ws.live.Inc() }

// WSClosed records a WebSocket that ended with code.
func (m *Metrics) WSClosed(code int) {
	m.ws.live.Dec()
	m.ws.closed.WithLabelValues(strconv.Itoa(code)).Inc()
}

// WSQueueBytes adds delta to the queued bytes.
func (m *Metrics) WSQueueBytes(delta int) { m.ws.queue.Add(float64(delta)) }

// WSSlowConsumer records a slow-consumer close.
func (m *Metrics) WSSlowConsumer() { m.ws.slow.Inc() }

// WSMessage records an inbound message of kind (server_info, ceremony_sync,
// unknown, invalid, text).
func (m *Metrics) WSMessage(kind string) { m.ws.messages.WithLabelValues(kind).Inc() }
