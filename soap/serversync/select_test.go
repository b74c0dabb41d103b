package serversync

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/sync/upstream"
)

// A small catalog of summaries, by name: a company, a product family and
// two products under it, a classification, a detectoid, and updates whose
// Changed sequences tell which import wrote them.
var (
	gCompany  = uuid.MustParse("00000000-0000-0000-0000-0000000000c0")
	gFamily   = uuid.MustParse("00000000-0000-0000-0000-0000000000f0")
	gProdA    = uuid.MustParse("00000000-0000-0000-0000-0000000000a0")
	gProdB    = uuid.MustParse("00000000-0000-0000-0000-0000000000b0")
	gClassSec = uuid.MustParse("00000000-0000-0000-0000-00000000005e")
	gClassDef = uuid.MustParse("00000000-0000-0000-0000-0000000000de")
	gDetect   = uuid.MustParse("00000000-0000-0000-0000-0000000000d7")
	gBundleA  = uuid.MustParse("00000000-0000-0000-0000-000000000b1a")
	gLeafA    = uuid.MustParse("00000000-0000-0000-0000-0000000001ea")
	gPrereqA  = uuid.MustParse("00000000-0000-0000-0000-0000000002ea")
	gUpdB     = uuid.MustParse("00000000-0000-0000-0000-000000000b0b")
	gUpdBDef  = uuid.MustParse("00000000-0000-0000-0000-000000000bde")
	gNoClass  = uuid.MustParse("00000000-0000-0000-0000-000000000ecc")
)

func isCat(ids ...uuid.UUID) catalog.PrerequisiteClause {
	return catalog.PrerequisiteClause{IsCategory: true, UpdateIDs: ids}
}

func plain(ids ...uuid.UUID) catalog.PrerequisiteClause {
	return catalog.PrerequisiteClause{UpdateIDs: ids}
}

func testSummaries() []catalog.Summary {
	var out []catalog.Summary
	add := func(id uuid.UUID, rev int32, typ catalog.UpdateType, changed int64, prereqs []catalog.PrerequisiteClause, bundled ...catalog.Identity) {
		out = append(out, catalog.Summary{ID: int32(len(out) + 1), Identity: catalog.Identity{UpdateID: id, RevisionNumber: rev},
			Type: typ, Changed: changed, Prerequisites: prereqs, BundledUpdates: bundled, PublicationState: "Published"})
	}
	add(gCompany, 1, catalog.TypeCategory, 1, nil)
	add(gFamily, 1, catalog.TypeCategory, 1, []catalog.PrerequisiteClause{isCat(gCompany)})
	add(gProdA, 1, catalog.TypeCategory, 1, []catalog.PrerequisiteClause{isCat(gFamily)})
	add(gProdB, 1, catalog.TypeCategory, 1, []catalog.PrerequisiteClause{isCat(gFamily)})
	add(gClassSec, 1, catalog.TypeCategory, 1, nil)
	add(gClassDef, 1, catalog.TypeCategory, 1, nil)
	add(gDetect, 1, catalog.TypeDetectoid, 1, nil)
	// Product A, security: a bundle of one leaf (which names the product
	// in a plain clause, as real leaves do) with a software prerequisite.
	add(gLeafA, 100, catalog.TypeSoftware, 1, []catalog.PrerequisiteClause{plain(gDetect), plain(gProdA)})
	add(gPrereqA, 100, catalog.TypeSoftware, 1, nil)
	add(gBundleA, 100, catalog.TypeSoftware, 1, []catalog.PrerequisiteClause{isCat(gProdA), isCat(gClassSec), plain(gPrereqA)},
		catalog.Identity{UpdateID: gLeafA, RevisionNumber: 100})
	// Product B, security, revision 100 then 101 (changed at 3).
	add(gUpdB, 100, catalog.TypeSoftware, 1, []catalog.PrerequisiteClause{isCat(gProdB), isCat(gClassSec)})
	add(gUpdB, 101, catalog.TypeSoftware, 3, []catalog.PrerequisiteClause{isCat(gProdB), isCat(gClassSec)})
	// Product B, definitions, changed at 2.
	add(gUpdBDef, 100, catalog.TypeDriver, 2, []catalog.PrerequisiteClause{isCat(gProdB), isCat(gClassDef)})
	// No classification at all.
	add(gNoClass, 100, catalog.TypeSoftware, 2, []catalog.PrerequisiteClause{isCat(gProdA)})
	// A category changed at 3.
	add(gClassDef, 2, catalog.TypeCategory, 3, nil)
	return out
}

var names = map[uuid.UUID]string{
	gCompany: "company", gFamily: "family", gProdA: "prodA", gProdB: "prodB", gClassSec: "sec", gClassDef: "def",
	gDetect: "detectoid", gBundleA: "bundleA", gLeafA: "leafA", gPrereqA: "prereqA", gUpdB: "updB", gUpdBDef: "updBDef", gNoClass: "noClass",
}

