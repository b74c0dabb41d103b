package metadata_test

import (
	"fmt"
	"strings"
	"testing"

	"wsus/catalog/metadata"
	"wsus/internal/lineartest"
)

// Parse must take time linear in the document, whatever its shape: each
// case times adversarial documents of n and 4n bytes in the same run (see
// lineartest).

// updateDoc returns an n-byte upd:Update whose root start tag ends with
// rootAttrs and whose Relationships hold body, each filled to about n/2
// bytes by repeating format over 0, 1, 2, ...
func updateDoc(rootAttr, body string) func(n int) []byte {
	return func(n int) []byte {
		var b strings.Builder
		b.WriteString(`<upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update"`)
		for i := 0; rootAttr != "" && b.Len() < n/2; i++ {
			fmt.Fprintf(&b, rootAttr, i)
		}
		b.WriteString(`><upd:UpdateIdentity UpdateID="7f3c1e52-9a4d-4b8e-a1c6-2d5e8f90b3a7" RevisionNumber="1"/><upd:Properties UpdateType="Software"/><upd:Relationships>`)
		for i := 0; b.Len() < n; i++ {
			fmt.Fprintf(&b, body, i)
		}
		b.WriteString(`</upd:Relationships></upd:Update>`)
		return []byte(b.String())
	}
}

func TestParseIsLinear(t *testing.T) {
	tests := []struct {
		name  string
		build func(n int) []byte
	}{
		{"many namespace declarations, elements with an unbound prefix", updateDoc(` xmlns:p%d="urn:p"`, `<x:SupersededUpdates/>`)},
		{"many attributes, elements in another namespace", updateDoc(` a%d=""`, `<x:Prerequisites/>`)},
		{"many namespace declarations, fragment elements", updateDoc(` xmlns:p%d="urn:p"`, `<upd:X%d/>`)},
		{"deep nesting", func(n int) []byte {
			depth := n / 40
			return []byte(`<upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update"><upd:UpdateIdentity UpdateID="7f3c1e52-9a4d-4b8e-a1c6-2d5e8f90b3a7" RevisionNumber="1"/>` +
				`<upd:Properties UpdateType="Software"/><upd:Relationships><upd:BundledUpdates>` + strings.Repeat(`<b:And xmlns:b="urn:b">`, depth) +
				`<upd:UpdateIdentity UpdateID="7f3c1e52-9a4d-4b8e-a1c6-2d5e8f90b3a8"/>` + strings.Repeat(`</b:And>`, depth) + `</upd:BundledUpdates></upd:Relationships></upd:Update>`)
		}},
		{"many bundled updates", updateDoc("", `<upd:BundledUpdates><upd:UpdateIdentity UpdateID="7f3c1e52-9a4d-4b8e-a1c6-%012d"/></upd:BundledUpdates>`)},
	}
	sizes := []int{64 << 10, 1 << 20}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lineartest.Check(t, sizes, tt.build, func(doc []byte) { _, _ = metadata.Parse(doc) })
		})
	}
}
