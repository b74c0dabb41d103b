package load

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"wsus/clientsim"
)

func scanResult(software, driver, newUpdates int) clientsim.ScanResult {
	return clientsim.ScanResult{Summary: clientsim.Summary{SoftwareRounds: software, DriverRounds: driver}, NewUpdates: newUpdates}
}

func TestSummarize(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(100-i) * time.Millisecond // unsorted: 100ms..1ms
	}
	tests := []struct {
		name    string
		samples []time.Duration
		want    Latency
	}{
		{"none", nil, Latency{}},
		{"one", []time.Duration{7}, Latency{Count: 1, Min: 7, Mean: 7, P50: 7, P90: 7, P99: 7, Max: 7}},
		{"two", []time.Duration{30, 10}, Latency{Count: 2, Min: 10, Mean: 20, P50: 10, P90: 30, P99: 30, Max: 30}},
		{"hundred", hundred, Latency{Count: 100, Min: time.Millisecond, Mean: 50500 * time.Microsecond,
			P50: 50 * time.Millisecond, P90: 90 * time.Millisecond, P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := append([]time.Duration(nil), tt.samples...)
			if got := summarize(tt.samples); got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			for i := range before {
				if before[i] != tt.samples[i] {
					t.Fatal("summarize reordered its input")
				}
			}
		})
	}
}

func TestMergePhases(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	w1, w2, idle := &worker{}, &worker{}, &worker{}
	w1.first.add(t0, t0.Add(300*time.Millisecond), scanResult(3, 1, 4), 0)
	w1.first.add(t0.Add(time.Second), t0.Add(1100*time.Millisecond), scanResult(3, 1, 2), 0)
	w2.first.add(t0.Add(200*time.Millisecond), t0.Add(400*time.Millisecond), scanResult(1, 1, 7), 0)
	w2.first.fail(t0.Add(time.Second), t0.Add(2*time.Second), phaseFirstScan, "transport", os.ErrClosed)
	w1.first.fail(t0, t0, phaseFirstScan, "transport", os.ErrDeadlineExceeded)
	w1.delta.fail(t0, t0, phaseDelta, "fault ServerBusy", os.ErrInvalid)

	p := mergePhases([]*worker{w1, w2, idle}, func(w *worker) *phaseAcc { return &w.first })
	want := Phase{
		Scans: 3, Failed: 2, SyncUpdates: 10, SoftwareRounds: 7, DriverRounds: 3, NewUpdates: 13,
		NewUpdatesPerScan: MinMax{2, 7},
		Latency: Latency{Count: 3, Min: 100 * time.Millisecond, Mean: 200 * time.Millisecond,
			P50: 200 * time.Millisecond, P90: 300 * time.Millisecond, P99: 300 * time.Millisecond, Max: 300 * time.Millisecond},
		Window: 2 * time.Second, ScansPerSecond: 1.5, SyncUpdatesPerSecond: 5,
	}
	if p != want {
		t.Errorf("merged\n got %+v\nwant %+v", p, want)
	}
	errs := mergeErrors([]*worker{w1, w2, idle})
	wantErrs := []ErrorCount{
		{Phase: "first-scan", Kind: "transport", Count: 2, Example: os.ErrDeadlineExceeded.Error()}, // the first worker's
		{Phase: "delta", Kind: "fault ServerBusy", Count: 1, Example: os.ErrInvalid.Error()},
	}
	if !slices.Equal(errs, wantErrs) {
		t.Errorf("errors %+v\nwant %+v", errs, wantErrs)
	}
}

