package catalog_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"wsus/catalog"
)

// Categories of the tests: a family with two products, a family without
// products, two products titled alike, titles that differ in case only, a
// classification, and what the index leaves out.
var (
	windowsID  = uuid.MustParse("6964aab4-c5b5-43bd-a17d-ffb4346a8e1d") // ProductFamily "Windows"
	win11ID    = uuid.MustParse("72e7624a-5b00-45d2-b92f-e561c0a6a160") // Product "Windows 11", family Windows
	win10ID    = uuid.MustParse("a3c2375d-0c8a-42f9-bce0-28333e198407") // Product "Windows 10", families Windows, Office
	officeID   = uuid.MustParse("477b856e-65c4-4473-b621-a8b230bb70d9") // ProductFamily "Office"
	emptyID    = uuid.MustParse("00000000-0000-0000-0000-0000000000e0") // ProductFamily "Empty"
	tools1ID   = uuid.MustParse("00000000-0000-0000-0000-0000000000a1") // Product "Tools"
	tools2ID   = uuid.MustParse("00000000-0000-0000-0000-0000000000a2") // Product "Tools"
	serverID   = uuid.MustParse("00000000-0000-0000-0000-0000000000b1") // Product "Windows Server"
	serverLoID = uuid.MustParse("00000000-0000-0000-0000-0000000000b2") // Product "windows server"
	securityID = uuid.MustParse("0fa1201d-4330-4fa8-8ae9-b877473b6441") // UpdateClassification "Security Updates"
	companyID  = uuid.MustParse("56309036-4c77-4dd9-951a-99ee9c246a94") // Company "Microsoft": left out
	softwareID = uuid.MustParse("00000000-0000-0000-0000-0000000000c1") // Software "Windows 11": left out
)

func category(id uuid.UUID, rev int32, categoryType, title string, prereqs ...uuid.UUID) catalog.Summary {
	s := catalog.Summary{Identity: catalog.Identity{UpdateID: id, RevisionNumber: rev}, Type: catalog.TypeCategory,
		CategoryType: categoryType, Title: title}
	for _, p := range prereqs {
		s.Prerequisites = append(s.Prerequisites, catalog.PrerequisiteClause{UpdateIDs: []uuid.UUID{p}})
	}
	return s
}

func testCategories() catalog.Categories {
	return catalog.IndexCategories([]catalog.Summary{
		category(win11ID, 200, catalog.CategoryProduct, "Windows 11", windowsID),
		category(windowsID, 100, catalog.CategoryProductFamily, "Windows"),
		// An older revision under another title: the newest one counts.
		category(windowsID, 99, catalog.CategoryProductFamily, "Windows (old)"),
		category(win10ID, 100, catalog.CategoryProduct, "Windows 10", windowsID, officeID, windowsID),
		category(officeID, 100, catalog.CategoryProductFamily, "Office"),
		category(emptyID, 100, catalog.CategoryProductFamily, "Empty"),
		category(tools2ID, 100, catalog.CategoryProduct, "Tools"),
		category(tools1ID, 100, catalog.CategoryProduct, "Tools"),
		category(serverLoID, 100, catalog.CategoryProduct, "windows server"),
		category(serverID, 100, catalog.CategoryProduct, "Windows Server"),
		category(securityID, 100, catalog.CategoryClassification, "Security Updates"),
		category(companyID, 100, "Company", "Microsoft"),
		{Identity: catalog.Identity{UpdateID: softwareID, RevisionNumber: 1}, Type: catalog.TypeSoftware, Title: "Windows 11"},
	})
}

