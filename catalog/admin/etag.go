package admin

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
)

// This file is the API's optimistic concurrency (RFC 9110 sections 8.8.3
// and 13.1.1), for every mutable resource (issue 11):
//
//   - GET of a resource answers a strong ETag: the SHA-256 (first 16
//     bytes, hex) of the JSON representation it answers, so equal
//     representations have equal tags on every replica and a change of
//     anything shown changes it.
//   - PATCH, PUT and DELETE with If-Match compare it with the tag of the
//     resource as it is now: no listed tag matches → 412
//     {"error": "precondition_failed"}, nothing changed. "If-Match: *" and
//     no If-Match write unconditionally, as before. Weak tags (W/"…")
//     never match: If-Match compares strongly.
//   - The check and the write do not race, even across replicas: a
//     request with If-Match passes the representation it compared to the
//     store's conditional write (catalog.ConditionalWrites), which
//     compares again inside the write's transaction with the row locked.
//     Of two clients that read the same tag and both write with it,
//     exactly one succeeds; the other gets 412. The design is
//     compare-and-swap on the stored values rather than a version column:
//     no migration, and writes that never send If-Match (wsusctl, older
//     scripts, wsusd at start) need not bump anything. A resource whose
//     representation cannot change (a token, until revoked) needs no
//     conditional write: the handler's comparison suffices.
//
// A new mutable resource (rules, rings) uses it thus: GET answers with
// writeTagged; the writer reads the resource, calls checkIfMatch with its
// representation and, when the answer is conditional, writes through a
// store method that fails with catalog.ErrPreconditionFailed when the
// stored resource is no longer the one read (storeFailed answers that
// 412), then answers the new representation with writeTagged.

// etagOf is the strong entity tag of v's JSON representation, quoted.
func etagOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own wire types are tagged; they always marshal.
		return `"unencodable"`
	}
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

// writeTagged answers v as writeJSON does, with its ETag.
func writeTagged(w http.ResponseWriter, status int, v any) {
	w.Header().Set("ETag", etagOf(v))
	writeJSON(w, status, v)
}

// ifMatch is the If-Match of a request.
type ifMatch struct {
	// conditional: the request listed entity tags (not "*", not absent);
	// the write must then be conditional.
	conditional bool
	tags        []string
}

// parseIfMatch reads r's If-Match headers: absent or "*" is
// unconditional; otherwise the comma-separated tags, as sent.
func parseIfMatch(r *http.Request) ifMatch {
	values := r.Header.Values("If-Match")
	var m ifMatch
	for _, v := range values {
		for _, tag := range strings.Split(v, ",") {
			tag = strings.TrimSpace(tag)
			switch tag {
			case "":
			case "*":
				return ifMatch{}
			default:
				m.tags = append(m.tags, tag)
			}
		}
	}
	m.conditional = len(m.tags) > 0
	return m
}

// matches reports whether the tags admit etag (strong comparison).
func (m ifMatch) matches(etag string) bool {
	if !m.conditional {
		return true
	}
	for _, t := range m.tags {
		if t == etag && !strings.HasPrefix(t, "W/") {
			return true
		}
	}
	return false
}

// checkIfMatch compares r's If-Match with the tag of current, the
// resource's representation as it is now. It answers 412 (with the
// current ETag) and returns false when no tag matches; otherwise it
// returns whether the write must be conditional.
func checkIfMatch(w http.ResponseWriter, r *http.Request, current any) (conditional, ok bool) {
	m := parseIfMatch(r)
	if !m.conditional {
		return false, true
	}
	etag := etagOf(current)
	if m.matches(etag) {
		return true, true
	}
	w.Header().Set("ETag", etag)
	preconditionFailed(w, "If-Match "+strings.Join(m.tags, ", ")+" does not match the current ETag "+etag+
		"; read the resource again (GET) and retry with its ETag")
	return false, false
}

// preconditionFailed answers 412 precondition_failed.
func preconditionFailed(w http.ResponseWriter, reason string) {
	writeError(w, http.StatusPreconditionFailed, "precondition_failed", reason)
}
