// Package admin is the server's minimal administration REST API: approving
// and declining updates, creating target groups and assigning computers to
// them (server-side targeting), and looking at the catalog, the target
// groups and the computers that report to the server.
//
// The handler answers the full paths under /api/v1/, speaks JSON only and
// requires "Authorization: Bearer <token>" on every request. Every error is a
// JSON [Error] with a short code and a human reason; a 500 means the store
// failed, never that the request was bad. The wire types in wire.go are the
// contract; cmd/wsusctl decodes them.
package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"

	"wsus/catalog"
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
}

// Prefix is the path the handler is mounted at; it answers full paths.
const Prefix = "/api/v1/"

// ApprovedBy is the catalog.Approval.By recorded for approvals set through
// this API (there is one admin token, so there is no finer identity).
const ApprovedBy = "admin-api"

// maxBodyBytes bounds request bodies.
const maxBodyBytes = 1 << 20

// handler serves the admin API over one store.
type handler struct {
	store  Store
	log    *slog.Logger
	mux    *http.ServeMux
	digest [sha256.Size]byte // of the admin token
}

// New returns the admin API handler over store. Requests must carry
// "Authorization: Bearer <token>"; with an empty token every request is
// refused with 503. A nil logger discards; store failures are logged on it.
func New(store Store, token string, logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if token == "" {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			writeError(w, http.StatusServiceUnavailable, "admin_disabled",
				"admin API disabled: no admin token configured")
		})
	}
	h := &handler{store: store, log: logger, mux: http.NewServeMux(), digest: sha256.Sum256([]byte(token))}
	h.route("/api/v1/approvals", map[string]http.HandlerFunc{
		http.MethodGet:  h.listApprovals,
		http.MethodPost: h.setApproval,
	})
	h.route("/api/v1/computers", map[string]http.HandlerFunc{http.MethodGet: h.listComputers})
	h.route("/api/v1/computers/{id}", map[string]http.HandlerFunc{http.MethodGet: h.getComputer})
	h.route("/api/v1/computers/{id}/groups", map[string]http.HandlerFunc{http.MethodPut: h.setComputerGroups})
	h.route("/api/v1/updates", map[string]http.HandlerFunc{http.MethodGet: h.listUpdates})
	h.route("/api/v1/updates/{id}/decline", map[string]http.HandlerFunc{http.MethodPost: h.declineUpdate})
	h.route("/api/v1/updates/{id}/undecline", map[string]http.HandlerFunc{http.MethodPost: h.undeclineUpdate})
	h.route("/api/v1/groups", map[string]http.HandlerFunc{
		http.MethodGet:  h.listGroups,
		http.MethodPost: h.createGroup,
	})
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
		h.mux.HandleFunc(method+" "+path, fn)
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
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="wsus-admin"`)
		writeError(w, http.StatusUnauthorized, "unauthorized",
			"missing bearer token: send Authorization: Bearer <admin token>")
		return
	}
	// Comparing digests keeps the comparison constant-time whatever the
	// length of the presented token.
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	if subtle.ConstantTimeCompare(got[:], h.digest[:]) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="wsus-admin", error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, "unauthorized", "invalid bearer token")
		return
	}
	h.mux.ServeHTTP(w, r)
}

// storeFailed logs a store error and answers 500.
func (h *handler) storeFailed(w http.ResponseWriter, r *http.Request, op string, err error) {
	h.log.ErrorContext(r.Context(), "admin: store failure",
		"op", op, "method", r.Method, "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, "store_error", "the catalog store failed; see the server log")
}
