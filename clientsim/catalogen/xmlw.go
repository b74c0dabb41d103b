package catalogen

import (
	"strconv"
	"time"

	"github.com/google/uuid"
)

// Namespaces of the update metadata schema (MS-WSUSSS.md §4.1).
const (
	nsUpd = "http://schemas.microsoft.com/msus/2002/12/Update"
	nsPub = "http://schemas.microsoft.com/msus/2002/12/Publishing"
	nsBar = "http://schemas.microsoft.com/msus/2002/12/BaseApplicabilityRules"
	nsLar = "http://schemas.microsoft.com/msus/2002/12/LogicalApplicabilityRules"
	nsCat = "http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/Category"
	nsCmd = "http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/CommandLineInstallation"
	nsCbs = "http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/Cbs"
	nsXsi = "http://www.w3.org/2001/XMLSchema-instance"

	handlerCategory = nsCat
	handlerCmd      = nsCmd
	handlerCbs      = nsCbs
)

// xmlBuf appends XML to a byte slice. Attribute values and text are escaped;
// raw appends markup verbatim.
type xmlBuf struct {
	b []byte
}

func (w *xmlBuf) raw(s string) { w.b = append(w.b, s...) }

// attr appends ` name="value"`.
func (w *xmlBuf) attr(name, value string) {
	w.b = append(w.b, ' ')
	w.b = append(w.b, name...)
	w.b = append(w.b, '=', '"')
	w.escape(value)
	w.b = append(w.b, '"')
}

// attrInt appends ` name="n"`.
func (w *xmlBuf) attrInt(name string, n int64) {
	w.b = append(w.b, ' ')
	w.b = append(w.b, name...)
	w.b = append(w.b, '=', '"')
	w.b = strconv.AppendInt(w.b, n, 10)
	w.b = append(w.b, '"')
}

// attrID appends ` name="<lower-case GUID>"`.
func (w *xmlBuf) attrID(name string, id uuid.UUID) {
	w.b = append(w.b, ' ')
	w.b = append(w.b, name...)
	w.b = append(w.b, '=', '"')
	var s [36]byte
	encodeHex(s[:], id)
	w.b = append(w.b, s[:]...)
	w.b = append(w.b, '"')
}

// elem appends <name>text</name>.
func (w *xmlBuf) elem(name, text string) {
	w.b = append(w.b, '<')
	w.b = append(w.b, name...)
	w.b = append(w.b, '>')
	w.escape(text)
	w.b = append(w.b, '<', '/')
	w.b = append(w.b, name...)
	w.b = append(w.b, '>')
}

// escape appends s escaped for both text and double-quoted attributes.
func (w *xmlBuf) escape(s string) {
	last := 0
	for i := 0; i < len(s); i++ {
		var rep string
		switch s[i] {
		case '&':
			rep = "&amp;"
		case '<':
			rep = "&lt;"
		case '>':
			rep = "&gt;"
		case '"':
			rep = "&quot;"
		default:
			continue
		}
		w.b = append(w.b, s[last:i]...)
		w.b = append(w.b, rep...)
		last = i + 1
	}
	w.b = append(w.b, s[last:]...)
}

// identity appends <upd:UpdateIdentity UpdateID="id" [RevisionNumber="rev"] />;
// rev < 0 leaves RevisionNumber out (prerequisites and supersedence name
// UpdateIDs only).
func (w *xmlBuf) identity(id uuid.UUID, rev int32) {
	w.raw("<upd:UpdateIdentity")
	w.attrID("UpdateID", id)
	if rev >= 0 {
		w.attrInt("RevisionNumber", int64(rev))
	}
	w.raw(" />")
}

// encodeHex writes the canonical lower-case form of id into dst (36 bytes).
func encodeHex(dst []byte, id uuid.UUID) {
	const hexDigits = "0123456789abcdef"
	j := 0
	for i, b := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst[j] = '-'
			j++
		}
		dst[j] = hexDigits[b>>4]
		dst[j+1] = hexDigits[b&0x0f]
		j += 2
	}
}

// Time layouts of the real documents: CreationDate carries milliseconds,
// File/@Modified whole seconds.
const (
	layoutCreation = "2006-01-02T15:04:05.000Z"
	layoutModified = "2006-01-02T15:04:05Z"
)

func creation(t time.Time) string { return t.UTC().Format(layoutCreation) }
func modified(t time.Time) string { return t.UTC().Format(layoutModified) }
