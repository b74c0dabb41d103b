package load

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"wsus/clientsim"
	"wsus/soap/cookie"
)

// A fleet run (RunFleet) is an open-loop load: N computers that already
// know the server scan at the rate a real fleet of N scans at, whatever
// the server's speed. A slow server gets a growing number of concurrent
// scans, not fewer arrivals; only the generator's own bound on concurrent
// scans (FleetConfig.MaxInFlight) drops arrivals, and those are counted
// apart from the server's errors.
//
// Every computer holds what a reference agent holds after its first scan
// (clientsim.FleetTemplate): the whole catalog as deliverable to it. What
// differs between computers is computed from their index: the client ID
// (ComputerID), the DNS name, and the session cookie kept from the
// previous scan, 17.6 to 22 hours ago. That cookie is the server's own:
// the reference agent's cookie, opened with the server's cookie key and
// sealed again with the computer's client ID and issue time, so it carries
// the sync anchor a real computer's cookie carries after the same scan.
// A returning computer's cookie has expired (the server's lifetime is one
// hour), so its scan is GetAuthorizationCookie, GetCookie(oldCookie),
// SyncUpdates (software, carrying the whole cache, and the driver pass),
// GetExtendedUpdateInfo for the updates new to it, ReportEventBatch
// (MS-WUSP.md sections 3.2 and 3.3).
//
// The server learns the computers through RegisterComputer, each with a
// fresh cookie sealed as above, in a preparation phase run at full speed
// before the arrivals (FleetConfig.Register).

// RegisterMode says which computers RunFleet registers before the arrivals.
type RegisterMode string

// The registration modes.
const (
	// RegisterAll registers all N computers: the store holds N computers,
	// as the real server of a fleet of N does.
	RegisterAll RegisterMode = "all"
	// RegisterArriving registers only the computers that scan in this run
	// (the schedule is known in advance): cheaper, but the store holds
	// fewer computers than the fleet.
	RegisterArriving RegisterMode = "arriving"
	// RegisterNone registers none: an earlier run with the same seed and
	// at least as many computers did.
	RegisterNone RegisterMode = "none"
)

// Defaults of FleetConfig.
const (
	DefaultFleetDuration       = 5 * time.Minute
	DefaultMaxInFlight         = 2000
	DefaultPatchUpdates        = 10
	DefaultRegisterConcurrency = 32
)

// FleetConfig configures a fleet run. ServerURL, Computers and CookieKey
// are required; the zero value of every other field is usable.
type FleetConfig struct {
	// ServerURL is the base URL of the server under test; AllowRemote
	// permits a host that is not loopback (as Config.AllowRemote).
	ServerURL   string
	AllowRemote bool
	// Computers is N, the size of the fleet.
	Computers int
	// Seed selects the computers' IDs, the arrival times and which
	// computer arrives when (zero is a seed like any other).
	Seed uint64
	// CookieKey is the server's cookie key (cookie.KeySize bytes): the
	// generator seals each computer's old session cookie with it.
	CookieKey []byte
	// Duration is how long arrivals are generated (default 5 min); scans
	// in flight at its end finish.
	Duration time.Duration
	// Interval is the computers' DetectionFrequency (default 22 h); the
	// steady-state arrival rate is N / MeanScanInterval(Interval).
	Interval time.Duration
	// PatchTuesday approves PatchUpdates new updates through the admin API
	// at the start; every computer then scans within Window (default 2 h):
	// the arrival rate is N / Window.
	PatchTuesday bool
	Window       time.Duration
	PatchUpdates int
	// AdminURL is the admin API's base URL (default ServerURL) and
	// AdminToken an approver's token, for PatchTuesday.
	AdminURL, AdminToken string
	// MaxInFlight bounds the scans in flight (default DefaultMaxInFlight):
	// an arrival beyond it is dropped and counted as such.
	MaxInFlight int
	// Register says which computers to register first (default RegisterAll);
	// RegisterConcurrency is how many RegisterComputer calls run at once
	// (default DefaultRegisterConcurrency).
	Register            RegisterMode
	RegisterConcurrency int
	// RegisteredBefore, with RegisterAll, says computers 0 to
	// RegisteredBefore-1 were registered by an earlier run with the same
	// seed: only the others are registered (a search that raises N).
	RegisteredBefore int
	// TargetGroup, when set, is the client-side targeting group of every computer.
	TargetGroup string
	// RequestTimeout bounds each HTTP request (default 60 s).
	RequestTimeout time.Duration
	// ServerPID, when positive, is the server's process id on this
	// machine: its memory and the CPU it used during the arrivals are reported.
	ServerPID int
	// Identity leaves Accept-Encoding: xpress out (Config.Identity).
	Identity bool
	// PrepareOnly stops the run after the reference scan (with its report)
	// and the registration: a loader can then copy the reference
	// computer's stored state to the fleet's (scripts/fleetseed) before the
	// arrivals of a run with the same settings.
	PrepareOnly bool
	// Logger receives progress; nil discards.
	Logger *slog.Logger
}

