package metadata

import (
	"strings"

	"github.com/beevik/etree"
)

// Fragment derivation (MS-WUSP 3.1.1.1 plus what a real WSUS does).
//
// Observed on a Windows Server 2025 WSUS (captures in testdata/metadata, see
// its README), and reproduced byte for byte by this file:
//   - Core = UpdateIdentity + Properties (only UpdateType, ExplicitlyDeployable,
//     AutoSelectOnWebSites, OSUpgrade, EulaID kept, in that order; no children)
//     + Relationships (when present, SupersededUpdates included) +
//     ApplicabilityRules (when present), concatenated in that order.
//   - Extended = Properties renamed ExtendedProperties, minus the attributes in
//     extendedDropped, + Files + HandlerSpecificData (each when present).
//   - LocalizedProperties = each LocalizedPropertiesCollection/LocalizedProperties.
//   - Eula = each LocalizedPropertiesCollection/EulaFile.
//   - Every element loses its namespace prefix; elements of the
//     BaseApplicabilityRules, MsiApplicabilityRules and WindowsDriver
//     namespaces are renamed b.X, m.X and d.X; namespace declarations are
//     dropped; attributes keep their local name only (so xsi:type becomes
//     type, its value "cmd:CommandLineInstallation" kept as is).
//   - Properties attributes with their default value are dropped
//     (ExplicitlyDeployable="false", PerUser="false", IsPublic="true" seen).
//   - Empty elements are written <X a="v" /> (space before the slash), also
//     when the source wrote <X></X>; attributes in double quotes, in source
//     order.
//   - Elements outside the update-schema namespace family (CBS manifests:
//     <assembly xmlns="urn:schemas-microsoft-com:asm.v3">) keep their default
//     namespace declaration (seen in the CBS Core fragments).
//
// Unverified choices (no real sample shows them) are marked where they are made.

// derived holds the fragments of one revision.
type derived struct {
	core      string
	extended  string
	localized map[string]string
	eulas     map[string]string
}

// deriveFragments builds every fragment of an upd:Update root.
func deriveFragments(root *etree.Element) derived {
	var d derived

	var w fragmentWriter
	identity := updChild(root, "UpdateIdentity")
	props := updChild(root, "Properties")
	w.element(identity, "")
	w.coreProperties(props)
	if rel := updChild(root, "Relationships"); rel != nil {
		w.element(rel, "")
	}
	if rules := updChild(root, "ApplicabilityRules"); rules != nil {
		w.element(rules, "")
	}
	d.core = w.String()

	w.Reset()
	w.extendedProperties(props)
	if files := updChild(root, "Files"); files != nil {
		w.element(files, "")
	}
	if hsd := updChild(root, "HandlerSpecificData"); hsd != nil {
		w.element(hsd, "")
	}
	d.extended = w.String()

	if coll := updChild(root, "LocalizedPropertiesCollection"); coll != nil {
		for _, lp := range updChildren(coll, "LocalizedProperties") {
			lang := strings.ToLower(localizedLanguage(lp))
			if lang == "" {
				continue
			}
			if _, dup := d.localized[lang]; dup {
				continue // first one wins
			}
			w.Reset()
			w.element(lp, "")
			if d.localized == nil {
				d.localized = make(map[string]string)
			}
			d.localized[lang] = w.String()
		}
		// Several EulaFile of one language differ by GeoId (MS-WUSP note
		// <43>); the model keys by language only, so the "rest of world"
		// one (no GeoId) is preferred, else the first.
		hasGeo := make(map[string]bool)
		for _, eula := range updChildren(coll, "EulaFile") {
			lang := strings.ToLower(strings.TrimSpace(eula.SelectAttrValue("Language", "")))
			if lang == "" {
				continue
			}
			geo := eula.SelectAttrValue("GeoId", "") != ""
			if _, dup := d.eulas[lang]; dup && (geo || !hasGeo[lang]) {
				continue
			}
			w.Reset()
			w.element(eula, "")
			if d.eulas == nil {
				d.eulas = make(map[string]string)
			}
			d.eulas[lang] = w.String()
			hasGeo[lang] = geo
		}
	}
	return d
}

// defaultValued reports whether a Properties attribute carries its default
// value and is therefore left out of every fragment. Observed:
// ExplicitlyDeployable="false", PerUser="false", IsPublic="true".
// AutoSelectOnWebSites="false" and OSUpgrade="false" are unverified (same
// schema default, never seen in a capture).
func defaultValued(name, value string) bool {
	switch name {
	case "ExplicitlyDeployable", "PerUser", "AutoSelectOnWebSites", "OSUpgrade":
		return value == "false"
	case "IsPublic":
		return value == "true"
	}
	return false
}

// extendedDropped reports whether a Properties attribute is left out of the
// Extended fragment (MS-WUSP 3.1.1.1 list; observed for the ones present in
// the captured documents). PerUser="true" is kept (unverified: Microsoft's
// sample server drops PerUser whatever its value, WSUS was only seen dropping
// its default "false").
func extendedDropped(name string) bool {
	switch name {
	case "UpdateType", "ExplicitlyDeployable", "AutoSelectOnWebSites", "EulaID",
		"PublicationState", "PublisherID", "CreationDate", "IsPublic",
		"LegacyName", "DetectoidType", "OSUpgrade":
		return true
	}
	return false
}

