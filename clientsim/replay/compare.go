package replay

import (
	"crypto/sha256"
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/beevik/etree"
)

// Difference is one structural or value difference between a recorded and
// an actual SOAP body.
type Difference struct {
	// Path locates the element, e.g.
	// /Envelope/Body/SyncUpdatesResponse/SyncUpdatesResult/NewUpdates/UpdateInfo[2]/IsLeaf
	// (local names; [n] counts same-named siblings from 1 when there are several).
	Path string
	// Message says what differs, e.g. "expected element X, got Y".
	Message string
}

// String formats the difference as "path: message".
func (d Difference) String() string { return d.Path + ": " + d.Message }

// ignoredValues are elements whose text legitimately differs between servers:
// cookie data and expiry, times, server-assigned ids.
var ignoredValues = map[string]bool{
	"CookieData": true, "EncryptedData": true, "Expiration": true,
	"LastChange": true, "LastChangeTime": true, "ID": true,
}

// revisionLists are the ArrayOfInt elements that hold server revision ids.
var revisionLists = map[string]bool{
	"InstalledNonLeafUpdateIDs": true, "OtherCachedUpdateIDs": true, "CachedDriverIDs": true,
	"revisionIDs": true, "OutOfScopeRevisionIDs": true, "DeployedOutOfScopeRevisionIds": true,
}

// lcsLimit bounds the child-alignment table (expected × actual unmatched children).
const lcsLimit = 1 << 20

// Comparer compares SOAP bodies structurally. RevisionIDs maps recorded
// revision ids to the ids the server under test assigned; nil means no
// mapping is known.
type Comparer struct {
	RevisionIDs map[int]int
}

// Compare compares bodies with no revision-id mapping. See Comparer.Compare.
func Compare(expected, actual []byte) []Difference {
	return Comparer{}.Compare(expected, actual)
}

// Compare returns the differences between the recorded body expected and the
// actual body, following the rules of the package documentation. It returns
// nil when the bodies are equivalent.
func (c Comparer) Compare(expected, actual []byte) []Difference {
	ed, err := parse(expected)
	if err != nil {
		return []Difference{{"/", "recorded body: " + err.Error()}}
	}
	ad, err := parse(actual)
	if err != nil {
		return []Difference{{"/", "actual body: " + err.Error()}}
	}
	w := &walker{revisions: c.RevisionIDs, sigs: map[*etree.Element]string{}, expected: map[*etree.Element]bool{}}
	for _, e := range append([]*etree.Element{ed.Root()}, ed.Root().FindElements(".//*")...) {
		w.expected[e] = true
	}
	w.element(ed.Root(), ad.Root(), "/"+ed.Root().Tag)
	return w.diffs
}

func parse(b []byte) (*etree.Document, error) {
	doc := etree.NewDocument()
	doc.ReadSettings.ValidateInput = true
	if err := doc.ReadFromBytes(b); err != nil {
		return nil, fmt.Errorf("not XML: %v", err)
	}
	if doc.Root() == nil {
		return nil, fmt.Errorf("no root element")
	}
	return doc, nil
}

// walker compares two trees and collects the differences.
type walker struct {
	revisions map[int]int
	expected  map[*etree.Element]bool   // elements of the recorded tree
	sigs      map[*etree.Element]string // memoized subtree signatures
	diffs     []Difference
}

// qname is an element's resolved name.
func qname(e *etree.Element) string { return "{" + e.NamespaceURI() + "}" + e.Tag }

// name formats a resolved name for messages: the local name, with the
// namespace when other differs only in namespace.
func name(e, other *etree.Element) string {
	if other != nil && e.Tag == other.Tag {
		return qname(e)
	}
	return e.Tag
}

func (w *walker) element(e, a *etree.Element, p string) {
	if qname(e) != qname(a) {
		w.diffs = append(w.diffs, Difference{p, fmt.Sprintf("expected element %s, got %s", name(e, a), name(a, e))})
		return
	}
	w.attributes(e, a, p)
	ec, ac := e.ChildElements(), a.ChildElements()
	if len(ec) == 0 && len(ac) == 0 {
		w.text(e, a, p)
		return
	}
	w.childList(ec, ac, p)
}

// attrSet returns the attributes of e by resolved name, without namespace declarations.
func attrSet(e *etree.Element) map[string]string {
	m := map[string]string{}
	for _, at := range e.Attr {
		if at.Space == "xmlns" || (at.Space == "" && at.Key == "xmlns") {
			continue
		}
		m["{"+at.NamespaceURI()+"}"+at.Key] = at.Value
	}
	return m
}

