package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// complianceTests are the cases of catalog.ComplianceStore (the admin
// views), on the compliance catalog below.
var complianceTests = []test{
	{"ComplianceListUpdates", testComplianceListUpdates},
	{"ComplianceUpdateFilters", testComplianceUpdateFilters},
	{"ComplianceUpdateSorts", testComplianceUpdateSorts},
	{"CompliancePaging", testCompliancePaging},
	{"ComplianceStatuses", testComplianceStatuses},
	{"ComplianceComputers", testComplianceComputers},
	{"ComplianceGroups", testComplianceGroups},
	{"ComplianceCountsMove", testComplianceCountsMove},
	{"ComplianceConcurrentReports", testComplianceConcurrentReports},
}

// The compliance catalog: test data throughout (IDs, titles, KB articles,
// CVE IDs). Its source documents carry MsrcSeverity, CveID and Language as
// MS-WSUSSS 4.2 lists them in upd:Properties.
var (
	cpProdWin     = cpID(1) // Product "Windows 11"
	cpProdOffice  = cpID(2) // Product "Office 2021"
	cpClsSecurity = cpID(3) // UpdateClassification "Security Updates"
	cpClsCritical = cpID(4) // UpdateClassification "Critical Updates"
	cpCU          = cpID(10)
	cpOffice      = cpID(11)
	cpBundle      = cpID(12)
	cpMember      = cpID(13) // bundled by cpBundle: not listed
	cpDriver      = cpID(14)
	cpOld         = cpID(15) // superseded by cpCU
	cpDetectoid   = cpID(16)
	cpUnknown     = cpID(99) // no revision

	cpGroupServers = uuid.MustParse("c0de0000-0000-4000-8000-0000000000a1")
	cpGroupWeb     = uuid.MustParse("c0de0000-0000-4000-8000-0000000000a2") // below Servers

	// Computers: alpha assigned to Web (so in Servers too); bravo asks for
	// "SERVERS" by name (client-side targeting, matched case-insensitively);
	// charlie and delta are in no group (Unassigned); delta never reports.
	cpAlpha   = "c0de0000-0000-4000-8000-00000000c001"
	cpBravo   = "c0de0000-0000-4000-8000-00000000c002"
	cpCharlie = "c0de0000-0000-4000-8000-00000000c003"
	cpDelta   = "c0de0000-0000-4000-8000-00000000c004"

	// cpReported is when the first statuses were reported.
	cpReported = date("2026-11-02T10:00:00Z")
	// cpFailure is the Win32HResult of bravo's failed install (0x80240017).
	cpFailure = int32(-2145124329)
)

func cpID(n int) uuid.UUID { return uuid.MustParse(fmt.Sprintf("c0de0000-0000-4000-8000-%012x", n)) }

// cpUpdate is a revision of the compliance catalog with a source document
// carrying its Properties.
func cpUpdate(id uuid.UUID, rev int32, typ catalog.UpdateType, title, kb, severity, created string, cves, langs []string,
	prereqs ...catalog.PrerequisiteClause) *catalog.Revision {
	props := `<upd:Properties UpdateType="` + string(typ) + `" DefaultPropertiesLanguage="en"`
	if severity != "" {
		props += ` MsrcSeverity="` + severity + `"`
	}
	props += ">"
	if kb != "" {
		props += "<upd:KBArticleID>" + kb + "</upd:KBArticleID>"
	}
	for _, c := range cves {
		props += "<upd:CveID>" + c + "</upd:CveID>"
	}
	for _, l := range langs {
		props += "<upd:Language>" + l + "</upd:Language>"
	}
	props += "</upd:Properties>"
	return &catalog.Revision{
		Identity:         catalog.Identity{UpdateID: id, RevisionNumber: rev},
		Type:             typ,
		Title:            title,
		Description:      title + ".",
		KBArticleID:      kb,
		PublicationState: "Published",
		CreationDate:     date(created),
		Prerequisites:    prereqs,
		SourceXML: `<upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update"><upd:UpdateIdentity UpdateID="` +
			id.String() + fmt.Sprintf(`" RevisionNumber="%d" />`, rev) + props + "</upd:Update>",
	}
}

// complianceCatalog returns the revisions of the compliance catalog.
func complianceCatalog() []*catalog.Revision {
	win, office := clause(true, cpProdWin), clause(false, cpProdOffice)
	sec, crit := clause(true, cpClsSecurity), clause(true, cpClsCritical)
	cuOld := cpUpdate(cpCU, 100, catalog.TypeSoftware, "2026-09 Cumulative Update preview (KB5031356)", "5031356", "Important",
		"2026-10-01T08:00:00Z", nil, nil, win, sec)
	cu := cpUpdate(cpCU, 101, catalog.TypeSoftware, "2026-10 Cumulative Update for Windows 11 (KB5031356)", "5031356", "Critical",
		"2026-10-10T17:00:00Z", []string{"CVE-2023-36033", "CVE-2023-36036"}, nil, win, sec)
	cu.SupersededUpdates = []uuid.UUID{cpOld}
	bundle := cpUpdate(cpBundle, 200, catalog.TypeSoftware, "Defender platform bundle", "", "", "2026-08-05T06:00:00Z", nil, nil, win, crit)
	bundle.BundledUpdates = []catalog.Identity{{UpdateID: cpMember, RevisionNumber: 1}}
	return []*catalog.Revision{
		category(cpProdWin, 1, "Product", "Windows 11", "2021-06-01T00:00:00Z"),
		category(cpProdOffice, 1, "Product", "Office 2021", "2021-06-01T00:00:00Z"),
		category(cpClsSecurity, 1, "UpdateClassification", "Security Updates", "2021-06-01T00:00:00Z"),
		category(cpClsCritical, 1, "UpdateClassification", "Critical Updates", "2021-06-01T00:00:00Z"),
		cuOld, cu,
		// Plain AtLeastOne clauses name the categories, as the real Defender
		// bundle's do (metadata-samples/update-software-bundle-defender-*).
		cpUpdate(cpOffice, 1, catalog.TypeSoftware, "Security Update for Office 2021 (KB5002500)", "5002500", "Important",
			"2026-09-12T09:30:00Z", []string{"CVE-2024-21413"}, []string{"en", "de"}, office, clause(false, cpClsSecurity)),
		bundle,
		cpUpdate(cpMember, 1, catalog.TypeSoftware, "Defender platform engine", "", "", "2026-08-05T06:00:00Z", nil, nil),
		cpUpdate(cpDriver, 1, catalog.TypeDriver, "Contoso Display Adapter driver", "", "", "2026-07-20T12:00:00Z", nil, nil),
		cpUpdate(cpOld, 3, catalog.TypeSoftware, "2026-06 Cumulative Update for Windows 11 (KB5030000)", "5030000", "Moderate",
			"2026-06-10T17:00:00Z", nil, nil, win, sec),
		detectoid(cpDetectoid),
	}
}

