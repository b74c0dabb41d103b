package storetest

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// The synchronization part of the suite (catalog.SyncStore). Where the
// contract leaves a choice open, the suite pins it: SetSyncSettings ignores
// the ChangedAt it is given; a lease must be positive; UpdateSyncRun keeps
// Trigger, Holder and Started as stored; a file source with neither MUURL
// nor DecryptionKey is not stored; invalid input is refused whole.

// syncTests are the conformance tests of catalog.SyncStore.
var syncTests = []test{
	{"SyncSettingsRoundTrip", testSyncSettings},
	{"SyncStateRoundTrip", testSyncState},
	{"SyncRunLifecycle", testSyncRunLifecycle},
	{"SyncRunLease", testSyncRunLease},
	{"SyncRunBeginRace", testSyncRunBeginRace},
	{"FileSources", testFileSources},
	{"SummaryChanged", testSummaryChanged},
	{"SyncRejectsInvalid", testSyncRejectsInvalid},
}

// mustInvalid fails unless err wraps catalog.ErrInvalid.
func mustInvalid(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, catalog.ErrInvalid) {
		t.Errorf("%s: got error %v, want one wrapping catalog.ErrInvalid", what, err)
	}
}

// mustConflict fails unless err wraps catalog.ErrConflict.
func mustConflict(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, catalog.ErrConflict) {
		t.Errorf("%s: got error %v, want one wrapping catalog.ErrConflict", what, err)
	}
}

// storedTime checks that a time the store set is a UTC time, not zero.
func storedTime(t *testing.T, what string, at time.Time) {
	t.Helper()
	if at.IsZero() || at.Location() != time.UTC {
		t.Errorf("%s is %v, want a UTC time", what, at)
	}
}

