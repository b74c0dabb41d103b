package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// opMetrics are the latency and error families of one store: wsus_<sub>_
// operation_duration_seconds and wsus_<sub>_errors_total, by operation
// (the store method's name).
type opMetrics struct {
	seconds *prometheus.HistogramVec // operation
	errors  *prometheus.CounterVec   // operation, class
}

func newOpMetrics(sub, what string, buckets []float64) *opMetrics {
	return &opMetrics{
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wsus_" + sub + "_operation_duration_seconds",
			Help:    "Time the " + what + " took to answer a call, by operation (its method), failed calls included.",
			Buckets: buckets,
		}, []string{"operation"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wsus_" + sub + "_errors_total",
			Help: "Calls of the " + what + " that failed, by operation and class (unavailable, canceled, other...); not found is not counted.",
		}, []string{"operation", "class"}),
	}
}

func (m *opMetrics) register(reg prometheus.Registerer) { reg.MustRegister(m.seconds, m.errors) }

// observe records one call of op that started at start and ended with
// err; classify names err's class, "" for an error that is no failure
// (not found).
func (m *opMetrics) observe(op string, start time.Time, err error, classify func(error) string) {
	m.seconds.WithLabelValues(op).Observe(time.Since(start).Seconds())
	if err == nil {
		return
	}
	if class := classify(err); class != "" {
		m.errors.WithLabelValues(op, class).Inc()
	}
}

// contextClass names the errors of a call whose context ended, "" for
// others.
func contextClass(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return ""
}
