package sqlstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// TestComplianceUpgrade opens the catalogs of testdata/upgrade (made
// before schema version 104) after giving two of their stored documents
// the Properties the admin views read (MsrcSeverity, CveID, Language; the
// generator wrote none): the upgrade must read them from revision_xml,
// write every revision's search text, mark the newest and bundled
// revisions, and count the stored states per update and per computer.
func TestComplianceUpgrade(t *testing.T) {
	var (
		upBundle = uuid.MustParse("a1000000-0000-4000-8000-000000000007") // bundles upLeaf, declined
		upDriver = uuid.MustParse("a1000000-0000-4000-8000-000000000008")
		upCU     = uuid.MustParse("a1000000-0000-4000-8000-000000000009") // superseded by upLeaf, declined
		upEmpty  = uuid.MustParse("a1000000-0000-4000-8000-00000000000a")
		upPanel  = uuid.MustParse("a1000000-0000-4000-8000-00000000000b")
	)
	const ns = `xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update"`
	docs := map[uuid.UUID]string{
		upLeaf: `<upd:Update ` + ns + `><upd:UpdateIdentity UpdateID="` + upLeaf.String() + `" RevisionNumber="200" />` +
			`<upd:Properties UpdateType="Software" MsrcSeverity="Critical"><upd:KBArticleID>5099001</upd:KBArticleID>` +
			`<upd:CveID>CVE-2026-0006</upd:CveID><upd:CveID>CVE-2026-1006</upd:CveID><upd:Language>en</upd:Language>` +
			`</upd:Properties></upd:Update>`,
		upDriver: `<upd:Update ` + ns + `><upd:UpdateIdentity UpdateID="` + upDriver.String() + `" RevisionNumber="100" />` +
			`<upd:Properties UpdateType="Driver" MsrcSeverity="Low"><upd:CveID>CVE-2026-0008</upd:CveID></upd:Properties></upd:Update>`,
	}
	for _, e := range engines() {
		t.Run(e.name, func(t *testing.T) {
			where := placeOldCatalog(t, e)
			raw := e.raw(t, where)
			for u, doc := range docs {
				// Literal SQL: the same text on both engines (no quotes in
				// the documents).
				res, err := raw.ExecContext(t.Context(), "UPDATE revision_xml SET xml = '"+doc+
					"' WHERE revision_id = (SELECT max(id) FROM revision WHERE update_id = '"+u.String()+"')")
				if err != nil {
					t.Fatal(err)
				}
				if n, err := res.RowsAffected(); err != nil || n != 1 {
					t.Fatalf("document of %s: %d rows, %v", u, n, err)
				}
			}
			s := e.open(t, where)
			defer s.Close()
			ctx := t.Context()

			leaf, err := s.UpdateView(ctx, upLeaf)
			if err != nil {
				t.Fatal(err)
			}
			checkPrinted(t, "the leaf's properties and counts", []any{leaf.MsrcSeverity, leaf.CVEs, leaf.Languages, leaf.Computers},
				[]any{"Critical", []string{"CVE-2026-0006", "CVE-2026-1006"}, []string{"en"},
					catalog.ComplianceCounts{Installed: 1, Needed: 1, NoStatus: 3}})
			driver, err := s.UpdateView(ctx, upDriver)
			if err != nil {
				t.Fatal(err)
			}
			checkPrinted(t, "the driver's properties and counts", []any{driver.MsrcSeverity, driver.CVEs, driver.Languages, driver.Computers},
				[]any{"Low", []string{"CVE-2026-0008"}, []string(nil), catalog.ComplianceCounts{Needed: 1, NotApplicable: 1, NoStatus: 3}})

			// Listed: newest revisions, the leaf left out (the bundle names
			// it); 0009 as its revision 101.
			views, total, err := s.ListUpdates(ctx, catalog.UpdateQuery{Sort: catalog.SortByTitle})
			if err != nil {
				t.Fatal(err)
			}
			var ids []uuid.UUID
			var revs []int32
			for _, v := range views {
				ids = append(ids, v.UpdateID)
				revs = append(revs, v.RevisionNumber)
			}
			checkPrinted(t, "listed updates", []any{total, ids, revs}, []any{5, []uuid.UUID{upEmpty, upCU, upBundle, upDriver, upPanel},
				[]int32{1, 101, 201, 100, 3}}) // "Contoso K" before "Contoso d": byte order
			for text, want := range map[string][]uuid.UUID{
				"cve-2026-0008": {upDriver},
				"KB5099001":     {upBundle}, // the bundle's KB, in the search text the upgrade wrote
				"cve-2026-0006": nil,        // the leaf's, but the leaf is not listed
				"control PANEL": {upPanel},
			} {
				views, _, err := s.ListUpdates(ctx, catalog.UpdateQuery{Text: text})
				if err != nil {
					t.Fatal(err)
				}
				var got []uuid.UUID
				for _, v := range views {
					got = append(got, v.UpdateID)
				}
				checkPrinted(t, "text "+text, got, want)
			}
			comps, _, err := s.ListComputers(ctx, catalog.ComputerQuery{Needing: true})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]catalog.ComplianceCounts{}
			for _, c := range comps {
				got[c.ID] = c.Updates
			}
			checkPrinted(t, "computers needing updates", got, map[string]catalog.ComplianceCounts{
				upClientFull:                           {Needed: 2, NotApplicable: 1},
				"c3000000-0000-4000-8000-000000000003": {Installed: 1, Needed: 1},
			})
			sum, err := s.ComplianceSummary(ctx, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			checkPrinted(t, "summary", sum, catalog.ComplianceSummary{
				Computers: 5, NeedingUpdates: 2, NotReported: 3,
				Updates: 5, Approved: 1, Declined: 2, Superseded: 1,
				Pairs: catalog.ComplianceCounts{Installed: 1, Needed: 3, NotApplicable: 1},
			})
		})
	}
}