func testSyncSettings(t *testing.T, s catalog.Store) {
	got, err := s.SyncSettings(ctx(t))
	must(t, "SyncSettings before any", err)
	check(t, "SyncSettings before any", got, catalog.SyncSettings{})

	want := catalog.SyncSettings{
		UpstreamURL:        "https://sws.update.microsoft.com",
		Replica:            true,
		Products:           []uuid.UUID{idWindows, idDefender},
		AllClassifications: true,
		Languages:          []string{"en", "de", "pt-br", "Ελληνικά"},
		Content:            catalog.ContentOnDemand,
		SyncsPerDay:        4,
		FirstSync:          3*time.Hour + 30*time.Minute,
		// Ignored: the store sets ChangedAt.
		ChangedAt: time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	must(t, "SetSyncSettings", s.SetSyncSettings(ctx(t), want))
	got, err = s.SyncSettings(ctx(t))
	must(t, "SyncSettings", err)
	storedTime(t, "ChangedAt", got.ChangedAt)
	if got.ChangedAt.Year() == 2001 {
		t.Errorf("ChangedAt is the given %v, want now", got.ChangedAt)
	}
	first := got.ChangedAt
	want.ChangedAt = got.ChangedAt
	check(t, "SyncSettings after SetSyncSettings", got, want)

	// Replaced whole: what the new settings leave out is gone.
	time.Sleep(2 * time.Millisecond)
	next := catalog.SyncSettings{UpstreamURL: "http://wsus.example:8530", AllProducts: true,
		Classifications: []uuid.UUID{idDefinitionUpd}, Content: catalog.ContentNever}
	must(t, "SetSyncSettings again", s.SetSyncSettings(ctx(t), next))
	got, err = s.SyncSettings(ctx(t))
	must(t, "SyncSettings", err)
	if !got.ChangedAt.After(first) {
		t.Errorf("ChangedAt %v did not move past %v on a new save", got.ChangedAt, first)
	}
	next.ChangedAt = got.ChangedAt
	check(t, "SyncSettings after a second SetSyncSettings", got, next)
	if got.ContentOrDefault() != catalog.ContentNever {
		t.Errorf("ContentOrDefault is %q, want %q", got.ContentOrDefault(), catalog.ContentNever)
	}
}

func testSyncState(t *testing.T, s catalog.Store) {
	got, err := s.SyncState(ctx(t))
	must(t, "SyncState before any", err)
	check(t, "SyncState before any", got, catalog.SyncState{})

	want := catalog.SyncState{
		UpstreamURL: "https://sws.update.microsoft.com",
		Config: catalog.UpstreamConfig{
			ProtocolVersion: "1.7", CatalogOnlySync: true, LazySync: true, ServerHostsPsfFiles: true,
			MaxUpdatesPerRequest: 100, MaxDecryptionPerRequest: 50,
			Languages: []catalog.UpstreamLanguage{{ID: 1033, Short: "en", Long: "English", Enabled: true},
				{ID: 1031, Short: "de", Long: "German"}},
		},
		ConfigAnchor:            "2026-11-01 10:00:00.123",
		CategoryAnchor:          "<anchor a=\"1\">categories</anchor>",
		UpdateAnchor:            "updates-anchor",
		AnchoredProducts:        []uuid.UUID{idWindows},
		AnchoredClassifications: []uuid.UUID{idDefinitionUpd},
		AnchoredLanguages:       []string{"en"},
		DeploymentAnchor:        "deployments",
	}
	must(t, "SetSyncState", s.SetSyncState(ctx(t), want))
	got, err = s.SyncState(ctx(t))
	must(t, "SyncState", err)
	check(t, "SyncState after SetSyncState", got, want)

	next := catalog.SyncState{UpstreamURL: "http://other:8530", ConfigAnchor: "x"}
	must(t, "SetSyncState again", s.SetSyncState(ctx(t), next))
	got, err = s.SyncState(ctx(t))
	must(t, "SyncState", err)
	check(t, "SyncState after a second SetSyncState", got, next)
}

// syncRuns returns SyncRuns(limit).
func syncRuns(t *testing.T, s catalog.Store, limit int) []catalog.SyncRun {
	t.Helper()
	runs, err := s.SyncRuns(ctx(t), limit)
	must(t, "SyncRuns", err)
	return runs
}

func testSyncRunLifecycle(t *testing.T, s catalog.Store) {
	check(t, "SyncRuns before any", len(syncRuns(t, s, 10)), 0)

	begin := catalog.SyncRun{ID: 77, Trigger: "manual", Holder: "host-a/123", State: catalog.SyncFailed,
		Phase: "categories", Started: time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)}
	r, err := s.BeginSyncRun(ctx(t), begin, time.Hour)
	must(t, "BeginSyncRun", err)
	if r.ID <= 0 {
		t.Errorf("BeginSyncRun gave ID %d, want a positive one", r.ID)
	}
	storedTime(t, "Started", r.Started)
	if r.Started.Year() == 2001 || !r.Heartbeat.Equal(r.Started) || !r.Finished.IsZero() {
		t.Errorf("begun run: Started %v, Heartbeat %v, Finished %v; want Started now, Heartbeat = Started, no Finished",
			r.Started, r.Heartbeat, r.Finished)
	}
	want := catalog.SyncRun{ID: r.ID, Trigger: "manual", Holder: "host-a/123", State: catalog.SyncRunning,
		Started: r.Started, Heartbeat: r.Heartbeat, Phase: "categories"}
	check(t, "begun run", r, want)
	check(t, "SyncRuns after BeginSyncRun", syncRuns(t, s, 10), []catalog.SyncRun{want})

	// Progress: the counts as given, Trigger, Holder and Started as stored,
	// a new Heartbeat.
	time.Sleep(2 * time.Millisecond)
	progress := r
	progress.Trigger, progress.Holder, progress.Started = "changed", "changed", time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	progress.Phase, progress.Done, progress.Total = "updates", 3, 10
	progress.New, progress.Revised, progress.Expired = 1, 2, 3
	progress.Files, progress.FilesTotal, progress.Bytes, progress.BytesTotal = 4, 5, 6<<40, 7<<40
	p, err := s.UpdateSyncRun(ctx(t), progress)
	must(t, "UpdateSyncRun progress", err)
	if !p.Heartbeat.After(r.Heartbeat) {
		t.Errorf("Heartbeat %v did not move past %v on UpdateSyncRun", p.Heartbeat, r.Heartbeat)
	}
	want = progress
	want.Trigger, want.Holder, want.Started, want.Heartbeat = r.Trigger, r.Holder, r.Started, p.Heartbeat
	check(t, "run after progress", p, want)
	check(t, "SyncRuns after progress", syncRuns(t, s, 10), []catalog.SyncRun{want})

	// While it runs, no other run begins.
	_, err = s.BeginSyncRun(ctx(t), catalog.SyncRun{Trigger: "schedule", Holder: "host-b/9"}, time.Hour)
	mustConflict(t, "BeginSyncRun while a run is running", err)

	// The outcome.
	done := p
	done.State, done.Phase, done.Done = catalog.SyncSucceeded, "content", 10
	d, err := s.UpdateSyncRun(ctx(t), done)
	must(t, "UpdateSyncRun succeeded", err)
	storedTime(t, "Finished", d.Finished)
	if !d.Finished.Equal(d.Heartbeat) || d.Finished.Before(p.Heartbeat) {
		t.Errorf("finished run: Finished %v, Heartbeat %v; want both now", d.Finished, d.Heartbeat)
	}
	want = done
	want.Heartbeat, want.Finished = d.Heartbeat, d.Finished
	check(t, "finished run", d, want)
	_, err = s.UpdateSyncRun(ctx(t), done)
	mustConflict(t, "UpdateSyncRun of a finished run", err)
	_, err = s.UpdateSyncRun(ctx(t), catalog.SyncRun{ID: d.ID + 1000, State: catalog.SyncRunning})
	mustNotFound(t, "UpdateSyncRun of an unknown run", err)

	// The next run gets a higher ID; history is newest first.
	r2, err := s.BeginSyncRun(ctx(t), catalog.SyncRun{Trigger: "api", Holder: "host-b/9"}, time.Hour)
	must(t, "BeginSyncRun after the first finished", err)
	if r2.ID <= d.ID {
		t.Errorf("second run has ID %d, want more than %d", r2.ID, d.ID)
	}
	f2 := r2
	f2.State, f2.Error = catalog.SyncFailed, "upstream: connection refused"
	f2, err = s.UpdateSyncRun(ctx(t), f2)
	must(t, "UpdateSyncRun failed", err)
	storedTime(t, "Finished of a failed run", f2.Finished)
	r3, err := s.BeginSyncRun(ctx(t), catalog.SyncRun{Trigger: "schedule", Holder: "host-a/124"}, time.Hour)
	must(t, "BeginSyncRun after a failed run", err)
	check(t, "SyncRuns(10)", syncRuns(t, s, 10), []catalog.SyncRun{r3, f2, d})
	check(t, "SyncRuns(2)", syncRuns(t, s, 2), []catalog.SyncRun{r3, f2})
	check(t, "SyncRuns(0)", syncRuns(t, s, 0), []catalog.SyncRun{r3, f2, d})
	check(t, "SyncRuns(huge)", syncRuns(t, s, 1<<40), []catalog.SyncRun{r3, f2, d})
}

