package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"wsus/clientsim"
)

const (
	// progressEvery is how often Run logs progress.
	progressEvery = 10 * time.Second
	// failurePause is how long a client waits after a failed scan.
	failurePause = 100 * time.Millisecond
	// maxInstalledNonLeaf is the clients' clientsim.Config.MaxInstalledNonLeaf:
	// the cap real WSUS puts on InstalledNonLeafUpdateIDs.
	maxInstalledNonLeaf = 400
)

// Run runs cfg.Clients simulated clients against cfg.ServerURL as cfg.Mode
// says, until cfg.Duration has passed, cfg.Iterations are done or ctx is
// cancelled, and reports what it measured. It returns an error only when the
// run cannot start (invalid Config, a refused host, an unreadable
// ServerPID); failed scans are counted in the Report, by kind, and the client
// pauses 100 ms before its next scan. Scans cut short by ctx are neither
// counted nor errors; the Report says Interrupted.
func Run(ctx context.Context, cfg Config) (Report, error) {
	cfg, server, err := cfg.withDefaults()
	if err != nil {
		return Report{}, err
	}
	rep := Report{
		ServerURL: cfg.ServerURL, Mode: cfg.Mode, Clients: cfg.Clients,
		Duration: cfg.Duration, Iterations: cfg.Iterations,
		Downloads: cfg.Downloads, ReportEvents: cfg.Report,
	}
	var serverCPU time.Duration
	if cfg.ServerPID > 0 {
		before, err := ReadProcMemory(cfg.ServerPID)
		if err == nil {
			serverCPU, err = ReadProcCPU(cfg.ServerPID)
		}
		if err != nil {
			return Report{}, fmt.Errorf("load: server process: %w", err)
		}
		rep.Server = &ServerProcess{PID: cfg.ServerPID, Before: before}
	}
	clientCPU, clientCPUErr := ReadProcCPU(os.Getpid())

	r := &runner{cfg: cfg, http: httpClient(cfg, server), log: cfg.Logger, warned: map[string]bool{}}
	acks := &ackLog{w: cfg.Acks}
	r.http.Transport = ackRecorder{next: r.http.Transport, log: acks}
	if cfg.HTTPClient == nil {
		defer r.http.CloseIdleConnections() // the run's own connections end with it
	}
	workers := make([]*worker, cfg.Clients)
	for i := range workers {
		workers[i] = &worker{r: r}
	}
	rep.Started = time.Now()
	stopProgress := r.progress(rep.Started)
	r.log.Info("load run", "server", cfg.ServerURL, "mode", cfg.Mode, "clients", cfg.Clients,
		"duration", cfg.Duration, "iterations", cfg.Iterations)

	switch cfg.Mode {
	case ModeFirstScan:
		deadline := time.Now().Add(cfg.Duration)
		fanOut(workers, func(w *worker) {
			for i := 0; r.more(ctx, deadline, i); i++ {
				w.firstScan(ctx)
			}
		})
	case ModeBoth:
		deadline := time.Now().Add(cfg.Duration)
		fanOut(workers, func(w *worker) {
			for i := 0; r.more(ctx, deadline, i); {
				if w.agent == nil {
					// Again after a failed first scan, with a new client; a
					// failure uses up an iteration so that retries are bounded.
					if !w.firstScan(ctx) {
						i++
					}
					continue
				}
				w.deltaScan(ctx)
				i++
			}
		})
	case ModeDelta:
		fanOut(workers, func(w *worker) {
			if ctx.Err() == nil {
				w.firstScan(ctx)
			}
		})
		r.log.Info("first scans done; delta phase starts", "clients with a full cache", countAgents(workers))
		deadline := time.Now().Add(cfg.Duration)
		fanOut(workers, func(w *worker) {
			for i := 0; w.agent != nil && r.more(ctx, deadline, i); i++ {
				w.deltaScan(ctx)
			}
		})
	}
	stopProgress()
	rep.Elapsed = time.Since(rep.Started)
	rep.Interrupted = ctx.Err() != nil

	rep.FirstScan, rep.Delta = mergePhases(workers, func(w *worker) *phaseAcc { return &w.first }),
		mergePhases(workers, func(w *worker) *phaseAcc { return &w.delta })
	rep.Errors = mergeErrors(workers)
	if rep.Acknowledged, err = acks.result(); err != nil {
		rep.AckError = err.Error()
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
	if cpu, err := ReadProcCPU(os.Getpid()); err == nil && clientCPUErr == nil {
		rep.ClientCPU = cpu - clientCPU
	}
	r.log.Info("load run done", "elapsed", rep.Elapsed, "first scans", rep.FirstScan.Scans,
		"delta scans", rep.Delta.Scans, "failed", rep.Failed())
	return rep, nil
}

// runner is the state shared by the workers of one run.
type runner struct {
	cfg  Config
	http *http.Client
	log  *slog.Logger

	done, failed atomic.Int64 // scans, for progress logs

	mu     sync.Mutex
	warned map[string]bool // error kinds already logged
}

// more reports whether a client may start its iteration i (counted from 0).
func (r *runner) more(ctx context.Context, deadline time.Time, i int) bool {
	return ctx.Err() == nil && time.Now().Before(deadline) && (r.cfg.Iterations == 0 || i < r.cfg.Iterations)
}

// progress logs the scan counts every progressEvery until the returned
// function is called.
func (r *runner) progress(start time.Time) (stop func()) {
	return tick(progressEvery, func(now time.Time) {
		r.log.Info("progress", "elapsed", now.Sub(start).Round(time.Second), "scans", r.done.Load(), "failed", r.failed.Load())
	})
}

// tick calls fn with the time of every tick of a ticker of period every,
// from another goroutine, until the returned function is called; that
// function returns once fn no longer runs.
func tick(every time.Duration, fn func(now time.Time)) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				fn(now)
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// warnOnce logs the first error of each kind.
func (r *runner) warnOnce(phase, kind string, err error) {
	r.mu.Lock()
	first := !r.warned[phase+kind]
	r.warned[phase+kind] = true
	r.mu.Unlock()
	if first {
		r.log.Warn("scan failed", "phase", phase, "kind", kind, "err", err)
	}
}

// fanOut runs fn for every worker concurrently and waits for all.
func fanOut(workers []*worker, fn func(*worker)) {
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(func() { fn(w) })
	}
	wg.Wait()
}

