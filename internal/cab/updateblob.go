package cab

import (
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxUpdateBlobSize bounds the uncompressed size of an update blob, UTF-16
// as stored: 128 MiB. The largest real documents are CBS updates whose Core
// fragment alone reaches 46.9 MB as UTF-8 (../shared/protocol/MS-WSUSSS.md,
// Windows 11 catalog statistics), about 94 MB as UTF-16, so the 64 MiB a
// first guess would take refuses real metadata.
const MaxUpdateBlobSize = 128 << 20

// DecodeUpdateBlob decodes the XmlUpdateBlobCompressed of a GetUpdateData
// answer, after base64 decoding, into the upd:Update document as UTF-8
// ([MS-WSUSSS] 3.1.4.6 GetUpdateData, ServerSyncUpdateData; summed up in
// ../shared/protocol/MS-WSUSSS.md 2.3).
//
// The blob is a cabinet of one file ("blob" in every sample) that fills its
// folder (CAB_LZX with a 2^21 window in every sample) and holds the
// document as UTF-16LE, without byte order mark or XML declaration
// [../shared/protocol/MS-WSUSSS.md 2.3; the samples]. A leading byte order
// mark is dropped all the same, and the rest converted to UTF-8 unchanged:
// no line ending or whitespace is touched, so the result is byte for byte
// the document as Microsoft wrote it, in UTF-8 (as the samples'
// update-*.xml files are, after their first, comment line). Odd lengths and
// unpaired surrogates are refused (ErrFormat), as is a cabinet declaring
// more than MaxUpdateBlobSize bytes (ErrTooLarge).
func DecodeUpdateBlob(b []byte) ([]byte, error) {
	return DecodeUpdateBlobLimit(b, MaxUpdateBlobSize)
}

// DecodeUpdateBlobLimit is DecodeUpdateBlob refusing a cabinet that
// declares more than limit bytes (ErrTooLarge), for callers that bound the
// documents of a whole answer; a limit above MaxUpdateBlobSize counts as
// MaxUpdateBlobSize.
func DecodeUpdateBlobLimit(b []byte, limit int64) ([]byte, error) {
	return decodeUpdateBlob(b, min(limit, MaxUpdateBlobSize))
}

func decodeUpdateBlob(b []byte, limit int64) ([]byte, error) {
	c, err := OpenBytes(b, limit)
	if err != nil {
		return nil, err
	}
	if len(c.files) != 1 {
		return nil, fmt.Errorf("cab: update blob: %d files, want 1: %w", len(c.files), ErrFormat)
	}
	f := c.files[0]
	if f.Offset != 0 || f.Size != c.folders[f.Folder].size {
		return nil, fmt.Errorf("cab: update blob: %q holds %d of the %d bytes of its folder: %w", f.Name, f.Size, c.folders[f.Folder].size, ErrFormat)
	}
	u16, err := c.fileData(f) // the folder's buffer: converted, not kept
	if err != nil {
		return nil, err
	}
	out, err := utf16leToUTF8(u16)
	if err != nil {
		return nil, fmt.Errorf("cab: update blob: %w: %w", err, ErrFormat)
	}
	return out, nil
}

// utf16leToUTF8 converts, dropping a leading byte order mark.
func utf16leToUTF8(b []byte) ([]byte, error) {
	if len(b)%2 != 0 {
		return nil, fmt.Errorf("UTF-16 text of odd length %d", len(b))
	}
	if len(b) >= 2 && b[0] == 0xFF && b[1] == 0xFE {
		b = b[2:]
	}
	n := 0 // the UTF-8 length, counted first to allocate once
	for i := 0; i < len(b); i += 2 {
		u := rune(b[i]) | rune(b[i+1])<<8
		switch {
		case u < 0x80:
			n++
		case u < 0x800:
			n += 2
		case utf16.IsSurrogate(u):
			n += 2 // half of a 4-byte sequence; pairs are checked below
		default:
			n += 3
		}
	}
	out := make([]byte, n)
	j := 0
	for i := 0; i < len(b); i += 2 {
		u := rune(b[i]) | rune(b[i+1])<<8
		if u < 0x80 {
			out[j] = byte(u)
			j++
			continue
		}
		if utf16.IsSurrogate(u) {
			if u >= 0xDC00 || i+3 >= len(b) {
				return nil, errUnpaired(i)
			}
			u2 := rune(b[i+2]) | rune(b[i+3])<<8
			r := utf16.DecodeRune(u, u2)
			if r == utf8.RuneError {
				return nil, errUnpaired(i)
			}
			j += utf8.EncodeRune(out[j:], r)
			i += 2
			continue
		}
		j += utf8.EncodeRune(out[j:], u)
	}
	return out[:j], nil
}

func errUnpaired(i int) error {
	return errors.New("unpaired UTF-16 surrogate at byte " + fmt.Sprint(i))
}
