package clientsim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/beevik/etree"
)

// A fleet of simulated computers shares one catalog cache: every computer
// of a fleet that is not new has done its first scan earlier and holds the
// revisions a reference Agent holds after its own scans (same catalog, same
// simulated applicability rule). FleetTemplate keeps that cache once,
// read-only, so that a generator simulating a million computers keeps only
// what differs between them: client ID, DNS name and session cookie, all
// of which its caller derives from the computer's index.

// SessionCookie is an MS-WUSP session Cookie as sent on the wire: the clear
// Expiration and the server's opaque EncryptedData (base64).
type SessionCookie struct {
	Expiration    string
	EncryptedData string
}

// SessionCookie returns the agent's current session cookie (empty before
// its first scan).
func (a *Agent) SessionCookie() SessionCookie {
	return SessionCookie(a.s.cookie)
}

// FleetTemplate is the state every returning computer of a simulated fleet
// shares: the server's Config and the reference agent's cache of revision
// ids, as rendered in SyncUpdates. It is read-only once built and safe for
// concurrent use by any number of scans.
type FleetTemplate struct {
	base   *url.URL
	server string // base URL without trailing slash (DeviceAttributes)
	config serverConfig

	installed, other, drivers         []int
	installedInts, otherInts, drvInts []byte // rendered <int> sequences, clipped
	has                               map[int]bool
	maxInstalled                      int
	offered                           []string // upper-case UpdateIDs offered for install
	offeredSet                        map[string]bool
	skeletons                         map[skeletonKey]*syncSkeleton
	targetGroup                       string
	identity                          bool

	reportsMu sync.Mutex
	reports   map[string]*reportSkeleton // by the newly offered UpdateIDs
}

// A ReportEventBatch body differs between the computers of a fleet that
// were offered the same updates only in the cookie, the client ID, the
// time and the EventInstanceIDs. buildReportEventBatch (etree, from the
// recorded native batch) is the reference; a reportSkeleton is its output
// for placeholder values, filled in by replacing them, so that a fleet of
// a million computers does not parse and serialize the recorded batch at
// every scan. TestFleetReportMatchesBuild compares the two.
const (
	reportHoleClientID = "0f1ee700-0000-4000-8000-000000c11e47"
	reportHoleTime     = "2001-02-03T04:05:06.789Z"
)

// reportHoleAt is the time reportHoleTime formats.
var reportHoleAt = time.Date(2001, 2, 3, 4, 5, 6, 789e6, time.UTC)

// eventInstanceTag opens the element holding an event's EventInstanceID.
var eventInstanceTag = []byte("<EventInstanceID>")

// reportSkeleton is a ReportEventBatch body with placeholders.
type reportSkeleton struct {
	body   []byte
	events int
}

// reportSkeleton returns the skeleton of the report naming the template's
// offered updates and newOffered, built once.
func (t *FleetTemplate) reportSkeleton(newOffered []string) (*reportSkeleton, error) {
	key := strings.Join(newOffered, ";")
	t.reportsMu.Lock()
	defer t.reportsMu.Unlock()
	if sk := t.reports[key]; sk != nil {
		return sk, nil
	}
	body, n, err := buildReportEventBatch(eventBatch{
		Cookie:   cookie{Expiration: holeExpiration, EncryptedData: holeEncrypted},
		ClientID: reportHoleClientID, Time: reportHoleAt,
		Offered: append(slices.Clip(t.offered), newOffered...),
	})
	if err != nil {
		return nil, err
	}
	if !bytes.Contains(body, []byte(reportHoleTime)) || bytes.Count(body, eventInstanceTag) != n {
		return nil, fmt.Errorf("report skeleton: placeholders not where expected")
	}
	if t.reports == nil {
		t.reports = map[string]*reportSkeleton{}
	}
	sk := &reportSkeleton{body: body, events: n}
	t.reports[key] = sk
	return sk, nil
}

// render fills the placeholders, with a fresh EventInstanceID per event.
func (sk *reportSkeleton) render(ck SessionCookie, clientID string, at time.Time) []byte {
	b := bytes.ReplaceAll(sk.body, []byte(holeExpiration), []byte(ck.Expiration))
	b = bytes.ReplaceAll(b, []byte(holeEncrypted), []byte(ck.EncryptedData))
	b = bytes.ReplaceAll(b, []byte(reportHoleClientID), []byte(clientID))
	b = bytes.ReplaceAll(b, []byte(reportHoleTime), []byte(at.UTC().Format(layoutMillis)))
	for i := 0; ; {
		j := bytes.Index(b[i:], eventInstanceTag)
		if j < 0 {
			return b
		}
		i += j + len(eventInstanceTag)
		copy(b[i:], newGUID()) // GUIDs are all 36 bytes
	}
}

