// Package syncer runs synchronizations of the catalog from an upstream
// server over [MS-WSUSSS]: Microsoft Update, a Windows WSUS, or another wsus
// server. It is what `wsusd sync` runs, and what `wsusd serve` runs on its
// schedule and when an admin asks.
//
// What callers may rely on (MS-WSUSSS.md sections 3 and 7):
//   - One run at a time across every process sharing the catalog store: a
//     run holds the store's lease (Store.BeginSyncRun) and renews it while it
//     works; a second run fails with ErrBusy.
//   - Categories (companies, product families, products, classifications,
//     detectoids) are stored before the updates that name them; within a
//     phase a revision is stored together with or after the bundle members
//     and prerequisites the same list names (see order.go).
//   - An anchor advances only after everything its list named is durably
//     stored: a run killed at any moment leaves anchors that make the next run
//     fetch whatever is missing, and revisions are keyed by identity, so
//     nothing is stored twice.
//   - One GetUpdateData answer is stored whole or not at all: a malformed,
//     truncated or faulting answer is retried (package upstream), then fails
//     the run with its reason.
//   - Updates whose newest revision the upstream marks Expired are declined,
//     as WSUS does; their revisions, and superseded updates, stay.
//   - Where a payload file can be fetched (its Microsoft Update URL) and, for
//     encrypted files, its key, are stored before the revisions naming it.
package syncer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/soap"
	"wsus/sync/upstream"
	"wsus/sync/wsusss"
)

// Store is the part of the catalog store a run reads and writes.
type Store interface {
	ServerInfo(ctx context.Context) (catalog.ServerInfo, error)
	SyncSettings(ctx context.Context) (catalog.SyncSettings, error)
	SetSyncSettings(ctx context.Context, s catalog.SyncSettings) error
	SyncState(ctx context.Context) (catalog.SyncState, error)
	SetSyncState(ctx context.Context, s catalog.SyncState) error
	BeginSyncRun(ctx context.Context, r catalog.SyncRun, lease time.Duration) (catalog.SyncRun, error)
	SyncRuns(ctx context.Context, limit int) ([]catalog.SyncRun, error)
	UpdateSyncRun(ctx context.Context, r catalog.SyncRun) (catalog.SyncRun, error)
	SetFileSources(ctx context.Context, sources []catalog.FileSource) error
	FileSources(ctx context.Context, sha1s [][]byte) (map[[20]byte]catalog.FileSource, error)
	Approvals(ctx context.Context) ([]catalog.Approval, error)
	Files(ctx context.Context, ids []int32) (map[int32][]catalog.File, error)
	TargetGroups(ctx context.Context) ([]catalog.TargetGroup, error)
	CreateTargetGroup(ctx context.Context, g catalog.TargetGroup) error
	SetApproval(ctx context.Context, a catalog.Approval) (catalog.Approval, error)
	Summaries(ctx context.Context) ([]catalog.Summary, error)
	ImportRevisions(ctx context.Context, revs []*catalog.Revision) (catalog.ImportResult, error)
	UpdateStates(ctx context.Context) ([]catalog.UpdateState, error)
	SetDeclined(ctx context.Context, updateID uuid.UUID, declined bool) error
}

// Upstream is the part of an upstream client a run calls
// (*upstream.Client).
type Upstream interface {
	GetConfigData(ctx context.Context, anchor string) (*wsusss.ConfigData, error)
	GetRevisionIDList(ctx context.Context, filter wsusss.Filter) (*wsusss.RevisionIDList, error)
	GetUpdateData(ctx context.Context, ids []wsusss.UpdateIdentity) (*wsusss.UpdateData, error)
	GetUpdateDecryptionData(ctx context.Context, ids []wsusss.UpdateIdentity) ([]wsusss.DecryptionData, error)
	// GetDeployments is called in replica mode only.
	GetDeployments(ctx context.Context, deploymentAnchor, syncAnchor string) (*wsusss.Deployments, error)
}

// Content fetches the payload files a run decided to store (the content
// phase). Implementations report progress through progress and return an
// error naming every file that could not be stored.
type Content interface {
	Fetch(ctx context.Context, files []ContentFile, progress func(ContentProgress)) error
}

// ContentFile is one payload file to store.
type ContentFile struct {
	catalog.File
	// URLs are where to fetch it from, in order of preference.
	URLs []string
}

// ContentProgress is the content phase's progress.
type ContentProgress struct {
	Files, FilesTotal int
	Bytes, BytesTotal int64
}

