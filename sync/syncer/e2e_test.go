package syncer_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/clientsim"
	"wsus/clientsim/catalogen"
	"wsus/internal/testpg"
	"wsus/internal/testserver"
	"wsus/server"
	"wsus/storage"
	"wsus/sync/syncer"
)

func TestMain(m *testing.M) { os.Exit(testpg.Main(m)) }

// instance is a wsusd serving on a real loopback listener.
type instance struct {
	url    string
	stores server.Stores
}

// serve runs a server over stores until the test ends.
func serve(t *testing.T, cfg server.Config, stores server.Stores) string {
	return testserver.Serve(t, cfg, stores)
}

// open opens the stores of a fresh instance: embedded, or on a fresh
// PostgreSQL database when pg is set.
func open(t *testing.T, pg bool) (server.Config, server.Stores) {
	t.Helper()
	if pg {
		return testserver.Open(t, testpg.URL(t))
	}
	return testserver.Open(t, "")
}

// startUpstream is instance A: a generated catalog with payloads, its
// top-level updates approved for All Computers.
func startUpstream(t *testing.T, updates int, seed int64) (instance, catalogen.Stats) {
	t.Helper()
	url, stores, st := testserver.Upstream(t, catalogen.Options{Updates: updates, Seed: seed, Payloads: true, Revisions: 0.2})
	return instance{url: url, stores: stores}, st
}

