package admin

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"wsus/catalog"
)

// This file reads the query parameters of the list views (views.go,
// compliance.go). Every parameter a view does not know is refused, so that
// a typo never silently lists everything, and every refusal is 400
// bad_query with a reason that names the parameter and its value.

// queryReader reads one request's query parameters; the first problem is
// kept in err and later reads do nothing.
type queryReader struct {
	q   url.Values
	err *requestError
}

// readQuery checks that q names only known parameters and that none but
// those in lists is given more than once.
func readQuery(q url.Values, known []string, lists ...string) *queryReader {
	p := &queryReader{q: q}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		switch {
		case len(known) == 0:
			p.fail("unknown query parameter %q: this resource takes none", k)
		case !slices.Contains(known, k):
			p.fail("unknown query parameter %q; known: %s", k, strings.Join(known, ", "))
		case len(q[k]) > 1 && !slices.Contains(lists, k):
			p.fail("query parameter %q is given %d times", k, len(q[k]))
		}
		if p.err != nil {
			break
		}
	}
	return p
}

func (p *queryReader) fail(format string, args ...any) {
	if p.err == nil {
		p.err = badRequest("bad_query", format, args...)
	}
}

// str returns the parameter's value, trimmed ("" when absent).
func (p *queryReader) str(name string) string { return strings.TrimSpace(p.q.Get(name)) }

// maxTextParam bounds a search text, in characters.
const maxTextParam = 256

// text returns a search text: UTF-8 without control characters, at most
// maxTextParam characters.
func (p *queryReader) text(name string) string {
	s := p.str(name)
	switch {
	case p.err != nil:
		return ""
	case !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxTextParam:
		p.fail("%s is not UTF-8 text of at most %d characters", name, maxTextParam)
	case strings.ContainsFunc(s, unicode.IsControl):
		p.fail("%s %q holds control characters", name, s)
	}
	return s
}

// list returns every value of a repeatable parameter, each also split at
// commas when split is set, trimmed, empty ones dropped.
func (p *queryReader) list(name string, split bool) []string {
	var out []string
	for _, v := range p.q[name] {
		parts := []string{v}
		if split {
			parts = strings.Split(v, ",")
		}
		for _, s := range parts {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// boolean returns the parameter as true or false, nil when absent.
func (p *queryReader) boolean(name string) *bool {
	s := p.str(name)
	if s == "" || p.err != nil {
		return nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		p.fail("%s %q is not true or false", name, s)
		return nil
	}
	return &b
}

// integer returns the parameter as a number from lo to hi, def when absent.
func (p *queryReader) integer(name string, lo, hi, def int) int {
	s := p.str(name)
	if s == "" || p.err != nil {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		p.fail("%s %q is not a number from %d to %d", name, s, lo, hi)
		return def
	}
	return n
}

// date returns the parameter as an RFC 3339 time or a date (YYYY-MM-DD,
// midnight UTC); zero when absent.
func (p *queryReader) date(name string) time.Time {
	s := p.str(name)
	if s == "" || p.err != nil {
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil && t.Year() >= 1 {
		return t
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil && t.Year() >= 1 {
		return t
	}
	p.fail("%s %q is not an RFC 3339 time or a date (YYYY-MM-DD)", name, s)
	return time.Time{}
}

// oneOf returns the parameter, lowered, if it is one of values; def when
// absent.
func (p *queryReader) oneOf(name, def string, values ...string) string {
	s := strings.ToLower(p.str(name))
	if s == "" || p.err != nil {
		return def
	}
	if !slices.Contains(values, s) {
		p.fail("%s %q is not one of %s", name, p.str(name), strings.Join(values, ", "))
		return def
	}
	return s
}

// page reads limit (1 to catalog.MaxPageSize, default
// catalog.DefaultPageSize) and offset (0 or more).
func (p *queryReader) page() catalog.Page {
	return catalog.Page{
		Limit:  p.integer("limit", 1, catalog.MaxPageSize, catalog.DefaultPageSize),
		Offset: p.integer("offset", 0, 1<<31-1, 0),
	}
}

// desc reads order (asc or desc); def is the order without it.
func (p *queryReader) desc(def bool) bool {
	switch p.oneOf("order", "", "asc", "desc") {
	case "asc":
		return false
	case "desc":
		return true
	}
	return def
}

// compliances reads state: compliance classes (installed, needed, failed,
// not_applicable, no_status), repeated or comma-separated.
func (p *queryReader) compliances(name string) []catalog.Compliance {
	var out []catalog.Compliance
	for _, s := range p.list(name, true) {
		c := catalog.Compliance(strings.ToLower(s))
		if !slices.Contains(catalog.Compliances, c) {
			names := make([]string, len(catalog.Compliances))
			for i, c := range catalog.Compliances {
				names[i] = string(c)
			}
			p.fail("%s %q is not one of %s", name, s, strings.Join(names, ", "))
			return nil
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// notReportedSince reads not_reported_days (0 to 36500, default def) as
// the time that many days before now, to the second.
func (p *queryReader) notReportedSince(now time.Time, def int) time.Time {
	days := p.integer("not_reported_days", 0, 36500, def)
	return now.Add(-time.Duration(days) * 24 * time.Hour).UTC().Truncate(time.Second)
}

// csv reads format (json or csv); without it, a request whose Accept
// names text/csv (and not application/json first) asks for CSV.
func (p *queryReader) csv(r *http.Request) bool {
	switch p.oneOf("format", "", "json", "csv") {
	case "csv":
		return true
	case "json":
		return false
	}
	return acceptsCSV(r.Header.Get("Accept"))
}

// acceptsCSV reports whether an Accept header prefers text/csv: it names
// text/csv before any application/json.
func acceptsCSV(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt, _, _ := strings.Cut(part, ";")
		switch strings.ToLower(strings.TrimSpace(mt)) {
		case "text/csv":
			return true
		case "application/json":
			return false
		}
	}
	return false
}

// group resolves the group a parameter names (a name or an ID); the zero
// group when absent.
func (p *queryReader) group(name string, groups []catalog.TargetGroup) catalog.TargetGroup {
	s := p.str(name)
	if s == "" || p.err != nil {
		return catalog.TargetGroup{}
	}
	g, ok := findGroup(groups, s)
	if !ok {
		p.fail("%s %q: no target group is named or has that ID", name, s)
	}
	return g
}

// known joins parameter lists.
func known(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// The parameters shared by paged lists and by exports.
var (
	pageParams   = []string{"limit", "offset"}
	formatParams = []string{"format"}
)