// attributes compares the attribute sets.
func (w *walker) attributes(e, a *etree.Element, p string) {
	es, as := attrSet(e), attrSet(a)
	var keys []string
	for k := range es {
		keys = append(keys, k)
	}
	for k := range as {
		if _, ok := es[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		ev, eok := es[k]
		av, aok := as[k]
		short := strings.TrimPrefix(k, "{}")
		switch {
		case !aok:
			w.diffs = append(w.diffs, Difference{p, fmt.Sprintf("missing attribute %s", short)})
		case !eok:
			w.diffs = append(w.diffs, Difference{p, fmt.Sprintf("unexpected attribute %s=%q", short, av)})
		case ev != av:
			w.diffs = append(w.diffs, Difference{p, fmt.Sprintf("attribute %s: expected %q, got %q", short, ev, av)})
		}
	}
}

// valueRule says how the text of a leaf element is compared.
type valueRule int

const (
	exact    valueRule = iota
	ignored            // legitimately differs between servers
	pathOnly           // a URL: only its path is compared
	revision           // a server revision id: compared through the mapping
)

// rule returns the comparison rule for leaf element e (see the package doc).
func rule(e *etree.Element) valueRule {
	parent := e.Parent()
	switch {
	case ignoredValues[e.Tag]:
		return ignored
	case e.Tag == "Message" && parent != nil && parent.Tag == "detail":
		return ignored // fault message text is server prose; ErrorCode is compared
	case e.Tag == "Value" && parent != nil && parent.Tag == "ConfigurationProperty" &&
		parent.SelectElement("Name") != nil && parent.SelectElement("Name").Text() == "PackageServerShare":
		return ignored // \\<server>\UpdateServicesPackages
	case strings.HasSuffix(e.Tag, "Url"):
		return pathOnly
	case e.Tag == "RevisionID" || (e.Tag == "int" && parent != nil && revisionLists[parent.Tag]):
		return revision
	}
	return exact
}

// text compares the values of two leaf elements.
func (w *walker) text(e, a *etree.Element, p string) {
	ev, av := e.Text(), a.Text()
	switch rule(e) {
	case ignored:
	case pathOnly:
		if ep, ap := urlPath(ev), urlPath(av); ep != ap {
			w.diffs = append(w.diffs, Difference{p, fmt.Sprintf("URL path: expected %q, got %q", ep, ap)})
		}
	case revision:
		w.revision(ev, av, p)
	default:
		if ev != av {
			w.diffs = append(w.diffs, Difference{p, textDiff(ev, av)})
		}
	}
}

// revision compares a server revision id through the learned mapping; an id
// the mapping does not know cannot be checked and is accepted.
func (w *walker) revision(ev, av, p string) {
	rec, err1 := strconv.Atoi(strings.TrimSpace(ev))
	got, err2 := strconv.Atoi(strings.TrimSpace(av))
	if err1 != nil || err2 != nil {
		if ev != av {
			w.diffs = append(w.diffs, Difference{p, textDiff(ev, av)})
		}
		return
	}
	if want, ok := w.revisions[rec]; ok && want != got {
		w.diffs = append(w.diffs, Difference{p, fmt.Sprintf("expected revision %d (recorded %d), got %d", want, rec, got)})
	}
}

// urlPath returns the path of an absolute or relative URL (the text itself
// when it does not parse).
func urlPath(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return s
	}
	return strings.TrimPrefix(u.Path, "/")
}

// textDiff describes two different texts; long texts (Xml fragments) are
// shown around their first difference.
func textDiff(ev, av string) string {
	const width = 60
	if len(ev) <= 2*width && len(av) <= 2*width {
		return fmt.Sprintf("expected %q, got %q", ev, av)
	}
	i := 0
	for i < len(ev) && i < len(av) && ev[i] == av[i] {
		i++
	}
	start := max(0, i-width/2)
	cut := func(s string) string {
		end := min(len(s), start+width)
		out := strconv.Quote(s[min(start, len(s)):end])
		if start > 0 {
			out = "…" + out
		}
		if end < len(s) {
			out += "…"
		}
		return out
	}
	return fmt.Sprintf("expected %s, got %s (first difference at byte %d)", cut(ev), cut(av), i)
}

