// Package serversync serves the upstream side of the WSUS Server-Server
// protocol ([MS-WSUSSS]): ServerSyncWebService and DssAuthWebService, so that
// a downstream server (another wsus server, a Windows WSUS) synchronizes its
// catalog, and in replica mode its target groups, approvals and declines,
// from this one.
//
// What callers may rely on:
//   - Both services run on the soap package: bodies bounded per operation
//     before they are read, admission control (an overloaded server answers
//     ServerBusy, which a DSS retries with backoff), and SOAP 1.1 faults
//     carrying the WSUS ErrorCodes of [MS-WSUSSS] 2.2.9 (the codes shared
//     with MS-WUSP from package soap, the others from package
//     sync/wsusss). A store outage (catalog.ErrUnavailable) is answered
//     ServerBusy, never InternalServerError.
//   - Processes keep no state: the authorization cookie and the access
//     cookie are sealed (AES-256-GCM) with a key derived from the cookie key
//     every replica shares, so any replica opens any replica's cookie, and
//     the cookies of this protocol never open as MS-WUSP client cookies, nor
//     the reverse. Everything else comes from the catalog store (Store).
//   - Anchors are "nnnn,yyyy-MM-dd hh:mm:ss.sss" as a Windows WSUS writes
//     them, nnnn being the store's change sequence when the answer was
//     built: a revision is new since an anchor when its Summary.Changed is
//     greater than that nnnn. Anchors are opaque to the DSS and need nothing
//     stored here. An anchor ahead of the change sequence was minted by
//     another installation and is answered ServerChanged, so that the DSS
//     drops its anchors instead of hearing that nothing changed.
//   - Answers follow the real Windows Server 2025 answers element for
//     element (samples in ../shared/protocol/metadata-samples/, named at
//     each writer), in the ASP.NET envelope style (soap.StyleASMX) those
//     answers use. Where no real answer was recorded the spec's examples
//     and type definitions decide, and the code marks the choice [I].
//   - The large answers are bounded: a GetUpdateData answer holds at most
//     MaxUpdatesPerRequest documents and MaxUpdateDataBytes, and the
//     GetUpdateData and GetRevisionIdList answers being built or sent at
//     once share Config.MaxAnswerBytes (ServerBusy past it).
//
// Sources: [MS-WSUSSS] sections 2 and 3 as summed up in
// ../shared/protocol/MS-WSUSSS.md (sections 1-3 and 7), the real messages of
// ../shared/protocol/metadata-samples/ (README.md there), and the client side
// of this repository (sync/wsusss, sync/upstream), which the tests drive
// against this server.
package serversync

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/beevik/etree"
	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/internal/reqinfo"
	"wsus/soap"
	"wsus/soap/cookie"
	"wsus/storage"
	"wsus/sync/wsusss"
)

// Store is the part of the catalog store the upstream role reads.
type Store interface {
	ServerInfo(ctx context.Context) (catalog.ServerInfo, error)
	ChangeSequence(ctx context.Context) (int64, error)
	Summaries(ctx context.Context) ([]catalog.Summary, error)
	Revision(ctx context.Context, id int32) (*catalog.Revision, error)
	Files(ctx context.Context, ids []int32) (map[int32][]catalog.File, error)
	TargetGroups(ctx context.Context) ([]catalog.TargetGroup, error)
	Approvals(ctx context.Context) ([]catalog.Approval, error)
	UpdateStates(ctx context.Context) ([]catalog.UpdateState, error)
	FileSources(ctx context.Context, sha1s [][]byte) (map[[20]byte]catalog.FileSource, error)
	SyncSettings(ctx context.Context) (catalog.SyncSettings, error)
}

// Blobs is the part of the payload store DownloadFiles reads: whether a
// file is stored here.
type Blobs interface {
	Stat(ctx context.Context, key string) (storage.ObjectInfo, error)
}

