package metadata_test

import (
	"bytes"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/metadata"
)

const vectors = "../../testdata/metadata"

// readVector returns a test vector file, verbatim.
func readVector(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectors, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fragmentFile returns a saved fragment without its leading
// "<!-- source: ... -->" line and trailing newline.
func fragmentFile(t testing.TB, name string) string {
	t.Helper()
	s := string(readVector(t, name))
	if strings.HasPrefix(s, "<!--") {
		end := strings.Index(s, "-->")
		if end < 0 {
			t.Fatalf("%s: unterminated source comment", name)
		}
		s = strings.TrimPrefix(s[end+len("-->"):], "\n")
	}
	return strings.TrimSuffix(s, "\n")
}

// capturedFragment is one Xml element of a real SyncUpdates or
// GetExtendedUpdateInfo response, with the revision ID it was sent for.
type capturedFragment struct {
	id  int
	xml string
}

// capturedFragments returns, in order, the (ID, Xml) pairs of the
// UpdateInfo (SyncUpdates) or Update (GetExtendedUpdateInfo) elements of a
// captured SOAP response. The Xml text is unescaped by the XML decoder.
func capturedFragments(t testing.TB, name string) []capturedFragment {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(readVector(t, name)))
	var (
		out   []capturedFragment
		stack []string
		text  strings.Builder
		cur   capturedFragment
	)
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			stack = append(stack, tk.Name.Local)
			text.Reset()
		case xml.CharData:
			text.Write(tk)
		case xml.EndElement:
			parent := ""
			if len(stack) >= 2 {
				parent = stack[len(stack)-2]
			}
			inUpdate := parent == "UpdateInfo" || parent == "Update"
			switch {
			case inUpdate && tk.Name.Local == "ID":
				if cur.id, err = strconv.Atoi(text.String()); err != nil {
					t.Fatalf("%s: ID %q", name, text.String())
				}
			case inUpdate && tk.Name.Local == "Xml":
				cur.xml = text.String()
			case tk.Name.Local == "UpdateInfo" || tk.Name.Local == "Update":
				out = append(out, cur)
				cur = capturedFragment{}
			}
			stack = stack[:len(stack)-1]
		}
	}
	return out
}

