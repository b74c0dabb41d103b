package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"wsus/catalog"
	"wsus/soap/wusp"
	"wsus/storage"
	"wsus/storage/content"
	"wsus/storage/muurl"
	"wsus/sync/download"
	"wsus/sync/syncer"
	"wsus/sync/upstream"
)

// syncViewTTL is how long the synchronization settings and state read for
// serving content are reused: an admin's change of content mode reaches
// every replica within it.
const syncViewTTL = 5 * time.Second

// syncView reads the synchronization settings and state for the content
// paths, at most once per syncViewTTL.
type syncView struct {
	store catalog.SyncStore

	mu       sync.Mutex
	read     time.Time
	settings catalog.SyncSettings
	state    catalog.SyncState
}

func (v *syncView) get(ctx context.Context) (catalog.SyncSettings, catalog.SyncState, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.read.IsZero() && time.Since(v.read) < syncViewTTL {
		return v.settings, v.state, nil
	}
	settings, err := v.store.SyncSettings(ctx)
	if err != nil {
		return catalog.SyncSettings{}, catalog.SyncState{}, err
	}
	state, err := v.store.SyncState(ctx)
	if err != nil {
		return catalog.SyncSettings{}, catalog.SyncState{}, err
	}
	v.settings, v.state, v.read = settings, state, time.Now()
	return settings, state, nil
}

// syncJobs runs synchronizations for `wsusd serve`: on the schedule in the
// settings, and when the admin API asks (admin.SyncStarter). It serves
// while ServeListeners serves.
type syncJobs struct {
	syncer *syncer.Syncer

	mu  sync.Mutex
	svc *syncer.Service // nil while not serving
}

// Start begins a synchronization in the background.
func (j *syncJobs) Start(ctx context.Context) (catalog.SyncRun, error) {
	j.mu.Lock()
	svc := j.svc
	j.mu.Unlock()
	if svc == nil {
		return catalog.SyncRun{}, fmt.Errorf("server: not serving: %w", catalog.ErrUnavailable)
	}
	return svc.Start(ctx)
}

// serve runs the schedule until ctx ends; wait returns once every run
// recorded its outcome.
func (j *syncJobs) serve(ctx context.Context) (wait func()) {
	svc := j.syncer.Serve(ctx)
	j.mu.Lock()
	j.svc = svc
	j.mu.Unlock()
	return func() {
		svc.Wait()
		j.mu.Lock()
		j.svc = nil
		j.mu.Unlock()
	}
}

// newSyncJobs builds the synchronization job of a serving process and
// saves the schedule cfg names, if any, into the shared settings.
func newSyncJobs(ctx context.Context, cfg Config, stores Stores, logger *slog.Logger, afterRun func(context.Context, catalog.SyncRun)) (*syncJobs, error) {
	if cfg.SyncSchedule != "" {
		perDay, first, err := syncer.ParseSchedule(cfg.SyncSchedule)
		if err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
		s, err := stores.Catalog.SyncSettings(ctx)
		if err != nil {
			return nil, fmt.Errorf("server: synchronization settings: %w", err)
		}
		if s.SyncsPerDay != perDay || s.FirstSync != first {
			s.SyncsPerDay, s.FirstSync = perDay, first
			if err := stores.Catalog.SetSyncSettings(ctx, s); err != nil {
				return nil, fmt.Errorf("server: save the synchronization schedule: %w", err)
			}
		}
	}
	sy, err := syncer.New(syncer.Config{
		Store:    stores.Catalog,
		Upstream: upstreamConfig(cfg, logger),
		Content:  syncer.Downloads{Store: stores.Blobs, Config: download.Config{Logger: logger}},
		Lease:    cfg.SyncLease,
		AfterRun: afterRun,
		Logger:   logger,
	})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	return &syncJobs{syncer: sy}, nil
}

// upstreamConfig is the template of the clients a server's
// synchronizations use.
func upstreamConfig(cfg Config, logger *slog.Logger) upstream.Config {
	return upstream.Config{CAFile: cfg.UpstreamCAFile, Logger: logger}
}

