package load

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"math"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"wsus/clientsim/catalogen"
	"wsus/internal/testserver"
	"wsus/server"
	"wsus/sync/importer"
)

func TestScheduleIsPoissonAndDeterministic(t *testing.T) {
	const (
		n    = 1_000_000
		rate = 200.0 // per second
		secs = 100
	)
	a, err := Schedule(7, n, rate, secs*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Schedule(7, n, rate, secs*time.Second)
	if !slices.Equal(a, b) {
		t.Fatal("the same seed gave two schedules")
	}
	c, _ := Schedule(8, n, rate, secs*time.Second)
	if slices.Equal(a, c) {
		t.Fatal("two seeds gave one schedule")
	}

	// The count over the run is Poisson(rate x secs): within 4 standard deviations.
	mean := rate * secs
	if d := math.Abs(float64(len(a)) - mean); d > 4*math.Sqrt(mean) {
		t.Errorf("%d arrivals, want %.0f ± %.0f", len(a), mean, 4*math.Sqrt(mean))
	}
	// Counts per second: mean rate, variance equal to the mean (index of
	// dispersion 1; its standard error over 100 bins is about 0.14).
	bins := make([]float64, secs)
	seen := map[int]bool{}
	for i, x := range a {
		if x.At < 0 || x.At >= secs*time.Second || (i > 0 && x.At < a[i-1].At) {
			t.Fatalf("arrival %d at %s: out of the run or out of order", i, x.At)
		}
		if x.Computer < 0 || x.Computer >= n || seen[x.Computer] {
			t.Fatalf("arrival %d by computer %d: out of range or twice", i, x.Computer)
		}
		seen[x.Computer] = true
		bins[x.At/time.Second]++
	}
	var sum, sq float64
	for _, c := range bins {
		sum += c
	}
	m := sum / secs
	for _, c := range bins {
		sq += (c - m) * (c - m)
	}
	if dispersion := sq / (secs - 1) / m; dispersion < 0.5 || dispersion > 1.5 {
		t.Errorf("index of dispersion %.2f, want about 1 (Poisson)", dispersion)
	}
	// Inter-arrival times are exponential: as many below the median ln 2 / rate as above.
	below := 0
	for i := 1; i < len(a); i++ {
		if (a[i].At - a[i-1].At).Seconds() < math.Ln2/rate {
			below++
		}
	}
	if frac := float64(below) / float64(len(a)-1); math.Abs(frac-0.5) > 0.02 {
		t.Errorf("%.3f of the gaps below the exponential median, want 0.5", frac)
	}
}

func TestScheduleStopsAtEveryComputerOnce(t *testing.T) {
	for _, n := range []int{1, 2, 7, 1000} {
		a, err := Schedule(3, n, 1e6, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]int, len(a))
		for i, x := range a {
			got[i] = x.Computer
		}
		slices.Sort(got)
		want := make([]int, n)
		for i := range want {
			want[i] = i
		}
		if !slices.Equal(got, want) {
			t.Errorf("n=%d: computers %v, want each once", n, got[:min(len(got), 10)])
		}
	}
	for _, bad := range []struct {
		n    int
		rate float64
		d    time.Duration
	}{{0, 1, time.Second}, {1, 0, time.Second}, {1, math.Inf(1), time.Second}, {1, 1, 0}} {
		if _, err := Schedule(1, bad.n, bad.rate, bad.d); err == nil {
			t.Errorf("Schedule(%d, %g, %s) succeeded", bad.n, bad.rate, bad.d)
		}
	}
}

func TestComputerIDsAreStable(t *testing.T) {
	guid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	// The derivation is part of the fleet's identity: a changed one makes
	// an earlier run's registrations (--register none) useless.
	tests := []struct {
		seed uint64
		i    int
		want string
	}{
		{1, 0, ComputerID(1, 0)},
		{1, 999_999, ComputerID(1, 999_999)},
	}
	for _, tt := range tests {
		if got := ComputerID(tt.seed, tt.i); got != tt.want || !guid.MatchString(got) {
			t.Errorf("ComputerID(%d, %d) = %q, want %q, a version-4 GUID", tt.seed, tt.i, got, tt.want)
		}
	}
	if got, want := ComputerID(1, 0), golden1_0; got != want {
		t.Errorf("ComputerID(1, 0) = %s, want %s (the derivation changed)", got, want)
	}
	seen := map[string]bool{}
	for i := range 100_000 {
		id := ComputerID(42, i)
		if seen[id] {
			t.Fatalf("ComputerID(42, %d) = %s repeats", i, id)
		}
		seen[id] = true
	}
	if ComputerID(1, 5) == ComputerID(2, 5) {
		t.Error("two seeds give computer 5 one ID")
	}
	if a, b := lastScanAge(1, 5, 22*time.Hour), lastScanAge(1, 5, 22*time.Hour); a != b || a < 17*time.Hour+36*time.Minute || a >= 22*time.Hour {
		t.Errorf("lastScanAge = %s, %s: want one value in [17h36m, 22h)", a, b)
	}
}