func testSyncRunLease(t *testing.T, s catalog.Store) {
	const lease = 5 * time.Millisecond
	old, err := s.BeginSyncRun(ctx(t), catalog.SyncRun{Trigger: "schedule", Holder: "host-a/1"}, time.Hour)
	must(t, "BeginSyncRun", err)
	_, err = s.BeginSyncRun(ctx(t), catalog.SyncRun{Trigger: "schedule", Holder: "host-b/2"}, time.Hour)
	mustConflict(t, "BeginSyncRun within the lease", err)

	// The holder dies: its heartbeat grows older than the lease.
	time.Sleep(5 * lease)
	r, err := s.BeginSyncRun(ctx(t), catalog.SyncRun{Trigger: "schedule", Holder: "host-b/2"}, lease)
	must(t, "BeginSyncRun past the lease", err)
	if r.ID <= old.ID || r.State != catalog.SyncRunning {
		t.Errorf("run begun past the lease: %+v; want a running run after %d", r, old.ID)
	}
	runs := syncRuns(t, s, 10)
	if len(runs) != 2 || runs[0].ID != r.ID {
		t.Fatalf("SyncRuns: %+v; want the new run, then the abandoned one", runs)
	}
	check(t, "the new run as stored", runs[0], r)
	abandoned := runs[1]
	if abandoned.ID != old.ID || abandoned.State != catalog.SyncFailed || abandoned.Error == "" ||
		abandoned.Finished.IsZero() || !abandoned.Heartbeat.Equal(old.Heartbeat) {
		t.Errorf("abandoned run: %+v; want run %d failed with an error, Finished set, Heartbeat kept", abandoned, old.ID)
	}
	if !strings.Contains(abandoned.Error, "abandoned") {
		t.Errorf("abandoned run's Error is %q, want it to say abandoned", abandoned.Error)
	}

	// The old holder comes back: its run is no longer its to update.
	old.Phase = "updates"
	_, err = s.UpdateSyncRun(ctx(t), old)
	mustConflict(t, "UpdateSyncRun of the abandoned run", err)
	old.State = catalog.SyncSucceeded
	_, err = s.UpdateSyncRun(ctx(t), old)
	mustConflict(t, "UpdateSyncRun finishing the abandoned run", err)
	check(t, "abandoned run after its holder's updates", syncRuns(t, s, 10)[1], abandoned)

	// The new run keeps its lease by its heartbeat.
	time.Sleep(5 * lease)
	r, err = s.UpdateSyncRun(ctx(t), r)
	must(t, "UpdateSyncRun of the new run", err)
	_, err = s.BeginSyncRun(ctx(t), catalog.SyncRun{Trigger: "api", Holder: "host-c/3"}, time.Hour)
	mustConflict(t, "BeginSyncRun while the new run beats", err)
}

