package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/admin"
)

// Categories of the synchronization tests, besides the "Windows 11"
// product of newServer (which names no family).
var (
	windowsID  = uuid.MustParse("6964aab4-c5b5-43bd-a17d-ffb4346a8e1d")
	oobeZDPID  = uuid.MustParse("dd78b8a1-0b20-45c1-add6-4da72e9364cf")
	securityID = uuid.MustParse("0fa1201d-4330-4fa8-8ae9-b877473b6441")
	criticalID = uuid.MustParse("e6cf1350-c01b-414d-a61f-263d14d133b4")
)

// syncServer is newServer with a product family, a product under it and
// two classifications stored, served with starter (nil: none).
func syncServer(t *testing.T, starter admin.SyncStarter) *server {
	t.Helper()
	s := newServer(t)
	cat := func(id uuid.UUID, ctype, title string, parent uuid.UUID) *catalog.Revision {
		r := &catalog.Revision{
			Identity: catalog.Identity{UpdateID: id, RevisionNumber: 100}, Type: catalog.TypeCategory, CategoryType: ctype,
			Title: title, PublicationState: "Published", CreationDate: t0, CoreXML: "<Core/>", SourceXML: "<upd:Update/>",
		}
		if parent != uuid.Nil {
			r.Prerequisites = []catalog.PrerequisiteClause{{IsCategory: true, UpdateIDs: []uuid.UUID{parent}}}
		}
		return r
	}
	revs := []*catalog.Revision{
		cat(windowsID, "ProductFamily", "Windows", uuid.Nil),
		cat(oobeZDPID, "Product", "OOBE ZDP", windowsID),
		cat(securityID, "UpdateClassification", "Security Updates", uuid.Nil),
		cat(criticalID, "UpdateClassification", "Critical Updates", uuid.Nil),
	}
	if _, err := s.store.ImportRevisions(context.Background(), revs); err != nil {
		t.Fatalf("import categories: %v", err)
	}
	s.serve(t, starter)
	return s
}

// serve replaces the server's handler by one with starter.
func (s *server) serve(t *testing.T, starter admin.SyncStarter) {
	t.Helper()
	s.srv.Close()
	s.srv = httptest.NewServer(admin.NewWith(s.store, admin.Options{Token: token, Logger: slog.New(slog.DiscardHandler), Sync: starter}))
	t.Cleanup(s.srv.Close)
}

// wantRun runs wsusctl and requires exit 0, no stderr and stdout.
func (s *server) wantRun(t *testing.T, want string, args ...string) {
	t.Helper()
	code, stdout, stderr := s.wsusctl(t, args...)
	if code != 0 || stderr != "" {
		t.Fatalf("%v: exit %d, stderr %q", args, code, stderr)
	}
	if stdout != want {
		t.Errorf("%v: stdout:\n%s\nwant:\n%s", args, stdout, want)
	}
}

func TestProductsAndClassificationsCommands(t *testing.T) {
	s := syncServer(t, nil)
	s.wantRun(t, lines(
		"SEL  TITLE       ID",
		"[ ]  Windows     6964aab4-c5b5-43bd-a17d-ffb4346a8e1d",
		"[ ]    OOBE ZDP  dd78b8a1-0b20-45c1-add6-4da72e9364cf",
		"[ ]  Windows 11  33333333-3333-4333-8333-333333333333",
	), "products")
	s.wantRun(t, lines(
		"SEL  TITLE             ID",
		"[ ]  Critical Updates  e6cf1350-c01b-414d-a61f-263d14d133b4",
		"[ ]  Security Updates  0fa1201d-4330-4fa8-8ae9-b877473b6441",
	), "classifications")

	// A family stands for its products: selecting it selects OOBE ZDP.
	if code, _, stderr := s.wsusctl(t, "sync", "settings", "--product", "windows", "--classification", "Security Updates"); code != 0 {
		t.Fatalf("sync settings: exit %d, %s", code, stderr)
	}
	s.wantRun(t, lines(
		"SEL  TITLE       ID",
		"[x]  Windows     6964aab4-c5b5-43bd-a17d-ffb4346a8e1d",
		"[x]    OOBE ZDP  dd78b8a1-0b20-45c1-add6-4da72e9364cf",
		"[ ]  Windows 11  33333333-3333-4333-8333-333333333333",
	), "products")
	s.wantRun(t, lines(
		"SEL  TITLE             ID",
		"[ ]  Critical Updates  e6cf1350-c01b-414d-a61f-263d14d133b4",
		"[x]  Security Updates  0fa1201d-4330-4fa8-8ae9-b877473b6441",
	), "classifications")
	s.wantRun(t, s.rawGET(t, "/api/v1/products"), "products", "--json")
	s.wantRun(t, s.rawGET(t, "/api/v1/classifications"), "--json", "classifications")
}

