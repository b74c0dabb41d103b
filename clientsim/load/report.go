package load

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"
	"time"

	"wsus/clientsim"
)

// Phase names, as in ErrorCount.Phase and the text report.
const (
	phaseFirstScan = "first-scan"
	phaseDelta     = "delta"
)

// Targets of the load acceptance (50,000 updates, 200 concurrent clients).
// WriteText shows whether a run met them; they say nothing about smaller
// catalogs.
const (
	TargetDeltaSyncUpdatesPerSecond = 2000
	TargetFirstScanP99              = 2 * time.Second
)

// Report is what a load run measured. Durations are in nanoseconds in JSON.
type Report struct {
	ServerURL    string        `json:"server_url"`
	Mode         Mode          `json:"mode"`
	Clients      int           `json:"clients"`
	Duration     time.Duration `json:"duration_ns"` // configured bound
	Iterations   int           `json:"iterations"`  // configured bound, 0 for none
	Downloads    bool          `json:"downloads"`
	ReportEvents bool          `json:"report_events"`
	Started      time.Time     `json:"started"`
	Elapsed      time.Duration `json:"elapsed_ns"`
	// Interrupted is set when the caller's context ended the run early.
	Interrupted bool `json:"interrupted"`
	// FirstScan are the first scans of new clients, Delta the repeat scans
	// of clients holding the whole catalog.
	FirstScan Phase `json:"first_scan"`
	Delta     Phase `json:"delta"`
	// Errors counts failed scans by phase and kind, most frequent first.
	Errors []ErrorCount `json:"errors"`
	// Acknowledged counts the ReportEventBatch calls the server
	// acknowledged and their events (see Ack and Config.Acks); AckError
	// says why that record is incomplete (a batch that could not be read
	// back, a failed write to Config.Acks), empty when it is complete.
	Acknowledged AckTotals `json:"acknowledged"`
	AckError     string    `json:"ack_error,omitempty"`
	// ClientCPU is the CPU time this process used during the run (0 where
	// /proc is not available): when client and server share a machine, the
	// clients' share is not available to the server.
	ClientCPU time.Duration `json:"client_cpu_ns"`
	// Server is set when Config.ServerPID was.
	Server *ServerProcess `json:"server,omitempty"`
}

// Phase is what one kind of scan measured. Latencies and counts cover the
// completed scans; Window runs from the start of the phase's first scan to
// the end of its last (completed or failed), and the rates divide by it.
type Phase struct {
	Scans  int `json:"scans"`  // completed
	Failed int `json:"failed"` // ended with an error
	// SyncUpdates counts the SyncUpdates calls of the completed scans,
	// software rounds and driver passes.
	SyncUpdates    int `json:"sync_updates"`
	SoftwareRounds int `json:"software_rounds"`
	DriverRounds   int `json:"driver_rounds"`
	// NewUpdates, ChangedUpdates and OutOfScope sum the SyncUpdates answers.
	NewUpdates     int `json:"new_updates"`
	ChangedUpdates int `json:"changed_updates"`
	OutOfScope     int `json:"out_of_scope"`
	// NewUpdatesPerScan is the range of NewUpdates of one scan.
	NewUpdatesPerScan MinMax `json:"new_updates_per_scan"`
	// CachedIDs is the range of ids a scan's first software SyncUpdates
	// carried (InstalledNonLeafUpdateIDs + OtherCachedUpdateIDs).
	CachedIDs MinMax `json:"cached_ids"`
	// Reauthentications counts scans that re-ran GetAuthorizationCookie and
	// GetCookie after a CookieExpired or InvalidCookie fault.
	Reauthentications int   `json:"reauthentications"`
	FilesDownloaded   int   `json:"files_downloaded"`
	BytesDownloaded   int64 `json:"bytes_downloaded"`
	EventsReported    int   `json:"events_reported"`

	Latency              Latency       `json:"latency"`
	Window               time.Duration `json:"window_ns"`
	ScansPerSecond       float64       `json:"scans_per_second"`
	SyncUpdatesPerSecond float64       `json:"sync_updates_per_second"`
}