// testSyncRunBeginRace begins runs from many goroutines at once: exactly
// one wins, every other gets ErrConflict.
func testSyncRunBeginRace(t *testing.T, s catalog.Store) {
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = s.BeginSyncRun(ctx(t), catalog.SyncRun{Trigger: "schedule", Holder: "racer"}, time.Hour)
		}()
	}
	close(start)
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, catalog.ErrConflict):
			t.Errorf("racer %d: %v, want success or a conflict", i, err)
		}
	}
	if won != 1 {
		t.Errorf("%d racers began a run, want exactly 1", won)
	}
	if runs := syncRuns(t, s, 100); len(runs) != 1 {
		t.Errorf("%d runs stored, want 1", len(runs))
	}
}

// digest returns a 20-byte digest filled with b.
func digest(b byte) []byte {
	d := make([]byte, 20)
	for i := range d {
		d[i] = b
	}
	return d
}

func testFileSources(t *testing.T, s catalog.Store) {
	got, err := s.FileSources(ctx(t), [][]byte{digest(1)})
	must(t, "FileSources before any", err)
	check(t, "FileSources before any", len(got), 0)
	got, err = s.FileSources(ctx(t), nil)
	must(t, "FileSources of none", err)
	check(t, "FileSources of none", len(got), 0)

	a := catalog.FileSource{SHA1: digest(1), MUURL: "http://download.windowsupdate.com/c/msdownload/update/a.cab"}
	b := catalog.FileSource{SHA1: digest(2), DecryptionKey: []byte{0, 1, 2, 0xff}}
	c := catalog.FileSource{SHA1: digest(3), MUURL: "http://example/c.esd", DecryptionKey: []byte{9}}
	must(t, "SetFileSources", s.SetFileSources(ctx(t), []catalog.FileSource{a, b, c,
		{SHA1: digest(4)}})) // nothing known: not stored
	got, err = s.FileSources(ctx(t), [][]byte{digest(1), digest(2), digest(3), digest(4), digest(5)})
	must(t, "FileSources", err)
	check(t, "FileSources", got, map[[20]byte]catalog.FileSource{
		[20]byte(digest(1)): a, [20]byte(digest(2)): b, [20]byte(digest(3)): c})

	// Empty fields keep the stored ones; given ones replace them. A digest
	// listed twice: the later entry counts as stored after the earlier.
	must(t, "SetFileSources again", s.SetFileSources(ctx(t), []catalog.FileSource{
		{SHA1: digest(1), DecryptionKey: []byte{7, 7}},
		{SHA1: digest(2), MUURL: "http://example/b.cab"},
		{SHA1: digest(3), MUURL: "http://example/c2.esd", DecryptionKey: []byte{}},
		{SHA1: digest(5), MUURL: "http://example/e1"},
		{SHA1: digest(5), DecryptionKey: []byte{5}},
		{SHA1: digest(5), MUURL: "http://example/e2"},
	}))
	got, err = s.FileSources(ctx(t), [][]byte{digest(1), digest(2), digest(3), digest(5)})
	must(t, "FileSources", err)
	check(t, "FileSources after a partial update", got, map[[20]byte]catalog.FileSource{
		[20]byte(digest(1)): {SHA1: digest(1), MUURL: a.MUURL, DecryptionKey: []byte{7, 7}},
		[20]byte(digest(2)): {SHA1: digest(2), MUURL: "http://example/b.cab", DecryptionKey: b.DecryptionKey},
		[20]byte(digest(3)): {SHA1: digest(3), MUURL: "http://example/c2.esd", DecryptionKey: []byte{9}},
		[20]byte(digest(5)): {SHA1: digest(5), MUURL: "http://example/e2", DecryptionKey: []byte{5}},
	})

	// Many digests at once.
	var many []catalog.FileSource
	var ask [][]byte
	for i := range 1200 {
		d := make([]byte, 20)
		d[0], d[1], d[19] = byte(i>>8), byte(i), 0xaa
		many = append(many, catalog.FileSource{SHA1: d, MUURL: "http://example/many"})
		ask = append(ask, d)
	}
	must(t, "SetFileSources of many", s.SetFileSources(ctx(t), many))
	got, err = s.FileSources(ctx(t), ask)
	must(t, "FileSources of many", err)
	check(t, "how many sources", len(got), len(many))
}

