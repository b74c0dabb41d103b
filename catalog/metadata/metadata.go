// Package metadata parses one Microsoft update metadata document (an
// upd:Update, as GetUpdateData of MS-WSUSSS returns it) into a
// catalog.Revision, and derives from it the MS-WUSP fragments a real WSUS
// hands to clients: Core (SyncUpdates), Extended, LocalizedProperties and
// Eula (GetExtendedUpdateInfo).
//
// The field mapping follows MS-WUSP 3.1.1.1 and MS-WSUSSS section 4 (see
// ../../shared/protocol/MS-WSUSSS.md section 4 and MS-WUSP.md sections 6.2
// and 6.3). The fragment derivation reproduces the bytes a Windows Server
// 2025 WSUS sent on the wire; fragment.go lists which rules were observed and
// which are unverified choices.
package metadata

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/beevik/etree"
	"github.com/google/uuid"

	"wsus/catalog"
)

// Namespaces of the update metadata schema (MS-WSUSSS 4.1).
const (
	// NamespaceUpdate is the namespace of the upd:Update root and its
	// structural children.
	NamespaceUpdate = "http://schemas.microsoft.com/msus/2002/12/Update"

	nsBaseApplicability = "http://schemas.microsoft.com/msus/2002/12/BaseApplicabilityRules"
	nsMsiApplicability  = "http://schemas.microsoft.com/msus/2002/12/MsiApplicabilityRules"
	nsWindowsDriver     = "http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/WindowsDriver"
	nsXML               = "http://www.w3.org/XML/1998/namespace"
	// nsUpdateSchemaPrefix starts every namespace of the update schema family
	// (Update, Publishing, *ApplicabilityRules, UpdateHandlers/*, 2016 OSInstaller).
	nsUpdateSchemaPrefix = "http://schemas.microsoft.com/msus/"
)

// Parse reads one upd:Update document and returns the revision it describes.
//
// The document is UTF-8 (optionally with a byte order mark) or UTF-16LE/BE
// (with a byte order mark, or recognisable from a leading '<'); an XML
// declaration and comments before the root are accepted. Every field of
// catalog.Revision is filled except ID: the identity, type, category type,
// default-language title and description, KB article, publication state,
// creation date, prerequisite CNF, bundled and superseded updates, files,
// the driver metadata of Driver updates (drivers.go), the derived Core,
// Extended, LocalizedProperties and Eula fragments, and SourceXML (the
// document as UTF-8 text, byte order mark removed, otherwise verbatim).
func Parse(doc []byte) (*catalog.Revision, error) {
	text, err := toUTF8(doc)
	if err != nil {
		return nil, fmt.Errorf("metadata: parse: %w", err)
	}
	root, err := readRoot(text)
	if err != nil {
		return nil, fmt.Errorf("metadata: parse: %w", err)
	}
	rev, err := parseRevision(root)
	if err != nil {
		return nil, fmt.Errorf("metadata: parse: %w", err)
	}
	frags := deriveFragments(root)
	rev.CoreXML = frags.core
	rev.ExtendedXML = frags.extended
	rev.Localized = frags.localized
	rev.Eulas = frags.eulas
	rev.SourceXML = string(text)
	return rev, nil
}

// toUTF8 returns doc as UTF-8 without a byte order mark.
func toUTF8(doc []byte) ([]byte, error) {
	switch {
	case len(doc) == 0:
		return nil, errors.New("empty document")
	case bytes.HasPrefix(doc, []byte{0xEF, 0xBB, 0xBF}):
		doc = doc[3:]
	case bytes.HasPrefix(doc, []byte{0xFF, 0xFE}):
		return fromUTF16(doc[2:], false)
	case bytes.HasPrefix(doc, []byte{0xFE, 0xFF}):
		return fromUTF16(doc[2:], true)
	case len(doc) >= 2 && doc[0] == '<' && doc[1] == 0:
		return fromUTF16(doc, false)
	case len(doc) >= 2 && doc[0] == 0 && doc[1] == '<':
		return fromUTF16(doc, true)
	}
	if !utf8.Valid(doc) {
		return nil, errors.New("document is not valid UTF-8")
	}
	return doc, nil
}

