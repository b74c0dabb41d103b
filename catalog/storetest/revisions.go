package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

func testImportAssignsIDs(t *testing.T, s catalog.Store) {
	revs := fixtureCatalog()
	res := importRevs(t, s, revs)
	check(t, "first import result", res, catalog.ImportResult{Added: fxCount})
	last := int32(0)
	for _, r := range revs {
		if r.ID <= last {
			t.Errorf("revision %s got ID %d after %d: IDs must grow in import order", describe(r), r.ID, last)
		}
		last = r.ID
	}
	more := Synthetic(5, "second-batch")
	res = importRevs(t, s, more)
	check(t, "second import result", res, catalog.ImportResult{Added: 5})
	for _, r := range more {
		if r.ID <= last {
			t.Errorf("revision %s got ID %d after %d: IDs must grow in import order", describe(r), r.ID, last)
		}
		last = r.ID
	}
	sums := summaries(t, s)
	want := append(revIDs(revs), revIDs(more)...)
	var got []int32
	for _, sm := range sums {
		got = append(got, sm.ID)
	}
	check(t, "Summaries IDs (ordered by ID)", got, want)
}

func testReimportIdentical(t *testing.T, s catalog.Store) {
	first := fixtureCatalog()
	importRevs(t, s, first)
	before := summaries(t, s)
	seq := changeSeq(t, s)

	// The same revisions in reverse order, with empty lists instead of nil
	// and times in another zone: nothing the store keeps differs.
	again := fixtureCatalog()
	paris := time.FixedZone("CEST", 2*60*60)
	for _, r := range again {
		r.CreationDate = r.CreationDate.In(paris)
		if r.BundledUpdates == nil {
			r.BundledUpdates = []catalog.Identity{}
		}
		if r.Localized == nil {
			r.Localized = map[string]string{}
		}
	}
	reversed := make([]*catalog.Revision, len(again))
	for i, r := range again {
		reversed[len(again)-1-i] = r
	}
	res := importRevs(t, s, reversed)
	check(t, "re-import result", res, catalog.ImportResult{Unchanged: fxCount})
	check(t, "IDs written back on re-import", revIDs(again), revIDs(first))
	check(t, "Summaries after identical re-import", summaries(t, s), before)
	if got := changeSeq(t, s); got != seq {
		t.Errorf("ChangeSequence moved from %d to %d on an identical re-import; nothing changed", seq, got)
	}
}

func testReimportChanged(t *testing.T, s catalog.Store) {
	revs := fixtureCatalog()
	importRevs(t, s, revs)
	before := byID(summaries(t, s))
	seq := changeSeq(t, s)

	// A changed AM engine revision: new title, detectoid C no longer a
	// prerequisite, a second file, no German properties.
	changed := fixtureCatalog()[fxAMEngine]
	changed.Title = "AM Engine 1.1.26080.3 for Defender amd64fre Broad (re-released)"
	changed.Prerequisites = []catalog.PrerequisiteClause{
		clause(notCategory, idDetectoidA),
		clause(notCategory, idDetectoidB),
		clause(notCategory, idDefender),
	}
	changed.Files = append(changed.Files, catalog.File{
		SHA1: b64(sha1UnknownFile), FileName: "empty.txt", Size: 0, Modified: date("2026-08-18T00:39:05.5Z"),
	})
	delete(changed.Localized, "de")
	res := importRevs(t, s, []*catalog.Revision{changed})
	check(t, "import result of a changed revision", res, catalog.ImportResult{})
	if changed.ID != revs[fxAMEngine].ID {
		t.Fatalf("changed revision got ID %d, want its existing %d", changed.ID, revs[fxAMEngine].ID)
	}
	got, err := s.Revision(ctx(t), changed.ID)
	must(t, "Revision", err)
	check(t, "Revision after a changed re-import", normRevision(got), normRevision(changed))

	after := byID(summaries(t, s))
	if len(after) != fxCount {
		t.Errorf("got %d summaries after a changed re-import, want %d", len(after), fxCount)
	}
	sm := after[changed.ID]
	want := summaryOf(changed, true)
	want.Imported = sm.Imported
	// The rewrite was the last change: Changed is the sequence it
	// committed.
	want.Changed = changeSeq(t, s)
	check(t, "summary of the changed revision", normSummary(sm), want)
	if !sm.Imported.Equal(before[changed.ID].Imported) {
		t.Errorf("Imported moved from %v to %v: it is when the revision entered the catalog", before[changed.ID].Imported, sm.Imported)
	}
	if !after[revs[fxDetectoidC].ID].IsLeaf {
		t.Errorf("detectoid C is still non-leaf after the only revision naming it dropped it")
	}
	if got := changeSeq(t, s); got <= seq {
		t.Errorf("ChangeSequence %d did not grow past %d on a changed re-import", got, seq)
	}
}