func testSummaryChanged(t *testing.T, s catalog.Store) {
	revs := fixtureCatalog()
	importRevs(t, s, revs)
	seq1 := changeSeq(t, s)
	for _, sm := range summaries(t, s) {
		if sm.Changed != seq1 {
			t.Errorf("revision %d: Changed %d after the first import, want its sequence %d", sm.ID, sm.Changed, seq1)
		}
	}

	// An unchanged re-import changes nothing.
	importRevs(t, s, fixtureCatalog())
	before := summaries(t, s)
	check(t, "change sequence after an unchanged re-import", changeSeq(t, s), seq1)
	for _, sm := range before {
		if sm.Changed != seq1 {
			t.Errorf("revision %d: Changed %d after an unchanged re-import, want %d", sm.ID, sm.Changed, seq1)
		}
	}

	// Other changes move the sequence, not Changed.
	setApproval(t, s, catalog.Approval{UpdateID: revs[fxRollupFix].UpdateID, GroupID: catalog.AllComputersGroupID,
		Action: catalog.ActionInstall})
	seq2 := changeSeq(t, s)
	if seq2 <= seq1 {
		t.Fatalf("change sequence %d did not grow past %d on an approval", seq2, seq1)
	}
	check(t, "summaries after an approval", summaries(t, s), before)

	// A changed revision and a new one carry the import's sequence; the
	// others keep theirs.
	changed := fixtureCatalog()[fxAMEngine]
	changed.Title += " (re-released)"
	added := fixtureCatalog()[fxRollupFix]
	added.RevisionNumber++
	res := importRevs(t, s, []*catalog.Revision{changed, fixtureCatalog()[fxOOBEZDP], added})
	check(t, "import result", res, catalog.ImportResult{Added: 1, Unchanged: 1})
	seq3 := changeSeq(t, s)
	if seq3 <= seq2 {
		t.Fatalf("change sequence %d did not grow past %d on an import", seq3, seq2)
	}
	for _, sm := range summaries(t, s) {
		want := seq1
		if sm.ID == changed.ID || sm.ID == added.ID {
			want = seq3
		}
		if sm.Changed != want {
			t.Errorf("revision %d (%s): Changed %d, want %d", sm.ID, sm.Title, sm.Changed, want)
		}
	}
}

