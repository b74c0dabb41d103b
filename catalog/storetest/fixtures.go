package storetest

import (
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// The fixture catalog is a small slice of the real Microsoft Update catalog:
// identities, prerequisite and bundle edges, files and fragments come from
// the real documents in shared/protocol/metadata-samples and
// shared/protocol/captures/wsus-rs (named at each use). Where a value is not
// in those documents it is marked "test data" and only gives the graph the
// shape a test needs.

// Update IDs of the fixture catalog.
var (
	idMicrosoft       = uuid.MustParse("56309036-4c77-4dd9-951a-99ee9c246a94") // Company
	idWindows         = uuid.MustParse("6964aab4-c5b5-43bd-a17d-ffb4346a8e1d") // ProductFamily
	idOOBEZDP         = uuid.MustParse("dd78b8a1-0b20-45c1-add6-4da72e9364cf") // Product
	idDefender        = uuid.MustParse("8c3fcc84-7410-4a95-8b89-a166a0190486") // Product "Microsoft Defender Antivirus"
	idWindows11       = uuid.MustParse("72e7624a-5b00-45d2-b92f-e561c0a6a160") // Product, not imported
	idDefinitionUpd   = uuid.MustParse("e0789628-ce08-4437-be74-2495b842f43b") // UpdateClassification
	idDetectoidA      = uuid.MustParse("be4048db-157c-4532-9582-7f05099590c9") // prerequisites of the AM engine leaf
	idDetectoidB      = uuid.MustParse("59653007-e2e9-4f71-8525-2ff588527978")
	idDetectoidC      = uuid.MustParse("0aac58ee-82a0-4452-a7fa-19f68398f1fa")
	idAMEngine        = uuid.MustParse("ff36f0b5-dded-4780-8664-cd78af8b62c1") // Software leaf, one file
	idAMEngineSibling = uuid.MustParse("f0f101fb-5f20-46fb-949f-3da68bd6f77d") // bundled, not imported
	idEngineBundle    = uuid.MustParse("1f9bd9bb-7390-4aa3-bbdb-ded99fac2583") // Software bundle
	idOldBundle       = uuid.MustParse("3b9c3d5e-43cb-4d3c-9b0f-1e6d7a2f4c11") // test data: superseded by the bundle
	idRollupFix       = uuid.MustParse("267dd2b4-f9fa-4bcd-bba7-1cb00e0e59d9") // CBS leaf KB5026368 arm64
	idRollupDetA      = uuid.MustParse("c57b3cff-f20d-4841-9970-cfc10d156057") // its prerequisites, not imported
	idRollupDetB      = uuid.MustParse("4103af66-247a-4782-b970-8899394c27c3")
)

// Positions of the fixture revisions in fixtureCatalog's result.
const (
	fxMicrosoft = iota
	fxWindows
	fxOOBEZDP
	fxDefender
	fxDefinitionUpd
	fxDetectoidA
	fxDetectoidB
	fxDetectoidC
	fxAMEngine
	fxEngineBundle
	fxRollupFix
	fxCount
)

// fixtureLeaves is the IsLeaf every fixture revision must have once the
// whole fixture catalog is imported: a revision is a leaf iff no revision
// names its UpdateID in a prerequisite (bundling does not count: the AM
// engine leaf is bundled by the engine bundle and still a leaf).
var fixtureLeaves = [fxCount]bool{
	fxMicrosoft:     false, // Windows names it
	fxWindows:       false, // OOBE ZDP and Defender name it
	fxOOBEZDP:       true,
	fxDefender:      false, // the AM engine and the bundle name it
	fxDefinitionUpd: false, // the bundle names it
	fxDetectoidA:    false, // the AM engine and detectoid B name it
	fxDetectoidB:    false,
	fxDetectoidC:    false,
	fxAMEngine:      true, // bundled only
	fxEngineBundle:  true,
	fxRollupFix:     true,
}

// Real fragments and digests, copied from shared/protocol.
const (
	// metadata-samples/wusp-fragment-core-category-dd78b8a1-r202.xml (real WSUS).
	coreOOBEZDP = `<UpdateIdentity UpdateID="dd78b8a1-0b20-45c1-add6-4da72e9364cf" RevisionNumber="202" /><Properties UpdateType="Category" /><Relationships><Prerequisites><AtLeastOne IsCategory="true"><UpdateIdentity UpdateID="6964aab4-c5b5-43bd-a17d-ffb4346a8e1d" /></AtLeastOne></Prerequisites></Relationships><ApplicabilityRules><IsInstalled><b.WindowsVersion Comparison="GreaterThanOrEqualTo" MajorVersion="6" MinorVersion="3" ProductType="1" /></IsInstalled></ApplicabilityRules>`

	// metadata-samples/wusp-fragment-core-ff36f0b5-r200.xml, cut after the
	// Relationships element (the store treats fragments as opaque text).
	coreAMEngine = `<UpdateIdentity UpdateID="ff36f0b5-dded-4780-8664-cd78af8b62c1" RevisionNumber="200" /><Properties UpdateType="Software" /><Relationships><Prerequisites><UpdateIdentity UpdateID="be4048db-157c-4532-9582-7f05099590c9" /><UpdateIdentity UpdateID="59653007-e2e9-4f71-8525-2ff588527978" /><UpdateIdentity UpdateID="0aac58ee-82a0-4452-a7fa-19f68398f1fa" /><AtLeastOne><UpdateIdentity UpdateID="8c3fcc84-7410-4a95-8b89-a166a0190486" /></AtLeastOne></Prerequisites></Relationships>`

	// metadata-samples/wusp-fragment-extended-ff36f0b5-r200.xml (real WSUS).
	extendedAMEngine = `<ExtendedProperties DefaultPropertiesLanguage="en" Handler="http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/CommandLineInstallation" MaxDownloadSize="6662560" MinDownloadSize="0"><InstallationBehavior Impact="Minor" /></ExtendedProperties><Files><File Digest="vXidQqLgJwCO4+fE++5nIN1txMk=" DigestAlgorithm="SHA1" FileName="AM_Engine.exe" Size="6662560" Modified="2026-08-18T00:39:04Z"><AdditionalDigest Algorithm="SHA256">FX0fJz391BBQFKgKnFee7Set4FikM6ebvaIHkpuXY+c=</AdditionalDigest></File></Files><HandlerSpecificData type="cmd:CommandLineInstallation"><InstallCommand Program="AM_Engine.exe"><ReturnCode Code="0" Result="Succeeded" /></InstallCommand></HandlerSpecificData>`

	// metadata-samples/wusp-fragment-localized-en-ff36f0b5-r200.xml (real WSUS).
	localizedAMEngineEN = `<LocalizedProperties><Language>en</Language><Title>AM Engine 1.1.26080.3 for Defender amd64fre Broad</Title></LocalizedProperties>`
	// Test data: a German LocalizedProperties of the same shape.
	localizedAMEngineDE = `<LocalizedProperties><Language>de</Language><Title>AM-Modul 1.1.26080.3 für Defender amd64fre Broad</Title></LocalizedProperties>`

	// captures/wsus-rs/wsus-m0-cbs/cbs-rollupfix-core-reduced.xml, cut after
	// the Relationships element.
	coreRollupFix = `<UpdateIdentity UpdateID="267dd2b4-f9fa-4bcd-bba7-1cb00e0e59d9" RevisionNumber="200" /><Properties UpdateType="Software" /><Relationships><Prerequisites><UpdateIdentity UpdateID="c57b3cff-f20d-4841-9970-cfc10d156057" /><UpdateIdentity UpdateID="4103af66-247a-4782-b970-8899394c27c3" /><AtLeastOne><UpdateIdentity UpdateID="72e7624a-5b00-45d2-b92f-e561c0a6a160" /></AtLeastOne></Prerequisites></Relationships>`

	// examples/wsusrs-cbs-rollupfix-KB5026368-extended-fragment.xml (real WSUS).
	extendedRollupFix = `<ExtendedProperties DefaultPropertiesLanguage="en" Handler="http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/Cbs" MaxDownloadSize="479510336" MinDownloadSize="0"><InstallationBehavior RebootBehavior="CanRequestReboot" /></ExtendedProperties><Files><File Digest="1MrMC8LV5k+xRuzrZqRbqmD55Q0=" DigestAlgorithm="SHA1" FileName="Windows10.0-KB5026368-arm64.cab" Size="479510336" Modified="2023-05-04T06:59:55Z" PatchingType="SelfContained"><AdditionalDigest Algorithm="SHA256">gC6suVZDPSeSFSaRlr6YiJjcRH5XbWR8HSqVTujSjiQ=</AdditionalDigest></File></Files><HandlerSpecificData type="cbs:Cbs"><CbsData PackageIdentity="" /></HandlerSpecificData>`

	// metadata-samples/update-software-bundle-defender-engine-1f9bd9bb-r200.xml,
	// with the BundledUpdates list cut to the two members the fixture keeps.
	sourceEngineBundle = `<upd:Update xmlns:pub="http://schemas.microsoft.com/msus/2002/12/Publishing" xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update"><upd:UpdateIdentity UpdateID="1f9bd9bb-7390-4aa3-bbdb-ded99fac2583" RevisionNumber="200" /><upd:Properties UpdateType="Software" DefaultPropertiesLanguage="en" PublicationState="Published" CreationDate="2026-09-02T08:19:36.190Z" PublisherID="bccf8ca0-2819-4598-8d15-c1506e363e92"></upd:Properties><upd:LocalizedPropertiesCollection><upd:LocalizedProperties><upd:Language>en</upd:Language><upd:Title>HIDDEN: Defender Engine 1.1.26080.3 for EngineBroad (Installer 1.1.24010.2001-Q)</upd:Title></upd:LocalizedProperties></upd:LocalizedPropertiesCollection><upd:Relationships><upd:Prerequisites><upd:AtLeastOne><upd:UpdateIdentity UpdateID="e0789628-ce08-4437-be74-2495b842f43b" /></upd:AtLeastOne><upd:AtLeastOne><upd:UpdateIdentity UpdateID="8c3fcc84-7410-4a95-8b89-a166a0190486" /></upd:AtLeastOne></upd:Prerequisites><upd:BundledUpdates><upd:AtLeastOne><upd:UpdateIdentity UpdateID="f0f101fb-5f20-46fb-949f-3da68bd6f77d" RevisionNumber="200" /><upd:UpdateIdentity UpdateID="ff36f0b5-dded-4780-8664-cd78af8b62c1" RevisionNumber="200" /></upd:AtLeastOne></upd:BundledUpdates></upd:Relationships></upd:Update>`

	// Test data: an EULA fragment for the bundle (the real one has none).
	eulaEngineBundleEN = `<EulaFile Language="en" FileDigest="test" />`

	// File digests (base64) from the Extended fragments above.
	sha1AMEngine    = "vXidQqLgJwCO4+fE++5nIN1txMk="
	sha256AMEngine  = "FX0fJz391BBQFKgKnFee7Set4FikM6ebvaIHkpuXY+c="
	sha1RollupFix   = "1MrMC8LV5k+xRuzrZqRbqmD55Q0="
	sha256RollupFix = "gC6suVZDPSeSFSaRlr6YiJjcRH5XbWR8HSqVTujSjiQ="
	sha1UnknownFile = "2jmj7l5rSw0yVb/vlWAYkK/YBwk=" // SHA-1 of the empty string
	isCategory      = true
	notCategory     = false
)

// b64 decodes a base64 constant of this file.
func b64(s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		panic(fmt.Sprintf("storetest: bad base64 constant %q: %v", s, err))
	}
	return b
}

