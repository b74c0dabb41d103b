// Package requestid gives every HTTP request an ID that its answer and its
// log lines carry, so that a complaint ("request abc123 failed") leads to
// the log lines of that one request.
//
// What callers may rely on:
//
//   - Bind (and Handler, which calls it) sets the response header
//     X-Request-Id on every answer before the next handler runs, and puts
//     the same ID in the request's context (From reads it).
//   - An incoming X-Request-Id is kept when it is sane: 1 to MaxLen
//     characters of [A-Za-z0-9._:-], so that a proxy in front (nginx's
//     $request_id, an ingress) and the server log the same ID. Anything
//     else (too long, other characters, several headers) is replaced by a
//     fresh ID; the client's text never reaches the log unchecked.
//   - A fresh ID is 16 random bytes in lower-case hex (32 characters).
//   - A slog.Handler wrapped by NewLogHandler adds the attribute
//     request_id to every record logged with a context that carries an ID
//     (the *Context methods of slog.Logger); other records pass unchanged.
package requestid

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
)

// Header is the request and response header that carries the ID.
const Header = "X-Request-Id"

// MaxLen bounds the length of an incoming ID that is kept.
const MaxLen = 128

// LogKey is the attribute a wrapped log handler adds.
const LogKey = "request_id"

type contextKey struct{}

// NewContext returns ctx carrying id.
func NewContext(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, contextKey{}, id)
}

// From returns the ID ctx carries, "" when none.
func From(ctx context.Context) string {
	id, _ := ctx.Value(contextKey{}).(string)
	return id
}

// Valid reports whether id may be kept as a request ID: 1 to MaxLen
// characters of letters, digits, '.', '_', ':' and '-'.
func Valid(id string) bool {
	if id == "" || len(id) > MaxLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.', c == '_', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}

// New returns a fresh ID: 16 random bytes in hex.
func New() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// Bind picks the ID of r (its sane X-Request-Id, else a fresh one), sets
// it as w's X-Request-Id and returns r with the ID in its context. A
// request whose context already carries an ID keeps it (Bind twice is
// harmless).
func Bind(w http.ResponseWriter, r *http.Request) *http.Request {
	if id := From(r.Context()); id != "" {
		w.Header().Set(Header, id)
		return r
	}
	id := New()
	if in := r.Header.Values(Header); len(in) == 1 && Valid(in[0]) {
		id = in[0]
	}
	w.Header().Set(Header, id)
	return r.WithContext(NewContext(r.Context(), id))
}

// Handler returns next behind Bind: every answer carries X-Request-Id and
// next sees the ID in the request's context.
func Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, Bind(w, r))
	})
}

// logHandler adds request_id to the records of contexts that carry one.
type logHandler struct {
	next slog.Handler
}

// NewLogHandler returns next adding the attribute request_id to every
// record whose context carries an ID. A nil next is refused by panicking,
// as slog.New does.
func NewLogHandler(next slog.Handler) slog.Handler {
	if next == nil {
		panic("requestid: nil slog.Handler")
	}
	if h, ok := next.(*logHandler); ok {
		return h // already wrapped
	}
	return &logHandler{next: next}
}

// Enabled reports whether the wrapped handler handles level.
func (h *logHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle adds request_id to rec when ctx carries an ID and passes it on.
func (h *logHandler) Handle(ctx context.Context, rec slog.Record) error {
	if id := From(ctx); id != "" {
		rec = rec.Clone()
		rec.AddAttrs(slog.String(LogKey, id))
	}
	return h.next.Handle(ctx, rec)
}

// WithAttrs returns the handler with attrs added to the wrapped one.
func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logHandler{next: h.next.WithAttrs(attrs)}
}

// WithGroup returns the handler with the group opened on the wrapped one.
// A request_id added later lands in that group, as every attribute of the
// record does.
func (h *logHandler) WithGroup(name string) slog.Handler {
	return &logHandler{next: h.next.WithGroup(name)}
}
