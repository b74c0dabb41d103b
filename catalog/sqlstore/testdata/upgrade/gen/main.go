// Command gen builds the old catalogs of the upgrade test
// (catalog/sqlstore/upgrade_test.go): it fills a new catalog on each engine
// it is given with every kind of data the catalog.Store API writes, then
// writes what the store reads back (storetest.Dump) as
// expected-<engine>.json.
//
// It is meant to run with the store code from before the stores merged,
// commit 12c089f, so that the catalogs have the old schemas (SQLite
// versions 1-4, PostgreSQL 1-3) and the old code's data (group name keys
// lower-cased, PostgreSQL lists in text[]). It also compiles against the
// current code, since the catalog.Store API did not change; only
// catalog/storetest/dump.go is new, and is copied along. From the
// repository root (see ../README.md for the PostgreSQL side and pg_dump):
//
//	git worktree add /tmp/before 12c089f
//	mkdir -p /tmp/before/catalog/sqlstore/testdata/upgrade/gen
//	cp catalog/storetest/dump.go /tmp/before/catalog/storetest/
//	cp catalog/sqlstore/testdata/upgrade/gen/main.go /tmp/before/catalog/sqlstore/testdata/upgrade/gen/
//	(cd /tmp/before && go run ./catalog/sqlstore/testdata/upgrade/gen \
//		-sqlite /tmp/upgrade/sqlite.db -postgres "$URL" -out /tmp/upgrade)
//
// Every time the API takes is fixed and whole microseconds, so the two
// engines store the same values; times the store picks itself (import
// times, approval and decline times given as zero, the server identity's
// stamp) differ from run to run and between the engines, which is why each
// engine has its own expected file.
package main

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/postgres"
	"wsus/catalog/sqlite"
	"wsus/catalog/storetest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}

// run parses the flags, fills the catalogs asked for and returns the exit
// status.
func run(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sqlitePath := fs.String("sqlite", "", "create the SQLite catalog at this `path` (must not exist)")
	postgresURL := fs.String("postgres", "", "fill the PostgreSQL catalog at this `URL` (an empty database)")
	out := fs.String("out", ".", "write expected-<engine>.json into this `directory`")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || (*sqlitePath == "" && *postgresURL == "") {
		fmt.Fprintln(stderr, "usage: gen [-sqlite path] [-postgres URL] [-out dir]: at least one engine")
		return 2
	}
	if err := generate(ctx, *sqlitePath, *postgresURL, *out); err != nil {
		fmt.Fprintf(stderr, "gen: %v\n", err)
		return 1
	}
	return 0
}

func generate(ctx context.Context, sqlitePath, postgresURL, out string) error {
	if sqlitePath != "" {
		if _, err := os.Stat(sqlitePath); !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("sqlite: %s exists already (or cannot be checked: %v)", sqlitePath, err)
		}
		s, err := sqlite.Open(ctx, sqlitePath)
		if err != nil {
			return err
		}
		if err := fillAndDump(ctx, s, filepath.Join(out, "expected-sqlite.json")); err != nil {
			return fmt.Errorf("sqlite: %w", err)
		}
		if err := checkpoint(ctx, sqlitePath); err != nil {
			return fmt.Errorf("sqlite: %w", err)
		}
	}
	if postgresURL != "" {
		s, err := postgres.Open(ctx, postgresURL)
		if err != nil {
			return err
		}
		if err := fillAndDump(ctx, s, filepath.Join(out, "expected-postgres.json")); err != nil {
			return fmt.Errorf("postgres: %w", err)
		}
	}
	return nil
}

// fillAndDump fills an empty catalog, writes its snapshot to path and
// closes the store.
func fillAndDump(ctx context.Context, s catalog.Store, path string) error {
	b, err := fillAndRead(ctx, s)
	if err := errors.Join(err, s.Close()); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// fillAndRead fills an empty catalog and returns its snapshot's JSON.
func fillAndRead(ctx context.Context, s catalog.Store) ([]byte, error) {
	if sums, err := s.Summaries(ctx); err != nil || len(sums) > 0 {
		return nil, fmt.Errorf("want an empty catalog: %d revisions, %v", len(sums), err)
	}
	if err := fill(ctx, s); err != nil {
		return nil, err
	}
	sn, err := storetest.Dump(ctx, s)
	if err != nil {
		return nil, err
	}
	return sn.JSON()
}

// checkpoint moves the write-ahead log of the closed catalog at path into
// the file itself, so that the file alone holds the catalog.
func checkpoint(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", path) // registered by wsus/catalog/sqlite
	if err != nil {
		return err
	}
	defer db.Close()
	var busy, logFrames, done int
	if err := db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &done); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if busy != 0 {
		return errors.New("checkpoint: the catalog is busy")
	}
	return db.Close()
}

