package console_test

import (
	"context"
	"testing"
	"time"

	"wsus/catalog/admin"
)

// fixedMeter is a storage meter (admin.StorageMeter) answering u.
type fixedMeter struct{ u admin.StorageUsage }

func (m fixedMeter) Usage(context.Context) admin.StorageUsage { return m.u }

// withStorage returns a harness over h's store whose API measures storage
// with meter (the harness's own API has no meter): a second API and
// console on a listener of their own, the same store and admin token.
func (h *harness) withStorage(t *testing.T, meter admin.StorageMeter) *harness {
	t.Helper()
	return &harness{t: t, store: h.store, srv: h.serve(admin.Options{Storage: meter}), groups: h.groups}
}

// measuredAt is a storage measurement's time in the tests.
var measuredAt = time.Date(2026, 11, 12, 9, 57, 0, 0, time.UTC)