// signature summarizes a subtree under the comparison rules: two subtrees
// with equal signatures compare without differences (the converse need not
// hold for unmapped revision ids). It only steers child alignment.
func (w *walker) signature(e *etree.Element) string {
	if s, ok := w.sigs[e]; ok {
		return s
	}
	h := sha256.New()
	io.WriteString(h, qname(e))
	attrs := attrSet(e)
	keys := slices.Sorted(maps.Keys(attrs))
	for _, k := range keys {
		fmt.Fprintf(h, " %s=%q", k, attrs[k])
	}
	kids := e.ChildElements()
	if len(kids) == 0 {
		v := e.Text()
		switch rule(e) {
		case ignored:
			v = ""
		case pathOnly:
			v = urlPath(v)
		case revision:
			if w.expected[e] {
				if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
					if m, ok := w.revisions[n]; ok {
						v = strconv.Itoa(m)
					} else {
						v = "\x00unmapped" // matches nothing: aligned by name instead
					}
				}
			}
		}
		fmt.Fprintf(h, "=%q", v)
	}
	for _, k := range kids {
		io.WriteString(h, w.signature(k))
	}
	s := string(h.Sum(nil))
	w.sigs[e] = s
	return s
}

// childList aligns two child lists, first by equivalent subtrees, then
// within the gaps by name, recurses into name-aligned pairs and reports the
// rest as missing, unexpected or replaced elements.
func (w *walker) childList(ec, ac []*etree.Element, p string) {
	ePaths, aPaths := childPaths(ec, p), childPaths(ac, p)
	key := func(f func(*etree.Element) string, els []*etree.Element) []string {
		out := make([]string, len(els))
		for i, e := range els {
			out[i] = f(e)
		}
		return out
	}
	same := lcs(key(w.signature, ec), key(w.signature, ac))
	ei, ai := 0, 0
	gap := func(eEnd, aEnd int) {
		byName := lcs(key(qname, ec[ei:eEnd]), key(qname, ac[ai:aEnd]))
		ge, ga := ei, ai
		flush := func(eStop, aStop int) {
			for ; ge < eStop && ga < aStop; ge, ga = ge+1, ga+1 {
				w.element(ec[ge], ac[ga], ePaths[ge]) // reports the replaced element
			}
			for ; ge < eStop; ge++ {
				w.diffs = append(w.diffs, Difference{ePaths[ge], "missing element " + ec[ge].Tag})
			}
			for ; ga < aStop; ga++ {
				w.diffs = append(w.diffs, Difference{aPaths[ga], "unexpected element " + ac[ga].Tag})
			}
		}
		for _, pr := range byName {
			flush(ei+pr[0], ai+pr[1])
			w.element(ec[ge], ac[ga], ePaths[ge])
			ge, ga = ge+1, ga+1
		}
		flush(eEnd, aEnd)
	}
	for _, pr := range same {
		gap(pr[0], pr[1])
		ei, ai = pr[0]+1, pr[1]+1
	}
	gap(len(ec), len(ac))
}

// lcs returns the index pairs of a longest common subsequence of a and b,
// in order. The common prefix and suffix are matched directly; when the
// middle exceeds lcsLimit cells it is left unmatched.
func lcs(a, b []string) [][2]int {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	var out [][2]int
	for i := range pre {
		out = append(out, [2]int{i, i})
	}
	ma, mb := a[pre:len(a)-suf], b[pre:len(b)-suf]
	if n, m := len(ma), len(mb); n > 0 && m > 0 && n*m <= lcsLimit {
		// l[i][j] = LCS length of ma[i:], mb[j:].
		l := make([][]int32, n+1)
		for i := range l {
			l[i] = make([]int32, m+1)
		}
		for i := n - 1; i >= 0; i-- {
			for j := m - 1; j >= 0; j-- {
				if ma[i] == mb[j] {
					l[i][j] = l[i+1][j+1] + 1
				} else {
					l[i][j] = max(l[i+1][j], l[i][j+1])
				}
			}
		}
		for i, j := 0, 0; i < n && j < m; {
			switch {
			case ma[i] == mb[j]:
				out = append(out, [2]int{pre + i, pre + j})
				i++
				j++
			case l[i+1][j] >= l[i][j+1]:
				i++
			default:
				j++
			}
		}
	}
	for i := suf; i > 0; i-- {
		out = append(out, [2]int{len(a) - i, len(b) - i})
	}
	return out
}

// childPaths returns the path of each child: parent/name, with [n] when the
// parent has several children of that name.
func childPaths(children []*etree.Element, parent string) []string {
	count := map[string]int{}
	for _, c := range children {
		count[c.Tag]++
	}
	seen := map[string]int{}
	out := make([]string, len(children))
	for i, c := range children {
		seen[c.Tag]++
		out[i] = parent + "/" + c.Tag
		if count[c.Tag] > 1 {
			out[i] += "[" + strconv.Itoa(seen[c.Tag]) + "]"
		}
	}
	return out
}