// Update IDs. Names say what each stands for; all are test data.
var (
	idCompany        = uuid.MustParse("a1000000-0000-4000-8000-000000000001") // Category Company
	idProduct        = uuid.MustParse("a1000000-0000-4000-8000-000000000002") // Category Product
	idClassification = uuid.MustParse("a1000000-0000-4000-8000-000000000003") // Category UpdateClassification
	idDetectoidA     = uuid.MustParse("a1000000-0000-4000-8000-000000000004")
	idDetectoidB     = uuid.MustParse("a1000000-0000-4000-8000-000000000005") // needs A
	idLeaf           = uuid.MustParse("a1000000-0000-4000-8000-000000000006") // Software leaf, re-imported changed
	idBundle         = uuid.MustParse("a1000000-0000-4000-8000-000000000007") // Software bundle of the leaf
	idDriver         = uuid.MustParse("a1000000-0000-4000-8000-000000000008") // Driver
	idOld            = uuid.MustParse("a1000000-0000-4000-8000-000000000009") // superseded by the leaf; two revisions
	idBare           = uuid.MustParse("a1000000-0000-4000-8000-00000000000a") // only the required fields
	idDriverExt      = uuid.MustParse("a1000000-0000-4000-8000-00000000000b") // needs the driver (flips its IsLeaf)
	idNotImported    = uuid.MustParse("a1000000-0000-4000-8000-0000000000ff") // named, never imported
)

// Target group IDs.
var (
	groupServers      = uuid.MustParse("b2000000-0000-4000-8000-000000000001")
	groupWorkstations = uuid.MustParse("b2000000-0000-4000-8000-000000000002")
	groupSigma        = uuid.MustParse("b2000000-0000-4000-8000-000000000003") // "Σας": lower-cased "σας", folded "σασ"
	groupStrasse      = uuid.MustParse("b2000000-0000-4000-8000-000000000004") // "Straße": folds onto "STRASSE"'s key
	groupSTRASSE      = uuid.MustParse("b2000000-0000-4000-8000-000000000005")
	groupUnicode      = uuid.MustParse("b2000000-0000-4000-8000-000000000006")
)

// Client IDs.
const (
	clientAuthorized = "c3000000-0000-4000-8000-000000000001" // authorized only
	clientFull       = "c3000000-0000-4000-8000-000000000002" // authorized, registered, synced, reporting
	clientRegistered = "c3000000-0000-4000-8000-000000000003" // registered only, statuses
	clientUnassigned = "c3000000-0000-4000-8000-000000000004" // assigned, then unassigned
	clientSameName   = "c3000000-0000-4000-8000-000000000005" // same DNS name as clientRegistered
)

// at is a UTC time from an RFC 3339 constant.
func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(fmt.Sprintf("gen: bad time constant %q: %v", s, err))
	}
	return t.UTC()
}

// file is a payload file whose digests are those of name.
func file(name string, size int64, modified time.Time, withSHA256 bool) catalog.File {
	s1 := sha1.Sum([]byte(name))
	f := catalog.File{SHA1: s1[:], FileName: name, Size: size, Modified: modified}
	if withSHA256 {
		s2 := sha256.Sum256([]byte(name))
		f.SHA256 = s2[:]
	}
	return f
}

func clause(isCategory bool, ids ...uuid.UUID) catalog.PrerequisiteClause {
	return catalog.PrerequisiteClause{IsCategory: isCategory, UpdateIDs: ids}
}

// core is a minimal Core fragment of an identity.
func core(id uuid.UUID, rev int32, typ catalog.UpdateType) string {
	return fmt.Sprintf(`<UpdateIdentity UpdateID="%s" RevisionNumber="%d" /><Properties UpdateType="%s" />`, id, rev, typ)
}

// localized is a LocalizedProperties fragment.
func localized(lang, title string) string {
	return "<LocalizedProperties><Language>" + lang + "</Language><Title>" + title + "</Title></LocalizedProperties>"
}