// captured returns the one fragment of revision id in a captured response
// whose text starts with prefix.
func captured(t testing.TB, file string, id int, prefix string) string {
	t.Helper()
	var found []string
	for _, f := range capturedFragments(t, file) {
		if f.id == id && strings.HasPrefix(f.xml, prefix) {
			found = append(found, f.xml)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s: %d fragments of revision %d starting with %q, want 1", file, len(found), id, prefix)
	}
	return found[0]
}

func parseVector(t testing.TB, name string) *catalog.Revision {
	t.Helper()
	rev, err := metadata.Parse(readVector(t, name))
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return rev
}

const (
	leafDoc        = "update-software-leaf-commandline-am-engine-ff36f0b5-r200.xml"
	oobeDoc        = "update-category-product-oobe-zdp-dd78b8a1-r202.xml"
	companyDoc     = "update-category-company-microsoft-56309036-r101.xml"
	familyDoc      = "update-category-productfamily-windows-6964aab4-r100.xml"
	bundleDoc      = "update-software-bundle-defender-engine-1f9bd9bb-r200.xml"
	detectoidDoc   = "mswsusss-spec-upd-Update-detectoid.xml"
	scanExtended   = "wsus-m0-native-scan-000010-GetExtendedUpdateInfo-response.xml"
	coreTag        = "<UpdateIdentity "
	extendedTag    = "<ExtendedProperties"
	localizedTag   = "<LocalizedProperties>"
	revOOBE        = 72571  // revision ID the captured WSUS gave dd78b8a1 r202
	revMicrosoft   = 108226 // 56309036 r101
	revWindowsFam  = 108231 // 6964AAB4 r100
	syncMicrosoft  = "wsus-m0-native-scan-000006-SyncUpdates-response.xml"
	syncWindowsFam = "wsus-m0-native-scan-000007-SyncUpdates-response.xml"
	syncOOBE       = "wsus-m0-native-scan-000008-SyncUpdates-response.xml"
)

// TestGoldenFragments compares the derived fragments byte for byte with the
// fragments a real WSUS sent for the same revisions.
func TestGoldenFragments(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		// get picks the derived fragment; want loads the real one.
		get  func(*catalog.Revision) string
		want func(testing.TB) string
	}{
		{"leaf core", leafDoc, core, file("wusp-fragment-core-ff36f0b5-r200.xml")},
		{"leaf extended", leafDoc, extended, file("wusp-fragment-extended-ff36f0b5-r200.xml")},
		{"leaf localized en", leafDoc, localized("en"), file("wusp-fragment-localized-en-ff36f0b5-r200.xml")},
		{"product core (reference file)", oobeDoc, core, file("wusp-fragment-core-category-dd78b8a1-r202.xml")},
		{"product core (SyncUpdates capture)", oobeDoc, core, capture(syncOOBE, revOOBE, coreTag)},
		{"product extended", oobeDoc, extended, capture(scanExtended, revOOBE, extendedTag)},
		{"product localized en", oobeDoc, localized("en"), capture(scanExtended, revOOBE, localizedTag)},
		{"company core", companyDoc, core, capture(syncMicrosoft, revMicrosoft, coreTag)},
		{"company extended", companyDoc, extended, capture(scanExtended, revMicrosoft, extendedTag)},
		{"company localized en", companyDoc, localized("en"), capture(scanExtended, revMicrosoft, localizedTag)},
		{"product family core", familyDoc, core, capture(syncWindowsFam, revWindowsFam, coreTag)},
		{"product family extended", familyDoc, extended, capture(scanExtended, revWindowsFam, extendedTag)},
		{"product family localized en", familyDoc, localized("en"), capture(scanExtended, revWindowsFam, localizedTag)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rev := parseVector(t, tt.doc)
			got, want := tt.get(rev), tt.want(t)
			if got != want {
				t.Errorf("fragment differs from the real WSUS one\n got: %s\nwant: %s\nfirst difference at byte %d", got, want, firstDiff(got, want))
			}
		})
	}
}

func core(r *catalog.Revision) string     { return r.CoreXML }
func extended(r *catalog.Revision) string { return r.ExtendedXML }
func localized(lang string) func(*catalog.Revision) string {
	return func(r *catalog.Revision) string { return r.Localized[lang] }
}
func file(name string) func(testing.TB) string {
	return func(t testing.TB) string { return fragmentFile(t, name) }
}
func capture(name string, id int, prefix string) func(testing.TB) string {
	return func(t testing.TB) string { return captured(t, name, id, prefix) }
}