// fromUTF16 converts UTF-16 code units (no byte order mark) to UTF-8.
func fromUTF16(b []byte, bigEndian bool) ([]byte, error) {
	if len(b)%2 != 0 {
		return nil, errors.New("UTF-16 document has an odd number of bytes")
	}
	units := make([]uint16, len(b)/2)
	for i := range units {
		if bigEndian {
			units[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		} else {
			units[i] = uint16(b[2*i+1])<<8 | uint16(b[2*i])
		}
	}
	runes := utf16.Decode(units)
	out := make([]byte, 0, len(runes))
	for _, r := range runes {
		if r == utf8.RuneError {
			return nil, errors.New("UTF-16 document has an unpaired surrogate")
		}
		out = utf8.AppendRune(out, r)
	}
	return out, nil
}

// ErrNotUpdate is wrapped by Parse when the document is well-formed XML
// whose root is not upd:Update: a document of another kind rather than a
// broken update.
var ErrNotUpdate = errors.New("not an upd:Update document")

// readRoot parses text and returns its upd:Update root element.
func readRoot(text []byte) (*etree.Element, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(text); err != nil {
		return nil, fmt.Errorf("read XML: %w", err)
	}
	var root *etree.Element
	for _, t := range doc.Child {
		switch c := t.(type) {
		case *etree.Element:
			if root != nil {
				return nil, errors.New("read XML: more than one root element")
			}
			root = c
		case *etree.CharData:
			if !c.IsWhitespace() {
				return nil, errors.New("read XML: text outside the root element")
			}
		}
	}
	if root == nil {
		return nil, errors.New("read XML: no root element")
	}
	tag := root.FullTag()
	if err := resolveNamespaces(root); err != nil {
		return nil, fmt.Errorf("read XML: %w", err)
	}
	if root.Tag != "Update" || root.Space != NamespaceUpdate {
		return nil, fmt.Errorf("%w: root element is <%s> in namespace %q, want upd:Update in %q",
			ErrNotUpdate, tag, root.Space, NamespaceUpdate)
	}
	return root, nil
}

// resolveNamespaces replaces the prefix in the Space of every element of
// the tree under root by the namespace URI it is bound to ("" when
// unbound; "xml" is always bound), in one walk that keeps the bindings in
// scope. Everything in this package reads an element's namespace from
// Space after that: etree's NamespaceURI walks the attributes of every
// ancestor on each call, which made documents with many declarations or
// attributes cost their size squared. Attributes keep their prefixes.
//
// It also refuses local names that are no XML names on their own
// (encoding/xml accepts <A:0/> because "A:0" starts with a letter; the
// fragments, written without prefixes, would hold <0/>).
func resolveNamespaces(root *etree.Element) error {
	bindings := map[string][]string{"xml": {nsXML}} // prefix ("" for the default) → URIs, innermost last
	var walk func(e *etree.Element) error
	walk = func(e *etree.Element) error {
		if !isXMLName(e.Tag) {
			return fmt.Errorf("element <%s>: %q is not an XML name", e.FullTag(), e.Tag)
		}
		var declared []string
		for _, a := range e.Attr {
			prefix := a.Key
			switch {
			case a.Space == "xmlns":
			case a.Space == "" && a.Key == "xmlns":
				prefix = ""
			default:
				if !isXMLName(a.Key) {
					return fmt.Errorf("attribute %s of <%s>: %q is not an XML name", a.FullKey(), e.FullTag(), a.Key)
				}
				continue
			}
			bindings[prefix] = append(bindings[prefix], a.Value)
			declared = append(declared, prefix)
		}
		if uris := bindings[e.Space]; len(uris) > 0 {
			e.Space = uris[len(uris)-1]
		} else {
			e.Space = ""
		}
		for _, c := range e.ChildElements() {
			if err := walk(c); err != nil {
				return err
			}
		}
		for _, prefix := range declared {
			bindings[prefix] = bindings[prefix][:len(bindings[prefix])-1]
		}
		return nil
	}
	return walk(root)
}

// isXMLName reports whether name is an XML name as encoding/xml reads
// them: checked by hand for plain ASCII names, else by encoding/xml itself.
func isXMLName(name string) bool {
	if name == "" {
		return false
	}
	ascii := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 0x80:
			ascii = false
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case i > 0 && (c >= '0' && c <= '9' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	if ascii {
		return true
	}
	tok, err := xml.NewDecoder(strings.NewReader("<" + name + "/>")).RawToken()
	start, ok := tok.(xml.StartElement)
	return err == nil && ok && start.Name.Space == "" && start.Name.Local == name
}

// parseRevision fills every field of a revision except ID and the fragments.
func parseRevision(root *etree.Element) (*catalog.Revision, error) {
	rev := &catalog.Revision{}

	ids := updChildren(root, "UpdateIdentity")
	switch len(ids) {
	case 0:
		return nil, errors.New("missing UpdateIdentity")
	case 1:
	default:
		return nil, errors.New("more than one UpdateIdentity")
	}
	id, err := parseIdentity(ids[0], true)
	if err != nil {
		return nil, fmt.Errorf("bad UpdateIdentity: %w", err)
	}
	rev.Identity = id

	props := updChild(root, "Properties")
	if props == nil {
		return nil, errors.New("missing Properties")
	}
	rev.Type = catalog.UpdateType(props.SelectAttrValue("UpdateType", ""))
	switch rev.Type {
	case catalog.TypeSoftware, catalog.TypeDriver, catalog.TypeCategory, catalog.TypeDetectoid:
	default:
		return nil, fmt.Errorf("unsupported Properties/@UpdateType %q", rev.Type)
	}
	if kb := updChild(props, "KBArticleID"); kb != nil {
		rev.KBArticleID = strings.TrimSpace(innerText(kb))
	}
	rev.PublicationState = props.SelectAttrValue("PublicationState", "")
	if s := props.SelectAttrValue("CreationDate", ""); s != "" {
		if rev.CreationDate, err = parseTime(s); err != nil {
			return nil, fmt.Errorf("bad Properties/@CreationDate: %w", err)
		}
	}

	rev.Title, rev.Description = defaultLocalized(root, props.SelectAttrValue("DefaultPropertiesLanguage", ""))

	if hsd := updChild(root, "HandlerSpecificData"); hsd != nil {
		// CategoryInformation is in the Category handler namespace; match on
		// the local name only.
		if ci := hsd.SelectElement("CategoryInformation"); ci != nil {
			rev.CategoryType = ci.SelectAttrValue("CategoryType", "")
		}
	}

	if rel := updChild(root, "Relationships"); rel != nil {
		if err := parseRelationships(rel, rev); err != nil {
			return nil, err
		}
	}

	if rev.Type == catalog.TypeDriver {
		if rev.Drivers, err = parseDrivers(root); err != nil {
			return nil, err
		}
	}

	if files := updChild(root, "Files"); files != nil {
		for i, f := range updChildren(files, "File") {
			file, err := parseFile(f)
			if err != nil {
				return nil, fmt.Errorf("bad Files/File[%d]: %w", i+1, err)
			}
			rev.Files = append(rev.Files, file)
		}
	}
	return rev, nil
}

// parseRelationships reads the prerequisite CNF, bundled and superseded updates.
func parseRelationships(rel *etree.Element, rev *catalog.Revision) error {
	if pre := updChild(rel, "Prerequisites"); pre != nil {
		for _, c := range pre.ChildElements() {
			if c.Space != NamespaceUpdate {
				continue
			}
			switch c.Tag {
			case "UpdateIdentity":
				id, err := parseIdentity(c, false)
				if err != nil {
					return fmt.Errorf("bad Prerequisites/UpdateIdentity: %w", err)
				}
				rev.Prerequisites = append(rev.Prerequisites, catalog.PrerequisiteClause{UpdateIDs: []uuid.UUID{id.UpdateID}})
			case "AtLeastOne":
				clause := catalog.PrerequisiteClause{IsCategory: c.SelectAttrValue("IsCategory", "") == "true"}
				for _, u := range updChildren(c, "UpdateIdentity") {
					id, err := parseIdentity(u, false)
					if err != nil {
						return fmt.Errorf("bad Prerequisites/AtLeastOne/UpdateIdentity: %w", err)
					}
					clause.UpdateIDs = append(clause.UpdateIDs, id.UpdateID)
				}
				if len(clause.UpdateIDs) == 0 {
					return errors.New("empty Prerequisites/AtLeastOne (no UpdateIdentity)")
				}
				rev.Prerequisites = append(rev.Prerequisites, clause)
			}
		}
	}
	if bun := updChild(rel, "BundledUpdates"); bun != nil {
		for _, u := range descendants(bun, "UpdateIdentity") {
			id, err := parseIdentity(u, false)
			if err != nil {
				return fmt.Errorf("bad BundledUpdates UpdateIdentity: %w", err)
			}
			rev.BundledUpdates = append(rev.BundledUpdates, id)
		}
	}
	if sup := updChild(rel, "SupersededUpdates"); sup != nil {
		for _, u := range descendants(sup, "UpdateIdentity") {
			id, err := parseIdentity(u, false)
			if err != nil {
				return fmt.Errorf("bad SupersededUpdates UpdateIdentity: %w", err)
			}
			rev.SupersededUpdates = append(rev.SupersededUpdates, id.UpdateID)
		}
	}
	return nil
}

// parseIdentity reads an UpdateIdentity. RevisionNumber is required only when
// needRevision is set; when absent it is 0. The nil GUID is refused.
func parseIdentity(e *etree.Element, needRevision bool) (catalog.Identity, error) {
	var id catalog.Identity
	s := e.SelectAttrValue("UpdateID", "")
	if s == "" {
		return id, errors.New("missing UpdateID")
	}
	u, err := uuid.Parse(s)
	if err != nil {
		return id, fmt.Errorf("UpdateID %q: %w", s, err)
	}
	if u == uuid.Nil {
		return id, fmt.Errorf("UpdateID %q is the nil GUID, which names no update", s)
	}
	id.UpdateID = u
	rn := e.SelectAttr("RevisionNumber")
	if rn == nil {
		if needRevision {
			return id, errors.New("missing RevisionNumber")
		}
		return id, nil
	}
	n, err := strconv.ParseInt(rn.Value, 10, 32)
	if err != nil || n < 0 {
		return id, fmt.Errorf("RevisionNumber %q is not a non-negative 32-bit integer", rn.Value)
	}
	id.RevisionNumber = int32(n)
	return id, nil
}

// parseFile reads one Files/File element.
func parseFile(f *etree.Element) (catalog.File, error) {
	var file catalog.File
	file.FileName = f.SelectAttrValue("FileName", "")
	if file.FileName == "" {
		return file, errors.New("missing FileName")
	}
	var err error
	if file.SHA1, err = decodeDigest(f.SelectAttrValue("Digest", ""), 20); err != nil {
		return file, fmt.Errorf("%s: Digest: %w", file.FileName, err)
	}
	size := f.SelectAttrValue("Size", "")
	if file.Size, err = strconv.ParseInt(size, 10, 64); err != nil || file.Size < 0 {
		return file, fmt.Errorf("%s: Size %q is not a non-negative integer", file.FileName, size)
	}
	if s := f.SelectAttrValue("Modified", ""); s != "" {
		if file.Modified, err = parseTime(s); err != nil {
			return file, fmt.Errorf("%s: Modified: %w", file.FileName, err)
		}
	}
	for _, ad := range updChildren(f, "AdditionalDigest") {
		if ad.SelectAttrValue("Algorithm", "") != "SHA256" {
			continue
		}
		if file.SHA256, err = decodeDigest(strings.TrimSpace(innerText(ad)), 32); err != nil {
			return file, fmt.Errorf("%s: AdditionalDigest SHA256: %w", file.FileName, err)
		}
	}
	return file, nil
}

// decodeDigest decodes a base64 digest that must be exactly size bytes.
func decodeDigest(s string, size int) ([]byte, error) {
	if s == "" {
		return nil, errors.New("missing")
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not base64: %w", s, err)
	}
	if len(b) != size {
		return nil, fmt.Errorf("%q is %d bytes, want %d", s, len(b), size)
	}
	return b, nil
}

// parseTime reads an xs:dateTime as found in update metadata. Values without
// a zone (seen in old metadata) are taken as UTC. The time must lie in the
// years 1-9999 in UTC, which the stores hold (catalog.CheckTime).
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		if t, err = time.Parse("2006-01-02T15:04:05", s); err != nil {
			return time.Time{}, fmt.Errorf("%q is not an xs:dateTime", s)
		}
	}
	return inStoredYears(s, t.UTC())
}

