package sqlstore_test

import (
	"context"
	"slices"
	"testing"

	"wsus/catalog"
)

// TestAuditBeforeIDTies pages back through audit entries whose stored
// times tie or run against their IDs, as entries stored within one clock
// tick, or by PostgreSQL transactions that began in another order than
// they stored, do. The store sets At itself, so the times are rewritten
// behind its back; the cursor must still return every entry once, in ID
// order.
func TestAuditBeforeIDTies(t *testing.T) {
	for _, e := range engines() {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			where := e.fresh(t)
			s := e.open(t, where)
			t.Cleanup(func() { s.Close() })
			var want []int64 // newest first
			for range 6 {
				got, err := s.AppendAudit(ctx, catalog.AuditEntry{Actor: "alice", Action: "update.decline", Target: "u1", RemoteAddr: "192.0.2.1"})
				if err != nil {
					t.Fatal(err)
				}
				want = append([]int64{got.ID}, want...)
			}
			db := e.raw(t, where)
			for _, c := range []struct{ name, update string }{
				// The newest entry, by ID, now has the oldest time.
				{"time against ID", "UPDATE audit_log SET at = (SELECT min(at) FROM audit_log) WHERE id = (SELECT max(id) FROM audit_log)"},
				{"one time", "UPDATE audit_log SET at = (SELECT max(at) FROM audit_log)"},
			} {
				if _, err := db.ExecContext(ctx, c.update); err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				for _, limit := range []int{1, 2, 4} {
					var walked []int64
					f := catalog.AuditFilter{Limit: limit}
					for range len(want) + 1 {
						es, err := s.Audit(ctx, f)
						if err != nil {
							t.Fatal(err)
						}
						if len(es) == 0 {
							break
						}
						for _, e := range es {
							walked = append(walked, e.ID)
						}
						f.BeforeID = es[len(es)-1].ID
					}
					if !slices.Equal(walked, want) {
						t.Errorf("%s, %d a page: walked %v, want %v", c.name, limit, walked, want)
					}
				}
			}
		})
	}
}