func testSyncRejectsInvalid(t *testing.T, s catalog.Store) {
	good := catalog.SyncSettings{UpstreamURL: "http://up", Content: catalog.ContentApproved, SyncsPerDay: 1}
	must(t, "SetSyncSettings", s.SetSyncSettings(ctx(t), good))
	stored, err := s.SyncSettings(ctx(t))
	must(t, "SyncSettings", err)
	for name, bad := range map[string]func(*catalog.SyncSettings){
		"unknown content mode":   func(st *catalog.SyncSettings) { st.Content = "sometimes" },
		"negative SyncsPerDay":   func(st *catalog.SyncSettings) { st.SyncsPerDay = -1 },
		"negative FirstSync":     func(st *catalog.SyncSettings) { st.FirstSync = -time.Second },
		"FirstSync of 24h":       func(st *catalog.SyncSettings) { st.FirstSync = 24 * time.Hour },
		"URL not UTF-8":          func(st *catalog.SyncSettings) { st.UpstreamURL = "http://\xff" },
		"language with a NUL":    func(st *catalog.SyncSettings) { st.Languages = []string{"en", "d\x00e"} },
		"language not UTF-8":     func(st *catalog.SyncSettings) { st.Languages = []string{"\xc3"} },
		"content mode not UTF-8": func(st *catalog.SyncSettings) { st.Content = "\xff" },
	} {
		st := good
		bad(&st)
		mustInvalid(t, "SetSyncSettings with "+name, s.SetSyncSettings(ctx(t), st))
	}
	got, err := s.SyncSettings(ctx(t))
	must(t, "SyncSettings", err)
	check(t, "settings after refused saves", got, stored)

	for name, st := range map[string]catalog.SyncState{
		"anchor not UTF-8":        {UpdateAnchor: "\xff"},
		"URL with a NUL":          {UpstreamURL: "a\x00"},
		"language not UTF-8":      {AnchoredLanguages: []string{"\xff"}},
		"upstream language NUL":   {Config: catalog.UpstreamConfig{Languages: []catalog.UpstreamLanguage{{Short: "\x00"}}}},
		"protocol version bad":    {Config: catalog.UpstreamConfig{ProtocolVersion: "\xfe"}},
		"deployment anchor bad":   {DeploymentAnchor: "\xc0\x80"},
		"category anchor invalid": {CategoryAnchor: "\xed\xa0\x80"},
	} {
		mustInvalid(t, "SetSyncState with "+name, s.SetSyncState(ctx(t), st))
	}
	state, err := s.SyncState(ctx(t))
	must(t, "SyncState", err)
	check(t, "state after refused saves", state, catalog.SyncState{})

	for name, c := range map[string]struct {
		r     catalog.SyncRun
		lease time.Duration
	}{
		"holder not UTF-8":  {catalog.SyncRun{Holder: "\xff"}, time.Hour},
		"trigger with NUL":  {catalog.SyncRun{Trigger: "\x00"}, time.Hour},
		"negative Done":     {catalog.SyncRun{Done: -1}, time.Hour},
		"negative Bytes":    {catalog.SyncRun{Bytes: -1}, time.Hour},
		"zero lease":        {catalog.SyncRun{}, 0},
		"negative lease":    {catalog.SyncRun{}, -time.Second},
		"Total over 32 bit": {catalog.SyncRun{Total: 1 << 40}, time.Hour},
	} {
		_, err := s.BeginSyncRun(ctx(t), c.r, c.lease)
		mustInvalid(t, "BeginSyncRun with "+name, err)
	}
	check(t, "runs after refused begins", len(syncRuns(t, s, 10)), 0)

	r, err := s.BeginSyncRun(ctx(t), catalog.SyncRun{Trigger: "manual", Holder: "h"}, time.Hour)
	must(t, "BeginSyncRun", err)
	for name, bad := range map[string]func(*catalog.SyncRun){
		"unknown state": func(r *catalog.SyncRun) { r.State = "paused" },
		"empty state":   func(r *catalog.SyncRun) { r.State = "" },
		"no ID":         func(r *catalog.SyncRun) { r.ID = 0 },
		"error not UTF-8": func(r *catalog.SyncRun) {
			r.State, r.Error = catalog.SyncFailed, "\xff"
		},
		"negative Files": func(r *catalog.SyncRun) { r.Files = -2 },
	} {
		u := r
		bad(&u)
		_, err := s.UpdateSyncRun(ctx(t), u)
		mustInvalid(t, "UpdateSyncRun with "+name, err)
	}
	check(t, "run after refused updates", syncRuns(t, s, 10), []catalog.SyncRun{r})

	for name, srcs := range map[string][]catalog.FileSource{
		"19-byte digest":   {{SHA1: digest(1)[:19], MUURL: "http://x"}},
		"no digest":        {{MUURL: "http://x"}},
		"MUURL not UTF-8":  {{SHA1: digest(1), MUURL: "http://\xff"}},
		"one bad of two":   {{SHA1: digest(2), MUURL: "http://ok"}, {SHA1: make([]byte, 21), MUURL: "http://x"}},
		"MUURL with a NUL": {{SHA1: digest(1), MUURL: "a\x00b"}},
	} {
		mustInvalid(t, "SetFileSources with "+name, s.SetFileSources(ctx(t), srcs))
	}
	got2, err := s.FileSources(ctx(t), [][]byte{digest(1), digest(2)})
	must(t, "FileSources", err)
	check(t, "sources after refused saves", len(got2), 0)
	_, err = s.FileSources(ctx(t), [][]byte{digest(1), make([]byte, 21)})
	mustInvalid(t, "FileSources with a 21-byte digest", err)
}