// inStoredYears returns t, or an error when it lies outside the years
// 1-9999 (s is the text it was read from).
func inStoredYears(s string, t time.Time) (time.Time, error) {
	if y := t.Year(); y < 1 || y > 9999 {
		return time.Time{}, fmt.Errorf("%q is outside the years 1-9999 in UTC", s)
	}
	return t, nil
}

// defaultLocalized returns the title and description of the localized
// properties in the default language, else "en", else the first ones.
func defaultLocalized(root *etree.Element, defaultLang string) (title, desc string) {
	coll := updChild(root, "LocalizedPropertiesCollection")
	if coll == nil {
		return "", ""
	}
	all := updChildren(coll, "LocalizedProperties")
	if len(all) == 0 {
		return "", ""
	}
	pick := func(lang string) *etree.Element {
		if lang == "" {
			return nil
		}
		for _, lp := range all {
			if strings.EqualFold(localizedLanguage(lp), lang) {
				return lp
			}
		}
		return nil
	}
	lp := pick(defaultLang)
	if lp == nil {
		lp = pick("en")
	}
	if lp == nil {
		lp = all[0]
	}
	if t := updChild(lp, "Title"); t != nil {
		title = strings.TrimSpace(innerText(t))
	}
	if d := updChild(lp, "Description"); d != nil {
		desc = strings.TrimSpace(innerText(d))
	}
	return title, desc
}

