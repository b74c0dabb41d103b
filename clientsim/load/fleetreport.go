package load

import (
	"io"
	"time"
)

// TargetFleetP99 is the scan latency a fleet run must keep its p99 under.
const TargetFleetP99 = time.Second

// FleetReport is what a fleet run measured. Durations are in nanoseconds
// in JSON.
type FleetReport struct {
	ServerURL string `json:"server_url"`
	Computers int    `json:"computers"`
	Seed      uint64 `json:"seed"`
	// Duration is the configured span of the arrivals; Interval the
	// computers' DetectionFrequency; Window the Patch Tuesday window (0 in
	// steady state).
	Duration time.Duration `json:"duration_ns"`
	Interval time.Duration `json:"interval_ns"`
	Window   time.Duration `json:"window_ns"`
	// RatePerSecond is the arrival rate: N / (0.9 Interval), or N / Window
	// on Patch Tuesday.
	RatePerSecond float64 `json:"rate_per_second"`
	MaxInFlight   int     `json:"max_in_flight"`

	Reference    ReferenceScan `json:"reference"`
	Registration Registration  `json:"registration"`
	PatchTuesday *PatchTuesday `json:"patch_tuesday,omitempty"`

	Started time.Time     `json:"started"`
	Elapsed time.Duration `json:"elapsed_ns"` // first arrival to the end of the last scan
	// Interrupted is set when the caller's context ended the run early.
	Interrupted bool `json:"interrupted"`
	// Arrivals were scheduled; ScansStarted of them started, Dropped were
	// not because MaxInFlight scans were in flight (the generator's limit,
	// not a server error). Completed and Failed split the started scans.
	Arrivals     int `json:"arrivals"`
	ScansStarted int `json:"scans_started"`
	Completed    int `json:"completed"`
	Failed       int `json:"failed"`
	Dropped      int `json:"dropped"`
	// Errors counts failed scans and reports by phase and kind, most
	// frequent first.
	Errors []ErrorCount `json:"errors"`

	// Latency is the scan latency of the completed scans (first request
	// to last answer); FirstHalf and SecondHalf split them by scheduled
	// arrival, for judging whether the run was long enough to be steady.
	// StartLag is how late the generator started scans (a large lag means
	// the generator, not the server, was short of CPU).
	Latency    Latency `json:"latency"`
	FirstHalf  Latency `json:"first_half"`
	SecondHalf Latency `json:"second_half"`
	StartLag   Latency `json:"start_lag"`

	SOAPCalls          int     `json:"soap_calls"`
	SOAPCallsPerSecond float64 `json:"soap_calls_per_second"`
	ScansPerSecond     float64 `json:"scans_per_second"`
	SyncUpdates        int     `json:"sync_updates"`
	NewUpdates         int     `json:"new_updates"`
	ChangedUpdates     int     `json:"changed_updates"`
	OutOfScope         int     `json:"out_of_scope"`
	// ExtendedInfoRevisions counts the revisions asked about in
	// GetExtendedUpdateInfo; ConfigRefreshes the scans that ran GetConfig.
	ExtendedInfoRevisions int `json:"extended_info_revisions"`
	ConfigRefreshes       int `json:"config_refreshes"`
	// After each completed scan the computer sends its ReportEventBatch
	// (147 and 156), timed apart from the scan (ReportLatency): the native
	// agent sends it 20 s to 2 min after the scan. ReportsAcknowledged
	// counts those answered true, EventsReported their events,
	// ReportsFailed the others (errors, in Errors with phase "report").
	ReportsAcknowledged int     `json:"reports_acknowledged"`
	EventsReported      int     `json:"events_reported"`
	ReportsFailed       int     `json:"reports_failed"`
	ReportLatency       Latency `json:"report_latency"`

	// GeneratorCPU is the CPU time this process used during the arrivals,
	// GeneratorCores the same over Elapsed (1.0 = one core busy).
	GeneratorCPU   time.Duration `json:"generator_cpu_ns"`
	GeneratorCores float64       `json:"generator_cores"`
	// Server is set when FleetConfig.ServerPID was; ServerCores is its CPU
	// over Elapsed.
	Server      *ServerProcess `json:"server,omitempty"`
	ServerCores float64        `json:"server_cores"`
	// GeneratorCPUPerScan and ServerCPUPerScan divide the CPU times by the
	// completed scans (each with its report): what one more computer's scan
	// costs each side.
	GeneratorCPUPerScan time.Duration `json:"generator_cpu_per_scan_ns"`
	ServerCPUPerScan    time.Duration `json:"server_cpu_per_scan_ns"`
}

// ReferenceScan is the first scan of the agent whose cache every computer
// of the fleet holds.
type ReferenceScan struct {
	Elapsed        time.Duration `json:"elapsed_ns"`
	CachedIDs      int           `json:"cached_ids"`
	OfferedUpdates int           `json:"offered_updates"`
}

// Registration is the preparation phase: RegisterComputer for the
// computers of Mode.
type Registration struct {
	Mode      RegisterMode  `json:"mode"`
	Computers int           `json:"computers"`
	Elapsed   time.Duration `json:"elapsed_ns"`
	PerSecond float64       `json:"per_second"`
}

