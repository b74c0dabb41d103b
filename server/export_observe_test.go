package server

import (
	"net/http"
	"time"

	"wsus/internal/reqinfo"
)

// ObserverFunc adapts a function to the routers' request observer.
type ObserverFunc func(reqinfo.Record)

// ObserveRequest calls f.
func (f ObserverFunc) ObserveRequest(rec reqinfo.Record) { f(rec) }

// SetRequestObserver makes both listeners of s hand every request's Record
// to o, as the metrics do.
func SetRequestObserver(s *Server, o ObserverFunc) {
	for _, rt := range []*router{s.client, s.admin} {
		if rt != nil {
			rt.observe = o
		}
	}
}

// SetAccessLogClock makes the access log's rate limit read now instead of
// the time, so that tests do not depend on how fast they run.
func SetAccessLogClock(s *Server, now func() time.Time) {
	if s.access != nil {
		s.access.now = now
		s.access.filled = now()
	}
}

// SetMetricsHandler serves h at /metrics on both listeners of s.
func SetMetricsHandler(s *Server, h http.Handler) {
	for _, rt := range []*router{s.client, s.admin} {
		if rt != nil {
			rt.metrics = h
		}
	}
}
