// Package wusp implements the client-facing services of the WSUS
// Client-Server protocol [MS-WUSP]: SimpleAuth, ClientWebService and
// ReportingWebService, on top of the soap layer, the catalog store and the
// scan engine. Processes are stateless: everything a client needs between
// calls travels in its sealed cookie or lives in the store.
package wusp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/beevik/etree"
	"github.com/google/uuid"
	lru "github.com/hashicorp/golang-lru/v2"

	"wsus/catalog"
	"wsus/catalog/scan"
	"wsus/internal/reqinfo"
	"wsus/soap"
	"wsus/soap/cookie"
	"wsus/storage"
)

// Store is the part of the catalog store the services use.
type Store interface {
	ServerInfo(ctx context.Context) (catalog.ServerInfo, error)
	Fragments(ctx context.Context, ids []int32, typ catalog.FragmentType, languages []string) ([]catalog.Fragment, error)
	Files(ctx context.Context, ids []int32) (map[int32][]catalog.File, error)
	FileBySHA1(ctx context.Context, sha1 []byte) (catalog.File, error)
	// FileSources gives the decryption keys of FileDecryptionData
	// (GetExtendedUpdateInfo2 asking for FileDecryption only).
	FileSources(ctx context.Context, sha1s [][]byte) (map[[20]byte]catalog.FileSource, error)
	RecordAuthorization(ctx context.Context, clientID, dnsName string, groups []string, at time.Time) error
	RegisterComputer(ctx context.Context, c catalog.Computer) error
	RecordSync(ctx context.Context, clientID string, at time.Time) error
	RecordHardware(ctx context.Context, clientID string, h catalog.HardwareInventory) error
	Computer(ctx context.Context, clientID string) (catalog.Computer, error)
	StoreReport(ctx context.Context, r catalog.Report) (int, error)
	CountEvents(ctx context.Context, clientID string, since time.Time) (int, error)
}

// Config configures the services.
type Config struct {
	Store  Store
	Engine *scan.Engine
	Sealer *cookie.Sealer
	Logger *slog.Logger
	// ContentBase returns the base URL put in FileLocation URLs for a
	// request ("http://wsus.example.com:8530"); nil means the scheme and
	// Host the SOAP request came in on.
	ContentBase func(r *http.Request) string
	// PageSize is the SyncUpdates page size; zero means scan.DefaultPageSize.
	PageSize int
	// MaxPageBytes ends a SyncUpdates page once its Core fragments pass it;
	// zero means DefaultMaxPageBytes.
	MaxPageBytes int
	// MaxInflight bounds the SOAP requests being read or answered at once,
	// across the three services; zero means soap.DefaultMaxInflight. A
	// request that finds no slot within a short wait gets ServerBusy.
	MaxInflight int
	// MaxBufferedBytes bounds the request bodies held in memory at once,
	// across the three services; zero means soap.DefaultMaxBufferedBytes. A
	// request whose body does not fit gets ServerBusy at once.
	MaxBufferedBytes int64
	// Admission, when set, is the admission control the services share
	// with others of the same server (the upstream role); MaxInflight and
	// MaxBufferedBytes are then ignored.
	Admission *soap.Admission
	// Locate, when set, may send a file's FileLocation elsewhere than this
	// server's /Content/ path: it returns the URL and true for a file the
	// client should download from there (WSUS's "clients download from
	// Microsoft Update" for content not stored here).
	Locate FileLocator
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Scans, when set, is told the scope sizes of every SyncUpdates round
	// answered (internal/metrics counts them); nil tells no one.
	Scans ScanObserver
}

// FileLocator picks where a client downloads a file from when that is not
// this server (see Config.Locate).
type FileLocator func(ctx context.Context, f catalog.File) (url string, elsewhere bool, err error)

// CookieLifetime is how long a session cookie lasts: 1 hour, as WS2025
// issues them (MS-WUSP.md section 2.2, Cookie).
const CookieLifetime = time.Hour

// AuthCookieLifetime is how long an authorization cookie may be exchanged
// for a session cookie. [I] The protocol leaves it to the server; WUA asks
// for a fresh one before each GetCookie.
const AuthCookieLifetime = 8 * time.Hour

// MaxInstalledNonLeaf is the cap real WSUS puts on InstalledNonLeafUpdateIDs
// (401 ids gave InvalidParameters, MS-WUSP.md section 5.1).
const MaxInstalledNonLeaf = 400

// DefaultMaxPageBytes bounds the Core fragments of one SyncUpdates page.
const DefaultMaxPageBytes = 8 << 20

