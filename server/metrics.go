package server

import (
	"log/slog"
	"net/http"

	"wsus/catalog"
	"wsus/internal/metrics"
	"wsus/soap"
)

// newMetrics returns the metrics of one server (internal/metrics): its own
// registry, reading the admission control's gauges and, at scrape time
// through a cache, the catalog's statistics and sync runs from stores
// (undecorated: a scrape's read is not a request's store call).
func newMetrics(cfg Config, stores Stores, admission *soap.Admission, logger *slog.Logger) *metrics.Metrics {
	codes := soap.ErrorCodes()
	opts := metrics.Options{
		FaultCodes: make([]string, len(codes)),
		Admission:  admission,
		SyncRuns:   stores.Catalog,
		Logger:     logger,
		// Zero means metrics.DefaultStatsMaxAge.
		StatsMaxAge: cfg.MetricsStatsMaxAge,
	}
	for i, c := range codes {
		opts.FaultCodes[i] = string(c)
	}
	if st, ok := stores.Catalog.(catalog.StatsStore); ok {
		opts.Stats = st
	}
	return metrics.New(opts)
}

// soapService is a SOAP handler that names its service and operations
// (soap.Service): metrics count its requests under those names.
type soapService interface {
	Name() string
	Operations() []string
}

// handlerUnwrapper is a handler wrapping another (the upstream role's
// answer budget wraps its soap.Service).
type handlerUnwrapper interface {
	Unwrap() http.Handler
}

// declareOperations tells m the operations of every SOAP service handlers
// serve, through any wrappers; requests naming any other are counted as
// "other".
func declareOperations(m *metrics.Metrics, handlers map[string]http.Handler) {
	for _, h := range handlers {
		for h != nil {
			if s, ok := h.(soapService); ok {
				m.AddOperations(s.Name(), s.Operations())
				break
			}
			u, ok := h.(handlerUnwrapper)
			if !ok {
				break
			}
			h = u.Unwrap()
		}
	}
}