// FleetTemplate returns the template of a fleet whose computers hold what a
// holds now: its Config and its cache. a must have completed a scan.
func (a *Agent) FleetTemplate() (*FleetTemplate, error) {
	s := a.s
	if !s.contacted {
		return nil, errors.New("clientsim: fleet template: the agent has not completed a first scan")
	}
	c := &s.cache
	t := &FleetTemplate{
		base: s.base, server: s.server, config: s.config,
		installed:     slices.Clone(c.installed.ids),
		other:         slices.Clone(c.other.ids),
		drivers:       slices.Clone(c.drivers.ids),
		installedInts: slices.Clip(slices.Clone(c.installed.rendered())),
		otherInts:     slices.Clip(slices.Clone(c.other.rendered())),
		drvInts:       slices.Clip(slices.Clone(c.drivers.rendered())),
		has:           map[int]bool{},
		maxInstalled:  s.cfg.MaxInstalledNonLeaf,
		offeredSet:    map[string]bool{},
		skeletons:     map[skeletonKey]*syncSkeleton{},
		targetGroup:   s.cfg.TargetGroup,
		identity:      s.cfg.Identity,
	}
	for _, l := range [][]int{t.installed, t.other, t.drivers} {
		for _, id := range l {
			t.has[id] = true
		}
	}
	for _, u := range c.delivered() {
		if u.Action == "Install" || u.Action == "OptionalInstall" {
			if id := strings.ToUpper(u.Identity.UpdateID); !t.offeredSet[id] {
				t.offeredSet[id] = true
				t.offered = append(t.offered, id)
			}
		}
	}
	for _, driver := range []bool{false, true} {
		for _, installed := range []bool{false, true} {
			for _, cached := range []bool{false, true} {
				key := skeletonKey{driver: driver, installed: installed, cached: cached}
				sk, err := newSyncSkeleton(key, t.server)
				if err != nil {
					return nil, fmt.Errorf("clientsim: fleet template: %w", err)
				}
				t.skeletons[key] = sk
			}
		}
	}
	return t, nil
}

// CachedIDs is the number of revision ids a returning computer sends in its
// first software SyncUpdates (InstalledNonLeafUpdateIDs + OtherCachedUpdateIDs).
func (t *FleetTemplate) CachedIDs() int { return len(t.installed) + len(t.other) }

// OfferedUpdateIDs returns the upper-case UpdateIDs of the cached updates
// offered for install.
func (t *FleetTemplate) OfferedUpdateIDs() []string { return slices.Clone(t.offered) }

// Computer is one computer of a fleet on one scan.
type Computer struct {
	// ClientID is its SusClientId GUID; DNSName its name.
	ClientID, DNSName string
	// OldCookie is the session cookie it kept from its previous scan; its
	// Expiration has passed when the previous scan is older than the
	// server's cookie lifetime.
	OldCookie SessionCookie
}

// ReturningScanOptions selects the optional steps of FleetTemplate.Scan.
type ReturningScanOptions struct {
	// ExtendedInfo runs GetExtendedUpdateInfo for the revisions of the
	// updates newly offered for install in this scan (their files'
	// metadata), as the agent does before downloading them.
	ExtendedInfo bool
}

// ReturningScanResult is the outcome of one FleetTemplate.Scan.
type ReturningScanResult struct {
	// Calls counts the SOAP calls of the scan.
	Calls int
	// ConfigRefreshed is set when GetCookie answered ConfigChanged and the
	// computer ran GetConfig again.
	ConfigRefreshed bool
	// SoftwareRounds and DriverRounds count the SyncUpdates calls.
	SoftwareRounds, DriverRounds int
	// NewUpdates, ChangedUpdates and OutOfScope count the entries of the
	// SyncUpdates answers.
	NewUpdates, ChangedUpdates, OutOfScope int
	// NewOffered are the upper-case UpdateIDs offered for install in this
	// scan (NewUpdates or ChangedUpdates) that were not offered before.
	NewOffered []string
	// ExtendedInfoRevisions counts the revisions GetExtendedUpdateInfo was
	// asked about.
	ExtendedInfoRevisions int
	// Cookie is the session cookie the scan ended with, for a report sent
	// after it (FleetTemplate.Report).
	Cookie SessionCookie
}