// MaxExtendedUpdatesPerRequest is what GetConfig advertises and
// GetExtendedUpdateInfo enforces.
const MaxExtendedUpdatesPerRequest = 50

// Services holds the three SOAP endpoints.
type Services struct {
	cfg  Config
	info catalog.ServerInfo
	now  func() time.Time

	// syncWrites remembers when this process last stored each client's
	// LastSync, so that the rounds of one scan cost one write.
	syncWrites *lru.Cache[string, time.Time]

	// registered holds client IDs this process knows to be Registered, so
	// that a steady-state SyncUpdates makes no query to check it (see
	// requireRegistered).
	registered *lru.Cache[string, struct{}]

	// hardware remembers, per client, a digest of the hardware inventory
	// this process last stored, so that a driver pass that reports the
	// same hardware writes nothing (see recordHardware).
	hardware *lru.Cache[string, uint64]

	// admission bounds the requests the three services hold at once.
	admission *soap.Admission

	// core caches Core fragments by revision ID for the snapshot coreSeq.
	coreMu  sync.Mutex
	coreSeq int64
	core    *lru.Cache[int32, coreFragment]
}

// New returns the services; it reads the server identity from the store.
func New(ctx context.Context, cfg Config) (*Services, error) {
	info, err := cfg.Store.ServerInfo(ctx)
	if err != nil {
		return nil, fmt.Errorf("wusp: server info: %w", err)
	}
	if cfg.MaxPageBytes == 0 {
		cfg.MaxPageBytes = DefaultMaxPageBytes
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	core, err := lru.New[int32, coreFragment](20000)
	if err != nil {
		return nil, fmt.Errorf("wusp: core cache: %w", err)
	}
	syncWrites, err := lru.New[string, time.Time](maxCachedClients)
	if err != nil {
		return nil, fmt.Errorf("wusp: sync cache: %w", err)
	}
	registered, err := lru.New[string, struct{}](maxCachedClients)
	if err != nil {
		return nil, fmt.Errorf("wusp: registration cache: %w", err)
	}
	hardware, err := lru.New[string, uint64](maxCachedClients)
	if err != nil {
		return nil, fmt.Errorf("wusp: hardware cache: %w", err)
	}
	admission := cfg.Admission
	if admission == nil {
		admission = soap.NewAdmission(cfg.MaxInflight, cfg.MaxBufferedBytes, 0)
	}
	return &Services{cfg: cfg, info: info, now: now, core: core, syncWrites: syncWrites, registered: registered,
		hardware: hardware, admission: admission}, nil
}

// maxCachedClients bounds the per-client caches of one process (LastSync
// writes, registrations); a client pushed out costs one query when it
// comes back.
const maxCachedClients = 100000

// requireRegistered fails with RegistrationRequired unless the client is
// Registered. It asks the store only for a client this process has not seen
// registered: RegisterComputer is the only thing that makes a computer
// Registered and nothing unregisters one, so a client once seen registered
// stays so, whichever replica registered it. A client not (yet) registered
// is not cached: it may register through another replica.
//
// Deleting computers (a later admin feature) must invalidate this cache on
// every replica: bump the change sequence in the delete's transaction, and
// purge the cache when the sequence of the snapshot in use moves (as
// coreFragments purges the Core fragment cache), or check the client
// against the snapshot's list of deleted computers.
func (s *Services) requireRegistered(ctx context.Context, clientID string) error {
	if _, ok := s.registered.Get(clientID); ok {
		return nil
	}
	c, err := s.cfg.Store.Computer(ctx, clientID)
	if errors.Is(err, catalog.ErrNotFound) || (err == nil && !c.Registered) {
		return soap.Errorf(soap.RegistrationRequired, "")
	}
	if err != nil {
		return fmt.Errorf("wusp: look up computer: %w", err)
	}
	s.registered.Add(clientID, struct{}{})
	return nil
}

// LastSyncResolution is how stale a computer's stored LastSync may be: a
// process stores it at most this often per client.
const LastSyncResolution = 30 * time.Second

// recordSync stores a client's LastSync unless this process stored it less
// than LastSyncResolution ago.
func (s *Services) recordSync(ctx context.Context, clientID string) error {
	now := s.now().UTC()
	if last, ok := s.syncWrites.Get(clientID); ok && now.Sub(last) < LastSyncResolution {
		return nil
	}
	if err := s.cfg.Store.RecordSync(ctx, clientID, now); err != nil {
		return fmt.Errorf("wusp: record sync: %w", err)
	}
	s.syncWrites.Add(clientID, now)
	return nil
}

// recordHardware stores what a driver pass reported of the client's
// hardware unless this process already stored the same (a digest of its
// JSON without ReportedAt): a steady-state driver pass writes nothing. A
// replica that did not see the client yet writes it once.
func (s *Services) recordHardware(ctx context.Context, clientID string, h catalog.HardwareInventory) error {
	h.ReportedAt = time.Time{}
	b, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("wusp: record hardware: %w", err)
	}
	f := fnv.New64a()
	f.Write(b)
	sum := f.Sum64()
	if last, ok := s.hardware.Get(clientID); ok && last == sum {
		return nil
	}
	h.ReportedAt = s.now().UTC()
	if err := s.cfg.Store.RecordHardware(ctx, clientID, h); err != nil {
		return fmt.Errorf("wusp: record hardware: %w", err)
	}
	s.hardware.Add(clientID, sum)
	return nil
}