func TestWriteText(t *testing.T) {
	r := Report{
		ServerURL: "http://127.0.0.1:8530", Mode: ModeBoth, Clients: 200, Duration: 30 * time.Second,
		Elapsed: 30412 * time.Millisecond,
		FirstScan: Phase{Scans: 199, Failed: 1, SyncUpdates: 796, NewUpdatesPerScan: MinMax{4, 4}, CachedIDs: MinMax{0, 0},
			Latency:        Latency{P50: 812 * time.Millisecond, P90: 1500 * time.Millisecond, P99: 2100 * time.Millisecond, Max: 2500 * time.Millisecond},
			ScansPerSecond: 66.3, SyncUpdatesPerSecond: 265.3},
		Delta: Phase{Scans: 60000, SyncUpdates: 120000, CachedIDs: MinMax{49990, 50000}, Reauthentications: 2,
			Latency:        Latency{P50: 95 * time.Millisecond, P90: 120 * time.Millisecond, P99: 180 * time.Millisecond, Max: 400 * time.Millisecond},
			ScansPerSecond: 2000, SyncUpdatesPerSecond: 4000},
		Errors:    []ErrorCount{{Phase: "first-scan", Kind: "fault ServerBusy", Count: 1, Example: "clientsim: GetConfig: SOAP fault ServerBusy [HTTP 500]"}},
		Server:    &ServerProcess{PID: 4242, Before: ProcMemory{RSS: 50 << 20, HWM: 60 << 20}, After: ProcMemory{RSS: 80 << 20, HWM: 120 << 20}, CPU: 41 * time.Second},
		ClientCPU: 12500 * time.Millisecond,
	}
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := `clientsim load: both, 200 clients, against http://127.0.0.1:8530; elapsed 30.412s (bound: 30s)

       phase  scans  failed  SyncUpdates  new/scan    cached ids      p50       p90       p99       max  scans/s  SyncUpdates/s
  first-scan    199       1          796         4             0  812.0ms  1500.0ms  2100.0ms  2500.0ms     66.3          265.3
       delta  60000       0       120000         0  49990..50000   95.0ms   120.0ms   180.0ms   400.0ms   2000.0         4000.0
delta: 2 reauthentications, 0 changed, 0 out of scope, 0 files (0 bytes) downloaded, 0 events reported

errors: 1 failed scans (0.00%)
       1  first-scan  fault ServerBusy: clientsim: GetConfig: SOAP fault ServerBusy [HTTP 500]

server (pid 4242): VmRSS 50.0 MiB -> 80.0 MiB, VmHWM 60.0 MiB -> 120.0 MiB, CPU 41.0s
client (this process): CPU 12.5s over 30.4s elapsed

targets (50,000 updates, 200 clients):
  delta SyncUpdates/s >= 2000: 4000.0, met
  first scan p99 <= 2s: 2100.0ms, NOT met
`
	if got := b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestParseProcStatus(t *testing.T) {
	tests := []struct {
		name, status string
		want         ProcMemory
		err          string
	}{
		{"real layout", "Name:\twsusd\nVmPeak:\t  900000 kB\nVmHWM:\t   12345 kB\nVmRSS:\t   10000 kB\nThreads:\t9\n",
			ProcMemory{RSS: 10000 << 10, HWM: 12345 << 10}, ""},
		{"kernel thread", "Name:\tkthreadd\nThreads:\t1\n", ProcMemory{}, "no VmRSS and VmHWM"},
		{"bad unit", "VmHWM:\t1 MB\nVmRSS:\t1 kB\n", ProcMemory{}, `status line "VmHWM:\t1 MB"`},
		{"bad number", "VmHWM:\tx kB\nVmRSS:\t1 kB\n", ProcMemory{}, "bad size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseProcStatus(strings.NewReader(tt.status))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestParseProcStat(t *testing.T) {
	// Fields 14 and 15 (utime, stime) are 250 and 50 ticks; the command name
	// holds spaces and a parenthesis.
	const stat = "4242 (wsusd (x) y) S 1 4242 4242 0 -1 4194560 8231 0 0 0 250 50 0 0 20 0 9 0 123 1234567 3000 18446744073709551615\n"
	got, err := parseProcStat(stat)
	if err != nil || got != 3*time.Second {
		t.Errorf("got %v, %v; want 3s", got, err)
	}
	for _, bad := range []string{"", "4242 (wsusd) S 1 2", "4242 (wsusd) S 1 4242 4242 0 -1 4194560 8231 0 0 0 x 50 0"} {
		if _, err := parseProcStat(bad); err == nil {
			t.Errorf("parseProcStat(%q) accepted", bad)
		}
	}
}

func TestReadProcMemoryOfThisProcess(t *testing.T) {
	m, err := ReadProcMemory(os.Getpid())
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if m.RSS <= 0 || m.HWM < m.RSS {
		t.Errorf("own memory %+v: want 0 < VmRSS <= VmHWM", m)
	}
	if _, err := ReadProcMemory(0); err == nil {
		t.Error("pid 0 accepted")
	}
	if cpu, err := ReadProcCPU(os.Getpid()); err != nil || cpu < 0 {
		t.Errorf("own CPU %v, %v", cpu, err)
	}
}