// Limits this server advertises in GetConfigData and enforces.
const (
	// MaxUpdatesPerRequest is MaxNumberOfUpdatesPerRequest: the most
	// identities of one GetUpdateData. 100, as the real WSUS
	// (wsusss-GetConfigDataResponse-wsus-upstream.xml), which faults
	// InvalidParameters "updateIds" on 101 (MS-WSUSSS.md section 2).
	MaxUpdatesPerRequest = 100
	// MaxDecryptionUpdatesPerRequest is
	// MaxUpdatesPerRequestInGetUpdateDecryptionData: 100, as the real WSUS.
	MaxDecryptionUpdatesPerRequest = 100
	// MaxDigestsPerRequest is the most file digests of one DownloadFiles
	// ([MS-WSUSSS] 3.1.4.11: 1 to 100; MS-WSUSSS.md section 2).
	MaxDigestsPerRequest = 100
	// MaxUpdateDataBytes bounds one GetUpdateData answer. [I] Windows limits
	// its answers to 2,000,000 bytes (spec note <37>) but compresses
	// documents, which this server does not: the largest real document
	// (46.9 MB, a CBS manifest; MS-WSUSSS.md 3.3) must fit alone once
	// escaped. An answer that would pass it faults InvalidParameters
	// "updateIds": asking for fewer identities at once succeeds.
	MaxUpdateDataBytes = 128 << 20
	// DefaultMaxAnswerBytes is the default Config.MaxAnswerBytes.
	DefaultMaxAnswerBytes = 256 << 20
)

// CookieLifetime is how long an access cookie lasts: 240 minutes, as the
// real WSUS issues them (wsusss-GetCookieResponse.xml; [MS-WSUSSS] note
// <29>), never past the authorization cookie it was exchanged for.
const CookieLifetime = 240 * time.Minute

// AuthCookieLifetime is how long an authorization cookie may be exchanged
// for access cookies. [I] The spec leaves it to the USS; the sync client
// asks for a new one each time it authenticates.
const AuthCookieLifetime = 8 * time.Hour

