package console_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// This file holds the updates tests' helpers: reading the API as the
// admin (to check what a form changed), and submitting a form of a page
// as a browser does.

// updatesSubmit posts the form of doc that sel finds to its action, with its
// hidden fields (the CSRF token among them) and values, as a browser
// submits it; it fails the test when the page has no such form.
func (p *person) updatesSubmit(t *testing.T, doc *goquery.Document, sel string, values url.Values) (int, *goquery.Document) {
	t.Helper()
	form := doc.Find(sel)
	if form.Length() != 1 || !strings.EqualFold(form.AttrOr("method", ""), "post") {
		t.Fatalf("no POST form %s on the page: %s", sel, text(doc))
	}
	action := form.AttrOr("action", "")
	all := url.Values{}
	form.Find(`input[type="hidden"]`).Each(func(_ int, in *goquery.Selection) {
		all.Add(in.AttrOr("name", ""), in.AttrOr("value", ""))
	})
	for k, vs := range values {
		all[k] = vs
	}
	return p.post(action, all)
}