func TestSyncSettingsCommand(t *testing.T) {
	s := syncServer(t, nil)
	s.wantRun(t, lines(
		"Update source:    none",
		"Products:         none",
		"Classifications:  none",
		"Languages:        all",
		"Update files:     approved",
		"Schedule:         manually only",
	), "sync", "settings")

	s.wantRun(t, lines(
		"Update source:    https://upstream.contoso.test (replica)",
		"Products:         OOBE ZDP, Windows 11",
		"Classifications:  Critical Updates, Security Updates",
		"Languages:        en, de",
		"Update files:     on-demand",
		"Schedule:         4 a day from 03:30 UTC",
	), "sync", "settings", "--upstream", "https://upstream.contoso.test/", "--replica",
		"--product", "OOBE ZDP", "--product", categoryID.String(), "--classification", "security updates",
		"--classification", criticalID.String(), "--language", "en", "--language", "de",
		"--content", "on-demand", "--syncs-per-day", "4", "--first-sync", "03:30")

	// Only the given settings change.
	s.wantRun(t, lines(
		"Update source:    https://upstream.contoso.test",
		"Products:         all",
		"Classifications:  Critical Updates, Security Updates",
		"Languages:        en, de",
		"Update files:     never",
		"Schedule:         manually only",
	), "sync", "settings", "--replica=false", "--product", "all", "--content", "never", "--syncs-per-day", "0")
	s.wantRun(t, lines(
		"Update source:    https://upstream.contoso.test",
		"Products:         all",
		"Classifications:  none",
		"Languages:        all",
		"Update files:     never",
		"Schedule:         manually only",
	), "sync", "settings", "--classification", "none", "--language", "all")
	s.wantRun(t, s.rawGET(t, "/api/v1/sync/settings"), "sync", "settings", "--json")

	// The server's refusal, and the settings untouched.
	code, stdout, stderr := s.wsusctl(t, "sync", "settings", "--product", "Windows 12", "--content", "always")
	if want := `wsusctl: product "Windows 12": the upstream offers no product of that GUID or title (see GET /api/v1/products, wsusctl products) (unknown_product, HTTP 400)` + "\n"; code != 1 || stdout != "" || stderr != want {
		t.Errorf("unknown product: exit %d, stdout %q, stderr %q; want exit 1, %q", code, stdout, stderr, want)
	}
	code, _, stderr = s.wsusctl(t, "sync", "settings", "--first-sync", "25:00")
	if code != 1 || !strings.Contains(stderr, `first_sync "25:00" is not a UTC time of day HH:MM`) {
		t.Errorf("first sync: exit %d, stderr %q", code, stderr)
	}
	stored, err := s.store.SyncSettings(context.Background())
	if err != nil || !stored.AllProducts || stored.Content != catalog.ContentNever {
		t.Errorf("settings after refused changes: %+v, %v", stored, err)
	}
}

// progressStarter begins a run in the store as `wsusd serve` does, stores
// some progress before answering, then lets the run end after hold with
// failure (empty: success); with hold zero the run never ends.
type progressStarter struct {
	store   catalog.SyncStore
	hold    time.Duration
	failure string
}

