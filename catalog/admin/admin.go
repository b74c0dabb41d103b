// Package admin is the server's minimal administration REST API: approving
// and declining updates, creating target groups and assigning computers to
// them (server-side targeting), looking at the catalog, the target groups
// and the computers that report to the server, and synchronization with an
// upstream server: its settings, the products and classifications offered,
// the history of runs and starting one (sync.go).
//
// The handler answers the full paths under /api/v1/, speaks JSON only and
// requires "Authorization: Bearer <token>" on every request but GET
// /api/v1/openapi.json, the API's OpenAPI 3 description (openapi.go): the bootstrap
// admin token or an API token whose role bounds what it may do; every
// change is recorded in the audit log (access.go). Every error is a
// JSON [Error] with a short code and a human reason; a 500 means the store
// failed, never that the request was bad, and a 503 with Retry-After that
// the store is unavailable (catalog.ErrUnavailable): the same request may
// succeed later. Failed authentications are logged (Warn, with the source
// address, at most once per source and window) and limited per source
// address: a source that fails too often gets 429 with Retry-After for a
// while (see authLimiter). The wire types in wire.go are the contract;
// cmd/wsusctl decodes them.
package admin

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/internal/requestid"
)

// Store is the part of catalog.Store the admin API uses.
type Store interface {
	Summaries(ctx context.Context) ([]catalog.Summary, error)
	TargetGroups(ctx context.Context) ([]catalog.TargetGroup, error)
	CreateTargetGroup(ctx context.Context, g catalog.TargetGroup) error
	SetApproval(ctx context.Context, a catalog.Approval) (catalog.Approval, error)
	Approvals(ctx context.Context) ([]catalog.Approval, error)
	SetDeclined(ctx context.Context, updateID uuid.UUID, declined bool) error
	UpdateStates(ctx context.Context) ([]catalog.UpdateState, error)
	SetComputerGroups(ctx context.Context, clientID string, groups []uuid.UUID) error
	Computer(ctx context.Context, clientID string) (catalog.Computer, error)
	Computers(ctx context.Context) ([]catalog.Computer, error)
	Events(ctx context.Context, clientID string) ([]catalog.Event, error)
	Statuses(ctx context.Context, clientID string) ([]catalog.UpdateStatus, error)
	// ChangeSequence tells when the views' catalog index is stale (views.go).
	ChangeSequence(ctx context.Context) (int64, error)
	// ComplianceStore answers the update and compliance views (views.go,
	// compliance.go).
	catalog.ComplianceStore
	// GroupAdmin renames and deletes groups, deletes computers (groupadmin.go).
	catalog.GroupAdmin
	// ConditionalWrites are the writes behind If-Match (etag.go).
	catalog.ConditionalWrites
	SyncSettings(ctx context.Context) (catalog.SyncSettings, error)
	SetSyncSettings(ctx context.Context, s catalog.SyncSettings) error
	SyncState(ctx context.Context) (catalog.SyncState, error)
	SyncRuns(ctx context.Context, limit int) ([]catalog.SyncRun, error)
	SyncRunsBefore(ctx context.Context, limit int, beforeID int64) ([]catalog.SyncRun, error)
	// AccessStore keeps API tokens and the audit log (access.go).
	catalog.AccessStore
	// RuleStore keeps approval rules, rings and auto-decline (rules.go).
	catalog.RuleStore
	// ServerInfo is the installation's identity (server.go).
	ServerInfo(ctx context.Context) (catalog.ServerInfo, error)
}

var _ Store = catalog.Store(nil)

// Prefix is the path the handler is mounted at; it answers full paths.
const Prefix = "/api/v1/"

// ApprovedBy is the catalog.Approval.By recorded for approvals set through
// this API when the request names no token (the handler is used without
// authentication, as in tests); otherwise By is the token's name, as the
// audit log's actor (access.go).
const ApprovedBy = "admin-api"

// maxBodyBytes bounds request bodies.
const maxBodyBytes = 1 << 20

// unavailableRetryAfter is the Retry-After (seconds) of a 503 when the
// catalog store is unavailable.
const unavailableRetryAfter = "5"

// handler serves the admin API over one store.
type handler struct {
	store   Store
	log     *slog.Logger
	mux     *routeMux         // records the patterns registered (openapi.go)
	digest  [sha256.Size]byte // of the admin token
	limiter *authLimiter
	sync    SyncStarter // nil when this process runs no synchronizations
	tokens  *tokenCache
	views   *views // the update and compliance views (views.go)
}

