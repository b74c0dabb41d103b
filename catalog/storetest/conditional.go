package storetest

import (
	"errors"
	"sync"
	"testing"

	"wsus/catalog"
)

// conditionalTests are the cases of catalog.ConditionalWrites.
var conditionalTests = []test{
	{"ConditionalGroupWrites", testConditionalGroupWrites},
	{"ConditionalSyncSettings", testConditionalSyncSettings},
	{"ConditionalWritesRace", testConditionalWritesRace},
}

// testConditionalGroupWrites: a rename or delete happens only while the
// group is still as read; otherwise nothing changes.
func testConditionalGroupWrites(t *testing.T, s catalog.Store) {
	c := ctx(t)
	must(t, "CreateTargetGroup Servers", s.CreateTargetGroup(c, groupServers))
	must(t, "CreateTargetGroup Web Servers", s.CreateTargetGroup(c, groupWeb))
	stale := groupServers
	stale.Name = "Servers (before)"
	wantKind(t, "rename as stale", s.RenameTargetGroupIf(c, stale, "Datacenter"), catalog.ErrPreconditionFailed)
	wantKind(t, "delete as stale", s.DeleteTargetGroupIf(c, stale), catalog.ErrPreconditionFailed)
	if got := groupNames(t, s)[groupServers.ID]; got != "Servers" {
		t.Fatalf("name after refused writes = %q", got)
	}
	must(t, "rename as read", s.RenameTargetGroupIf(c, groupServers, "Datacenter"))
	wantKind(t, "rename again from the same read", s.RenameTargetGroupIf(c, groupServers, "Other"), catalog.ErrPreconditionFailed)
	// The unconditional method's errors stay.
	renamed := groupServers
	renamed.Name = "Datacenter"
	wantKind(t, "rename to a taken name", s.RenameTargetGroupIf(c, renamed, "Web Servers"), catalog.ErrConflict)
	wantKind(t, "delete a group with children", s.DeleteTargetGroupIf(c, renamed), catalog.ErrConflict)
	must(t, "delete Web Servers as read", s.DeleteTargetGroupIf(c, groupWeb))
	must(t, "delete as read", s.DeleteTargetGroupIf(c, renamed))
	mustNotFound(t, "delete a deleted group", s.DeleteTargetGroupIf(c, renamed))
	if _, ok := groupNames(t, s)[groupServers.ID]; ok {
		t.Error("the group is still there")
	}
}

// testConditionalSyncSettings: settings are replaced only while they are
// as read, ChangedAt included.
func testConditionalSyncSettings(t *testing.T, s catalog.Store) {
	c := ctx(t)
	read, err := s.SyncSettings(c)
	must(t, "SyncSettings", err)
	first, second := read, read
	first.SyncsPerDay, second.SyncsPerDay = 2, 4
	must(t, "set as read", s.SetSyncSettingsIf(c, read, first))
	wantKind(t, "set again from the same read", s.SetSyncSettingsIf(c, read, second), catalog.ErrPreconditionFailed)
	now, err := s.SyncSettings(c)
	must(t, "SyncSettings", err)
	if now.SyncsPerDay != 2 {
		t.Fatalf("SyncsPerDay %d, want the first write's 2", now.SyncsPerDay)
	}
	bad := now
	bad.SyncsPerDay = -1
	wantKind(t, "invalid settings", s.SetSyncSettingsIf(c, now, bad), catalog.ErrInvalid)
	must(t, "set as read again", s.SetSyncSettingsIf(c, now, second))
}

// testConditionalWritesRace: writers that read the same state and write
// at once: exactly one wins, whatever the order.
func testConditionalWritesRace(t *testing.T, s catalog.Store) {
	c := ctx(t)
	must(t, "CreateTargetGroup Servers", s.CreateTargetGroup(c, groupServers))
	settings, err := s.SyncSettings(c)
	must(t, "SyncSettings", err)
	const writers = 4
	errs := make([]error, 2*writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() { errs[i] = s.RenameTargetGroupIf(c, groupServers, "Servers "+string(rune('A'+i))) })
		wg.Go(func() {
			next := settings
			next.SyncsPerDay = i + 1
			errs[writers+i] = s.SetSyncSettingsIf(c, settings, next)
		})
	}
	wg.Wait()
	for _, part := range []struct {
		what string
		errs []error
	}{{"renames", errs[:writers]}, {"settings", errs[writers:]}} {
		won := 0
		for _, err := range part.errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, catalog.ErrPreconditionFailed):
				t.Errorf("%s: %v, want nil or ErrPreconditionFailed", part.what, err)
			}
		}
		if won != 1 {
			t.Errorf("%s: %d of %d conditional writes from one read succeeded, want 1", part.what, won, writers)
		}
	}
}