// SimpleAuth returns the /SimpleAuthWebService/SimpleAuth.asmx handler.
func (s *Services) SimpleAuth() http.Handler {
	svc := soap.NewService("SimpleAuth", soap.NSSimpleAuth, soap.StyleASMX, s.admission, s.cfg.Logger)
	svc.Handle("GetAuthorizationCookie", smallRequest, outageAware(s.getAuthorizationCookie))
	return svc
}

// Client returns the /ClientWebService/client.asmx handler.
func (s *Services) Client() http.Handler {
	svc := soap.NewService("ClientWebService", soap.NSClient, soap.StyleClient, s.admission, s.cfg.Logger)
	svc.Handle("GetConfig", smallRequest, outageAware(s.getConfig))
	svc.Handle("GetCookie", smallRequest, outageAware(s.getCookie))
	svc.Handle("RegisterComputer", smallRequest, outageAware(s.registerComputer))
	svc.Handle("StartCategoryScan", smallRequest, outageAware(s.startCategoryScan))
	// SystemSpec lists every device of the computer (70 on a small VM):
	// kept as bytes, parsed on the driver pass only (drivers.go).
	// Its answer is written as bytes (sync.go).
	// The cookie's base64 is cut out before parsing too: it is most of
	// what a steady-state request holds besides the lists.
	svc.HandleBulkRaw("SyncUpdates", syncRequest, outageAware(s.syncUpdates), "SystemSpec", "EncryptedData")
	svc.HandleBulkRaw("SyncPrinterCatalog", listRequest, outageAware(s.syncPrinterCatalog), "EncryptedData")
	svc.Handle("RefreshCache", listRequest, outageAware(s.refreshCache))
	svc.Handle("GetExtendedUpdateInfo", listRequest, outageAware(s.getExtendedUpdateInfo))
	svc.Handle("GetExtendedUpdateInfo2", listRequest, outageAware(s.getExtendedUpdateInfo2))
	svc.Handle("GetFileLocations", listRequest, outageAware(s.getFileLocations))
	return svc
}

// Reporting returns the ReportingWebService handler (served under both
// ReportingWebService.asmx and WebService.asmx).
func (s *Services) Reporting() http.Handler {
	svc := soap.NewService("ReportingWebService", soap.NSReporting, soap.StyleASMX, s.admission, s.cfg.Logger)
	svc.Handle("ReportEventBatch", reportRequest, outageAware(s.reportEventBatch))
	return svc
}

// openSession checks the cookie element of a request the way every
// cookie-taking method must (MS-WUSP.md section 9, item 8).
func (s *Services) openSession(ctx context.Context, el *etree.Element) (cookie.Session, error) {
	sess, err := s.unsealSession(ctx, el)
	if err == nil {
		err = s.checkSession(sess)
	}
	if err != nil {
		return cookie.Session{}, err
	}
	return sess, nil
}

// checkSession fails an expired session with CookieExpired and one issued
// under another configuration with ConfigChanged.
func (s *Services) checkSession(sess cookie.Session) error {
	switch {
	case s.now().After(sess.Expires):
		return soap.Errorf(soap.CookieExpired, "")
	case !sess.ConfigChanged.Equal(s.info.ConfigChanged):
		return soap.Errorf(soap.ConfigChanged, "")
	}
	return nil
}

// clientScope returns the current catalog snapshot and what it deploys to
// the client a session cookie names (see clientGroups). Its only store call
// is the engine's change sequence check.
func (s *Services) clientScope(ctx context.Context, sess cookie.Session) (*scan.Snapshot, *scan.Scope, error) {
	snap, err := s.cfg.Engine.Snapshot(ctx)
	if err != nil {
		return nil, nil, err
	}
	return snap, snap.Scope(clientGroups(snap, sess)), nil
}