// Report sends the ReportEventBatch (147 and 156) of a scan of c that
// ended with cookie ck and was newly offered newOffered, and returns the
// number of events once the server answered true. The native agent sends
// it 20 s to 2 min after the scan (MS-WUSP.md section 3.2), apart from it.
func (t *FleetTemplate) Report(ctx context.Context, httpClient *http.Client, c Computer, ck SessionCookie, newOffered []string) (int, error) {
	sc := &soapClient{http: httpClient, userAgent: AgentUserAgent, log: slog.New(slog.DiscardHandler), identity: t.identity}
	if !plainText(ck.Expiration) || !plainText(ck.EncryptedData) || !isGUID(c.ClientID) {
		return 0, errors.New("clientsim: ReportEventBatch: cookie text needs XML escaping, or the client ID is not a GUID")
	}
	sk, err := t.reportSkeleton(newOffered)
	if err != nil {
		return 0, fmt.Errorf("clientsim: ReportEventBatch: %w", err)
	}
	body, n := sk.render(ck, c.ClientID, time.Now()), sk.events
	ep, err := t.endpoint(reportingPath)
	if err != nil {
		return 0, fmt.Errorf("clientsim: ReportEventBatch: %w", err)
	}
	resp, err := sc.call(ctx, ep, nsReporting, "ReportEventBatch", body)
	ok := false
	if err == nil {
		ok, err = parseReportResult(resp)
	}
	if err == nil && !ok {
		err = errors.New("ReportEventBatchResult is false")
	}
	if err != nil {
		return 0, fmt.Errorf("clientsim: ReportEventBatch: %w", err)
	}
	return n, nil
}

// overlay is one scan's private additions to the template's cache.
type overlay struct {
	t                         *FleetTemplate
	installed, other, drivers []int        // delivered in this scan, not in the template
	dropped                   map[int]bool // out of scope: left out of what is sent
	extraHas                  map[int]bool
}

// render returns ids (template ids, then extra, without dropped) as <int>
// elements; base is the template's rendering of tmpl.
func render(tmpl []int, base []byte, extra []int, dropped map[int]bool) []byte {
	if len(dropped) == 0 {
		b := base
		for _, id := range extra {
			b = appendIntElement(b, id) // base is clipped: this copies
		}
		return b
	}
	var b []byte
	for _, l := range [][]int{tmpl, extra} {
		for _, id := range l {
			if !dropped[id] {
				b = appendIntElement(b, id)
			}
		}
	}
	return b
}