// Options configure the admin API handler; only Token is required.
type Options struct {
	// Token is the bearer token requests must carry; empty refuses every
	// request with 503.
	Token string
	// Logger receives store failures and failed authentications; nil
	// discards them.
	Logger *slog.Logger
	// FailureLimit failed authentications from one source within
	// FailureWindow block it for BlockFor; zero means DefaultFailureLimit,
	// DefaultFailureWindow and DefaultBlockFor.
	FailureLimit  int
	FailureWindow time.Duration
	BlockFor      time.Duration
	// MaxSources bounds the sources whose failures are tracked; zero means
	// DefaultMaxSources.
	MaxSources int
	// Now is the limiter's clock; nil means time.Now.
	Now func() time.Time
	// Sync starts a synchronization now (POST /api/v1/sync/runs); nil
	// answers that request 503: this process runs none. Everything else
	// about synchronization is read from and written to the store.
	Sync SyncStarter
	// Rules runs and plans the approval rules (POST /api/v1/rules/run, a
	// ring's status); nil answers those 503: this process runs no rules.
	Rules RulesRunner
	// Server is what GET /api/v1/server tells about this process beside
	// its build (server.go).
	Server ServerFacts
	// Storage tells the content store's use (GET /api/v1/storage,
	// insights.go); nil answers that request 503: this process does not
	// measure it.
	Storage StorageMeter
}

// New returns the admin API handler over store with the default limits.
// Requests must carry "Authorization: Bearer <token>"; with an empty token
// every request is refused with 503. A nil logger discards; store failures
// are logged on it.
func New(store Store, token string, logger *slog.Logger) http.Handler {
	return NewWith(store, Options{Token: token, Logger: logger})
}

// NewWith returns the admin API handler over store configured by opts.
func NewWith(store Store, opts Options) http.Handler {
	logger, token := opts.Logger, opts.Token
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = slog.New(requestid.NewLogHandler(logger.Handler()))
	if token == "" {
		return requestid.Handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			writeError(w, http.StatusServiceUnavailable, "admin_disabled",
				"admin API disabled: no admin token configured")
		}))
	}
	h := &handler{store: store, log: logger, mux: &routeMux{ServeMux: http.NewServeMux()}, digest: sha256.Sum256([]byte(token)), limiter: newAuthLimiter(opts), sync: opts.Sync}
	h.tokens = &tokenCache{entries: map[[32]byte]cachedToken{}, now: time.Now}
	h.routeAccess()
	h.route(OpenAPIPath, map[string]http.HandlerFunc{http.MethodGet: serveOpenAPI})
	h.route("/api/v1/approvals", map[string]http.HandlerFunc{
		http.MethodGet:  h.listApprovals,
		http.MethodPost: h.setApproval,
	})
	h.route("/api/v1/computers", map[string]http.HandlerFunc{http.MethodGet: h.listComputers})
	h.route("/api/v1/computers/{id}", map[string]http.HandlerFunc{http.MethodGet: h.getComputer, http.MethodDelete: h.deleteComputer})
	h.route("/api/v1/computers/{id}/groups", map[string]http.HandlerFunc{http.MethodPut: h.setComputerGroups})
	h.route("/api/v1/updates", map[string]http.HandlerFunc{http.MethodGet: h.listUpdates})
	h.route("/api/v1/updates/{id}/decline", map[string]http.HandlerFunc{http.MethodPost: h.declineUpdate})
	h.route("/api/v1/updates/{id}/undecline", map[string]http.HandlerFunc{http.MethodPost: h.undeclineUpdate})
	h.route("/api/v1/groups", map[string]http.HandlerFunc{
		http.MethodGet:  h.listGroups,
		http.MethodPost: h.createGroup,
	})
	h.routeGroupAdmin()
	h.routeRules(opts.Rules)
	h.routeViews()
	h.route("/api/v1/sync", map[string]http.HandlerFunc{http.MethodGet: h.getSync})
	h.route("/api/v1/sync/settings", map[string]http.HandlerFunc{
		http.MethodGet: h.getSyncSettings,
		http.MethodPut: h.putSyncSettings,
	})
	h.route("/api/v1/sync/runs", map[string]http.HandlerFunc{
		http.MethodGet:  h.listSyncRuns,
		http.MethodPost: h.startSyncRun,
	})
	h.route("/api/v1/sync/runs/{id}", map[string]http.HandlerFunc{http.MethodGet: h.getSyncRun})
	h.route("/api/v1/products", map[string]http.HandlerFunc{http.MethodGet: h.listProducts})
	h.route("/api/v1/classifications", map[string]http.HandlerFunc{http.MethodGet: h.listClassifications})
	h.routeServer(store, opts.Server)
	h.routeInsights(opts.Storage)
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint: "+r.URL.Path)
	})
	return h
}

