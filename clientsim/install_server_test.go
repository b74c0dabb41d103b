package clientsim

import (
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/internal/testserver"
	"wsus/sync/importer"
)

// startDemoServer runs a whole server on a real loopback listener, the
// embedded store with the demo catalog (testdata/catalog, as `make run`
// loads it): the local demo update, with a real payload, approved for
// Install to All Computers.
func startDemoServer(t *testing.T) (string, catalog.Store) {
	t.Helper()
	cfg, stores := testserver.Open(t, "")
	ctx := context.Background()
	root := filepath.Join("..", "testdata", "catalog")
	if _, err := importer.Import(ctx, stores.Catalog, stores.Blobs, []string{filepath.Join(root, "microsoft")}, importer.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := importer.Import(ctx, stores.Catalog, stores.Blobs, []string{filepath.Join(root, "local")}, importer.Options{ApproveGroup: "All Computers"}); err != nil {
		t.Fatal(err)
	}
	return testserver.Serve(t, cfg, stores), stores.Catalog
}

// demoStatus returns the status the server holds for the demo update on
// the computer (State Unknown when none).
func demoStatus(t *testing.T, store catalog.Store, clientID string) catalog.UpdateStatus {
	t.Helper()
	statuses, err := store.Statuses(context.Background(), clientID)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range statuses {
		if st.UpdateID == uuid.MustParse(demoUpdateID) {
			return st
		}
	}
	return catalog.UpdateStatus{}
}

// demoState returns the state the server holds for the demo update on
// the computer.
func demoState(t *testing.T, store catalog.Store, clientID string) catalog.InstallState {
	t.Helper()
	return demoStatus(t, store, clientID).State
}

// demoEvents returns the stored events of the computer with the given ID
// that name the demo update.
func demoEvents(t *testing.T, store catalog.Store, clientID string, eventID int) []catalog.Event {
	t.Helper()
	events, err := store.Events(context.Background(), clientID)
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(events, func(e catalog.Event) bool {
		return e.EventID != eventID || e.UpdateID != uuid.MustParse(demoUpdateID)
	})
}

// The server stores what the install events say: after a scan with
// Install the computer's state of the approved update is Installed,
// Failed (with the HRESULT in the stored 182) or InstalledPendingReboot as
// the plan decided, and the 156 of the next scan (V=, g=, W=) keeps it so.
func TestInstallAgainstServer(t *testing.T) {
	tests := []struct {
		name      string
		plan      InstallPlan
		want      catalog.InstallState
		eventID   int
		hresult   int32
		sum       func(Summary) int
		misc      string // in the 156 of the second scan
		reinstall bool   // the second scan installs again
	}{
		{name: "installed", want: catalog.StateInstalled, eventID: 183,
			sum: func(s Summary) int { return s.Installed }, misc: "V=" + strings.ToUpper(demoUpdateID)},
		{name: "failed", plan: InstallPlan{Fail: map[string]HResult{demoUpdateID: 0}}, want: catalog.StateFailed, eventID: 182, hresult: -2147023293,
			sum: func(s Summary) int { return s.InstallsFailed }, misc: "g=" + strings.ToUpper(demoUpdateID), reinstall: true},
		{name: "failed with its HRESULT", plan: InstallPlan{Fail: map[string]HResult{strings.ToUpper(demoUpdateID): HResult(-2145124318)}},
			want: catalog.StateFailed, eventID: 182, hresult: -2145124318,
			sum: func(s Summary) int { return s.InstallsFailed }, misc: "g=" + strings.ToUpper(demoUpdateID), reinstall: true},
		{name: "reboot pending", plan: InstallPlan{RebootPending: []string{demoUpdateID}}, want: catalog.StateInstalledPendingReboot, eventID: 184, hresult: 2359301,
			sum: func(s Summary) int { return s.RebootRequired }, misc: "W=" + strings.ToUpper(demoUpdateID)},
		{name: "fail fraction", plan: InstallPlan{FailFraction: 1}, want: catalog.StateFailed, eventID: 182, hresult: -2147023293,
			sum: func(s Summary) int { return s.InstallsFailed }, misc: "g=" + strings.ToUpper(demoUpdateID), reinstall: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, store := startDemoServer(t)
			ctx := context.Background()
			a, err := NewAgent(Config{ServerURL: base, Install: tt.plan})
			if err != nil {
				t.Fatal(err)
			}
			defer a.s.cfg.HTTPClient.CloseIdleConnections()

			// A scan without Install reports the update needed.
			if _, err := a.Scan(ctx, ScanOptions{Download: true, Report: true}); err != nil {
				t.Fatal(err)
			}
			if got := demoState(t, store, a.ClientID()); got != catalog.StateNotInstalled {
				t.Fatalf("before the install: %v, want NotInstalled", got)
			}

			res, err := a.Scan(ctx, ScanOptions{Install: true})
			if err != nil {
				t.Fatal(err)
			}
			if tt.sum(res.Summary) != 1 || res.Installed+res.InstallsFailed+res.RebootRequired != 1 {
				t.Errorf("summary %+v", res.Summary)
			}
			// 147, 156, 181 (the files were fetched by the first scan), then the result.
			if res.EventsReported != 4 {
				t.Errorf("%d events reported, want 4", res.EventsReported)
			}
			// The failed state carries the 182's HRESULT (the events
			// table's win32_hresult and the status's error code).
			wantCode := int32(0)
			if tt.want == catalog.StateFailed {
				wantCode = tt.hresult
			}
			if got := demoStatus(t, store, a.ClientID()); got.State != tt.want || got.ErrorCode != wantCode {
				t.Errorf("after the install: %v (error code %d), want %v (%d)", got.State, got.ErrorCode, tt.want, wantCode)
			}
			events := demoEvents(t, store, a.ClientID(), tt.eventID)
			if len(events) != 1 || events[0].Win32HResult != tt.hresult || events[0].RevisionNumber != 100 {
				t.Fatalf("stored %d events %d: %+v", len(events), tt.eventID, events)
			}
			if tt.eventID == 182 {
				if got := strings.Join(events[0].Replacement, "|"); got != HResult(tt.hresult).String()+"|wsus demo update (download only)" {
					t.Errorf("182 ReplacementStrings %q", got)
				}
			}
			if started := demoEvents(t, store, a.ClientID(), 181); len(started) != 1 {
				t.Errorf("%d stored 181 events, want 1", len(started))
			}

			// The next scan's 156 names the update in its list; the
			// state stays.
			res, err = a.Scan(ctx, ScanOptions{Install: true})
			if err != nil {
				t.Fatal(err)
			}
			if got := demoStatus(t, store, a.ClientID()); got.State != tt.want || got.ErrorCode != wantCode {
				t.Errorf("after the next scan: %v (error code %d), want %v (%d)", got.State, got.ErrorCode, tt.want, wantCode)
			}
			installs := res.Installed + res.InstallsFailed + res.RebootRequired
			if tt.reinstall != (installs == 1) || installs > 1 {
				t.Errorf("the next scan installed %d times (%+v)", installs, res.Summary)
			}
			wantEvents := 1
			if tt.reinstall {
				wantEvents = 2
			}
			if got := len(demoEvents(t, store, a.ClientID(), tt.eventID)); got != wantEvents {
				t.Errorf("%d stored %d events after the next scan, want %d", got, tt.eventID, wantEvents)
			}
			if tt.reinstall {
				retried := demoEvents(t, store, a.ClientID(), 181)
				if len(retried) != 2 || !slices.Contains(retried[1].MiscData, "F="+strconv.Itoa(int(tt.hresult))) {
					t.Errorf("the retry's 181: %+v", retried)
				}
			}
			all, err := store.Events(ctx, a.ClientID())
			if err != nil {
				t.Fatal(err)
			}
			var last156 catalog.Event
			for _, e := range all {
				if e.EventID == 156 {
					last156 = e
				}
			}
			if !slices.Contains(last156.MiscData, tt.misc) || slices.ContainsFunc(last156.MiscData, func(s string) bool { return strings.HasPrefix(s, "U=") }) {
				t.Errorf("the next scan's 156 MiscData %q, want %s and no U=", last156.MiscData, tt.misc)
			}
		})
	}
}