func firstDiff(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ids(s ...string) []uuid.UUID {
	out := make([]uuid.UUID, len(s))
	for i, v := range s {
		out[i] = uuid.MustParse(v)
	}
	return out
}

func clause(isCategory bool, s ...string) catalog.PrerequisiteClause {
	return catalog.PrerequisiteClause{IsCategory: isCategory, UpdateIDs: ids(s...)}
}

// fields is a revision without the fragments and the source text, which are
// checked separately.
func fields(r *catalog.Revision) catalog.Revision {
	c := *r
	c.CoreXML, c.ExtendedXML, c.SourceXML = "", "", ""
	c.Localized, c.Eulas = nil, nil
	return c
}

func TestParseFields(t *testing.T) {
	bundled := []string{
		"f0f101fb-5f20-46fb-949f-3da68bd6f77d", "ff36f0b5-dded-4780-8664-cd78af8b62c1",
		"af84c5cd-1bb7-4421-aae7-ecf6a7cf4898", "baf5e068-ca5b-4649-9f4d-d91d68da2eab",
		"d8bd2012-b824-4041-bcec-ee4be4cdbfc6", "2b83a689-a630-416c-a201-686a4c2b9323",
		"eebb930c-9da0-420a-9ce0-ce27c00b4e82", "3537ee6c-c08c-4200-a72f-116c8ab441a1",
		"5196c248-a5db-4861-8808-a04d40ceee9d", "df55f77b-7366-4691-83c4-d1df423c9824",
		"2958bc53-5ca1-4a90-8c76-73e11a0274e1", "377e42bc-41e8-4ca4-a979-8b8196dc734a",
		"4456baec-5b73-4ec1-acf6-4150bc18a520", "0e1d8d1b-6618-46d5-b2ee-abcaf7791ac0",
		"55a30351-d131-46a8-9eac-0ef880dff91f", "3fdd38a3-3777-448b-9a59-ea7bc64e96a5",
		"836505fe-fd19-45da-a2fd-680b59e41814", "94f75687-9b9b-43c0-8627-d3be39d0f55f",
		"ca06b03e-f8e7-44bc-8955-3953d8fdf2ae", "a4d86311-0ef3-4b22-b1d7-300cca533e7c",
		"d30aa460-5bd5-4177-96d2-d85ca5be4997", "b1bf510e-70ca-4bf6-b655-f9e878cbfe82",
		"42e95b1b-480c-4725-a470-45ef2dda1794", "a05b85ab-86f5-453c-a0b2-61b8a053d8d3",
	}
	var bundle []catalog.Identity
	for _, id := range bundled {
		bundle = append(bundle, catalog.Identity{UpdateID: uuid.MustParse(id), RevisionNumber: 200})
	}

	tests := []struct {
		doc       string
		want      catalog.Revision
		languages int
	}{
		{leafDoc, catalog.Revision{
			Identity:         catalog.Identity{UpdateID: uuid.MustParse("ff36f0b5-dded-4780-8664-cd78af8b62c1"), RevisionNumber: 200},
			Type:             catalog.TypeSoftware,
			Title:            "AM Engine 1.1.26080.3 for Defender amd64fre Broad",
			PublicationState: "Published",
			CreationDate:     time.Date(2026, 9, 2, 8, 19, 36, 80e6, time.UTC),
			Prerequisites: []catalog.PrerequisiteClause{
				clause(false, "be4048db-157c-4532-9582-7f05099590c9"),
				clause(false, "59653007-e2e9-4f71-8525-2ff588527978"),
				clause(false, "0aac58ee-82a0-4452-a7fa-19f68398f1fa"),
				clause(false, "8c3fcc84-7410-4a95-8b89-a166a0190486"),
			},
			Files: []catalog.File{{
				SHA1:     mustHex(t, "bd789d42a2e027008ee3e7c4fbee6720dd6dc4c9"),
				SHA256:   mustHex(t, "157d1f273dfdd4105014a80a9c579eed27ade058a433a79bbda207929b9763e7"),
				FileName: "AM_Engine.exe",
				Size:     6662560,
				Modified: time.Date(2026, 8, 18, 0, 39, 4, 0, time.UTC),
			}},
		}, 1},
		{bundleDoc, catalog.Revision{
			Identity:         catalog.Identity{UpdateID: uuid.MustParse("1f9bd9bb-7390-4aa3-bbdb-ded99fac2583"), RevisionNumber: 200},
			Type:             catalog.TypeSoftware,
			Title:            "HIDDEN: Defender Engine 1.1.26080.3 for EngineBroad (Installer 1.1.24010.2001-Q)",
			PublicationState: "Published",
			CreationDate:     time.Date(2026, 9, 2, 8, 19, 36, 190e6, time.UTC),
			Prerequisites: []catalog.PrerequisiteClause{
				clause(false, "e0789628-ce08-4437-be74-2495b842f43b"),
				clause(false, "8c3fcc84-7410-4a95-8b89-a166a0190486"),
			},
			BundledUpdates: bundle,
		}, 1},
		{companyDoc, catalog.Revision{
			Identity:         catalog.Identity{UpdateID: uuid.MustParse("56309036-4c77-4dd9-951a-99ee9c246a94"), RevisionNumber: 101},
			Type:             catalog.TypeCategory,
			CategoryType:     "Company",
			Title:            "Microsoft",
			Description:      "Microsoft",
			PublicationState: "Published",
			CreationDate:     time.Date(2005, 9, 22, 0, 5, 11, 471e6, time.UTC),
		}, 24},
		{familyDoc, catalog.Revision{
			Identity:         catalog.Identity{UpdateID: uuid.MustParse("6964aab4-c5b5-43bd-a17d-ffb4346a8e1d"), RevisionNumber: 100},
			Type:             catalog.TypeCategory,
			CategoryType:     "ProductFamily",
			Title:            "Windows",
			Description:      "Windows",
			PublicationState: "Published",
			CreationDate:     time.Date(2004, 5, 15, 5, 50, 1, 611e6, time.UTC),
			Prerequisites:    []catalog.PrerequisiteClause{clause(true, "56309036-4c77-4dd9-951a-99ee9c246a94")},
		}, 24},
		{oobeDoc, catalog.Revision{
			Identity:         catalog.Identity{UpdateID: uuid.MustParse("dd78b8a1-0b20-45c1-add6-4da72e9364cf"), RevisionNumber: 202},
			Type:             catalog.TypeCategory,
			CategoryType:     "Product",
			Title:            "OOBE ZDP",
			Description:      "This category would be used by the updates that would meet the ZDP bar.",
			PublicationState: "Published",
			CreationDate:     time.Date(2015, 8, 25, 20, 9, 50, 2e6, time.UTC),
			Prerequisites:    []catalog.PrerequisiteClause{clause(true, "6964aab4-c5b5-43bd-a17d-ffb4346a8e1d")},
		}, 1},
		{detectoidDoc, catalog.Revision{
			Identity:         catalog.Identity{UpdateID: uuid.MustParse("17e993cd-cf5a-4276-9944-6af62ff7139c"), RevisionNumber: 100},
			Type:             catalog.TypeDetectoid,
			Title:            "SQL 2005 English ia64",
			PublicationState: "Published",
			CreationDate:     time.Date(2006, 5, 22, 19, 10, 10, 172e6, time.UTC),
			Prerequisites:    []catalog.PrerequisiteClause{clause(false, "60916385-7546-4e9b-836e-79d65e517bab")},
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.doc, func(t *testing.T) {
			src := readVector(t, tt.doc)
			rev, err := metadata.Parse(src)
			if err != nil {
				t.Fatal(err)
			}
			if got := fields(rev); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("fields\n got: %+v\nwant: %+v", got, tt.want)
			}
			if rev.ID != 0 {
				t.Errorf("ID = %d, want 0 before import", rev.ID)
			}
			if rev.SourceXML != string(src) {
				t.Errorf("SourceXML is not the document text")
			}
			if len(rev.Localized) != tt.languages || rev.Localized["en"] == "" {
				t.Errorf("Localized has %d languages (en %q), want %d with en", len(rev.Localized), rev.Localized["en"], tt.languages)
			}
			if rev.Eulas != nil {
				t.Errorf("Eulas = %v, want none", rev.Eulas)
			}
		})
	}
}

// TestCategoryLocalizedLanguages checks every language of a category gets its
// own fragment, keyed by the Language child.
func TestCategoryLocalizedLanguages(t *testing.T) {
	rev := parseVector(t, companyDoc)
	want := []string{"ar", "cs", "da", "de", "el", "en", "es", "fi", "fr", "he", "hu", "it", "ja", "ko",
		"nl", "no", "pl", "pt", "pt-br", "ru", "sv", "tr", "zh-cn", "zh-tw"}
	var got []string
	for lang, frag := range rev.Localized {
		got = append(got, lang)
		wantFrag := "<LocalizedProperties><Language>" + lang + "</Language><Title>Microsoft</Title><Description>Microsoft</Description></LocalizedProperties>"
		if frag != wantFrag {
			t.Errorf("Localized[%q] = %s, want %s", lang, frag, wantFrag)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("languages = %v, want %v", got, want)
	}
}

// TestBundleFragments checks the fragments of the bundle, for which no WSUS
// fragment was captured: the Core must carry the whole Relationships
// (BundledUpdates included) and no ApplicabilityRules (the document has
// none); the Extended is the bare ExtendedProperties, the shape WSUS sent for
// other bundles (wsusrs-flow-000015, e.g. revision 191473).
func TestBundleFragments(t *testing.T) {
	rev := parseVector(t, bundleDoc)
	var members strings.Builder
	for _, m := range rev.BundledUpdates {
		members.WriteString(`<UpdateIdentity UpdateID="` + m.UpdateID.String() + `" RevisionNumber="200" />`)
	}
	wantCore := `<UpdateIdentity UpdateID="1f9bd9bb-7390-4aa3-bbdb-ded99fac2583" RevisionNumber="200" />` +
		`<Properties UpdateType="Software" />` +
		`<Relationships><Prerequisites>` +
		`<AtLeastOne><UpdateIdentity UpdateID="e0789628-ce08-4437-be74-2495b842f43b" /></AtLeastOne>` +
		`<AtLeastOne><UpdateIdentity UpdateID="8c3fcc84-7410-4a95-8b89-a166a0190486" /></AtLeastOne>` +
		`</Prerequisites><BundledUpdates><AtLeastOne>` + members.String() + `</AtLeastOne></BundledUpdates></Relationships>`
	if rev.CoreXML != wantCore {
		t.Errorf("CoreXML\n got: %s\nwant: %s", rev.CoreXML, wantCore)
	}
	if !strings.Contains(rev.CoreXML, `<BundledUpdates><AtLeastOne><UpdateIdentity UpdateID="f0f101fb-5f20-46fb-949f-3da68bd6f77d" RevisionNumber="200" />`) {
		t.Errorf("CoreXML lacks the first bundle member")
	}
	const wantExt = `<ExtendedProperties DefaultPropertiesLanguage="en" />`
	if rev.ExtendedXML != wantExt {
		t.Errorf("ExtendedXML = %s, want %s", rev.ExtendedXML, wantExt)
	}
	seen := false
	for _, f := range capturedFragments(t, "wsusrs-flow-000015-GetExtendedUpdateInfo-response-with-FileLocations.xml") {
		seen = seen || f.xml == wantExt
	}
	if !seen {
		t.Errorf("no captured Extended fragment equals %s", wantExt)
	}
}

// TestDetectoidFragments derives the fragments of the MS-WSUSSS spec example
// (hard-wrapped: whitespace between elements, newlines inside tags). No WSUS
// output exists for it; the expectations apply the observed rules: m. prefix,
// IsPublic/ExplicitlyDeployable/DetectoidType/PublicationState/... dropped.
func TestDetectoidFragments(t *testing.T) {
	rev := parseVector(t, detectoidDoc)
	wantCore := `<UpdateIdentity UpdateID="17e993cd-cf5a-4276-9944-6af62ff7139c" RevisionNumber="100" />` +
		`<Properties UpdateType="Detectoid" />` +
		`<Relationships><Prerequisites><UpdateIdentity UpdateID="60916385-7546-4e9b-836e-79d65e517bab" /></Prerequisites></Relationships>` +
		`<ApplicabilityRules><IsInstalled><m.MsiProductInstalled ProductCode="{3c4a397d-22b2-4ab0-849f-f5e12672caca}" ExcludeVersionMax="true" VersionMin="9.00.1399.06" Language="1033" /></IsInstalled></ApplicabilityRules>`
	if rev.CoreXML != wantCore {
		t.Errorf("CoreXML\n got: %s\nwant: %s", rev.CoreXML, wantCore)
	}
	const wantExt = `<ExtendedProperties DefaultPropertiesLanguage="en" />`
	if rev.ExtendedXML != wantExt {
		t.Errorf("ExtendedXML = %s, want %s", rev.ExtendedXML, wantExt)
	}
	const wantLoc = `<LocalizedProperties><Language>en</Language><Title>SQL 2005 English ia64</Title></LocalizedProperties>`
	if rev.Localized["en"] != wantLoc {
		t.Errorf("Localized[en] = %s, want %s", rev.Localized["en"], wantLoc)
	}
}

func utf16Bytes(s string, bigEndian, bom bool) []byte {
	units := utf16.Encode([]rune(s))
	if bom {
		units = append([]uint16{0xFEFF}, units...)
	}
	out := make([]byte, 0, 2*len(units))
	for _, u := range units {
		if bigEndian {
			out = append(out, byte(u>>8), byte(u))
		} else {
			out = append(out, byte(u), byte(u>>8))
		}
	}
	return out
}

// TestEncodings feeds the leaf document in every accepted encoding and
// wrapping; each must give the real Core fragment and UTF-8 SourceXML.
func TestEncodings(t *testing.T) {
	src := string(readVector(t, leafDoc))
	body := src[strings.Index(src, "<upd:Update"):]
	wantCore := fragmentFile(t, "wusp-fragment-core-ff36f0b5-r200.xml")
	tests := []struct {
		name       string
		doc        []byte
		wantSource string
	}{
		{"UTF-8 with comment", []byte(src), src},
		{"UTF-8 bare root", []byte(body), body},
		{"UTF-8 BOM", append([]byte{0xEF, 0xBB, 0xBF}, body...), body},
		{"UTF-8 declaration", []byte(`<?xml version="1.0" encoding="utf-8"?>` + "\r\n" + body), `<?xml version="1.0" encoding="utf-8"?>` + "\r\n" + body},
		{"UTF-16LE BOM", utf16Bytes(body, false, true), body},
		{"UTF-16BE BOM", utf16Bytes(body, true, true), body},
		{"UTF-16LE BOM declaration", utf16Bytes(`<?xml version="1.0" encoding="utf-16"?>`+body, false, true), `<?xml version="1.0" encoding="utf-16"?>` + body},
		{"UTF-16LE no BOM", utf16Bytes(body, false, false), body},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rev, err := metadata.Parse(tt.doc)
			if err != nil {
				t.Fatal(err)
			}
			if rev.CoreXML != wantCore {
				t.Errorf("CoreXML differs from the real one at byte %d", firstDiff(rev.CoreXML, wantCore))
			}
			if rev.SourceXML != tt.wantSource {
				t.Errorf("SourceXML = %.80q..., want %.80q...", rev.SourceXML, tt.wantSource)
			}
		})
	}
}

