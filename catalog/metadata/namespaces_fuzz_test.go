package metadata

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/beevik/etree"
)

// FuzzResolveNamespaces checks the one-walk namespace resolution against
// etree's own (Element.NamespaceURI, which walks the ancestors on every
// call): the same URI for every element, "xml" always bound.
func FuzzResolveNamespaces(f *testing.F) {
	files, err := filepath.Glob("../../testdata/metadata/*.xml")
	if err != nil || len(files) == 0 {
		f.Fatalf("seed documents: %v %v", files, err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`<a:r xmlns:a="urn:a" xmlns="urn:d"><a:x xmlns:a="urn:b"><y/><a:z/></a:x><a:w/><q:u/><xml:v/><n xmlns=""><m/></n></a:r>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		plain, resolved := etree.NewDocument(), etree.NewDocument()
		if plain.ReadFromBytes(doc) != nil || resolved.ReadFromBytes(doc) != nil || plain.Root() == nil {
			return
		}
		want := plain.Root().FindElements(".//*")
		want = append([]*etree.Element{plain.Root()}, want...)
		if resolveNamespaces(resolved.Root()) != nil {
			return // a name that is no XML name on its own: refused, not resolved
		}
		got := resolved.Root().FindElements(".//*")
		got = append([]*etree.Element{resolved.Root()}, got...)
		if len(got) != len(want) {
			t.Fatalf("%d elements after resolving, %d before", len(got), len(want))
		}
		for i, e := range want {
			uri := e.NamespaceURI()
			if e.Space == "xml" {
				uri = nsXML
			}
			if got[i].Space != uri {
				t.Fatalf("<%s>: resolved %q, etree resolves %q", e.FullTag(), got[i].Space, uri)
			}
		}
	})
}