// date is a UTC time from an RFC 3339 constant of this file.
func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(fmt.Sprintf("storetest: bad time constant %q: %v", s, err))
	}
	return t.UTC()
}

// clause is a prerequisite clause.
func clause(cat bool, ids ...uuid.UUID) catalog.PrerequisiteClause {
	return catalog.PrerequisiteClause{IsCategory: cat, UpdateIDs: ids}
}

// category is a category revision with its en LocalizedProperties.
func category(id uuid.UUID, rev int32, kind, title, created string, prereqs ...catalog.PrerequisiteClause) *catalog.Revision {
	return &catalog.Revision{
		Identity:         catalog.Identity{UpdateID: id, RevisionNumber: rev},
		Type:             catalog.TypeCategory,
		CategoryType:     kind,
		Title:            title,
		Description:      title,
		PublicationState: "Published",
		CreationDate:     date(created),
		Prerequisites:    prereqs,
		Localized: map[string]string{
			"en": "<LocalizedProperties><Language>en</Language><Title>" + title + "</Title><Description>" + title + "</Description></LocalizedProperties>",
		},
	}
}

// detectoid is a detectoid revision (test data: the real documents of these
// IDs are not stored; only their IDs are real).
func detectoid(id uuid.UUID, prereqs ...catalog.PrerequisiteClause) *catalog.Revision {
	return &catalog.Revision{
		Identity:         catalog.Identity{UpdateID: id, RevisionNumber: 200},
		Type:             catalog.TypeDetectoid,
		Title:            "Detectoid " + id.String()[:8],
		PublicationState: "Published",
		CreationDate:     date("2020-01-15T10:00:00.123Z"),
		Prerequisites:    prereqs,
		CoreXML:          `<UpdateIdentity UpdateID="` + id.String() + `" RevisionNumber="200" /><Properties UpdateType="Detectoid" />`,
	}
}