// isNamespaceDecl reports whether a is an xmlns or xmlns:p attribute.
func isNamespaceDecl(a etree.Attr) bool {
	return a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns")
}

// fragmentName returns the fragment name of an element in namespace ns, and
// whether the namespace is foreign (outside the update schema family, its
// declaration kept).
func fragmentName(ns, local string) (name string, foreign bool) {
	switch ns {
	case nsBaseApplicability:
		return "b." + local, false
	case nsMsiApplicability:
		return "m." + local, false
	case nsWindowsDriver:
		return "d." + local, false
	case "":
		return local, false
	}
	return local, !strings.HasPrefix(ns, nsUpdateSchemaPrefix)
}

// fragmentWriter serializes elements in the WSUS fragment form.
type fragmentWriter struct {
	strings.Builder
}

// element writes e and its subtree (whose Space holds the namespace URI,
// see resolveNamespaces); outDefault is the default namespace the output
// declared so far.
func (w *fragmentWriter) element(e *etree.Element, outDefault string) {
	ns := e.Space
	name, foreign := fragmentName(ns, e.Tag)
	w.WriteByte('<')
	w.WriteString(name)
	declared := false
	for _, a := range e.Attr {
		if isNamespaceDecl(a) {
			// Keep a foreign element's own default namespace declaration,
			// where the source wrote it.
			if foreign && a.Space == "" && a.Value == ns && ns != outDefault {
				w.attr("xmlns", a.Value)
				declared = true
			}
			continue
		}
		w.attr(a.Key, a.Value)
	}
	if foreign && ns != outDefault {
		// Unverified: a foreign element reached through a prefix gets the
		// declaration appended; only default-namespace ones were seen.
		if !declared {
			w.attr("xmlns", ns)
		}
		outDefault = ns
	}
	w.content(e, name, outDefault)
}

// content writes the children of e and the end of its tag: " />" when it has
// none. Text that is only whitespace is dropped (it is formatting; the real
// documents have none); comments and processing instructions are dropped
// (unverified; update metadata carries none).
func (w *fragmentWriter) content(e *etree.Element, name string, outDefault string) {
	open := false
	for _, t := range e.Child {
		switch c := t.(type) {
		case *etree.Element:
			if !open {
				w.WriteByte('>')
				open = true
			}
			w.element(c, outDefault)
		case *etree.CharData:
			if c.IsWhitespace() {
				continue
			}
			if !open {
				w.WriteByte('>')
				open = true
			}
			w.text(c.Data)
		}
	}
	if !open {
		w.WriteString(" />")
		return
	}
	w.WriteString("</")
	w.WriteString(name)
	w.WriteByte('>')
}

// coreProperties writes the Core Properties element: the kept attributes in
// the order WSUS writes them, no children. The order of the first three is
// observed; OSUpgrade and EulaID follow the MS-WUSP list order (unverified).
func (w *fragmentWriter) coreProperties(props *etree.Element) {
	w.WriteString("<Properties")
	for _, name := range [...]string{"UpdateType", "ExplicitlyDeployable", "AutoSelectOnWebSites", "OSUpgrade", "EulaID"} {
		for _, a := range props.Attr {
			if a.Key == name && !isNamespaceDecl(a) {
				if !defaultValued(a.Key, a.Value) {
					w.attr(a.Key, a.Value)
				}
				break
			}
		}
	}
	w.WriteString(" />")
}

// extendedProperties writes Properties renamed ExtendedProperties, without the
// attributes the Extended fragment drops, with all its children.
func (w *fragmentWriter) extendedProperties(props *etree.Element) {
	w.WriteString("<ExtendedProperties")
	for _, a := range props.Attr {
		if isNamespaceDecl(a) || extendedDropped(a.Key) || defaultValued(a.Key, a.Value) {
			continue
		}
		w.attr(a.Key, a.Value)
	}
	w.content(props, "ExtendedProperties", "")
}

// attr writes ` name="value"`.
func (w *fragmentWriter) attr(name, value string) {
	w.WriteByte(' ')
	w.WriteString(name)
	w.WriteString(`="`)
	w.escape(value, true)
	w.WriteByte('"')
}

// text writes escaped character data.
func (w *fragmentWriter) text(s string) {
	w.escape(s, false)
}

// escape writes s with the XML escaping of .NET's XmlWriter, which WSUS is
// assumed to use: &, < and > always; in attribute values also " and the
// whitespace characters tab, LF and CR (as &#x9; &#xA; &#xD;, which keeps
// them through attribute-value normalization); CR in text as &#xD;. ' is
// never escaped. Unverified: no captured fragment holds any of these
// characters (the samples only show that backslashes, /, ?, =, +, {, } and
// spaces are written verbatim).
func (w *fragmentWriter) escape(s string, inAttr bool) {
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
			if !inAttr {
				continue
			}
			rep = "&quot;"
		case '\t':
			if !inAttr {
				continue
			}
			rep = "&#x9;"
		case '\n':
			if !inAttr {
				continue
			}
			rep = "&#xA;"
		case '\r':
			rep = "&#xD;"
		default:
			continue
		}
		w.WriteString(s[last:i])
		w.WriteString(rep)
		last = i + 1
	}
	w.WriteString(s[last:])
}
