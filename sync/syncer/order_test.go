package syncer

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/sync/wsusss"
)

// rev returns a revision named n (its UpdateID derived from n) bundling
// and requiring the revisions named.
func rev(n string, bundles []string, requires []string) *catalog.Revision {
	r := &catalog.Revision{Identity: ident(n), SourceXML: "<doc/>"}
	for _, b := range bundles {
		r.BundledUpdates = append(r.BundledUpdates, ident(b))
	}
	for _, p := range requires {
		r.Prerequisites = append(r.Prerequisites, catalog.PrerequisiteClause{UpdateIDs: []uuid.UUID{ident(p).UpdateID}})
	}
	return r
}

func ident(n string) catalog.Identity {
	return catalog.Identity{UpdateID: uuid.NewSHA1(uuid.Nil, []byte(n)), RevisionNumber: 100}
}

func wsIdent(n string) wsusss.UpdateIdentity {
	id := ident(n)
	return wsusss.UpdateIdentity{UpdateID: id.UpdateID, RevisionNumber: id.RevisionNumber}
}

func names(revs []*catalog.Revision, all map[catalog.Identity]string) []string {
	var out []string
	for _, r := range revs {
		out = append(out, all[r.Identity])
	}
	return out
}

func TestOrderStoresDependenciesFirst(t *testing.T) {
	// Each arrival is one GetUpdateData answer; batch is the ImportBatch.
	for _, tc := range []struct {
		name     string
		listed   []string
		arrivals [][]*catalog.Revision
		batch    int
		max      int64
		want     [][]string // the batches ready calls return, in order
	}{
		{
			name:   "bundle before its members waits for them",
			listed: []string{"bundle", "leaf1", "leaf2"},
			arrivals: [][]*catalog.Revision{
				{rev("bundle", []string{"leaf1", "leaf2"}, nil)},
				{rev("leaf1", nil, nil)},
				{rev("leaf2", nil, nil)},
			},
			batch: 1,
			want:  [][]string{{"leaf1"}, {"leaf2"}, {"bundle"}},
		},
		{
			name:   "a prerequisite listed later is stored first",
			listed: []string{"needs", "base"},
			arrivals: [][]*catalog.Revision{
				{rev("needs", nil, []string{"base"})},
				{rev("base", nil, nil)},
			},
			batch: 10,
			want:  [][]string{{"base", "needs"}},
		},
		{
			name:   "what the list does not name is not waited for",
			listed: []string{"bundle"},
			arrivals: [][]*catalog.Revision{
				{rev("bundle", []string{"elsewhere"}, []string{"stored-already"})},
			},
			batch: 1,
			want:  [][]string{{"bundle"}},
		},
		{
			name:   "a cycle is stored at the end",
			listed: []string{"a", "b", "c"},
			arrivals: [][]*catalog.Revision{
				{rev("a", nil, []string{"b"}), rev("b", nil, []string{"a"})},
				{rev("c", nil, nil)},
			},
			batch: 1,
			want:  [][]string{{"c"}, {"a"}, {"b"}},
		},
		{
			name:   "memory bound releases the oldest waiting",
			listed: []string{"b1", "b2", "leaf"},
			arrivals: [][]*catalog.Revision{
				{rev("b1", []string{"leaf"}, nil)},
				{rev("b2", []string{"leaf"}, nil)},
				{rev("leaf", nil, nil)},
			},
			batch: 1,
			max:   int64(len("<doc/>")), // one waiting document fits
			want:  [][]string{{"b1"}, {"leaf"}, {"b2"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			all := map[catalog.Identity]string{}
			var want []wsusss.UpdateIdentity
			for _, n := range append(slices.Clone(tc.listed), "elsewhere", "stored-already") {
				all[ident(n)] = n
			}
			for _, n := range tc.listed {
				want = append(want, wsIdent(n))
			}
			maxPending := tc.max
			if maxPending == 0 {
				maxPending = 1 << 20
			}
			o := newOrder(want, maxPending)
			var got [][]string
			for _, a := range tc.arrivals {
				o.add(a)
				for b := o.ready(tc.batch, false); b != nil; b = o.ready(tc.batch, false) {
					got = append(got, names(b, all))
				}
			}
			for b := o.ready(tc.batch, true); b != nil; b = o.ready(tc.batch, true) {
				got = append(got, names(b, all))
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("batches %v, want %v", got, tc.want)
			}
		})
	}
}
