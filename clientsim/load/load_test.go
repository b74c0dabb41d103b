package load

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/clientsim"
	"wsus/server"
	"wsus/sync/importer"
)

// The demo catalog (testdata/catalog, as `make run` loads it) delivers to a
// new client, with the simulated applicability rule, the category chain
// Microsoft → Windows → OOBE ZDP one level per round (3 non-leaf revisions,
// 3 software rounds) and the approved local demo update (1 leaf): 4
// revisions. The Defender bundle is never deliverable (its prerequisites are
// not in the catalog) and there are no drivers.
const (
	demoDelivered      = 4
	demoSoftwareRounds = 3
)

// startDemo runs a whole server on a real loopback listener: the embedded
// store under a temp dir with the demo catalog imported as `make run` does.
func startDemo(tb testing.TB) (string, catalog.Store) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cfg := server.Config{DataDir: tb.TempDir(), AdminToken: "test-token"}
	stores, err := server.OpenStores(ctx, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	root := filepath.Join("..", "..", "testdata", "catalog")
	if _, err := importer.Import(ctx, stores.Catalog, stores.Blobs, []string{filepath.Join(root, "microsoft")}, importer.Options{}); err != nil {
		tb.Fatal(err)
	}
	if _, err := importer.Import(ctx, stores.Catalog, stores.Blobs, []string{filepath.Join(root, "local")}, importer.Options{ApproveGroup: "All Computers"}); err != nil {
		tb.Fatal(err)
	}
	srv, err := server.New(ctx, cfg, stores, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("serve: %v", err)
		}
		stores.Close()
	})
	return "http://" + ln.Addr().String(), stores.Catalog
}

func TestRunAgainstDemoServer(t *testing.T) {
	const clients = 8
	tests := []struct {
		mode                  Mode
		iterations            int
		firstScans, deltaScan int
	}{
		{ModeFirstScan, 3, clients * 3, 0},
		{ModeDelta, 5, clients, clients * 5},
		{ModeBoth, 5, clients, clients * 5},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode), func(t *testing.T) {
			base, store := startDemo(t)
			rep, err := Run(context.Background(), Config{
				ServerURL: base, Clients: clients, Mode: tt.mode, Iterations: tt.iterations, Duration: 5 * time.Minute,
			})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Failed() != 0 || len(rep.Errors) != 0 || rep.ErrorRate() != 0 || rep.Interrupted {
				t.Fatalf("failed %d, errors %+v, interrupted %v", rep.Failed(), rep.Errors, rep.Interrupted)
			}
			if rep.Mode != tt.mode || rep.Clients != clients || rep.Iterations != tt.iterations || rep.ServerURL != base {
				t.Errorf("report settings %+v", rep)
			}

			f := rep.FirstScan
			if f.Scans != tt.firstScans {
				t.Errorf("%d first scans, want %d", f.Scans, tt.firstScans)
			}
			if f.NewUpdates != demoDelivered*f.Scans || f.NewUpdatesPerScan != (MinMax{demoDelivered, demoDelivered}) {
				t.Errorf("first scans delivered %d updates, %v per scan; want %d each", f.NewUpdates, f.NewUpdatesPerScan, demoDelivered)
			}
			if f.SoftwareRounds != demoSoftwareRounds*f.Scans || f.DriverRounds != f.Scans || f.SyncUpdates != f.SoftwareRounds+f.DriverRounds {
				t.Errorf("first scans: %d SyncUpdates, %d software and %d driver rounds", f.SyncUpdates, f.SoftwareRounds, f.DriverRounds)
			}
			if f.CachedIDs != (MinMax{0, 0}) {
				t.Errorf("first scans started with cached ids %v", f.CachedIDs)
			}
			checkTimes(t, "first-scan", f)

			d := rep.Delta
			if d.Scans != tt.deltaScan {
				t.Errorf("%d delta scans, want %d", d.Scans, tt.deltaScan)
			}
			if d.Scans > 0 {
				// One software SyncUpdates with the whole cache, one driver pass, nothing new.
				if d.NewUpdates != 0 || d.ChangedUpdates != 0 || d.OutOfScope != 0 || d.NewUpdatesPerScan != (MinMax{0, 0}) {
					t.Errorf("delta scans delivered %d new, %d changed, %d out of scope", d.NewUpdates, d.ChangedUpdates, d.OutOfScope)
				}
				if d.SoftwareRounds != d.Scans || d.DriverRounds != d.Scans || d.SyncUpdates != 2*d.Scans {
					t.Errorf("delta scans: %d SyncUpdates, %d software and %d driver rounds", d.SyncUpdates, d.SoftwareRounds, d.DriverRounds)
				}
				if d.CachedIDs != (MinMax{demoDelivered, demoDelivered}) {
					t.Errorf("delta scans carried %v cached ids, want the %d delivered", d.CachedIDs, demoDelivered)
				}
				checkTimes(t, "delta", d)
			}

			// The server saw every first scan as a new registered computer.
			computers, err := store.Computers(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			registered := 0
			for _, c := range computers {
				if c.Registered {
					registered++
				}
			}
			if len(computers) != tt.firstScans || registered != tt.firstScans {
				t.Errorf("server has %d computers (%d registered), want %d", len(computers), registered, tt.firstScans)
			}
		})
	}
}