// localizedLanguage returns the Language child text of a LocalizedProperties.
func localizedLanguage(lp *etree.Element) string {
	if l := updChild(lp, "Language"); l != nil {
		return strings.TrimSpace(innerText(l))
	}
	return ""
}

// updChild returns the first child element of e named local in the Update namespace.
func updChild(e *etree.Element, local string) *etree.Element {
	for _, c := range e.ChildElements() {
		if c.Tag == local && c.Space == NamespaceUpdate {
			return c
		}
	}
	return nil
}

// updChildren returns the child elements of e named local in the Update namespace.
func updChildren(e *etree.Element, local string) []*etree.Element {
	var out []*etree.Element
	for _, c := range e.ChildElements() {
		if c.Tag == local && c.Space == NamespaceUpdate {
			out = append(out, c)
		}
	}
	return out
}

// descendants returns, in document order, the descendant elements of e named
// local in the Update namespace (not descending into matches).
func descendants(e *etree.Element, local string) []*etree.Element {
	var out []*etree.Element
	for _, c := range e.ChildElements() {
		if c.Tag == local && c.Space == NamespaceUpdate {
			out = append(out, c)
			continue
		}
		out = append(out, descendants(c, local)...)
	}
	return out
}

// innerText concatenates the character data children of e.
func innerText(e *etree.Element) string {
	var b strings.Builder
	for _, t := range e.Child {
		if cd, ok := t.(*etree.CharData); ok {
			b.WriteString(cd.Data)
		}
	}
	return b.String()
}
