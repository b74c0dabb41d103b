package console

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
)

// pages holds one template set per page: the layout and the partials
// (templates/layout.html, templates/partials*.html) with the page's own
// file, which defines "content" (and may define fragments a script
// reloads, rendered by request.fragment).
type pages struct {
	sets map[string]*template.Template
}

// parsePages parses every template once, at New: a template error fails
// the server's start, never a request.
func parsePages() (*pages, error) {
	base, err := template.New("base").Funcs(funcs()).ParseFS(templateFS, "templates/layout.html", "templates/partials*.html")
	if err != nil {
		return nil, fmt.Errorf("console: templates: %w", err)
	}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("console: templates: %w", err)
	}
	p := &pages{sets: map[string]*template.Template{}}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" || strings.HasPrefix(name, "partials") {
			continue
		}
		set, err := base.Clone()
		if err == nil {
			set, err = set.ParseFS(templateFS, f)
		}
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", f, err)
		}
		p.sets[name] = set
	}
	return p, nil
}

// view is what the layout renders: the page's own data is Page.
type view struct {
	Title string
	// Nav is the navigation entry to mark as current.
	Nav     string
	Session *session
	// CSRF is the session's form token ("" when signed out); every form
	// carries it ({{template "csrf" $}}).
	CSRF    string
	Flashes []flash
	Page    any
}

// flash is a message shown once at the top of the next page: the outcome
// of the change a form made.
type flash struct {
	// Kind is "ok" or "error".
	Kind string `json:"k"`
	Text string `json:"t"`
	// Secret is shown once beside Text in a field to copy (a new token's
	// secret).
	Secret string `json:"s,omitempty"`
}

func flashOK(text string) flash    { return flash{Kind: "ok", Text: text} }
func flashError(text string) flash { return flash{Kind: "error", Text: text} }

// flashCookie carries a flash across the redirect after a POST; it is
// sealed, so nobody but the server can put words in the console's mouth.
const (
	flashCookie  = "wsus_console_flash"
	flashPurpose = "console-flash-v1"
)

// maxFlashText bounds a flash's text, so that its sealed cookie stays
// under the 4 KiB browsers keep (a longer one would be dropped, and the
// person would see no feedback at all).
const maxFlashText = 2000

// redirect answers 303 to a console path with f shown on the next page.
func (c *Console) redirect(w http.ResponseWriter, r *http.Request, to string, f flash) {
	if len(f.Text) > maxFlashText {
		f.Text = strings.ToValidUTF8(f.Text[:maxFlashText], "") + "…"
	}
	if sealed, err := c.sealer.Seal(flashPurpose, f); err == nil {
		setCookie(w, r, flashCookie, base64.RawURLEncoding.EncodeToString(sealed), 60)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// takeFlash returns the flash r carries, clearing its cookie.
func (c *Console) takeFlash(w http.ResponseWriter, r *http.Request) []flash {
	ck, err := r.Cookie(flashCookie)
	if err != nil {
		return nil
	}
	setCookie(w, r, flashCookie, "", -1)
	raw, err := base64.RawURLEncoding.DecodeString(ck.Value)
	if err != nil {
		return nil
	}
	var f flash
	if c.sealer.Open(flashPurpose, raw, &f) != nil {
		return nil
	}
	return []flash{f}
}

// renderPage renders page name in the layout with status. The page is
// rendered into memory first, so a template failure answers a clean 500.
func (c *Console) renderPage(w http.ResponseWriter, r *http.Request, s *session, status int, name, title, nav string, data any, extra ...flash) {
	set, ok := c.pages.sets[name]
	if !ok {
		c.log.ErrorContext(r.Context(), "console: no template", "page", name)
		http.Error(w, "console: no page "+name, http.StatusInternalServerError)
		return
	}
	v := view{Title: title, Nav: nav, Session: s, Flashes: append(c.takeFlash(w, r), extra...), Page: data}
	if s != nil {
		v.CSRF = s.CSRF
	}
	var buf bytes.Buffer
	if err := set.ExecuteTemplate(&buf, "layout", v); err != nil {
		c.log.ErrorContext(r.Context(), "console: render", "page", name, "err", err)
		http.Error(w, "console: the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorData is the error page's data.
type errorData struct {
	Status int
	Reason string
}

// renderError renders the error page: the status and the reason, as the
// API gave it.
func (c *Console) renderError(w http.ResponseWriter, r *http.Request, s *session, status int, reason string) {
	c.renderPage(w, r, s, status, "error", http.StatusText(status), "", errorData{Status: status, Reason: reason})
}

// request is one request of a signed-in person to a console page.
type request struct {
	c *Console
	w http.ResponseWriter
	r *http.Request
	s *session
}

// api makes one API call with the person's token (Console.call).
func (q *request) api(method, path string, query map[string][]string, body, out any) error {
	_, err := q.c.call(q.r, q.s.Token, apiCall{Method: method, Path: path, Query: query, Body: body, Out: out})
	return err
}

// tagged makes one API call as api does (no query), sending ifMatch as
// If-Match when not "", and returns the answer's ETag: a page reads a
// resource's ETag into its form, and the form's write sends it back.
func (q *request) tagged(method, path, ifMatch string, body, out any) (etag string, err error) {
	return q.c.call(q.r, q.s.Token, apiCall{Method: method, Path: path, Body: body, Out: out, IfMatch: ifMatch})
}

// get reads path (with query) from the API into out.
func (q *request) get(path string, query map[string][]string, out any) error {
	return q.api(http.MethodGet, path, query, nil, out)
}

// render renders page name (templates/name.html) in the layout, 200.
func (q *request) render(name, title, nav string, data any) error {
	q.c.renderPage(q.w, q.r, q.s, http.StatusOK, name, title, nav, data)
	return nil
}

// fragment renders the template named tmpl of page name alone, without
// the layout, with data as its dot: the part of a page a script reloads
// (console.js, data-refresh). A fragment shows; it holds no form.
func (q *request) fragment(name, tmpl string, data any) error {
	set, ok := q.c.pages.sets[name]
	if !ok {
		return fmt.Errorf("console: no page %s", name)
	}
	var buf bytes.Buffer
	if err := set.ExecuteTemplate(&buf, tmpl, data); err != nil {
		return fmt.Errorf("console: render %s/%s: %w", name, tmpl, err)
	}
	q.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = q.w.Write(buf.Bytes())
	return nil
}

// getPage is a handler of a page a signed-in person reads.
type getPage func(q *request) error

// postAction is a handler of a form: it makes its change through the API
// and returns where to go next and what to say there. On error the
// person goes back with the error's reason (reasonOf) shown.
type postAction func(q *request) (back string, done flash, err error)

// get registers a page for pattern ("GET /console/updates"). A person not
// signed in goes to the sign-in page and comes back; an API refusal of the
// person's token ends the session; any other error renders the error page
// with the API's status and reason.
func (c *Console) get(pattern string, fn getPage) {
	c.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		s, ok := c.session(r)
		if !ok {
			http.Redirect(w, r, "/console/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if err := fn(&request{c: c, w: w, r: r, s: s}); err != nil {
			c.failed(w, r, s, err)
		}
	})
}

// post registers a form handler for pattern ("POST /console/approve").
// The form must carry the session's CSRF token; its body is bounded. On
// success the person goes to the page fn names with its message; on error
// back with the error's reason.
func (c *Console) post(pattern string, fn postAction) { c.postForm(pattern, fn, nil) }

// formAgain renders a refused form's page again, with status, flash f
// and what the person typed (q.r.PostForm) in its fields.
type formAgain func(q *request, status int, f flash) error

// postForm registers a form handler for pattern as post does, except
// that a form the API refuses for its values (400, 409, 412; refusedForm)
// is answered with its page again (again, when not nil), so that what the
// person typed is not lost. When that page cannot be read either, the
// person goes back with the refusal's reason, as post does.
func (c *Console) postForm(pattern string, fn postAction, again formAgain) {
	c.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		q, ok := c.form(w, r)
		if !ok {
			return
		}
		back, done, err := fn(q)
		if back == "" {
			back = safeNext(refererPath(r))
		}
		if err == nil {
			c.redirect(w, r, back, done)
			return
		}
		if status, ok := refusedForm(err); ok && again != nil && again(q, status, flashError(reasonOf(err))) == nil {
			return
		}
		c.formFailed(w, r, back, err)
	})
}

// postPage registers a form handler for pattern whose answer is a page fn
// renders rather than a redirect (a rules run's report, too long for a
// flash). The checks are post's; on error the person goes back (to the
// page the form was on, else to back) with the reason, as post does.
func (c *Console) postPage(pattern, back string, fn getPage) {
	c.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		q, ok := c.form(w, r)
		if !ok {
			return
		}
		if err := fn(q); err != nil {
			to := refererPath(r)
			if to == "" {
				to = back
			}
			c.formFailed(w, r, safeNext(to), err)
		}
	})
}

