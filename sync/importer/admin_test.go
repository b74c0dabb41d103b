package importer_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/postgres"
	"wsus/catalog/sqlite"
	"wsus/clientsim/catalogen"
	"wsus/internal/testpg"
	"wsus/storage"
	"wsus/sync/importer"
)

func TestMain(m *testing.M) { os.Exit(testpg.Main(m)) }

// An import with --approve, run again and again as make run does, never
// undoes what an admin did after the first one: an approval removed, one
// changed to OptionalInstall with a deadline, an update declined, an
// approval for another group only. Untouched updates stay approved once.
func TestImportApproveKeepsAdminDecisions(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			var store catalog.Store
			var err error
			if engine == "sqlite" {
				store, err = sqlite.Open(ctx, filepath.Join(dir, "catalog.db"))
			} else {
				store, err = postgres.Open(ctx, testpg.URL(t))
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { store.Close() })
			blobs, err := storage.NewFS(filepath.Join(dir, "content"))
			if err != nil {
				t.Fatal(err)
			}
			gen := filepath.Join(dir, "catalog")
			stats, err := catalogen.Write(ctx, gen, catalogen.Options{Updates: 60, Seed: 11})
			if err != nil {
				t.Fatal(err)
			}
			pilot := catalog.TargetGroup{ID: uuid.MustParse("55555555-5555-4555-8555-555555555555"), Name: "Pilot", ParentID: catalog.AllComputersGroupID}
			if err := store.CreateTargetGroup(ctx, pilot); err != nil {
				t.Fatal(err)
			}
			opts := importer.Options{ApproveGroup: "All Computers"}
			res, err := importer.Import(ctx, store, blobs, []string{gen}, opts)
			if err != nil {
				t.Fatal(err)
			}
			if top := stats.Bundles + stats.Standalone; res.Approved != top || top < 4 {
				t.Fatalf("first import approved %d, the catalog has %d top-level updates (want at least 4)", res.Approved, top)
			}
			first, err := store.Approvals(ctx)
			if err != nil {
				t.Fatal(err)
			}
			unapproved, optional, declinedID, otherGroup := first[0].UpdateID, first[1].UpdateID, first[2].UpdateID, first[3].UpdateID
			deadline := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
			for _, a := range []catalog.Approval{
				{UpdateID: unapproved, GroupID: catalog.AllComputersGroupID, Action: catalog.ActionNotApproved, By: "admin"},
				{UpdateID: optional, GroupID: catalog.AllComputersGroupID, Action: catalog.ActionOptionalInstall, Deadline: deadline, By: "admin"},
				{UpdateID: otherGroup, GroupID: catalog.AllComputersGroupID, Action: catalog.ActionNotApproved, By: "admin"},
				{UpdateID: otherGroup, GroupID: pilot.ID, Action: catalog.ActionInstall, By: "admin"},
			} {
				if _, err := store.SetApproval(ctx, a); err != nil {
					t.Fatal(err)
				}
			}
			if err := store.SetDeclined(ctx, declinedID, true); err != nil {
				t.Fatal(err)
			}
			before, err := store.Approvals(ctx)
			if err != nil {
				t.Fatal(err)
			}
			statesBefore, err := store.UpdateStates(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for run := range 2 {
				res, err := importer.Import(ctx, store, blobs, []string{gen}, opts)
				if err != nil || res.Approved != 0 {
					t.Fatalf("import %d: approved %d, err %v; want nothing approved", run+2, res.Approved, err)
				}
				after, err := store.Approvals(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.EqualFunc(before, after, func(a, b catalog.Approval) bool {
					return a.ID == b.ID && a.UpdateID == b.UpdateID && a.GroupID == b.GroupID && a.Action == b.Action &&
						a.Deadline.Equal(b.Deadline) && a.ChangedAt.Equal(b.ChangedAt) && a.By == b.By
				}) {
					t.Errorf("import %d changed the approvals:\nbefore %+v\nafter  %+v", run+2, before, after)
				}
				states, err := store.UpdateStates(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.EqualFunc(statesBefore, states, func(a, b catalog.UpdateState) bool {
					return a.UpdateID == b.UpdateID && a.Declined == b.Declined && a.ChangedAt.Equal(b.ChangedAt)
				}) {
					t.Errorf("import %d changed the update states:\nbefore %+v\nafter  %+v", run+2, statesBefore, states)
				}
			}
			var sawOptional bool
			for _, a := range before {
				switch {
				case a.UpdateID == unapproved:
					t.Errorf("the unapproved update is approved again: %+v", a)
				case a.UpdateID == otherGroup && a.GroupID != pilot.ID:
					t.Errorf("the update approved for Pilot only is approved for All Computers: %+v", a)
				case a.UpdateID == optional:
					sawOptional = a.Action == catalog.ActionOptionalInstall && a.Deadline.Equal(deadline)
				}
			}
			if !sawOptional {
				t.Errorf("the OptionalInstall approval with its deadline is gone: %+v", before)
			}
		})
	}
}