// setupCompliance imports the compliance catalog, creates the groups and
// computers, approves cpCU for Servers, declines cpDriver and stores the
// first statuses (at cpReported):
//
//	         CU          Office       Old          Driver  Bundle   Member
//	alpha    Installed   NotInstalled Installed    N/A
//	bravo    Failed      Downloaded   PendingReb.
//	charlie  NotInstall. N/A                               Unknown  Installed
func setupCompliance(t *testing.T, s catalog.Store) {
	t.Helper()
	ctx := t.Context()
	importRevs(t, s, complianceCatalog())
	must(t, "create Servers", s.CreateTargetGroup(ctx, catalog.TargetGroup{ID: cpGroupServers, Name: "Servers", ParentID: catalog.AllComputersGroupID}))
	must(t, "create Web", s.CreateTargetGroup(ctx, catalog.TargetGroup{ID: cpGroupWeb, Name: "Web", ParentID: cpGroupServers}))
	for _, c := range []struct {
		id, dns string
		groups  []string
	}{
		{cpAlpha, "alpha.contoso.local", nil},
		{cpBravo, "bravo.contoso.local", []string{"SERVERS"}},
		{cpCharlie, "charlie.contoso.local", []string{"No such group"}},
		{cpDelta, "delta.contoso.local", nil},
	} {
		must(t, "RecordAuthorization "+c.dns, s.RecordAuthorization(ctx, c.id, c.dns, c.groups, cpReported.Add(-time.Hour)))
	}
	must(t, "SetComputerGroups alpha", s.SetComputerGroups(ctx, cpAlpha, []uuid.UUID{cpGroupWeb}))
	_, err := s.SetApproval(ctx, catalog.Approval{UpdateID: cpCU, GroupID: cpGroupServers, Action: catalog.ActionInstall,
		ChangedAt: cpReported.Add(-2 * time.Hour), By: "admin"})
	must(t, "SetApproval", err)
	must(t, "SetDeclined", s.SetDeclined(ctx, cpDriver, true))
	st := func(u uuid.UUID, state catalog.InstallState) catalog.UpdateStatus {
		return catalog.UpdateStatus{UpdateID: u, State: state}
	}
	failed := st(cpCU, catalog.StateFailed)
	failed.ErrorCode = cpFailure
	for id, sts := range map[string][]catalog.UpdateStatus{
		cpAlpha: {st(cpCU, catalog.StateInstalled), st(cpOffice, catalog.StateNotInstalled), st(cpOld, catalog.StateInstalled),
			st(cpDriver, catalog.StateNotApplicable)},
		cpBravo: {failed, st(cpOffice, catalog.StateDownloaded), st(cpOld, catalog.StateInstalledPendingReboot)},
		cpCharlie: {st(cpCU, catalog.StateNotInstalled), st(cpOffice, catalog.StateNotApplicable), st(cpBundle, catalog.StateUnknown),
			st(cpMember, catalog.StateInstalled)},
	} {
		must(t, "SetStatuses "+id, s.SetStatuses(ctx, id, sts, true, cpReported))
	}
	checkRollups(t, s)
}

// listIDs returns the UpdateIDs of a list.
func listIDs(views []catalog.UpdateView) []uuid.UUID {
	out := make([]uuid.UUID, len(views))
	for i, v := range views {
		out[i] = v.UpdateID
	}
	return out
}

// listUpdates runs ListUpdates and checks its total.
func listUpdates(t *testing.T, s catalog.Store, q catalog.UpdateQuery, wantTotal int) []catalog.UpdateView {
	t.Helper()
	views, total, err := s.ListUpdates(t.Context(), q)
	must(t, fmt.Sprintf("ListUpdates %+v", q), err)
	if total != wantTotal {
		t.Errorf("ListUpdates %+v: total %d, want %d", q, total, wantTotal)
	}
	return views
}

// checkList checks the UpdateIDs ListUpdates answers for q (and that the
// total is their number).
func checkList(t *testing.T, s catalog.Store, what string, q catalog.UpdateQuery, want ...uuid.UUID) {
	t.Helper()
	views, total, err := s.ListUpdates(t.Context(), q)
	must(t, "ListUpdates "+what, err)
	if want == nil {
		want = []uuid.UUID{}
	}
	check(t, "ListUpdates "+what, listIDs(views), want)
	if total != len(want) {
		t.Errorf("ListUpdates %s: total %d, want %d", what, total, len(want))
	}
}