// fixtureCatalog returns a fresh copy of the fixture catalog, in import
// order (positions fx*).
func fixtureCatalog() []*catalog.Revision {
	revs := make([]*catalog.Revision, fxCount)
	// Categories: metadata-samples/update-category-*.xml; Defender and the
	// classification: ids real (MS-WSUSSS.md 4.3), revisions test data.
	revs[fxMicrosoft] = category(idMicrosoft, 101, "Company", "Microsoft", "2005-09-22T00:05:11.471Z")
	revs[fxWindows] = category(idWindows, 100, "ProductFamily", "Windows", "2004-05-15T05:50:01.611Z",
		clause(isCategory, idMicrosoft))
	revs[fxOOBEZDP] = category(idOOBEZDP, 202, "Product", "OOBE ZDP", "2015-08-25T20:09:50.002Z",
		clause(isCategory, idWindows))
	revs[fxOOBEZDP].CoreXML = coreOOBEZDP
	revs[fxDefender] = category(idDefender, 200, "Product", "Microsoft Defender Antivirus", "2016-03-01T18:00:00.5Z",
		clause(isCategory, idWindows))
	revs[fxDefinitionUpd] = category(idDefinitionUpd, 200, "UpdateClassification", "Definition Updates", "2005-09-22T00:05:11.471Z")

	revs[fxDetectoidA] = detectoid(idDetectoidA)
	revs[fxDetectoidB] = detectoid(idDetectoidB, clause(notCategory, idDetectoidA))
	revs[fxDetectoidC] = detectoid(idDetectoidC)

	// metadata-samples/update-software-leaf-commandline-am-engine-ff36f0b5-r200.xml
	revs[fxAMEngine] = &catalog.Revision{
		Identity:         catalog.Identity{UpdateID: idAMEngine, RevisionNumber: 200},
		Type:             catalog.TypeSoftware,
		Title:            "AM Engine 1.1.26080.3 for Defender amd64fre Broad",
		PublicationState: "Published",
		CreationDate:     date("2026-09-02T08:19:36.080Z"),
		Prerequisites: []catalog.PrerequisiteClause{
			clause(notCategory, idDetectoidA),
			clause(notCategory, idDetectoidB),
			clause(notCategory, idDetectoidC),
			clause(notCategory, idDefender),
		},
		Files: []catalog.File{{
			SHA1:     b64(sha1AMEngine),
			SHA256:   b64(sha256AMEngine),
			FileName: "AM_Engine.exe",
			Size:     6662560,
			Modified: date("2026-08-18T00:39:04Z"),
		}},
		CoreXML:     coreAMEngine,
		ExtendedXML: extendedAMEngine,
		Localized:   map[string]string{"en": localizedAMEngineEN, "de": localizedAMEngineDE},
	}

	// metadata-samples/update-software-bundle-defender-engine-1f9bd9bb-r200.xml
	// (members cut to two; supersedence and EULA are test data).
	revs[fxEngineBundle] = &catalog.Revision{
		Identity:         catalog.Identity{UpdateID: idEngineBundle, RevisionNumber: 200},
		Type:             catalog.TypeSoftware,
		Title:            "HIDDEN: Defender Engine 1.1.26080.3 for EngineBroad (Installer 1.1.24010.2001-Q)",
		PublicationState: "Published",
		CreationDate:     date("2026-09-02T08:19:36.190Z"),
		Prerequisites: []catalog.PrerequisiteClause{
			clause(notCategory, idDefinitionUpd),
			clause(notCategory, idDefender),
		},
		BundledUpdates: []catalog.Identity{
			{UpdateID: idAMEngineSibling, RevisionNumber: 200},
			{UpdateID: idAMEngine, RevisionNumber: 200},
		},
		SupersededUpdates: []uuid.UUID{idOldBundle},
		CoreXML:           `<UpdateIdentity UpdateID="1f9bd9bb-7390-4aa3-bbdb-ded99fac2583" RevisionNumber="200" /><Properties UpdateType="Software" />`,
		Localized: map[string]string{
			"en": `<LocalizedProperties><Language>en</Language><Title>HIDDEN: Defender Engine 1.1.26080.3 for EngineBroad (Installer 1.1.24010.2001-Q)</Title></LocalizedProperties>`,
		},
		Eulas:     map[string]string{"en": eulaEngineBundleEN},
		SourceXML: sourceEngineBundle,
	}

	// captures/wsus-rs/wsus-m0-cbs (KB5026368 arm64); title and dates test data.
	revs[fxRollupFix] = &catalog.Revision{
		Identity:         catalog.Identity{UpdateID: idRollupFix, RevisionNumber: 200},
		Type:             catalog.TypeSoftware,
		Title:            "2023-05 Cumulative Update for Windows 11 for arm64-based Systems (KB5026368)",
		Description:      "Install this update to resolve issues in Windows.",
		KBArticleID:      "5026368",
		PublicationState: "Published",
		CreationDate:     date("2023-05-09T17:00:00Z"),
		Prerequisites: []catalog.PrerequisiteClause{
			clause(notCategory, idRollupDetA),
			clause(notCategory, idRollupDetB),
			clause(notCategory, idWindows11),
		},
		Files: []catalog.File{{
			SHA1:     b64(sha1RollupFix),
			SHA256:   b64(sha256RollupFix),
			FileName: "Windows10.0-KB5026368-arm64.cab",
			Size:     479510336,
			Modified: date("2023-05-04T06:59:55Z"),
		}},
		CoreXML:     coreRollupFix,
		ExtendedXML: extendedRollupFix,
	}
	return revs
}

