package rules_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/rules"
	"wsus/catalog/sqlite"
)

// failingStore is a real store whose SetApproval fails for one group.
type failingStore struct {
	catalog.Store
	failFor uuid.UUID
}

func (s failingStore) SetApproval(ctx context.Context, a catalog.Approval) (catalog.Approval, error) {
	if a.GroupID == s.failFor {
		return catalog.Approval{}, errors.New("injected failure")
	}
	return s.Store.SetApproval(ctx, a)
}

// TestFailedActionIsRetried: an approval the store refuses is reported in
// Errors, neither recorded nor audited, and the next run makes it; the one
// that succeeded is not made again.
func TestFailedActionIsRetried(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	upd := uuid.MustParse("f0000000-0000-4000-8000-000000000001")
	rev := &catalog.Revision{Identity: catalog.Identity{UpdateID: upd, RevisionNumber: 1}, Type: catalog.TypeSoftware, Title: "Update",
		PublicationState: "Published", CreationDate: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		CoreXML: "<Core/>", SourceXML: `<upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update" />`}
	if _, err := store.ImportRevisions(ctx, []*catalog.Revision{rev}); err != nil {
		t.Fatal(err)
	}
	pilot := uuid.New()
	if err := store.CreateTargetGroup(ctx, catalog.TargetGroup{ID: pilot, Name: "Pilot", ParentID: catalog.AllComputersGroupID}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.PutApprovalRule(ctx, catalog.ApprovalRule{ID: uuid.New(), Name: "All", Enabled: true,
		Groups: []uuid.UUID{catalog.AllComputersGroupID, pilot}}); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	broken, err := rules.New(rules.Config{Store: failingStore{store, pilot}, Holder: "a"})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := broken.Run(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Approved) != 1 || len(rep.Errors) != 1 || *rep.Approved[0].GroupID != catalog.AllComputersGroupID {
		t.Fatalf("first run: %+v", rep)
	}
	if n := audits(t, store); n != 1 {
		t.Errorf("%d approval.set entries after the first run, want 1", n)
	}
	healthy, err := rules.New(rules.Config{Store: store, Holder: "b"})
	if err != nil {
		t.Fatal(err)
	}
	rep, err = healthy.Run(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Approved) != 1 || len(rep.Errors) != 0 || *rep.Approved[0].GroupID != pilot {
		t.Fatalf("second run: %+v", rep)
	}
	if n := audits(t, store); n != 2 {
		t.Errorf("%d approval.set entries after the second run, want 2", n)
	}
	// Nothing left to do: a third run does nothing.
	rep, err = healthy.Run(ctx, now)
	if err != nil || len(rep.Approved)+len(rep.Errors) != 0 {
		t.Fatalf("third run: %+v, %v", rep, err)
	}
}

// TestDeletedGroup: a rule naming a deleted group approves for its other
// groups, a ring whose group was deleted waits saying so; neither fails.
func TestDeletedGroup(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	upd := uuid.MustParse("f0000000-0000-4000-8000-000000000001")
	rev := &catalog.Revision{Identity: catalog.Identity{UpdateID: upd, RevisionNumber: 1}, Type: catalog.TypeSoftware, Title: "Update",
		PublicationState: "Published", CreationDate: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		CoreXML: "<Core/>", SourceXML: `<upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update" />`}
	if _, err := store.ImportRevisions(ctx, []*catalog.Revision{rev}); err != nil {
		t.Fatal(err)
	}
	gone := uuid.New()
	if err := store.CreateTargetGroup(ctx, catalog.TargetGroup{ID: gone, Name: "Gone", ParentID: catalog.AllComputersGroupID}); err != nil {
		t.Fatal(err)
	}
	rule := catalog.ApprovalRule{ID: uuid.New(), Name: "All", Enabled: true, Groups: []uuid.UUID{gone, catalog.AllComputersGroupID}}
	if _, err := store.PutApprovalRule(ctx, rule); err != nil {
		t.Fatal(err)
	}
	if _, err := store.PutRing(ctx, catalog.Ring{ID: uuid.New(), RuleID: rule.ID, Name: "R", Position: 1, Group: gone}); err != nil {
		t.Fatal(err)
	}
	if err := store.DeleteTargetGroup(ctx, gone); err != nil {
		t.Fatal(err)
	}
	r, err := rules.New(rules.Config{Store: store, Holder: "a"})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := r.Run(ctx, time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) != 0 || len(rep.Approved) != 1 || *rep.Approved[0].GroupID != catalog.AllComputersGroupID {
		t.Fatalf("run: %+v", rep)
	}
	if len(rep.Waiting) != 1 || rep.Waiting[0].Reason != "waiting: the ring's target group no longer exists" {
		t.Errorf("waiting %+v", rep.Waiting)
	}
}

func audits(t *testing.T, s catalog.Store) int {
	t.Helper()
	e, err := s.Audit(context.Background(), catalog.AuditFilter{Action: "approval.set"})
	if err != nil {
		t.Fatal(err)
	}
	return len(e)
}
