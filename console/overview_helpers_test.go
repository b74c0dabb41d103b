package console_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"wsus/catalog/admin"
	"wsus/console"
	"wsus/soap/cookie"
)

// fixedMeter is a storage meter (admin.StorageMeter) answering u.
type fixedMeter struct{ u admin.StorageUsage }

func (m fixedMeter) Usage(context.Context) admin.StorageUsage { return m.u }

// withStorage returns a harness over h's store whose API measures storage
// with meter (the harness's own API has no meter): a second API and
// console on a listener of their own, the same store and admin token.
func (h *harness) withStorage(t *testing.T, meter admin.StorageMeter) *harness {
	t.Helper()
	api := admin.NewWith(h.store, admin.Options{Token: adminToken, Storage: meter})
	sealer, err := cookie.NewSealer(make([]byte, cookie.KeySize))
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
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &harness{t: t, store: h.store, srv: srv, groups: h.groups}
}

// measuredAt is a storage measurement's time in the tests.
var measuredAt = time.Date(2026, 11, 12, 9, 57, 0, 0, time.UTC)