func TestCategoriesIndex(t *testing.T) {
	cats := testCategories()
	var titles []string
	for _, c := range cats.List() {
		titles = append(titles, c.Title+"/"+c.UpdateID.String()[34:])
	}
	want := []string{"Empty/e0", "Office/d9", "Security Updates/41", "Tools/a1", "Tools/a2",
		"Windows/1d", "Windows 10/07", "Windows 11/60", "Windows Server/b1", "windows server/b2"}
	if !slices.Equal(titles, want) {
		t.Errorf("List:\n got %q\nwant %q", titles, want)
	}
	if c, ok := cats.Category(windowsID); !ok || c.Title != "Windows" || c.RevisionNumber != 100 {
		t.Errorf("Category(Windows) = %q rev %d, %v; want the newest revision", c.Title, c.RevisionNumber, ok)
	}
	for _, id := range []uuid.UUID{companyID, softwareID} {
		if _, ok := cats.Category(id); ok {
			t.Errorf("Category(%s) is indexed; only products, families and classifications are", id)
		}
	}
	if got, want := cats.IDs(catalog.CategoryClassification), []uuid.UUID{securityID}; !slices.Equal(got, want) {
		t.Errorf("IDs(classification) = %v, want %v", got, want)
	}
	if got, want := cats.IDs(catalog.CategoryProductFamily), []uuid.UUID{emptyID, officeID, windowsID}; !slices.Equal(got, want) {
		t.Errorf("IDs(family) = %v, want %v", got, want)
	}

	families := func(id uuid.UUID) []uuid.UUID {
		var out []uuid.UUID
		for _, f := range cats.Families(id) {
			out = append(out, f.UpdateID)
		}
		return out
	}
	relations := []struct {
		name      string
		got, want []uuid.UUID
	}{
		{"families of Windows 10 (named twice, by title)", families(win10ID), []uuid.UUID{officeID, windowsID}},
		{"families of Windows 11", families(win11ID), []uuid.UUID{windowsID}},
		{"families of a product without", families(tools1ID), nil},
		{"families of a family", families(windowsID), nil},
		{"children of Windows (by title)", cats.Children(windowsID), []uuid.UUID{win10ID, win11ID}},
		{"children of Office", cats.Children(officeID), []uuid.UUID{win10ID}},
		{"children of an empty family", cats.Children(emptyID), nil},
		{"children of a product", cats.Children(win11ID), nil},
	}
	for _, r := range relations {
		if !slices.Equal(r.got, r.want) {
			t.Errorf("%s = %v, want %v", r.name, r.got, r.want)
		}
	}

	var zero catalog.Categories
	if _, _, err := zero.Resolve([]string{"Windows"}, catalog.SelectProducts); err == nil || len(zero.List()) != 0 {
		t.Errorf("the zero Categories resolves a name or lists categories")
	}
}

func TestCategoriesResolve(t *testing.T) {
	cats := testCategories()
	tests := []struct {
		name  string
		names []string
		kind  catalog.SelectionKind
		all   bool
		ids   []uuid.UUID
		// code and message (a part of it) of the SelectionError, when
		// the names do not resolve.
		code, message string
	}{
		{name: "nothing", kind: catalog.SelectProducts},
		{name: "GUID", names: []string{win11ID.String()}, kind: catalog.SelectProducts, ids: []uuid.UUID{win11ID}},
		{name: "GUID in upper case, spaced", names: []string{" " + strings.ToUpper(win11ID.String()) + " "}, kind: catalog.SelectProducts, ids: []uuid.UUID{win11ID}},
		{name: "exact title", names: []string{"Windows 11"}, kind: catalog.SelectProducts, ids: []uuid.UUID{win11ID}},
		{name: "title in another case", names: []string{"WINDOWS 11"}, kind: catalog.SelectProducts, ids: []uuid.UUID{win11ID}},
		{name: "exact title before another case", names: []string{"windows server"}, kind: catalog.SelectProducts, ids: []uuid.UUID{serverLoID}},
		{name: "family for its products", names: []string{"Windows"}, kind: catalog.SelectProducts, ids: []uuid.UUID{win10ID, win11ID}},
		{name: "each once, in the order named", names: []string{"Windows 11", "Office", "Windows"}, kind: catalog.SelectProducts, ids: []uuid.UUID{win11ID, win10ID}},
		{name: "classification", names: []string{"security updates"}, kind: catalog.SelectClassifications, ids: []uuid.UUID{securityID}},
		{name: "all", names: []string{"ALL"}, kind: catalog.SelectProducts, all: true},
		{name: "all beside a name that fails", names: []string{"Windows 11", " all "}, kind: catalog.SelectClassifications,
			code: "unknown_classification", message: `classification "Windows 11": the upstream offers no classification of that GUID or title`},
		{name: "all and a name", names: []string{"Windows 11", "all"}, kind: catalog.SelectProducts, all: true},
		{name: "unknown title", names: []string{"Windows 12"}, kind: catalog.SelectProducts,
			code: "unknown_product", message: `product "Windows 12": the upstream offers no product of that GUID or title (see GET /api/v1/products, wsusctl products)`},
		{name: "unknown GUID", names: []string{companyID.String()}, kind: catalog.SelectProducts,
			code: "unknown_product", message: `product "` + companyID.String() + `": the upstream offers no product`},
		{name: "a classification as product", names: []string{securityID.String()}, kind: catalog.SelectProducts,
			code: "unknown_product", message: `product "` + securityID.String() + `"`},
		{name: "a product as classification", names: []string{"Tools"}, kind: catalog.SelectClassifications,
			code: "unknown_classification", message: `classification "Tools"`},
		{name: "not a category", names: []string{softwareID.String()}, kind: catalog.SelectProducts,
			code: "unknown_product", message: softwareID.String()},
		{name: "an old title", names: []string{"Windows (old)"}, kind: catalog.SelectProducts,
			code: "unknown_product", message: `"Windows (old)"`},
		{name: "empty entry", names: []string{"Windows", "  "}, kind: catalog.SelectProducts,
			code: "unknown_product", message: `an empty product entry: give a GUID, a title or "all"`},
		{name: "ambiguous title", names: []string{"Tools"}, kind: catalog.SelectProducts,
			code: "ambiguous_product", message: `product "Tools": 2 categories have that title (` + tools1ID.String() + ", " + tools2ID.String() + "); give the GUID"},
		{name: "ambiguous in case only", names: []string{"WINDOWS SERVER"}, kind: catalog.SelectProducts,
			code: "ambiguous_product", message: serverID.String()},
		{name: "family without products", names: []string{"Empty"}, kind: catalog.SelectProducts,
			code: "unknown_product", message: `product "Empty" is a product family without products here: nothing to subscribe`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			all, ids, err := cats.Resolve(tt.names, tt.kind)
			if tt.code == "" {
				if err != nil || all != tt.all || !slices.Equal(ids, tt.ids) {
					t.Errorf("Resolve(%q) = %v, %v, %v; want %v, %v", tt.names, all, ids, err, tt.all, tt.ids)
				}
				return
			}
			wantSelectionError(t, err, tt.code, tt.message)
			if all || ids != nil {
				t.Errorf("Resolve(%q) failed with %v, %v", tt.names, all, ids)
			}
		})
	}
}