// syncFrom runs one synchronization of stores from upstreamURL with every
// product and classification, payloads downloaded into stores' blobs.
func syncFrom(t *testing.T, stores server.Stores, upstreamURL string, replica bool) catalog.SyncRun {
	t.Helper()
	ctx := context.Background()
	s, err := stores.Catalog.SyncSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.UpstreamURL, s.Replica = upstreamURL, replica
	if err := stores.Catalog.SetSyncSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	sy, err := syncer.New(syncer.Config{
		Store:   stores.Catalog,
		Content: syncer.Downloads{Store: stores.Blobs},
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	run, err := sy.Run(ctx, "manual", &syncer.Selection{Products: []string{"all"}, Classifications: []string{"all"}})
	if err != nil {
		t.Fatalf("sync: %v (run %+v)", err, run)
	}
	if run.State != catalog.SyncSucceeded || run.Finished.IsZero() {
		t.Fatalf("run %+v, want succeeded and finished", run)
	}
	return run
}

// identities returns the catalog's revisions as sorted "id/rev" strings.
func identities(t *testing.T, s catalog.Store) []string {
	t.Helper()
	sums, err := s.Summaries(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(sums))
	for i, sm := range sums {
		out[i] = fmt.Sprintf("%s/%d", sm.UpdateID, sm.RevisionNumber)
	}
	slices.Sort(out)
	return out
}

// expiredUpdates returns the updates whose newest revision is Expired.
func expiredUpdates(t *testing.T, s catalog.Store) map[string]bool {
	t.Helper()
	sums, err := s.Summaries(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	newest := map[uuid.UUID]catalog.Summary{}
	for _, sm := range sums {
		if n, ok := newest[sm.UpdateID]; !ok || n.RevisionNumber < sm.RevisionNumber {
			newest[sm.UpdateID] = sm
		}
	}
	out := map[string]bool{}
	for id, sm := range newest {
		if strings.EqualFold(sm.PublicationState, "Expired") {
			out[strings.ToLower(id.String())] = true
		}
	}
	return out
}

func scan(t *testing.T, url string) clientsim.Summary {
	t.Helper()
	sum, err := clientsim.Scan(context.Background(), clientsim.Config{ServerURL: url})
	if err != nil {
		t.Fatalf("scan %s: %v", url, err)
	}
	for i := range sum.OfferedUpdateIDs {
		sum.OfferedUpdateIDs[i] = strings.ToLower(sum.OfferedUpdateIDs[i])
	}
	slices.Sort(sum.OfferedUpdateIDs)
	return sum
}

// TestSyncFromAnotherServer is the A→B test: B synchronizes from A
// over loopback (A in the upstream role), on the embedded store and on
// PostgreSQL, in replica mode (A's approvals come along) and autonomous
// mode (B's admin approves). B then offers a simulated client what A
// offers, minus the updates A's catalog expired (B declines those as WSUS
// does), and the client downloads and verifies the same files from B.
func TestSyncFromAnotherServer(t *testing.T) {
	a, stats := startUpstream(t, 400, 7)
	if stats.Expired == 0 || stats.Payloads == 0 {
		t.Fatalf("generated catalog has %d expired updates and %d payloads; the test needs both", stats.Expired, stats.Payloads)
	}
	wantIDs := identities(t, a.stores.Catalog)
	expired := expiredUpdates(t, a.stores.Catalog)
	fromA := scan(t, a.url)
	var wantOffered []string
	for _, id := range fromA.OfferedUpdateIDs {
		if !expired[id] {
			wantOffered = append(wantOffered, id)
		}
	}
	if len(wantOffered) == 0 || fromA.FilesDownloaded == 0 {
		t.Fatalf("A offers %d updates (%d not expired), %d files: nothing to compare", fromA.UpdatesOffered, len(wantOffered), fromA.FilesDownloaded)
	}

	for _, tc := range []struct {
		name    string
		pg      bool
		replica bool
	}{
		{"embedded replica", false, true},
		{"postgres replica", true, true},
		{"embedded autonomous", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, b := open(t, tc.pg)
			run := syncFrom(t, b, a.url, tc.replica)
			if got := identities(t, b.Catalog); !slices.Equal(got, wantIDs) {
				t.Fatalf("B holds %d revisions, A %d; first differences: %v", len(got), len(wantIDs), firstDiff(got, wantIDs))
			}
			if run.New == 0 || run.Expired != len(expired) {
				t.Errorf("run counted %d new, %d expired; want some new and %d expired", run.New, run.Expired, len(expired))
			}
			if !tc.replica {
				approveLikeA(t, a.stores.Catalog, b.Catalog)
				// The files of approvals made after a sync come with the next.
				syncFrom(t, b, a.url, false)
			}
			fromB := scan(t, serve(t, cfg, b))
			if !slices.Equal(fromB.OfferedUpdateIDs, wantOffered) {
				t.Errorf("B offers %v, want %v", fromB.OfferedUpdateIDs, wantOffered)
			}
			if fromB.FilesDownloaded == 0 || fromB.BytesVerified != fromB.BytesDownloaded {
				t.Errorf("from B: %d files, %d bytes, %d verified", fromB.FilesDownloaded, fromB.BytesDownloaded, fromB.BytesVerified)
			}

			// A second run changes nothing: everything is stored.
			again := syncFrom(t, b, a.url, tc.replica)
			if again.New != 0 || again.Revised != 0 || again.Expired != 0 {
				t.Errorf("second run: %d new, %d revised, %d expired; want none", again.New, again.Revised, again.Expired)
			}
		})
	}
}

// approveLikeA copies A's approvals to B.
func approveLikeA(t *testing.T, a, b catalog.Store) {
	t.Helper()
	ctx := context.Background()
	approvals, err := a.Approvals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, ap := range approvals {
		ap.ID = 0
		if _, err := b.SetApproval(ctx, ap); err != nil && !errors.Is(err, catalog.ErrNotFound) {
			t.Fatal(err)
		}
	}
}

func firstDiff(got, want []string) []string {
	var out []string
	for _, g := range got {
		if !slices.Contains(want, g) {
			out = append(out, "extra "+g)
		}
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			out = append(out, "missing "+w)
		}
	}
	return out[:min(len(out), 10)]
}

// setContent saves the content mode and replica mode of stores.
func setContent(t *testing.T, stores server.Stores, upstreamURL string, mode catalog.ContentMode) {
	t.Helper()
	ctx := context.Background()
	s, err := stores.Catalog.SyncSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.UpstreamURL, s.Content, s.Replica = upstreamURL, mode, true
	if err := stores.Catalog.SetSyncSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
}

// blobCount counts the objects of a blob store.
func blobCount(t *testing.T, stores server.Stores) int {
	t.Helper()
	n := 0
	if err := stores.Blobs.List(context.Background(), func(storage.ObjectInfo) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestContentModes checks the two modes that store nothing during the
// synchronization: "on-demand" (B fetches a file from A when a client first
// asks, and keeps it) and "never" (clients download from each file's
// Microsoft Update URL, here pointing at A, which B learnt from A's
// GetUpdateData answers).
func TestContentModes(t *testing.T) {
	a, _ := startUpstream(t, 300, 11)
	fromA := scan(t, a.url)
	if fromA.FilesDownloaded == 0 {
		t.Fatal("A offers no files")
	}
	// A knows a "Microsoft Update URL" for each of its files: its own
	// content URL, so that the never mode can be checked over loopback.
	ctx := context.Background()
	sums, err := a.stores.Catalog.Summaries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int32, len(sums))
	for i, s := range sums {
		ids[i] = s.ID
	}
	files, err := a.stores.Catalog.Files(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	var sources []catalog.FileSource
	for _, fs := range files {
		for _, f := range fs {
			sources = append(sources, catalog.FileSource{SHA1: f.SHA1, MUURL: syncer.ContentPath(a.url, f)})
		}
	}
	if err := a.stores.Catalog.SetFileSources(ctx, sources); err != nil {
		t.Fatal(err)
	}

	for _, mode := range []catalog.ContentMode{catalog.ContentOnDemand, catalog.ContentNever} {
		t.Run(string(mode), func(t *testing.T) {
			cfg, b := open(t, false)
			setContent(t, b, a.url, mode)
			syncFrom(t, b, a.url, true)
			if n := blobCount(t, b); n != 0 {
				t.Fatalf("%d files stored by the synchronization in mode %s, want none", n, mode)
			}
			fromB := scan(t, serve(t, cfg, b))
			if fromB.FilesDownloaded != fromA.FilesDownloaded || fromB.BytesVerified != fromA.BytesVerified {
				t.Errorf("from B: %d files, %d bytes verified; from A: %d, %d", fromB.FilesDownloaded, fromB.BytesVerified, fromA.FilesDownloaded, fromA.BytesVerified)
			}
			stored := blobCount(t, b)
			switch mode {
			case catalog.ContentOnDemand:
				if stored != fromA.FilesDownloaded {
					t.Errorf("B stored %d files on demand, want the %d the client fetched", stored, fromA.FilesDownloaded)
				}
			case catalog.ContentNever:
				if stored != 0 {
					t.Errorf("B stored %d files, want none: clients go to the Microsoft Update URLs", stored)
				}
			}
		})
	}
}

// TestSyncStartedThroughAdminAPI starts a synchronization with POST
// /api/v1/sync/runs on a serving B and follows it to its end.
func TestSyncStartedThroughAdminAPI(t *testing.T) {
	a, _ := startUpstream(t, 200, 5)
	cfg, b := open(t, false)
	setContent(t, b, a.url, catalog.ContentApproved)
	s, err := b.Catalog.SyncSettings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s.AllProducts, s.AllClassifications = true, true
	if err := b.Catalog.SetSyncSettings(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	base := serve(t, cfg, b)
	call := func(method, path string) (int, map[string]any) {
		req, err := http.NewRequest(method, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+cfg.AdminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatalf("%s %s: %d, body not JSON: %v", method, path, resp.StatusCode, err)
		}
		return resp.StatusCode, body
	}
	status, run := call(http.MethodPost, "/api/v1/sync/runs")
	if status != http.StatusAccepted || run["state"] != "running" {
		t.Fatalf("start: %d %v", status, run)
	}
	if status, again := call(http.MethodPost, "/api/v1/sync/runs"); status != http.StatusConflict {
		// The first may have finished already on a fast machine; then this
		// one started and must be followed instead.
		if status != http.StatusAccepted {
			t.Fatalf("second start: %d %v", status, again)
		}
		run = again
	}
	path := fmt.Sprintf("/api/v1/sync/runs/%v", run["id"])
	deadline := time.Now().Add(2 * time.Minute)
	for run["state"] == "running" && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		_, run = call(http.MethodGet, path)
	}
	if run["state"] != "succeeded" || run["new"].(float64) == 0 || run["files"].(float64) == 0 || run["trigger"] != "api" {
		t.Errorf("run %v, want succeeded with new updates and files, trigger api", run)
	}
	if got := identities(t, b.Catalog); !slices.Equal(got, identities(t, a.stores.Catalog)) {
		t.Errorf("B holds %d revisions, A %d", len(got), len(identities(t, a.stores.Catalog)))
	}
}
