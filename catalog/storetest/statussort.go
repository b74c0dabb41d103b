package storetest

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"wsus/catalog"
)

// statusSortTests are the cases of the state lists' orders
// (catalog.StatusQuery.Sort), on the compliance catalog.
var statusSortTests = []test{
	{"ComplianceStatusSorts", testComplianceStatusSorts},
}

// stateRank is where StatusByState places each state: failed, needed, pending
// reboot, installed, not applicable, no status.
var stateRank = map[catalog.InstallState]int{
	catalog.StateFailed: 0, catalog.StateNotInstalled: 1, catalog.StateDownloaded: 2,
	catalog.StateInstalledPendingReboot: 3, catalog.StateInstalled: 4, catalog.StateNotApplicable: 5, catalog.StateUnknown: 6,
}

// compareStatusKey compares two rows by the named key alone, as
// catalog.StatusSort documents it.
func compareStatusKey(sort catalog.StatusSort, a, b catalog.StatusRow) int {
	nullTime := func(t time.Time) int {
		if t.IsZero() {
			return 0
		}
		return 1
	}
	changed := func(r catalog.StatusRow) time.Time {
		if r.State == catalog.StateUnknown {
			return time.Time{}
		}
		return r.ChangedAt
	}
	switch sort {
	case catalog.StatusByTitle:
		return cmp.Or(strings.Compare(a.Title, b.Title), strings.Compare(a.UpdateID.String(), b.UpdateID.String()))
	case catalog.StatusByKB:
		return strings.Compare(a.KBArticleID, b.KBArticleID)
	case catalog.StatusByState:
		return cmp.Compare(stateRank[a.State], stateRank[b.State])
	case catalog.StatusByChanged:
		return cmp.Or(cmp.Compare(nullTime(changed(a)), nullTime(changed(b))), changed(a).Compare(changed(b)))
	case catalog.StatusByLastStatus:
		return cmp.Or(cmp.Compare(nullTime(a.LastStatus), nullTime(b.LastStatus)), a.LastStatus.Compare(b.LastStatus))
	}
	return cmp.Or(strings.Compare(a.DNSName, b.DNSName), strings.Compare(a.ClientID, b.ClientID))
}

// sortStatuses orders rows as ListStatuses must for sort and desc: the key
// in its direction, then DNS name, client ID, title and UpdateID ascending.
func sortStatuses(rows []catalog.StatusRow, sort catalog.StatusSort, desc bool) []catalog.StatusRow {
	out := slices.Clone(rows)
	slices.SortStableFunc(out, func(a, b catalog.StatusRow) int {
		c := compareStatusKey(sort, a, b)
		if desc {
			c = -c
		}
		return cmp.Or(c, compareStatusKey(catalog.StatusByName, a, b), compareStatusKey(catalog.StatusByTitle, a, b))
	})
	return out
}

// testComplianceStatusSorts checks every order of the state lists, both
// ways, against the same rows ordered in Go: one update's computers (no
// status included), one computer's updates, and every state; and that a
// page of a sorted list is that part of it. Alpha reports again an hour
// later so that the changes and last reports differ; delta never reports.
func testComplianceStatusSorts(t *testing.T, s catalog.Store) {
	setupCompliance(t, s)
	later := cpReported.Add(time.Hour)
	must(t, "SetStatuses alpha later", s.SetStatuses(t.Context(), cpAlpha,
		[]catalog.UpdateStatus{{UpdateID: cpOffice, State: catalog.StateInstalled}}, false, later))
	sorts := []catalog.StatusSort{"", catalog.StatusByName, catalog.StatusByTitle, catalog.StatusByKB, catalog.StatusByState,
		catalog.StatusByChanged, catalog.StatusByLastStatus}
	for _, c := range []struct {
		name string
		q    catalog.StatusQuery
		want int
	}{
		{"of the office update, no status included", catalog.StatusQuery{UpdateID: cpOffice, Compliances: catalog.Compliances}, 4},
		{"of the CU", catalog.StatusQuery{UpdateID: cpCU}, 3},
		{"of alpha", catalog.StatusQuery{ClientID: cpAlpha}, 4},
		{"of charlie", catalog.StatusQuery{ClientID: cpCharlie}, 3},
		{"every state", catalog.StatusQuery{}, 10},
	} {
		all := c.q
		all.Page = catalog.Page{Limit: catalog.MaxPageSize}
		rows, total, err := s.ListStatuses(t.Context(), all)
		must(t, "ListStatuses "+c.name, err)
		if total != c.want || len(rows) != c.want {
			t.Fatalf("ListStatuses %s: %d rows, total %d, want %d", c.name, len(rows), total, c.want)
		}
		for _, sort := range sorts {
			for _, desc := range []bool{false, true} {
				what := fmt.Sprintf("%s by %q desc %t", c.name, sort, desc)
				q := all
				q.Sort, q.Desc = sort, desc
				want := statusKeys(sortStatuses(rows, sort, desc))
				got, total, err := s.ListStatuses(t.Context(), q)
				must(t, "ListStatuses "+what, err)
				check(t, "ListStatuses "+what, statusKeys(got), want)
				if total != c.want {
					t.Errorf("ListStatuses %s: total %d, want %d", what, total, c.want)
				}
				q.Page = catalog.Page{Limit: 2, Offset: 1}
				got, _, err = s.ListStatuses(t.Context(), q)
				must(t, "ListStatuses page 2 at 1 "+what, err)
				check(t, "ListStatuses page 2 at 1 "+what, statusKeys(got), want[1:min(3, len(want))])
			}
		}
	}
	// What needs attention first; an unknown order is refused.
	checkStatuses(t, s, "of the CU by state", catalog.StatusQuery{UpdateID: cpCU, Sort: catalog.StatusByState}, 3,
		statusKey{cpBravo, cpCU, catalog.StateFailed, cpFailure}, statusKey{cpCharlie, cpCU, catalog.StateNotInstalled, 0},
		statusKey{cpAlpha, cpCU, catalog.StateInstalled, 0})
	if _, _, err := s.ListStatuses(t.Context(), catalog.StatusQuery{Sort: "size"}); !errors.Is(err, catalog.ErrInvalid) {
		t.Errorf("ListStatuses by an unknown sort: %v, want ErrInvalid", err)
	}
}
