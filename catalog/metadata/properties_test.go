package metadata

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestReadProperties(t *testing.T) {
	const ns = `xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update"`
	for _, tc := range []struct {
		name, doc string
		want      Properties
		err       bool
	}{
		{"all three (MS-WSUSSS 4.2 names)", `<upd:Update ` + ns + `><upd:UpdateIdentity UpdateID="x" RevisionNumber="1" />` +
			`<upd:Properties UpdateType="Software" MsrcSeverity=" Critical "><upd:KBArticleID>5031356</upd:KBArticleID>` +
			`<upd:CveID>CVE-2023-36033</upd:CveID><upd:CveID> </upd:CveID><upd:CveID>` + "\n CVE-2023-36036\n" + `</upd:CveID>` +
			`<upd:Language>en</upd:Language><upd:Language>de</upd:Language></upd:Properties><upd:Files /></upd:Update>`,
			Properties{MsrcSeverity: "Critical", CVEs: []string{"CVE-2023-36033", "CVE-2023-36036"}, Languages: []string{"en", "de"}}, false},
		{"default namespace", `<Update xmlns="http://schemas.microsoft.com/msus/2002/12/Update"><Properties MsrcSeverity="Low"><CveID>CVE-1</CveID></Properties></Update>`,
			Properties{MsrcSeverity: "Low", CVEs: []string{"CVE-1"}}, false},
		{"other namespaces and depths ignored", `<upd:Update ` + ns + ` xmlns:o="urn:other"><upd:Properties><o:CveID>CVE-x</o:CveID>` +
			`<upd:InstallationBehavior><upd:Language>xx</upd:Language></upd:InstallationBehavior></upd:Properties>` +
			`<upd:LocalizedPropertiesCollection><upd:LocalizedProperties><upd:Language>en</upd:Language></upd:LocalizedProperties></upd:LocalizedPropertiesCollection></upd:Update>`,
			Properties{}, false},
		{"no Properties", `<upd:Update ` + ns + `><upd:UpdateIdentity UpdateID="x" RevisionNumber="1" /></upd:Update>`, Properties{}, false},
		{"stops at the end of Properties", `<upd:Update ` + ns + `><upd:Properties MsrcSeverity="Moderate" /><upd:Files><broken`,
			Properties{MsrcSeverity: "Moderate"}, false},
		{"not an update", `<Update><Properties MsrcSeverity="Low" /></Update>`, Properties{}, true},
		{"not XML", `<upd:Update ` + ns + `><upd:Properties MsrcSeverity="Low"`, Properties{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadProperties(tc.doc)
			if (err != nil) != tc.err {
				t.Fatalf("error %v, want error %v", err, tc.err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestReadPropertiesOfSamples: the real documents in metadata-samples carry
// none of the three (no security update among them); each reads without
// error.
func TestReadPropertiesOfSamples(t *testing.T) {
	files, err := filepath.Glob("../../../shared/protocol/metadata-samples/update-*.xml")
	if err != nil || len(files) == 0 {
		t.Skipf("no samples: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		_, doc, _ := strings.Cut(string(b), "\n") // line 1 is the provenance comment
		got, err := ReadProperties(doc)
		if err != nil || !reflect.DeepEqual(got, Properties{}) {
			t.Errorf("%s: %+v, %v; want no properties", filepath.Base(f), got, err)
		}
	}
}

// FuzzReadProperties: any input reads without panicking; what it reads is
// trimmed, non-empty text.
func FuzzReadProperties(f *testing.F) {
	f.Add(`<upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update"><upd:Properties MsrcSeverity="Critical"><upd:CveID>CVE-1</upd:CveID><upd:Language>en</upd:Language></upd:Properties></upd:Update>`)
	f.Add(`<Update xmlns="http://schemas.microsoft.com/msus/2002/12/Update"><Properties><CveID>`)
	f.Fuzz(func(t *testing.T, doc string) {
		p, err := ReadProperties(doc)
		if err != nil {
			if !reflect.DeepEqual(p, Properties{}) {
				t.Fatalf("error %v with properties %+v", err, p)
			}
			return
		}
		if p.MsrcSeverity != strings.TrimSpace(p.MsrcSeverity) {
			t.Fatalf("severity %q not trimmed", p.MsrcSeverity)
		}
		for _, v := range append(p.CVEs, p.Languages...) {
			if v == "" || v != strings.TrimSpace(v) || !utf8.ValidString(v) {
				t.Fatalf("value %q", v)
			}
		}
	})
}
