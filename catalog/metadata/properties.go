package metadata

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Properties is what the admin views read from an update's upd:Properties
// beyond the fields of catalog.Revision: the MsrcSeverity attribute and the
// CveID and Language children (MS-WSUSSS 4.2, ../../shared/protocol/MS-WSUSSS.md
// section 4.2: "@MsrcSeverity", "children: ... KBArticleID,
// SecurityBulletinID, CveID*, Language*"). [I] None of the stored real
// documents carries them (metadata-samples has no security update), so the
// element names and namespace are the spec's: children of Properties in the
// Update namespace, as KBArticleID is in the real documents.
type Properties struct {
	// MsrcSeverity is @MsrcSeverity as written ("Critical", "Important",
	// "Moderate", "Low"), trimmed; "" when absent.
	MsrcSeverity string
	// CVEs are the CveID children's text, trimmed, empty ones left out, in
	// document order.
	CVEs []string
	// Languages are the Language children's text, trimmed, empty ones left
	// out, in document order (none: the update applies to any language).
	Languages []string
}

// ReadProperties reads the Properties of one upd:Update document (UTF-8
// text, as catalog.Revision.SourceXML holds it). It stops at the end of
// Properties, so a document with a large body (a CBS manifest in
// ApplicabilityRules) costs no more than its head. A document without
// Properties has none (zero Properties, no error); text that is not XML up
// to the end of Properties is an error.
func ReadProperties(doc string) (Properties, error) {
	var p Properties
	dec := xml.NewDecoder(strings.NewReader(doc))
	depth := 0
	inProps := false
	var child string // local name of the open Properties child we collect, "" for none
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return p, nil
		}
		if err != nil {
			return Properties{}, fmt.Errorf("metadata: properties: %w", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			depth++
			switch {
			case depth == 1:
				if tok.Name.Space != NamespaceUpdate || tok.Name.Local != "Update" {
					return Properties{}, fmt.Errorf("metadata: properties: root is {%s}%s, not upd:Update", tok.Name.Space, tok.Name.Local)
				}
			case depth == 2 && tok.Name.Space == NamespaceUpdate && tok.Name.Local == "Properties":
				inProps = true
				for _, a := range tok.Attr {
					if a.Name.Space == "" && a.Name.Local == "MsrcSeverity" {
						p.MsrcSeverity = strings.TrimSpace(a.Value)
					}
				}
			case depth == 3 && inProps && tok.Name.Space == NamespaceUpdate &&
				(tok.Name.Local == "CveID" || tok.Name.Local == "Language"):
				child = tok.Name.Local
				text.Reset()
			}
		case xml.CharData:
			if child != "" && depth == 3 {
				text.Write(tok)
			}
		case xml.EndElement:
			switch {
			case depth == 3 && child != "":
				if v := strings.TrimSpace(text.String()); v != "" {
					if child == "CveID" {
						p.CVEs = append(p.CVEs, v)
					} else {
						p.Languages = append(p.Languages, v)
					}
				}
				child = ""
			case depth == 2 && inProps:
				return p, nil
			}
			depth--
		}
	}
}
