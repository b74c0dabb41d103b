// Package storetest is the conformance suite of catalog.Store. Every store
// (the embedded SQLite one, the PostgreSQL one) runs it from its own tests:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) catalog.Store { return openTempStore(t) })
//	}
//
// The suite builds its revisions in Go (fixtures.go) from real Microsoft
// Update identities and fragments, so it depends on no parser.
//
// Where the catalog.Store contract leaves a choice open the suite pins the
// choice down, so that every store behaves alike; each such test says so.
// Times in the suite have at most microsecond precision (PostgreSQL's).
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"testing"

	"wsus/catalog"
)

// Opener returns a new, empty store for one test. The suite closes it.
type Opener func(t *testing.T) catalog.Store

// Reopener closes s and returns a new store over the same data, as a
// restarted server would open it. The suite closes the new store.
type Reopener func(t *testing.T, s catalog.Store) catalog.Store

// test is one conformance test, run on a fresh store.
type test struct {
	name string
	run  func(t *testing.T, s catalog.Store)
}

// Run runs the conformance suite, one subtest per behaviour, each on a
// fresh store from open.
func Run(t *testing.T, open Opener) {
	tests := []test{
		{"ServerInfo", testServerInfo},
		{"ImportAssignsIncreasingIDs", testImportAssignsIDs},
		{"ReimportIdenticalIsUnchanged", testReimportIdentical},
		{"ReimportChangedKeepsID", testReimportChanged},
		{"ReimportEachFieldCounts", testReimportEachField},
		{"ImportMixedBatch", testImportMixedBatch},
		{"ImportRejectsBadRevisions", testImportRejectsBad},
		{"IsLeafOfFixtureCatalog", testIsLeaf},
		{"IsLeafFlipsOnLaterImports", testIsLeafFlips},
		{"SummariesContent", testSummaries},
		{"RevisionRoundTrip", testRevisionRoundTrip},
		{"Drivers", testDrivers},
		{"Fragments", testFragments},
		{"Files", testFiles},
		{"ChangeSequence", testChangeSequence},
		{"TargetGroupsSeeded", testTargetGroupsSeeded},
		{"CreateTargetGroup", testCreateTargetGroup},
		{"Approvals", testApprovals},
		{"ApprovalErrors", testApprovalErrors},
		{"ApprovalActions", testApprovalActions},
		{"ApprovalsSetUpdateState", testApprovalsSetUpdateState},
		{"Declines", testDeclines},
		{"DeclineErrors", testDeclineErrors},
		{"ComputerLifecycle", testComputerLifecycle},
		{"ComputersOrder", testComputersOrder},
		{"ComputerInventory", testComputerInventory},
		{"ComputerGroups", testComputerGroups},
		{"ComputerGroupsSurviveClientCalls", testComputerGroupsSurvive},
		{"ComputerGroupAssignments", testComputerGroupAssignments},
		{"RenameTargetGroup", testRenameTargetGroup},
		{"DeleteTargetGroup", testDeleteTargetGroup},
		{"DeleteComputers", testDeleteComputers},
		{"EventsDedupe", testEventsDedupe},
		{"EventsOrderAndFields", testEventsOrder},
		{"StatusesMergeAndReplace", testStatuses},
		{"Reports", testReports},
		{"ReportAtomic", testReportAtomic},
		{"CountEvents", testCountEvents},
		{"UnknownComputer", testUnknownComputer},
		{"ConcurrentWriters", testConcurrentWriters},
	}
	tests = append(tests, syncTests...)
	tests = append(tests, accessTests...)
	tests = append(tests, pagingTests...)
	tests = append(tests, conditionalTests...)
	tests = append(tests, rulesTests...)
	tests = append(tests, complianceTests...)
	tests = append(tests, statusSortTests...)
	tests = append(tests, statsTests...)
	tests = append(tests, installsTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tc.run(t, s)
		})
	}
}

// RunPersistence checks that everything a store keeps survives a reopen,
// and that revision, deployment and sync run IDs are not reused after one.
func RunPersistence(t *testing.T, open Opener, reopen Reopener) {
	t.Run("ReopenKeepsEverything", func(t *testing.T) {
		s := open(t)
		t.Cleanup(func() { s.Close() })
		testReopen(t, s, func(s catalog.Store) catalog.Store {
			s2 := reopen(t, s)
			t.Cleanup(func() { s2.Close() })
			return s2
		})
	})
	t.Run("ReopenKeepsSync", func(t *testing.T) {
		s := open(t)
		t.Cleanup(func() { s.Close() })
		testReopenSync(t, s, func(s catalog.Store) catalog.Store {
			s2 := reopen(t, s)
			t.Cleanup(func() { s2.Close() })
			return s2
		})
	})
}