// testReimportEachField changes one field at a time: every field the store
// keeps must count in telling a changed revision from an identical one.
func testReimportEachField(t *testing.T, s catalog.Store) {
	revs := fixtureCatalog()
	importRevs(t, s, revs)
	changes := []struct {
		field  string
		change func(r *catalog.Revision)
	}{
		{"Type", func(r *catalog.Revision) { r.Type = catalog.TypeDriver }},
		{"CategoryType", func(r *catalog.Revision) { r.CategoryType = "Product" }},
		{"Title", func(r *catalog.Revision) { r.Title += " (v2)" }},
		{"Description", func(r *catalog.Revision) { r.Description = "Engine update." }},
		{"KBArticleID", func(r *catalog.Revision) { r.KBArticleID = "4052623" }},
		{"PublicationState", func(r *catalog.Revision) { r.PublicationState = "Expired" }},
		{"CreationDate", func(r *catalog.Revision) { r.CreationDate = r.CreationDate.Add(time.Microsecond) }},
		{"prerequisite IsCategory", func(r *catalog.Revision) { r.Prerequisites[0].IsCategory = true }},
		{"prerequisite clause split", func(r *catalog.Revision) {
			r.Prerequisites = []catalog.PrerequisiteClause{clause(notCategory, idDefinitionUpd, idDefender)}
		}},
		{"bundled revision number", func(r *catalog.Revision) { r.BundledUpdates[1].RevisionNumber = 201 }},
		{"bundle order", func(r *catalog.Revision) {
			r.BundledUpdates[0], r.BundledUpdates[1] = r.BundledUpdates[1], r.BundledUpdates[0]
		}},
		{"superseded", func(r *catalog.Revision) { r.SupersededUpdates = nil }},
		{"file added", func(r *catalog.Revision) { r.Files = fixtureCatalog()[fxAMEngine].Files }},
		{"CoreXML", func(r *catalog.Revision) { r.CoreXML += " " }},
		{"ExtendedXML", func(r *catalog.Revision) { r.ExtendedXML = extendedAMEngine }},
		{"Localized value", func(r *catalog.Revision) { r.Localized["en"] += " " }},
		{"Localized language", func(r *catalog.Revision) { r.Localized["de"] = r.Localized["en"]; delete(r.Localized, "en") }},
		{"Eula", func(r *catalog.Revision) { r.Eulas["en"] += " " }},
		{"SourceXML", func(r *catalog.Revision) { r.SourceXML += "\n" }},
	}
	fileChanges := []struct {
		field  string
		change func(f *catalog.File)
	}{
		{"file SHA-1", func(f *catalog.File) { f.SHA1 = b64(sha1UnknownFile) }},
		{"file SHA-256", func(f *catalog.File) { f.SHA256 = nil }},
		{"file name", func(f *catalog.File) { f.FileName = "am_engine.exe" }},
		{"file size", func(f *catalog.File) { f.Size++ }},
		{"file Modified", func(f *catalog.File) { f.Modified = f.Modified.Add(time.Millisecond) }},
	}
	for _, fc := range fileChanges {
		changes = append(changes, struct {
			field  string
			change func(r *catalog.Revision)
		}{fc.field, func(r *catalog.Revision) { fc.change(&r.Files[0]) }})
	}
	for _, tc := range changes {
		// Each change applies to the AM engine (files) or the bundle (the rest).
		i := fxEngineBundle
		if strings.HasPrefix(tc.field, "file ") && tc.field != "file added" {
			i = fxAMEngine
		}
		r := fixtureCatalog()[i]
		tc.change(r)
		res, err := s.ImportRevisions(ctx(t), []*catalog.Revision{r})
		must(t, "ImportRevisions with a changed "+tc.field, err)
		if res != (catalog.ImportResult{}) {
			t.Errorf("changed %s: import result %+v, want neither added nor unchanged", tc.field, res)
		}
		if r.ID != revs[i].ID {
			t.Errorf("changed %s: got ID %d, want %d", tc.field, r.ID, revs[i].ID)
		}
		got, err := s.Revision(ctx(t), revs[i].ID)
		must(t, "Revision", err)
		check(t, "Revision after a changed "+tc.field, normRevision(got), normRevision(r))
		// Put the original back for the next change.
		importRevs(t, s, []*catalog.Revision{fixtureCatalog()[i]})
	}
}