// Synthetic returns n generated revisions shaped like a real catalog, for
// benchmarks: a category tree, detectoids, and software leaves grouped under
// bundles, with prerequisite clauses, one file per leaf and small fragments.
// IDs are derived from seed, so two calls with different seeds do not clash.
func Synthetic(n int, seed string) []*catalog.Revision {
	id := func(kind string, i int) uuid.UUID {
		return uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprintf("%s/%s/%d", seed, kind, i)))
	}
	created := date("2024-06-11T17:00:00.25Z")
	revs := make([]*catalog.Revision, 0, n)
	add := func(r *catalog.Revision) bool {
		if len(revs) == n {
			return false
		}
		r.PublicationState = "Published"
		r.CreationDate = created
		r.CoreXML = fmt.Sprintf(`<UpdateIdentity UpdateID="%s" RevisionNumber="%d" /><Properties UpdateType="%s" />`,
			r.UpdateID, r.RevisionNumber, r.Type)
		r.Localized = map[string]string{"en": "<LocalizedProperties><Language>en</Language><Title>" + r.Title + "</Title></LocalizedProperties>"}
		revs = append(revs, r)
		return true
	}
	const products, detectoids = 40, 400
	for i := 0; i < products; i++ {
		r := &catalog.Revision{Identity: catalog.Identity{UpdateID: id("product", i), RevisionNumber: 100},
			Type: catalog.TypeCategory, CategoryType: "Product", Title: fmt.Sprintf("Product %d", i)}
		if i > 0 {
			r.Prerequisites = []catalog.PrerequisiteClause{clause(isCategory, id("product", 0))}
		}
		if !add(r) {
			return revs
		}
	}
	for i := 0; i < detectoids; i++ {
		if !add(&catalog.Revision{Identity: catalog.Identity{UpdateID: id("detectoid", i), RevisionNumber: 200},
			Type: catalog.TypeDetectoid, Title: fmt.Sprintf("Detectoid %d", i),
			Prerequisites: []catalog.PrerequisiteClause{clause(notCategory, id("product", i%products))}}) {
			return revs
		}
	}
	for i := 0; ; i++ {
		product := id("product", i%products)
		digest := sha1.Sum([]byte(fmt.Sprintf("%s/file/%d", seed, i)))
		leaf := &catalog.Revision{Identity: catalog.Identity{UpdateID: id("leaf", i), RevisionNumber: 200},
			Type: catalog.TypeSoftware, Title: fmt.Sprintf("Package %d", i), KBArticleID: fmt.Sprint(5000000 + i),
			Prerequisites: []catalog.PrerequisiteClause{
				clause(notCategory, id("detectoid", i%detectoids)),
				clause(notCategory, id("detectoid", (i*7)%detectoids), id("detectoid", (i*13)%detectoids)),
				clause(notCategory, product),
			},
			Files: []catalog.File{{SHA1: digest[:], FileName: fmt.Sprintf("package-%d.cab", i),
				Size: int64(1000 + i), Modified: created}},
		}
		if !add(leaf) {
			return revs
		}
		if i%4 != 3 {
			continue
		}
		bundle := &catalog.Revision{Identity: catalog.Identity{UpdateID: id("bundle", i), RevisionNumber: 201},
			Type: catalog.TypeSoftware, Title: fmt.Sprintf("Update %d", i),
			Prerequisites: []catalog.PrerequisiteClause{clause(isCategory, product)},
		}
		for j := i - 3; j <= i; j++ {
			bundle.BundledUpdates = append(bundle.BundledUpdates, catalog.Identity{UpdateID: id("leaf", j), RevisionNumber: 200})
		}
		if i >= 8 {
			bundle.SupersededUpdates = []uuid.UUID{id("bundle", i-4)}
		}
		if !add(bundle) {
			return revs
		}
	}
}