// clientGroups returns the target groups of the client a session cookie
// names: those it asked for (in the cookie) and those an admin assigned it
// to (in the snapshot, which an assignment made on any replica renews).
func clientGroups(snap *scan.Snapshot, sess cookie.Session) []uuid.UUID {
	return snap.ResolveGroups(sess.Groups, snap.AssignedGroups(sess.ClientID))
}

// unsealSession opens the sealed session of a Cookie element: InvalidCookie
// when it is absent, not base64 or not sealed by one of our keys,
// ServerChanged when another installation minted it. Expiry and
// configuration are not checked. The client ID of a session opened is
// recorded for the access log (reqinfo).
func (s *Services) unsealSession(ctx context.Context, el *etree.Element) (cookie.Session, error) {
	return s.unsealData(ctx, soap.Text(el, "EncryptedData"))
}

// unsealData opens the sealed session of a cookie's EncryptedData text (see
// unsealSession). A cookie sealed with a key this server does not hold
// (another replica's) is logged at ERROR (cookie.LogMismatch); the client
// still gets InvalidCookie, as for any cookie it cannot open.
func (s *Services) unsealData(ctx context.Context, data string) (cookie.Session, error) {
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil || len(raw) == 0 {
		return cookie.Session{}, soap.Errorf(soap.InvalidCookie, "")
	}
	sess, err := s.cfg.Sealer.OpenSession(raw)
	if err != nil {
		cookie.LogMismatch(ctx, s.cfg.Logger, s.cfg.Sealer, err)
		return cookie.Session{}, soap.Errorf(soap.InvalidCookie, "")
	}
	// Sealed by one of our keys: the ID is the client's, even when
	// another installation sharing the key minted it.
	reqinfo.From(ctx).SetClientID(sess.ClientID)
	if sess.ServerID != s.info.ID {
		return cookie.Session{}, soap.Errorf(soap.ServerChanged, "")
	}
	return sess, nil
}

// addCookie writes a Cookie-typed element: the clear-text Expiration and
// the sealed session.
func (s *Services) addCookie(w soap.XMLWriter, name string, sess cookie.Session) error {
	sealed, err := s.cfg.Sealer.SealSession(sess)
	if err != nil {
		return fmt.Errorf("wusp: seal cookie: %w", err)
	}
	writeCookie(w, name, sess.Expires, base64.StdEncoding.EncodeToString(sealed))
	return nil
}

// writeCookie writes a Cookie element: Expiration, EncryptedData.
func writeCookie(w soap.XMLWriter, name string, expires time.Time, data string) {
	w.Start(name)
	w.Elem("Expiration", soap.FormatDateTime(expires))
	w.Elem("EncryptedData", data)
	w.End(name)
}

// contentBase is the scheme://host[:port] content URLs start with.
func (s *Services) contentBase(r *http.Request) string {
	if s.cfg.ContentBase != nil {
		return s.cfg.ContentBase(r)
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// addFileLocation writes one FileLocation {FileDigest, Url}: real WSUS sends
// only these two children (MS-WUSP.md section 2.2). Url is this server's
// content path under base, unless Config.Locate sends the file elsewhere.
func (s *Services) addFileLocation(ctx context.Context, parent *etree.Element, base string, f catalog.File) error {
	u := base + storage.ContentPath(f.SHA1, f.FileName)
	if s.cfg.Locate != nil {
		other, elsewhere, err := s.cfg.Locate(ctx, f)
		if err != nil {
			return fmt.Errorf("wusp: locate file: %w", err)
		}
		if elsewhere {
			u = other
		}
	}
	fl := parent.CreateElement("FileLocation")
	soap.Elem(fl, "FileDigest", base64.StdEncoding.EncodeToString(f.SHA1))
	soap.Elem(fl, "Url", u)
	return nil
}

// protocolAtLeast compares a client protocol version "x.y" with major.minor.
func protocolAtLeast(v string, major, minor int) bool {
	ma, mi, ok := parseProtocol(v)
	if !ok {
		return false
	}
	return ma > major || (ma == major && mi >= minor)
}

// parseProtocol parses "x.y" with decimal components (client versions seen:
// 1.0, 1.6, 1.8, 2.0, 2.90; MS-WUSP.md section 4.3).
func parseProtocol(v string) (major, minor int, ok bool) {
	a, b, found := strings.Cut(strings.TrimSpace(v), ".")
	if !found {
		return 0, 0, false
	}
	ma, err1 := strconv.Atoi(a)
	mi, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || ma < 0 || mi < 0 {
		return 0, 0, false
	}
	return ma, mi, true
}
