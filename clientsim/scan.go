package clientsim

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
)

// Config configures one simulated scan.
type Config struct {
	// ServerURL is the base URL of the update server, e.g. http://127.0.0.1:8530.
	ServerURL string
	// ClientID is the SusClientId GUID; empty means a random one.
	ClientID string
	// DNSName is sent in GetAuthorizationCookie and RegisterComputer; empty
	// means "clientsim-" + the first 8 characters of ClientID.
	DNSName string
	// TargetGroup, when set, is sent as targetGroupName (client-side targeting).
	TargetGroup string
	// Parallel is the number of content pieces fetched at once (default 4).
	Parallel int
	// MaxSyncRounds bounds the SyncUpdates calls of one pass (default 100).
	MaxSyncRounds int
	// MaxInstalledNonLeaf, when positive, bounds the non-leaf revisions the
	// simulated machine evaluates as installed: the first ones delivered;
	// later non-leaf revisions count as not installed and go to
	// OtherCachedUpdateIDs (MS-WUSP.md §5.1 step 4). Real WSUS refuses more
	// than 400 InstalledNonLeafUpdateIDs. Zero means every non-leaf revision
	// is installed.
	MaxInstalledNonLeaf int
	// DownloadDir keeps the downloaded files (named <sha1hex>.<ext>); empty
	// means a temporary directory that is removed when Scan returns.
	DownloadDir string
	// HTTPClient is used for every request; nil means a client without
	// transparent compression (Go's gzip: clientsim sets Accept-Encoding
	// itself).
	HTTPClient *http.Client
	// RootCAs are the certificate authorities trusted for an https
	// ServerURL when HTTPClient is nil; nil means the system's.
	RootCAs *x509.CertPool
	// Identity leaves Accept-Encoding: xpress out of the SOAP requests, so
	// that answers come uncompressed; the native agent always sends it
	// (MS-WUSP.md section 1.4) and clientsim decodes the Xpress answers.
	// Zero sends it.
	Identity bool
	// Install decides the outcome of each install when a scan installs
	// (ScanOptions.Install); the zero InstallPlan installs every update
	// successfully.
	Install InstallPlan
	// Logger receives step-by-step debug logs; nil discards them.
	Logger *slog.Logger
	// Rand shuffles the piece order; nil means a randomly seeded source.
	Rand *rand.Rand
}

// Summary is the outcome of a successful Scan.
type Summary struct {
	ClientID, DNSName string
	// SoftwareRounds and DriverRounds count the SyncUpdates calls.
	SoftwareRounds, DriverRounds int
	// UpdatesOffered counts UpdateInfos deployed with Action Install or OptionalInstall.
	UpdatesOffered int
	// OfferedUpdateIDs are their UpdateIDs, upper-case; the 156 U= list
	// names those not installed (or failed) in an earlier scan.
	OfferedUpdateIDs []string
	// FilesDownloaded counts distinct files (by SHA-1) fetched and verified.
	FilesDownloaded int
	// BytesDownloaded counts content bytes received; BytesVerified the bytes
	// whose SHA-1 and SHA-256 matched the metadata.
	BytesDownloaded, BytesVerified int64
	// EventsReported counts the events of the ReportEventBatch calls.
	EventsReported int
	// Installed, InstallsFailed and RebootRequired count the installs of
	// this scan by outcome (ScanOptions.Install).
	Installed, InstallsFailed, RebootRequired int
}

// Scan runs the native Windows Update Agent sequence against cfg.ServerURL
// (MS-WUSP.md §3.1): GetConfig, GetAuthorizationCookie, GetCookie,
// RegisterComputer, the SyncUpdates software rounds and driver pass,
// GetExtendedUpdateInfo, ranged content downloads with digest checks, and
// ReportEventBatch. Errors name the failing step; SOAP faults are *Fault and
// digest mismatches *DigestMismatchError (use errors.As).
func Scan(ctx context.Context, cfg Config) (Summary, error) {
	s, err := newSession(cfg)
	if err != nil {
		return Summary{}, err
	}
	if cfg.HTTPClient == nil {
		// The scan's own connections end with it (a server shutting down
		// waits for connections that never carried a request).
		defer s.cfg.HTTPClient.CloseIdleConnections()
	}
	res, err := s.scan(ctx, ScanOptions{Download: true, Report: true})
	return res.Summary, err
}