func TestResolveLanguages(t *testing.T) {
	offered := []catalog.UpstreamLanguage{{ID: 1033, Short: "en", Long: "English"}, {ID: 1046, Short: "pt-br", Long: "Portuguese (Brazil)"}, {ID: 1031, Short: "de"}}
	tests := []struct {
		name    string
		names   []string
		offered []catalog.UpstreamLanguage
		want    []string
		// message is a part of the SelectionError's, when the names do
		// not resolve.
		message string
	}{
		{name: "nothing", offered: offered},
		{name: "short and long names, each once", names: []string{"EN", " portuguese (brazil) ", "English"}, offered: offered, want: []string{"en", "pt-br"}},
		{name: "all", names: []string{"en", "All"}, offered: offered},
		{name: "not offered", names: []string{"en", "fr"}, offered: offered,
			message: `language "fr": the upstream offers no such language; it offers en, pt-br, de`},
		{name: "no long name is not the empty name", names: []string{""}, offered: offered, message: `language ""`},
		{name: "tags before the languages are known", names: []string{"en", "PT-BR", "sr-Latn-RS", "en"}, want: []string{"en", "pt-br", "sr-latn-rs"}},
		{name: "not a tag", names: []string{"en us"}, message: `language "en us" is not a language name such as en, de or pt-br`},
		{name: "a long name before the languages are known", names: []string{"English"}, message: `language "English"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := catalog.ResolveLanguages(tt.names, tt.offered)
			if tt.message == "" {
				if err != nil || !slices.Equal(got, tt.want) {
					t.Errorf("ResolveLanguages(%q) = %q, %v; want %q", tt.names, got, err, tt.want)
				}
				return
			}
			wantSelectionError(t, err, "unknown_language", tt.message)
			if got != nil {
				t.Errorf("ResolveLanguages(%q) failed with %q", tt.names, got)
			}
		})
	}
}

// wantSelectionError checks that err is a *catalog.SelectionError of code
// whose message holds message, and that it is invalid input.
func wantSelectionError(t *testing.T, err error, code, message string) {
	t.Helper()
	var se *catalog.SelectionError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T), want a *catalog.SelectionError", err, err)
	}
	if se.Code != code || !strings.Contains(se.Message, message) || err.Error() != se.Message {
		t.Errorf("error %q (code %q, text %q), want code %q and a message with %q", se.Message, se.Code, err.Error(), code, message)
	}
	if !errors.Is(err, catalog.ErrInvalid) {
		t.Errorf("error %v does not match catalog.ErrInvalid", err)
	}
}
