package httpx

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Registry is what the metrics need of a Prometheus registry; a
// *prometheus.Registry is one. It is passed in, never the global default, so
// tests and several servers in one process do not collide.
type Registry interface {
	prometheus.Registerer
	prometheus.Gatherer
}

// Metrics holds the HTTP layer's collectors.
type Metrics struct {
	reg      Registry
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

// NewMetrics registers the HTTP collectors on reg. Registering twice on the
// same registry reuses the collectors already there.
func NewMetrics(reg Registry) (*Metrics, error) {
	m := &Metrics{reg: reg}
	d := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "ispeks", Subsystem: "http", Name: "request_duration_seconds",
		Help:    "HTTP request latency by route template, method and status.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route", "method", "status"})
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "ispeks", Subsystem: "http", Name: "requests_in_flight",
		Help: "HTTP requests being served.",
	})
	var err error
	if m.duration, err = register(reg, d); err != nil {
		return nil, err
	}
	if m.inFlight, err = register(reg, g); err != nil {
		return nil, err
	}
	return m, nil
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, err
	}
	return c, nil
}

// Middleware observes every request's latency, labelled by route template
// (never the raw path), method and status.
func (m *Metrics) Middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		m.inFlight.Inc()
		defer m.inFlight.Dec()
		c.Next()
		m.duration.WithLabelValues(Route(c), MethodLabel(c.Request.Method), strconv.Itoa(c.Writer.Status())).
			Observe(time.Since(start).Seconds())
	}
}

// MethodLabel is the method as a metric label: the standard ones, else
// "other". net/http accepts any token as a method, and a client sending a
// new one per request would otherwise make a new series each time.
func MethodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() gin.HandlerFunc {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return gin.WrapH(h)
}