func testImportMixedBatch(t *testing.T, s catalog.Store) {
	first := fixtureCatalog()[:5]
	importRevs(t, s, first)
	second := fixtureCatalog()[3:8]
	res := importRevs(t, s, second)
	check(t, "import result of a batch of 2 known and 3 new", res, catalog.ImportResult{Added: 3, Unchanged: 2})
	check(t, "IDs of the known revisions", revIDs(second[:2]), revIDs(first[3:5]))

	// The same new identity twice in one batch: added once, then unchanged.
	dup := fixtureCatalog()
	res = importRevs(t, s, []*catalog.Revision{dup[fxEngineBundle], fixtureCatalog()[fxEngineBundle]})
	check(t, "import result of a duplicated identity", res, catalog.ImportResult{Added: 1, Unchanged: 1})
	if len(summaries(t, s)) != 9 {
		t.Errorf("got %d revisions, want 9", len(summaries(t, s)))
	}
}

func testImportRejectsBad(t *testing.T, s catalog.Store) {
	importRevs(t, s, fixtureCatalog()[:2])
	seq := changeSeq(t, s)
	bad := []struct {
		name string
		rev  func() *catalog.Revision
	}{
		{"nil revision", func() *catalog.Revision { return nil }},
		{"nil UpdateID", func() *catalog.Revision {
			r := fixtureCatalog()[fxDetectoidA]
			r.UpdateID = uuid.Nil
			return r
		}},
		{"empty prerequisite clause", func() *catalog.Revision {
			r := fixtureCatalog()[fxDetectoidA]
			r.Prerequisites = []catalog.PrerequisiteClause{{IsCategory: true}}
			return r
		}},
		{"short SHA-1", func() *catalog.Revision {
			r := fixtureCatalog()[fxAMEngine]
			r.Files[0].SHA1 = r.Files[0].SHA1[:19]
			return r
		}},
		{"short SHA-256", func() *catalog.Revision {
			r := fixtureCatalog()[fxAMEngine]
			r.Files[0].SHA256 = r.Files[0].SHA256[:31]
			return r
		}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			good := fixtureCatalog()[fxRollupFix]
			_, err := s.ImportRevisions(ctx(t), []*catalog.Revision{good, tc.rev()})
			if err == nil {
				t.Fatalf("ImportRevisions accepted a batch with a %s", tc.name)
			}
			if good.ID != 0 {
				t.Errorf("the good revision of a failed batch got ID %d, want 0", good.ID)
			}
			if n := len(summaries(t, s)); n != 2 {
				t.Errorf("a failed batch left %d revisions, want the 2 imported before", n)
			}
			if got := changeSeq(t, s); got != seq {
				t.Errorf("ChangeSequence moved from %d to %d on a failed import", seq, got)
			}
		})
	}
}