// Defaults of Config.
const (
	// DefaultLease is how long a run's lease lasts without renewal; a run
	// renews it every DefaultLease/4. A process killed mid-run blocks the
	// next run for at most this long.
	DefaultLease = 2 * time.Minute
	// DefaultImportBatch is how many revisions one ImportRevisions stores.
	DefaultImportBatch = 1000
	// DefaultFetchers is how many GetUpdateData calls run at once.
	DefaultFetchers = 4
	// DefaultMaxPending bounds the bytes of documents held back waiting
	// for the revisions they depend on (order.go); past it they are stored
	// in arrival order.
	DefaultMaxPending = 64 << 20
)

// ErrBusy is wrapped by the error of a run that could not begin because
// another run holds the lease.
var ErrBusy = errors.New("another synchronization is running")

// Config configures a Syncer. Store is required.
type Config struct {
	Store Store
	// Connect returns the client of the upstream at url, identified as
	// account (the server's ID, stable across runs). Zero means
	// upstream.New with Upstream as template.
	Connect func(ctx context.Context, url string, account uuid.UUID) (Upstream, error)
	// Upstream is the template of the default Connect: its URL and
	// AccountGUID are set per run.
	Upstream upstream.Config
	// Content fetches payload files after the metadata; nil stores none.
	Content Content
	// ContentURL returns where a WSUS-like upstream at base serves the
	// file (its /Content path). Zero means ContentPath.
	ContentURL func(base string, f catalog.File) string
	// Lease is how long a run's lease lasts; zero means DefaultLease.
	Lease time.Duration
	// Holder names this process in the run's history; zero means
	// "hostname:pid".
	Holder string
	// ImportBatch, Fetchers, MaxPending: zero means their defaults.
	ImportBatch int
	Fetchers    int
	MaxPending  int64
	// Progress, when set, is called with the run's state whenever its
	// progress changes (often; keep it cheap).
	Progress func(catalog.SyncRun)
	// AfterRun, when set, is called once a run succeeded, with the run as
	// recorded, before Run returns (approval rules run there, as WSUS runs
	// its rules after each synchronization). It must not block for long.
	AfterRun func(ctx context.Context, run catalog.SyncRun)
	Logger   *slog.Logger
}

// Syncer runs synchronizations. It holds no state between runs: everything
// lives in the store.
type Syncer struct {
	cfg Config
	log *slog.Logger
}