func testComplianceListUpdates(t *testing.T, s catalog.Store) {
	setupCompliance(t, s)
	views := listUpdates(t, s, catalog.UpdateQuery{}, 5)
	// Default: Software and Driver, newest revision, bundle member left
	// out, oldest release first.
	check(t, "default list", listIDs(views), []uuid.UUID{cpOld, cpDriver, cpBundle, cpOffice, cpCU})
	byID := map[uuid.UUID]catalog.UpdateView{}
	for _, v := range views {
		byID[v.UpdateID] = v
	}
	cu := byID[cpCU]
	cuRev := complianceCatalog()[5]
	if len(cu.Approvals) != 1 {
		t.Fatalf("approvals of the CU: %+v, want one", cu.Approvals)
	}
	ap := cu.Approvals[0]
	check(t, "approval of the CU", []any{ap.UpdateID, ap.GroupID, ap.Action, ap.By, ap.ChangedAt.Equal(cpReported.Add(-2 * time.Hour))},
		[]any{cpCU, cpGroupServers, catalog.ActionInstall, "admin", true})
	cu.Approvals = nil
	check(t, "view of the CU", cu, catalog.UpdateView{
		UpdateID: cpCU, RevisionID: cuRevID(t, s), RevisionNumber: 101, Type: catalog.TypeSoftware,
		Title: cuRev.Title, Description: cuRev.Description, KBArticleID: "5031356",
		Products: []uuid.UUID{cpProdWin}, Classifications: []uuid.UUID{cpClsSecurity},
		MsrcSeverity: "Critical", CVEs: []string{"CVE-2023-36033", "CVE-2023-36036"},
		Released: date("2026-10-10T17:00:00Z"), PublicationState: "Published",
		Supersedes: []uuid.UUID{cpOld},
		Computers:  catalog.ComplianceCounts{Installed: 1, Needed: 1, Failed: 1, NoStatus: 1},
	})
	office := byID[cpOffice]
	check(t, "office: categories, languages, counts", []any{office.Products, office.Classifications, office.Languages, office.CVEs,
		office.MsrcSeverity, office.Computers},
		[]any{[]uuid.UUID{cpProdOffice}, []uuid.UUID{cpClsSecurity}, []string{"en", "de"}, []string{"CVE-2024-21413"}, "Important",
			catalog.ComplianceCounts{Needed: 2, NotApplicable: 1, NoStatus: 1}})
	old := byID[cpOld]
	check(t, "old: superseded by the CU, counts", []any{old.SupersededBy, old.Computers},
		[]any{[]uuid.UUID{cpCU}, catalog.ComplianceCounts{Installed: 1, Needed: 1, NoStatus: 2}})
	bundle := byID[cpBundle]
	check(t, "bundle: members, classification, counts (Unknown is no status)", []any{bundle.BundledUpdates, bundle.Classifications,
		bundle.MsrcSeverity, bundle.CVEs, bundle.Computers},
		[]any{[]catalog.Identity{{UpdateID: cpMember, RevisionNumber: 1}}, []uuid.UUID{cpClsCritical}, "", []string(nil),
			catalog.ComplianceCounts{NoStatus: 4}})
	driver := byID[cpDriver]
	check(t, "driver: declined, approvals", []any{driver.Declined, driver.Type, driver.Computers},
		[]any{true, catalog.TypeDriver, catalog.ComplianceCounts{NotApplicable: 1, NoStatus: 3}})

	// A bundle member is not listed, but found.
	member, err := s.UpdateView(t.Context(), cpMember)
	must(t, "UpdateView member", err)
	check(t, "member view", []any{member.Title, member.Computers}, []any{"Defender platform engine",
		catalog.ComplianceCounts{Installed: 1, NoStatus: 3}})
	one, err := s.UpdateView(t.Context(), cpCU)
	must(t, "UpdateView CU", err)
	check(t, "UpdateView CU equals its list row", one, byID[cpCU])
	_, err = s.UpdateView(t.Context(), cpUnknown)
	mustNotFound(t, "UpdateView unknown", err)

	// Types.
	checkList(t, s, "detectoids", catalog.UpdateQuery{Types: []catalog.UpdateType{catalog.TypeDetectoid}}, cpDetectoid)
	checkList(t, s, "drivers", catalog.UpdateQuery{Types: []catalog.UpdateType{catalog.TypeDriver}}, cpDriver)
	checkList(t, s, "categories by title", catalog.UpdateQuery{Types: []catalog.UpdateType{catalog.TypeCategory}, Sort: catalog.SortByTitle},
		cpClsCritical, cpProdOffice, cpClsSecurity, cpProdWin)

	// Text search: title, KB with or without "KB", CVE; any case; LIKE's
	// wildcards are plain characters.
	for _, tc := range []struct {
		text string
		want []uuid.UUID
	}{
		{"KB5031356", []uuid.UUID{cpCU}},
		{"5002500", []uuid.UUID{cpOffice}},
		{"kb503", []uuid.UUID{cpOld, cpCU}},
		{"cve-2023-36036", []uuid.UUID{cpCU}},
		{"CVE-2024", []uuid.UUID{cpOffice}},
		{"cumulative UPDATE", []uuid.UUID{cpOld, cpCU}},
		{"defender", []uuid.UUID{cpBundle}},
		{"2026_10", nil},
		{"%", nil},
		{"preview", nil}, // the CU's older revision only
	} {
		checkList(t, s, "text "+tc.text, catalog.UpdateQuery{Text: tc.text}, tc.want...)
	}
}

// cuRevID returns the revision ID of the CU's newest revision.
func cuRevID(t *testing.T, s catalog.Store) int32 {
	t.Helper()
	for _, sm := range summaries(t, s) {
		if sm.UpdateID == cpCU && sm.RevisionNumber == 101 {
			return sm.ID
		}
	}
	t.Fatal("no revision 101 of the CU")
	return 0
}

