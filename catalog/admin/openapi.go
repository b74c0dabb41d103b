package admin

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
	"strings"
	"time"
)

// OpenAPIPath is where the handler serves its OpenAPI 3 description.
//
// It is served without a token, to anyone who reaches the admin API: the
// document is the one in this repository, names no data of the server,
// and tools (Swagger UI, client generators) fetch it without credentials.
// Every other path still needs a token.
const OpenAPIPath = "/api/v1/openapi.json"

// openAPI is the API's OpenAPI 3.1 description. openapi_test.go checks
// that it describes exactly the routes the handler registers and
// regenerates it (go test ./catalog/admin -run TestOpenAPI -update).
//
//go:embed openapi.json
var openAPI []byte

// openAPIETag is the strong ETag of openAPI.
var openAPIETag = func() string {
	sum := sha256.Sum256(openAPI)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}()

// serveOpenAPI serves GET and HEAD /api/v1/openapi.json.
func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", openAPIETag)
	// ServeContent answers HEAD, If-None-Match (304) and ranges.
	http.ServeContent(w, r, "openapi.json", time.Time{}, bytes.NewReader(openAPI))
}

// routeMux is the handler's ServeMux, recording every pattern registered
// with a method ("GET /api/v1/groups"), however it is registered (route,
// or HandleFunc directly): the OpenAPI test compares them with the
// document.
type routeMux struct {
	*http.ServeMux
	patterns []string
}

// Handle registers h for pattern and records it.
func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.ServeMux.Handle(pattern, h)
	m.record(pattern)
}

// HandleFunc registers fn for pattern and records it.
func (m *routeMux) HandleFunc(pattern string, fn func(http.ResponseWriter, *http.Request)) {
	m.ServeMux.HandleFunc(pattern, fn)
	m.record(pattern)
}

func (m *routeMux) record(pattern string) {
	if method, path, ok := strings.Cut(pattern, " "); ok && method != "" {
		m.patterns = append(m.patterns, method+" "+strings.TrimSpace(path))
	}
}
