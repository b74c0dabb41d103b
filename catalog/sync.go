package catalog

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// This file holds what the catalog store keeps for synchronization with an
// upstream server ([MS-WSUSSS]; ../shared/protocol/MS-WSUSSS.md sections 3
// and 7): the admin's choices, the anchors of the last synchronization, the
// history of runs (whose running row is also the lease that lets one replica
// synchronize at a time), and where each payload file can be fetched from.
// Everything lives in the store so that every replica shares it.

// ContentMode says when the payload files of synchronized updates are
// fetched, as WSUS's "Update Files" options do.
type ContentMode string

// The content modes.
const (
	// ContentApproved downloads the files of approved updates after each
	// synchronization (WSUS's default: "download update files only when
	// updates are approved").
	ContentApproved ContentMode = "approved"
	// ContentOnDemand fetches a file from the upstream the first time a
	// client asks for it, streaming it to that client while it is stored.
	ContentOnDemand ContentMode = "on-demand"
	// ContentNever stores no files: clients download from the Microsoft
	// Update URL of each file (WSUS's "do not store update files locally").
	ContentNever ContentMode = "never"
)

// Valid reports whether m is one of the content modes.
func (m ContentMode) Valid() bool {
	return m == ContentApproved || m == ContentOnDemand || m == ContentNever
}

// SyncSettings are an admin's synchronization choices: WSUS's "Update
// Source", "Products and Classifications", "Update Languages", "Update
// Files" and "Synchronization Schedule". The zero value synchronizes
// nothing automatically and has no upstream.
type SyncSettings struct {
	// UpstreamURL is the root of the upstream server, as
	// "https://sws.update.microsoft.com" or "http://wsus.example:8530".
	UpstreamURL string `json:"upstreamUrl,omitempty"`
	// Replica mirrors the upstream's target groups, approvals and declines
	// (WSUS's replica mode) besides its metadata.
	Replica bool `json:"replica,omitempty"`
	// AllProducts subscribes every product; else Products lists the
	// subscribed product (and product family) category UpdateIDs.
	AllProducts bool        `json:"allProducts,omitempty"`
	Products    []uuid.UUID `json:"products,omitempty"`
	// AllClassifications subscribes every classification; else
	// Classifications lists the subscribed UpdateClassification UpdateIDs.
	AllClassifications bool        `json:"allClassifications,omitempty"`
	Classifications    []uuid.UUID `json:"classifications,omitempty"`
	// Languages are the short language names ("en", "de", "pt-br") whose
	// updates are synchronized; empty means all.
	Languages []string `json:"languages,omitempty"`
	// Content is when payload files are fetched; zero means ContentApproved.
	Content ContentMode `json:"content,omitempty"`
	// SyncsPerDay is how many times a day `wsusd serve` synchronizes on its
	// own (WSUS's "synchronizations per day"); zero means manually only.
	SyncsPerDay int `json:"syncsPerDay,omitempty"`
	// FirstSync is the time of day, after midnight UTC, of the first
	// scheduled synchronization; the others follow every 24h/SyncsPerDay.
	FirstSync time.Duration `json:"firstSync,omitempty"`
	// ChangedAt is when the settings were last saved; set by the store.
	ChangedAt time.Time `json:"changedAt"`
}

// ContentOrDefault returns Content, or ContentApproved when it is unset.
func (s SyncSettings) ContentOrDefault() ContentMode {
	if s.Content == "" {
		return ContentApproved
	}
	return s.Content
}

// SyncState is what the synchronization client remembers about its
// upstream between runs (MS-WSUSSS.md section 7, "Parent USS State"). Its
// anchors advance only after everything they cover is stored.
type SyncState struct {
	// UpstreamURL is the upstream the rest belongs to: anchors of another
	// upstream are never sent.
	UpstreamURL string `json:"upstreamUrl,omitempty"`
	// Config is the upstream's last ServerSyncConfigData.
	Config UpstreamConfig `json:"config"`
	// ConfigAnchor is the last NewConfigAnchor of GetConfigData.
	ConfigAnchor string `json:"configAnchor,omitempty"`
	// CategoryAnchor is the Anchor of the last GetRevisionIdList with
	// GetConfig=true whose revisions are all stored.
	CategoryAnchor string `json:"categoryAnchor,omitempty"`
	// UpdateAnchor is the Anchor of the last GetRevisionIdList with
	// GetConfig=false whose revisions are all stored; AnchoredProducts,
	// AnchoredClassifications and AnchoredLanguages are the subscription
	// it was asked with (a later run sends Delta=false for entries added
	// since).
	UpdateAnchor            string      `json:"updateAnchor,omitempty"`
	AnchoredProducts        []uuid.UUID `json:"anchoredProducts,omitempty"`
	AnchoredClassifications []uuid.UUID `json:"anchoredClassifications,omitempty"`
	AnchoredLanguages       []string    `json:"anchoredLanguages,omitempty"`
	// DeploymentAnchor is the Anchor of the last GetDeployments applied
	// (replica mode).
	DeploymentAnchor string `json:"deploymentAnchor,omitempty"`
}

// UpstreamConfig is the part of an upstream's ServerSyncConfigData
// (MS-WSUSSS.md section 2.1) the client keeps.
type UpstreamConfig struct {
	ProtocolVersion string `json:"protocolVersion,omitempty"`
	// CatalogOnlySync is true when the upstream serves no content (files
	// come from their Microsoft Update URLs): Microsoft Update itself.
	CatalogOnlySync bool `json:"catalogOnlySync,omitempty"`
	LazySync        bool `json:"lazySync,omitempty"`
	// ServerHostsPsfFiles is true when the upstream hosts express (PSF) files.
	ServerHostsPsfFiles bool `json:"serverHostsPsfFiles,omitempty"`
	// MaxUpdatesPerRequest bounds GetUpdateData;
	// MaxDecryptionPerRequest bounds GetUpdateDecryptionData.
	MaxUpdatesPerRequest    int `json:"maxUpdatesPerRequest,omitempty"`
	MaxDecryptionPerRequest int `json:"maxDecryptionPerRequest,omitempty"`
	// Languages are the languages the upstream offers, with whether the
	// upstream itself has them enabled.
	Languages []UpstreamLanguage `json:"languages,omitempty"`
}