// golden1_0 is ComputerID(1, 0).
const golden1_0 = "51ee0011-50c1-4875-813c-b17e97ada791"

// fleetServer serves a generated catalog (its top-level updates approved,
// then the newest `withheld` of them unapproved again) with a known
// cookie key, on a real loopback listener. It returns the URL and stores.
func fleetServer(t *testing.T, withheld int) (string, []byte, server.Stores) {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "catalog")
	if _, err := catalogen.Write(ctx, dir, catalogen.Options{Updates: 600, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	cfg, stores := testserver.Open(t, "")
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i * 7)
	}
	cfg.CookieKey = hex.EncodeToString(key)
	if _, err := importer.Import(ctx, stores.Catalog, stores.Blobs, []string{dir}, importer.Options{ApproveGroup: "All Computers"}); err != nil {
		t.Fatal(err)
	}
	base := testserver.Serve(t, cfg, stores)
	if withheld > 0 {
		admin := adminClient{http: http.DefaultClient, base: base, token: cfg.AdminToken}
		var list struct {
			Updates []struct {
				UpdateID string `json:"update_id"`
			} `json:"updates"`
		}
		q := "/api/v1/updates?type=software&approved=true&declined=false&superseded=false&sort=released&order=desc&limit=" + string(rune('0'+withheld))
		if err := admin.do(ctx, http.MethodGet, q, nil, &list); err != nil {
			t.Fatal(err)
		}
		if len(list.Updates) != withheld {
			t.Fatalf("%d approved updates to withhold, want %d", len(list.Updates), withheld)
		}
		for _, u := range list.Updates {
			body := []byte(`{"update_id":"` + u.UpdateID + `","action":"NotApproved"}`)
			if err := admin.do(ctx, http.MethodPost, "/api/v1/approvals", body, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	return base, key, stores
}

func TestRunFleetSteadyState(t *testing.T) {
	base, key, stores := fleetServer(t, 0)
	cfg := FleetConfig{
		ServerURL: base, Computers: 1000, Seed: 9, CookieKey: key,
		// 1,000 computers scanning every 0.9 x 50 s: 22 scans/s over 2 s.
		Interval: 50 * time.Second, Duration: 2 * time.Second,
	}
	rep, err := RunFleet(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed != 0 || rep.Dropped != 0 || len(rep.Errors) != 0 || rep.Interrupted {
		t.Fatalf("failed %d, dropped %d, errors %+v", rep.Failed, rep.Dropped, rep.Errors)
	}
	arrivals, _ := Schedule(9, 1000, cfg.Rate(), cfg.Duration)
	if rep.Arrivals != len(arrivals) || rep.ScansStarted != rep.Arrivals || rep.Completed != rep.Arrivals || rep.Completed == 0 {
		t.Fatalf("arrivals %d (schedule %d), started %d, completed %d", rep.Arrivals, len(arrivals), rep.ScansStarted, rep.Completed)
	}
	if rep.Registration.Mode != RegisterAll || rep.Registration.Computers != 1000 {
		t.Errorf("registration %+v, want all 1000", rep.Registration)
	}
	// A returning computer's scan: GetAuthorizationCookie, GetCookie, one
	// software SyncUpdates with its whole cache and the driver pass,
	// nothing new or changed, ReportEventBatch answered true.
	n := rep.Completed
	if rep.SyncUpdates != 2*n || rep.SOAPCalls != 5*n || rep.NewUpdates != 0 || rep.ChangedUpdates != 0 || rep.OutOfScope != 0 || rep.ConfigRefreshes != 0 {
		t.Errorf("%d scans: %d SyncUpdates, %d calls, %d new, %d changed, %d out of scope, %d GetConfig",
			n, rep.SyncUpdates, rep.SOAPCalls, rep.NewUpdates, rep.ChangedUpdates, rep.OutOfScope, rep.ConfigRefreshes)
	}
	if rep.ReportsAcknowledged != n || rep.EventsReported != 2*n || rep.ReportsFailed != 0 || rep.ReportLatency.Count != n {
		t.Errorf("%d reports acknowledged with %d events, want %d with 2 each (147, 156)", rep.ReportsAcknowledged, rep.EventsReported, n)
	}
	if rep.Reference.CachedIDs == 0 || rep.Latency.Count != n || rep.Latency.P99 <= 0 || rep.StartLag.Count != n {
		t.Errorf("reference %+v, latency %+v, lag %+v", rep.Reference, rep.Latency, rep.StartLag)
	}
	if rep.GeneratorCPU <= 0 || rep.SOAPCallsPerSecond <= 0 {
		t.Errorf("generator CPU %s, %.1f calls/s", rep.GeneratorCPU, rep.SOAPCallsPerSecond)
	}
	// The store knows every computer; those that scanned have reported.
	scanned := map[int]bool{}
	for _, a := range arrivals {
		scanned[a.Computer] = true
	}
	for _, i := range []int{arrivals[0].Computer, arrivals[len(arrivals)-1].Computer, firstNotIn(scanned)} {
		c, err := stores.Catalog.Computer(context.Background(), ComputerID(9, i))
		if err != nil || !c.Registered || c.DNSName != ComputerName(i) {
			t.Fatalf("computer %d: %+v, %v", i, c, err)
		}
		if c.LastReport.IsZero() == scanned[i] {
			t.Errorf("computer %d (scanned %v): last report %v", i, scanned[i], c.LastReport)
		}
	}

	// A second run over the same fleet registers none of the computers
	// again, and a third over a larger fleet only the new ones.
	for _, tt := range []struct{ n, before, want int }{{1000, 1000, 0}, {1200, 1000, 200}} {
		again := cfg
		again.Computers, again.RegisteredBefore, again.Seed, again.Duration = tt.n, tt.before, 9, 500*time.Millisecond
		r, err := RunFleet(context.Background(), again)
		if err != nil {
			t.Fatal(err)
		}
		if r.Registration.Computers != tt.want || r.Failed != 0 || r.Completed != r.Arrivals {
			t.Errorf("N=%d, registered before %d: registered %d (want %d), %d of %d completed, %d failed",
				tt.n, tt.before, r.Registration.Computers, tt.want, r.Completed, r.Arrivals, r.Failed)
		}
	}
	if c, err := stores.Catalog.Computer(context.Background(), ComputerID(9, 1199)); err != nil || !c.Registered {
		t.Errorf("computer 1199: %+v, %v", c, err)
	}

	// The JSON report carries the fields scripts/bench-fleet.sh reads.
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"computers", "rate_per_second", "arrivals", "scans_started", "completed", "failed", "dropped",
		"latency", "first_half", "second_half", "soap_calls_per_second", "generator_cores", "reports_acknowledged", "reports_failed", "report_latency", "errors"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON report has no %q", k)
		}
	}
	if p99 := m["latency"].(map[string]any)["p99_ns"].(float64); time.Duration(p99) != rep.Latency.P99 {
		t.Errorf("JSON latency.p99_ns %v, want %d", p99, rep.Latency.P99)
	}
	var text strings.Builder
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1000 computers (steady state", "completed " + strconv.Itoa(n) + ", failed 0", "errors: none", "reports: " + strconv.Itoa(n) + " acknowledged (" + strconv.Itoa(2*n) + " events), 0 failed"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
}

func TestRunFleetPatchTuesday(t *testing.T) {
	const withheld = 3
	base, key, stores := fleetServer(t, withheld)
	cfg := FleetConfig{
		ServerURL: base, Computers: 40, Seed: 4, CookieKey: key,
		PatchTuesday: true, PatchUpdates: withheld, AdminToken: "test-token",
		// Every one of the 40 computers scans within the 2 s window.
		Window: 2 * time.Second, Duration: 2 * time.Second, Register: RegisterArriving,
	}
	rep, err := RunFleet(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed != 0 || rep.Dropped != 0 || len(rep.Errors) != 0 {
		t.Fatalf("failed %d, dropped %d, errors %+v", rep.Failed, rep.Dropped, rep.Errors)
	}
	pt := rep.PatchTuesday
	if pt == nil || len(pt.Approved) != withheld || len(pt.ExpectedNew) == 0 {
		t.Fatalf("Patch Tuesday %+v: want %d approved, some newly offered", pt, withheld)
	}
	n := rep.Completed
	if n == 0 || n != rep.Arrivals || pt.ScansWithAllNew != n || pt.ScansMissingNew != 0 {
		t.Errorf("%d arrivals, %d completed: %d received every new update, %d did not", rep.Arrivals, n, pt.ScansWithAllNew, pt.ScansMissingNew)
	}
	// The withheld revisions were cached already (an unapproved top-level
	// update is deployed as PreDeploymentCheck, catalog/scan.Scope):
	// approved, they come back in ChangedUpdates, deployed for Install.
	if rep.NewUpdates+rep.ChangedUpdates < n*len(pt.ExpectedNew) || rep.ExtendedInfoRevisions < n*len(pt.ExpectedNew) {
		t.Errorf("%d scans got %d new and %d changed updates and asked GetExtendedUpdateInfo about %d, want at least %d each",
			n, rep.NewUpdates, rep.ChangedUpdates, rep.ExtendedInfoRevisions, len(pt.ExpectedNew))
	}
	if rep.ReportsAcknowledged != n || rep.ReportsFailed != 0 || rep.Registration.Computers != n {
		t.Errorf("%d scans, %d reports acknowledged, %d registered", n, rep.ReportsAcknowledged, rep.Registration.Computers)
	}
	// Each computer's acknowledged report reached the store: the new
	// updates are needed by it.
	arrivals, _ := Schedule(4, 40, cfg.Rate(), cfg.Duration)
	for _, a := range arrivals {
		c, err := stores.Catalog.Computer(context.Background(), ComputerID(4, a.Computer))
		if err != nil || c.LastReport.IsZero() {
			t.Errorf("computer %d: %+v, %v: want a last report", a.Computer, c, err)
		}
	}
}

func firstNotIn(set map[int]bool) int {
	for i := 0; ; i++ {
		if !set[i] {
			return i
		}
	}
}