// Config configures the services.
type Config struct {
	// Store is the catalog; required.
	Store Store
	// Blobs is the payload store DownloadFiles checks; required.
	Blobs Blobs
	// CookieKey is the key every replica shares (the MS-WUSP cookie key);
	// the cookies of this protocol are sealed with a key derived from it.
	// Required, cookie.KeySize bytes.
	CookieKey []byte
	// CookieKeyPrevious are earlier cookie keys (cookie.KeySize bytes
	// each): cookies sealed with keys derived from them still open, none
	// is sealed with them (cookie-key rotation). Nil means none.
	CookieKeyPrevious [][]byte
	// Admission bounds the requests being read or answered at once; nil
	// means a new one with soap's defaults.
	Admission *soap.Admission
	// Logger receives the services' logs; nil means slog.Default().
	Logger *slog.Logger
	// MaxAnswerBytes bounds the GetUpdateData and GetRevisionIdList answers
	// being built or sent at once, together; zero means
	// DefaultMaxAnswerBytes. A request that finds no room gets ServerBusy.
	MaxAnswerBytes int64
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Services holds the two SOAP endpoints of the upstream role.
type Services struct {
	store     Store
	blobs     Blobs
	sealer    *cookie.Sealer
	info      catalog.ServerInfo
	admission *soap.Admission
	logger    *slog.Logger
	now       func() time.Time
	answers   *budget
	// maxUpdateData is MaxUpdateDataBytes (a test seam).
	maxUpdateData int64

	// mu guards idx, the revision index of the change sequence idx.seq.
	mu  sync.Mutex
	idx *index
}

// New returns the services; it reads the server identity from the store.
func New(ctx context.Context, cfg Config) (*Services, error) {
	if cfg.Store == nil || cfg.Blobs == nil {
		return nil, errors.New("serversync: Store and Blobs are required")
	}
	keys := make([][]byte, 0, 1+len(cfg.CookieKeyPrevious))
	for i, k := range append([][]byte{cfg.CookieKey}, cfg.CookieKeyPrevious...) {
		derived, err := hkdf.Key(sha256.New, k, nil, "wsus serversync cookies v1", cookie.KeySize)
		if err != nil || len(k) != cookie.KeySize {
			if i == 0 {
				return nil, fmt.Errorf("serversync: cookie key must be %d bytes", cookie.KeySize)
			}
			return nil, fmt.Errorf("serversync: previous cookie key %d must be %d bytes", i, cookie.KeySize)
		}
		keys = append(keys, derived)
	}
	sealer, err := cookie.NewSealer(keys[0], keys[1:]...)
	if err != nil {
		return nil, fmt.Errorf("serversync: %w", err)
	}
	info, err := cfg.Store.ServerInfo(ctx)
	if err != nil {
		return nil, fmt.Errorf("serversync: server info: %w", err)
	}
	s := &Services{store: cfg.Store, blobs: cfg.Blobs, sealer: sealer, info: info,
		admission: cfg.Admission, logger: cfg.Logger, now: cfg.Now}
	if s.admission == nil {
		s.admission = soap.NewAdmission(0, 0, 0)
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	maxAnswer := cfg.MaxAnswerBytes
	if maxAnswer <= 0 {
		maxAnswer = DefaultMaxAnswerBytes
	}
	s.answers = &budget{max: maxAnswer}
	s.maxUpdateData = MaxUpdateDataBytes
	return s, nil
}

// Request limits per operation, checked before a body is parsed. [I] No
// real DSS request is near them: the recorded ones are under 2 KB.
var (
	// smallRequest: GetAuthConfig, GetAuthorizationCookie, GetCookie,
	// GetConfigData, GetDeployments: a cookie and a few strings.
	smallRequest = soap.Limits{MaxBytes: 64 << 10, MaxMarkup: 2_000}
	// idsRequest: GetUpdateData, GetUpdateDecryptionData, DownloadFiles:
	// at most 100 identities (5 tags each) or digests.
	idsRequest = soap.Limits{MaxBytes: 256 << 10, MaxMarkup: 5_000}
	// filterRequest: GetRevisionIdList, whose filter may list every
	// category of a catalog (4,275 on a real WSUS; MS-WSUSSS.md 3.3) at 7
	// tags each.
	filterRequest = soap.Limits{MaxBytes: 2 << 20, MaxMarkup: 100_000}
)

// ServerSync returns the /ServerSyncWebService/ServerSyncWebService.asmx
// handler.
func (s *Services) ServerSync() http.Handler {
	svc := soap.NewService("ServerSyncWebService", wsusss.NSServerSync, soap.StyleASMX, s.admission, s.logger)
	svc.SetFaultActor()
	svc.Handle("GetAuthConfig", smallRequest, outageAware(s.getAuthConfig))
	svc.Handle("GetCookie", smallRequest, outageAware(s.getCookie))
	svc.Handle("GetConfigData", smallRequest, outageAware(s.getConfigData))
	// The two answers that may be large are written as bytes.
	svc.HandleBulkRaw("GetRevisionIdList", filterRequest, outageAware(s.getRevisionIDList))
	svc.HandleBulkRaw("GetUpdateData", idsRequest, outageAware(s.getUpdateData))
	svc.Handle("GetUpdateDecryptionData", idsRequest, outageAware(s.getUpdateDecryptionData))
	svc.Handle("GetDeployments", smallRequest, outageAware(s.getDeployments))
	svc.Handle("DownloadFiles", idsRequest, outageAware(s.downloadFiles))
	return s.answers.wrap(svc)
}

// DssAuth returns the /DssAuthWebService/DssAuthWebService.asmx handler.
func (s *Services) DssAuth() http.Handler {
	svc := soap.NewService("DssAuthWebService", wsusss.NSDssAuth, soap.StyleASMX, s.admission, s.logger)
	svc.SetFaultActor() // [I] as ServerSyncWebService's; no DssAuth fault was recorded
	svc.Handle("GetAuthorizationCookie", smallRequest, outageAware(s.getAuthorizationCookie))
	return svc
}

// outageAware wraps an operation so that a store outage is answered with
// ServerBusy, which a DSS retries with backoff (MS-WSUSSS.md 2.4), instead
// of InternalServerError, after which it stops.
func outageAware[Response any](op func(context.Context, *soap.Request) (Response, error)) func(context.Context, *soap.Request) (Response, error) {
	return func(ctx context.Context, req *soap.Request) (Response, error) {
		resp, err := op(ctx, req)
		if err != nil && errors.Is(err, catalog.ErrUnavailable) {
			var none Response
			return none, &soap.Fault{Code: soap.ServerBusy, Message: "catalog store unavailable", Cause: err}
		}
		return resp, err
	}
}

// openSession checks the cookie element of a request as [MS-WSUSSS]
// 3.1.4.4-11 validate it: absent, empty or unreadable EncryptedData is
// InvalidCookie; a cookie another installation (another ServerInfo.ID)
// sealed is ServerChanged [I] (as MS-WUSP answers it: the DSS then drops
// its anchors, which name another catalog's changes); an expired one is
// InvalidCookie [I] (MS-WSUSSS has no CookieExpired; the DSS authenticates
// again on InvalidCookie); the protocol version it carries must be "1.y"
// (InvalidParameters when malformed, IncompatibleProtocolVersion when the
// major version is not 1). A cookie sealed with a key this server does not
// hold (another replica's) is logged at ERROR (cookie.LogMismatch) and
// answered InvalidCookie all the same.
func (s *Services) openSession(ctx context.Context, req *soap.Request) (cookie.Session, error) {
	raw, err := base64.StdEncoding.DecodeString(soap.Text(soap.Child(req.Body, "cookie"), "EncryptedData"))
	if err != nil || len(raw) == 0 {
		return cookie.Session{}, soap.Errorf(soap.InvalidCookie, "")
	}
	sess, err := s.sealer.OpenSession(raw)
	if err != nil {
		cookie.LogMismatch(ctx, s.logger, s.sealer, err)
		return cookie.Session{}, soap.Errorf(soap.InvalidCookie, "")
	}
	reqinfo.From(ctx).SetClientID(sess.ClientID)
	if sess.ServerID != s.info.ID {
		return cookie.Session{}, soap.Errorf(soap.ServerChanged, "")
	}
	if !s.now().Before(sess.Expires) {
		return cookie.Session{}, soap.Errorf(soap.InvalidCookie, "")
	}
	if err := checkProtocol(sess.ProtocolVersion); err != nil {
		return cookie.Session{}, err
	}
	return sess, nil
}

// checkProtocol validates a DSS protocol version ([MS-WSUSSS] 3.1.4.3):
// "x.y" with decimal parts, else InvalidParameters "protocolVersion"; x must
// be 1, else IncompatibleProtocolVersion.
func checkProtocol(v string) error {
	major, minor, ok := strings.Cut(strings.TrimSpace(v), ".")
	ma, err1 := strconv.ParseUint(major, 10, 16)
	_, err2 := strconv.ParseUint(minor, 10, 16)
	if !ok || err1 != nil || err2 != nil {
		return soap.BadParameter("protocolVersion")
	}
	if ma != 1 {
		return soap.Errorf(wsusss.IncompatibleProtocolVersion, "")
	}
	return nil
}

// identities reads an ArrayOfUpdateIdentity child name of parent: at most
// max entries (InvalidParameters name beyond, or when empty or malformed).
func identities(parent *etree.Element, name string, max int) ([]catalog.Identity, error) {
	arr := soap.Child(parent, name)
	if arr == nil {
		return nil, soap.BadParameter(name)
	}
	items := soap.Children(arr, "UpdateIdentity")
	if len(items) == 0 || len(items) > max {
		return nil, soap.BadParameter(name)
	}
	out := make([]catalog.Identity, 0, len(items))
	for _, it := range items {
		id, err := uuid.Parse(soap.Text(it, "UpdateID"))
		if err != nil {
			return nil, soap.BadParameter(name)
		}
		rev, err := strconv.ParseInt(soap.Text(it, "RevisionNumber"), 10, 32)
		if err != nil {
			return nil, soap.BadParameter(name)
		}
		out = append(out, catalog.Identity{UpdateID: id, RevisionNumber: int32(rev)})
	}
	return out, nil
}

// writeIdentity writes an UpdateIdentity-typed element (UpdateID,
// RevisionNumber), as in wsusss-GetRevisionIdListResponse-getconfig-categories.xml.
func writeIdentity(w soap.XMLWriter, name string, id catalog.Identity) {
	w.Start(name)
	w.Elem("UpdateID", id.UpdateID.String())
	w.Int("RevisionNumber", int64(id.RevisionNumber))
	w.End(name)
}