// MinMax is a range of counts; both are 0 when nothing was counted.
type MinMax struct {
	Min int `json:"min"`
	Max int `json:"max"`
}

// Latency summarizes per-scan latencies; percentiles are nearest-rank over
// every sample.
type Latency struct {
	Count int           `json:"count"`
	Min   time.Duration `json:"min_ns"`
	Mean  time.Duration `json:"mean_ns"`
	P50   time.Duration `json:"p50_ns"`
	P90   time.Duration `json:"p90_ns"`
	P99   time.Duration `json:"p99_ns"`
	Max   time.Duration `json:"max_ns"`
}

// ErrorCount is the number of scans of a phase that failed with one kind of
// error, with the message of the first.
type ErrorCount struct {
	Phase   string `json:"phase"`
	Kind    string `json:"kind"`
	Count   int    `json:"count"`
	Example string `json:"example"`
}

// ServerProcess is the server process's memory before and after the run,
// and the CPU time it used during the run.
type ServerProcess struct {
	PID    int           `json:"pid"`
	Before ProcMemory    `json:"before"`
	After  ProcMemory    `json:"after"`
	CPU    time.Duration `json:"cpu_ns"`
	// AfterError is why After and CPU could not be read (e.g. the server exited).
	AfterError string `json:"after_error,omitempty"`
}

// Failed is the number of failed scans of both phases.
func (r Report) Failed() int { return r.FirstScan.Failed + r.Delta.Failed }

// ErrorRate is failed scans over attempted scans (0 when none ran).
func (r Report) ErrorRate() float64 {
	attempted := r.FirstScan.Scans + r.Delta.Scans + r.Failed()
	if attempted == 0 {
		return 0
	}
	return float64(r.Failed()) / float64(attempted)
}

// phaseAcc accumulates one worker's samples of one phase.
type phaseAcc struct {
	lat        []time.Duration
	start, end time.Time
	p          Phase // counts; Latency, Window and rates are computed on merge
	errs       map[string]*ErrorCount
}

func (a *phaseAcc) span(start, end time.Time) {
	if a.start.IsZero() || start.Before(a.start) {
		a.start = start
	}
	if end.After(a.end) {
		a.end = end
	}
}

func (a *phaseAcc) add(start, end time.Time, res clientsim.ScanResult, cached int) {
	a.span(start, end)
	a.lat = append(a.lat, end.Sub(start))
	p := &a.p
	p.NewUpdatesPerScan = p.NewUpdatesPerScan.with(res.NewUpdates, p.Scans == 0)
	p.CachedIDs = p.CachedIDs.with(cached, p.Scans == 0)
	p.Scans++
	p.SyncUpdates += res.SoftwareRounds + res.DriverRounds
	p.SoftwareRounds += res.SoftwareRounds
	p.DriverRounds += res.DriverRounds
	p.NewUpdates += res.NewUpdates
	p.ChangedUpdates += res.ChangedUpdates
	p.OutOfScope += res.OutOfScope
	if res.Reauthenticated {
		p.Reauthentications++
	}
	p.FilesDownloaded += res.FilesDownloaded
	p.BytesDownloaded += res.BytesDownloaded
	p.EventsReported += res.EventsReported
}

func (a *phaseAcc) fail(start, end time.Time, phase, kind string, err error) {
	a.span(start, end)
	a.p.Failed++
	if a.errs == nil {
		a.errs = map[string]*ErrorCount{}
	}
	if e := a.errs[kind]; e != nil {
		e.Count++
		return
	}
	a.errs[kind] = &ErrorCount{Phase: phase, Kind: kind, Count: 1, Example: err.Error()}
}

// with widens m by n; first means m is still empty.
func (m MinMax) with(n int, first bool) MinMax {
	if first {
		return MinMax{n, n}
	}
	return MinMax{min(m.Min, n), max(m.Max, n)}
}

