package admin

import (
	"context"
	"net/http"
	"time"

	"wsus/catalog"
	"wsus/internal/version"
)

// ServerPath is the route of the server's description.
const ServerPath = "/api/v1/server"

// ServerFacts is what the process serving the API tells about itself in
// GET /api/v1/server beside its build and the installation's identity:
// server.New sets them from its configuration. Zero values are answered
// as they are.
type ServerFacts struct {
	// CatalogEngine is "postgresql" or "embedded".
	CatalogEngine string
	// ContentStore is "s3" or "filesystem".
	ContentStore string
	// StartedAt is when this process started serving.
	StartedAt time.Time
}

// The values of ServerFacts.CatalogEngine and ServerFacts.ContentStore.
const (
	CatalogPostgreSQL = "postgresql"
	CatalogEmbedded   = "embedded"
	ContentS3         = "s3"
	ContentFilesystem = "filesystem"
)

// ServerInfo is the answer of GET /api/v1/server (viewer role): which build
// this replica runs, which installation it belongs to and what it runs on.
// Behind a load balancer each replica answers for itself; ServerID is
// shared by every replica of one catalog.
type ServerInfo struct {
	// Version, Commit, Modified and GoVersion are the build
	// (internal/version; `wsusd version` prints the same).
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Modified  bool   `json:"modified,omitempty"`
	GoVersion string `json:"go_version"`
	// ServerID is the installation's identity (the catalog's ServerInfo
	// ID), the one client cookies carry.
	ServerID string `json:"server_id"`
	// Catalog is the catalog engine: "postgresql" or "embedded".
	Catalog string `json:"catalog"`
	// Content is the content store: "s3" or "filesystem".
	Content string `json:"content"`
	// StartedAt is when this process started serving (RFC 3339, UTC).
	StartedAt time.Time `json:"started_at"`
}

// serverIdentity is the part of the store GET /api/v1/server reads.
type serverIdentity interface {
	ServerInfo(ctx context.Context) (catalog.ServerInfo, error)
}

// routeServer registers GET /api/v1/server.
func (h *handler) routeServer(store serverIdentity, facts ServerFacts) {
	h.route(ServerPath, map[string]http.HandlerFunc{http.MethodGet: func(w http.ResponseWriter, r *http.Request) {
		id, err := store.ServerInfo(r.Context())
		if err != nil {
			h.storeFailed(w, r, "ServerInfo", err)
			return
		}
		b := version.Get()
		writeJSON(w, http.StatusOK, ServerInfo{
			Version: b.Version, Commit: b.Commit, Modified: b.Modified, GoVersion: b.GoVersion,
			ServerID: id.ID.String(), Catalog: facts.CatalogEngine, Content: facts.ContentStore,
			StartedAt: facts.StartedAt.UTC(),
		})
	}})
}