func testComplianceUpdateFilters(t *testing.T, s catalog.Store) {
	setupCompliance(t, s)
	yes, no := true, false
	for _, tc := range []struct {
		what string
		q    catalog.UpdateQuery
		want []uuid.UUID
	}{
		{"security updates", catalog.UpdateQuery{Classifications: []uuid.UUID{cpClsSecurity}}, []uuid.UUID{cpOld, cpOffice, cpCU}},
		{"either classification", catalog.UpdateQuery{Classifications: []uuid.UUID{cpClsSecurity, cpClsCritical}},
			[]uuid.UUID{cpOld, cpBundle, cpOffice, cpCU}},
		{"office", catalog.UpdateQuery{Products: []uuid.UUID{cpProdOffice}}, []uuid.UUID{cpOffice}},
		{"windows security", catalog.UpdateQuery{Products: []uuid.UUID{cpProdWin}, Classifications: []uuid.UUID{cpClsSecurity}},
			[]uuid.UUID{cpOld, cpCU}},
		{"critical or moderate", catalog.UpdateQuery{Severities: []string{"Critical", "Moderate"}}, []uuid.UUID{cpOld, cpCU}},
		{"no severity", catalog.UpdateQuery{Severities: []string{""}}, []uuid.UUID{cpDriver, cpBundle}},
		{"KB", catalog.UpdateQuery{KB: "5030000"}, []uuid.UUID{cpOld}},
		{"KB part", catalog.UpdateQuery{KB: "503"}, nil},
		{"approved", catalog.UpdateQuery{Approved: &yes}, []uuid.UUID{cpCU}},
		{"not approved", catalog.UpdateQuery{Approved: &no}, []uuid.UUID{cpOld, cpDriver, cpBundle, cpOffice}},
		{"declined", catalog.UpdateQuery{Declined: &yes}, []uuid.UUID{cpDriver}},
		{"not declined", catalog.UpdateQuery{Declined: &no}, []uuid.UUID{cpOld, cpBundle, cpOffice, cpCU}},
		{"superseded", catalog.UpdateQuery{Superseded: &yes}, []uuid.UUID{cpOld}},
		{"not superseded", catalog.UpdateQuery{Superseded: &no}, []uuid.UUID{cpDriver, cpBundle, cpOffice, cpCU}},
		{"approved for Servers", catalog.UpdateQuery{ApprovedFor: cpGroupServers}, []uuid.UUID{cpCU}},
		{"approved for Web", catalog.UpdateQuery{ApprovedFor: cpGroupWeb}, nil},
		{"released in a window", catalog.UpdateQuery{ReleasedAfter: date("2026-08-05T06:00:00Z"), ReleasedBefore: date("2026-10-10T17:00:00Z")},
			[]uuid.UUID{cpBundle, cpOffice}},
		{"needed by two", catalog.UpdateQuery{MinNeeded: 2}, []uuid.UUID{cpOffice}},
		{"failed on one", catalog.UpdateQuery{MinFailed: 1}, []uuid.UUID{cpCU}},
		{"all ANDed", catalog.UpdateQuery{Classifications: []uuid.UUID{cpClsSecurity}, MinNeeded: 1, Approved: &no}, []uuid.UUID{cpOld, cpOffice}},
	} {
		checkList(t, s, tc.what, tc.q, tc.want...)
	}
}

func testComplianceUpdateSorts(t *testing.T, s catalog.Store) {
	setupCompliance(t, s)
	for _, tc := range []struct {
		sort catalog.UpdateSort
		desc bool
		want []uuid.UUID
	}{
		{"", false, []uuid.UUID{cpOld, cpDriver, cpBundle, cpOffice, cpCU}},
		{catalog.SortByReleased, true, []uuid.UUID{cpCU, cpOffice, cpBundle, cpDriver, cpOld}},
		{catalog.SortByTitle, false, []uuid.UUID{cpOld, cpCU, cpDriver, cpBundle, cpOffice}},
		{catalog.SortByKB, false, []uuid.UUID{cpBundle, cpDriver, cpOffice, cpOld, cpCU}},
		{catalog.SortBySeverity, false, []uuid.UUID{cpCU, cpOffice, cpOld, cpBundle, cpDriver}},
		{catalog.SortBySeverity, true, []uuid.UUID{cpBundle, cpDriver, cpOld, cpOffice, cpCU}},
		{catalog.SortByClassification, false, []uuid.UUID{cpDriver, cpBundle, cpCU, cpOffice, cpOld}},
		// Ties by UpdateID, ascending also when descending.
		{catalog.SortByNeeded, true, []uuid.UUID{cpOffice, cpCU, cpOld, cpBundle, cpDriver}},
		{catalog.SortByFailed, true, []uuid.UUID{cpCU, cpOffice, cpBundle, cpDriver, cpOld}},
		{catalog.SortByInstalled, false, []uuid.UUID{cpOffice, cpBundle, cpDriver, cpCU, cpOld}},
	} {
		checkList(t, s, fmt.Sprintf("sort %q desc %v", tc.sort, tc.desc), catalog.UpdateQuery{Sort: tc.sort, Desc: tc.desc}, tc.want...)
	}
}

func testCompliancePaging(t *testing.T, s catalog.Store) {
	setupCompliance(t, s)
	views := listUpdates(t, s, catalog.UpdateQuery{Page: catalog.Page{Limit: 2, Offset: 1}}, 5)
	check(t, "page 2 at 1", listIDs(views), []uuid.UUID{cpDriver, cpBundle})
	views = listUpdates(t, s, catalog.UpdateQuery{Page: catalog.Page{Limit: 2, Offset: 4}}, 5)
	check(t, "last page", listIDs(views), []uuid.UUID{cpCU})
	views = listUpdates(t, s, catalog.UpdateQuery{Page: catalog.Page{Offset: 10}}, 5)
	check(t, "past the end", len(views), 0)
	views = listUpdates(t, s, catalog.UpdateQuery{Page: catalog.Page{Limit: catalog.MaxPageSize}}, 5)
	check(t, "max page", len(views), 5)
	ctx := t.Context()
	for _, q := range []catalog.UpdateQuery{
		{Page: catalog.Page{Limit: catalog.MaxPageSize + 1}},
		{Page: catalog.Page{Limit: -1}},
		{Page: catalog.Page{Offset: -1}},
		{Sort: "bogus"},
		{Types: []catalog.UpdateType{"Firmware"}},
	} {
		if _, _, err := s.ListUpdates(ctx, q); !errors.Is(err, catalog.ErrInvalid) {
			t.Errorf("ListUpdates %+v: %v, want ErrInvalid", q, err)
		}
	}
	if _, _, err := s.ListStatuses(ctx, catalog.StatusQuery{Page: catalog.Page{Limit: 5000}}); !errors.Is(err, catalog.ErrInvalid) {
		t.Errorf("ListStatuses with limit 5000: %v, want ErrInvalid", err)
	}
	if _, _, err := s.ListStatuses(ctx, catalog.StatusQuery{Compliances: []catalog.Compliance{"broken"}}); !errors.Is(err, catalog.ErrInvalid) {
		t.Errorf("ListStatuses with an unknown class: %v, want ErrInvalid", err)
	}
	if _, _, err := s.ListComputers(ctx, catalog.ComputerQuery{Sort: "bogus"}); !errors.Is(err, catalog.ErrInvalid) {
		t.Errorf("ListComputers with an unknown sort: %v, want ErrInvalid", err)
	}
	if _, _, err := s.ListComputers(ctx, catalog.ComputerQuery{Page: catalog.Page{Offset: -3}}); !errors.Is(err, catalog.ErrInvalid) {
		t.Errorf("ListComputers with a negative offset: %v, want ErrInvalid", err)
	}
	_, _, err := s.ListComputers(ctx, catalog.ComputerQuery{Group: cpUnknown})
	mustNotFound(t, "ListComputers of an unknown group", err)
	_, err = s.GroupCounts(ctx, cpUnknown, []uuid.UUID{cpCU})
	mustNotFound(t, "GroupCounts of an unknown group", err)
}