// Scan runs the scan of a computer that did its first scan earlier and
// holds the template's cache, as the native agent does at the end of its
// detection interval (MS-WUSP.md sections 3.2 and 3.3): its cookie has
// expired, so GetAuthorizationCookie and GetCookie with the old cookie
// (GetConfig first only when GetCookie answers ConfigChanged), then the
// SyncUpdates software rounds carrying the whole cache and the driver pass,
// then GetExtendedUpdateInfo when opts asks; Report sends the report
// after it. Errors are as for Agent.Scan; *Fault for SOAP faults. c is the
// computer's identity; httpClient carries the requests.
func (t *FleetTemplate) Scan(ctx context.Context, httpClient *http.Client, c Computer, opts ReturningScanOptions) (ReturningScanResult, error) {
	var res ReturningScanResult
	sc := &soapClient{http: httpClient, userAgent: AgentUserAgent, log: slog.New(slog.DiscardHandler), identity: t.identity}
	call := func(ep, ns, op string, body []byte) (elemResp, error) {
		res.Calls++
		return sc.call(ctx, ep, ns, op, body)
	}
	cfg := t.config
	ck, err := t.authenticate(ctx, call, &cfg, c)
	if IsFault(err, "ConfigChanged") {
		res.ConfigRefreshed = true
		if cfg, err = t.getConfig(call); err == nil {
			ck, err = t.authenticate(ctx, call, &cfg, c)
		}
	}
	if err != nil {
		return res, fmt.Errorf("clientsim: %w", err)
	}

	o := &overlay{t: t, dropped: map[int]bool{}, extraHas: map[int]bool{}}
	var newOffered []updateInfo
	for _, driver := range []bool{false, true} {
		for round := 1; ; round++ {
			if round > DefaultFleetMaxSyncRounds {
				return res, fmt.Errorf("clientsim: SyncUpdates: no convergence after %d rounds", DefaultFleetMaxSyncRounds)
			}
			installed, cached := o.ids(driver)
			key := skeletonKey{driver: driver, installed: len(installed) > 0, cached: len(cached) > 0}
			if !plainText(ck.Expiration) || !plainText(ck.EncryptedData) {
				return res, fmt.Errorf("clientsim: SyncUpdates: cookie text needs XML escaping")
			}
			body := t.skeletons[key].render(cookie(ck), installed, cached)
			ep, err := t.endpoint(clientPath)
			if err != nil {
				return res, fmt.Errorf("clientsim: SyncUpdates: %w", err)
			}
			resp, err := call(ep, nsClient, "SyncUpdates", body)
			var si syncInfo
			if err == nil {
				si, err = parseSyncInfo(resp)
			}
			if err != nil {
				pass := "software"
				if driver {
					pass = "driver pass"
				}
				return res, fmt.Errorf("clientsim: SyncUpdates (%s) round %d: %w", pass, round, err)
			}
			ck = SessionCookie(si.NewCookie)
			if driver {
				res.DriverRounds++
			} else {
				res.SoftwareRounds++
			}
			res.NewUpdates += len(si.NewUpdates)
			res.ChangedUpdates += len(si.ChangedUpdates)
			res.OutOfScope += len(si.OutOfScope)
			for _, id := range si.OutOfScope {
				o.dropped[id] = true
			}
			nonLeaf := false
			for _, u := range append(si.NewUpdates, si.ChangedUpdates...) {
				nonLeaf = nonLeaf || !u.IsLeaf
				delete(o.dropped, u.ID)
				o.put(u, driver)
				// A revision cached before and now deployed for install comes
				// back in ChangedUpdates: offered all the same.
				if !driver && (u.Action == "Install" || u.Action == "OptionalInstall") {
					newOffered = append(newOffered, u)
				}
			}
			if !si.Truncated && (driver || !nonLeaf) {
				break
			}
		}
	}

	seen := map[string]bool{}
	var fetch []int
	for _, u := range newOffered {
		id := strings.ToUpper(u.Identity.UpdateID)
		if t.offeredSet[id] {
			continue // offered at an earlier scan: its metadata is fetched
		}
		if !seen[id] {
			seen[id] = true
			res.NewOffered = append(res.NewOffered, id)
		}
		fetch = append(fetch, u.ID)
	}
	if opts.ExtendedInfo && len(fetch) > 0 {
		for chunk := range slices.Chunk(fetch, max(cfg.MaxExtendedUpdates, 1)) {
			body, err := buildGetExtendedUpdateInfo(cookie(ck), chunk, t.server)
			if err != nil {
				return res, fmt.Errorf("clientsim: GetExtendedUpdateInfo: %w", err)
			}
			ep, err := t.endpoint(clientPath)
			if err != nil {
				return res, fmt.Errorf("clientsim: GetExtendedUpdateInfo: %w", err)
			}
			resp, err := call(ep, nsClient, "GetExtendedUpdateInfo", body)
			if err == nil {
				_, err = parseExtendedInfo(resp)
			}
			if err != nil {
				return res, fmt.Errorf("clientsim: GetExtendedUpdateInfo: %w", err)
			}
			res.ExtendedInfoRevisions += len(chunk)
		}
	}
	res.Cookie = ck
	return res, nil
}

// DefaultFleetMaxSyncRounds bounds the SyncUpdates rounds of each pass of a
// returning computer's scan.
const DefaultFleetMaxSyncRounds = 1000

// Register runs RegisterComputer for c with the session cookie ck, as a
// computer does on its first contact (MS-WUSP.md section 3.1, step 4).
func (t *FleetTemplate) Register(ctx context.Context, httpClient *http.Client, c Computer, ck SessionCookie) error {
	sc := &soapClient{http: httpClient, userAgent: AgentUserAgent, log: slog.New(slog.DiscardHandler), identity: t.identity}
	body, err := buildRegisterComputer(cookie(ck), c.DNSName)
	if err != nil {
		return fmt.Errorf("clientsim: RegisterComputer: %w", err)
	}
	ep, err := t.endpoint(clientPath)
	if err != nil {
		return fmt.Errorf("clientsim: RegisterComputer: %w", err)
	}
	if _, err := sc.call(ctx, ep, nsClient, "RegisterComputer", body); err != nil {
		return fmt.Errorf("clientsim: RegisterComputer: %w", err)
	}
	return nil
}

