package metadata

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

const vectorDir = "../../testdata/metadata"

// namedFragment is a real WSUS fragment and where it comes from.
type namedFragment struct {
	name, xml string
}

// realFragments returns every real WSUS fragment in the test vectors: the
// saved fragment files and the Xml elements of the captured responses
// (unescaped).
func realFragments(t *testing.T) []namedFragment {
	t.Helper()
	var out []namedFragment
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(vectorDir, name))
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if strings.HasPrefix(s, "<!--") {
			s = strings.TrimPrefix(s[strings.Index(s, "-->")+3:], "\n")
		}
		return s
	}
	for _, name := range []string{
		"wusp-fragment-core-ff36f0b5-r200.xml",
		"wusp-fragment-extended-ff36f0b5-r200.xml",
		"wusp-fragment-localized-en-ff36f0b5-r200.xml",
		"wusp-fragment-core-category-dd78b8a1-r202.xml",
		"wsus-m0-cbs-cbs-dotnet-extended.xml",
		"wsus-m0-cbs-cbs-rollupfix-extended.xml",
		"wsus-m0-cbs-osinstaller-core.xml",
		"wsus-m0-cbs-osinstaller-extended.xml",
	} {
		out = append(out, namedFragment{name, strings.TrimSuffix(read(name), "\n")})
	}
	// The CBS Core fragments were cut by wsus-rs, leaving an empty
	// <package ...></package> that WSUS never wrote in that form (the real
	// element had children); the writer writes empty elements <X />.
	for _, name := range []string{"wsus-m0-cbs-cbs-dotnet-core-reduced.xml", "wsus-m0-cbs-cbs-rollupfix-core-reduced.xml"} {
		s := read(name)
		if strings.Count(s, "></package>") != 1 {
			t.Fatalf("%s: expected exactly one reduced <package></package>", name)
		}
		out = append(out, namedFragment{name + " (reduced package self-closed)", strings.Replace(s, "></package>", " />", 1)})
	}
	for _, name := range []string{
		"wsus-m0-native-scan-000006-SyncUpdates-response.xml",
		"wsus-m0-native-scan-000007-SyncUpdates-response.xml",
		"wsus-m0-native-scan-000008-SyncUpdates-response.xml",
		"wsus-m0-native-scan-000010-GetExtendedUpdateInfo-response.xml",
		"wsusrs-flow-000015-GetExtendedUpdateInfo-response-with-FileLocations.xml",
	} {
		dec := xml.NewDecoder(strings.NewReader(read(name)))
		var inXML bool
		var text strings.Builder
		n := 0
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
				inXML = tk.Name.Local == "Xml"
				text.Reset()
			case xml.CharData:
				if inXML {
					text.Write(tk)
				}
			case xml.EndElement:
				if tk.Name.Local == "Xml" {
					n++
					out = append(out, namedFragment{fmt.Sprintf("%s #%02d", name, n), text.String()})
				}
				inXML = false
			}
		}
		if n == 0 {
			t.Fatalf("%s: no Xml element", name)
		}
	}
	return out
}

// TestWriterReproducesRealFragments parses each real fragment (wrapped in a
// root) and writes its elements back with the fragment writer: the bytes
// must come out unchanged. This checks the serialization conventions (" />",
// quoting, escaping, kept xmlns of CBS manifests) on fragments whose source
// documents are not available.
func TestWriterReproducesRealFragments(t *testing.T) {
	for _, f := range realFragments(t) {
		frag := f.xml
		t.Run(f.name, func(t *testing.T) {
			doc := etree.NewDocument()
			if err := doc.ReadFromString("<r>" + frag + "</r>"); err != nil {
				t.Fatalf("fragment does not parse: %v", err)
			}
			if err := resolveNamespaces(doc.Root()); err != nil {
				t.Fatal(err)
			}
			var w fragmentWriter
			for _, c := range doc.Root().ChildElements() {
				w.element(c, "")
			}
			if got := w.String(); got != frag {
				i := 0
				for i < len(got) && i < len(frag) && got[i] == frag[i] {
					i++
				}
				t.Errorf("rewritten fragment differs at byte %d\n got: %s\nwant: %s", i, got[max(0, i-60):min(len(got), i+60)], frag[max(0, i-60):min(len(frag), i+60)])
			}
		})
	}
}