// ReferenceID is the client ID of the reference agent of the fleet seed, a
// computer of its own beside the fleet's.
func ReferenceID(seed uint64) string { return ComputerID(seed^0x726566, 0) }

// Arrivals returns the arrivals a run with cfg schedules (Schedule at
// cfg.Rate() over cfg.Duration, defaults applied).
func (cfg FleetConfig) Arrivals() ([]Arrival, error) {
	if cfg.Duration == 0 {
		cfg.Duration = DefaultFleetDuration
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultDetectionInterval
	}
	if cfg.Window == 0 {
		cfg.Window = DefaultPatchWindow
	}
	return Schedule(cfg.Seed, cfg.Computers, cfg.Rate(), cfg.Duration)
}

// withDefaults validates cfg and fills in the defaults.
func (cfg FleetConfig) withDefaults() (FleetConfig, *url.URL, error) {
	base := Config{ServerURL: cfg.ServerURL, AllowRemote: cfg.AllowRemote}
	_, u, err := base.withDefaults()
	if err != nil {
		return cfg, nil, err
	}
	if cfg.Computers <= 0 {
		return cfg, nil, errors.New("load: fleet: the number of computers must be positive")
	}
	if len(cfg.CookieKey) != cookie.KeySize {
		return cfg, nil, fmt.Errorf("load: fleet: the server's cookie key is required (%d bytes, got %d)", cookie.KeySize, len(cfg.CookieKey))
	}
	for _, c := range []struct {
		name string
		bad  bool
	}{
		{"duration", cfg.Duration < 0},
		{"interval", cfg.Interval < 0},
		{"window", cfg.Window < 0},
		{"patch updates", cfg.PatchUpdates < 0},
		{"max in flight", cfg.MaxInFlight < 0},
		{"register concurrency", cfg.RegisterConcurrency < 0},
		{"registered before", cfg.RegisteredBefore < 0},
		{"request timeout", cfg.RequestTimeout < 0},
		{"server pid", cfg.ServerPID < 0},
	} {
		if c.bad {
			return cfg, nil, fmt.Errorf("load: fleet: %s out of range", c.name)
		}
	}
	switch cfg.Register {
	case "":
		cfg.Register = RegisterAll
	case RegisterAll, RegisterArriving, RegisterNone:
	default:
		return cfg, nil, fmt.Errorf("load: fleet: register %q is not %s, %s or %s", cfg.Register, RegisterAll, RegisterArriving, RegisterNone)
	}
	if cfg.Duration == 0 {
		cfg.Duration = DefaultFleetDuration
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultDetectionInterval
	}
	if cfg.Window == 0 {
		cfg.Window = DefaultPatchWindow
	}
	if cfg.PatchUpdates == 0 {
		cfg.PatchUpdates = DefaultPatchUpdates
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.RegisterConcurrency == 0 {
		cfg.RegisterConcurrency = DefaultRegisterConcurrency
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.AdminURL == "" {
		cfg.AdminURL = cfg.ServerURL
	}
	if cfg.PatchTuesday {
		a, err := url.Parse(cfg.AdminURL)
		if err != nil || (a.Scheme != "http" && a.Scheme != "https") || a.Host == "" {
			return cfg, nil, fmt.Errorf("load: fleet: admin URL %q is not an http(s) URL", cfg.AdminURL)
		}
		if !cfg.AllowRemote && !isLoopback(a.Hostname()) {
			return cfg, nil, fmt.Errorf("load: fleet: refusing admin URL %s: not a loopback address", cfg.AdminURL)
		}
		if strings.TrimSpace(cfg.AdminToken) == "" {
			return cfg, nil, errors.New("load: fleet: a Patch Tuesday needs an admin token (approver)")
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, u, nil
}

// Rate is the arrival rate of cfg in scans per second.
func (cfg FleetConfig) Rate() float64 {
	if cfg.PatchTuesday {
		return float64(cfg.Computers) / cfg.Window.Seconds()
	}
	return float64(cfg.Computers) / MeanScanInterval(cfg.Interval).Seconds()
}

// The reference agent's scans after the Patch Tuesday approvals: at most
// patchPropagationTries, patchPropagationPause apart.
const (
	patchPropagationTries = 60
	patchPropagationPause = 500 * time.Millisecond
)

// fleet is the state of one fleet run.
type fleet struct {
	cfg      FleetConfig
	http     *http.Client
	tmpl     *clientsim.FleetTemplate
	sealer   *cookie.Sealer
	ref      cookie.Session // the reference agent's session, opened
	lifetime time.Duration  // the server's cookie lifetime, from ref
	start    time.Time      // of the arrivals
}

// mint returns the session cookie computer i got at issued: the reference
// agent's session for that computer.
func (f *fleet) mint(i int, issued time.Time) (clientsim.SessionCookie, error) {
	s := f.ref
	s.ClientID = ComputerID(f.cfg.Seed, i)
	s.IssuedAt, s.Expires = issued.UTC(), issued.UTC().Add(f.lifetime)
	sealed, err := f.sealer.SealSession(s)
	if err != nil {
		return clientsim.SessionCookie{}, fmt.Errorf("load: fleet: seal cookie: %w", err)
	}
	return clientsim.SessionCookie{
		Expiration:    s.Expires.Format("2006-01-02T15:04:05.000Z"),
		EncryptedData: base64.StdEncoding.EncodeToString(sealed),
	}, nil
}

// computer returns computer i as it arrives at the run's time now: its
// previous scan, and so its cookie, is lastScanAge old.
func (f *fleet) computer(i int, now time.Time) (clientsim.Computer, error) {
	ck, err := f.mint(i, now.Add(-lastScanAge(f.cfg.Seed, i, f.cfg.Interval)))
	if err != nil {
		return clientsim.Computer{}, err
	}
	return clientsim.Computer{ClientID: ComputerID(f.cfg.Seed, i), DNSName: ComputerName(i), OldCookie: ck}, nil
}

// RunFleet runs an open-loop fleet run as cfg says and reports what it
// measured: a reference agent's first scan (the fleet's template), the
// registration of the computers, the Patch Tuesday approvals if any, then
// the scheduled arrivals. It returns an error only when the run cannot
// start or prepare (invalid config, a reference scan, registration or
// approval that fails); failed scans are counted in the report by kind.
func RunFleet(ctx context.Context, cfg FleetConfig) (FleetReport, error) {
	cfg, server, err := cfg.withDefaults()
	if err != nil {
		return FleetReport{}, err
	}
	rep := FleetReport{
		ServerURL: cfg.ServerURL, Computers: cfg.Computers, Seed: cfg.Seed, Duration: cfg.Duration,
		Interval: cfg.Interval, MaxInFlight: cfg.MaxInFlight, RatePerSecond: cfg.Rate(),
	}
	if cfg.PatchTuesday {
		rep.Window = cfg.Window
	}
	sealer, err := cookie.NewSealer(cfg.CookieKey)
	if err != nil {
		return rep, fmt.Errorf("load: fleet: %w", err)
	}
	hc := httpClient(Config{Clients: min(cfg.MaxInFlight, 1024), RequestTimeout: cfg.RequestTimeout}, server)
	defer hc.CloseIdleConnections()
	f := &fleet{cfg: cfg, http: hc, sealer: sealer}
	log := cfg.Logger

	// The reference agent: a computer of its own (index -1 is no fleet
	// computer's), whose first scan gives the template and the cookie.
	ref, err := clientsim.NewAgent(clientsim.Config{
		ServerURL: cfg.ServerURL, ClientID: ReferenceID(cfg.Seed), TargetGroup: cfg.TargetGroup,
		MaxSyncRounds: DefaultMaxSyncRounds, MaxInstalledNonLeaf: maxInstalledNonLeaf,
		HTTPClient: hc, Identity: cfg.Identity, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return rep, fmt.Errorf("load: fleet: %w", err)
	}
	t0 := time.Now()
	first, err := ref.Scan(ctx, clientsim.ScanOptions{Report: true})
	if err != nil {
		return rep, fmt.Errorf("load: fleet: reference first scan: %w", err)
	}
	rep.Reference = ReferenceScan{Elapsed: time.Since(t0), CachedIDs: 0, OfferedUpdates: len(first.OfferedUpdateIDs)}
	if f.tmpl, err = ref.FleetTemplate(); err != nil {
		return rep, fmt.Errorf("load: fleet: %w", err)
	}
	rep.Reference.CachedIDs = f.tmpl.CachedIDs()
	raw, err := base64.StdEncoding.DecodeString(ref.SessionCookie().EncryptedData)
	if err == nil {
		f.ref, err = sealer.OpenSession(raw)
	}
	if err != nil {
		return rep, fmt.Errorf("load: fleet: open the reference cookie (is the cookie key the server's?): %w", err)
	}
	f.lifetime = f.ref.Expires.Sub(f.ref.IssuedAt)
	f.ref.ChangedAfter, f.ref.ChangedUntil, f.ref.ChangedKey = 0, time.Time{}, 0 // a finished scan
	log.Info("fleet: reference scan", "elapsed", rep.Reference.Elapsed, "cached ids", rep.Reference.CachedIDs, "cookie lifetime", f.lifetime)

	arrivals, err := cfg.Arrivals()
	if err != nil {
		return rep, err
	}
	rep.Arrivals = len(arrivals)

	if err := f.register(ctx, arrivals, &rep.Registration); err != nil {
		return rep, err
	}
	if cfg.PrepareOnly {
		return rep, nil
	}
	var expected []string
	if cfg.PatchTuesday {
		pt, err := f.patchTuesday(ctx, ref)
		if err != nil {
			return rep, err
		}
		rep.PatchTuesday = &pt
		expected = pt.ExpectedNew
	}
	f.arrive(ctx, arrivals, expected, &rep)
	return rep, nil
}

// register registers the computers cfg.Register names, at
// cfg.RegisterConcurrency calls at a time.
func (f *fleet) register(ctx context.Context, arrivals []Arrival, reg *Registration) error {
	reg.Mode = f.cfg.Register
	var todo []int
	var next, done atomic.Int64
	switch f.cfg.Register {
	case RegisterNone:
		return nil
	case RegisterArriving:
		for _, a := range arrivals {
			todo = append(todo, a.Computer)
		}
	}
	from, n := 0, len(todo)
	if f.cfg.Register == RegisterAll {
		from, n = min(f.cfg.RegisteredBefore, f.cfg.Computers), f.cfg.Computers
	}
	next.Store(int64(from))
	f.cfg.Logger.Info("fleet: registering", "computers", n-from, "concurrency", f.cfg.RegisterConcurrency)
	start := time.Now()
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range f.cfg.RegisterConcurrency {
		wg.Go(func() {
			for ctx.Err() == nil {
				k := int(next.Add(1) - 1)
				if k >= n {
					return
				}
				i := k
				if todo != nil {
					i = todo[k]
				}
				now := time.Now()
				ck, err := f.mint(i, now)
				if err == nil {
					err = f.tmpl.Register(ctx, f.http, clientsim.Computer{ClientID: ComputerID(f.cfg.Seed, i), DNSName: ComputerName(i)}, ck)
				}
				if err != nil {
					once.Do(func() { firstErr = fmt.Errorf("load: fleet: register computer %d: %w", i, err) })
					next.Store(int64(n)) // stop the others
					return
				}
				if d := done.Add(1); d%50000 == 0 {
					f.cfg.Logger.Info("fleet: registered", "computers", d, "elapsed", time.Since(start).Round(time.Second))
				}
			}
		})
	}
	wg.Wait()
	reg.Computers = int(done.Load())
	reg.Elapsed = time.Since(start)
	if reg.Elapsed > 0 {
		reg.PerSecond = float64(reg.Computers) / reg.Elapsed.Seconds()
	}
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// patchTuesday approves cfg.PatchUpdates unapproved updates through the
// admin API, then has the reference agent scan again: the updates offered
// to it that it did not hold are what every computer must receive.
func (f *fleet) patchTuesday(ctx context.Context, ref *clientsim.Agent) (PatchTuesday, error) {
	admin := adminClient{http: &http.Client{Timeout: f.cfg.RequestTimeout}, base: strings.TrimSuffix(f.cfg.AdminURL, "/"), token: f.cfg.AdminToken}
	ids, err := admin.unapproved(ctx, f.cfg.PatchUpdates)
	if err != nil {
		return PatchTuesday{}, err
	}
	if len(ids) == 0 {
		return PatchTuesday{}, errors.New("load: fleet: Patch Tuesday: the catalog has no unapproved software update to approve")
	}
	for _, id := range ids {
		if err := admin.approve(ctx, id); err != nil {
			return PatchTuesday{}, err
		}
	}
	before := map[string]bool{}
	for _, id := range f.tmpl.OfferedUpdateIDs() {
		before[id] = true
	}
	pt := PatchTuesday{Approved: ids}
	// A server answers scans from a catalog snapshot up to its
	// --snapshot-max-age old (1 s by default): the reference scans again
	// until the approvals show, so that every arrival sees them.
	for try := 1; len(pt.ExpectedNew) == 0; try++ {
		if try > patchPropagationTries {
			return PatchTuesday{}, fmt.Errorf("load: fleet: Patch Tuesday: the %d approved updates were not offered to the reference agent after %d scans", len(ids), patchPropagationTries)
		}
		if try > 1 {
			select {
			case <-ctx.Done():
				return PatchTuesday{}, ctx.Err()
			case <-time.After(patchPropagationPause):
			}
		}
		res, err := ref.Scan(ctx, clientsim.ScanOptions{Report: true})
		if err != nil {
			return PatchTuesday{}, fmt.Errorf("load: fleet: Patch Tuesday: reference scan after the approvals: %w", err)
		}
		for _, id := range res.OfferedUpdateIDs {
			if !before[id] {
				pt.ExpectedNew = append(pt.ExpectedNew, id)
			}
		}
	}
	slices.Sort(pt.ExpectedNew)
	f.cfg.Logger.Info("fleet: Patch Tuesday", "approved", len(ids), "newly offered to the reference", len(pt.ExpectedNew))
	return pt, nil
}

// scanSample is what one arrival measured.
type scanSample struct {
	at       time.Duration // scheduled, from the start
	lag      time.Duration // actual start - scheduled
	latency  time.Duration
	res      clientsim.ReturningScanResult
	err      error
	complete bool // received every expected new update

	reportLatency time.Duration
	reportErr     error
	events        int // of the acknowledged report
}

// arrive runs the arrivals and fills in rep.
func (f *fleet) arrive(ctx context.Context, arrivals []Arrival, expected []string, rep *FleetReport) {
	cfg := f.cfg
	samples := make([]scanSample, len(arrivals))
	started := make([]bool, len(arrivals))
	var inFlight atomic.Int64
	var dropped atomic.Int64 // read by the progress log
	var done, failed atomic.Int64
	var serverCPU time.Duration
	if cfg.ServerPID > 0 {
		if m, err := ReadProcMemory(cfg.ServerPID); err == nil {
			rep.Server = &ServerProcess{PID: cfg.ServerPID, Before: m}
			serverCPU, _ = ReadProcCPU(cfg.ServerPID)
		}
	}
	selfCPU, selfErr := ReadProcCPU(os.Getpid())
	f.start = time.Now()
	rep.Started = f.start
	cfg.Logger.Info("fleet: arrivals start", "scheduled", len(arrivals), "rate/s", rep.RatePerSecond, "duration", cfg.Duration)
	stopProgress := tick(progressEvery, func(now time.Time) {
		cfg.Logger.Info("fleet: progress", "elapsed", now.Sub(f.start).Round(time.Second), "completed", done.Load(),
			"failed", failed.Load(), "in flight", inFlight.Load(), "dropped", dropped.Load())
	})

	var wg sync.WaitGroup
	timer := time.NewTimer(0)
	<-timer.C
loop:
	for k, a := range arrivals {
		if wait := time.Until(f.start.Add(a.At)); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				timer.Stop()
				break loop
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			break
		}
		if inFlight.Load() >= int64(cfg.MaxInFlight) {
			dropped.Add(1)
			continue
		}
		started[k] = true
		inFlight.Add(1)
		wg.Go(func() {
			defer inFlight.Add(-1)
			s := &samples[k]
			s.at = a.At
			begin := time.Now()
			s.lag = begin.Sub(f.start.Add(a.At))
			c, err := f.computer(a.Computer, begin)
			if err == nil {
				s.res, err = f.tmpl.Scan(ctx, f.http, c, clientsim.ReturningScanOptions{ExtendedInfo: true})
			}
			s.latency = time.Since(begin)
			s.err = err
			if err != nil {
				failed.Add(1)
				return
			}
			done.Add(1)
			s.complete = containsAll(s.res.NewOffered, expected)
			// The report follows the scan (the agent sends it 20 s to 2 min
			// later; here at once, so that the run's reports are all sent):
			// timed apart from the scan, its failure an error all the same.
			begin = time.Now()
			s.events, s.reportErr = f.tmpl.Report(ctx, f.http, c, s.res.Cookie, s.res.NewOffered)
			s.reportLatency = time.Since(begin)
			if s.reportErr != nil {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	stopProgress()
	rep.Elapsed = time.Since(f.start)
	rep.Interrupted = ctx.Err() != nil
	rep.Dropped = int(dropped.Load())

	if cpu, err := ReadProcCPU(os.Getpid()); err == nil && selfErr == nil {
		rep.GeneratorCPU = cpu - selfCPU
	}
	if rep.Server != nil {
		after, err := ReadProcMemory(cfg.ServerPID)
		var cpu time.Duration
		if err == nil {
			cpu, err = ReadProcCPU(cfg.ServerPID)
		}
		if err != nil {
			rep.Server.AfterError = err.Error()
		} else {
			rep.Server.After, rep.Server.CPU = after, cpu-serverCPU
		}
	}
	f.summarize(samples, started, expected != nil || cfg.PatchTuesday, rep)
}

// summarize fills in rep's counts and latencies from the samples of the
// started arrivals.
func (f *fleet) summarize(samples []scanSample, started []bool, patch bool, rep *FleetReport) {
	var lat, lag, firstHalf, secondHalf, reportLat []time.Duration
	errs := map[string]*ErrorCount{}
	var order []string
	count := func(phase string, err error) {
		kind := errorKind(err)
		if e := errs[phase+kind]; e != nil {
			e.Count++
			return
		}
		errs[phase+kind] = &ErrorCount{Phase: phase, Kind: kind, Count: 1, Example: err.Error()}
		order = append(order, phase+kind)
	}
	half := f.cfg.Duration / 2
	for k, s := range samples {
		if !started[k] {
			continue
		}
		rep.ScansStarted++
		lag = append(lag, s.lag)
		rep.SOAPCalls += s.res.Calls
		if s.err != nil {
			if rep.Interrupted && errors.Is(s.err, context.Canceled) {
				rep.ScansStarted--
				continue
			}
			rep.Failed++
			count("scan", s.err)
			continue
		}
		rep.Completed++
		lat = append(lat, s.latency)
		if s.at < half {
			firstHalf = append(firstHalf, s.latency)
		} else {
			secondHalf = append(secondHalf, s.latency)
		}
		r := s.res
		rep.SyncUpdates += r.SoftwareRounds + r.DriverRounds
		rep.NewUpdates += r.NewUpdates
		rep.ChangedUpdates += r.ChangedUpdates
		rep.OutOfScope += r.OutOfScope
		rep.ExtendedInfoRevisions += r.ExtendedInfoRevisions
		if r.ConfigRefreshed {
			rep.ConfigRefreshes++
		}
		switch {
		case s.reportErr == nil:
			rep.SOAPCalls++
			rep.ReportsAcknowledged++
			rep.EventsReported += s.events
			reportLat = append(reportLat, s.reportLatency)
		case rep.Interrupted && errors.Is(s.reportErr, context.Canceled):
		default:
			rep.SOAPCalls++
			rep.ReportsFailed++
			count("report", s.reportErr)
		}
		if patch {
			if s.complete {
				rep.PatchTuesday.ScansWithAllNew++
			} else {
				rep.PatchTuesday.ScansMissingNew++
			}
		}
	}
	for _, k := range order {
		rep.Errors = append(rep.Errors, *errs[k])
	}
	slices.SortStableFunc(rep.Errors, func(a, b ErrorCount) int { return b.Count - a.Count })
	rep.Latency, rep.FirstHalf, rep.SecondHalf, rep.StartLag = summarize(lat), summarize(firstHalf), summarize(secondHalf), summarize(lag)
	rep.ReportLatency = summarize(reportLat)
	if secs := rep.Elapsed.Seconds(); secs > 0 {
		rep.ScansPerSecond = float64(rep.Completed) / secs
		rep.SOAPCallsPerSecond = float64(rep.SOAPCalls) / secs
		rep.GeneratorCores = rep.GeneratorCPU.Seconds() / secs
		if rep.Server != nil {
			rep.ServerCores = rep.Server.CPU.Seconds() / secs
		}
	}
	if rep.Completed > 0 {
		rep.GeneratorCPUPerScan = rep.GeneratorCPU / time.Duration(rep.Completed)
		if rep.Server != nil {
			rep.ServerCPUPerScan = rep.Server.CPU / time.Duration(rep.Completed)
		}
	}
}

// containsAll reports whether got holds every id of want.
func containsAll(got, want []string) bool {
	for _, id := range want {
		if !slices.Contains(got, id) {
			return false
		}
	}
	return true
}