// statusKey is what the status cases compare of a row.
type statusKey struct {
	Client string
	Update uuid.UUID
	State  catalog.InstallState
	Code   int32
}

func statusKeys(rows []catalog.StatusRow) []statusKey {
	out := []statusKey{}
	for _, r := range rows {
		out = append(out, statusKey{r.ClientID, r.UpdateID, r.State, r.ErrorCode})
	}
	return out
}

// checkStatuses checks the rows ListStatuses answers for q, and its total.
func checkStatuses(t *testing.T, s catalog.Store, what string, q catalog.StatusQuery, wantTotal int, want ...statusKey) []catalog.StatusRow {
	t.Helper()
	rows, total, err := s.ListStatuses(t.Context(), q)
	must(t, "ListStatuses "+what, err)
	if want == nil {
		want = []statusKey{}
	}
	check(t, "ListStatuses "+what, statusKeys(rows), want)
	if total != wantTotal {
		t.Errorf("ListStatuses %s: total %d, want %d", what, total, wantTotal)
	}
	return rows
}

func testComplianceStatuses(t *testing.T, s catalog.Store) {
	setupCompliance(t, s)
	const (
		inst = catalog.StateInstalled
		need = catalog.StateNotInstalled
		fail = catalog.StateFailed
		na   = catalog.StateNotApplicable
	)
	rows := checkStatuses(t, s, "of the CU", catalog.StatusQuery{UpdateID: cpCU}, 3,
		statusKey{cpAlpha, cpCU, inst, 0}, statusKey{cpBravo, cpCU, fail, cpFailure}, statusKey{cpCharlie, cpCU, need, 0})
	r := rows[1]
	check(t, "bravo's row of the CU", []any{r.DNSName, r.Title, r.KBArticleID, r.ChangedAt.Equal(cpReported), r.LastStatus.Equal(cpReported)},
		[]any{"bravo.contoso.local", "2026-10 Cumulative Update for Windows 11 (KB5031356)", "5031356", true, true})
	checkStatuses(t, s, "failed", catalog.StatusQuery{Compliances: []catalog.Compliance{catalog.ComplianceFailed}}, 1,
		statusKey{cpBravo, cpCU, fail, cpFailure})
	// One computer's updates, by title.
	checkStatuses(t, s, "of bravo", catalog.StatusQuery{ClientID: cpBravo}, 3,
		statusKey{cpBravo, cpOld, catalog.StateInstalledPendingReboot, 0}, statusKey{cpBravo, cpCU, fail, cpFailure},
		statusKey{cpBravo, cpOffice, catalog.StateDownloaded, 0})
	// Every state but no status, ordered by computer then title; the
	// member's title is its own.
	checkStatuses(t, s, "all, page 3 at 5", catalog.StatusQuery{Page: catalog.Page{Limit: 3, Offset: 5}}, 10,
		statusKey{cpBravo, cpCU, fail, cpFailure}, statusKey{cpBravo, cpOffice, catalog.StateDownloaded, 0},
		statusKey{cpCharlie, cpCU, need, 0})
	// No status: the computers without a state, an Unknown one included.
	checkStatuses(t, s, "no status of the CU", catalog.StatusQuery{UpdateID: cpCU, Compliances: []catalog.Compliance{catalog.ComplianceNoStatus}}, 1,
		statusKey{cpDelta, cpCU, catalog.StateUnknown, 0})
	checkStatuses(t, s, "no status of the bundle", catalog.StatusQuery{UpdateID: cpBundle, Compliances: []catalog.Compliance{catalog.ComplianceNoStatus}}, 4,
		statusKey{cpAlpha, cpBundle, 0, 0}, statusKey{cpBravo, cpBundle, 0, 0}, statusKey{cpCharlie, cpBundle, 0, 0}, statusKey{cpDelta, cpBundle, 0, 0})
	checkStatuses(t, s, "needed or none of the office update", catalog.StatusQuery{UpdateID: cpOffice,
		Compliances: []catalog.Compliance{catalog.ComplianceNeeded, catalog.ComplianceNoStatus}}, 3,
		statusKey{cpAlpha, cpOffice, need, 0}, statusKey{cpBravo, cpOffice, catalog.StateDownloaded, 0}, statusKey{cpDelta, cpOffice, 0, 0})
	// Groups, placed as the scan places computers.
	checkStatuses(t, s, "CU in Servers", catalog.StatusQuery{UpdateID: cpCU, Group: cpGroupServers}, 2,
		statusKey{cpAlpha, cpCU, inst, 0}, statusKey{cpBravo, cpCU, fail, cpFailure})
	checkStatuses(t, s, "CU in Web", catalog.StatusQuery{UpdateID: cpCU, Group: cpGroupWeb}, 1, statusKey{cpAlpha, cpCU, inst, 0})
	checkStatuses(t, s, "CU in Unassigned", catalog.StatusQuery{UpdateID: cpCU, Group: catalog.UnassignedComputersGroupID}, 1,
		statusKey{cpCharlie, cpCU, need, 0})
	checkStatuses(t, s, "CU in All Computers", catalog.StatusQuery{UpdateID: cpCU, Group: catalog.AllComputersGroupID}, 3,
		statusKey{cpAlpha, cpCU, inst, 0}, statusKey{cpBravo, cpCU, fail, cpFailure}, statusKey{cpCharlie, cpCU, need, 0})
	checkStatuses(t, s, "no status of the CU in Unassigned", catalog.StatusQuery{UpdateID: cpCU, Group: catalog.UnassignedComputersGroupID,
		Compliances: []catalog.Compliance{catalog.ComplianceNoStatus}}, 1, statusKey{cpDelta, cpCU, 0, 0})
	checkStatuses(t, s, "not applicable in Servers", catalog.StatusQuery{Group: cpGroupServers,
		Compliances: []catalog.Compliance{catalog.ComplianceNotApplicable}}, 1, statusKey{cpAlpha, cpDriver, na, 0})
}

