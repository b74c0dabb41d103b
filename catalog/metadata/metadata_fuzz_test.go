package metadata_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"wsus/catalog/metadata"
	"wsus/internal/testseed"
)

// Fuzzing the upd:Update parser, which reads documents an administrator
// imports (and, with an upstream sync, what a remote server sends).
// Invariants: Parse fails with an error ("metadata: parse: ...") and no
// revision, or returns a revision that every store accepts
// (Revision.Validate), whose derived fragments are well-formed XML, and
// which parsing its own SourceXML gives again unchanged.

// metadataSeeds returns every upd:Update document of testdata and, when
// present, of ../shared/protocol/metadata-samples.
func metadataSeeds(tb testing.TB) [][]byte {
	tb.Helper()
	out := testseed.Files(tb,
		"../../testdata/metadata/*.xml",
		"../../testdata/drivers/*.xml",
		"../../testdata/catalog/*/*.xml",
		"../../../shared/protocol/metadata-samples/*.xml",
	)
	if len(out) == 0 {
		tb.Fatal("no metadata documents under ../../testdata")
	}
	return out
}

// wellFormed reports whether a fragment (a sequence of elements) parses as
// XML.
func wellFormed(fragment string) error {
	doc := etree.NewDocument()
	return doc.ReadFromString("<fragment>" + fragment + "</fragment>")
}

func FuzzParse(f *testing.F) {
	for _, b := range metadataSeeds(f) {
		f.Add(b)
	}
	f.Add([]byte(`<upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update"><upd:UpdateIdentity UpdateID="7f3c1e52-9a4d-4b8e-a1c6-2d5e8f90b3a7" RevisionNumber="1"/><upd:Properties UpdateType="Software" CreationDate="0000-01-01T00:00:00Z"/></upd:Update>`))
	f.Add([]byte(`<upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update"><upd:UpdateIdentity UpdateID="7f3c1e52-9a4d-4b8e-a1c6-2d5e8f90b3a7" RevisionNumber="1"/><upd:Properties UpdateType="Driver"/>` +
		`<upd:ApplicabilityRules><upd:Metadata><drv:WindowsDriverMetaData xmlns:drv="http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/WindowsDriver" HardwareID="PCI\VEN_1AF4" DriverVerDate="0000-01-01" DriverVerVersion="1.2.3.4"/></upd:Metadata></upd:ApplicabilityRules></upd:Update>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		rev, err := metadata.Parse(doc)
		if err != nil {
			if rev != nil {
				t.Fatalf("Parse returned a revision with error %v", err)
			}
			if !strings.HasPrefix(err.Error(), "metadata: parse: ") {
				t.Fatalf("error %q does not read metadata: parse: ...", err)
			}
			return
		}
		if err := rev.Validate(); err != nil {
			t.Fatalf("Parse accepted a revision no store takes: %v", err)
		}
		if !strings.HasPrefix(rev.CoreXML, "<UpdateIdentity ") {
			t.Fatalf("Core fragment does not start with the identity: %.200s", rev.CoreXML)
		}
		fragments := map[string]string{"Core": rev.CoreXML, "Extended": rev.ExtendedXML}
		for lang, x := range rev.Localized {
			fragments["LocalizedProperties "+lang] = x
		}
		for lang, x := range rev.Eulas {
			fragments["Eula "+lang] = x
		}
		for name, x := range fragments {
			if err := wellFormed(x); err != nil {
				t.Fatalf("%s fragment is not well-formed: %v\n%s", name, err, x)
			}
		}
		again, err := metadata.Parse([]byte(rev.SourceXML))
		if err != nil {
			t.Fatalf("SourceXML does not parse again: %v", err)
		}
		if !reflect.DeepEqual(again, rev) {
			t.Fatalf("parsing SourceXML gives another revision:\n got %+v\nwant %+v", again, rev)
		}
	})
}

func FuzzDriverVersion(f *testing.F) {
	for _, s := range []string{"10.0.26100.1", "0.0.0.0", "65535.65535.65535.65535", "65536.0.0.0", "1.2.3", "1.2.3.4.5", "+1.2.3.4", "01.2.3.4", "1..2.3", ""} {
		f.Add(s, uint64(0))
	}
	f.Add("", uint64(1<<63))
	f.Fuzz(func(t *testing.T, s string, v uint64) {
		if got, err := metadata.ParseDriverVersion(metadata.FormatDriverVersion(v)); err != nil || got != v {
			t.Fatalf("FormatDriverVersion(%d) = %q reads back as %d, %v", v, metadata.FormatDriverVersion(v), got, err)
		}
		parsed, err := metadata.ParseDriverVersion(s)
		if err != nil {
			if err.Error() == "" || errors.Unwrap(err) != nil && errors.Unwrap(err).Error() == "" {
				t.Fatalf("empty error for %q", s)
			}
			return
		}
		if len(strings.Split(s, ".")) != 4 {
			t.Fatalf("ParseDriverVersion(%q) accepted something that is not four parts", s)
		}
		if back, err := metadata.ParseDriverVersion(metadata.FormatDriverVersion(parsed)); err != nil || back != parsed {
			t.Fatalf("%q → %d → %q → %d, %v", s, parsed, metadata.FormatDriverVersion(parsed), back, err)
		}
	})
}