func testIsLeaf(t *testing.T, s catalog.Store) {
	revs := fixtureCatalog()
	importRevs(t, s, revs)
	sums := byID(summaries(t, s))
	for i, r := range revs {
		if got := sums[r.ID].IsLeaf; got != fixtureLeaves[i] {
			t.Errorf("IsLeaf of %s = %v, want %v", describe(r), got, fixtureLeaves[i])
		}
	}
}

func testIsLeafFlips(t *testing.T, s catalog.Store) {
	leaves := func() map[catalog.Identity]bool {
		m := map[catalog.Identity]bool{}
		for _, sm := range summaries(t, s) {
			m[sm.Identity] = sm.IsLeaf
		}
		return m
	}
	a := catalog.Identity{UpdateID: idDetectoidA, RevisionNumber: 200}
	a2 := catalog.Identity{UpdateID: idDetectoidA, RevisionNumber: 201}
	b := catalog.Identity{UpdateID: idDetectoidB, RevisionNumber: 200}
	b2 := catalog.Identity{UpdateID: idDetectoidB, RevisionNumber: 201}
	bundle := catalog.Identity{UpdateID: idEngineBundle, RevisionNumber: 200}

	steps := []struct {
		name   string
		revs   func() []*catalog.Revision
		leaves map[catalog.Identity]bool
	}{
		{"detectoid A alone is a leaf", func() []*catalog.Revision {
			return []*catalog.Revision{detectoid(idDetectoidA)}
		}, map[catalog.Identity]bool{a: true}},
		{"B names A: every revision of A flips to non-leaf", func() []*catalog.Revision {
			newA := detectoid(idDetectoidA)
			newA.RevisionNumber = 201
			return []*catalog.Revision{newA, detectoid(idDetectoidB, clause(notCategory, idDetectoidA))}
		}, map[catalog.Identity]bool{a: false, a2: false, b: true}},
		{"bundling B does not make it non-leaf", func() []*catalog.Revision {
			r := &catalog.Revision{Identity: bundle, Type: catalog.TypeSoftware, Title: "bundle",
				BundledUpdates: []catalog.Identity{b}}
			return []*catalog.Revision{r}
		}, map[catalog.Identity]bool{a: false, a2: false, b: true, bundle: true}},
		{"a new revision of B without prerequisites: B r200 still names A", func() []*catalog.Revision {
			r := detectoid(idDetectoidB)
			r.RevisionNumber = 201
			return []*catalog.Revision{r}
		}, map[catalog.Identity]bool{a: false, a2: false, b: true, b2: true, bundle: true}},
		{"B r200 changed to drop A: A flips back to leaf", func() []*catalog.Revision {
			return []*catalog.Revision{detectoid(idDetectoidB)}
		}, map[catalog.Identity]bool{a: true, a2: true, b: true, b2: true, bundle: true}},
	}
	for _, st := range steps {
		importRevs(t, s, st.revs())
		check(t, "IsLeaf after step "+st.name, leaves(), st.leaves)
	}
}