// synthetic builds a small upd:Update around the given Properties
// attributes and inner elements. These documents exercise the derivation
// rules; they are not WSUS vectors.
func synthetic(propsAttrs, propsChildren, rest string) []byte {
	return []byte(`<upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update" xmlns:bar="http://schemas.microsoft.com/msus/2002/12/BaseApplicabilityRules">` +
		`<upd:UpdateIdentity UpdateID="00000000-0000-0000-0000-000000000001" RevisionNumber="1" />` +
		`<upd:Properties ` + propsAttrs + `>` + propsChildren + `</upd:Properties>` + rest + `</upd:Update>`)
}

func TestDerivationRules(t *testing.T) {
	const identity = `<UpdateIdentity UpdateID="00000000-0000-0000-0000-000000000001" RevisionNumber="1" />`
	tests := []struct {
		name         string
		doc          []byte
		wantCore     string
		wantExtended string
		wantLocal    map[string]string
		wantEula     map[string]string
	}{
		{
			// Observed rule: Core order UpdateType, ExplicitlyDeployable,
			// AutoSelectOnWebSites whatever the source order; OSUpgrade and
			// EulaID after them (unverified order).
			name: "core properties order and kept attributes",
			doc: synthetic(`EulaID="e1" AutoSelectOnWebSites="true" DefaultPropertiesLanguage="en" OSUpgrade="true" ExplicitlyDeployable="true" UpdateType="Software" PerUser="true" LegacyName="L" MsrcSeverity="Critical"`,
				`<upd:KBArticleID>123</upd:KBArticleID>`, ""),
			wantCore:     identity + `<Properties UpdateType="Software" ExplicitlyDeployable="true" AutoSelectOnWebSites="true" OSUpgrade="true" EulaID="e1" />`,
			wantExtended: `<ExtendedProperties DefaultPropertiesLanguage="en" PerUser="true" MsrcSeverity="Critical"><KBArticleID>123</KBArticleID></ExtendedProperties>`,
		},
		{
			// Observed: ExplicitlyDeployable="false", PerUser="false",
			// IsPublic="true" dropped; unverified: AutoSelectOnWebSites and
			// OSUpgrade "false" dropped too.
			name:         "default-valued attributes dropped",
			doc:          synthetic(`UpdateType="Software" ExplicitlyDeployable="false" AutoSelectOnWebSites="false" OSUpgrade="false" PerUser="false" IsPublic="true" IsBeta="false"`, "", ""),
			wantCore:     identity + `<Properties UpdateType="Software" />`,
			wantExtended: `<ExtendedProperties IsBeta="false" />`,
		},
		{
			name: "superseded updates stay in Core Relationships",
			doc: synthetic(`UpdateType="Software"`, "",
				`<upd:Relationships><upd:Prerequisites><upd:AtLeastOne IsCategory="true"><upd:UpdateIdentity UpdateID="00000000-0000-0000-0000-0000000000aa" /></upd:AtLeastOne></upd:Prerequisites>`+
					`<upd:SupersededUpdates><upd:UpdateIdentity UpdateID="00000000-0000-0000-0000-0000000000bb" /></upd:SupersededUpdates></upd:Relationships>`),
			wantCore: identity + `<Properties UpdateType="Software" /><Relationships><Prerequisites><AtLeastOne IsCategory="true"><UpdateIdentity UpdateID="00000000-0000-0000-0000-0000000000aa" /></AtLeastOne></Prerequisites>` +
				`<SupersededUpdates><UpdateIdentity UpdateID="00000000-0000-0000-0000-0000000000bb" /></SupersededUpdates></Relationships>`,
			wantExtended: `<ExtendedProperties />`,
		},
		{
			// Spec rule (MS-WUSP 3.1.1.1): b., m., d. prefixes by namespace,
			// whatever prefix the source used; other namespaces stripped.
			name: "namespace renames",
			doc: synthetic(`UpdateType="Driver"`, "",
				`<upd:ApplicabilityRules><upd:IsInstalled><x:And xmlns:x="http://schemas.microsoft.com/msus/2002/12/LogicalApplicabilityRules">`+
					`<base:RegDword xmlns:base="http://schemas.microsoft.com/msus/2002/12/BaseApplicabilityRules" Key="HKEY_LOCAL_MACHINE" />`+
					`<mar:MsiPatchInstalled xmlns:mar="http://schemas.microsoft.com/msus/2002/12/MsiApplicabilityRules" PatchCode="{1}" />`+
					`<drv:WindowsDriverInstalled xmlns:drv="http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/WindowsDriver" />`+
					`<cbsar:CbsPackageInstalled xmlns:cbsar="http://schemas.microsoft.com/msus/2002/12/CbsApplicabilityRules" /></x:And></upd:IsInstalled>`+
					`<upd:Metadata><drv:WindowsDriverMetaData xmlns:drv="http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/WindowsDriver" HardwareID="pci\ven_1" Class="Net"><drv:FeatureScore OperatingSystem="amd64.10.0" FeatureScore="FF" /></drv:WindowsDriverMetaData></upd:Metadata></upd:ApplicabilityRules>`),
			wantCore: identity + `<Properties UpdateType="Driver" /><ApplicabilityRules><IsInstalled><And><b.RegDword Key="HKEY_LOCAL_MACHINE" /><m.MsiPatchInstalled PatchCode="{1}" /><d.WindowsDriverInstalled /><CbsPackageInstalled /></And></IsInstalled>` +
				`<Metadata><d.WindowsDriverMetaData HardwareID="pci\ven_1" Class="Net"><d.FeatureScore OperatingSystem="amd64.10.0" FeatureScore="FF" /></d.WindowsDriverMetaData></Metadata></ApplicabilityRules>`,
			wantExtended: `<ExtendedProperties />`,
		},
		{
			// Observed: CBS manifests keep xmlns="urn:schemas-microsoft-com:asm.v3"
			// on their outermost element only.
			name: "foreign namespace kept",
			doc: synthetic(`UpdateType="Software"`, "",
				`<upd:ApplicabilityRules><upd:Metadata><cbsar:CbsPackageApplicabilityMetadata xmlns:cbsar="http://schemas.microsoft.com/msus/2002/12/CbsApplicabilityRules">`+
					`<assembly xmlns="urn:schemas-microsoft-com:asm.v3" manifestVersion="1.0"><assemblyIdentity name="P" /><package identifier="KB1"><update name="u"></update></package></assembly>`+
					`</cbsar:CbsPackageApplicabilityMetadata></upd:Metadata></upd:ApplicabilityRules>`),
			wantCore: identity + `<Properties UpdateType="Software" /><ApplicabilityRules><Metadata><CbsPackageApplicabilityMetadata>` +
				`<assembly xmlns="urn:schemas-microsoft-com:asm.v3" manifestVersion="1.0"><assemblyIdentity name="P" /><package identifier="KB1"><update name="u" /></package></assembly>` +
				`</CbsPackageApplicabilityMetadata></Metadata></ApplicabilityRules>`,
			wantExtended: `<ExtendedProperties />`,
		},
		{
			// Observed: xsi:type becomes type (value kept), Files and
			// HandlerSpecificData follow ExtendedProperties.
			name: "extended fragment parts",
			doc: synthetic(`UpdateType="Software" Handler="h"`, `<upd:InstallationBehavior RebootBehavior="CanRequestReboot" />`,
				`<upd:Files><upd:File Digest="vXidQqLgJwCO4+fE++5nIN1txMk=" FileName="a.cab" Size="1" /></upd:Files>`+
					`<upd:HandlerSpecificData xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:cbs="http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/Cbs" xsi:type="cbs:Cbs"><cbs:CbsData PackageIdentity="" /></upd:HandlerSpecificData>`),
			wantCore:     identity + `<Properties UpdateType="Software" />`,
			wantExtended: `<ExtendedProperties Handler="h"><InstallationBehavior RebootBehavior="CanRequestReboot" /></ExtendedProperties><Files><File Digest="vXidQqLgJwCO4+fE++5nIN1txMk=" FileName="a.cab" Size="1" /></Files><HandlerSpecificData type="cbs:Cbs"><CbsData PackageIdentity="" /></HandlerSpecificData>`,
		},
		{
			// Spec rule: one Eula fragment per EulaFile keyed by its Language
			// attribute; one LocalizedProperties per language. The GeoId-less
			// EulaFile wins over a regional one (model keyed by language).
			name: "localized and eula fragments",
			doc: synthetic(`UpdateType="Software"`, "",
				`<upd:LocalizedPropertiesCollection>`+
					`<upd:LocalizedProperties><upd:Language>pt-BR</upd:Language><upd:Title>T</upd:Title></upd:LocalizedProperties>`+
					`<upd:LocalizedProperties><upd:Language>pt-br</upd:Language><upd:Title>duplicate</upd:Title></upd:LocalizedProperties>`+
					`<upd:EulaFile Language="de" GeoId="DEU" Digest="a" />`+
					`<upd:EulaFile Language="de" Digest="b" />`+
					`<upd:EulaFile Language="de" Digest="c" />`+
					`<upd:EulaFile Language="en" Digest="d"><upd:File Digest="x" /></upd:EulaFile>`+
					`</upd:LocalizedPropertiesCollection>`),
			wantCore:     identity + `<Properties UpdateType="Software" />`,
			wantExtended: `<ExtendedProperties />`,
			wantLocal:    map[string]string{"pt-br": `<LocalizedProperties><Language>pt-BR</Language><Title>T</Title></LocalizedProperties>`},
			wantEula: map[string]string{
				"de": `<EulaFile Language="de" Digest="b" />`,
				"en": `<EulaFile Language="en" Digest="d"><File Digest="x" /></EulaFile>`,
			},
		},
		{
			// Whitespace-only text between elements is formatting and dropped;
			// comments and processing instructions dropped; <X></X> becomes
			// <X />; text kept verbatim otherwise.
			name:         "whitespace, comments and empty elements",
			doc:          synthetic("\n  UpdateType=\"Software\"\n  ", "\n  <!-- c --><upd:SupportUrl> http://x/ </upd:SupportUrl>\n  <?pi x?><upd:Empty></upd:Empty>\n", "\n"),
			wantCore:     identity + `<Properties UpdateType="Software" />`,
			wantExtended: `<ExtendedProperties><SupportUrl> http://x/ </SupportUrl><Empty /></ExtendedProperties>`,
		},
		{
			// Unverified escaping choice (see fragmentWriter.escape): no real
			// fragment shows these characters.
			name: "escaping",
			doc: synthetic(`UpdateType="Software" Extra="a&amp;b&lt;c&gt;d&quot;e'f&#9;g&#10;h&#13;i"`,
				`<upd:SupportUrl>a&amp;b&lt;c&gt;d"e'f&#13;g</upd:SupportUrl>`, ""),
			wantCore:     identity + `<Properties UpdateType="Software" />`,
			wantExtended: `<ExtendedProperties Extra="a&amp;b&lt;c&gt;d&quot;e'f&#x9;g&#xA;h&#xD;i"><SupportUrl>a&amp;b&lt;c&gt;d"e'f&#xD;g</SupportUrl></ExtendedProperties>`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, err := readRoot(tt.doc)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := parseRevision(root); err != nil {
				t.Fatalf("parseRevision: %v", err)
			}
			d := deriveFragments(root)
			if d.core != tt.wantCore {
				t.Errorf("core\n got: %s\nwant: %s", d.core, tt.wantCore)
			}
			if d.extended != tt.wantExtended {
				t.Errorf("extended\n got: %s\nwant: %s", d.extended, tt.wantExtended)
			}
			if !equalMaps(d.localized, tt.wantLocal) {
				t.Errorf("localized\n got: %q\nwant: %q", d.localized, tt.wantLocal)
			}
			if !equalMaps(d.eulas, tt.wantEula) {
				t.Errorf("eulas\n got: %q\nwant: %q", d.eulas, tt.wantEula)
			}
		})
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestSupersededParsed checks SupersededUpdates and bare BundledUpdates
// identities reach the revision fields.
func TestSupersededParsed(t *testing.T) {
	doc := synthetic(`UpdateType="Software"`, "",
		`<upd:Relationships><upd:BundledUpdates><upd:UpdateIdentity UpdateID="00000000-0000-0000-0000-0000000000cc" RevisionNumber="7" /><upd:AtLeastOne><upd:UpdateIdentity UpdateID="00000000-0000-0000-0000-0000000000dd" /></upd:AtLeastOne></upd:BundledUpdates>`+
			`<upd:SupersededUpdates><upd:UpdateIdentity UpdateID="00000000-0000-0000-0000-0000000000bb" /><upd:UpdateIdentity UpdateID="00000000-0000-0000-0000-0000000000BC" /></upd:SupersededUpdates></upd:Relationships>`)
	rev, err := Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range rev.BundledUpdates {
		got = append(got, fmt.Sprintf("%s/%d", b.UpdateID, b.RevisionNumber))
	}
	for _, s := range rev.SupersededUpdates {
		got = append(got, s.String())
	}
	want := "00000000-0000-0000-0000-0000000000cc/7 00000000-0000-0000-0000-0000000000dd/0 00000000-0000-0000-0000-0000000000bb 00000000-0000-0000-0000-0000000000bc"
	if strings.Join(got, " ") != want {
		t.Errorf("bundled+superseded = %s, want %s", strings.Join(got, " "), want)
	}
	if !bytes.Contains([]byte(rev.CoreXML), []byte(`UpdateID="00000000-0000-0000-0000-0000000000BC"`)) {
		t.Errorf("Core does not keep the source's UpdateID case: %s", rev.CoreXML)
	}
}
