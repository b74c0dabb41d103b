package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"wsus/catalog"
	"wsus/catalog/admin"
)

// sessionCookie is the name of the session cookie.
const sessionCookie = "wsus_console"

// sessionPurpose names the session cookie's kind to the sealer.
const sessionPurpose = "console-session-v1"

// maxTokenLength bounds the token the sign-in form accepts; API tokens are
// far shorter.
const maxTokenLength = 512

// session is one signed-in person, as sealed in the session cookie.
type session struct {
	// Token is the API token the person signed in with; every API call of
	// the console carries it.
	Token string `json:"t"`
	// Name and Role are what GET /api/v1/whoami said at sign-in; the API
	// checks the role again on every call.
	Name string       `json:"n"`
	Role catalog.Role `json:"r"`
	// CSRF is the token every form of this session carries.
	CSRF    string    `json:"c"`
	Expires time.Time `json:"e"`
}

// CanApprove tells whether the role may approve, decline and edit rules.
func (s *session) CanApprove() bool { return s != nil && s.Role.Allows(catalog.RoleApprover) }

// IsAdmin tells whether the role may do everything.
func (s *session) IsAdmin() bool { return s != nil && s.Role.Allows(catalog.RoleAdmin) }

// session returns the session r's cookie holds; nil and false when there
// is none, or it does not open, or it expired.
func (c *Console) session(r *http.Request) (*session, bool) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(ck.Value)
	if err != nil {
		return nil, false
	}
	var s session
	if err := c.sealer.Open(sessionPurpose, raw, &s); err != nil {
		return nil, false
	}
	if !c.now().Before(s.Expires) || s.Token == "" {
		return nil, false
	}
	return &s, true
}

// setCookie sets (or, with an empty value and maxAge < 0, clears) one of
// the console's cookies: HttpOnly, SameSite=Strict, Secure over TLS, for
// the console's paths only.
func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: Prefix, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
}

// routeSession registers sign-in and sign-out.
func (c *Console) routeSession() {
	c.mux.HandleFunc("GET /console/signin", c.signInPage)
	c.mux.HandleFunc("POST /console/signin", c.signIn)
	c.mux.HandleFunc("POST /console/signout", c.signOut)
}

// signInData is the sign-in page's data.
type signInData struct {
	// Next is the console path to go to once signed in.
	Next string
}

// signInPage serves the sign-in form; a person already signed in goes on.
func (c *Console) signInPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if _, ok := c.session(r); ok {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	c.renderPage(w, r, nil, http.StatusOK, "signin", "Sign in", "", signInData{Next: next})
}

// signIn checks the token the form carries with the API (GET
// /api/v1/whoami) and seals the session. The API's own limits on failed
// authentications apply: the call carries the person's address.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	token := strings.TrimSpace(r.PostFormValue("token"))
	next := safeNext(r.PostFormValue("next"))
	refuse := func(status int, reason string) {
		w.Header().Set("Cache-Control", "no-store")
		c.renderPage(w, r, nil, status, "signin", "Sign in", "", signInData{Next: next}, flashError(reason))
	}
	if token == "" || len(token) > maxTokenLength {
		refuse(http.StatusBadRequest, "Enter an API token (wsusctl token create, or the admin token of the server).")
		return
	}
	var who admin.Principal
	if _, err := c.call(r, token, apiCall{Method: http.MethodGet, Path: admin.WhoAmIPath, Out: &who}); err != nil {
		var apiErr *apiError
		if errors.As(err, &apiErr) && apiErr.Status == http.StatusUnauthorized {
			refuse(http.StatusUnauthorized, "The server refused this token: "+apiErr.Reason)
			return
		}
		refuse(statusOf(err), reasonOf(err))
		return
	}
	csrf := make([]byte, 24)
	_, _ = rand.Read(csrf) // never fails (crypto/rand)
	s := session{Token: token, Name: who.Name, Role: who.Role, CSRF: base64.RawURLEncoding.EncodeToString(csrf),
		Expires: c.now().Add(c.ttl)}
	sealed, err := c.sealer.Seal(sessionPurpose, s)
	if err != nil {
		refuse(http.StatusInternalServerError, "The session could not be sealed: "+err.Error())
		return
	}
	setCookie(w, r, sessionCookie, base64.RawURLEncoding.EncodeToString(sealed), int(c.ttl/time.Second))
	c.redirect(w, r, next, flashOK("Signed in as "+who.Name+" ("+string(who.Role)+")."))
}

// signOut clears the session cookie. The cookie is the whole session: once
// cleared, nothing of it is left on the server either.
func (c *Console) signOut(w http.ResponseWriter, r *http.Request) {
	if s, ok := c.session(r); ok && !c.validCSRF(r, s) {
		c.renderError(w, r, s, http.StatusForbidden, csrfRefusal)
		return
	}
	setCookie(w, r, sessionCookie, "", -1)
	c.redirect(w, r, "/console/signin", flashOK("Signed out."))
}

// csrfRefusal is what a form without the session's CSRF token is told.
const csrfRefusal = "This form has expired or came from another page (cross-site request forgery protection); reload the page and try again. Nothing was changed."

// validCSRF tells whether r's form carries s's CSRF token.
func (c *Console) validCSRF(r *http.Request, s *session) bool {
	got := r.PostFormValue("csrf")
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.CSRF)) == 1
}

// safeNext returns next when it is a console path, else the overview: the
// sign-in form never redirects off the console.
func safeNext(next string) string {
	u, err := url.Parse(next)
	// A scheme-relative "//host/..." has a Host; a backslash, which
	// browsers read as a slash, is refused outright.
	if err != nil || next == "" || u.IsAbs() || u.Host != "" || !strings.HasPrefix(u.Path, Prefix) ||
		strings.Contains(next, "\\") || u.Path == "/console/signin" {
		return Prefix
	}
	return u.RequestURI()
}