// source is an upd:Update document of an identity.
func source(id uuid.UUID, rev int32, body string) string {
	return fmt.Sprintf(`<upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update"><upd:UpdateIdentity UpdateID="%s" RevisionNumber="%d" />%s</upd:Update>`,
		id, rev, body)
}

func category(id uuid.UUID, rev int32, kind, title, created string, prereqs ...catalog.PrerequisiteClause) *catalog.Revision {
	return &catalog.Revision{
		Identity: catalog.Identity{UpdateID: id, RevisionNumber: rev}, Type: catalog.TypeCategory,
		CategoryType: kind, Title: title, Description: title + ".", PublicationState: "Published",
		CreationDate: at(created), Prerequisites: prereqs, CoreXML: core(id, rev, catalog.TypeCategory),
		Localized: map[string]string{"en": localized("en", title)},
	}
}

func detectoid(id uuid.UUID, prereqs ...catalog.PrerequisiteClause) *catalog.Revision {
	return &catalog.Revision{
		Identity: catalog.Identity{UpdateID: id, RevisionNumber: 1}, Type: catalog.TypeDetectoid,
		Title: "Detectoid " + id.String()[:8], PublicationState: "Published",
		CreationDate: at("2020-01-15T10:00:00.123456Z"), Prerequisites: prereqs,
		CoreXML: core(id, 1, catalog.TypeDetectoid),
	}
}

// leaf is the software leaf as first imported.
func leaf() *catalog.Revision {
	return &catalog.Revision{
		Identity: catalog.Identity{UpdateID: idLeaf, RevisionNumber: 200}, Type: catalog.TypeSoftware,
		Title:            "2026-10 Cumulative Update for Contoso OS 11 (KB5099001)",
		Description:      "Fixes <security> issues & \"quotes\"; line one\nline two.",
		KBArticleID:      "5099001",
		PublicationState: "Published",
		CreationDate:     at("2026-10-08T17:00:00.000001Z"),
		Prerequisites: []catalog.PrerequisiteClause{
			clause(false, idDetectoidA, idDetectoidB),
			clause(true, idProduct),
			clause(true, idClassification),
		},
		SupersededUpdates: []uuid.UUID{idOld, idNotImported},
		Files: []catalog.File{
			file("windows11.0-kb5099001-x64.msu", 812345678, at("2026-10-07T23:59:58Z"), true),
			file("windows11.0-kb5099001-x64.psf", 4096, at("2026-10-07T23:59:59.5Z"), false),
			file("readme.txt", 0, time.Time{}, false),
		},
		CoreXML:     core(idLeaf, 200, catalog.TypeSoftware),
		ExtendedXML: `<ExtendedProperties DefaultPropertiesLanguage="en" Handler="http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/Cbs" MaxDownloadSize="812345678" MinDownloadSize="0" />`,
		Localized: map[string]string{
			"en":    localized("en", "2026-10 Cumulative Update"),
			"de":    localized("de", "Kumulatives Update 2026-10 für Contoso OS 11"),
			"fr":    localized("fr", "Mise à jour cumulative 2026-10"),
			"zh-tw": localized("zh-tw", "2026-10 累積更新"),
		},
		Eulas: map[string]string{
			"en": `<EulaFile Language="en" FileDigest="eula-en" />`,
			"de": `<EulaFile Language="de" FileDigest="eula-de" />`,
		},
		SourceXML: source(idLeaf, 200, `<upd:Properties UpdateType="Software" />`),
	}
}

// leafChanged is the leaf imported again with other content: it keeps its
// ID.
func leafChanged() *catalog.Revision {
	r := leaf()
	r.Title += " (re-released)"
	delete(r.Localized, "fr")
	r.Localized["pt-br"] = localized("pt-br", "Atualização cumulativa 2026-10")
	r.Files[1].Size = 8192
	r.ExtendedXML = `<ExtendedProperties DefaultPropertiesLanguage="en" Handler="http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/Cbs" MaxDownloadSize="812349774" MinDownloadSize="0" />`
	r.SourceXML = source(idLeaf, 200, `<upd:Properties UpdateType="Software" IsRereleased="true" />`)
	return r
}