// PatchTuesday is what the approvals at the start of the run changed.
type PatchTuesday struct {
	// Approved are the UpdateIDs approved for Install in All Computers.
	Approved []string `json:"approved"`
	// ExpectedNew are the updates the reference agent was newly offered
	// after the approvals: what every computer must receive.
	ExpectedNew []string `json:"expected_new"`
	// ScansWithAllNew counts completed scans that received every expected
	// update, ScansMissingNew those that did not.
	ScansWithAllNew int `json:"scans_with_all_new"`
	ScansMissingNew int `json:"scans_missing_new"`
}

// OK reports whether the run met the target: no failed or dropped scan, no
// failed report,
// none missing a Patch Tuesday update, scan p99 under TargetFleetP99, and
// not interrupted.
func (r FleetReport) OK() bool {
	ok := !r.Interrupted && r.Failed == 0 && r.ReportsFailed == 0 && r.Dropped == 0 && r.Completed > 0 && r.Latency.P99 < TargetFleetP99
	if r.PatchTuesday != nil {
		ok = ok && r.PatchTuesday.ScansMissingNew == 0
	}
	return ok
}

// WriteText writes the human summary of r.
func (r FleetReport) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	kind := "steady state, interval " + r.Interval.String()
	if r.PatchTuesday != nil {
		kind = "Patch Tuesday, window " + r.Window.String()
	}
	ew.printf("clientsim load --arrival: %d computers (%s) against %s: %.2f scans/s for %s; elapsed %s",
		r.Computers, kind, r.ServerURL, r.RatePerSecond, r.Duration, r.Elapsed.Round(time.Millisecond))
	if r.Interrupted {
		ew.printf(" INTERRUPTED")
	}
	ew.printf("\n")
	ew.printf("reference first scan: %s, %d cached ids, %d updates offered\n", r.Reference.Elapsed.Round(time.Millisecond),
		r.Reference.CachedIDs, r.Reference.OfferedUpdates)
	if g := r.Registration; g.Mode != RegisterNone {
		ew.printf("registration (%s): %d computers in %s, %.0f/s\n", g.Mode, g.Computers, g.Elapsed.Round(time.Millisecond), g.PerSecond)
	}
	if p := r.PatchTuesday; p != nil {
		ew.printf("Patch Tuesday: %d updates approved, %d newly offered; scans with all of them %d, missing some %d\n",
			len(p.Approved), len(p.ExpectedNew), p.ScansWithAllNew, p.ScansMissingNew)
	}
	ew.printf("\narrivals %d: started %d, completed %d, failed %d, dropped (generator limit %d in flight) %d\n",
		r.Arrivals, r.ScansStarted, r.Completed, r.Failed, r.MaxInFlight, r.Dropped)
	ew.printf("scan latency: p50 %s, p90 %s, p99 %s, max %s (first half p99 %s, second half p99 %s)\n",
		ms(r.Latency.P50), ms(r.Latency.P90), ms(r.Latency.P99), ms(r.Latency.Max), ms(r.FirstHalf.P99), ms(r.SecondHalf.P99))
	ew.printf("start lag: p99 %s, max %s\n", ms(r.StartLag.P99), ms(r.StartLag.Max))
	ew.printf("throughput: %.1f scans/s, %.1f SOAP calls/s (%d calls, %d SyncUpdates)\n", r.ScansPerSecond, r.SOAPCallsPerSecond, r.SOAPCalls, r.SyncUpdates)
	ew.printf("updates: %d new, %d changed, %d out of scope; %d revisions in GetExtendedUpdateInfo; %d GetConfig refreshes\n",
		r.NewUpdates, r.ChangedUpdates, r.OutOfScope, r.ExtendedInfoRevisions, r.ConfigRefreshes)
	ew.printf("reports: %d acknowledged (%d events), %d failed; latency p50 %s, p99 %s, max %s\n", r.ReportsAcknowledged, r.EventsReported,
		r.ReportsFailed, ms(r.ReportLatency.P50), ms(r.ReportLatency.P99), ms(r.ReportLatency.Max))
	if len(r.Errors) == 0 {
		ew.printf("errors: none\n")
	} else {
		ew.printf("errors: %d failed scans, %d failed reports\n", r.Failed, r.ReportsFailed)
		for _, e := range r.Errors {
			ew.printf("  %6d  %-6s  %s: %s\n", e.Count, e.Phase, e.Kind, e.Example)
		}
	}
	ew.printf("generator (this process): CPU %.1fs, %.2f cores, %s a scan\n", r.GeneratorCPU.Seconds(), r.GeneratorCores, ms(r.GeneratorCPUPerScan))
	if m := r.Server; m != nil {
		if m.AfterError != "" {
			ew.printf("server (pid %d): after: %s\n", m.PID, m.AfterError)
		} else {
			ew.printf("server (pid %d): CPU %.1fs, %.2f cores, %s a scan; VmRSS %s -> %s, VmHWM %s\n", m.PID, m.CPU.Seconds(), r.ServerCores,
				ms(r.ServerCPUPerScan), mib(m.Before.RSS), mib(m.After.RSS), mib(m.After.HWM))
		}
	}
	ew.printf("target: scan p99 < %s, no errors, nothing dropped: %s\n", TargetFleetP99, met(r.OK()))
	return ew.err
}
