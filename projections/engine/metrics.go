package engine

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	checkpoint  *prometheus.GaugeVec
	lag         *prometheus.GaugeVec
	head        prometheus.Gauge
	deadLetters *prometheus.CounterVec
	unknown     *prometheus.CounterVec
	commit      *prometheus.HistogramVec

	headPos atomic.Uint64

	mu        sync.Mutex
	positions map[string]uint64 // live projectors' committed checkpoints, for lag
}

func newMetrics(reg *prometheus.Registry) (*metrics, error) {
	m := &metrics{
		checkpoint: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ispeks_projection_checkpoint",
			Help: "Global log position up to which the projector has committed its read model.",
		}, []string{"projector"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ispeks_projection_lag_events",
			Help: "Event-log head position minus the projector's committed checkpoint.",
		}, []string{"projector"}),
		head: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ispeks_projection_log_head",
			Help: "Last event-log position the projection engine has seen.",
		}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ispeks_projection_dead_letters_total",
			Help: "Events a projector or consumer gave up on after retries.",
		}, []string{"projector"}),
		unknown: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ispeks_projection_unknown_events_total",
			Help: "Events of unregistered types a projector passed over.",
		}, []string{"projector", "type"}),
		commit: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ispeks_projection_commit_seconds",
			Help:    "Duration of one projector batch commit.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"projector"}),
		positions: map[string]uint64{},
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.checkpoint, m.lag, m.head, m.deadLetters, m.unknown, m.commit} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// seen raises the head to a position a subscription delivered.
func (m *metrics) seen(pos uint64) {
	for {
		cur := m.headPos.Load()
		if pos <= cur || m.headPos.CompareAndSwap(cur, pos) {
			return
		}
	}
}

// setHead records the log head read from the store and refreshes the lags.
func (m *metrics) setHead(pos uint64) {
	m.seen(pos)
	head := m.headPos.Load()
	m.head.Set(float64(head))
	m.mu.Lock()
	defer m.mu.Unlock()
	for name, cp := range m.positions {
		m.lag.WithLabelValues(name).Set(float64(head - min(cp, head)))
	}
}

func (m *metrics) committed(name string, cp uint64, rebuild bool, took time.Duration) {
	if rebuild {
		return
	}
	if took > 0 {
		m.commit.WithLabelValues(name).Observe(took.Seconds())
	}
	head := m.headPos.Load()
	m.mu.Lock()
	m.positions[name] = cp
	m.mu.Unlock()
	m.checkpoint.WithLabelValues(name).Set(float64(cp))
	m.lag.WithLabelValues(name).Set(float64(head - min(cp, head)))
}