// elemResp is what soapClient.call returns.
type elemResp = *etree.Element

// put records a revision delivered in this scan, unless the computer
// holds it already.
func (o *overlay) put(u updateInfo, driver bool) {
	if o.t.has[u.ID] || o.extraHas[u.ID] {
		return
	}
	o.extraHas[u.ID] = true
	switch {
	case driver:
		o.drivers = append(o.drivers, u.ID)
	case !u.IsLeaf && (o.t.maxInstalled <= 0 || len(o.t.installed)+len(o.installed) < o.t.maxInstalled):
		o.installed = append(o.installed, u.ID)
	default:
		o.other = append(o.other, u.ID)
	}
}

// ids returns the InstalledNonLeafUpdateIDs and the OtherCachedUpdateIDs
// (software) or CachedDriverIDs (driver pass) to send, rendered.
func (o *overlay) ids(driver bool) (installed, cached []byte) {
	t := o.t
	installed = render(t.installed, t.installedInts, o.installed, o.dropped)
	if driver {
		return installed, render(t.drivers, t.drvInts, o.drivers, o.dropped)
	}
	return installed, render(t.other, t.otherInts, o.other, o.dropped)
}

// endpoint resolves a service path against the server base URL.
func (t *FleetTemplate) endpoint(p string) (string, error) {
	ref, err := url.Parse(strings.TrimPrefix(p, "/"))
	if err != nil {
		return "", fmt.Errorf("service URL %q: %w", p, err)
	}
	return t.base.ResolveReference(ref).String(), nil
}

// getConfig runs GetConfig for a computer whose cached Config is stale.
func (t *FleetTemplate) getConfig(call func(ep, ns, op string, body []byte) (elemResp, error)) (serverConfig, error) {
	body, err := buildGetConfig()
	if err != nil {
		return serverConfig{}, fmt.Errorf("GetConfig: %w", err)
	}
	ep, err := t.endpoint(clientPath)
	if err != nil {
		return serverConfig{}, fmt.Errorf("GetConfig: %w", err)
	}
	resp, err := call(ep, nsClient, "GetConfig", body)
	if err != nil {
		return serverConfig{}, fmt.Errorf("GetConfig: %w", err)
	}
	cfg, err := parseConfig(resp)
	if err != nil {
		return serverConfig{}, fmt.Errorf("GetConfig: %w", err)
	}
	return cfg, nil
}

// authenticate runs GetAuthorizationCookie and GetCookie(oldCookie=c.OldCookie).
func (t *FleetTemplate) authenticate(_ context.Context, call func(ep, ns, op string, body []byte) (elemResp, error), cfg *serverConfig, c Computer) (SessionCookie, error) {
	body, err := buildGetAuthorizationCookie(c.ClientID, t.targetGroup, c.DNSName)
	if err != nil {
		return SessionCookie{}, fmt.Errorf("GetAuthorizationCookie: %w", err)
	}
	ep, err := t.endpoint(cfg.AuthServiceURL)
	if err != nil {
		return SessionCookie{}, fmt.Errorf("GetAuthorizationCookie: %w", err)
	}
	resp, err := call(ep, nsSimpleAuth, "GetAuthorizationCookie", body)
	if err != nil {
		return SessionCookie{}, fmt.Errorf("GetAuthorizationCookie: %w", err)
	}
	auth, err := parseAuthCookie(resp)
	if err != nil {
		return SessionCookie{}, fmt.Errorf("GetAuthorizationCookie: %w", err)
	}
	if body, err = buildGetCookie(auth, cookie(c.OldCookie), cfg.LastChange, time.Now()); err != nil {
		return SessionCookie{}, fmt.Errorf("GetCookie: %w", err)
	}
	if ep, err = t.endpoint(clientPath); err != nil {
		return SessionCookie{}, fmt.Errorf("GetCookie: %w", err)
	}
	if resp, err = call(ep, nsClient, "GetCookie", body); err != nil {
		return SessionCookie{}, fmt.Errorf("GetCookie: %w", err)
	}
	ck, err := parseCookie(child(resp, "GetCookieResult"), "GetCookieResult")
	if err != nil {
		return SessionCookie{}, fmt.Errorf("GetCookie: %w", err)
	}
	return SessionCookie(ck), nil
}
