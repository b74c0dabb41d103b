package clientsim

import (
	"context"
	"slices"
	"strconv"
)

// Agent is a simulated Windows Update Agent that, like a real one after its
// first scan, keeps the server config, its session cookie and its cache of
// revision ids between scans (MS-WUSP.md §3.2): its first Scan runs the whole
// first-contact sequence, later ones only the SyncUpdates calls, each carrying
// the full cache. An Agent is not safe for concurrent use.
type Agent struct {
	s *session
}

// ScanOptions selects the optional steps of Agent.Scan after SyncUpdates.
type ScanOptions struct {
	// Download runs GetExtendedUpdateInfo for the offered updates and
	// downloads and verifies the files the agent has not fetched in an
	// earlier scan.
	Download bool
	// Report sends ReportEventBatch (147, 156 and one 162 per download).
	Report bool
	// Install, after the downloads, installs every update deployed for
	// Install whose files verified and that is not installed yet, with the
	// outcome Config.Install decides: a 181 per install goes with the 147 and
	// 156 of the scan, then a second ReportEventBatch reports each result
	// (182 failed, 183 installed, 184 installed pending a restart), as the
	// native agent reports them (see buildInstallReport). The agent
	// remembers the results: the 156 of its later scans lists the updates
	// in V= (installed), W= (pending a restart) or g= (failed) instead of U=,
	// and a failed install is tried again. Installed updates are leaves and
	// stay in OtherCachedUpdateIDs: InstalledNonLeafUpdateIDs carries only
	// installed non-leaf revisions (MS-WUSP.md §5.1 step 4), which the
	// simulated rule already counts as installed. Install implies Download
	// and Report.
	Install bool
	// InstallOptional also installs updates deployed for OptionalInstall
	// (as a user who picks them in Settings would); it matters only with
	// Install.
	InstallOptional bool
}

// ScanResult is the outcome of one Agent.Scan.
type ScanResult struct {
	// Summary counts the rounds, downloads and events of this scan.
	// UpdatesOffered and OfferedUpdateIDs cover every cached update offered
	// for install, and are computed only when Download or Report is set.
	Summary
	// FirstContact reports whether this scan ran GetConfig,
	// GetAuthorizationCookie, GetCookie and (if required) RegisterComputer.
	FirstContact bool
	// NewUpdates, ChangedUpdates and OutOfScope count the entries of this
	// scan's SyncUpdates answers, software rounds and driver pass together.
	NewUpdates, ChangedUpdates, OutOfScope int
	// Reauthenticated reports whether a CookieExpired or InvalidCookie fault
	// made the agent run GetAuthorizationCookie and GetCookie again.
	Reauthenticated bool
}

// NewAgent returns an agent with an empty cache; cfg is as for Scan
// (DownloadDir, Parallel and Rand matter only for downloads).
func NewAgent(cfg Config) (*Agent, error) {
	s, err := newSession(cfg)
	if err != nil {
		return nil, err
	}
	return &Agent{s: s}, nil
}

// ClientID is the agent's SusClientId.
func (a *Agent) ClientID() string { return a.s.cfg.ClientID }

// Scan runs one detection cycle: the first-contact steps on the agent's first
// scan (and after a scan that failed before they completed), then the
// SyncUpdates software rounds and driver pass from the cached ids, then what
// opts selects. Errors are as for the package-level Scan. After a failed
// scan the agent keeps what it had cached, as a real agent does.
func (a *Agent) Scan(ctx context.Context, opts ScanOptions) (ScanResult, error) {
	return a.s.scan(ctx, opts)
}

// CacheSize returns the number of ids the agent sends in
// InstalledNonLeafUpdateIDs, OtherCachedUpdateIDs and CachedDriverIDs.
func (a *Agent) CacheSize() (installedNonLeaf, otherCached, cachedDrivers int) {
	c := &a.s.cache
	return len(c.installed.ids), len(c.other.ids), len(c.drivers.ids)
}

// syncCache is the agent's cache of delivered revisions (MS-WUSP.md §5.1
// step 4): the ids it sends back, and the revisions themselves in delivery
// order (a re-delivered revision moves to the end).
type syncCache struct {
	installed, other, drivers idList
	software, driverInfos     infoList
	maxInstalled              int // Config.MaxInstalledNonLeaf
}