// route registers one handler per method on path, and a method-less pattern
// on the same path that answers the other methods with a JSON 405 (the
// ServeMux's own 405 is plain text). A GET pattern also serves HEAD.
func (h *handler) route(path string, methods map[string]http.HandlerFunc) {
	allowed := make([]string, 0, len(methods)+1)
	for method, fn := range methods {
		h.mux.HandleFunc(method+" "+path, h.guard(method, path, fn))
		allowed = append(allowed, method)
		if method == http.MethodGet {
			allowed = append(allowed, http.MethodHead)
		}
	}
	slices.Sort(allowed)
	allow := strings.Join(allowed, ", ")
	h.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed",
			r.Method+" is not allowed on "+r.URL.Path+"; allowed: "+allow)
	})
}

// ServeHTTP authenticates the request and routes it.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The server's router has bound the request ID already; bound here
	// too, so that the handler used alone answers and logs it as well.
	r = requestid.Bind(w, r)
	if r.URL.Path == OpenAPIPath && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		// The API's description is no secret (openapi.go).
		serveOpenAPI(w, r)
		return
	}
	src := sourceOf(r.RemoteAddr)
	if left, blocked := h.limiter.blocked(src); blocked {
		secs := int((left + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeError(w, http.StatusTooManyRequests, "too_many_failures",
			fmt.Sprintf("too many failed authentications from this address; retry in %d seconds", secs))
		return
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		h.authFailed(r, src, "missing bearer token")
		w.Header().Set("WWW-Authenticate", `Bearer realm="wsus-admin"`)
		writeError(w, http.StatusUnauthorized, "unauthorized",
			"missing bearer token: send Authorization: Bearer <admin token>")
		return
	}
	p, known, err := h.authenticate(r.Context(), strings.TrimSpace(token))
	if err != nil {
		h.storeFailed(w, r, "AccessTokenByHash", err)
		return
	}
	if !known {
		h.authFailed(r, src, "invalid bearer token")
		w.Header().Set("WWW-Authenticate", `Bearer realm="wsus-admin", error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, "unauthorized", "invalid bearer token")
		return
	}
	h.limiter.success(src)
	h.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
}

// authFailed counts a failed authentication from src and logs the first
// of its window and the one that blocks it.
func (h *handler) authFailed(r *http.Request, src netip.Prefix, reason string) {
	first, blocked := h.limiter.failure(src)
	if first {
		h.log.WarnContext(r.Context(), "admin: authentication failed", "source", remoteHost(r),
			"reason", reason, "method", r.Method, "path", r.URL.Path)
	}
	if blocked {
		h.log.WarnContext(r.Context(), "admin: too many failed authentications; source blocked",
			"source", remoteHost(r), "failures", h.limiter.limit, "within", h.limiter.window.String(), "blocked_for", h.limiter.block.String())
	}
}

// remoteHost is the address of the client's end of the connection, without
// its port.
func remoteHost(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// storeFailed answers a store error: 409 for a conflict and 400 for input
// the store refused (both with the store's reason), 412 for a conditional
// write that found its resource changed, 503 with Retry-After
// when the store is unavailable, 500 otherwise (logged).
func (h *handler) storeFailed(w http.ResponseWriter, r *http.Request, op string, err error) {
	switch {
	case errors.Is(err, catalog.ErrConflict):
		writeError(w, http.StatusConflict, "conflict", err.Error())
		return
	case errors.Is(err, catalog.ErrInvalid):
		writeError(w, http.StatusBadRequest, "invalid", err.Error())
		return
	case errors.Is(err, catalog.ErrPreconditionFailed):
		// A conditional write (If-Match, etag.go) found the resource
		// changed since the handler compared it.
		preconditionFailed(w, "the resource changed while this request was being served: "+err.Error()+
			"; read it again (GET) and retry with its ETag")
		return
	}
	if errors.Is(err, catalog.ErrUnavailable) {
		h.log.WarnContext(r.Context(), "admin: catalog store unavailable",
			"op", op, "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", unavailableRetryAfter)
		writeError(w, http.StatusServiceUnavailable, "store_unavailable", "catalog store unavailable")
		return
	}
	h.log.ErrorContext(r.Context(), "admin: store failure",
		"op", op, "method", r.Method, "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, "store_error", "the catalog store failed; see the server log")
}