// check reports a mismatch of got and want (compared with reflect.DeepEqual).
func check(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// must fails the test now on err.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// mustNotFound fails unless err wraps catalog.ErrNotFound.
func mustNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("%s: got error %v, want one wrapping catalog.ErrNotFound", what, err)
	}
}

func importRevs(t *testing.T, s catalog.Store, revs []*catalog.Revision) catalog.ImportResult {
	t.Helper()
	res, err := s.ImportRevisions(t.Context(), revs)
	must(t, "ImportRevisions", err)
	return res
}

func summaries(t *testing.T, s catalog.Store) []catalog.Summary {
	t.Helper()
	sums, err := s.Summaries(t.Context())
	must(t, "Summaries", err)
	return sums
}

func changeSeq(t *testing.T, s catalog.Store) int64 {
	t.Helper()
	v, err := s.ChangeSequence(t.Context())
	must(t, "ChangeSequence", err)
	return v
}

// byID indexes summaries by revision ID.
func byID(sums []catalog.Summary) map[int32]catalog.Summary {
	m := make(map[int32]catalog.Summary, len(sums))
	for _, s := range sums {
		m[s.ID] = s
	}
	return m
}

// revIDs returns the IDs of revs.
func revIDs(revs []*catalog.Revision) []int32 {
	ids := make([]int32, len(revs))
	for i, r := range revs {
		ids[i] = r.ID
	}
	return ids
}

// normRevision returns a copy of r with empty lists and maps as nil, the
// form the suite compares in (stores may return either).
func normRevision(r *catalog.Revision) *catalog.Revision {
	c := *r
	c.Prerequisites = normClauses(r.Prerequisites)
	c.BundledUpdates = nilIfEmpty(r.BundledUpdates)
	c.SupersededUpdates = nilIfEmpty(r.SupersededUpdates)
	c.Files = nil
	for _, f := range r.Files {
		f.SHA256 = nilIfEmpty(f.SHA256)
		c.Files = append(c.Files, f)
	}
	if len(r.Localized) == 0 {
		c.Localized = nil
	}
	if len(r.Eulas) == 0 {
		c.Eulas = nil
	}
	c.Drivers = normDrivers(r.Drivers)
	return &c
}

// normSummary is normRevision for a summary.
func normSummary(s catalog.Summary) catalog.Summary {
	s.Prerequisites = normClauses(s.Prerequisites)
	s.BundledUpdates = nilIfEmpty(s.BundledUpdates)
	s.SupersededUpdates = nilIfEmpty(s.SupersededUpdates)
	s.Drivers = normDrivers(s.Drivers)
	return s
}

func normClauses(cs []catalog.PrerequisiteClause) []catalog.PrerequisiteClause {
	if len(cs) == 0 {
		return nil
	}
	out := make([]catalog.PrerequisiteClause, len(cs))
	for i, c := range cs {
		out[i] = catalog.PrerequisiteClause{IsCategory: c.IsCategory, UpdateIDs: nilIfEmpty(c.UpdateIDs)}
	}
	return out
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

// summaryOf is the summary a store must give for the imported revision r.
// Imported and Changed are left zero: compare them apart.
func summaryOf(r *catalog.Revision, leaf bool) catalog.Summary {
	n := normRevision(r)
	return catalog.Summary{
		ID:                r.ID,
		Identity:          r.Identity,
		Type:              r.Type,
		CategoryType:      r.CategoryType,
		Title:             r.Title,
		KBArticleID:       r.KBArticleID,
		PublicationState:  r.PublicationState,
		IsLeaf:            leaf,
		Prerequisites:     n.Prerequisites,
		BundledUpdates:    n.BundledUpdates,
		SupersededUpdates: n.SupersededUpdates,
		HasFiles:          len(r.Files) > 0,
		Drivers:           n.Drivers,
	}
}

// sortFragments orders fragments by revision ID and language: the contract
// fixes no order.
func sortFragments(fs []catalog.Fragment) []catalog.Fragment {
	sort.Slice(fs, func(i, j int) bool {
		if fs[i].RevisionID != fs[j].RevisionID {
			return fs[i].RevisionID < fs[j].RevisionID
		}
		return fs[i].Language < fs[j].Language
	})
	return nilIfEmpty(fs)
}

// ctx is the context of a test.
func ctx(t *testing.T) context.Context { return t.Context() }

// describe names a revision for messages.
func describe(r *catalog.Revision) string {
	return fmt.Sprintf("%s/%d (%s)", r.UpdateID, r.RevisionNumber, r.Title)
}
