// Package load runs many simulated Windows Update Agents (clientsim.Agent)
// against one server at once and measures what a WSUS server must sustain:
// first scans of new clients (GetConfig, authorization, RegisterComputer,
// every software SyncUpdates round and the driver pass) and delta scans of
// clients that already hold the whole catalog (one software SyncUpdates
// carrying the full cache, MS-WUSP.md §3.2, and the driver pass).
//
// Run reports per-scan latency percentiles computed exactly from every
// sample, throughput, errors by kind (never retried away or dropped), and
// optionally the server's memory. It only sends traffic to the configured
// server, and only to a loopback one unless AllowRemote is set.
package load

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"wsus/clientsim"
)

// Mode selects what the simulated clients do.
type Mode string

// The modes of a run.
const (
	// ModeFirstScan: every scan is the first scan of a new client (a fresh
	// Agent with a new client id).
	ModeFirstScan Mode = "first-scan"
	// ModeDelta: all clients first do their first scan together (reported
	// as the first-scan phase); once all are done the measured delta phase
	// starts, in which each client repeats delta scans.
	ModeDelta Mode = "delta"
	// ModeBoth: each client does its first scan, then repeats delta scans,
	// independently of the others, so the phases overlap.
	ModeBoth Mode = "both"
)

// Defaults of Config.
const (
	DefaultClients        = 200
	DefaultDuration       = 60 * time.Second
	DefaultRequestTimeout = 60 * time.Second
	// DefaultMaxSyncRounds bounds the SyncUpdates rounds of one pass: a
	// first scan of 50,000 updates at WS2025's page size of 30 needs 1,667.
	DefaultMaxSyncRounds = 10000
	// MaxClients bounds Config.Clients.
	MaxClients = 10000
)

// Config configures a load run. The zero value of every field but
// ServerURL is usable.
type Config struct {
	// ServerURL is the base URL of the server under test.
	ServerURL string
	// AllowRemote permits a ServerURL whose host is not a loopback address
	// or "localhost". Without it such a URL is refused.
	AllowRemote bool
	// Clients is the number of concurrent simulated clients (default 200).
	Clients int
	// Mode is what the clients do (default ModeBoth).
	Mode Mode
	// Duration bounds the measured part of the run (default 60 s): no scan
	// starts after it, scans in flight finish. In ModeDelta it starts when
	// every client has done its first scan.
	Duration time.Duration
	// Iterations, when positive, also bounds the run: the number of scans
	// of the repeated kind per client (first scans in ModeFirstScan, delta
	// scans otherwise). In ModeBoth a failed first scan, retried with a new
	// client, counts as one.
	Iterations int
	// Downloads makes every scan fetch GetExtendedUpdateInfo and download
	// and verify the content of offered updates (each file once per
	// client). Off by default: a load run measures metadata.
	Downloads bool
	// Report makes every scan end with ReportEventBatch. Off by default.
	Report bool
	// Install makes every scan install the updates approved for Install
	// whose files verified and report the results, as
	// clientsim.ScanOptions.Install does, with the outcomes InstallPlan
	// decides (zero: every install succeeds). It implies Downloads and
	// Report. Off by default.
	Install     bool
	InstallPlan clientsim.InstallPlan
	// TargetGroup, when set, is the client-side targeting group of every client.
	TargetGroup string
	// RequestTimeout bounds each HTTP request (default 60 s).
	RequestTimeout time.Duration
	// MaxSyncRounds bounds the SyncUpdates rounds of one pass (default DefaultMaxSyncRounds).
	MaxSyncRounds int
	// ServerPID, when positive, is the server's process id on this machine:
	// its VmRSS and VmHWM are read from /proc before and after the run, and
	// the CPU time it used during the run.
	ServerPID int
	// Identity makes the clients leave Accept-Encoding: xpress out, so that
	// the server answers uncompressed (clientsim.Config.Identity). Zero
	// asks for Xpress, as the native agent does.
	Identity bool
	// HTTPClient, when set, replaces the client Run builds (keep-alive
	// transport with MaxIdleConnsPerHost = Clients, no transparent
	// compression, RequestTimeout). Requests to any host but the server's
	// are refused either way.
	HTTPClient *http.Client
	// Logger receives progress (Info) and the first error of each kind
	// (Warn); nil discards.
	Logger *slog.Logger
	// Acks, when set, receives one JSON line (an Ack) for every
	// ReportEventBatch the server acknowledged, as it is acknowledged, so
	// that what the server promised to keep can be checked against the
	// store afterwards. Writes are serialized. Report.Acknowledged counts
	// them either way.
	Acks io.Writer
}