// checkTimes checks the latency summary and rates of a phase for consistency.
func checkTimes(t *testing.T, name string, p Phase) {
	t.Helper()
	l := p.Latency
	if l.Count != p.Scans || l.Min <= 0 || l.Min > l.P50 || l.P50 > l.P90 || l.P90 > l.P99 || l.P99 > l.Max || l.Mean < l.Min || l.Mean > l.Max {
		t.Errorf("%s latency %+v for %d scans", name, l, p.Scans)
	}
	if p.Window < l.Max || p.ScansPerSecond != float64(p.Scans)/p.Window.Seconds() || p.SyncUpdatesPerSecond != float64(p.SyncUpdates)/p.Window.Seconds() {
		t.Errorf("%s window %v, %.1f scans/s, %.1f SyncUpdates/s for %d scans", name, p.Window, p.ScansPerSecond, p.SyncUpdatesPerSecond, p.Scans)
	}
}

func TestRunWithDownloadsAndReports(t *testing.T) {
	base, _ := startDemo(t)
	rep, err := Run(context.Background(), Config{ServerURL: base, Clients: 2, Mode: ModeBoth, Iterations: 2, Downloads: true, Report: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed() != 0 {
		t.Fatalf("errors %+v", rep.Errors)
	}
	// Each new client downloads the demo payload (one 3,080,000-byte file)
	// and reports 147, 156 and its 162; delta scans fetch nothing again and
	// report 147 and 156.
	f, d := rep.FirstScan, rep.Delta
	if f.Scans != 2 || f.FilesDownloaded != 2 || f.BytesDownloaded != 2*3080000 || f.EventsReported != 2*3 {
		t.Errorf("first scans: %d scans, %d files, %d bytes, %d events", f.Scans, f.FilesDownloaded, f.BytesDownloaded, f.EventsReported)
	}
	if d.Scans != 4 || d.FilesDownloaded != 0 || d.BytesDownloaded != 0 || d.EventsReported != 4*2 {
		t.Errorf("delta scans: %d scans, %d files, %d bytes, %d events", d.Scans, d.FilesDownloaded, d.BytesDownloaded, d.EventsReported)
	}
}

// With Install every new client installs the demo update (147, 156, 162,
// 181, then 183) and the server shows each computer with it installed;
// delta scans install nothing again.
func TestRunWithInstalls(t *testing.T) {
	base, store := startDemo(t)
	rep, err := Run(context.Background(), Config{ServerURL: base, Clients: 2, Mode: ModeBoth, Iterations: 1, Install: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed() != 0 || !rep.Downloads || !rep.ReportEvents {
		t.Fatalf("errors %+v, downloads %v, report %v", rep.Errors, rep.Downloads, rep.ReportEvents)
	}
	if f, d := rep.FirstScan, rep.Delta; f.Scans != 2 || f.EventsReported != 2*5 || d.Scans != 2 || d.EventsReported != 2*2 {
		t.Errorf("first scans: %d scans, %d events; delta: %d scans, %d events", f.Scans, f.EventsReported, d.Scans, d.EventsReported)
	}
	computers, err := store.Computers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	demo := uuid.MustParse("7f3c1e52-9a4d-4b8e-a1c6-2d5e8f90b3a7")
	for _, c := range computers {
		statuses, err := store.Statuses(context.Background(), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(statuses, func(s catalog.UpdateStatus) bool { return s.UpdateID == demo && s.State == catalog.StateInstalled }) {
			t.Errorf("computer %s statuses %+v, want the demo update installed", c.ID, statuses)
		}
	}
	if len(computers) != 2 {
		t.Errorf("%d computers", len(computers))
	}

	if _, err := Run(context.Background(), Config{ServerURL: base, Install: true, InstallPlan: clientsim.InstallPlan{FailFraction: 2}}); err == nil {
		t.Error("fail fraction 2 accepted")
	}
}

func TestRunStopsAfterDuration(t *testing.T) {
	base, _ := startDemo(t)
	rep, err := Run(context.Background(), Config{ServerURL: base, Clients: 4, Mode: ModeDelta, Duration: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed() != 0 || rep.FirstScan.Scans != 4 || rep.Delta.Scans == 0 || rep.Delta.NewUpdates != 0 {
		t.Errorf("first %+v\ndelta %+v\nerrors %+v", rep.FirstScan, rep.Delta, rep.Errors)
	}
}

func TestRunStopsWhenCancelled(t *testing.T) {
	base, _ := startDemo(t)
	ctx, cancel := context.WithCancel(context.Background())
	var scans atomic.Int64
	cfg := Config{ServerURL: base, Clients: 2, Mode: ModeBoth, Duration: time.Hour}
	// Cancel from the transport once some requests went through.
	cfg.HTTPClient = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if scans.Add(1) == 40 {
			cancel()
		}
		return http.DefaultTransport.RoundTrip(r)
	})}
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Interrupted || rep.Failed() != 0 {
		t.Errorf("interrupted %v, failed %d (%+v); a cancelled run is interrupted and counts no errors", rep.Interrupted, rep.Failed(), rep.Errors)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// faultServer answers every request with the recorded real-WSUS fault,
// ErrorCode replaced by code.
func faultServer(t *testing.T, code string) string {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("..", "..", "testdata", "clientsim", "flow", "m0-000141-fault-response.body"))
	if err != nil {
		t.Fatal(err)
	}
	fault := strings.Replace(string(body), "InvalidParameters", code, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte(fault))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestRunCountsErrorsByKind(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	notSOAP := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(notSOAP.Close)

	busy := faultServer(t, "ServerBusy")
	tests := []struct {
		name, url string
		mode      Mode
		kind      string
		example   string
	}{
		{"SOAP fault", busy, ModeFirstScan, "fault ServerBusy", "clientsim: GetConfig: SOAP fault ServerBusy (parameters.InstalledNonLeafUpdateIDs) [HTTP 500]"},
		// Failed first scans are retried with new clients, each using up an iteration.
		{"SOAP fault, both", busy, ModeBoth, "fault ServerBusy", "clientsim: GetConfig: SOAP fault ServerBusy"},
		{"connection refused", closedURL, ModeFirstScan, "transport", "connection refused"},
		{"not a SOAP server", notSOAP.URL, ModeFirstScan, "protocol", "clientsim: GetConfig: HTTP 404, not a SOAP fault: 404 page not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Run(context.Background(), Config{ServerURL: tt.url, Clients: 2, Mode: tt.mode, Iterations: 3})
			if err != nil {
				t.Fatal(err)
			}
			if rep.FirstScan.Failed != 6 || rep.FirstScan.Scans != 0 || rep.Delta.Scans+rep.Delta.Failed != 0 || rep.Failed() != 6 || rep.ErrorRate() != 1 {
				t.Errorf("first scans: %d failed, %d completed; error rate %v", rep.FirstScan.Failed, rep.FirstScan.Scans, rep.ErrorRate())
			}
			if len(rep.Errors) != 1 {
				t.Fatalf("errors %+v, want one kind", rep.Errors)
			}
			e := rep.Errors[0]
			if e.Phase != "first-scan" || e.Kind != tt.kind || e.Count != 6 || !strings.Contains(e.Example, tt.example) {
				t.Errorf("error %+v, want 6 × %s like %q", e, tt.kind, tt.example)
			}
			if rep.FirstScan.Latency.Count != 0 {
				t.Errorf("failed scans entered the latency: %+v", rep.FirstScan.Latency)
			}
		})
	}
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // error substring; "" for valid
	}{
		{"loopback IPv4", Config{ServerURL: "http://127.0.0.1:8530"}, ""},
		{"loopback IPv4 elsewhere in 127/8", Config{ServerURL: "http://127.1.2.3:8530"}, ""},
		{"loopback IPv6", Config{ServerURL: "http://[::1]:8530"}, ""},
		{"localhost", Config{ServerURL: "https://LOCALHOST/"}, ""},
		{"remote IP", Config{ServerURL: "http://192.0.2.1:8530"}, `"192.0.2.1" is not a loopback address`},
		{"remote name", Config{ServerURL: "http://wsus.example.com:8530"}, `"wsus.example.com" is not a loopback address`},
		{"unspecified address", Config{ServerURL: "http://0.0.0.0:8530"}, `"0.0.0.0" is not a loopback address`},
		{"name resolving to loopback is not trusted", Config{ServerURL: "http://localhost.example.com"}, "is not a loopback address"},
		{"remote allowed", Config{ServerURL: "http://192.0.2.1:8530", AllowRemote: true}, ""},
		{"not http", Config{ServerURL: "ftp://127.0.0.1/"}, `server URL "ftp://127.0.0.1/" is not an http(s) URL`},
		{"no URL", Config{}, `server URL "" is not an http(s) URL`},
		{"bad mode", Config{ServerURL: "http://127.0.0.1", Mode: "soak"}, `mode "soak" is not first-scan, delta or both`},
		{"negative clients", Config{ServerURL: "http://127.0.0.1", Clients: -1}, "clients out of range"},
		{"too many clients", Config{ServerURL: "http://127.0.0.1", Clients: MaxClients + 1}, "clients out of range"},
		{"negative duration", Config{ServerURL: "http://127.0.0.1", Duration: -time.Second}, "duration out of range"},
		{"negative iterations", Config{ServerURL: "http://127.0.0.1", Iterations: -1}, "iterations out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := tt.cfg.withDefaults()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got.Clients != DefaultClients || got.Mode != ModeBoth || got.Duration != DefaultDuration ||
					got.RequestTimeout != DefaultRequestTimeout || got.MaxSyncRounds != DefaultMaxSyncRounds || got.Logger == nil {
					t.Errorf("defaults not applied: %+v", got)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			// Run refuses the same way, before sending anything.
			if _, err := Run(context.Background(), tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestHostGuardOnlyLetsTheServerThrough(t *testing.T) {
	var hits atomic.Int64
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) })
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	other := httptest.NewServer(handler)
	t.Cleanup(other.Close)

	cfg, u, err := Config{ServerURL: srv.URL + "/wsus/"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	client := httpClient(cfg, u)
	for _, tt := range []struct {
		url     string
		allowed bool
	}{
		{srv.URL + "/ClientWebService/client.asmx", true},
		{strings.Replace(srv.URL, "127.0.0.1", "127.0.0.2", 1) + "/Content/AB/x.exe", false}, // another loopback address
		{other.URL + "/Content/AB/x.exe", false},                                             // another port
	} {
		before := hits.Load()
		resp, err := client.Get(tt.url)
		if resp != nil {
			resp.Body.Close()
		}
		if tt.allowed != (err == nil) || tt.allowed != (hits.Load() == before+1) {
			t.Errorf("GET %s: err %v, server hit %v; want allowed %v", tt.url, err, hits.Load() != before, tt.allowed)
		}
		if !tt.allowed && errorKind(err) != "foreign-host" {
			t.Errorf("GET %s: error kind %q, want foreign-host", tt.url, errorKind(err))
		}
	}

	for _, tt := range []struct{ a, b string }{
		{"http://127.0.0.1", "http://127.0.0.1:80/x"},
		{"https://LocalHost", "https://localhost:443"},
	} {
		ua, _ := http.NewRequest(http.MethodGet, tt.a, nil)
		ub, _ := http.NewRequest(http.MethodGet, tt.b, nil)
		if canonicalHost(ua.URL) != canonicalHost(ub.URL) {
			t.Errorf("%s and %s name different hosts: %s, %s", tt.a, tt.b, canonicalHost(ua.URL), canonicalHost(ub.URL))
		}
	}
}

func TestErrorKind(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&clientsim.Fault{ErrorCode: "InvalidCookie"}, "fault InvalidCookie"},
		{&clientsim.Fault{FaultCode: "s:Server"}, "fault (no ErrorCode, s:Server)"},
		{&clientsim.DigestMismatchError{File: "a.exe"}, "digest-mismatch"},
		{context.DeadlineExceeded, "timeout"},
		{&net.OpError{Op: "read", Err: os.ErrClosed}, "transport"},
		{os.ErrInvalid, "protocol"},
	}
	for _, tt := range tests {
		if got := errorKind(tt.err); got != tt.want {
			t.Errorf("errorKind(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