// putSoftware records a software revision from NewUpdates or ChangedUpdates:
// non-leaf revisions count as installed (up to maxInstalled), the others as
// merely cached.
func (c *syncCache) putSoftware(u updateInfo) {
	c.installed.remove(u.ID)
	c.other.remove(u.ID)
	c.software.put(u)
	if !u.IsLeaf && (c.maxInstalled <= 0 || len(c.installed.ids) < c.maxInstalled) {
		c.installed.add(u.ID)
	} else {
		c.other.add(u.ID)
	}
}

// dropSoftware forgets software revisions named in OutOfScopeRevisionIDs.
func (c *syncCache) dropSoftware(ids []int) {
	if len(ids) == 0 {
		return
	}
	drop := idSet(ids)
	c.installed.removeAll(drop)
	c.other.removeAll(drop)
	c.software.removeAll(drop)
}

// putDriver records a driver revision delivered by the driver pass.
func (c *syncCache) putDriver(u updateInfo) {
	u.Driver = true
	c.drivers.remove(u.ID)
	c.drivers.add(u.ID)
	c.driverInfos.put(u)
}

// dropDrivers forgets drivers named in the driver pass OutOfScopeRevisionIDs.
func (c *syncCache) dropDrivers(ids []int) {
	if len(ids) == 0 {
		return
	}
	drop := idSet(ids)
	c.drivers.removeAll(drop)
	c.driverInfos.removeAll(drop)
}

// delivered returns the cached software revisions, then the drivers.
func (c *syncCache) delivered() []updateInfo {
	return append(slices.Clip(c.software.list), c.driverInfos.list...)
}

func idSet(ids []int) map[int]bool {
	set := make(map[int]bool, len(ids))
	for _, id := range ids {
		set[id] = true
	}
	return set
}

// idList is an ordered list of distinct revision ids with constant-time
// membership and a cached rendering as <int> elements, so that a request
// carrying tens of thousands of unchanged ids costs one copy.
type idList struct {
	ids  []int
	has  map[int]bool
	ints []byte // "<int>1</int><int>2</int>…", nil when stale
}

// add appends id; the caller ensures it is absent.
func (l *idList) add(id int) {
	if l.has == nil {
		l.has = map[int]bool{}
	}
	l.ids = append(l.ids, id)
	l.has[id] = true
	if l.ints != nil {
		l.ints = appendIntElement(l.ints, id)
	}
}

// remove deletes id when present, keeping the order of the others.
func (l *idList) remove(id int) {
	if !l.has[id] {
		return
	}
	l.removeAll(map[int]bool{id: true})
}

// removeAll deletes every id in drop.
func (l *idList) removeAll(drop map[int]bool) {
	n := len(l.ids)
	l.ids = slices.DeleteFunc(l.ids, func(id int) bool { return drop[id] })
	if len(l.ids) == n {
		return
	}
	for id := range drop {
		delete(l.has, id)
	}
	l.ints = nil
}

// rendered returns the ids as a sequence of <int> elements.
func (l *idList) rendered() []byte {
	if l.ints == nil && len(l.ids) > 0 {
		b := make([]byte, 0, len(l.ids)*len("<int>123456</int>"))
		for _, id := range l.ids {
			b = appendIntElement(b, id)
		}
		l.ints = b
	}
	return l.ints
}

// appendIntElement appends <int>id</int>, as etree writes it.
func appendIntElement(b []byte, id int) []byte {
	b = append(b, "<int>"...)
	b = strconv.AppendInt(b, int64(id), 10)
	return append(b, "</int>"...)
}

// infoList is an ordered list of UpdateInfos with distinct IDs.
type infoList struct {
	list []updateInfo
	has  map[int]bool
}

// put appends u, replacing (and moving to the end) an entry with its ID.
func (l *infoList) put(u updateInfo) {
	if l.has == nil {
		l.has = map[int]bool{}
	}
	if l.has[u.ID] {
		l.list = slices.DeleteFunc(l.list, func(k updateInfo) bool { return k.ID == u.ID })
	}
	l.list = append(l.list, u)
	l.has[u.ID] = true
}

// removeAll deletes every entry whose ID is in drop.
func (l *infoList) removeAll(drop map[int]bool) {
	l.list = slices.DeleteFunc(l.list, func(u updateInfo) bool { return drop[u.ID] })
	for id := range drop {
		delete(l.has, id)
	}
}