// checkPrinted reports a mismatch of got and want, compared as printed.
func checkPrinted(t *testing.T, what string, got, want any) {
	t.Helper()
	if g, w := fmt.Sprintf("%#v", got), fmt.Sprintf("%#v", want); g != w {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// TestRebuildCompliance: RebuildCompliance recomputes the counts from the
// stored states, whatever the kept ones say, and the newest and bundled
// flags from the catalog.
func TestRebuildCompliance(t *testing.T) {
	u1, u2 := uuid.MustParse("d0000000-0000-4000-8000-000000000001"), uuid.MustParse("d0000000-0000-4000-8000-000000000002")
	for _, e := range engines() {
		t.Run(e.name, func(t *testing.T) {
			where := e.fresh(t)
			s := e.open(t, where)
			defer s.Close()
			ctx := t.Context()
			revs := []*catalog.Revision{
				{Identity: catalog.Identity{UpdateID: u1, RevisionNumber: 1}, Type: catalog.TypeSoftware, Title: "one, old"},
				{Identity: catalog.Identity{UpdateID: u1, RevisionNumber: 2}, Type: catalog.TypeSoftware, Title: "one"},
				{Identity: catalog.Identity{UpdateID: u2, RevisionNumber: 1}, Type: catalog.TypeSoftware, Title: "two"},
			}
			if _, err := s.ImportRevisions(ctx, revs); err != nil {
				t.Fatal(err)
			}
			for i, st := range []catalog.InstallState{catalog.StateInstalled, catalog.StateFailed, catalog.StateNotInstalled} {
				id := fmt.Sprintf("d1000000-0000-4000-8000-00000000000%d", i)
				if err := s.RecordAuthorization(ctx, id, id+".example", nil, time.Time{}); err != nil {
					t.Fatal(err)
				}
				if err := s.SetStatuses(ctx, id, []catalog.UpdateStatus{{UpdateID: u1, State: st}, {UpdateID: u2, State: catalog.StateNotApplicable}},
					true, time.Time{}); err != nil {
					t.Fatal(err)
				}
			}
			raw := e.raw(t, where)
			for _, q := range []string{
				"UPDATE update_compliance SET installed = 99, needed = 7",
				"DELETE FROM update_compliance WHERE update_id = '" + u2.String() + "'",
				"UPDATE computer SET needed_count = 5, failed_count = 0",
				"UPDATE revision SET is_newest = NOT is_newest",
			} {
				if _, err := raw.ExecContext(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.RebuildCompliance(ctx); err != nil {
				t.Fatal(err)
			}
			views, total, err := s.ListUpdates(ctx, catalog.UpdateQuery{Sort: catalog.SortByTitle})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range views {
				got = append(got, fmt.Sprintf("%s r%d %+v", v.Title, v.RevisionNumber, v.Computers))
			}
			checkPrinted(t, "updates after the rebuild", []any{total, got}, []any{2, []string{
				"one r2 {Installed:1 Needed:1 Failed:1 NotApplicable:0 NoStatus:0}",
				"two r1 {Installed:0 Needed:0 Failed:0 NotApplicable:3 NoStatus:0}"}})
			comps, _, err := s.ListComputers(ctx, catalog.ComputerQuery{})
			if err != nil {
				t.Fatal(err)
			}
			got = nil
			for _, c := range comps {
				got = append(got, fmt.Sprintf("%+v", c.Updates))
			}
			checkPrinted(t, "computers after the rebuild", got, []string{
				"{Installed:1 Needed:0 Failed:0 NotApplicable:1 NoStatus:0}",
				"{Installed:0 Needed:0 Failed:1 NotApplicable:1 NoStatus:0}",
				"{Installed:0 Needed:1 Failed:0 NotApplicable:1 NoStatus:0}"})
		})
	}
}