func bundle() *catalog.Revision {
	return &catalog.Revision{
		Identity: catalog.Identity{UpdateID: idBundle, RevisionNumber: 201}, Type: catalog.TypeSoftware,
		Title: "2026-10 Cumulative Update bundle", KBArticleID: "5099001", PublicationState: "Published",
		CreationDate:   at("2026-10-08T17:00:00.5Z"),
		Prerequisites:  []catalog.PrerequisiteClause{clause(true, idProduct), clause(true, idClassification)},
		BundledUpdates: []catalog.Identity{{UpdateID: idLeaf, RevisionNumber: 200}, {UpdateID: idNotImported, RevisionNumber: 5}},
		// The leaf's first file again (FileBySHA1 names the leaf's row) and
		// one of its own.
		Files: []catalog.File{
			file("windows11.0-kb5099001-x64.msu", 812345678, at("2026-10-07T23:59:58Z"), true),
			file("bundle-manifest.cab", 1234, at("2026-10-07T12:00:00.000123Z"), true),
		},
		CoreXML:   core(idBundle, 201, catalog.TypeSoftware),
		Localized: map[string]string{"en": localized("en", "Bundle"), "ja": localized("ja", "バンドル")},
		Eulas:     map[string]string{"en": `<EulaFile Language="en" FileDigest="bundle-eula" />`},
		SourceXML: source(idBundle, 201, ""),
	}
}

func driver() *catalog.Revision {
	chid := uuid.MustParse("817fca52-ae83-52f5-8642-9497f79d49d0")
	return &catalog.Revision{
		Identity: catalog.Identity{UpdateID: idDriver, RevisionNumber: 100}, Type: catalog.TypeDriver,
		Title: "Contoso Kiosk Display Adapter", PublicationState: "Published",
		CreationDate: at("2025-03-11T00:00:00Z"),
		Files:        []catalog.File{file("contoso-display.cab", 2048000, at("2025-03-10T08:00:00Z"), true)},
		CoreXML:      core(idDriver, 100, catalog.TypeDriver),
		Localized:    map[string]string{"en": localized("en", "Contoso Kiosk Display Adapter")},
		SourceXML:    source(idDriver, 100, ""),
		Drivers: []catalog.DriverMetadata{
			{
				HardwareID: `ROOT\BasicDisplay`, WhqlDriverID: "90000002", Manufacturer: "Contoso", Provider: "Contoso",
				Company: "Contoso Ltd.", Class: "Display", Model: "Contoso Kiosk Display Adapter",
				DriverVerDate: at("2025-03-10T00:00:00Z"), DriverVerVersion: 1<<48 | 2<<32 | 3<<16 | 4,
				FeatureScores: []catalog.DriverFeatureScore{{OperatingSystem: "amd64.10.0", Score: 0xFD},
					{OperatingSystem: "arm64.10.0", Score: 0}},
				DistributionComputerHardwareIDs: []uuid.UUID{uuid.MustParse("3673e5af-4b17-57f3-b9a4-7de906abf68b"), chid},
				TargetComputerHardwareIDs:       []uuid.UUID{chid},
				CompatibleProviders:             []string{"Microsoft", "Fabrikam"},
			},
			{
				// A version above 2^63: a signed column or a float would lose it.
				HardwareID: `PCI\VEN_1234&DEV_1111&SUBSYS_11001AF4&REV_02`, Manufacturer: "Contoso",
				Class: "Display", DriverVerDate: at("2025-03-10T00:00:00Z"),
				DriverVerVersion: 65535<<48 | 65535<<32 | 65535<<16 | 65535,
				FeatureScores:    []catalog.DriverFeatureScore{{OperatingSystem: "amd64.10.0", Score: 0xFF}},
			},
		},
	}
}

func old(rev int32) *catalog.Revision {
	return &catalog.Revision{
		Identity: catalog.Identity{UpdateID: idOld, RevisionNumber: rev}, Type: catalog.TypeSoftware,
		Title: fmt.Sprintf("2026-09 Cumulative Update, revision %d", rev), Description: "Ünïcödé ✓ 😀 tab\there",
		KBArticleID: "5098000", PublicationState: "Expired", CreationDate: at("2026-09-08T17:00:00Z"),
		Prerequisites: []catalog.PrerequisiteClause{clause(true, idProduct)},
		CoreXML:       core(idOld, rev, catalog.TypeSoftware),
		Localized:     map[string]string{"en": localized("en", "2026-09 Cumulative Update")},
	}
}

// bare has only what a revision must have: no creation date, no text, no
// fragments.
func bare() *catalog.Revision {
	return &catalog.Revision{Identity: catalog.Identity{UpdateID: idBare, RevisionNumber: 1}, Type: catalog.TypeSoftware}
}