// computerKey is what the computer cases compare of a row.
type computerKey struct {
	ID      string
	Updates catalog.ComplianceCounts
}

func checkComputers(t *testing.T, s catalog.Store, what string, q catalog.ComputerQuery, wantTotal int, want ...computerKey) []catalog.ComputerView {
	t.Helper()
	views, total, err := s.ListComputers(t.Context(), q)
	must(t, "ListComputers "+what, err)
	got := []computerKey{}
	for _, v := range views {
		got = append(got, computerKey{v.ID, v.Updates})
	}
	if want == nil {
		want = []computerKey{}
	}
	check(t, "ListComputers "+what, got, want)
	if total != wantTotal {
		t.Errorf("ListComputers %s: total %d, want %d", what, total, wantTotal)
	}
	return views
}

func testComplianceComputers(t *testing.T, s catalog.Store) {
	setupCompliance(t, s)
	alpha := computerKey{cpAlpha, catalog.ComplianceCounts{Installed: 2, Needed: 1, NotApplicable: 1}}
	bravo := computerKey{cpBravo, catalog.ComplianceCounts{Needed: 2, Failed: 1}}
	charlie := computerKey{cpCharlie, catalog.ComplianceCounts{Installed: 1, Needed: 1, NotApplicable: 1}}
	delta := computerKey{cpDelta, catalog.ComplianceCounts{}}
	views := checkComputers(t, s, "all", catalog.ComputerQuery{}, 4, alpha, bravo, charlie, delta)
	check(t, "alpha as listed", []any{views[0].DNSName, views[0].Groups, views[0].LastStatusTime.Equal(cpReported), views[0].Hardware == nil},
		[]any{"alpha.contoso.local", []uuid.UUID{cpGroupWeb}, true, true})
	check(t, "bravo's requested groups", views[1].RequestedGroups, []string{"SERVERS"})
	checkComputers(t, s, "needing", catalog.ComputerQuery{Needing: true}, 3, alpha, bravo, charlie)
	checkComputers(t, s, "failing", catalog.ComputerQuery{Failing: true}, 1, bravo)
	checkComputers(t, s, "text", catalog.ComputerQuery{Text: "BRAVO.contoso"}, 1, bravo)
	checkComputers(t, s, "text of an ID", catalog.ComputerQuery{Text: "C003"}, 1, charlie)
	checkComputers(t, s, "Servers", catalog.ComputerQuery{Group: cpGroupServers}, 2, alpha, bravo)
	checkComputers(t, s, "Web", catalog.ComputerQuery{Group: cpGroupWeb}, 1, alpha)
	checkComputers(t, s, "Unassigned", catalog.ComputerQuery{Group: catalog.UnassignedComputersGroupID}, 2, charlie, delta)
	checkComputers(t, s, "needed most", catalog.ComputerQuery{Sort: catalog.SortByNeededMost, Desc: true}, 4, bravo, alpha, charlie, delta)
	checkComputers(t, s, "failed most", catalog.ComputerQuery{Sort: catalog.SortByFailedMost, Desc: true}, 4, bravo, alpha, charlie, delta)
	checkComputers(t, s, "name descending", catalog.ComputerQuery{Sort: catalog.SortByName, Desc: true}, 4, delta, charlie, bravo, alpha)
	checkComputers(t, s, "last status, never first", catalog.ComputerQuery{Sort: catalog.SortByLastStatus}, 4, delta, alpha, bravo, charlie)
	checkComputers(t, s, "not reported since the report", catalog.ComputerQuery{NotReportedSince: cpReported}, 1, delta)
	checkComputers(t, s, "not reported since later", catalog.ComputerQuery{NotReportedSince: cpReported.Add(time.Second)}, 4,
		alpha, bravo, charlie, delta)
	checkComputers(t, s, "page", catalog.ComputerQuery{Page: catalog.Page{Limit: 1, Offset: 2}}, 4, charlie)
}