// loadMicrosoftUpdateURLs stores the Microsoft Update URLs of the
// GetUpdateData answers in files (--content-mu-urls) among the catalog's
// file sources, where synchronizations store theirs.
func loadMicrosoftUpdateURLs(ctx context.Context, paths string, store catalog.SyncStore, logger *slog.Logger) error {
	ix, err := muurl.Load(paths)
	if err != nil {
		return fmt.Errorf("server: Microsoft Update URLs: %w", err)
	}
	const batch = 1000
	var sources []catalog.FileSource
	flush := func() error {
		if err := store.SetFileSources(ctx, sources); err != nil {
			return fmt.Errorf("server: store Microsoft Update URLs: %w", err)
		}
		sources = sources[:0]
		return nil
	}
	for sum, u := range ix.All() {
		sources = append(sources, catalog.FileSource{SHA1: sum[:], MUURL: u})
		if len(sources) == batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	logger.Info("content not stored here may go to Microsoft Update", "urls", ix.Len(), "from", paths)
	return nil
}

// microsoftUpdateURLs returns where clients download files this server
// does not store from: their Microsoft Update URL, when the content mode is
// "never" (WSUS's "do not store update files locally; computers install
// from Microsoft Update"), or always when always is set (--content-mu-urls).
// "" means no such URL: the file is served from here.
type microsoftUpdateURLs struct {
	view   *syncView
	store  catalog.SyncStore
	blobs  storage.BlobStore
	always bool
	log    *slog.Logger
}

// enabled reports whether Microsoft Update URLs are handed out now.
func (m *microsoftUpdateURLs) enabled(ctx context.Context) (bool, error) {
	if m.always {
		return true, nil
	}
	settings, _, err := m.view.get(ctx)
	if err != nil {
		return false, err
	}
	return settings.ContentOrDefault() == catalog.ContentNever, nil
}

// url returns the Microsoft Update URL of a file, "" when none is known;
// it has the shape of content.FallbackFunc.
func (m *microsoftUpdateURLs) url(ctx context.Context, sha1 []byte) (string, error) {
	if ok, err := m.enabled(ctx); !ok || err != nil {
		return "", err
	}
	if len(sha1) != 20 {
		return "", nil
	}
	sources, err := m.store.FileSources(ctx, [][]byte{sha1})
	if err != nil {
		return "", err
	}
	return sources[[20]byte(sha1)].MUURL, nil
}

// locator is the FileLocator of the client services: files not stored here
// whose Microsoft Update URL is known go there. When the blob store cannot
// tell (it is down), the client gets this server's URL, which answers 503
// until the store is back.
func (m *microsoftUpdateURLs) locator() wusp.FileLocator {
	return func(ctx context.Context, f catalog.File) (string, bool, error) {
		if ok, err := m.enabled(ctx); !ok || err != nil {
			return "", false, err
		}
		_, err := m.blobs.Stat(ctx, storage.KeyForSHA1(f.SHA1))
		if !errors.Is(err, storage.ErrNotFound) {
			if err != nil {
				m.log.Warn("content store unavailable; FileLocation stays local", "err", err)
			}
			return "", false, nil
		}
		u, err := m.url(ctx, f.SHA1)
		if err != nil || u == "" {
			return "", false, err
		}
		return u, true, nil
	}
}

// onDemand is the content handler's fetch-through in the "on-demand"
// content mode: a file the catalog lists but the blob store lacks is
// fetched from the upstream (its /Content/ path when it serves content,
// then its Microsoft Update URL) when a client first asks.
func onDemand(view *syncView, store catalog.Store, blobs storage.BlobStore, logger *slog.Logger) (*content.OnDemand, error) {
	dl, err := download.New(blobs, download.Config{Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("server: on-demand content: %w", err)
	}
	resolve := func(ctx context.Context, sha1 []byte) (download.File, bool, error) {
		settings, state, err := view.get(ctx)
		if err != nil || settings.ContentOrDefault() != catalog.ContentOnDemand || settings.UpstreamURL == "" {
			return download.File{}, false, err
		}
		f, err := store.FileBySHA1(ctx, sha1)
		if errors.Is(err, catalog.ErrNotFound) {
			return download.File{}, false, nil
		}
		if err != nil {
			return download.File{}, false, err
		}
		job := download.File{SHA1: f.SHA1, SHA256: f.SHA256, Size: f.Size}
		if !state.Config.CatalogOnlySync && state.UpstreamURL == settings.UpstreamURL {
			job.URLs = append(job.URLs, syncer.ContentPath(settings.UpstreamURL, f))
		}
		sources, err := store.FileSources(ctx, [][]byte{f.SHA1})
		if err != nil {
			return download.File{}, false, err
		}
		if u := sources[[20]byte(f.SHA1)].MUURL; u != "" {
			job.URLs = append(job.URLs, u)
		}
		return job, len(job.URLs) > 0, nil
	}
	return &content.OnDemand{Resolve: resolve, Fetcher: dl}, nil
}
