// Package console is the web console: the pages a WSUS administrator uses
// in the Update Services MMC console (the overview of what needs attention,
// the updates with their filters and approvals, the computers by group,
// rules and rings, synchronization, tokens and the audit log), served by
// wsusd under /console/ from files embedded in the binary. The browser
// needs no network access beyond the server: no CDN, no external fonts,
// charts drawn as inline SVG by the server.
//
// The console is a view over the admin REST API (catalog/admin), not a
// second implementation of it: every page reads, and every form writes,
// through the API handler, in process, with the signed-in person's own
// token. So the API decides every question of validity and permission, its
// audit log names the person, and the console shows the API's reason for
// every refusal as it is.
//
// Pages are rendered on the server with html/template (templates/), with a
// little script (static/console.js) for what must move without a reload:
// the live progress of a running synchronization, select-all for bulk
// actions. Every page works without the script.
//
// Sign-in takes an API token; the session is a cookie sealed with the
// server's cookie key (soap/cookie, purpose "console-session-v1"), HttpOnly,
// SameSite=Strict, lasting SessionTTL, so any replica opens what another
// sealed and the server keeps no session state. Every change is a POST
// checked twice against cross-site request forgery: net/http's
// CrossOriginProtection (Sec-Fetch-Site, Origin) and a per-session token in
// every form.
package console

import (
	"embed"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"wsus/soap/cookie"
)

// Prefix is the path the console is mounted at; it answers full paths.
const Prefix = "/console/"

// DefaultSessionTTL is how long a sign-in lasts when Config.SessionTTL is
// zero: a working day, as the client authorization cookie.
const DefaultSessionTTL = 8 * time.Hour

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config configures the console; API and Sealer are required.
type Config struct {
	// API is the admin API handler (catalog/admin); it answers the full
	// paths under /api/v1/.
	API http.Handler
	// Sealer seals the session cookie: the server's cookie sealer, so every
	// replica opens what another sealed.
	Sealer *cookie.Sealer
	// Logger receives failures the person cannot act on; nil discards them.
	Logger *slog.Logger
	// SessionTTL is how long a sign-in lasts; zero means DefaultSessionTTL.
	SessionTTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Console serves the web console.
type Console struct {
	api    http.Handler
	sealer *cookie.Sealer
	log    *slog.Logger
	ttl    time.Duration
	now    func() time.Time
	mux    *http.ServeMux
	pages  *pages
	origin *http.CrossOriginProtection
}

// New returns the console over cfg's API.
func New(cfg Config) (*Console, error) {
	if cfg.API == nil || cfg.Sealer == nil {
		return nil, fmt.Errorf("console: the API handler and the cookie sealer are required")
	}
	c := &Console{api: cfg.API, sealer: cfg.Sealer, log: cfg.Logger, ttl: cfg.SessionTTL, now: cfg.Now,
		mux: http.NewServeMux(), origin: http.NewCrossOriginProtection()}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.ttl <= 0 {
		c.ttl = DefaultSessionTTL
	}
	if c.now == nil {
		c.now = time.Now
	}
	var err error
	if c.pages, err = parsePages(); err != nil {
		return nil, err
	}
	c.routeSession()
	c.routeOverview()
	c.routeUpdates()
	c.routeComputers()
	c.routeRules()
	c.routeSync()
	c.routeAccess()
	c.mux.Handle("GET /console/static/", http.StripPrefix("/console/", http.FileServerFS(staticFS)))
	c.mux.HandleFunc("/console/", c.notFound)
	return c, nil
}

// ServeHTTP serves r, a request under Prefix. Every answer carries the
// security headers (securityHeaders); every request but GET and HEAD must
// pass the cross-origin check before any handler sees it.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w.Header())
	if r.URL.Path == "/console" {
		http.Redirect(w, r, Prefix, http.StatusMovedPermanently)
		return
	}
	if err := c.origin.Check(r); err != nil {
		c.renderError(w, r, nil, http.StatusForbidden, "This request came from another site, so it was refused (cross-site request forgery protection). Reload the page and try again.")
		return
	}
	c.mux.ServeHTTP(w, r)
}

// securityHeaders are sent with every answer: the pages load nothing but
// the console's own files (Content-Security-Policy), are never framed, and
// are never cached (they show live state and carry the CSRF token).
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// notFound answers a console path no page serves.
func (c *Console) notFound(w http.ResponseWriter, r *http.Request) {
	s, _ := c.session(r)
	c.renderError(w, r, s, http.StatusNotFound, "There is no console page at "+r.URL.Path+".")
}