func testComplianceGroups(t *testing.T, s catalog.Store) {
	setupCompliance(t, s)
	ctx := t.Context()
	counts, err := s.GroupCounts(ctx, cpGroupServers, []uuid.UUID{cpCU, cpOffice, cpBundle, cpUnknown})
	must(t, "GroupCounts Servers", err)
	check(t, "GroupCounts Servers", counts, map[uuid.UUID]catalog.ComplianceCounts{
		cpCU:      {Installed: 1, Failed: 1},
		cpOffice:  {Needed: 2},
		cpBundle:  {NoStatus: 2},
		cpUnknown: {NoStatus: 2},
	})
	counts, err = s.GroupCounts(ctx, catalog.AllComputersGroupID, []uuid.UUID{cpCU, cpMember})
	must(t, "GroupCounts All", err)
	check(t, "GroupCounts All", counts, map[uuid.UUID]catalog.ComplianceCounts{
		cpCU:     {Installed: 1, Needed: 1, Failed: 1, NoStatus: 1},
		cpMember: {Installed: 1, NoStatus: 3},
	})
	counts, err = s.GroupCounts(ctx, catalog.UnassignedComputersGroupID, []uuid.UUID{cpOffice})
	must(t, "GroupCounts Unassigned", err)
	check(t, "GroupCounts Unassigned", counts, map[uuid.UUID]catalog.ComplianceCounts{cpOffice: {NotApplicable: 1, NoStatus: 1}})

	groups, err := s.GroupCompliance(ctx, cpReported)
	must(t, "GroupCompliance", err)
	check(t, "GroupCompliance", groups, []catalog.GroupCompliance{
		{GroupID: catalog.AllComputersGroupID, Name: "All Computers", Computers: 4, NeedingUpdates: 3, WithFailures: 1, NotReported: 1,
			Updates: catalog.ComplianceCounts{Installed: 3, Needed: 4, Failed: 1, NotApplicable: 2}},
		{GroupID: catalog.UnassignedComputersGroupID, Name: "Unassigned Computers", Computers: 2, NeedingUpdates: 1, NotReported: 1,
			Updates: catalog.ComplianceCounts{Installed: 1, Needed: 1, NotApplicable: 1}},
		{GroupID: cpGroupServers, Name: "Servers", Computers: 2, NeedingUpdates: 2, WithFailures: 1,
			Updates: catalog.ComplianceCounts{Installed: 2, Needed: 3, Failed: 1, NotApplicable: 1}},
		{GroupID: cpGroupWeb, Name: "Web", Computers: 1, NeedingUpdates: 1,
			Updates: catalog.ComplianceCounts{Installed: 2, Needed: 1, NotApplicable: 1}},
	})
	sum, err := s.ComplianceSummary(ctx, cpReported.Add(time.Second))
	must(t, "ComplianceSummary", err)
	check(t, "ComplianceSummary", sum, catalog.ComplianceSummary{
		Computers: 4, NeedingUpdates: 3, WithFailures: 1, NotReported: 4,
		Updates: 5, NeedingApproval: 2, Approved: 1, Declined: 1, Superseded: 1,
		Pairs: catalog.ComplianceCounts{Installed: 3, Needed: 4, Failed: 1, NotApplicable: 2},
	})
}

func testComplianceCountsMove(t *testing.T, s catalog.Store) {
	setupCompliance(t, s)
	ctx := t.Context()
	counts := func(what string, u uuid.UUID, want catalog.ComplianceCounts) {
		t.Helper()
		v, err := s.UpdateView(ctx, u)
		must(t, "UpdateView "+what, err)
		check(t, "counts "+what, v.Computers, want)
	}
	code := func(what, client string, u uuid.UUID, want int32) {
		t.Helper()
		sts, err := s.Statuses(ctx, client)
		must(t, "Statuses "+what, err)
		for _, st := range sts {
			if st.UpdateID == u {
				check(t, "error code "+what, st.ErrorCode, want)
				return
			}
		}
		t.Errorf("%s: %s has no state of %s", what, client, u)
	}
	code("stored", cpBravo, cpCU, cpFailure)

	// A report: alpha installed the office update (event 183).
	later := cpReported.Add(time.Hour)
	ev := catalog.Event{InstanceID: cpID(0x183), ClientID: cpAlpha, EventID: 183, SourceID: 1, TimeAtTarget: later, UpdateID: cpOffice,
		RevisionNumber: 1, AppName: "AutomaticUpdates"}
	report := catalog.Report{ClientID: cpAlpha, Events: []catalog.Event{ev}, At: later,
		Changes: []catalog.StatusChange{{Event: ev.InstanceID, Statuses: []catalog.UpdateStatus{{UpdateID: cpOffice, State: catalog.StateInstalled}}}}}
	n, err := s.StoreReport(ctx, report)
	must(t, "StoreReport", err)
	check(t, "new events", n, 1)
	counts("after alpha's report", cpOffice, catalog.ComplianceCounts{Installed: 1, Needed: 1, NotApplicable: 1, NoStatus: 1})
	// The same report again changes nothing.
	_, err = s.StoreReport(ctx, report)
	must(t, "StoreReport again", err)
	counts("after the report again", cpOffice, catalog.ComplianceCounts{Installed: 1, Needed: 1, NotApplicable: 1, NoStatus: 1})
	checkRollups(t, s)
	sum, err := s.ComplianceSummary(ctx, time.Time{})
	must(t, "ComplianceSummary", err)
	check(t, "summary after alpha's report", []any{sum.NeedingUpdates, sum.UpToDate, sum.NotReported, sum.NeedingApproval},
		[]any{2, 1, 1, 2})

	// A status report listing the CU failed (code 0) keeps bravo's code, and
	// drops what it does not list.
	must(t, "SetStatuses bravo", s.SetStatuses(ctx, cpBravo, []catalog.UpdateStatus{{UpdateID: cpCU, State: catalog.StateFailed}}, true, later))
	code("after a status report", cpBravo, cpCU, cpFailure)
	counts("office after bravo's status report", cpOffice, catalog.ComplianceCounts{Installed: 1, NotApplicable: 1, NoStatus: 2})
	counts("old after bravo's status report", cpOld, catalog.ComplianceCounts{Installed: 1, NoStatus: 3})
	counts("CU after bravo's status report", cpCU, catalog.ComplianceCounts{Installed: 1, Needed: 1, Failed: 1, NoStatus: 1})
	// A new failure replaces the code and keeps ChangedAt (the state did
	// not change); success clears it.
	must(t, "SetStatuses bravo fails again", s.SetStatuses(ctx, cpBravo,
		[]catalog.UpdateStatus{{UpdateID: cpCU, State: catalog.StateFailed, ErrorCode: 5}}, false, later.Add(time.Hour)))
	code("after another failure", cpBravo, cpCU, 5)
	rows := checkStatuses(t, s, "bravo's failure", catalog.StatusQuery{ClientID: cpBravo}, 1, statusKey{cpBravo, cpCU, catalog.StateFailed, 5})
	check(t, "ChangedAt of a failure with a new code", rows[0].ChangedAt.Equal(cpReported), true)
	must(t, "SetStatuses bravo installs", s.SetStatuses(ctx, cpBravo,
		[]catalog.UpdateStatus{{UpdateID: cpCU, State: catalog.StateInstalled, ErrorCode: 7}}, false, later))
	code("after success", cpBravo, cpCU, 0)
	counts("CU after bravo installed it", cpCU, catalog.ComplianceCounts{Installed: 2, Needed: 1, NoStatus: 1})
	checkRollups(t, s)

	// A state listed twice: the last wins, counted once.
	must(t, "SetStatuses twice", s.SetStatuses(ctx, cpDelta, []catalog.UpdateStatus{
		{UpdateID: cpOld, State: catalog.StateFailed, ErrorCode: 9}, {UpdateID: cpOld, State: catalog.StateNotInstalled}}, false, later))
	counts("old after delta", cpOld, catalog.ComplianceCounts{Installed: 1, Needed: 1, NoStatus: 2})
	checkRollups(t, s)

	// Deleted computers leave the counts.
	deleted, err := s.DeleteComputers(ctx, []string{cpAlpha, cpUnknown.String(), cpAlpha})
	must(t, "DeleteComputers", err)
	check(t, "deleted", deleted, []string{cpAlpha})
	counts("CU after deleting alpha", cpCU, catalog.ComplianceCounts{Installed: 1, Needed: 1, NoStatus: 1})
	counts("office after deleting alpha", cpOffice, catalog.ComplianceCounts{NotApplicable: 1, NoStatus: 2})
	checkRollups(t, s)
	sum, err = s.ComplianceSummary(ctx, time.Time{})
	must(t, "ComplianceSummary after the delete", err)
	check(t, "summary after deleting alpha", sum, catalog.ComplianceSummary{
		Computers: 3, NeedingUpdates: 2, UpToDate: 1, NotReported: 0,
		Updates: 5, NeedingApproval: 1, Approved: 1, Declined: 1, Superseded: 1,
		Pairs: catalog.ComplianceCounts{Installed: 2, Needed: 2, NotApplicable: 1},
	})
}

