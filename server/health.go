package server

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"wsus/internal/version"
)

// pinger is the optional capability of a store to tell whether it answers
// now; checked at run time, as net/http checks http.Flusher. A store
// without it is taken as ready.
type pinger interface {
	Ping(ctx context.Context) error
}

// readyTimeout bounds each dependency's check of /readyz.
const readyTimeout = 2 * time.Second

// readyRetryAfter is the Retry-After (seconds) of a 503 from /readyz.
const readyRetryAfter = "5"

// health serves /healthz and /readyz.
type health struct {
	deps []dependency
	log  *slog.Logger
}

// dependency is a store /readyz checks.
type dependency struct {
	name  string // in the answer and the log: "catalog store"
	store any
}

func newHealth(stores Stores, logger *slog.Logger) *health {
	return &health{
		deps: []dependency{{"catalog store", stores.Catalog}, {"content store", stores.Blobs}},
		log:  logger,
	}
}

// live answers /healthz: 200 "ok" as long as the process serves requests
// (liveness: restarting it would not help anything this answers).
func (h *health) live(w http.ResponseWriter, _ *http.Request) {
	writeText(w, http.StatusOK, "ok\n")
}

// ready answers /readyz: 200 "ok" and the build (readyBody: "ok wsusd
// 1.2.0 (commit abc1234def56, go1.26.8)") when every store answers its
// Ping within readyTimeout (checked at the same time), else 503 with
// Retry-After and one line naming each store that did not. Probes look at
// the status only. The body names no address or
// cause, as /readyz is served to anyone reaching the client port; the
// cause is logged.
func (h *health) ready(w http.ResponseWriter, r *http.Request) {
	errs := make([]error, len(h.deps))
	var wg sync.WaitGroup
	for i, d := range h.deps {
		p, ok := d.store.(pinger)
		if !ok {
			continue
		}
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
			defer cancel()
			errs[i] = p.Ping(ctx)
		})
	}
	wg.Wait()
	var reasons []string
	for i, err := range errs {
		if err == nil {
			continue
		}
		reasons = append(reasons, "not ready: "+h.deps[i].name+" unavailable\n")
		if r.Context().Err() == nil {
			h.log.WarnContext(r.Context(), "server: not ready", "dependency", h.deps[i].name, "err", err)
		}
	}
	if len(reasons) > 0 {
		w.Header().Set("Retry-After", readyRetryAfter)
		writeText(w, http.StatusServiceUnavailable, strings.Join(reasons, ""))
		return
	}
	writeText(w, http.StatusOK, readyBody())
}

// readyBody is the body of a 200 from /readyz: "ok", then the running
// build (internal/version), so that a rolling upgrade can be followed
// replica by replica.
func readyBody() string {
	return "ok " + version.Get().String() + "\n"
}

// writeText answers a plain-text body that no cache keeps.
func writeText(w http.ResponseWriter, status int, body string) {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
