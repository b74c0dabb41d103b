package storetest

import (
	"fmt"
	"testing"
	"time"

	"wsus/catalog"
)

// pagingTests check the ID cursors that page back through the audit log
// (AuditFilter.BeforeID) and the synchronization history (SyncRunsBefore):
// every page's oldest ID is the next page's cursor, and walking the pages
// returns each entry exactly once, newest first.
var pagingTests = []test{
	{"AuditBeforeID", testAuditBeforeID},
	{"SyncRunsBefore", testSyncRunsBefore},
}

func testAuditBeforeID(t *testing.T, s catalog.Store) {
	var all, alice []int64 // newest first
	for i := range 7 {
		actor := []string{"alice", "bob"}[i%2]
		e, err := s.AppendAudit(ctx(t), catalog.AuditEntry{Actor: actor, Action: "update.decline", Target: fmt.Sprintf("u%d", i), RemoteAddr: "192.0.2.1"})
		must(t, "AppendAudit", err)
		all = append([]int64{e.ID}, all...)
		if actor == "alice" {
			alice = append([]int64{e.ID}, alice...)
		}
	}
	for _, c := range []struct {
		name   string
		filter catalog.AuditFilter
		want   []int64
	}{
		{"no cursor", catalog.AuditFilter{}, all},
		{"before the newest", catalog.AuditFilter{BeforeID: all[0]}, all[1:]},
		{"before the oldest", catalog.AuditFilter{BeforeID: all[len(all)-1]}, []int64{}},
		{"before an ID above all", catalog.AuditFilter{BeforeID: all[0] + 1000}, all},
		{"before the fourth, limit 2", catalog.AuditFilter{BeforeID: all[3], Limit: 2}, all[4:6]},
		{"alice's before the newest", catalog.AuditFilter{Actor: "alice", BeforeID: all[0]}, alice[1:]},
	} {
		check(t, c.name, auditIDs(t, s, c.filter), c.want)
	}
	for _, limit := range []int{1, 2, 3, 7, 8} {
		var walked []int64
		f := catalog.AuditFilter{Limit: limit}
		for page := 0; ; page++ {
			got := auditIDs(t, s, f)
			if len(got) == 0 || page > len(all) {
				break
			}
			walked = append(walked, got...)
			f.BeforeID = got[len(got)-1]
		}
		check(t, fmt.Sprintf("walked %d at a time", limit), walked, all)
	}
}

func testSyncRunsBefore(t *testing.T, s catalog.Store) {
	var all []int64 // newest first
	for range 5 {
		r, err := s.BeginSyncRun(ctx(t), catalog.SyncRun{Trigger: "api", Holder: "host-a/1"}, time.Hour)
		must(t, "BeginSyncRun", err)
		r.State = catalog.SyncSucceeded
		_, err = s.UpdateSyncRun(ctx(t), r)
		must(t, "UpdateSyncRun", err)
		all = append([]int64{r.ID}, all...)
	}
	ids := func(limit int, before int64) []int64 {
		t.Helper()
		runs, err := s.SyncRunsBefore(ctx(t), limit, before)
		must(t, "SyncRunsBefore", err)
		out := []int64{}
		for _, r := range runs {
			out = append(out, r.ID)
		}
		return out
	}
	for _, c := range []struct {
		name   string
		limit  int
		before int64
		want   []int64
	}{
		{"no cursor", 10, 0, all},
		{"a negative cursor selects all", 10, -1, all},
		{"limit 0 is the store's bound", 0, all[0], all[1:]},
		{"before the newest", 10, all[0], all[1:]},
		{"before the third, limit 1", 1, all[2], all[3:4]},
		{"before the oldest", 10, all[len(all)-1], []int64{}},
		{"before an ID above all", 2, all[0] + 1000, all[:2]},
	} {
		check(t, c.name, ids(c.limit, c.before), c.want)
	}
	runs, err := s.SyncRuns(ctx(t), 2)
	must(t, "SyncRuns", err)
	first, err := s.SyncRunsBefore(ctx(t), 2, 0)
	must(t, "SyncRunsBefore", err)
	check(t, "SyncRuns(2) is SyncRunsBefore(2, 0)", runs, first)
	for _, limit := range []int{1, 2, 5, 6} {
		var walked []int64
		var before int64
		for page := 0; page <= len(all); page++ {
			got := ids(limit, before)
			if len(got) == 0 {
				break
			}
			walked = append(walked, got...)
			before = got[len(got)-1]
		}
		check(t, fmt.Sprintf("walked %d at a time", limit), walked, all)
	}
}
