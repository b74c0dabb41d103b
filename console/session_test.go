package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"wsus/catalog"
	"wsus/catalog/admin"
)

// TestSignIn checks sign-in, the session cookie's attributes, a refused
// token, and sign-out.
func TestSignIn(t *testing.T) {
	h := newHarness(t)

	v := h.visitor()
	status, doc := v.get("/console/?not_reported_days=7")
	if status != http.StatusOK || doc.Find(`form[action="/console/signin"] input[name="token"]`).Length() != 1 {
		t.Fatalf("signed out, /console/: status %d, want the sign-in form; page: %s", status, text(doc))
	}
	if next, _ := doc.Find(`input[name="next"]`).Attr("value"); next != "/console/?not_reported_days=7" {
		t.Errorf("sign-in form's next = %q, want /console/?not_reported_days=7", next)
	}

	status, doc = v.post("/console/signin", url.Values{"token": {"wsus_not-a-token"}})
	if _, failed := flash(doc); status != http.StatusUnauthorized || !strings.Contains(failed, "The server refused this token") {
		t.Errorf("bad token: status %d, error %q; want 401 and the server's refusal", status, failed)
	}
	if doc.Find("form.signout").Length() != 0 {
		t.Error("bad token: the page shows a signed-in header")
	}

	p := h.signIn(h.token(catalog.RoleViewer))
	u, _ := url.Parse(h.srv.URL + "/console/")
	var session *http.Cookie
	resp, err := p.client.Get(h.srv.URL + "/console/signin")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range p.client.Jar.Cookies(u) {
		if c.Name == "wsus_console" {
			session = c
		}
	}
	if session == nil {
		t.Fatal("no wsus_console cookie after sign-in")
	}
	status, doc = p.get("/console/")
	if who := doc.Find(".who").Text(); status != http.StatusOK || !strings.Contains(who, "viewer") {
		t.Errorf("overview: status %d, who %q; want the viewer named", status, who)
	}
	if doc.Find(`a[href="/console/tokens"]`).Length() != 0 {
		t.Error("a viewer's navigation offers the tokens page")
	}

	status, doc = p.post("/console/signout", url.Values{})
	if ok, _ := flash(doc); status != http.StatusOK || ok != "Signed out." {
		t.Errorf("sign-out: status %d, flash %q", status, ok)
	}
	if status, doc = p.get("/console/"); doc.Find(`input[name="token"]`).Length() != 1 {
		t.Errorf("after sign-out, /console/: status %d, want the sign-in form", status)
	}
}

// TestSessionCookie checks what the session cookie's Set-Cookie says.
func TestSessionCookie(t *testing.T) {
	h := newHarness(t)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(h.srv.URL+"/console/signin", url.Values{"token": {adminToken}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d, want 303", resp.StatusCode)
	}
	var line string
	for _, l := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(l, "wsus_console=") {
			line = l
		}
	}
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/console/", "Max-Age=28800"} {
		if !strings.Contains(line, want) {
			t.Errorf("session Set-Cookie %q lacks %s", line, want)
		}
	}
	if strings.Contains(line, adminToken) {
		t.Error("the session cookie carries the token in clear")
	}
}

// TestCSRF checks that a change without the session's CSRF token, or sent
// from another site, is refused and changes nothing.
func TestCSRF(t *testing.T) {
	h := newHarness(t)
	p := h.signIn(adminToken)
	status, doc := p.post("/console/signout", url.Values{"csrf": {"forged"}})
	if status != http.StatusForbidden || !strings.Contains(text(doc), "cross-site request forgery") {
		t.Errorf("forged CSRF token: status %d, page %q; want 403 naming CSRF", status, text(doc))
	}
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/console/signout", strings.NewReader("csrf="+p.csrf))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := p.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST: %d, want 403", resp.StatusCode)
	}
	if status, doc := p.get("/console/"); status != http.StatusOK || doc.Find("form.signout").Length() != 1 {
		t.Errorf("after refused sign-outs the session must still be open: status %d", status)
	}
}

// TestSafeNext checks that sign-in never sends a person off the console.
func TestSafeNext(t *testing.T) {
	h := newHarness(t)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for next, want := range map[string]string{
		"/console/updates?q=KB1":   "/console/updates?q=KB1",
		"https://evil.example/":    "/console/",
		"//evil.example/console/":  "/console/",
		"/api/v1/tokens":           "/console/",
		"/console/signin":          "/console/",
		"/console/\\evil.example/": "/console/",
	} {
		resp, err := client.PostForm(h.srv.URL+"/console/signin", url.Values{"token": {adminToken}, "next": {next}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Location"); got != want {
			t.Errorf("next %q: Location %q, want %q", next, got, want)
		}
	}
}

// TestRevokedTokenEndsSession checks that a session whose token is revoked
// ends at the next page, saying why, instead of showing API errors.
func TestRevokedTokenEndsSession(t *testing.T) {
	h := newHarness(t)
	var created admin.NewToken
	h.api(http.MethodPost, "/api/v1/tokens", `{"name":"soon-revoked","role":"viewer"}`, http.StatusCreated, &created)
	p := h.signIn(created.Secret)
	h.api(http.MethodDelete, "/api/v1/tokens/"+created.ID.String(), "", http.StatusOK, nil)

	status, doc := p.get("/console/")
	_, failed := flash(doc)
	if status != http.StatusOK || doc.Find(`input[name="token"]`).Length() != 1 || !strings.Contains(failed, "no longer accepts your token") {
		t.Errorf("after revocation: status %d, error %q; want the sign-in form saying the token is no longer accepted", status, failed)
	}
	if status, doc = p.get("/console/"); doc.Find(`input[name="token"]`).Length() != 1 {
		t.Errorf("the ended session still opens pages: status %d", status)
	}
}
