package server_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"wsus/clientsim"
	"wsus/clientsim/replay"
	"wsus/server"
	"wsus/sync/importer"
)

const demoUpdateID = "7f3c1e52-9a4d-4b8e-a1c6-2d5e8f90b3a7"

// startDemo runs a whole server (embedded store under a temp data dir, the
// demo catalog imported as `make run` does) on a real loopback listener.
func startDemo(t *testing.T) (baseURL string, stores server.Stores, token string) {
	t.Helper()
	cfg := server.Config{DataDir: t.TempDir(), AdminToken: "test-token"}
	base, stores := startServer(t, cfg, "All Computers")
	return base, stores, cfg.AdminToken
}

// startServer opens cfg's stores, imports the demo catalog (approving the
// local update in approveGroup unless it is empty) and serves on a real
// loopback listener until the test ends.
func startServer(t *testing.T, cfg server.Config, approveGroup string) (string, server.Stores) {
	t.Helper()
	r := startServers(t, cfg, approveGroup, slog.New(slog.DiscardHandler))
	return r.base, r.stores
}

// running is a server started by startServers.
type running struct {
	base      string // client listener's URL
	adminBase string // admin listener's URL, "" when cfg.AdminListen is empty
	stores    server.Stores
	stop      func() error // cancels Serve's context and returns what Serve returned
}

// startServers is startServer with the logger given, and a second loopback
// listener for the admin API when cfg.AdminListen is set; tweaks change the
// server before it serves. Serve must return nil when the test stops it or
// ends.
func startServers(t *testing.T, cfg server.Config, approveGroup string, logger *slog.Logger, tweaks ...func(*server.Server)) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stores, err := server.OpenStores(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join("..", "testdata", "catalog")
	if _, err := importer.Import(ctx, stores.Catalog, stores.Blobs, []string{filepath.Join(root, "microsoft")}, importer.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := importer.Import(ctx, stores.Catalog, stores.Blobs, []string{filepath.Join(root, "local")}, importer.Options{ApproveGroup: approveGroup}); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(ctx, cfg, stores, logger)
	if err != nil {
		t.Fatal(err)
	}
	for _, tweak := range tweaks {
		tweak(srv)
	}
	var lns server.Listeners
	r := &running{stores: stores}
	if lns.Client, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	r.base = "http://" + lns.Client.Addr().String()
	if cfg.AdminListen != "" {
		if lns.Admin, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		r.adminBase = "http://" + lns.Admin.Addr().String()
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeListeners(ctx, lns) }()
	var once sync.Once
	var serveErr error
	r.stop = func() error {
		once.Do(func() {
			cancel()
			serveErr = <-done
		})
		return serveErr
	}
	t.Cleanup(func() {
		if err := r.stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
		stores.Close()
	})
	return r
}

func TestClientsimScanAgainstServer(t *testing.T) {
	base, stores, token := startDemo(t)
	ctx := context.Background()
	before := time.Now().UTC()
	sum, err := clientsim.Scan(ctx, clientsim.Config{ServerURL: base})
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	if sum.UpdatesOffered != 1 || !slices.ContainsFunc(sum.OfferedUpdateIDs, func(id string) bool { return strings.EqualFold(id, demoUpdateID) }) {
		t.Errorf("offered %d %v, want the demo update", sum.UpdatesOffered, sum.OfferedUpdateIDs)
	}
	if sum.FilesDownloaded != 1 || sum.BytesDownloaded != 3080000 || sum.BytesVerified != 3080000 {
		t.Errorf("downloaded %d files, %d bytes, %d verified; want 1 file of 3080000 bytes", sum.FilesDownloaded, sum.BytesDownloaded, sum.BytesVerified)
	}
	if sum.EventsReported < 2 {
		t.Errorf("%d events reported, want at least 147 and 156", sum.EventsReported)
	}
	if sum.SoftwareRounds < 3 || sum.DriverRounds != 1 {
		t.Errorf("%d software rounds, %d driver rounds; the demo category chain needs 3 rounds and one driver pass", sum.SoftwareRounds, sum.DriverRounds)
	}

	// The admin API lists the computer with its last sync time.
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/computers", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Computers []struct {
			ID         string     `json:"id"`
			DNSName    string     `json:"dns_name"`
			Registered bool       `json:"registered"`
			LastSync   *time.Time `json:"last_sync"`
			LastReport *time.Time `json:"last_report"`
		} `json:"computers"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	if len(list.Computers) != 1 {
		t.Fatalf("%d computers listed, want 1", len(list.Computers))
	}
	c := list.Computers[0]
	if c.ID != sum.ClientID || c.DNSName != sum.DNSName || !c.Registered {
		t.Errorf("computer %+v, want id %s dns %s registered", c, sum.ClientID, sum.DNSName)
	}
	if c.LastSync == nil || c.LastSync.Before(before) || c.LastReport == nil {
		t.Errorf("last_sync %v last_report %v, want times after %v", c.LastSync, c.LastReport, before)
	}

	// The 156 status report marked the offered update as needed.
	statuses, err := stores.Catalog.Statuses(ctx, sum.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, st := range statuses {
		got[st.UpdateID.String()] = st.State.String()
	}
	want := map[string]string{demoUpdateID: "NotInstalled", "1f9bd9bb-7390-4aa3-bbdb-ded99fac2583": "NotApplicable"}
	if !maps.Equal(got, want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
}

// TestReplayNativeScanCapture replays the real Windows 11 agent's scan (a
// copy of captures/wsus-rs/wsus-m0-native/scan) against the server: every
// answer must have the structure the real WS2025 WSUS gave.
func TestReplayNativeScanCapture(t *testing.T) {
	base, _, _ := startDemo(t)
	exchanges, err := replay.Load(filepath.Join("..", "testdata", "clientsim", "scan"))
	if err != nil {
		t.Fatal(err)
	}
	if len(exchanges) != 10 {
		t.Fatalf("%d exchanges in the capture, want 10", len(exchanges))
	}
	results, err := replay.Run(context.Background(), replay.Config{ServerURL: base}, exchanges)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if !r.Equal() {
			t.Errorf("%s", r.Format(true))
		}
	}
}

func TestPathsAreCaseInsensitive(t *testing.T) {
	base, _, _ := startDemo(t)
	for _, p := range []string{"/clientwebservice/CLIENT.ASMX", "/ClientWebService/client.asmx", "/SIMPLEAUTHWEBSERVICE/simpleauth.asmx", "/ReportingWebService/WebService.asmx"} {
		resp, err := http.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET %s: %d, want 405 from the SOAP endpoint", p, resp.StatusCode)
		}
	}
	for p, want := range map[string]int{
		"/content/a7/f46a38a8d1d08313e910b122be46fcf42ccec2a7.bin": 200,
		"/Content/A7/F46A38A8D1D08313E910B122BE46FCF42CCEC2A7.bin": 200,
		"/selfupdate/wuident.cab":                                  404,
		"/nothing":                                                 404,
	} {
		resp, err := http.Head(base + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("HEAD %s: %d, want %d", p, resp.StatusCode, want)
		}
	}
}