// UpstreamLanguage is one ServerSyncLanguageData of an upstream.
type UpstreamLanguage struct {
	ID      int32  `json:"id"`
	Short   string `json:"short"`
	Long    string `json:"long,omitempty"`
	Enabled bool   `json:"enabled,omitempty"`
}

// SyncRunState is the state of one synchronization run.
type SyncRunState string

// The states of a run. A running run whose Heartbeat is older than the
// lease is abandoned (its process died): the next run to begin marks it
// failed.
const (
	SyncRunning   SyncRunState = "running"
	SyncSucceeded SyncRunState = "succeeded"
	SyncFailed    SyncRunState = "failed"
)

// SyncRun is one synchronization, running or finished: its progress while
// it runs, its outcome after.
type SyncRun struct {
	// ID is assigned by the store, growing with each run.
	ID int64 `json:"id"`
	// Trigger says who started it: "manual" (wsusd sync), "schedule",
	// "api" (REST or wsusctl).
	Trigger string `json:"trigger"`
	// Holder names the process that runs it (host and process ID).
	Holder string       `json:"holder"`
	State  SyncRunState `json:"state"`
	// Started is set by the store when the run begins; Heartbeat when it
	// begins and at every UpdateSyncRun; Finished when State leaves running.
	Started   time.Time `json:"started"`
	Heartbeat time.Time `json:"heartbeat"`
	Finished  time.Time `json:"finished"`
	// Phase names what the run does now ("categories", "updates",
	// "content", ...); Done of Total counts its work items.
	Phase string `json:"phase,omitempty"`
	Done  int    `json:"done"`
	Total int    `json:"total"`
	// New, Revised and Expired count the updates the run added, the new
	// revisions of updates already there, and the updates the upstream
	// expired (declined here, as WSUS does).
	New     int `json:"new"`
	Revised int `json:"revised"`
	Expired int `json:"expired"`
	// Files and Bytes count the payload files stored and their size;
	// FilesTotal and BytesTotal what the content phase set out to store.
	Files      int   `json:"files"`
	FilesTotal int   `json:"filesTotal"`
	Bytes      int64 `json:"bytes"`
	BytesTotal int64 `json:"bytesTotal"`
	// Error is why a failed run failed.
	Error string `json:"error,omitempty"`
}

// FileSource is where a payload file can be fetched from outside this
// server, and how to decrypt it, as an upstream told: the MUUrl of
// MS-WSUSSS ServerSyncUrlData, the DecryptionKey of FileDecryptionData.
type FileSource struct {
	// SHA1 is the file's 20-byte digest (File/@Digest).
	SHA1 []byte
	// MUURL is the file's Microsoft Update URL, empty when not known.
	MUURL string
	// DecryptionKey is the key of an encrypted file, nil when not known.
	DecryptionKey []byte
}

// SyncStore is the part of the catalog store that synchronization keeps.
// Every catalog.Store implements it; it is a separate interface so that
// consumers name only what they use.
type SyncStore interface {
	// SyncSettings returns the admin's choices (zero value before any).
	SyncSettings(ctx context.Context) (SyncSettings, error)
	// SetSyncSettings replaces them; ChangedAt is set to now.
	SetSyncSettings(ctx context.Context, s SyncSettings) error
	// SyncState returns what the last synchronization left (zero value
	// before any).
	SyncState(ctx context.Context) (SyncState, error)
	// SetSyncState replaces it.
	SetSyncState(ctx context.Context, s SyncState) error

	// BeginSyncRun starts a run as the one running synchronization: it
	// fails with ErrConflict when another run is running and its
	// Heartbeat is younger than lease. A running run past its lease is
	// marked failed ("abandoned") first. The run is stored with State
	// running and Started and Heartbeat set to now, and returned with its
	// ID.
	BeginSyncRun(ctx context.Context, r SyncRun, lease time.Duration) (SyncRun, error)
	// UpdateSyncRun stores a run's progress or outcome and sets its
	// Heartbeat (and Finished when State is no longer running). It fails
	// with ErrConflict when the stored run is no longer running (another
	// process marked it abandoned), and ErrNotFound for an unknown ID.
	UpdateSyncRun(ctx context.Context, r SyncRun) (SyncRun, error)
	// SyncRuns returns up to limit runs, newest first.
	SyncRuns(ctx context.Context, limit int) ([]SyncRun, error)
	// SyncRunsBefore returns up to limit runs with an ID below beforeID,
	// newest first: it pages back through the history (the oldest ID of
	// one page is the beforeID of the next). A beforeID of zero or less
	// selects all, as SyncRuns does.
	SyncRunsBefore(ctx context.Context, limit int, beforeID int64) ([]SyncRun, error)

	// SetFileSources stores where files come from. For a file already
	// known, an empty MUURL or nil DecryptionKey keeps the stored value.
	SetFileSources(ctx context.Context, sources []FileSource) error
	// FileSources returns the known sources of the given 20-byte digests,
	// keyed by digest; unknown digests are absent.
	FileSources(ctx context.Context, sha1s [][]byte) (map[[20]byte]FileSource, error)
}
