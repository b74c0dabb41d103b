package console_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"wsus/catalog/admin"
	"wsus/catalog/rules"
	"wsus/console"
	"wsus/soap/cookie"
)

// newRulesHarness is newHarness whose API runs the rules (admin.Options
// Rules), as wsusd's does: without a runner the API answers a ring's
// status and POST /api/v1/rules/run with 503. It serves a second API and
// console over the harness's store and points the harness at them.
func newRulesHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t)
	runner, err := rules.New(rules.Config{Store: h.store, Holder: "console-test"})
	if err != nil {
		t.Fatal(err)
	}
	api := admin.NewWith(h.store, admin.Options{Token: adminToken, Rules: runner})
	sealer, err := cookie.NewSealer(bytes.Repeat([]byte{3}, cookie.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	con, err := console.New(console.Config{API: api, Sealer: sealer})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(admin.Prefix, api)
	mux.Handle(console.Prefix, con)
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)
	return h
}