func driverExt() *catalog.Revision {
	return &catalog.Revision{
		Identity: catalog.Identity{UpdateID: idDriverExt, RevisionNumber: 3}, Type: catalog.TypeSoftware,
		Title: "Contoso display control panel", PublicationState: "Published",
		CreationDate:  at("2025-04-01T09:30:00.25Z"),
		Prerequisites: []catalog.PrerequisiteClause{clause(false, idDriver)},
		CoreXML:       core(idDriverExt, 3, catalog.TypeSoftware),
	}
}

// fill writes the catalog through s.
func fill(ctx context.Context, s catalog.Store) error {
	var steps []error
	step := func(what string, err error) {
		if err != nil {
			steps = append(steps, fmt.Errorf("%s: %w", what, err))
		}
	}
	importBatch := func(what string, want catalog.ImportResult, revs ...*catalog.Revision) {
		res, err := s.ImportRevisions(ctx, revs)
		if err == nil && res != want {
			err = fmt.Errorf("result %+v, want %+v", res, want)
		}
		step(what, err)
	}
	_, err := s.ServerInfo(ctx)
	step("ServerInfo", err)

	// Revisions: a first import, a second one with a changed revision, an
	// unchanged one and a new revision of a known update, a third one that
	// flips the driver's IsLeaf.
	importBatch("first import", catalog.ImportResult{Added: 10},
		category(idCompany, 100, "Company", "Contoso", "2005-09-22T00:05:11.471Z"),
		category(idProduct, 200, "Product", "Contoso OS 11", "2021-06-24T15:00:00.000001Z", clause(true, idCompany)),
		category(idClassification, 300, "UpdateClassification", "Security Updates", "2005-09-22T00:05:11.471Z"),
		detectoid(idDetectoidA),
		detectoid(idDetectoidB, clause(false, idDetectoidA)),
		leaf(), bundle(), driver(), old(100), bare())
	importBatch("second import", catalog.ImportResult{Added: 1, Unchanged: 1},
		leafChanged(),
		category(idCompany, 100, "Company", "Contoso", "2005-09-22T00:05:11.471Z"),
		old(101))
	importBatch("third import", catalog.ImportResult{Added: 1}, driverExt())

	// Target groups, names with non-ASCII case among them.
	for _, g := range []catalog.TargetGroup{
		{ID: groupServers, Name: "Servers", ParentID: catalog.AllComputersGroupID},
		{ID: groupWorkstations, Name: "Workstations", ParentID: catalog.AllComputersGroupID},
		{ID: groupSigma, Name: "Σας", ParentID: groupServers},
		{ID: groupSTRASSE, Name: "STRASSE", ParentID: catalog.AllComputersGroupID},
		{ID: groupStrasse, Name: "Straße", ParentID: groupWorkstations},
		{ID: groupUnicode, Name: "Ünïcödé Grüppe", ParentID: catalog.AllComputersGroupID},
	} {
		step("CreateTargetGroup "+g.Name, s.CreateTargetGroup(ctx, g))
	}

	// Approvals: plain, optional with a deadline, replaced, removed, and
	// one whose time and author the store fills in.
	approve := func(a catalog.Approval) {
		_, err := s.SetApproval(ctx, a)
		step(fmt.Sprintf("SetApproval %s %s/%s", a.Action, a.UpdateID, a.GroupID), err)
	}
	approve(catalog.Approval{UpdateID: idLeaf, GroupID: groupServers, Action: catalog.ActionInstall,
		ChangedAt: at("2026-10-09T08:00:00.000001Z"), By: "admin@contoso"})
	approve(catalog.Approval{UpdateID: idBundle, GroupID: groupWorkstations, Action: catalog.ActionOptionalInstall,
		Deadline: at("2026-10-31T23:00:00Z"), ChangedAt: at("2026-10-09T08:05:00.5Z"), By: "Ådmin Σ"})
	approve(catalog.Approval{UpdateID: idDriver, GroupID: groupSigma, Action: catalog.ActionInstall,
		ChangedAt: at("2026-10-09T09:00:00Z"), By: "admin"})
	approve(catalog.Approval{UpdateID: idDriver, GroupID: groupSigma, Action: catalog.ActionUninstall,
		ChangedAt: at("2026-10-09T09:30:00.123456Z"), By: "admin"})
	approve(catalog.Approval{UpdateID: idOld, GroupID: catalog.AllComputersGroupID, Action: catalog.ActionInstall,
		ChangedAt: at("2026-09-09T09:00:00Z"), By: "admin"})
	approve(catalog.Approval{UpdateID: idOld, GroupID: catalog.AllComputersGroupID, Action: catalog.ActionNotApproved})
	approve(catalog.Approval{UpdateID: idLeaf, GroupID: groupStrasse, Action: catalog.ActionInstall})

	// Declines: one kept, one undone, one of an approved update.
	step("decline old", s.SetDeclined(ctx, idOld, true))
	step("decline leaf", s.SetDeclined(ctx, idLeaf, true))
	step("un-decline leaf", s.SetDeclined(ctx, idLeaf, false))
	step("decline bundle", s.SetDeclined(ctx, idBundle, true))

	// Computers.
	step("authorize", s.RecordAuthorization(ctx, clientAuthorized, "Alpha.contoso.local",
		[]string{"Servers", "Σας"}, at("2026-10-10T06:00:00.000001Z")))
	step("authorize full", s.RecordAuthorization(ctx, clientFull, "pc-full.contoso.local",
		[]string{"Workstations"}, at("2026-10-10T06:01:00Z")))
	step("register full", s.RegisterComputer(ctx, catalog.Computer{ID: clientFull, DNSName: "pc-full.contoso.local",
		OSMajor: 10, OSMinor: 0, OSBuild: 26200, OSDescription: "Contoso OS 11 Pro", OSLocale: "en-US",
		Architecture: "AMD64", Manufacturer: "Contoso", Model: "Virtual Machine", ClientVersion: "1507.2601.30012.0",
		FirstSeen: at("2026-10-10T06:01:30Z")}))
	// Authorized again with other groups: replaces them, keeps the
	// registration. The list holds what text[] and JSON quote differently.
	step("authorize full again", s.RecordAuthorization(ctx, clientFull, "pc-full.contoso.local",
		[]string{"Workstations", "a,b", "{x}", `"q"`, `back\slash`, "NULL", "", "Σας 😀", "line\nbreak"},
		at("2026-10-10T07:00:00Z")))
	step("sync full", s.RecordSync(ctx, clientFull, at("2026-10-10T07:00:01.25Z")))
	step("register only", s.RegisterComputer(ctx, catalog.Computer{ID: clientRegistered, DNSName: "büro-pc.contoso.local",
		OSMajor: 10, OSMinor: 0, OSBuild: 19045, OSDescription: "Contoso OS 10 Enterprise", OSLocale: "de-DE",
		Architecture: "ARM64", Manufacturer: "Fabrikam", Model: "Tablet ✓", ClientVersion: "10.0.19041.3636",
		FirstSeen: at("2026-10-10T05:00:00.000002Z")}))
	step("sync registered", s.RecordSync(ctx, clientRegistered, at("2026-10-10T08:00:00Z")))
	step("authorize unassigned", s.RecordAuthorization(ctx, clientUnassigned, "zeta.contoso.local", nil,
		at("2026-10-10T06:02:00Z")))
	step("authorize same name", s.RecordAuthorization(ctx, clientSameName, "büro-pc.contoso.local", nil,
		at("2026-10-10T06:03:00Z")))

	// Server-side targeting.
	step("groups of full", s.SetComputerGroups(ctx, clientFull,
		[]uuid.UUID{groupSigma, catalog.AllComputersGroupID, groupServers}))
	step("groups of registered", s.SetComputerGroups(ctx, clientRegistered, []uuid.UUID{groupStrasse}))
	step("groups of same name", s.SetComputerGroups(ctx, clientSameName, []uuid.UUID{groupWorkstations, groupSTRASSE}))
	step("groups of unassigned", s.SetComputerGroups(ctx, clientUnassigned, []uuid.UUID{groupWorkstations}))
	step("groups of unassigned emptied", s.SetComputerGroups(ctx, clientUnassigned, nil))

	// Events: without and with TimeAtTarget, a tie kept in arrival order,
	// lists, a duplicate skipped.
	ev := func(n byte, client string, eventID int, tat string, update uuid.UUID) catalog.Event {
		e := catalog.Event{
			InstanceID: uuid.MustParse(fmt.Sprintf("d4000000-0000-4000-8000-0000000000%02x", n)), ClientID: client,
			EventID: eventID, SourceID: 101, UpdateID: update, RevisionNumber: 200, AppName: "AutomaticUpdates",
		}
		if tat != "" {
			e.TimeAtTarget = at(tat)
		}
		return e
	}
	e1 := ev(1, clientFull, 147, "", uuid.Nil)
	e1.AppName = "OOBE ZDP"
	e1.Replacement = []string{"0", "a,b", `"q"`, "", "NULL"}
	e1.MiscData = []string{"B=3", "G=1507.2601.30012.0", "L=2022-02-02T00:00:00", "AppName=OOBE ZDP", "Σ={x}"}
	e2 := ev(2, clientFull, 148, "2026-10-10T07:10:00.000001Z", idLeaf)
	e2.Win32HResult = -2145124329
	e3 := ev(3, clientFull, 183, "2026-10-10T07:10:00.000001Z", idBundle)
	e3.Replacement = []string{"KB5099001"}
	e4 := ev(4, clientFull, 183, "2026-10-10T07:05:00Z", idDriver)
	e5 := ev(5, clientFull, 182, "2026-10-10T07:20:00Z", idLeaf)
	e5.MiscData = []string{`back\slash`}
	count := func(what string, want int, n int, err error) {
		if err == nil && n != want {
			err = fmt.Errorf("%d new events, want %d", n, want)
		}
		step(what, err)
	}
	n, err := s.StoreEvents(ctx, clientFull, []catalog.Event{e1, e2, e3, e4}, at("2026-10-10T07:30:00Z"))
	count("events of full", 4, n, err)
	n, err = s.StoreEvents(ctx, clientFull, []catalog.Event{e2, e5}, at("2026-10-10T07:31:00.000007Z"))
	count("events of full again", 1, n, err)

	// A report whose events imply status changes: a full status report
	// (replace), then a partial one.
	e6 := ev(6, clientFull, 156, "2026-10-10T07:40:00Z", uuid.Nil)
	e7 := ev(7, clientFull, 183, "2026-10-10T07:41:00Z", idLeaf)
	n, err = s.StoreReport(ctx, catalog.Report{ClientID: clientFull, Events: []catalog.Event{e6, e7},
		Changes: []catalog.StatusChange{
			{Event: e6.InstanceID, Replace: true, Statuses: []catalog.UpdateStatus{
				{UpdateID: idLeaf, State: catalog.StateNotInstalled},
				{UpdateID: idBundle, State: catalog.StateDownloaded, ChangedAt: at("2026-10-10T07:39:00Z")},
				{UpdateID: idDriver, State: catalog.StateNotApplicable},
			}},
			{Event: e7.InstanceID, Statuses: []catalog.UpdateStatus{
				{UpdateID: idLeaf, State: catalog.StateInstalledPendingReboot},
			}},
		},
		At: at("2026-10-10T07:42:00.5Z")})
	count("report of full", 2, n, err)

	e8 := ev(8, clientRegistered, 147, "2026-10-10T08:00:00Z", uuid.Nil)
	n, err = s.StoreEvents(ctx, clientRegistered, []catalog.Event{e8}, at("2026-10-10T08:00:02Z"))
	count("events of registered", 1, n, err)

	// Statuses set directly: replaced, merged (an unchanged state keeps its
	// time), replaced again (drops the bundle).
	setStatuses := func(what string, replace bool, when string, sts ...catalog.UpdateStatus) {
		step(what, s.SetStatuses(ctx, clientRegistered, sts, replace, at(when)))
	}
	setStatuses("statuses replace", true, "2026-10-10T08:01:00Z",
		catalog.UpdateStatus{UpdateID: idLeaf, State: catalog.StateInstalled},
		catalog.UpdateStatus{UpdateID: idBundle, State: catalog.StateFailed, ChangedAt: at("2026-10-10T07:59:00.000009Z")})
	setStatuses("statuses merge", false, "2026-10-10T08:02:00Z",
		catalog.UpdateStatus{UpdateID: idLeaf, State: catalog.StateInstalled},
		catalog.UpdateStatus{UpdateID: idDriver, State: catalog.StateNotApplicable})
	setStatuses("statuses replace again", true, "2026-10-10T08:03:00Z",
		catalog.UpdateStatus{UpdateID: idLeaf, State: catalog.StateInstalled},
		catalog.UpdateStatus{UpdateID: idDriver, State: catalog.StateDownloaded},
		catalog.UpdateStatus{UpdateID: idNotImported, State: catalog.StateUnknown})
	return errors.Join(steps...)
}
