// Package muurl indexes the Microsoft Update download URLs of payload
// files, for the content handler's fallback mode ("clients download from
// Microsoft Update" for files this server does not store).
//
// The URLs cannot be derived from a file's digest (MS-WSUSSS.md section 5:
// the host letter, category folder, month and name stem are not in it), so
// they are only ever taken from where Microsoft publishes them: the
// fileUrls of MS-WSUSSS GetUpdateData responses, ServerSyncUrlData
// {FileDigest (base64 SHA-1), MUUrl, UssUrl} (MS-WSUSSS.md section 2.3).
// An upstream sync saves those responses; Load reads them. A digest with
// no MUUrl (the element is absent for files not on Microsoft Update) is
// not indexed.
package muurl

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// nsSoftwareDistribution is the namespace of the ServerSync messages.
const nsSoftwareDistribution = "http://www.microsoft.com/SoftwareDistribution"

// Index maps SHA-1 digests to Microsoft Update URLs. Build it before
// serving (Load, Add); lookups are then safe for concurrent use.
type Index struct {
	urls map[[20]byte]string
}

// New returns an empty index.
func New() *Index { return &Index{urls: map[[20]byte]string{}} }

// Load indexes every GetUpdateData response in paths: files, or folders
// whose .xml files are read (recursively). XML without ServerSyncUrlData
// adds nothing; XML that does not parse is an error.
func Load(paths ...string) (*Index, error) {
	ix := New()
	for _, root := range paths {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || (p != root && !strings.EqualFold(filepath.Ext(p), ".xml")) {
				return nil
			}
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			if _, err := ix.Add(f); err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("muurl: load: %w", err)
		}
	}
	return ix, nil
}

// syncURLData is one ServerSyncUrlData.
type syncURLData struct {
	FileDigest string `xml:"FileDigest"`
	MUURL      string `xml:"MUUrl"`
}

// Add indexes the ServerSyncUrlData of one XML document and returns how
// many URLs it added. An entry with a malformed digest or a URL that is not
// absolute http(s) is an error: the document is not what it claims.
func (ix *Index) Add(r io.Reader) (int, error) {
	dec := xml.NewDecoder(r)
	n := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("muurl: %w", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "ServerSyncUrlData" || se.Name.Space != nsSoftwareDistribution {
			continue
		}
		var d syncURLData
		if err := dec.DecodeElement(&d, &se); err != nil {
			return n, fmt.Errorf("muurl: ServerSyncUrlData: %w", err)
		}
		sum, err := base64.StdEncoding.DecodeString(strings.TrimSpace(d.FileDigest))
		if err != nil || len(sum) != 20 {
			return n, fmt.Errorf("muurl: FileDigest %q is not a base64 SHA-1", d.FileDigest)
		}
		raw := strings.TrimSpace(d.MUURL)
		if raw == "" {
			continue // not on Microsoft Update
		}
		if u, err := url.Parse(raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return n, fmt.Errorf("muurl: MUUrl %q of %s is not an absolute http(s) URL", raw, d.FileDigest)
		}
		ix.urls[[20]byte(sum)] = raw
		n++
	}
}

// Len returns how many files the index knows.
func (ix *Index) Len() int { return len(ix.urls) }

// URL returns the Microsoft Update URL of the file with that SHA-1, "" when
// the index has none. It has the shape of content.FallbackFunc.
func (ix *Index) URL(_ context.Context, sha1 []byte) (string, error) {
	if len(sha1) != 20 {
		return "", nil
	}
	return ix.urls[[20]byte(sha1)], nil
}

// All returns every indexed file's SHA-1 and Microsoft Update URL, in no
// particular order.
func (ix *Index) All() iter.Seq2[[20]byte, string] {
	return func(yield func([20]byte, string) bool) {
		for sum, u := range ix.urls {
			if !yield(sum, u) {
				return
			}
		}
	}
}