func testSummaries(t *testing.T, s catalog.Store) {
	revs := fixtureCatalog()
	importRevs(t, s, revs)
	seq := changeSeq(t, s)
	sums := summaries(t, s)
	if len(sums) != fxCount {
		t.Fatalf("got %d summaries, want %d", len(sums), fxCount)
	}
	for i, r := range revs {
		sm := sums[i]
		if sm.Imported.IsZero() || sm.Imported.Location() != time.UTC {
			t.Errorf("summary of %s: Imported %v, want a UTC time", describe(r), sm.Imported)
		}
		want := summaryOf(r, fixtureLeaves[i])
		want.Imported = sm.Imported
		want.Changed = seq // the one import wrote every revision
		check(t, "summary of "+describe(r), normSummary(sm), want)
	}

	// The facts the scan engine relies on, spelled out.
	check(t, "category prerequisite of Windows", sums[fxWindows].Prerequisites,
		[]catalog.PrerequisiteClause{{IsCategory: true, UpdateIDs: []uuid.UUID{idMicrosoft}}})
	check(t, "bundle members", sums[fxEngineBundle].BundledUpdates, []catalog.Identity{
		{UpdateID: idAMEngineSibling, RevisionNumber: 200}, {UpdateID: idAMEngine, RevisionNumber: 200}})
	check(t, "superseded by the bundle", sums[fxEngineBundle].SupersededUpdates, []uuid.UUID{idOldBundle})
	check(t, "HasFiles of bundle, leaf, rollup", []bool{sums[fxEngineBundle].HasFiles, sums[fxAMEngine].HasFiles,
		sums[fxRollupFix].HasFiles}, []bool{false, true, true})
	check(t, "KBArticleID of the rollup", sums[fxRollupFix].KBArticleID, "5026368")
	check(t, "CategoryType of Definition Updates", sums[fxDefinitionUpd].CategoryType, "UpdateClassification")
}

func testRevisionRoundTrip(t *testing.T, s catalog.Store) {
	revs := fixtureCatalog()
	importRevs(t, s, revs)
	for _, r := range revs {
		got, err := s.Revision(ctx(t), r.ID)
		must(t, "Revision "+describe(r), err)
		check(t, "Revision "+describe(r), normRevision(got), normRevision(r))
		if !got.CreationDate.IsZero() && got.CreationDate.Location() != time.UTC {
			t.Errorf("Revision %s: CreationDate %v is not UTC", describe(r), got.CreationDate)
		}
	}
	for _, id := range []int32{0, -1, revs[fxCount-1].ID + 1000} {
		_, err := s.Revision(ctx(t), id)
		mustNotFound(t, "Revision of an unknown ID", err)
	}
}

func testFragments(t *testing.T, s catalog.Store) {
	revs := fixtureCatalog()
	importRevs(t, s, revs)
	unknown := revs[fxCount-1].ID + 1000
	all := append(revIDs(revs), unknown)
	id := func(i int) int32 { return revs[i].ID }
	frag := func(i int, typ catalog.FragmentType, lang, xml string) catalog.Fragment {
		return catalog.Fragment{RevisionID: id(i), Type: typ, Language: lang, XML: xml}
	}
	core := func(i int) catalog.Fragment { return frag(i, catalog.FragmentCore, "", revs[i].CoreXML) }
	en := func(i int) catalog.Fragment {
		return frag(i, catalog.FragmentLocalizedProperties, "en", revs[i].Localized["en"])
	}
	deAMEngine := frag(fxAMEngine, catalog.FragmentLocalizedProperties, "de", localizedAMEngineDE)
	tests := []struct {
		name  string
		ids   []int32
		typ   catalog.FragmentType
		langs []string
		want  []catalog.Fragment
	}{
		{"Core of all (languages ignored)", all, catalog.FragmentCore, []string{"xx"}, []catalog.Fragment{
			core(fxOOBEZDP), core(fxDetectoidA), core(fxDetectoidB), core(fxDetectoidC),
			core(fxAMEngine), core(fxEngineBundle), core(fxRollupFix)}},
		{"Core of two", []int32{id(fxRollupFix), id(fxAMEngine)}, catalog.FragmentCore, nil,
			[]catalog.Fragment{core(fxAMEngine), core(fxRollupFix)}},
		{"Extended of all", all, catalog.FragmentExtended, nil, []catalog.Fragment{
			frag(fxAMEngine, catalog.FragmentExtended, "", extendedAMEngine),
			frag(fxRollupFix, catalog.FragmentExtended, "", extendedRollupFix)}},
		{"LocalizedProperties de", all, catalog.FragmentLocalizedProperties, []string{"de"},
			[]catalog.Fragment{deAMEngine}},
		{"LocalizedProperties en and de", []int32{id(fxAMEngine), id(fxEngineBundle), id(fxMicrosoft)},
			catalog.FragmentLocalizedProperties, []string{"en", "de"},
			[]catalog.Fragment{en(fxMicrosoft), deAMEngine, en(fxAMEngine), en(fxEngineBundle)}},
		{"LocalizedProperties of a missing language", all, catalog.FragmentLocalizedProperties, []string{"fr"}, nil},
		{"LocalizedProperties without languages", all, catalog.FragmentLocalizedProperties, nil, nil},
		{"Eula en", all, catalog.FragmentEula, []string{"en"},
			[]catalog.Fragment{frag(fxEngineBundle, catalog.FragmentEula, "en", eulaEngineBundleEN)}},
		{"no IDs", nil, catalog.FragmentCore, nil, nil},
		{"unknown ID", []int32{unknown}, catalog.FragmentCore, nil, nil},
	}
	for _, tc := range tests {
		got, err := s.Fragments(ctx(t), tc.ids, tc.typ, tc.langs)
		must(t, "Fragments "+tc.name, err)
		check(t, "Fragments "+tc.name, sortFragments(got), sortFragments(tc.want))
	}
}

