package wusp_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/soap"
	"wsus/storage"
	"wsus/sync/importer"
)

// The update of testdata/encrypted: three files, the first and the third
// encrypted (their keys stored by the tests), the second not.
var idEncrypted = uuid.MustParse("35c46550-fe29-4cc8-9d6b-ca4087bce61f")

const (
	digestEncrypted1 = "w/qmTlJw5j9Q0XMamvn+PUhzILI="
	digestPlain2     = "VL5vJ9klyiAVDHEue7xQlYIDf24="
	digestEncrypted3 = "fp/gnJq8noFpj+t0OdSShWizjxI="
	digestDemo       = "9Go4qNHQgxPpELEivkb89CzOwqc="
	digestAMEngine   = "vXidQqLgJwCO4+fE++5nIN1txMk="
)

// Decryption keys as an upstream's GetUpdateDecryptionData would give
// them; bytes chosen so that their base64 holds + and /.
var (
	keyEncrypted1 = []byte{0xfb, 0xef, 0xff, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d}
	keyEncrypted3 = []byte("key of encrypted-3.cab")
	keyDemo       = []byte("key of a file deployed to no client")
)

// TestGetExtendedUpdateInfo2FileDecryption: with FileDecryption among the
// infoTypes, GetExtendedUpdateInfo2 answers FileDecryptionData after
// FileLocations, one FileDecryption {FileDigest, DecryptionKey} per file of
// the requested in-scope revisions whose key is stored, in FileLocations
// order; without FileDecryption the answer is as before and the store is
// not asked for keys.
//
// [I] No capture holds a request or an answer with FileDecryption
// (MS-WUSP.md section 2.1): every expectation on FileDecryptionData below
// is inferred from ClientWebService.wsdl (ExtendedUpdateInfo2,
// FileDecryption) and from how real WSUS answers the other infoTypes;
// the expectations on the other elements are those of the existing tests.
func TestGetExtendedUpdateInfo2FileDecryption(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	blobs, err := storage.NewFS(filepath.Join(t.TempDir(), "content"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := importer.Import(ctx, e.store, blobs, []string{filepath.Join("testdata", "encrypted")}, importer.Options{ApproveGroup: "All Computers"}); err != nil {
		t.Fatal(err)
	}
	// A declined update is deployed to no client (catalog/scan Scope): the
	// demo update, whose file has a key too.
	if err := e.store.SetDeclined(ctx, idDemo, true); err != nil {
		t.Fatal(err)
	}
	var sources []catalog.FileSource
	for digest, key := range map[string][]byte{digestEncrypted1: keyEncrypted1, digestEncrypted3: keyEncrypted3, digestDemo: keyDemo} {
		sources = append(sources, catalog.FileSource{SHA1: mustBase64(t, digest), DecryptionKey: key})
	}
	// A source without a key: the plain file's MUURL only.
	sources = append(sources, catalog.FileSource{SHA1: mustBase64(t, digestPlain2), MUURL: "http://download.windowsupdate.com/plain-2.cab"})
	if err := e.store.SetFileSources(ctx, sources); err != nil {
		t.Fatal(err)
	}
	store := &countingStore{inner: e.store}
	r := e.replica(store)
	_, ck := e.login("")
	sums, err := e.store.Summaries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	revision := map[uuid.UUID]int32{} // UpdateID → revision ID
	for _, s := range sums {
		revision[s.UpdateID] = s.ID
	}

	type ident struct {
		id  uuid.UUID
		rev int
	}
	encrypted, demo := ident{idEncrypted, 100}, ident{idDemo, 100}
	// The AM engine is deployed as a member of the Defender bundle
	// (detection only); no key of its file is stored.
	amEngine := ident{uuid.MustParse("ff36f0b5-dded-4780-8664-cd78af8b62c1"), 200}
	decryption := func(pairs ...any) string {
		var b strings.Builder
		b.WriteString("<FileDecryptionData>")
		for i := 0; i < len(pairs); i += 2 {
			b.WriteString("<FileDecryption><FileDigest>" + pairs[i].(string) + "</FileDigest><DecryptionKey>" +
				base64.StdEncoding.EncodeToString(pairs[i+1].([]byte)) + "</DecryptionKey></FileDecryption>")
		}
		b.WriteString("</FileDecryptionData>")
		return b.String()
	}
	bothKeys := decryption(digestEncrypted1, keyEncrypted1, digestEncrypted3, keyEncrypted3)

	tests := []struct {
		name string
		// v1 sends GetExtendedUpdateInfo with the revision IDs of ids
		// instead of GetExtendedUpdateInfo2.
		v1    bool
		ids   []ident
		types []string
		// children are the tags of the result's children, in order.
		children []string
		// locations are the FileDigests of FileLocations, in order.
		locations []string
		// data is FileDecryptionData as XML, "" when absent.
		data string
		// sourceCalls is how many FileSources calls the request makes.
		sourceCalls int
	}{{
		// [I] FileDecryption alone asks for FileDecryptionData alone.
		name: "encrypted files, keys stored", ids: []ident{encrypted}, types: []string{"FileDecryption"},
		children: []string{"FileDecryptionData"}, data: bothKeys, sourceCalls: 1,
	}, {
		name: "with FileUrl, after FileLocations", ids: []ident{encrypted}, types: []string{"FileUrl", "FileDecryption"},
		children:  []string{"FileLocations", "FileDecryptionData"},
		locations: []string{digestEncrypted1, digestPlain2, digestEncrypted3}, data: bothKeys, sourceCalls: 1,
	}, {
		name: "FileDecryption first, WSDL order kept", ids: []ident{encrypted}, types: []string{"FileDecryption", "Extended"},
		children:  []string{"Updates", "FileLocations", "FileDecryptionData"},
		locations: []string{digestEncrypted1, digestPlain2, digestEncrypted3}, data: bothKeys, sourceCalls: 1,
	}, {
		name: "without FileDecryption", ids: []ident{encrypted}, types: []string{"FileUrl"},
		children: []string{"FileLocations"}, locations: []string{digestEncrypted1, digestPlain2, digestEncrypted3},
	}, {
		name: "fragments only", ids: []ident{encrypted}, types: []string{"Extended", "LocalizedProperties"},
		children: []string{"Updates", "FileLocations"}, locations: []string{digestEncrypted1, digestPlain2, digestEncrypted3},
	}, {
		// The plain file is left out ([I] rather than sent without a
		// key), and so is the AM engine's, whose key is unknown.
		name: "files without key left out, request order", ids: []ident{amEngine, encrypted}, types: []string{"FileUrl", "FileDecryption"},
		children:  []string{"FileLocations", "FileDecryptionData"},
		locations: []string{digestAMEngine, digestEncrypted1, digestPlain2, digestEncrypted3}, data: bothKeys, sourceCalls: 1,
	}, {
		// [I] A file once, however many times its revision is asked for.
		name: "identity listed twice", ids: []ident{encrypted, encrypted}, types: []string{"FileDecryption"},
		children: []string{"FileDecryptionData"}, data: bothKeys, sourceCalls: 1,
	}, {
		// [I] No key known: no element, not an empty one.
		name: "no key known", ids: []ident{amEngine}, types: []string{"FileUrl", "FileDecryption"},
		children: []string{"FileLocations"}, locations: []string{digestAMEngine}, sourceCalls: 1,
	}, {
		// The demo file's key is stored, but the demo update is declined;
		// the other identity is unknown.
		name: "out of scope", ids: []ident{demo, {uuid.New(), 1}}, types: []string{"FileUrl", "FileDecryption"},
	}, {
		name: "in scope and out of scope", ids: []ident{demo, encrypted}, types: []string{"FileDecryption"},
		children: []string{"FileDecryptionData"}, data: bothKeys, sourceCalls: 1,
	}, {
		// GetExtendedUpdateInfo's ExtendedUpdateInfo has no
		// FileDecryptionData: the infoType is ignored there.
		name: "GetExtendedUpdateInfo ignores it", v1: true, ids: []ident{encrypted}, types: []string{"FileUrl", "FileDecryption"},
		children: []string{"FileLocations"}, locations: []string{digestEncrypted1, digestPlain2, digestEncrypted3},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var types strings.Builder
			for _, typ := range tc.types {
				types.WriteString("<XmlUpdateFragmentType>" + typ + "</XmlUpdateFragmentType>")
			}
			op, request := "GetExtendedUpdateInfo2", "<updateIDs>"
			var revs []int32
			for _, x := range tc.ids {
				request += fmt.Sprintf("<UpdateIdentity><UpdateID>%s</UpdateID><RevisionNumber>%d</RevisionNumber></UpdateIdentity>", x.id, x.rev)
				revs = append(revs, revision[x.id])
			}
			request += "</updateIDs>"
			if tc.v1 {
				op, request = "GetExtendedUpdateInfo", ints("revisionIDs", revs)
			}
			store.take()
			status, el := r.call(clientPath, soap.NSClient, op, ck+request+
				"<infoTypes>"+types.String()+"</infoTypes><locales><string>en</string></locales>")
			if status != 200 {
				t.Fatalf("HTTP %d fault %q", status, faultCode(el))
			}
			if got := store.take()["FileSources"]; got != tc.sourceCalls {
				t.Errorf("%d FileSources calls, want %d", got, tc.sourceCalls)
			}
			res := el.FindElement(op + "Result")
			if res == nil {
				t.Fatalf("no %sResult in %s", op, el.Tag)
			}
			var children []string
			for _, c := range res.ChildElements() {
				if c.Tag != "OutOfScopeRevisionIDs" {
					children = append(children, c.Tag)
				}
			}
			if !slices.Equal(children, tc.children) {
				t.Errorf("result children %v, want %v", children, tc.children)
			}
			var locations []string
			for _, fl := range res.FindElements("FileLocations/FileLocation") {
				locations = append(locations, fl.FindElement("FileDigest").Text())
			}
			if !slices.Equal(locations, tc.locations) {
				t.Errorf("FileLocations %v, want %v", locations, tc.locations)
			}
			data := ""
			if fd := res.SelectElement("FileDecryptionData"); fd != nil {
				if fd.NamespaceURI() != soap.NSClient {
					t.Errorf("FileDecryptionData in namespace %q, want %q", fd.NamespaceURI(), soap.NSClient)
				}
				doc := etree.NewDocument()
				doc.SetRoot(fd.Copy())
				data, _ = doc.WriteToString()
			}
			if data != tc.data {
				t.Errorf("FileDecryptionData\n got %s\nwant %s", data, tc.data)
			}
		})
	}
}

func mustBase64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
