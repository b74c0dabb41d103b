package catalogen

import (
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Real UpdateIDs of categories, each seen in a real document under
// ../shared/protocol (the file is named in category.source).
var (
	idMicrosoft       = uuid.MustParse("56309036-4c77-4dd9-951a-99ee9c246a94")
	idWindows         = uuid.MustParse("6964aab4-c5b5-43bd-a17d-ffb4346a8e1d")
	idWindows11       = uuid.MustParse("72e7624a-5b00-45d2-b92f-e561c0a6a160")
	idOOBEZDP         = uuid.MustParse("dd78b8a1-0b20-45c1-add6-4da72e9364cf")
	idDefender        = uuid.MustParse("8c3fcc84-7410-4a95-8b89-a166a0190486")
	idSecurityUpdates = uuid.MustParse("0fa1201d-4330-4fa8-8ae9-b877473b6441")
	idCriticalUpdates = uuid.MustParse("e6cf1350-c01b-414d-a61f-263d14d133b4")
	idDefinitionUpds  = uuid.MustParse("e0789628-ce08-4437-be74-2495b842f43b")
	idUpdates         = uuid.MustParse("cd5ffd1e-e932-4e3a-bf74-18bf0b1bbd83")
)

// Publisher IDs seen in the real documents: on the Company and
// ProductFamily categories, on the OOBE ZDP product, on the Defender updates.
const (
	publisherCategories = "42f20e12-2856-447d-a8b2-68f06c2e9b45"
	publisherProducts   = "395392a0-19c0-48b7-a927-f7c15066d905"
	publisherSoftware   = "bccf8ca0-2819-4598-8d15-c1506e363e92"
)

// allLanguages are the LocalizedProperties languages of the real Company and
// ProductFamily documents, in their order.
var allLanguages = []string{"ar", "cs", "da", "de", "el", "en", "es", "fi", "fr", "he", "hu", "it", "ja", "ko",
	"nl", "no", "pl", "pt", "pt-br", "ru", "sv", "tr", "zh-cn", "zh-tw"}

// catShape selects which real category document a category copies.
type catShape int

const (
	// shapeRoot copies the Company "Microsoft" and ProductFamily "Windows"
	// documents: IsPublic="true", IsInstalled lar:True.
	shapeRoot catShape = iota
	// shapeProduct copies the Product "OOBE ZDP" document: ExplicitlyDeployable
	// and PerUser "false", namespaces redeclared in HandlerSpecificData.
	shapeProduct
)

// category is one category document of the tree.
type category struct {
	id uuid.UUID
	// upperID writes the UpdateIdentity in upper case, as the real Company
	// and ProductFamily documents do.
	upperID bool
	rev     int32
	ctype   string // CategoryInformation/@CategoryType
	title   string
	desc    string
	// parent is the category named by the prerequisite (uuid.Nil: none).
	parent    uuid.UUID
	created   string
	publisher string
	shape     catShape
	// info holds the CategoryInformation attributes after CategoryType.
	info     string
	allLangs bool
	// isInstalled is the IsInstalled rule (markup).
	isInstalled string
	// source explains, in the header comment, where the ID and values come from.
	source string
}

const fixedCategories = 11

// officeID and m365ID are the generated UpdateIDs of the ProductFamily
// "Office" and the Product "Microsoft 365 Apps" (their real IDs are not in
// any sample).
func officeID(key uint64) uuid.UUID { return newID(key, streamIDCategory, 0) }
func m365ID(key uint64) uuid.UUID   { return newID(key, streamIDCategory, 1) }

const (
	ruleTrue        = `<lar:True />`
	ruleWindows10   = `<bar:WindowsVersion Comparison="GreaterThanOrEqualTo" MajorVersion="10" MinorVersion="0" ProductType="1" xmlns:bar="` + nsBar + `" />`
	ruleWindows63   = `<bar:WindowsVersion Comparison="GreaterThanOrEqualTo" MajorVersion="6" MinorVersion="3" ProductType="1" xmlns:bar="` + nsBar + `" />`
	sampleCompany   = "metadata-samples/update-category-company-microsoft-56309036-r101.xml"
	sampleFamily    = "metadata-samples/update-category-productfamily-windows-6964aab4-r100.xml"
	sampleProduct   = "metadata-samples/update-category-product-oobe-zdp-dd78b8a1-r202.xml"
	noClassDocument = "No real UpdateClassification document is available: the values copy the Company document (unverified)."
)

// categoryTree returns the fixed category tree followed by extra generated
// products (see Mix.Categories).
func categoryTree(key uint64, extra int) []category {
	idOffice, idM365 := officeID(key), m365ID(key)
	realID := func(what, where string) string {
		return fmt.Sprintf("UpdateID is the real ID of %s (seen in %s).", what, where)
	}
	const generatedID = "UpdateID generated from the seed: no real ID of this category is known here."
	cats := []category{
		{id: idMicrosoft, upperID: true, rev: 101, ctype: "Company", title: "Microsoft", desc: "Microsoft",
			created: "2005-09-22T00:05:11.471Z", publisher: publisherCategories, shape: shapeRoot,
			info: `ProhibitsSubcategories="false" ProhibitsUpdates="true" DisplayOrder="1"`, allLangs: true, isInstalled: ruleTrue,
			source: realID("Company 'Microsoft'", sampleCompany) + " All values copy that document."},
		{id: idWindows, upperID: true, rev: 100, ctype: "ProductFamily", title: "Windows", desc: "Windows", parent: idMicrosoft,
			created: "2004-05-15T05:50:01.611Z", publisher: publisherCategories, shape: shapeRoot,
			info: `ProhibitsSubcategories="false" ProhibitsUpdates="true" DisplayOrder="2"`, allLangs: true, isInstalled: ruleTrue,
			source: realID("ProductFamily 'Windows'", sampleFamily) + " All values copy that document."},
		{id: idOffice, rev: 100, ctype: "ProductFamily", title: "Office", desc: "Office", parent: idMicrosoft,
			created: "2004-05-15T05:50:02.000Z", publisher: publisherCategories, shape: shapeRoot,
			info: `ProhibitsSubcategories="false" ProhibitsUpdates="true" DisplayOrder="3"`, allLangs: true, isInstalled: ruleTrue,
			source: generatedID + " Values copy the ProductFamily 'Windows' document."},
		{id: idWindows11, rev: 100, ctype: "Product", title: "Windows 11", desc: "Windows 11", parent: idWindows,
			created: "2021-06-24T17:00:00.000Z", publisher: publisherProducts, shape: shapeProduct,
			info: `ProhibitsSubcategories="true"`, isInstalled: ruleWindows10,
			source: realID("Product 'Windows 11'", "metadata-samples/wsus-rs-catalog-stats-windows11.json and the Core fragments of captures/wsus-rs/wsus-m0-cbs") +
				" The revision, dates and rules are not known here: values copy the OOBE ZDP document."},
		{id: idOOBEZDP, rev: 202, ctype: "Product", title: "OOBE ZDP",
			desc: "This category would be used by the updates that would meet the ZDP bar.", parent: idWindows,
			created: "2015-08-25T20:09:50.002Z", publisher: publisherProducts, shape: shapeProduct,
			info: `ProhibitsSubcategories="true" ExcludedByDefault="true"`, isInstalled: ruleWindows63,
			source: realID("Product 'OOBE ZDP'", sampleProduct) + " All values copy that document."},
		// Unverified: the ProductFamily of this product is not in any sample;
		// it is put under Windows here.
		{id: idDefender, rev: 100, ctype: "Product", title: "Microsoft Defender Antivirus", desc: "Microsoft Defender Antivirus",
			parent: idWindows, created: "2020-05-20T17:00:00.000Z", publisher: publisherProducts, shape: shapeProduct,
			info: `ProhibitsSubcategories="true"`, isInstalled: ruleTrue,
			source: realID("Product 'Microsoft Defender Antivirus'", "metadata-samples/update-software-leaf-commandline-am-engine-ff36f0b5-r200.xml") +
				" Its family (here Windows), revision and rules are not known here: values copy the OOBE ZDP document."},
		{id: idM365, rev: 100, ctype: "Product", title: "Microsoft 365 Apps", desc: "Microsoft 365 Apps", parent: idOffice,
			created: "2020-04-21T17:00:00.000Z", publisher: publisherProducts, shape: shapeProduct,
			info: `ProhibitsSubcategories="true"`, isInstalled: ruleTrue,
			source: generatedID + " Values copy the OOBE ZDP document."},
		{id: idSecurityUpdates, rev: 100, ctype: "UpdateClassification", title: "Security Updates", desc: "Security Updates",
			created: "2004-05-15T05:50:03.000Z", publisher: publisherCategories, shape: shapeRoot,
			info: `ProhibitsSubcategories="true" ProhibitsUpdates="false" DisplayOrder="1"`, isInstalled: ruleTrue,
			source: realID("UpdateClassification 'Security Updates'", "metadata-samples/wsusss-GetRevisionIdListResponse-getconfig-categories.xml") + " " + noClassDocument},
		{id: idCriticalUpdates, rev: 100, ctype: "UpdateClassification", title: "Critical Updates", desc: "Critical Updates",
			created: "2004-05-15T05:50:04.000Z", publisher: publisherCategories, shape: shapeRoot,
			info: `ProhibitsSubcategories="true" ProhibitsUpdates="false" DisplayOrder="2"`, isInstalled: ruleTrue,
			source: realID("UpdateClassification 'Critical Updates'", "metadata-samples/wsusss-GetRevisionIdListResponse-getconfig-categories.xml") + " " + noClassDocument},
		{id: idDefinitionUpds, rev: 100, ctype: "UpdateClassification", title: "Definition Updates", desc: "Definition Updates",
			created: "2004-05-15T05:50:05.000Z", publisher: publisherCategories, shape: shapeRoot,
			info: `ProhibitsSubcategories="true" ProhibitsUpdates="false" DisplayOrder="3"`, isInstalled: ruleTrue,
			source: realID("UpdateClassification 'Definition Updates'", "metadata-samples/update-software-bundle-defender-engine-1f9bd9bb-r200.xml") + " " + noClassDocument},
		{id: idUpdates, rev: 100, ctype: "UpdateClassification", title: "Updates", desc: "Updates",
			created: "2004-05-15T05:50:06.000Z", publisher: publisherCategories, shape: shapeRoot,
			info: `ProhibitsSubcategories="true" ProhibitsUpdates="false" DisplayOrder="4"`, isInstalled: ruleTrue,
			source: realID("UpdateClassification 'Updates'", "metadata-samples/wsusss-GetRevisionIdListResponse-getconfig-categories.xml") + " " + noClassDocument},
	}
	base := time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range extra {
		parent, family := idWindows, "Windows"
		if i%3 == 2 {
			parent, family = idOffice, "Office"
		}
		title := fmt.Sprintf("Generated %s product %d", family, i+1)
		cats = append(cats, category{id: newID(key, streamIDCategory, uint64(2+i)), rev: 100, ctype: "Product",
			title: title, desc: title, parent: parent, created: creation(base.Add(time.Duration(i) * 24 * time.Hour)),
			publisher: publisherProducts, shape: shapeProduct, info: `ProhibitsSubcategories="true"`, isInstalled: ruleTrue,
			source: generatedID + " An extra product (Mix.Categories) with no updates; values copy the OOBE ZDP document."})
	}
	return cats
}

// writeCategory appends the document of c.
func writeCategory(w *xmlBuf, c *category) {
	switch c.shape {
	case shapeRoot:
		w.raw(`<upd:Update xmlns:pub="` + nsPub + `" xmlns:lar="` + nsLar + `" xmlns:cat="` + nsCat + `" xmlns:upd="` + nsUpd + `">`)
	default:
		w.raw(`<upd:Update xmlns:pub="` + nsPub + `" xmlns:bar="` + nsBar + `" xmlns:lar="` + nsLar + `" xmlns:cat="` + nsCat + `" xmlns:upd="` + nsUpd + `">`)
	}
	if c.upperID {
		w.raw(`<upd:UpdateIdentity UpdateID="` + strings.ToUpper(c.id.String()) + `"`)
		w.attrInt("RevisionNumber", int64(c.rev))
		w.raw(" />")
	} else {
		w.identity(c.id, c.rev)
	}
	w.raw("<upd:Properties")
	switch c.shape {
	case shapeRoot:
		w.raw(` DefaultPropertiesLanguage="en" IsPublic="true" UpdateType="Category"`)
	default:
		w.raw(` DefaultPropertiesLanguage="en" UpdateType="Category" ExplicitlyDeployable="false" PerUser="false" IsPublic="true"`)
	}
	w.attr("Handler", handlerCategory)
	w.raw(` PublicationState="Published"`)
	w.attr("CreationDate", c.created)
	w.attr("PublisherID", c.publisher)
	w.raw("></upd:Properties><upd:LocalizedPropertiesCollection>")
	langs := []string{"en"}
	if c.allLangs {
		langs = allLanguages
	}
	for _, l := range langs {
		w.raw("<upd:LocalizedProperties>")
		w.elem("upd:Language", l)
		w.elem("upd:Title", c.title)
		w.elem("upd:Description", c.desc)
		w.raw("</upd:LocalizedProperties>")
	}
	w.raw("</upd:LocalizedPropertiesCollection>")
	if c.parent != uuid.Nil {
		w.raw(`<upd:Relationships><upd:Prerequisites><upd:AtLeastOne IsCategory="true">`)
		w.identity(c.parent, -1)
		w.raw(`</upd:AtLeastOne></upd:Prerequisites></upd:Relationships>`)
	}
	w.raw("<upd:ApplicabilityRules><upd:IsInstalled>")
	w.raw(c.isInstalled)
	w.raw("</upd:IsInstalled></upd:ApplicabilityRules>")
	switch c.shape {
	case shapeRoot:
		w.raw(`<upd:HandlerSpecificData xsi:type="cat:Category" xmlns:xsi="` + nsXsi + `"><cat:CategoryInformation`)
		w.attr("CategoryType", c.ctype)
		w.raw(" " + c.info + " />")
	default:
		w.raw(`<upd:HandlerSpecificData xsi:type="cat:Category" xmlns:xsi="` + nsXsi + `" xmlns:pub="` + nsPub + `"><cat:CategoryInformation`)
		w.attr("CategoryType", c.ctype)
		w.raw(" " + c.info + ` xmlns:cat="` + nsCat + `" />`)
	}
	w.raw("</upd:HandlerSpecificData></upd:Update>")
}