// mergePhases combines the workers' accumulators of one phase.
func mergePhases(workers []*worker, acc func(*worker) *phaseAcc) Phase {
	var out Phase
	var lat []time.Duration
	var start, end time.Time
	for _, w := range workers {
		a := acc(w)
		if a.p.Scans+a.p.Failed == 0 {
			continue
		}
		if start.IsZero() || a.start.Before(start) {
			start = a.start
		}
		if a.end.After(end) {
			end = a.end
		}
		lat = append(lat, a.lat...)
		p := a.p
		if p.Scans > 0 {
			out.NewUpdatesPerScan = out.NewUpdatesPerScan.with(p.NewUpdatesPerScan.Min, out.Scans == 0).with(p.NewUpdatesPerScan.Max, false)
			out.CachedIDs = out.CachedIDs.with(p.CachedIDs.Min, out.Scans == 0).with(p.CachedIDs.Max, false)
		}
		out.Scans += p.Scans
		out.Failed += p.Failed
		out.SyncUpdates += p.SyncUpdates
		out.SoftwareRounds += p.SoftwareRounds
		out.DriverRounds += p.DriverRounds
		out.NewUpdates += p.NewUpdates
		out.ChangedUpdates += p.ChangedUpdates
		out.OutOfScope += p.OutOfScope
		out.Reauthentications += p.Reauthentications
		out.FilesDownloaded += p.FilesDownloaded
		out.BytesDownloaded += p.BytesDownloaded
		out.EventsReported += p.EventsReported
	}
	out.Latency = summarize(lat)
	out.Window = end.Sub(start)
	if out.Window > 0 {
		out.ScansPerSecond = float64(out.Scans) / out.Window.Seconds()
		out.SyncUpdatesPerSecond = float64(out.SyncUpdates) / out.Window.Seconds()
	}
	return out
}

// mergeErrors combines the workers' error counts, most frequent first.
func mergeErrors(workers []*worker) []ErrorCount {
	byKey := map[[2]string]*ErrorCount{}
	var out []*ErrorCount
	for _, w := range workers {
		for _, a := range []*phaseAcc{&w.first, &w.delta} {
			for _, e := range a.errs {
				k := [2]string{e.Phase, e.Kind}
				if m := byKey[k]; m != nil {
					m.Count += e.Count
					continue
				}
				c := *e
				byKey[k] = &c
				out = append(out, &c)
			}
		}
	}
	slices.SortFunc(out, func(a, b *ErrorCount) int {
		return cmp.Or(b.Count-a.Count, cmp.Compare(a.Phase, b.Phase), cmp.Compare(a.Kind, b.Kind))
	})
	list := make([]ErrorCount, len(out))
	for i, e := range out {
		list[i] = *e
	}
	return list
}