// New validates cfg and returns a Syncer.
func New(cfg Config) (*Syncer, error) {
	if cfg.Store == nil {
		return nil, errors.New("syncer: no store")
	}
	if cfg.Lease < 0 || cfg.ImportBatch < 0 || cfg.Fetchers < 0 || cfg.MaxPending < 0 {
		return nil, errors.New("syncer: Lease, ImportBatch, Fetchers and MaxPending must not be negative")
	}
	if cfg.Lease == 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.ImportBatch == 0 {
		cfg.ImportBatch = DefaultImportBatch
	}
	if cfg.Fetchers == 0 {
		cfg.Fetchers = DefaultFetchers
	}
	if cfg.MaxPending == 0 {
		cfg.MaxPending = DefaultMaxPending
	}
	if cfg.Holder == "" {
		host, _ := os.Hostname()
		cfg.Holder = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	if cfg.ContentURL == nil {
		cfg.ContentURL = ContentPath
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.Connect == nil {
		tmpl := cfg.Upstream
		if tmpl.Logger == nil {
			tmpl.Logger = log
		}
		cfg.Connect = func(_ context.Context, url string, account uuid.UUID) (Upstream, error) {
			c := tmpl
			c.URL, c.AccountGUID = url, account
			return upstream.New(c)
		}
	}
	return &Syncer{cfg: cfg, log: log}, nil
}

// Selection is a subscription given by name: each entry a GUID, an exact
// title of a category the upstream offers, or "all". A run resolves it
// after the categories are stored and saves it into the settings before it
// asks for updates. Nil fields keep the saved choice.
type Selection struct {
	Products        []string
	Classifications []string
	Languages       []string
}

// Run synchronizes once: trigger names who asked ("manual", "schedule",
// "api"); sel, when not nil, changes the subscription first. It returns the
// finished run (also on failure, when the run began) and the reason it
// failed. When another run holds the lease the error wraps ErrBusy and
// catalog.ErrConflict; when no upstream is set, ErrNoUpstream and
// catalog.ErrInvalid.
func (s *Syncer) Run(ctx context.Context, trigger string, sel *Selection) (catalog.SyncRun, error) {
	r, err := s.begin(ctx, trigger)
	if err != nil {
		return catalog.SyncRun{}, err
	}
	return r.execute(ctx, sel)
}

// ErrNoUpstream is wrapped by the error of a run asked for before an
// upstream server was set.
var ErrNoUpstream = errors.New("no upstream server is configured")

// begin takes the lease and records the run as running.
func (s *Syncer) begin(ctx context.Context, trigger string) (*runner, error) {
	settings, err := s.cfg.Store.SyncSettings(ctx)
	if err != nil {
		return nil, fmt.Errorf("syncer: settings: %w", err)
	}
	if settings.UpstreamURL == "" {
		return nil, fmt.Errorf("syncer: %w", catalog.MarkInvalid(ErrNoUpstream))
	}
	run, err := s.cfg.Store.BeginSyncRun(ctx, catalog.SyncRun{Trigger: trigger, Holder: s.cfg.Holder}, s.cfg.Lease)
	if errors.Is(err, catalog.ErrConflict) {
		return nil, fmt.Errorf("syncer: %w%s: %w", ErrBusy, s.holderText(ctx), err)
	}
	if err != nil {
		return nil, fmt.Errorf("syncer: begin: %w", err)
	}
	return &runner{s: s, store: s.cfg.Store, settings: settings, run: run}, nil
}

// holderText describes the running run, for the error of a run that could
// not begin.
func (s *Syncer) holderText(ctx context.Context) string {
	runs, err := s.cfg.Store.SyncRuns(ctx, 1)
	if err != nil || len(runs) == 0 || runs[0].State != catalog.SyncRunning {
		return ""
	}
	r := runs[0]
	return fmt.Sprintf(" (run %d by %s since %s, last heartbeat %s; it counts as abandoned %s after that)",
		r.ID, r.Holder, r.Started.UTC().Format(time.RFC3339), r.Heartbeat.UTC().Format(time.RFC3339), s.cfg.Lease)
}

// execute runs the phases of a begun run, renewing its lease, and records
// its outcome.
func (r *runner) execute(ctx context.Context, sel *Selection) (catalog.SyncRun, error) {
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := r.keepLease(runCtx, cancel)
	err := r.sync(runCtx, sel)
	stop()
	if cause := context.Cause(runCtx); err != nil && cause != nil && !errors.Is(cause, context.Canceled) {
		err = fmt.Errorf("%w (%v)", err, cause)
	}
	run, err := r.finish(ctx, err)
	if err == nil && run.State == catalog.SyncSucceeded && r.s.cfg.AfterRun != nil {
		r.s.cfg.AfterRun(ctx, run)
	}
	return run, err
}

// runner is the state of one run.
type runner struct {
	s        *Syncer
	store    Store
	settings catalog.SyncSettings
	up       Upstream
	state    catalog.SyncState

	mu  sync.Mutex // guards run
	run catalog.SyncRun

	// have holds the identities stored, latest the highest revision
	// number stored per update, before and during the run.
	have   map[catalog.Identity]bool
	latest map[uuid.UUID]int32
	// summaries of the categories, for resolving a Selection.
	cats []catalog.Summary
	// touched are the updates of which the run stored a revision, with
	// whether they had one before it.
	touched map[uuid.UUID]bool
	// expired holds the updates whose newest stored revision is Expired.
	expired map[uuid.UUID]bool
	// software are the updates of type Software or Driver.
	software map[uuid.UUID]bool
}

// update changes the run's progress under its lock and reports it.
func (r *runner) update(f func(*catalog.SyncRun)) {
	r.mu.Lock()
	f(&r.run)
	snap := r.run
	r.mu.Unlock()
	if r.s.cfg.Progress != nil {
		r.s.cfg.Progress(snap)
	}
}

func (r *runner) snapshot() catalog.SyncRun {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.run
}

// progressEvery is how often a run stores its progress (and so renews its
// lease) at most: what the admin API shows of a running run is this old
// at most.
const progressEvery = 2 * time.Second

// keepLease renews the run's lease, storing its progress, until stop is
// called; a lost lease cancels the run.
func (r *runner) keepLease(ctx context.Context, cancel context.CancelCauseFunc) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(min(r.s.cfg.Lease/4, progressEvery))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if _, err := r.store.UpdateSyncRun(ctx, r.snapshot()); err != nil {
				if errors.Is(err, catalog.ErrConflict) || errors.Is(err, catalog.ErrNotFound) {
					cancel(fmt.Errorf("syncer: the run lost its lease: %w", err))
					return
				}
				r.s.log.Warn("syncer: renewing the lease failed", "run", r.snapshot().ID, "err", err)
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// finish records the run's outcome.
func (r *runner) finish(ctx context.Context, err error) (catalog.SyncRun, error) {
	r.update(func(run *catalog.SyncRun) {
		run.State = catalog.SyncSucceeded
		if err != nil {
			run.State, run.Error = catalog.SyncFailed, err.Error()
		}
	})
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	stored, uerr := r.store.UpdateSyncRun(ctx, r.snapshot())
	if uerr != nil {
		stored = r.snapshot()
		uerr = fmt.Errorf("syncer: record the outcome of run %d: %w", stored.ID, uerr)
		if err == nil {
			err = uerr
		} else {
			r.s.log.Error("syncer: run outcome not recorded", "err", uerr)
		}
	}
	if err != nil {
		r.s.log.Error("syncer: synchronization failed", "run", stored.ID, "err", err)
	} else {
		r.s.log.Info("syncer: synchronization done", "run", stored.ID, "new", stored.New,
			"revised", stored.Revised, "expired", stored.Expired, "files", stored.Files,
			"took", stored.Finished.Sub(stored.Started).Round(time.Millisecond))
	}
	return stored, err
}

// sync runs the phases. An upstream that answers ServerChanged (it was
// reinstalled, or is another server now) gets one more try with every
// anchor dropped.
func (r *runner) sync(ctx context.Context, sel *Selection) error {
	info, err := r.store.ServerInfo(ctx)
	if err != nil {
		return fmt.Errorf("server identity: %w", err)
	}
	if r.up, err = r.s.cfg.Connect(ctx, r.settings.UpstreamURL, info.ID); err != nil {
		return err
	}
	if r.state, err = r.store.SyncState(ctx); err != nil {
		return fmt.Errorf("sync state: %w", err)
	}
	if r.state.UpstreamURL != r.settings.UpstreamURL {
		r.state = catalog.SyncState{UpstreamURL: r.settings.UpstreamURL}
	}
	err = r.phases(ctx, sel)
	if f, ok := errors.AsType[*wsusss.Fault](err); ok && f.Code == soap.ServerChanged {
		r.s.log.Warn("syncer: the upstream changed identity: synchronizing everything again", "upstream", r.settings.UpstreamURL)
		r.state = catalog.SyncState{UpstreamURL: r.settings.UpstreamURL}
		// A new client: the old one's cookie is the other installation's.
		if r.up, err = r.s.cfg.Connect(ctx, r.settings.UpstreamURL, info.ID); err != nil {
			return err
		}
		err = r.phases(ctx, sel)
	}
	return err
}

func (r *runner) phases(ctx context.Context, sel *Selection) error {
	if err := r.loadCatalog(ctx); err != nil {
		return err
	}
	if err := r.config(ctx); err != nil {
		return err
	}
	if err := r.syncCategories(ctx); err != nil {
		return err
	}
	if sel != nil {
		if err := r.applySelection(ctx, sel); err != nil {
			return err
		}
	}
	if err := r.syncUpdates(ctx); err != nil {
		return err
	}
	if err := r.declineExpired(ctx); err != nil {
		return err
	}
	if err := r.replica(ctx); err != nil {
		return err
	}
	return r.content(ctx)
}

// loadCatalog reads which revisions are stored.
func (r *runner) loadCatalog(ctx context.Context) error {
	sums, err := r.store.Summaries(ctx)
	if err != nil {
		return fmt.Errorf("read the catalog: %w", err)
	}
	r.have = make(map[catalog.Identity]bool, len(sums))
	r.latest = map[uuid.UUID]int32{}
	r.touched, r.expired, r.software = map[uuid.UUID]bool{}, map[uuid.UUID]bool{}, map[uuid.UUID]bool{}
	r.cats = r.cats[:0]
	for i := range sums {
		sm := &sums[i]
		r.have[sm.Identity] = true
		r.note(sm.UpdateID, sm.RevisionNumber, sm.Type, sm.PublicationState)
		if sm.Type == catalog.TypeCategory {
			r.cats = append(r.cats, *sm)
		}
	}
	return nil
}

// note records a stored revision in latest, expired and software.
func (r *runner) note(id uuid.UUID, number int32, typ catalog.UpdateType, state string) {
	if typ == catalog.TypeSoftware || typ == catalog.TypeDriver {
		r.software[id] = true
	}
	if n, ok := r.latest[id]; ok && n >= number {
		return
	}
	r.latest[id] = number
	r.expired[id] = strings.EqualFold(state, "Expired")
}

// config asks for the upstream's configuration and stores it.
func (r *runner) config(ctx context.Context) error {
	r.update(func(run *catalog.SyncRun) { run.Phase, run.Done, run.Total = "configuration", 0, 0 })
	cd, err := r.up.GetConfigData(ctx, r.state.ConfigAnchor)
	if err != nil {
		return err
	}
	c := catalog.UpstreamConfig{
		ProtocolVersion:         cd.ProtocolVersion,
		CatalogOnlySync:         cd.CatalogOnlySync,
		LazySync:                cd.LazySync,
		ServerHostsPsfFiles:     cd.ServerHostsPsfFiles,
		MaxUpdatesPerRequest:    int(cd.MaxNumberOfUpdatesPerRequest),
		MaxDecryptionPerRequest: int(cd.MaxUpdatesPerRequestInGetUpdateDecryptionData),
		Languages:               r.state.Config.Languages,
	}
	// With an anchor an upstream lists only the languages changed since.
	for _, l := range cd.Languages {
		c.Languages = upsertLanguage(c.Languages, catalog.UpstreamLanguage{ID: l.ID, Short: l.Short, Long: l.Long, Enabled: l.Enabled})
	}
	r.state.Config, r.state.ConfigAnchor = c, cd.NewConfigAnchor
	if err := r.store.SetSyncState(ctx, r.state); err != nil {
		return fmt.Errorf("store the upstream's configuration: %w", err)
	}
	return nil
}

func upsertLanguage(ls []catalog.UpstreamLanguage, l catalog.UpstreamLanguage) []catalog.UpstreamLanguage {
	for i := range ls {
		if ls[i].ID == l.ID {
			ls[i] = l
			return ls
		}
	}
	return append(ls, l)
}

// categories stores the categories, classifications and detectoids changed
// since the category anchor, then advances it.
func (r *runner) syncCategories(ctx context.Context) error {
	r.update(func(run *catalog.SyncRun) { run.Phase, run.Done, run.Total = "categories", 0, 0 })
	list, err := r.up.GetRevisionIDList(ctx, wsusss.Filter{GetConfig: true, Anchor: r.state.CategoryAnchor})
	if err != nil {
		return err
	}
	if err := r.fetchAll(ctx, list.NewRevisions); err != nil {
		return fmt.Errorf("categories: %w", err)
	}
	r.state.CategoryAnchor = list.Anchor
	if err := r.store.SetSyncState(ctx, r.state); err != nil {
		return fmt.Errorf("categories: store the anchor: %w", err)
	}
	return nil
}

// updates stores the software and driver revisions of the subscription
// changed since the update anchor, then advances it.
func (r *runner) syncUpdates(ctx context.Context) error {
	r.update(func(run *catalog.SyncRun) { run.Phase, run.Done, run.Total = "updates", 0, 0 })
	sub, ok := r.subscription()
	if !ok {
		r.s.log.Info("syncer: no product or classification is selected: no updates to synchronize")
		return nil
	}
	list, err := r.up.GetRevisionIDList(ctx, sub.filter(r.state))
	if err != nil {
		return err
	}
	if err := r.fetchAll(ctx, list.NewRevisions); err != nil {
		return fmt.Errorf("updates: %w", err)
	}
	r.state.UpdateAnchor = list.Anchor
	r.state.AnchoredProducts, r.state.AnchoredClassifications = sub.products, sub.classifications
	r.state.AnchoredLanguages = sub.languages
	if err := r.store.SetSyncState(ctx, r.state); err != nil {
		return fmt.Errorf("updates: store the anchor: %w", err)
	}
	return nil
}

// declineExpired declines the updates whose newest revision the upstream
// expired, as WSUS does during synchronization, counting those it
// declines. It looks at the whole catalog, not only at what this run
// stored: a run killed between storing an expiring revision and declining
// its update leaves the decline to the next run. An expired update is
// declined again by every run (WSUS offers no way to approve one).
func (r *runner) declineExpired(ctx context.Context) error {
	states, err := r.store.UpdateStates(ctx)
	if err != nil {
		return fmt.Errorf("expired updates: %w", err)
	}
	declined := make(map[uuid.UUID]bool, len(states))
	for _, st := range states {
		declined[st.UpdateID] = st.Declined
	}
	for id, expired := range r.expired {
		if !expired || !r.software[id] || declined[id] {
			continue
		}
		if err := r.store.SetDeclined(ctx, id, true); err != nil {
			return fmt.Errorf("decline expired update %s: %w", id, err)
		}
		r.update(func(run *catalog.SyncRun) { run.Expired++ })
	}
	return nil
}