// withDefaults validates cfg and fills in the defaults.
func (cfg Config) withDefaults() (Config, *url.URL, error) {
	u, err := url.Parse(cfg.ServerURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return cfg, nil, fmt.Errorf("load: server URL %q is not an http(s) URL", cfg.ServerURL)
	}
	if !cfg.AllowRemote && !isLoopback(u.Hostname()) {
		return cfg, nil, fmt.Errorf("load: refusing to load %s: %q is not a loopback address (allow it explicitly to target another host)", cfg.ServerURL, u.Hostname())
	}
	if cfg.Install {
		cfg.Downloads, cfg.Report = true, true
	}
	if err := cfg.InstallPlan.Validate(); err != nil {
		return cfg, nil, fmt.Errorf("load: %w", err)
	}
	switch cfg.Mode {
	case "":
		cfg.Mode = ModeBoth
	case ModeFirstScan, ModeDelta, ModeBoth:
	default:
		return cfg, nil, fmt.Errorf("load: mode %q is not %s, %s or %s", cfg.Mode, ModeFirstScan, ModeDelta, ModeBoth)
	}
	for _, c := range []struct {
		name string
		bad  bool
	}{
		{"clients", cfg.Clients < 0 || cfg.Clients > MaxClients},
		{"duration", cfg.Duration < 0},
		{"iterations", cfg.Iterations < 0},
		{"request timeout", cfg.RequestTimeout < 0},
		{"max sync rounds", cfg.MaxSyncRounds < 0},
		{"server pid", cfg.ServerPID < 0},
	} {
		if c.bad {
			return cfg, nil, fmt.Errorf("load: %s out of range", c.name)
		}
	}
	if cfg.Clients == 0 {
		cfg.Clients = DefaultClients
	}
	if cfg.Duration == 0 {
		cfg.Duration = DefaultDuration
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.MaxSyncRounds == 0 {
		cfg.MaxSyncRounds = DefaultMaxSyncRounds
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, u, nil
}

// isLoopback reports whether host is "localhost" or a loopback IP literal.
// Other names are not resolved: a load run names its target exactly.
func isLoopback(host string) bool {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// errForeignHost is returned for a request to a host other than the server's.
var errForeignHost = errors.New("load: request to a host other than the server under test refused")

// hostGuard lets requests through only to the server under test (content
// URLs and redirects could name another host).
type hostGuard struct {
	next http.RoundTripper
	host string // canonicalHost of the server URL
}

// canonicalHost is u's lower-case host name and port, the scheme's default
// port when u names none.
func canonicalHost(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// RoundTrip implements http.RoundTripper.
func (g hostGuard) RoundTrip(r *http.Request) (*http.Response, error) {
	if canonicalHost(r.URL) != g.host {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, fmt.Errorf("%w: %s", errForeignHost, r.URL.Redacted())
	}
	return g.next.RoundTrip(r)
}

// CloseIdleConnections closes the idle connections of the guarded transport.
func (g hostGuard) CloseIdleConnections() {
	if c, ok := g.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// httpClient returns the client of a run: cfg.HTTPClient or a transport
// sized for the concurrency, behind a hostGuard either way.
func httpClient(cfg Config, server *url.URL) *http.Client {
	c := cfg.HTTPClient
	if c == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.DisableCompression = true // like the agent: no Accept-Encoding
		conns := cfg.Clients
		if cfg.Downloads {
			conns *= 5 // each agent fetches 4 pieces at once besides its SOAP connection
		}
		t.MaxIdleConns = conns
		t.MaxIdleConnsPerHost = conns
		c = &http.Client{Transport: t, Timeout: cfg.RequestTimeout}
	}
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	guarded := *c
	guarded.Transport = hostGuard{next: next, host: canonicalHost(server)}
	return &guarded
}