// checkRollups compares the counts the store keeps with those computed
// from every computer's states (the slow path): per update (every listed
// and bundled update of the compliance catalog) and per computer.
func checkRollups(t *testing.T, s catalog.Store) {
	t.Helper()
	ctx := t.Context()
	computers, err := s.Computers(ctx)
	must(t, "Computers", err)
	perUpdate := map[uuid.UUID]*catalog.ComplianceCounts{}
	perComputer := map[string]catalog.ComplianceCounts{}
	for _, c := range computers {
		sts, err := s.Statuses(ctx, c.ID)
		must(t, "Statuses", err)
		var mine catalog.ComplianceCounts
		for _, st := range sts {
			if perUpdate[st.UpdateID] == nil {
				perUpdate[st.UpdateID] = &catalog.ComplianceCounts{}
			}
			if st.State.Compliance() != catalog.ComplianceNoStatus {
				perUpdate[st.UpdateID].Add(st.State, 1)
				mine.Add(st.State, 1)
			}
		}
		perComputer[c.ID] = mine
	}
	ids := []uuid.UUID{cpCU, cpOffice, cpBundle, cpMember, cpDriver, cpOld}
	for _, u := range ids {
		want := catalog.ComplianceCounts{}
		if c := perUpdate[u]; c != nil {
			want = *c
		}
		want.NoStatus = len(computers) - want.Applicable() - want.NotApplicable
		v, err := s.UpdateView(ctx, u)
		must(t, "UpdateView", err)
		check(t, fmt.Sprintf("kept counts of %s", u), v.Computers, want)
	}
	views, total, err := s.ListComputers(ctx, catalog.ComputerQuery{Page: catalog.Page{Limit: catalog.MaxPageSize}})
	must(t, "ListComputers", err)
	check(t, "computers listed", total, len(computers))
	for _, v := range views {
		check(t, "kept counts of computer "+v.ID, v.Updates, perComputer[v.ID])
	}
}

// testComplianceConcurrentReports: status reports of several computers
// about the same updates, at once, leave the kept counts exact (each
// report changes the counts of every update it lists; where transactions
// run beside each other they must neither lose an update nor deadlock
// beyond the store's retries).
func testComplianceConcurrentReports(t *testing.T, s catalog.Store) {
	setupCompliance(t, s)
	const rounds = 8
	clients := []string{cpAlpha, cpBravo, cpCharlie, cpDelta}
	updates := []uuid.UUID{cpCU, cpOffice, cpBundle, cpMember, cpDriver, cpOld}
	states := []catalog.InstallState{catalog.StateInstalled, catalog.StateNotInstalled, catalog.StateFailed,
		catalog.StateNotApplicable, catalog.StateDownloaded, catalog.StateUnknown}
	var wg sync.WaitGroup
	errs := make(chan error, len(clients)*rounds)
	for w, id := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				// Each round lists the updates in another order, some
				// not at all (a full report removes them).
				var sts []catalog.UpdateStatus
				for i := range updates {
					u := updates[(i+w+r)%len(updates)]
					if (i+r)%4 == 3 {
						continue
					}
					sts = append(sts, catalog.UpdateStatus{UpdateID: u, State: states[(i*3+w+r)%len(states)], ErrorCode: int32(r)})
				}
				if err := s.SetStatuses(t.Context(), id, sts, r%3 != 1, cpReported.Add(time.Duration(r)*time.Minute)); err != nil {
					errs <- fmt.Errorf("computer %s round %d: %w", id, r, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	checkRollups(t, s)
}