func testFiles(t *testing.T, s catalog.Store) {
	revs := fixtureCatalog()
	importRevs(t, s, revs)
	all := append(revIDs(revs), revs[fxCount-1].ID+1000)
	got, err := s.Files(ctx(t), all)
	must(t, "Files", err)
	// Only revisions with files have an entry (the contract keys by ID; an
	// empty entry for the others would do as well, so drop those).
	for id, fs := range got {
		if len(fs) == 0 {
			delete(got, id)
		}
	}
	want := map[int32][]catalog.File{
		revs[fxAMEngine].ID:  normRevision(revs[fxAMEngine]).Files,
		revs[fxRollupFix].ID: normRevision(revs[fxRollupFix]).Files,
	}
	for id, fs := range got {
		got[id] = normRevision(&catalog.Revision{Files: fs}).Files
	}
	check(t, "Files", got, want)

	f, err := s.FileBySHA1(ctx(t), b64(sha1RollupFix))
	must(t, "FileBySHA1", err)
	check(t, "FileBySHA1", f, revs[fxRollupFix].Files[0])
	_, err = s.FileBySHA1(ctx(t), b64(sha1UnknownFile))
	mustNotFound(t, "FileBySHA1 of an unknown digest", err)

	// The same payload listed by a second revision is still found.
	twin := detectoid(uuid.MustParse("0b5e6fa4-8a4e-4b53-8fb3-2a6d8d4b1c7e"))
	twin.Type = catalog.TypeSoftware
	twin.Files = []catalog.File{revs[fxAMEngine].Files[0]}
	importRevs(t, s, []*catalog.Revision{twin})
	f, err = s.FileBySHA1(ctx(t), b64(sha1AMEngine))
	must(t, "FileBySHA1 of a file two revisions list", err)
	check(t, "FileBySHA1 of a file two revisions list", f, revs[fxAMEngine].Files[0])
}