func countAgents(workers []*worker) int {
	n := 0
	for _, w := range workers {
		if w.agent != nil {
			n++
		}
	}
	return n
}

// worker is one simulated client slot: the agent it currently runs and
// what it measured, per phase.
type worker struct {
	r     *runner
	agent *clientsim.Agent // with a completed first scan; nil before
	first phaseAcc
	delta phaseAcc
}

// firstScan runs the first scan of a new client and reports whether it
// succeeded; on success the worker keeps the agent for delta scans.
func (w *worker) firstScan(ctx context.Context) bool {
	w.agent = nil
	a, err := clientsim.NewAgent(clientsim.Config{
		ServerURL:     w.r.cfg.ServerURL,
		TargetGroup:   w.r.cfg.TargetGroup,
		MaxSyncRounds: w.r.cfg.MaxSyncRounds,
		// Real WSUS refuses more (MS-WUSP.md §5.1); a large catalog has more
		// non-leaf revisions than a real machine evaluates as installed.
		MaxInstalledNonLeaf: maxInstalledNonLeaf,
		HTTPClient:          w.r.http,
		Identity:            w.r.cfg.Identity,
		Install:             w.r.cfg.InstallPlan,
		Logger:              slog.New(slog.DiscardHandler),
	})
	if err != nil { // not after withDefaults validated the URL; counted all the same
		now := time.Now()
		w.record(ctx, phaseFirstScan, &w.first, now, now, clientsim.ScanResult{}, err, 0)
		return false
	}
	if !w.scan(ctx, phaseFirstScan, &w.first, a) {
		return false
	}
	w.agent = a
	return true
}

// deltaScan runs a delta scan of the worker's agent.
func (w *worker) deltaScan(ctx context.Context) {
	w.scan(ctx, phaseDelta, &w.delta, w.agent)
}

// scan runs one scan of a, records it in acc and reports whether it succeeded.
func (w *worker) scan(ctx context.Context, phase string, acc *phaseAcc, a *clientsim.Agent) bool {
	installed, other, _ := a.CacheSize()
	start := time.Now()
	res, err := a.Scan(ctx, clientsim.ScanOptions{Download: w.r.cfg.Downloads, Report: w.r.cfg.Report, Install: w.r.cfg.Install})
	end := time.Now()
	if err != nil && ctx.Err() != nil {
		return false // cut short by the caller: neither a sample nor an error
	}
	w.record(ctx, phase, acc, start, end, res, err, installed+other)
	return err == nil
}

// record adds a scan to acc. After a failure it pauses for failurePause, so
// that a failing server is not hit in a tight loop.
func (w *worker) record(ctx context.Context, phase string, acc *phaseAcc, start, end time.Time, res clientsim.ScanResult, err error, cached int) {
	if err != nil {
		kind := errorKind(err)
		w.r.failed.Add(1)
		w.r.warnOnce(phase, kind, err)
		acc.fail(start, end, phase, kind, err)
		t := time.NewTimer(failurePause)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		return
	}
	w.r.done.Add(1)
	acc.add(start, end, res, cached)
}

// errorKind classifies a scan error: "fault <ErrorCode>" for SOAP faults,
// "timeout" and "transport" for HTTP-level failures, "digest-mismatch",
// "foreign-host" for a refused request to another host, and "protocol" for
// everything else (answers that are not what MS-WUSP prescribes, HTTP errors
// without a SOAP fault, SyncUpdates rounds that never converge).
func errorKind(err error) string {
	var fault *clientsim.Fault
	var digest *clientsim.DigestMismatchError
	var netErr net.Error
	var urlErr *url.Error
	var opErr *net.OpError
	switch {
	case errors.Is(err, errForeignHost):
		return "foreign-host"
	case errors.As(err, &fault):
		if fault.ErrorCode == "" {
			return "fault (no ErrorCode, " + fault.FaultCode + ")"
		}
		return "fault " + fault.ErrorCode
	case errors.As(err, &digest):
		return "digest-mismatch"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.As(err, &urlErr), errors.As(err, &opErr), errors.Is(err, io.ErrUnexpectedEOF):
		return "transport"
	}
	return "protocol"
}