// testReopenSync checks that settings, state, runs (the running one's lease
// included) and file sources survive a reopen, and that run IDs continue.
func testReopenSync(t *testing.T, s catalog.Store, reopen func(catalog.Store) catalog.Store) {
	must(t, "SetSyncSettings", s.SetSyncSettings(ctx(t), catalog.SyncSettings{UpstreamURL: "http://up:8530",
		AllProducts: true, Languages: []string{"en"}, SyncsPerDay: 2, FirstSync: time.Hour}))
	must(t, "SetSyncState", s.SetSyncState(ctx(t), catalog.SyncState{UpstreamURL: "http://up:8530", UpdateAnchor: "a"}))
	done, err := s.BeginSyncRun(ctx(t), catalog.SyncRun{Trigger: "manual", Holder: "h/1"}, time.Hour)
	must(t, "BeginSyncRun", err)
	done.State, done.New = catalog.SyncSucceeded, 3
	_, err = s.UpdateSyncRun(ctx(t), done)
	must(t, "UpdateSyncRun", err)
	running, err := s.BeginSyncRun(ctx(t), catalog.SyncRun{Trigger: "schedule", Holder: "h/2"}, time.Hour)
	must(t, "BeginSyncRun", err)
	src := catalog.FileSource{SHA1: digest(9), MUURL: "http://mu/x.cab", DecryptionKey: []byte{1, 2}}
	must(t, "SetFileSources", s.SetFileSources(ctx(t), []catalog.FileSource{src}))

	read := func(s catalog.Store) (catalog.SyncSettings, catalog.SyncState, []catalog.SyncRun, map[[20]byte]catalog.FileSource) {
		t.Helper()
		settings, err := s.SyncSettings(ctx(t))
		must(t, "SyncSettings", err)
		state, err := s.SyncState(ctx(t))
		must(t, "SyncState", err)
		sources, err := s.FileSources(ctx(t), [][]byte{digest(9)})
		must(t, "FileSources", err)
		return settings, state, syncRuns(t, s, 10), sources
	}
	settings, state, runs, sources := read(s)
	s = reopen(s)
	settings2, state2, runs2, sources2 := read(s)
	check(t, "settings after reopen", settings2, settings)
	check(t, "state after reopen", state2, state)
	check(t, "runs after reopen", runs2, runs)
	check(t, "file sources after reopen", sources2, sources)

	// The running run still holds its lease; once it finishes, the next
	// run gets a new ID.
	_, err = s.BeginSyncRun(ctx(t), catalog.SyncRun{Trigger: "api", Holder: "h/3"}, time.Hour)
	mustConflict(t, "BeginSyncRun after reopen while a run is running", err)
	running.State = catalog.SyncFailed
	_, err = s.UpdateSyncRun(ctx(t), running)
	must(t, "UpdateSyncRun after reopen", err)
	next, err := s.BeginSyncRun(ctx(t), catalog.SyncRun{Trigger: "api", Holder: "h/3"}, time.Hour)
	must(t, "BeginSyncRun after reopen", err)
	if next.ID <= running.ID {
		t.Errorf("run begun after reopen got ID %d, want more than %d", next.ID, running.ID)
	}
}