func testChangeSequence(t *testing.T, s catalog.Store) {
	c := ctx(t)
	seq := changeSeq(t, s)
	grows := func(what string) {
		t.Helper()
		got := changeSeq(t, s)
		if got <= seq {
			t.Errorf("ChangeSequence %d did not grow past %d on %s", got, seq, what)
		}
		seq = got
	}
	// stays: the contract only asks the sequence to grow on changes to
	// revisions, approvals, declines, groups and computer-group
	// assignments; the suite also pins that
	// reads, no-op changes and client bookkeeping leave it alone, so caches
	// are not dropped for nothing on every client call.
	stays := func(what string) {
		t.Helper()
		if got := changeSeq(t, s); got != seq {
			t.Errorf("ChangeSequence moved from %d to %d on %s", seq, got, what)
		}
	}
	revs := fixtureCatalog()
	importRevs(t, s, revs)
	grows("import")

	_, err := s.ServerInfo(c)
	must(t, "ServerInfo", err)
	summaries(t, s)
	_, err = s.Revision(c, revs[0].ID)
	must(t, "Revision", err)
	_, err = s.Fragments(c, revIDs(revs), catalog.FragmentCore, nil)
	must(t, "Fragments", err)
	_, err = s.Files(c, revIDs(revs))
	must(t, "Files", err)
	_, err = s.TargetGroups(c)
	must(t, "TargetGroups", err)
	_, err = s.Approvals(c)
	must(t, "Approvals", err)
	_, err = s.UpdateStates(c)
	must(t, "UpdateStates", err)
	stays("reads")

	importRevs(t, s, fixtureCatalog())
	stays("an identical re-import")

	must(t, "CreateTargetGroup", s.CreateTargetGroup(c, catalog.TargetGroup{
		ID: uuid.MustParse("5f7c4f0e-9c55-4c1b-a3a4-0b4dbf1e2d10"), Name: "Servers", ParentID: catalog.AllComputersGroupID}))
	grows("CreateTargetGroup")

	_, err = s.SetApproval(c, catalog.Approval{UpdateID: idEngineBundle, GroupID: catalog.AllComputersGroupID, Action: catalog.ActionInstall})
	must(t, "SetApproval", err)
	grows("SetApproval")
	_, err = s.SetApproval(c, catalog.Approval{UpdateID: idEngineBundle, GroupID: catalog.AllComputersGroupID, Action: catalog.ActionNotApproved})
	must(t, "SetApproval NotApproved", err)
	grows("removing an approval")
	_, err = s.SetApproval(c, catalog.Approval{UpdateID: idEngineBundle, GroupID: catalog.AllComputersGroupID, Action: catalog.ActionNotApproved})
	must(t, "SetApproval NotApproved again", err)
	stays("removing an approval that is not there")
	_, err = s.SetApproval(c, catalog.Approval{UpdateID: idEngineBundle, GroupID: catalog.AllComputersGroupID, Action: catalog.ActionOptionalInstall})
	must(t, "SetApproval OptionalInstall", err)
	grows("SetApproval OptionalInstall")

	must(t, "SetDeclined", s.SetDeclined(c, idEngineBundle, true))
	grows("SetDeclined")
	must(t, "SetDeclined again", s.SetDeclined(c, idEngineBundle, true))
	stays("declining a declined update")
	must(t, "SetDeclined false", s.SetDeclined(c, idEngineBundle, false))
	grows("un-declining")
	must(t, "SetDeclined false again", s.SetDeclined(c, idRollupFix, false))
	stays("un-declining an update never declined")

	at := date("2026-10-04T15:20:47.397Z")
	must(t, "RecordAuthorization", s.RecordAuthorization(c, "e1da06a3-5601-43c9-bac3-52d5db701494", "pc1.contoso.local", nil, at))
	must(t, "RecordSync", s.RecordSync(c, "e1da06a3-5601-43c9-bac3-52d5db701494", at))
	_, err = s.StoreEvents(c, "e1da06a3-5601-43c9-bac3-52d5db701494", []catalog.Event{{InstanceID: uuid.MustParse("fab199c1-6123-44f2-b01c-a5a92201b011"), EventID: 147}}, at)
	must(t, "StoreEvents", err)
	stays("client bookkeeping")
	must(t, "SetComputerGroups", s.SetComputerGroups(c, "e1da06a3-5601-43c9-bac3-52d5db701494", []uuid.UUID{catalog.AllComputersGroupID}))
	grows("SetComputerGroups")
	must(t, "SetComputerGroups again", s.SetComputerGroups(c, "e1da06a3-5601-43c9-bac3-52d5db701494", []uuid.UUID{catalog.AllComputersGroupID}))
	stays("SetComputerGroups with the groups already assigned")

	importRevs(t, s, Synthetic(3, "change-sequence"))
	grows("an import of new revisions")
}