// An update approved for OptionalInstall is installed only with
// InstallOptional, as a user who picks it in Settings would.
func TestInstallOptionalAgainstServer(t *testing.T) {
	base, store := startDemoServer(t)
	ctx := context.Background()
	if _, err := store.SetApproval(ctx, catalog.Approval{
		UpdateID: uuid.MustParse(demoUpdateID), GroupID: catalog.AllComputersGroupID, Action: catalog.ActionOptionalInstall,
	}); err != nil {
		t.Fatal(err)
	}
	a, err := NewAgent(Config{ServerURL: base})
	if err != nil {
		t.Fatal(err)
	}
	defer a.s.cfg.HTTPClient.CloseIdleConnections()
	res, err := a.Scan(ctx, ScanOptions{Install: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.UpdatesOffered != 1 || res.Installed != 0 || res.FilesDownloaded != 1 {
		t.Errorf("without InstallOptional: %+v", res.Summary)
	}
	if len(demoEvents(t, store, a.ClientID(), 181)) != 0 {
		t.Error("an OptionalInstall update was installed without InstallOptional")
	}
	res, err = a.Scan(ctx, ScanOptions{Install: true, InstallOptional: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Installed != 1 || len(demoEvents(t, store, a.ClientID(), 183)) != 1 {
		t.Errorf("with InstallOptional: %+v", res.Summary)
	}
}