// session is the state of one simulated agent. Scan uses a fresh one per
// call; an Agent keeps it, with its cookie and cache, between scans.
type session struct {
	cfg    Config
	base   *url.URL // server base URL, path ending in "/"
	soap   *soapClient
	log    *slog.Logger
	server string // base URL without trailing slash (DeviceAttributes)

	config    serverConfig
	auth      authCookie
	cookie    cookie
	contacted bool // GetConfig, authorization and RegisterComputer done
	reauthed  bool // re-authenticated during the current scan

	cache     syncCache
	skeletons map[skeletonKey]*syncSkeleton
	fetched   map[int]bool // revisions whose files were downloaded and verified
	// verified are the fetched revisions GetExtendedUpdateInfo had in
	// scope: their files (if any) verified, so they can be installed.
	verified map[int]bool
	// titles and kbs are the titles and KBArticleIDs GetExtendedUpdateInfo
	// gave, by revision id.
	titles, kbs map[int]string
	installs    installLedger

	sum Summary    // of the current scan
	res ScanResult // counters of the current scan beyond Summary
}

func newSession(cfg Config) (*session, error) {
	u, err := url.Parse(cfg.ServerURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("clientsim: server URL %q is not an http(s) URL", cfg.ServerURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/"
	if cfg.ClientID == "" {
		cfg.ClientID = newGUID()
	}
	if !isGUID(cfg.ClientID) {
		return nil, fmt.Errorf("clientsim: client id %q is not a GUID", cfg.ClientID)
	}
	if cfg.DNSName == "" {
		cfg.DNSName = "clientsim-" + cfg.ClientID[:8]
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 4
	}
	if cfg.MaxSyncRounds <= 0 {
		cfg.MaxSyncRounds = 100
	}
	if cfg.HTTPClient == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.DisableCompression = true
		t.MaxIdleConnsPerHost = cfg.Parallel + 1
		if cfg.RootCAs != nil {
			t.TLSClientConfig = &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12}
		}
		cfg.HTTPClient = &http.Client{Transport: t}
	}
	if err := cfg.Install.Validate(); err != nil {
		return nil, fmt.Errorf("clientsim: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	return &session{
		cfg:       cfg,
		base:      u,
		soap:      &soapClient{http: cfg.HTTPClient, userAgent: AgentUserAgent, log: cfg.Logger, identity: cfg.Identity},
		log:       cfg.Logger,
		server:    strings.TrimSuffix(u.String(), "/"),
		cache:     syncCache{maxInstalled: cfg.MaxInstalledNonLeaf},
		skeletons: map[skeletonKey]*syncSkeleton{},
		fetched:   map[int]bool{},
		verified:  map[int]bool{},
		titles:    map[int]string{},
		kbs:       map[int]string{},
		sum:       Summary{ClientID: cfg.ClientID, DNSName: cfg.DNSName},
	}, nil
}

// endpoint resolves a service path (absolute or relative) against the server base URL.
func (s *session) endpoint(p string) (string, error) {
	ref, err := url.Parse(strings.TrimPrefix(p, "/"))
	if err != nil {
		return "", fmt.Errorf("service URL %q: %w", p, err)
	}
	return s.base.ResolveReference(ref).String(), nil
}

// scan runs one detection cycle. The first scan of a session starts with
// GetConfig, authorization and RegisterComputer (MS-WUSP.md §3.1); later ones
// go straight to SyncUpdates with the cookie and cache kept (§3.2). opts
// selects GetExtendedUpdateInfo with downloads, ReportEventBatch, and the
// installs with their second ReportEventBatch.
func (s *session) scan(ctx context.Context, opts ScanOptions) (ScanResult, error) {
	if opts.Install {
		opts.Download, opts.Report = true, true
	}
	s.sum = Summary{ClientID: s.cfg.ClientID, DNSName: s.cfg.DNSName}
	s.res = ScanResult{}
	s.reauthed = false
	result := func() ScanResult {
		r := s.res
		r.Summary = s.sum
		r.Reauthenticated = s.reauthed
		return r
	}

	if !s.contacted {
		s.res.FirstContact = true
		if err := s.getConfig(ctx); err != nil {
			return result(), fmt.Errorf("clientsim: GetConfig: %w", err)
		}
		if err := s.authenticate(ctx, cookie{}); err != nil {
			return result(), fmt.Errorf("clientsim: %w", err)
		}
		if s.config.IsRegistrationRequired {
			if err := s.retry(ctx, s.registerComputer); err != nil {
				return result(), fmt.Errorf("clientsim: RegisterComputer: %w", err)
			}
		}
		s.contacted = true
	}
	if err := s.syncSoftware(ctx); err != nil {
		return result(), fmt.Errorf("clientsim: SyncUpdates (software): %w", err)
	}
	if err := s.syncDrivers(ctx); err != nil {
		return result(), fmt.Errorf("clientsim: SyncUpdates (driver pass): %w", err)
	}
	if !opts.Download && !opts.Report {
		return result(), nil
	}

	var toFetch []updateInfo
	offered := map[string]bool{}
	for _, u := range s.cache.delivered() {
		switch u.Action {
		case "Install", "OptionalInstall":
			s.sum.UpdatesOffered++
			if id := strings.ToUpper(u.Identity.UpdateID); !offered[id] {
				offered[id] = true
				s.sum.OfferedUpdateIDs = append(s.sum.OfferedUpdateIDs, id)
			}
			if u.IsLeaf && !s.fetched[u.ID] {
				toFetch = append(toFetch, u)
			}
		case "Bundle":
			if u.IsLeaf && !s.fetched[u.ID] {
				toFetch = append(toFetch, u)
			}
		}
	}
	s.log.Debug("offered", "updates", s.sum.UpdatesOffered, "leaves to fetch", len(toFetch))

	var downloaded []reportedUpdate
	if opts.Download {
		info, err := s.extendedInfo(ctx, toFetch)
		if err != nil {
			return result(), fmt.Errorf("clientsim: GetExtendedUpdateInfo: %w", err)
		}
		if downloaded, err = s.download(ctx, toFetch, info); err != nil {
			return result(), fmt.Errorf("clientsim: download: %w", err)
		}
		for _, u := range toFetch {
			s.fetched[u.ID] = true
			if !slices.Contains(info.OutOfScope, u.ID) {
				s.verified[u.ID] = true
			}
		}
		maps.Copy(s.titles, info.Titles)
		maps.Copy(s.kbs, info.KBs)
	}
	var installing []installTarget
	if opts.Install {
		installing = s.installTargets(opts.InstallOptional)
	}
	if opts.Report {
		if err := s.retry(ctx, func(ctx context.Context) error { return s.report(ctx, downloaded, installing) }); err != nil {
			return result(), fmt.Errorf("clientsim: ReportEventBatch: %w", err)
		}
	}
	if len(installing) > 0 {
		if err := s.install(ctx, installing); err != nil {
			return result(), fmt.Errorf("clientsim: ReportEventBatch (install results): %w", err)
		}
	}
	return result(), nil
}

// installTargets returns the updates this scan installs: every cached
// update deployed for Install (and OptionalInstall when optional) whose
// files verified in this or an earlier scan, not installed yet (a failed
// one is tried again, as the agent does at its next cycle), one revision per
// UpdateID. Only leaves carry files, so only leaves are installed.
func (s *session) installTargets(optional bool) []installTarget {
	var out []installTarget
	seen := map[string]bool{}
	for _, u := range s.cache.delivered() {
		if u.Action != "Install" && (u.Action != "OptionalInstall" || !optional) {
			continue
		}
		id := strings.ToUpper(u.Identity.UpdateID)
		if !u.IsLeaf || !s.verified[u.ID] || seen[id] || s.installs.done(id) {
			continue
		}
		seen[id] = true
		t := installTarget{UpdateID: id, RevisionNumber: u.Identity.RevisionNumber, Title: s.titles[u.ID], KB: s.kbs[u.ID]}
		if last, ok := s.installs.last[id]; ok && last.Result == InstallFailed {
			t.LastError = last.HResult
		}
		out = append(out, t)
	}
	return out
}

// install runs the simulated installs: the outcome of each comes from
// Config.Install, the machine remembers it (for the 156 of later scans)
// whether or not the report reaches the server, and one ReportEventBatch
// reports the 182/183/184 results.
func (s *session) install(ctx context.Context, targets []installTarget) error {
	results := make([]installResult, len(targets))
	for i, t := range targets {
		o := s.cfg.Install.decide(t, func() bool { return s.installs.draw(t.UpdateID, s.cfg.Install.FailFraction, s.cfg.Rand) })
		s.installs.record(t.UpdateID, o)
		results[i] = installResult{installTarget: t, installOutcome: o}
		switch o.Result {
		case InstallSucceeded:
			s.sum.Installed++
		case InstallFailed:
			s.sum.InstallsFailed++
		case InstallRebootRequired:
			s.sum.RebootRequired++
		}
		s.log.Debug("install", "update", t.UpdateID, "revision", t.RevisionNumber, "kb", t.KB, "result", o.Result, "hresult", o.HResult)
	}
	return s.retry(ctx, func(ctx context.Context) error {
		body, n, err := buildInstallReport(installReport{Cookie: s.cookie, ClientID: s.cfg.ClientID, Time: time.Now(), Results: results})
		if err != nil {
			return err
		}
		if err := s.sendReport(ctx, body); err != nil {
			return err
		}
		s.sum.EventsReported += n
		return nil
	})
}

// retry runs fn; when the server answers CookieExpired or InvalidCookie it
// re-runs GetAuthorizationCookie + GetCookie once per scan and retries fn.
func (s *session) retry(ctx context.Context, fn func(context.Context) error) error {
	err := fn(ctx)
	if err == nil || s.reauthed || !IsFault(err, "CookieExpired", "InvalidCookie") {
		return err
	}
	s.reauthed = true
	s.log.Debug("re-authenticating after fault", "err", err)
	old := s.cookie
	if IsFault(err, "InvalidCookie") {
		old = cookie{} // the cookie is worthless: start as on first contact
	}
	if aerr := s.authenticate(ctx, old); aerr != nil {
		return fmt.Errorf("%w; re-authentication: %w", err, aerr)
	}
	return fn(ctx)
}

func (s *session) getConfig(ctx context.Context) error {
	body, err := buildGetConfig()
	if err != nil {
		return err
	}
	ep, err := s.endpoint(clientPath)
	if err != nil {
		return err
	}
	resp, err := s.soap.call(ctx, ep, nsClient, "GetConfig", body)
	if err != nil {
		return err
	}
	if s.config, err = parseConfig(resp); err != nil {
		return err
	}
	s.log.Debug("config", "lastChange", s.config.LastChange, "registration", s.config.IsRegistrationRequired,
		"auth", s.config.AuthServiceURL, "maxExtended", s.config.MaxExtendedUpdates)
	return nil
}

// authenticate runs GetAuthorizationCookie and GetCookie(oldCookie=old).
func (s *session) authenticate(ctx context.Context, old cookie) error {
	body, err := buildGetAuthorizationCookie(s.cfg.ClientID, s.cfg.TargetGroup, s.cfg.DNSName)
	if err != nil {
		return fmt.Errorf("GetAuthorizationCookie: %w", err)
	}
	ep, err := s.endpoint(s.config.AuthServiceURL)
	if err != nil {
		return fmt.Errorf("GetAuthorizationCookie: %w", err)
	}
	resp, err := s.soap.call(ctx, ep, nsSimpleAuth, "GetAuthorizationCookie", body)
	if err != nil {
		return fmt.Errorf("GetAuthorizationCookie: %w", err)
	}
	if s.auth, err = parseAuthCookie(resp); err != nil {
		return fmt.Errorf("GetAuthorizationCookie: %w", err)
	}

	if body, err = buildGetCookie(s.auth, old, s.config.LastChange, time.Now()); err != nil {
		return fmt.Errorf("GetCookie: %w", err)
	}
	if ep, err = s.endpoint(clientPath); err != nil {
		return fmt.Errorf("GetCookie: %w", err)
	}
	if resp, err = s.soap.call(ctx, ep, nsClient, "GetCookie", body); err != nil {
		return fmt.Errorf("GetCookie: %w", err)
	}
	if s.cookie, err = parseCookie(child(resp, "GetCookieResult"), "GetCookieResult"); err != nil {
		return fmt.Errorf("GetCookie: %w", err)
	}
	return nil
}

func (s *session) registerComputer(ctx context.Context) error {
	body, err := buildRegisterComputer(s.cookie, s.cfg.DNSName)
	if err != nil {
		return err
	}
	ep, err := s.endpoint(clientPath)
	if err != nil {
		return err
	}
	_, err = s.soap.call(ctx, ep, nsClient, "RegisterComputer", body)
	return err
}

// syncCall sends one SyncUpdates request, software or driver pass, carrying
// the current cookie and the cached ids.
func (s *session) syncCall(ctx context.Context, driver bool) (syncInfo, error) {
	var si syncInfo
	err := s.retry(ctx, func(ctx context.Context) error {
		body, err := s.syncBody(driver)
		if err != nil {
			return err
		}
		ep, err := s.endpoint(clientPath)
		if err != nil {
			return err
		}
		resp, err := s.soap.call(ctx, ep, nsClient, "SyncUpdates", body)
		if err != nil {
			return err
		}
		si, err = parseSyncInfo(resp)
		return err
	})
	if err == nil {
		s.cookie = si.NewCookie
		s.res.NewUpdates += len(si.NewUpdates)
		s.res.ChangedUpdates += len(si.ChangedUpdates)
		s.res.OutOfScope += len(si.OutOfScope)
	}
	return si, err
}

// syncSoftware runs the software rounds of MS-WUSP 3.1.5.7 / MS-WUSP.md §5.1
// with the simulated applicability rule: every non-leaf revision is installed
// (InstalledNonLeafUpdateIDs, up to Config.MaxInstalledNonLeaf), every leaf is
// cached (OtherCachedUpdateIDs).
// The cache it starts from and updates is the session's.
func (s *session) syncSoftware(ctx context.Context) error {
	for round := 1; ; round++ {
		if round > s.cfg.MaxSyncRounds {
			return fmt.Errorf("no convergence after %d rounds (Truncated or non-leaf updates in every answer)", s.cfg.MaxSyncRounds)
		}
		s.sum.SoftwareRounds = round
		si, err := s.syncCall(ctx, false)
		if err != nil {
			return fmt.Errorf("round %d: %w", round, err)
		}
		s.cache.dropSoftware(si.OutOfScope)
		nonLeaf := false
		for _, u := range append(si.NewUpdates, si.ChangedUpdates...) {
			if !u.IsLeaf {
				nonLeaf = true
			}
			s.cache.putSoftware(u)
		}
		s.log.Debug("software round", "round", round, "new", len(si.NewUpdates), "changed", len(si.ChangedUpdates),
			"outOfScope", len(si.OutOfScope), "truncated", si.Truncated, "nonLeaf", nonLeaf)
		if !si.Truncated && !nonLeaf {
			return nil
		}
	}
}

// syncDrivers runs the driver pass (SkipSoftwareSync=true with the recorded
// SystemSpec and ComputerSpec), repeated only while the server truncates.
func (s *session) syncDrivers(ctx context.Context) error {
	for round := 1; ; round++ {
		if round > s.cfg.MaxSyncRounds {
			return fmt.Errorf("no convergence after %d truncated driver rounds", s.cfg.MaxSyncRounds)
		}
		s.sum.DriverRounds = round
		si, err := s.syncCall(ctx, true)
		if err != nil {
			return fmt.Errorf("round %d: %w", round, err)
		}
		s.cache.dropDrivers(si.OutOfScope)
		for _, u := range append(si.NewUpdates, si.ChangedUpdates...) {
			s.cache.putDriver(u)
		}
		s.log.Debug("driver round", "round", round, "new", len(si.NewUpdates), "truncated", si.Truncated)
		if !si.Truncated {
			return nil
		}
	}
}

// extendedInfo fetches the Extended and LocalizedProperties fragments of the
// given revisions in chunks of MaxExtendedUpdatesPerRequest.
func (s *session) extendedInfo(ctx context.Context, updates []updateInfo) (extendedInfo, error) {
	all := extendedInfo{Files: map[int][]fileMeta{}, Titles: map[int]string{}, KBs: map[int]string{}, Locations: map[string]string{}}
	ids := make([]int, len(updates))
	for i, u := range updates {
		ids[i] = u.ID
	}
	for chunk := range slices.Chunk(ids, s.config.MaxExtendedUpdates) {
		var x extendedInfo
		err := s.retry(ctx, func(ctx context.Context) error {
			body, err := buildGetExtendedUpdateInfo(s.cookie, chunk, s.server)
			if err != nil {
				return err
			}
			ep, err := s.endpoint(clientPath)
			if err != nil {
				return err
			}
			resp, err := s.soap.call(ctx, ep, nsClient, "GetExtendedUpdateInfo", body)
			if err != nil {
				return err
			}
			x, err = parseExtendedInfo(resp)
			return err
		})
		if err != nil {
			return all, err
		}
		for id, f := range x.Files {
			all.Files[id] = append(all.Files[id], f...)
		}
		maps.Copy(all.Titles, x.Titles)
		maps.Copy(all.KBs, x.KBs)
		for d, u := range x.Locations {
			all.Locations[d] = u
		}
		all.OutOfScope = append(all.OutOfScope, x.OutOfScope...)
	}
	if len(all.OutOfScope) > 0 {
		s.log.Debug("GetExtendedUpdateInfo out of scope", "ids", all.OutOfScope)
	}
	return all, nil
}

// download fetches and verifies every file of the given revisions (each
// distinct SHA-1 once) and returns the revisions whose files all verified.
func (s *session) download(ctx context.Context, updates []updateInfo, info extendedInfo) ([]reportedUpdate, error) {
	dir := s.cfg.DownloadDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "clientsim-*")
		if err != nil {
			return nil, fmt.Errorf("temp dir: %w", err)
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("download dir: %w", err)
	}

	files := map[string]*contentFile{}
	var order []*contentFile
	var reported []reportedUpdate
	for _, u := range updates {
		if slices.Contains(info.OutOfScope, u.ID) {
			continue
		}
		metas := info.Files[u.ID]
		if len(metas) == 0 {
			continue // e.g. a bundle: its files belong to its members
		}
		ru := reportedUpdate{UpdateID: strings.ToLower(u.Identity.UpdateID), RevisionNumber: u.Identity.RevisionNumber, Title: info.Titles[u.ID]}
		for _, m := range metas {
			ru.Bytes += m.Size
			if _, ok := files[m.Digest]; ok {
				continue
			}
			loc, ok := info.Locations[m.Digest]
			if !ok {
				return nil, fmt.Errorf("revision %d file %s (%s): %w", u.ID, m.Name, m.Digest, errNoLocation)
			}
			ep, err := s.endpoint(loc)
			if err != nil {
				return nil, fmt.Errorf("revision %d file %s: %w", u.ID, m.Name, err)
			}
			f := &contentFile{Meta: m, URL: ep, Path: contentPath(dir, m)}
			files[m.Digest] = f
			order = append(order, f)
		}
		reported = append(reported, ru)
	}
	d := &downloader{http: s.cfg.HTTPClient, parallel: s.cfg.Parallel, log: s.log, rand: s.cfg.Rand}
	n, err := d.fetch(ctx, order)
	s.sum.BytesDownloaded = n
	if err != nil {
		return nil, err
	}
	for _, f := range order {
		if err := verifyFile(f); err != nil {
			return nil, err
		}
		s.sum.FilesDownloaded++
		s.sum.BytesVerified += f.Meta.Size
	}
	return reported, nil
}

// report sends the 147/156/162/181 events of this scan.
func (s *session) report(ctx context.Context, downloaded []reportedUpdate, installing []installTarget) error {
	installed, pending, failed := s.installs.lists()
	body, n, err := buildReportEventBatch(eventBatch{
		Cookie:        s.cookie,
		ClientID:      s.cfg.ClientID,
		Time:          time.Now(),
		Offered:       s.sum.OfferedUpdateIDs,
		Downloaded:    downloaded,
		Installed:     installed,
		RebootPending: pending,
		Failed:        failed,
		Installing:    installing,
	})
	if err != nil {
		return err
	}
	if err := s.sendReport(ctx, body); err != nil {
		return err
	}
	s.sum.EventsReported += n
	return nil
}

// sendReport sends one ReportEventBatch body and checks that the server
// answered true.
func (s *session) sendReport(ctx context.Context, body []byte) error {
	ep, err := s.endpoint(reportingPath)
	if err != nil {
		return err
	}
	resp, err := s.soap.call(ctx, ep, nsReporting, "ReportEventBatch", body)
	if err != nil {
		return err
	}
	ok, err := parseReportResult(resp)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("ReportEventBatchResult is false")
	}
	return nil
}