func (p progressStarter) Start(ctx context.Context) (catalog.SyncRun, error) {
	run, err := p.store.BeginSyncRun(ctx, catalog.SyncRun{Trigger: "api", Holder: "test:1"}, time.Hour)
	if err != nil {
		return catalog.SyncRun{}, err
	}
	run.Phase, run.Done, run.Total = "updates", 50, 100
	if run, err = p.store.UpdateSyncRun(ctx, run); err != nil {
		return catalog.SyncRun{}, err
	}
	if p.hold == 0 {
		return run, nil
	}
	go func() {
		time.Sleep(p.hold)
		run.Done, run.New, run.Revised, run.Expired = 100, 30, 8, 2
		run.State = catalog.SyncSucceeded
		if p.failure != "" {
			run.State, run.Error = catalog.SyncFailed, p.failure
		}
		_, _ = p.store.UpdateSyncRun(context.Background(), run)
	}()
	return run, nil
}

// runs returns the runs in the server's store, newest first.
func (s *server) runs(t *testing.T) []catalog.SyncRun {
	t.Helper()
	runs, err := s.store.SyncRuns(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

func TestSyncStart(t *testing.T) {
	t.Run("no starter", func(t *testing.T) {
		s := syncServer(t, nil)
		code, _, stderr := s.wsusctl(t, "sync", "start")
		if code != 1 || !strings.Contains(stderr, "(sync_unavailable, HTTP 503)") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("no upstream", func(t *testing.T) {
		s := syncServer(t, progressStarter{})
		code, _, stderr := s.wsusctl(t, "sync", "start")
		if code != 1 || !strings.Contains(stderr, "no upstream server is configured") || !strings.Contains(stderr, "(no_upstream, HTTP 409)") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
	for _, tt := range []struct {
		name    string
		failure string
		code    int
		stderr  string
		outcome string
	}{
		{"succeeds", "", 0, "", `run 1 succeeded at \S+ after \S+: 30 new, 8 revised, 2 expired, 0 files \(0 B\)`},
		{"fails", "syncer: GetUpdateData: connection reset", 1, "wsusctl: synchronization run 1 failed: syncer: GetUpdateData: connection reset\n",
			`run 1 failed at \S+ after \S+: 30 new, 8 revised, 2 expired, 0 files \(0 B\): syncer: GetUpdateData: connection reset`},
	} {
		t.Run("wait, "+tt.name, func(t *testing.T) {
			s := syncServer(t, nil)
			s.serve(t, progressStarter{store: s.store, hold: 300 * time.Millisecond, failure: tt.failure})
			if code, _, stderr := s.wsusctl(t, "sync", "settings", "--upstream", "http://up.test:8530"); code != 0 {
				t.Fatalf("settings: %s", stderr)
			}
			code, stdout, stderr := s.wsusctl(t, "sync", "start", "--wait", "--poll", "10ms")
			if code != tt.code || stderr != tt.stderr {
				t.Errorf("exit %d, stderr %q; want %d, %q", code, stderr, tt.code, tt.stderr)
			}
			re := regexp.MustCompile(`^Started synchronization run 1\.\n  updates 50/100 \(50%\)[^\n]*\n` + tt.outcome + `\n$`)
			if !re.MatchString(stdout) {
				t.Errorf("stdout:\n%s\nwant it to match %s", stdout, re)
			}
			if runs := s.runs(t); len(runs) != 1 || runs[0].State == catalog.SyncRunning {
				t.Errorf("runs in the store: %+v", runs)
			}
		})
	}
	t.Run("without waiting, then again while it runs", func(t *testing.T) {
		s := syncServer(t, nil)
		s.serve(t, progressStarter{store: s.store})
		if code, _, stderr := s.wsusctl(t, "sync", "settings", "--upstream", "http://up.test:8530"); code != 0 {
			t.Fatalf("settings: %s", stderr)
		}
		s.wantRun(t, "Started synchronization run 1; follow it with: wsusctl sync status\n", "sync", "start")
		code, stdout, stderr := s.wsusctl(t, "sync", "start", "--json")
		if code != 1 || stdout != "" || !strings.Contains(stderr, "a synchronization is already running") || !strings.HasSuffix(stderr, "(sync_running, HTTP 409)\n") {
			t.Errorf("second start: exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
		status := s.rawGET(t, "/api/v1/sync")
		if !strings.Contains(status, `"running":{"id":1,`) {
			t.Errorf("GET /sync: %s", status)
		}
	})
}

func TestSyncStatusAndHistory(t *testing.T) {
	s := syncServer(t, nil)
	ctx := context.Background()
	s.wantRun(t, lines(
		"Update source:    none",
		"Products:         none",
		"Classifications:  none",
		"Languages:        all",
		"Update files:     approved",
		"Schedule:         manually only",
		"Upstream server:  not reached yet",
		"Running:          none",
		"Last run:         none",
	), "sync", "status")
	s.wantRun(t, lines("ID  STARTED  DURATION  STATE  TRIGGER  NEW  REVISED  EXPIRED  FILES  ERROR"), "sync", "history")

	begin := func(trigger string) catalog.SyncRun {
		r, err := s.store.BeginSyncRun(ctx, catalog.SyncRun{Trigger: trigger, Holder: "host:7"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	update := func(r catalog.SyncRun) catalog.SyncRun {
		out, err := s.store.UpdateSyncRun(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	r1 := begin("schedule")
	r1.State, r1.Phase, r1.New, r1.Revised, r1.Expired, r1.Files, r1.FilesTotal, r1.Bytes = catalog.SyncSucceeded, "content", 30, 8, 2, 12, 12, 3<<20
	r1 = update(r1)
	r2 := begin("manual")
	r2.State, r2.Error = catalog.SyncFailed, "syncer: GetUpdateData: connection reset"
	r2 = update(r2)
	r3 := begin("api")
	r3.Phase, r3.Done, r3.Total, r3.New = "updates", 120, 1000, 100
	r3 = update(r3)
	if err := s.store.SetSyncSettings(ctx, catalog.SyncSettings{UpstreamURL: "https://sws.update.microsoft.com", AllProducts: true,
		Classifications: []uuid.UUID{securityID}, Languages: []string{"en"}, SyncsPerDay: 2, FirstSync: 90 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	if err := s.store.SetSyncState(ctx, catalog.SyncState{UpstreamURL: "https://sws.update.microsoft.com", Config: catalog.UpstreamConfig{
		ProtocolVersion: "1.20", CatalogOnlySync: true, Languages: []catalog.UpstreamLanguage{{ID: 1033, Short: "en"}, {ID: 1031, Short: "de"}},
	}}); err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr := s.wsusctl(t, "sync", "status")
	if code != 0 || stderr != "" {
		t.Fatalf("status: exit %d, %s", code, stderr)
	}
	wantLines := []string{
		"Update source:    https://sws.update.microsoft.com",
		"Products:         all",
		"Classifications:  Security Updates",
		"Languages:        en",
		"Update files:     approved",
		"Schedule:         2 a day from 01:30 UTC",
		"Upstream server:  https://sws.update.microsoft.com: protocol 1.20, 2 languages, catalog only (files come from Microsoft Update)",
		"Running:          run 3 (api, host:7) since " + r3.Started.UTC().Format(time.RFC3339) + ": updates 120/1000 (12%)",
		"Last run:         run 2 failed at " + r2.Finished.UTC().Format(time.RFC3339) + " after ",
	}
	got := strings.Split(stdout, "\n")
	for i, want := range wantLines {
		if i >= len(got) || !strings.HasPrefix(got[i], want) {
			t.Errorf("status line %d:\n%q\nwant it to start with\n%q\n(all:\n%s)", i, got[min(i, len(got)-1)], want, stdout)
		}
	}
	if !strings.HasSuffix(got[8], ": 0 new, 0 revised, 0 expired, 0 files (0 B): syncer: GetUpdateData: connection reset") {
		t.Errorf("last run line %q", got[8])
	}

	dur := func(r catalog.SyncRun) string {
		secs := r.Finished.Sub(r.Started).Round(time.Millisecond).Seconds()
		return duration(&secs)
	}
	at := func(r catalog.SyncRun) string { return r.Started.UTC().Format(time.RFC3339) }
	table := func(rows ...[]string) string {
		var b strings.Builder
		tb := newTable(&b, "ID", "STARTED", "DURATION", "STATE", "TRIGGER", "NEW", "REVISED", "EXPIRED", "FILES", "ERROR")
		for _, r := range rows {
			tb.row(r...)
		}
		if err := tb.flush(); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	row3 := []string{"3", at(r3), "-", "running", "api", "100", "0", "0", "0", "-"}
	row2 := []string{"2", at(r2), dur(r2), "failed", "manual", "0", "0", "0", "0", "syncer: GetUpdateData: connection reset"}
	row1 := []string{"1", at(r1), dur(r1), "succeeded", "schedule", "30", "8", "2", "12", "-"}
	s.wantRun(t, table(row3, row2, row1), "sync", "history")
	s.wantRun(t, table(row3, row2), "sync", "history", "--limit", "2")
	s.wantRun(t, table(row1), "sync", "history", "--limit", "2", "--before-id", "2")
	s.wantRun(t, table(row2, row1), "sync", "history", "--before-id", "3")
	s.wantRun(t, s.rawGET(t, "/api/v1/sync/runs?limit=1"), "sync", "history", "--json", "--limit", "1")
	s.wantRun(t, s.rawGET(t, "/api/v1/sync"), "--json", "sync", "status")
}

func TestSyncUsageErrors(t *testing.T) {
	newServer(t) // hermetic environment
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"sync"}, "wsusctl: sync wants a subcommand: status, start, history or settings"},
		{[]string{"sync", "stop"}, `wsusctl: unknown sync subcommand "stop"; want status, start, history or settings`},
		{[]string{"sync", "status", "now"}, `wsusctl: sync status takes no arguments, got ["now"]`},
		{[]string{"sync", "history", "--limit", "0"}, "wsusctl: sync history: --limit 0 is not from 1 to 1000"},
		{[]string{"sync", "history", "--limit", "1001"}, "wsusctl: sync history: --limit 1001 is not from 1 to 1000"},
		{[]string{"sync", "history", "--before-id", "-1"}, "wsusctl: sync history: --before-id -1 is not a positive ID"},
		{[]string{"sync", "start", "--poll", "0s"}, "wsusctl: sync start: --poll 0s is not positive"},
		{[]string{"sync", "settings", "--replica=maybe"}, `wsusctl: sync settings: invalid boolean value "maybe" for -replica: not true or false`},
		{[]string{"sync", "settings", "--syncs-per-day", "x"}, `wsusctl: sync settings: invalid value "x" for flag -syncs-per-day: parse error`},
		{[]string{"products", "extra"}, `wsusctl: products takes no arguments, got ["extra"]`},
	} {
		code, stdout, stderr := runCLI(t, append([]string{"--token", token}, tt.args...)...)
		first, rest, _ := strings.Cut(stderr, "\n")
		if code != 2 || stdout != "" || first != tt.want || !strings.HasPrefix(rest, "usage: wsusctl") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and %q then the usage", tt.args, code, stdout, stderr, tt.want)
		}
	}
}

// The starters of these tests are real lease holders: a second begin
// conflicts as the store says.
func TestProgressStarterConflicts(t *testing.T) {
	s := newServer(t)
	p := progressStarter{store: s.store}
	if _, err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Start(context.Background()); !errors.Is(err, catalog.ErrConflict) {
		t.Errorf("second start: %v, want catalog.ErrConflict", err)
	}
}
