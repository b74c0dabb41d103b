package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Connection settings of every listener. There is deliberately no
// ReadTimeout or WriteTimeout: they would bound whole requests and answers,
// cutting long downloads; each path sets its own deadlines instead (see
// the package documentation).
const (
	readHeaderTimeout = 15 * time.Second
	// Delivery Optimization keeps up to 7 connections per client and
	// expects them to live longer than 30 s (MS-WUSP.md section 9, item 18).
	idleTimeout = 2 * time.Minute
	// maxHeaderBytes bounds a request's header block. Windows clients send
	// a few hundred bytes; IIS (http.sys) refuses more than 16 KiB.
	maxHeaderBytes = 64 << 10
)

// handlerGrace is how long Serve waits, after closing the connections
// still open at the shutdown deadline, for their handlers to return, so
// that the caller does not close the stores under them. Closing a
// connection ends its body reads and writes and cancels its request
// context, so they return at once unless a store ignores its context.
const handlerGrace = 2 * time.Second

// Listeners are the sockets a Server serves on. The caller opens them, so
// that it may wrap them first (tls.NewListener, for HTTPS).
type Listeners struct {
	// Client serves Windows Update clients: SOAP, content, health, and the
	// admin API unless Config.AdminListen is set.
	Client net.Listener
	// Admin serves the admin API and health; required when
	// Config.AdminListen is set, refused otherwise.
	Admin net.Listener
	// TLS, when set, serves what Client serves over HTTPS with the
	// certificate of Config.TLSCert (reloaded when it changes): a plain TCP
	// listener, which ServeListeners wraps in TLS.
	TLS net.Listener
}

// Serve serves on ln; see ServeListeners. It cannot serve a Server whose
// admin API has a listener of its own.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	return s.ServeListeners(ctx, Listeners{Client: ln})
}

// ServeListeners serves until ctx ends, then shuts down: the listeners
// close, idle connections close, and requests in flight get
// Config.ShutdownTimeout to finish; the connections still open then are
// closed (logged with their count) and ServeListeners returns nil. It
// returns an error only when a listener fails.
func (s *Server) ServeListeners(ctx context.Context, l Listeners) error {
	if l.Client == nil {
		return errors.New("server: serve: no client listener")
	}
	if (l.Admin != nil) != (s.admin != nil) {
		if s.admin != nil {
			return fmt.Errorf("server: serve: the admin API is to be served on %s of its own, but no admin listener was given", s.cfg.AdminListen)
		}
		return errors.New("server: serve: an admin listener was given, but the admin API is served on the client listener (Config.AdminListen is empty)")
	}
	if l.TLS != nil && s.certs == nil {
		return errNoTLSCert
	}
	st := &serveState{conns: map[net.Conn]struct{}{}}
	servers := []*http.Server{s.httpServer(s.client, st)}
	listeners := []net.Listener{l.Client}
	if l.Admin != nil {
		servers = append(servers, s.httpServer(s.admin, st))
		listeners = append(listeners, l.Admin)
	}
	if l.TLS != nil {
		servers = append(servers, s.httpServer(s.client, st))
		listeners = append(listeners, tls.NewListener(l.TLS, s.certs.tlsConfig()))
	}
	errc := make(chan error, len(servers))
	for i, hs := range servers {
		go func() { errc <- hs.Serve(listeners[i]) }()
	}
	go s.warmSnapshot(ctx)
	// Synchronizations stop with serving, whatever ends it, and record
	// their outcome before ServeListeners returns.
	syncCtx, stopSync := context.WithCancel(ctx)
	waitSync := s.sync.serve(syncCtx)
	defer waitSync()
	defer stopSync()
	rulesCtx, stopRules := context.WithCancel(ctx)
	waitRules := s.rules.serve(rulesCtx)
	defer waitRules()
	defer stopRules()
	var serveErr error
	select {
	case err := <-errc:
		serveErr = fmt.Errorf("server: serve: %w", err)
		errc <- http.ErrServerClosed // counted below like the others
	case <-ctx.Done():
	}
	s.shutdown(servers, st)
	s.access.flush()
	for range servers {
		if err := <-errc; serveErr == nil && err != nil && !errors.Is(err, http.ErrServerClosed) {
			serveErr = fmt.Errorf("server: serve: %w", err)
		}
	}
	return serveErr
}

// warmSnapshot builds the scan engine's first catalog snapshot while the
// listeners already accept, so that the first client does not wait for it
// (50,000 updates take seconds to load); a scan arriving meanwhile waits for
// the same build. A failure is logged and left to the first scan to retry.
func (s *Server) warmSnapshot(ctx context.Context) {
	start := time.Now()
	snap, err := s.engine.Snapshot(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.logger.Warn("catalog snapshot not loaded at start; the first scan loads it", "err", err)
		}
		return
	}
	s.logger.Info("catalog snapshot loaded", "revisions", snap.Len(), "duration", time.Since(start).Round(time.Millisecond))
}

// httpServer is the http.Server of one listener.
func (s *Server) httpServer(h http.Handler, st *serveState) *http.Server {
	return &http.Server{
		Handler:           st.track(h),
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ConnState:         st.connState,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
}

// shutdown stops every server gracefully within the shutdown timeout,
// then closes what is left.
func (s *Server) shutdown(servers []*http.Server, st *serveState) {
	timeout := s.cfg.ShutdownTimeout
	if timeout <= 0 {
		timeout = DefaultShutdownTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, hs := range servers {
		wg.Go(func() { _ = hs.Shutdown(ctx) })
	}
	wg.Wait()
	if ctx.Err() == nil {
		return
	}
	cut := st.open()
	for _, hs := range servers {
		_ = hs.Close()
	}
	s.logger.Warn("server: shutdown timeout passed; closed the connections still open",
		"timeout", timeout.String(), "connections", cut)
	if !st.wait(handlerGrace) {
		s.logger.Warn("server: requests still running after their connections were closed", "requests", st.running())
	}
}

// serveState counts the connections open and the handlers running.
type serveState struct {
	mu       sync.Mutex
	conns    map[net.Conn]struct{} // not closed nor hijacked
	handlers int
	idle     chan struct{} // closed when handlers drops to 0, if set
}

func (st *serveState) connState(c net.Conn, state http.ConnState) {
	st.mu.Lock()
	defer st.mu.Unlock()
	switch state {
	case http.StateNew:
		st.conns[c] = struct{}{}
	case http.StateClosed, http.StateHijacked:
		delete(st.conns, c)
	}
}

// open returns the number of connections open.
func (st *serveState) open() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.conns)
}

// running returns the number of handlers running.
func (st *serveState) running() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.handlers
}

// track counts h's calls in progress.
func (st *serveState) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st.mu.Lock()
		st.handlers++
		st.mu.Unlock()
		defer func() {
			st.mu.Lock()
			st.handlers--
			if st.handlers == 0 && st.idle != nil {
				close(st.idle)
				st.idle = nil
			}
			st.mu.Unlock()
		}()
		h.ServeHTTP(w, r)
	})
}

// wait waits up to d for the running handlers to return, and reports
// whether they did.
func (st *serveState) wait(d time.Duration) bool {
	st.mu.Lock()
	if st.handlers == 0 {
		st.mu.Unlock()
		return true
	}
	if st.idle == nil {
		st.idle = make(chan struct{})
	}
	idle := st.idle
	st.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-idle:
		return true
	case <-t.C:
		return false
	}
}