// form checks a posted form before its handler runs: a session, a
// bounded body that parses, the session's CSRF token. It answers itself
// and returns false when one fails.
func (c *Console) form(w http.ResponseWriter, r *http.Request) (*request, bool) {
	s, ok := c.session(r)
	if !ok {
		c.redirect(w, r, "/console/signin", flashError("Your session has ended; sign in again. Nothing was changed."))
		return nil, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		c.renderError(w, r, s, http.StatusBadRequest, "The form could not be read: "+err.Error())
		return nil, false
	}
	if !c.validCSRF(r, s) {
		c.renderError(w, r, s, http.StatusForbidden, csrfRefusal)
		return nil, false
	}
	return &request{c: c, w: w, r: r, s: s}, true
}

// formFailed answers a form whose change failed with err: an API refusal
// of the token ends the session; any other error goes back with its
// reason.
func (c *Console) formFailed(w http.ResponseWriter, r *http.Request, back string, err error) {
	if statusOf(err) == http.StatusUnauthorized {
		c.endSession(w, r, err)
		return
	}
	c.redirect(w, r, back, flashError(reasonOf(err)))
}

// maxFormBytes bounds a form's body.
const maxFormBytes = 1 << 20

// failed answers a page whose handler failed with err.
func (c *Console) failed(w http.ResponseWriter, r *http.Request, s *session, err error) {
	status := statusOf(err)
	if status == http.StatusUnauthorized {
		c.endSession(w, r, err)
		return
	}
	var apiErr *apiError
	if !errors.As(err, &apiErr) {
		c.log.ErrorContext(r.Context(), "console: page failed", "path", r.URL.Path, "err", err)
	}
	c.renderError(w, r, s, status, reasonOf(err))
}

// endSession clears the session of a person whose token the API no longer
// accepts (revoked) and sends them to sign in, saying why.
func (c *Console) endSession(w http.ResponseWriter, r *http.Request, err error) {
	setCookie(w, r, sessionCookie, "", -1)
	c.redirect(w, r, "/console/signin", flashError("The server no longer accepts your token: "+reasonOf(err)+" Sign in again."))
}

// refererPath is the path and query of r's Referer when it is this
// server's, "" otherwise.
func refererPath(r *http.Request) string {
	ref := r.Referer()
	if ref == "" {
		return ""
	}
	i := strings.Index(ref, Prefix)
	if i < 0 {
		return ""
	}
	return ref[i:]
}