func TestSelectRevisions(t *testing.T) {
	x := newIndex(3, testSummaries())
	at1 := &anchor{seq: 1, at: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	at3 := &anchor{seq: 3}
	d := func(id uuid.UUID, delta bool) []idAndDelta { return []idAndDelta{{ID: id, Delta: delta}} }
	for _, tc := range []struct {
		name string
		f    filter
		want string
	}{
		{"config, no anchor", filter{GetConfig: true},
			"company/1 family/1 prodA/1 prodB/1 sec/1 def/1 detectoid/1 def/2"},
		{"config since 1", filter{GetConfig: true, Anchor: at1}, "def/2"},
		{"config ignores lists", filter{GetConfig: true, Anchor: at3, Categories: d(gProdA, false), Classifications: d(gClassSec, false)}, ""},
		{"unfiltered, no anchor", filter{},
			"leafA/100 prereqA/100 bundleA/100 updB/100 updB/101 updBDef/100 noClass/100"},
		{"unfiltered since 1 (spec, not the real WSUS's 0)", filter{Anchor: at1}, "updB/101 updBDef/100 noClass/100"},
		{"categories only", filter{Categories: d(gProdA, false)}, ""},
		{"classifications only", filter{Classifications: d(gClassSec, false)}, ""},
		{"product A security: bundle, leaf, prerequisite", filter{Categories: d(gProdA, false), Classifications: d(gClassSec, false)},
			"leafA/100 prereqA/100 bundleA/100"},
		{"product B security: every revision", filter{Categories: d(gProdB, false), Classifications: d(gClassSec, false)},
			"updB/100 updB/101"},
		{"family selects its products", filter{Categories: d(gFamily, false), Classifications: d(gClassSec, false)},
			"leafA/100 prereqA/100 bundleA/100 updB/100 updB/101"},
		{"company too", filter{Categories: d(gCompany, false), Classifications: d(gClassDef, false)}, "updBDef/100"},
		{"delta since 1", filter{Anchor: at1, Categories: d(gProdB, true), Classifications: d(gClassSec, true)}, "updB/101"},
		{"delta since 3: nothing", filter{Anchor: at3, Categories: d(gFamily, true), Classifications: d(gClassSec, true)}, ""},
		{"new classification in full", filter{Anchor: at3,
			Categories:      []idAndDelta{{gProdA, true}, {gProdB, true}},
			Classifications: []idAndDelta{{gClassSec, true}, {gClassDef, false}}}, "updBDef/100"},
		{"new product in full", filter{Anchor: at3, Categories: []idAndDelta{{gProdA, false}, {gProdB, true}}, Classifications: d(gClassSec, true)},
			"leafA/100 prereqA/100 bundleA/100"},
		{"unknown category", filter{Categories: d(uuid.New(), false), Classifications: d(gClassSec, false)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, i := range x.selectRevisions(tc.f) {
				sm := x.sums[i]
				got = append(got, names[sm.UpdateID]+"/"+strconv.Itoa(int(sm.RevisionNumber)))
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Errorf("got  %q\nwant %q", g, tc.want)
			}
		})
	}
}

func TestAnchor(t *testing.T) {
	a := anchor{seq: 9438, at: time.Date(2026, 10, 4, 16, 33, 26, 670_000_000, time.UTC)}
	if got, want := a.String(), "9438,2026-10-04 16:33:26.670"; got != want {
		t.Fatalf("String() = %q, want %q (the real WSUS form)", got, want)
	}
	back, err := parseAnchor(a.String())
	if err != nil || back != a {
		t.Fatalf("parseAnchor(%q) = %v, %v", a.String(), back, err)
	}
	for _, bad := range []string{"", "garbage", "9438", ",2026-10-04 16:33:26.670", "-1,2026-10-04 16:33:26.670",
		"+1,2026-10-04 16:33:26.670", "1,2026-10-04", "1,2026-10-04T16:33:26.670", "2026-10-05 17:27:44.393", "x,2026-10-04 16:33:26.670"} {
		if _, err := parseAnchor(bad); err == nil {
			t.Errorf("parseAnchor(%q) succeeded", bad)
		}
	}
}

func TestIsFQDN(t *testing.T) {
	for name, want := range map[string]bool{
		"probe.lab.invalid": true, "wsus": true, "wsus-2.example.com.": true, "1host.example": true,
		"": false, ".": false, "a..b": false, "-a.b": false, "a-.b": false, "a b": false, "a_b.c": false,
		strings.Repeat("a", 64): false, strings.Repeat("a.", 128) + "a": false,
	} {
		if got := isFQDN(name); got != want {
			t.Errorf("isFQDN(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestDocumentElement(t *testing.T) {
	for in, want := range map[string]string{
		`<upd:Update/>`: `<upd:Update/>`,
		"<?xml version=\"1.0\" encoding=\"utf-16\"?>\r\n<!-- source: x -->\n<upd:Update/>": `<upd:Update/>`,
		"<!-- unterminated": "<!-- unterminated",
	} {
		if got := documentElement(in); got != want {
			t.Errorf("documentElement(%q) = %q, want %q", in, got, want)
		}
	}
	if !slices.Equal([]byte(documentElement("  <a/>")), []byte("<a/>")) {
		t.Error("leading white space kept")
	}
}

// TestProtocolVersion: the server reports the version its own client
// speaks.
func TestProtocolVersion(t *testing.T) {
	if ProtocolVersion != upstream.DefaultProtocolVersion {
		t.Errorf("ProtocolVersion %q, the sync client sends %q", ProtocolVersion, upstream.DefaultProtocolVersion)
	}
}
