package scan_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"wsus/catalog"
	"wsus/catalog/scan"
)

// benchCatalog is the standard catalog plus n software updates under
// Windows 11, every fifth bundling the next one, every update but the
// bundle members approved for install; it returns the snapshot and the
// request of a client caching every revision in scope.
func benchCatalog(b *testing.B, n int) (*scan.Snapshot, scan.SyncRequest) {
	b.Helper()
	g := standard(b)
	var rs []rev
	for i := range n {
		r := rev{name: fmt.Sprintf("KB%d", i), typ: catalog.TypeSoftware, prereqs: []string{"cat:Windows 11"}}
		if i%5 == 0 && i+1 < n {
			r.bundles = []string{fmt.Sprintf("KB%d", i+1)}
		}
		// Unapproved bundle members supersede the member a hundred
		// before: the scope is the same whether or not supersedence by an
		// approved update narrows it (it did until issue 10).
		if i >= 100 && i%5 == 1 {
			r.supersedes = []string{fmt.Sprintf("KB%d", i-100)}
		}
		rs = append(rs, r)
	}
	g.add(rs...)
	for i := range n {
		if i%5 != 1 {
			g.approve(fmt.Sprintf("KB%d", i), catalog.AllComputersGroupID, catalog.ActionInstall)
		}
	}
	snap := g.snapshot()
	groups := snap.ResolveGroups(nil, nil)
	var installed, other []int32
	for id := range snap.Scope(groups).All() {
		if r, _ := snap.Revision(id); !r.IsLeaf {
			installed = append(installed, id)
		} else {
			other = append(other, id)
		}
	}
	return snap, scan.SyncRequest{Groups: groups, InstalledNonLeaf: installed, OtherCached: slices.Clone(other)}
}

// BenchmarkSyncDelta: the engine's part of a steady-state round: a client
// caching every revision of a 3,000-update catalog, its anchor past every
// change.
func BenchmarkSyncDelta(b *testing.B) {
	snap, req := benchCatalog(b, 3000)
	req.Anchor = time.Now() // past every import and approval
	if res := snap.Sync(req); len(res.ChangedUpdates)+len(res.NewUpdates) != 0 {
		b.Fatalf("not a delta: %d changed, %d new", len(res.ChangedUpdates), len(res.NewUpdates))
	}
	b.ReportAllocs()
	for b.Loop() {
		snap.Sync(req)
	}
}

// BenchmarkSyncFirstPage: the first round of a client caching nothing but
// the installed categories (a page of new updates).
func BenchmarkSyncFirstPage(b *testing.B) {
	snap, req := benchCatalog(b, 3000)
	req.OtherCached = nil
	req.Anchor = time.Now()
	b.ReportAllocs()
	for b.Loop() {
		snap.Sync(req)
	}
}