// replaceOnce returns s with old replaced once, failing if old is absent.
func replaceOnce(t testing.TB, s, old, repl string) []byte {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("test vector lacks %q", old)
	}
	return []byte(strings.Replace(s, old, repl, 1))
}

func TestParseErrors(t *testing.T) {
	leaf := string(readVector(t, leafDoc))
	oobe := string(readVector(t, oobeDoc))
	tests := []struct {
		name string
		doc  []byte
		want string
	}{
		{"empty", nil, "empty document"},
		{"garbage", []byte("this is not XML"), "text outside the root element"},
		{"comment only", []byte("<!-- nothing -->"), "no root element"},
		{"truncated", []byte(leaf[:len(leaf)/2]), "read XML"},
		{"binary", []byte{0x00, 0x01, 0x02, 0xFF, 0xFE}, "not valid UTF-8"},
		{"odd UTF-16", []byte{0xFF, 0xFE, '<', 0, 'a'}, "odd number of bytes"},
		{"two roots", []byte(`<a/><b/>`), "more than one root"},
		{"wrong root", []byte(`<Update xmlns="urn:other"><UpdateIdentity/></Update>`), "want upd:Update"},
		{"undeclared prefix", []byte(`<upd:Update><upd:UpdateIdentity/></upd:Update>`), "want upd:Update"},
		{"missing identity", replaceOnce(t, leaf, `<upd:UpdateIdentity UpdateID="ff36f0b5-dded-4780-8664-cd78af8b62c1" RevisionNumber="200" />`, ""), "missing UpdateIdentity"},
		{"bad UpdateID", replaceOnce(t, leaf, `UpdateID="ff36f0b5-dded-4780-8664-cd78af8b62c1"`, `UpdateID="ff36f0b5-nothex"`), "bad UpdateIdentity: UpdateID"},
		{"missing RevisionNumber", replaceOnce(t, leaf, ` RevisionNumber="200"`, ""), "missing RevisionNumber"},
		{"bad RevisionNumber", replaceOnce(t, leaf, `RevisionNumber="200"`, `RevisionNumber="4294967296"`), "RevisionNumber"},
		{"two identities", replaceOnce(t, leaf, `<upd:Properties`, `<upd:UpdateIdentity UpdateID="ff36f0b5-dded-4780-8664-cd78af8b62c1" RevisionNumber="201" /><upd:Properties`), "more than one UpdateIdentity"},
		{"bad UpdateType", replaceOnce(t, leaf, `UpdateType="Software"`, `UpdateType="Firmware"`), `unsupported Properties/@UpdateType "Firmware"`},
		{"bad prerequisite", replaceOnce(t, leaf, `UpdateID="be4048db-157c-4532-9582-7f05099590c9"`, `UpdateID=""`), "bad Prerequisites/UpdateIdentity: missing UpdateID"},
		{"empty AtLeastOne", replaceOnce(t, oobe, `<upd:UpdateIdentity UpdateID="6964aab4-c5b5-43bd-a17d-ffb4346a8e1d" />`, ""), "empty Prerequisites/AtLeastOne"},
		{"bad digest base64", replaceOnce(t, leaf, `Digest="vXidQqLgJwCO4+fE++5nIN1txMk="`, `Digest="not base64!"`), "Digest: \"not base64!\" is not base64"},
		{"short digest", replaceOnce(t, leaf, `Digest="vXidQqLgJwCO4+fE++5nIN1txMk="`, `Digest="vXidQqLgJwCO4+fE"`), "is 12 bytes, want 20"},
		{"missing digest", replaceOnce(t, leaf, `Digest="vXidQqLgJwCO4+fE++5nIN1txMk=" `, ""), "Digest: missing"},
		{"SHA-256 as digest", replaceOnce(t, leaf, `Digest="vXidQqLgJwCO4+fE++5nIN1txMk="`, `Digest="FX0fJz391BBQFKgKnFee7Set4FikM6ebvaIHkpuXY+c="`), "is 32 bytes, want 20"},
		{"short SHA256", replaceOnce(t, leaf, `FX0fJz391BBQFKgKnFee7Set4FikM6ebvaIHkpuXY+c=`, `vXidQqLgJwCO4+fE++5nIN1txMk=`), "AdditionalDigest SHA256: \"vXidQqLgJwCO4+fE++5nIN1txMk=\" is 20 bytes, want 32"},
		{"bad size", replaceOnce(t, leaf, ` Size="6662560"`, ` Size="6.6MB"`), `Size "6.6MB" is not a non-negative integer`},
		{"negative size", replaceOnce(t, leaf, ` Size="6662560"`, ` Size="-1"`), `Size "-1"`},
		{"bad modified", replaceOnce(t, leaf, `Modified="2026-08-18T00:39:04Z"`, `Modified="yesterday"`), "bad Files/File[1]: AM_Engine.exe: Modified"},
		{"bad creation date", replaceOnce(t, leaf, `CreationDate="2026-09-02T08:19:36.080Z"`, `CreationDate="2026-13-02"`), "bad Properties/@CreationDate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rev, err := metadata.Parse(tt.doc)
			if err == nil {
				t.Fatalf("Parse succeeded (%+v), want error containing %q", rev.Identity, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "metadata: parse: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want prefix %q and %q", err, "metadata: parse: ", tt.want)
			}
		})
	}
}

// TestMissingProperties checks a document without Properties is rejected.
func TestMissingProperties(t *testing.T) {
	doc := `<upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update">` +
		`<upd:UpdateIdentity UpdateID="ff36f0b5-dded-4780-8664-cd78af8b62c1" RevisionNumber="200" /></upd:Update>`
	if _, err := metadata.Parse([]byte(doc)); err == nil || err.Error() != "metadata: parse: missing Properties" {
		t.Errorf("error = %v, want metadata: parse: missing Properties", err)
	}
}

func BenchmarkParse(b *testing.B) {
	doc := readVector(b, leafDoc)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := metadata.Parse(doc); err != nil {
			b.Fatal(err)
		}
	}
}