// summarize computes exact nearest-rank percentiles of samples.
func summarize(samples []time.Duration) Latency {
	if len(samples) == 0 {
		return Latency{}
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	rank := func(p float64) time.Duration {
		i := int(math.Ceil(p/100*float64(len(s)))) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	return Latency{
		Count: len(s), Min: s[0], Max: s[len(s)-1], Mean: sum / time.Duration(len(s)),
		P50: rank(50), P90: rank(90), P99: rank(99),
	}
}

// WriteText writes the human summary of r: a table of both phases, the
// errors, the server's memory and the acceptance targets.
func (r Report) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	ew.printf("clientsim load: %s, %d clients, against %s; elapsed %s", r.Mode, r.Clients, r.ServerURL, r.Elapsed.Round(time.Millisecond))
	if r.Iterations > 0 {
		ew.printf(" (bounds: %s, %d iterations per client)", r.Duration, r.Iterations)
	} else {
		ew.printf(" (bound: %s)", r.Duration)
	}
	if r.Interrupted {
		ew.printf(" INTERRUPTED")
	}
	ew.printf("\n\n")

	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\tscans\tfailed\tSyncUpdates\tnew/scan\tcached ids\tp50\tp90\tp99\tmax\tscans/s\tSyncUpdates/s\t")
	for _, ph := range []struct {
		name string
		p    Phase
	}{{phaseFirstScan, r.FirstScan}, {phaseDelta, r.Delta}} {
		p := ph.p
		if p.Scans+p.Failed == 0 {
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%.1f\t%.1f\t\n", ph.name, p.Scans, p.Failed, p.SyncUpdates,
			p.NewUpdatesPerScan, p.CachedIDs, ms(p.Latency.P50), ms(p.Latency.P90), ms(p.Latency.P99), ms(p.Latency.Max),
			p.ScansPerSecond, p.SyncUpdatesPerSecond)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, ph := range []struct {
		name string
		p    Phase
	}{{phaseFirstScan, r.FirstScan}, {phaseDelta, r.Delta}} {
		if p := ph.p; p.Reauthentications+p.FilesDownloaded+p.EventsReported+p.ChangedUpdates+p.OutOfScope > 0 {
			ew.printf("%s: %d reauthentications, %d changed, %d out of scope, %d files (%d bytes) downloaded, %d events reported\n",
				ph.name, p.Reauthentications, p.ChangedUpdates, p.OutOfScope, p.FilesDownloaded, p.BytesDownloaded, p.EventsReported)
		}
	}

	if len(r.Errors) == 0 {
		ew.printf("\nerrors: none\n")
	} else {
		ew.printf("\nerrors: %d failed scans (%.2f%%)\n", r.Failed(), 100*r.ErrorRate())
		for _, e := range r.Errors {
			ew.printf("  %6d  %-10s  %s: %s\n", e.Count, e.Phase, e.Kind, e.Example)
		}
	}
	if r.Acknowledged.Batches > 0 || r.AckError != "" {
		ew.printf("\nacknowledged reports: %d ReportEventBatch calls, %d events\n", r.Acknowledged.Batches, r.Acknowledged.Events)
		if r.AckError != "" {
			ew.printf("  INCOMPLETE: %s\n", r.AckError)
		}
	}
	ew.printf("\n")
	if m := r.Server; m != nil {
		if m.AfterError != "" {
			ew.printf("server (pid %d): VmRSS %s, VmHWM %s before; after: %s\n", m.PID, mib(m.Before.RSS), mib(m.Before.HWM), m.AfterError)
		} else {
			ew.printf("server (pid %d): VmRSS %s -> %s, VmHWM %s -> %s, CPU %.1fs\n", m.PID, mib(m.Before.RSS), mib(m.After.RSS),
				mib(m.Before.HWM), mib(m.After.HWM), m.CPU.Seconds())
		}
	}
	if r.ClientCPU > 0 {
		ew.printf("client (this process): CPU %.1fs over %.1fs elapsed\n", r.ClientCPU.Seconds(), r.Elapsed.Seconds())
	}

	ew.printf("\ntargets (50,000 updates, 200 clients):\n")
	if r.Delta.Scans > 0 {
		ew.printf("  delta SyncUpdates/s >= %d: %.1f, %s\n", TargetDeltaSyncUpdatesPerSecond, r.Delta.SyncUpdatesPerSecond,
			met(r.Delta.SyncUpdatesPerSecond >= TargetDeltaSyncUpdatesPerSecond))
	}
	if r.FirstScan.Scans > 0 {
		ew.printf("  first scan p99 <= %s: %s, %s\n", TargetFirstScanP99, ms(r.FirstScan.Latency.P99), met(r.FirstScan.Latency.P99 <= TargetFirstScanP99))
	}
	return ew.err
}

// String formats the range as "min..max".
func (m MinMax) String() string {
	if m.Min == m.Max {
		return fmt.Sprint(m.Min)
	}
	return fmt.Sprintf("%d..%d", m.Min, m.Max)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }
