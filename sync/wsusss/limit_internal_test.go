package wsusss

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"wsus/internal/cab"
)

// TestGetUpdateDataDecodedLimit: an answer whose compressed documents
// together pass the limit is refused with cab.ErrTooLarge, so that the
// caller asks for fewer updates at once; under the limit they decode.
func TestGetUpdateDataDecodedLimit(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "wsusss-GetUpdateDataResponse-bundle-compressed-3-blocks.xml"))
	if err != nil {
		t.Fatal(err)
	}
	one, err := ParseGetUpdateDataResponse(body)
	if err != nil {
		t.Fatal(err)
	}
	// The document decodes to this many UTF-16 bytes, as the limit counts.
	size := int64(len(one.Updates[0].XML)) * 2
	start := bytes.Index(body, []byte("<ServerSyncUpdateData>"))
	end := bytes.Index(body, []byte("</ServerSyncUpdateData>")) + len("</ServerSyncUpdateData>")
	if start < 0 || end < start {
		t.Fatal("sample holds no ServerSyncUpdateData")
	}
	// The same update three times.
	var b bytes.Buffer
	b.Write(body[:end])
	b.Write(body[start:end])
	b.Write(body[start:end])
	b.Write(body[end:])
	three := b.Bytes()
	tests := []struct {
		name  string
		limit int64
		fail  bool
	}{
		{"room for all three", 4 * size, false},
		{"room for two", 2*size + size/2, true},
		{"room for none", size / 2, true},
	}
	for _, tc := range tests {
		d, err := parseGetUpdateData(three, tc.limit)
		switch {
		case tc.fail && !errors.Is(err, cab.ErrTooLarge):
			t.Errorf("%s: got %v, want an error matching cab.ErrTooLarge", tc.name, err)
		case !tc.fail && (err != nil || len(d.Updates) != 3):
			t.Errorf("%s: got %v, want three updates", tc.name, err)
		}
	}
}
