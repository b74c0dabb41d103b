package catalog

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// This file resolves a synchronization subscription (SyncSettings: which
// products, classifications and languages) from names, for every writer of
// the settings: the admin API (PUT /api/v1/sync/settings, wsusctl) and
// `wsusd sync --product/--classification/--language`. They must agree, so
// the rules live here once. Callers may rely on them:
//
//   - A name is a category's UpdateID (a GUID), its exact title, or else
//     the one title that differs from it in case only. Two categories of
//     the kind with that title make the name ambiguous: it is refused, and
//     the GUID must be given. Space around a name is ignored.
//   - "all" (any case) anywhere in a list selects every category of the
//     kind; the other names of the list must still resolve.
//   - A product family stands for the products whose prerequisites name it
//     (updates name products, not families); a family without products
//     stored is refused, as it would subscribe nothing.
//   - A language is a short name ("en", "pt-br") or long name ("English")
//     the upstream offers (GetConfigData), answered as the short name.
//     Before the upstream's languages are known, any name shaped like a
//     language tag is accepted, lowered.
//
// A name that does not resolve is a *SelectionError.

// Category types (Summary.CategoryType) of the categories a subscription
// names.
const (
	CategoryProduct        = "Product"
	CategoryProductFamily  = "ProductFamily"
	CategoryClassification = "UpdateClassification"
)

// SelectionKind is what a list of names selects. Its value names the
// entries in messages and error codes.
type SelectionKind string

const (
	// SelectProducts selects products; a product family stands for its
	// products.
	SelectProducts SelectionKind = "product"
	// SelectClassifications selects update classifications.
	SelectClassifications SelectionKind = "classification"
)

// types returns the category types the kind's names may name.
func (k SelectionKind) types() []string {
	switch k {
	case SelectProducts:
		return []string{CategoryProduct, CategoryProductFamily}
	case SelectClassifications:
		return []string{CategoryClassification}
	}
	return nil
}

// SelectionError is why a name of a subscription does not resolve. Code
// is stable, for programs (the admin API answers it as its error code):
// "unknown_product", "ambiguous_product", "unknown_classification",
// "ambiguous_classification" or "unknown_language". Message names the
// entry and why, for a person. It matches ErrInvalid with errors.Is: the
// same names fail the same way until the stored categories or the
// upstream's languages change.
type SelectionError struct {
	Code    string
	Message string
}

func (e *SelectionError) Error() string { return e.Message }

// Is reports whether target is ErrInvalid.
func (e *SelectionError) Is(target error) bool { return target == ErrInvalid }

func selectionError(code, format string, args ...any) *SelectionError {
	return &SelectionError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Categories indexes the categories a subscription names: the newest
// revision of each stored Product, ProductFamily and UpdateClassification.
// It does not change once built. The zero value is an empty index.
type Categories struct {
	byID map[uuid.UUID]Summary
	// sorted are the same in title order (compareTitles, then UpdateID).
	sorted []Summary
	// families are the product families each product's prerequisites
	// name, and children the products of each family, in title order.
	families map[uuid.UUID][]Summary
	children map[uuid.UUID][]uuid.UUID
}

// IndexCategories picks the products, product families and
// classifications out of sums (any revisions, of any type), the newest
// revision of each.
func IndexCategories(sums []Summary) Categories {
	c := Categories{byID: map[uuid.UUID]Summary{}, families: map[uuid.UUID][]Summary{}, children: map[uuid.UUID][]uuid.UUID{}}
	for _, s := range sums {
		if s.Type != TypeCategory {
			continue
		}
		switch s.CategoryType {
		case CategoryProduct, CategoryProductFamily, CategoryClassification:
		default:
			continue
		}
		if old, ok := c.byID[s.UpdateID]; !ok || s.RevisionNumber > old.RevisionNumber {
			c.byID[s.UpdateID] = s
		}
	}
	for _, s := range c.byID {
		c.sorted = append(c.sorted, s)
	}
	slices.SortFunc(c.sorted, compareCategories)
	for _, p := range c.sorted {
		if p.CategoryType != CategoryProduct {
			continue
		}
		var fams []Summary
		for _, cl := range p.Prerequisites {
			for _, id := range cl.UpdateIDs {
				f, ok := c.byID[id]
				if ok && f.CategoryType == CategoryProductFamily &&
					!slices.ContainsFunc(fams, func(s Summary) bool { return s.UpdateID == id }) {
					fams = append(fams, f)
				}
			}
		}
		slices.SortFunc(fams, compareCategories)
		for _, f := range fams {
			c.children[f.UpdateID] = append(c.children[f.UpdateID], p.UpdateID)
		}
		if len(fams) > 0 {
			c.families[p.UpdateID] = fams
		}
	}
	return c
}

// compareTitles orders titles case-insensitively, then exactly.
func compareTitles(a, b string) int {
	if c := strings.Compare(strings.ToLower(a), strings.ToLower(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

// compareCategories orders categories by title, then UpdateID.
func compareCategories(a, b Summary) int {
	if c := compareTitles(a.Title, b.Title); c != 0 {
		return c
	}
	return strings.Compare(a.UpdateID.String(), b.UpdateID.String())
}

// Category returns the indexed category of UpdateID id.
func (c Categories) Category(id uuid.UUID) (Summary, bool) {
	s, ok := c.byID[id]
	return s, ok
}

// List returns the indexed categories ordered by title (case-insensitive,
// then exact), then UpdateID.
func (c Categories) List() []Summary { return slices.Clone(c.sorted) }

// IDs returns the UpdateIDs of the indexed categories of one type (a
// Category constant), in title order.
func (c Categories) IDs(categoryType string) []uuid.UUID {
	var out []uuid.UUID
	for _, s := range c.sorted {
		if s.CategoryType == categoryType {
			out = append(out, s.UpdateID)
		}
	}
	return out
}

// Families returns the product families the prerequisites of a product
// name, in title order.
func (c Categories) Families(product uuid.UUID) []Summary {
	return slices.Clone(c.families[product])
}

// Children returns the UpdateIDs of the products whose prerequisites name
// a product family, in title order.
func (c Categories) Children(family uuid.UUID) []uuid.UUID {
	return slices.Clone(c.children[family])
}

// Resolve turns names (GUIDs, titles, or "all") into the UpdateIDs of
// indexed categories of kind, each once, in the order named (a family's
// products in title order). all reports an "all" entry; ids is then nil.
// A name that does not resolve fails with a *SelectionError.
func (c Categories) Resolve(names []string, kind SelectionKind) (all bool, ids []uuid.UUID, err error) {
	for _, name := range names {
		name = strings.TrimSpace(name)
		if strings.EqualFold(name, "all") {
			all = true
			continue
		}
		s, err := c.find(name, kind)
		if err != nil {
			return false, nil, err
		}
		more := []uuid.UUID{s.UpdateID}
		if s.CategoryType == CategoryProductFamily {
			if more = c.children[s.UpdateID]; len(more) == 0 {
				return false, nil, selectionError("unknown_"+string(kind),
					"%s %q is a product family without products here: nothing to subscribe", kind, name)
			}
		}
		for _, id := range more {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	if all {
		return true, nil, nil
	}
	return false, ids, nil
}

// find returns the one indexed category of kind that name (a GUID or a
// title, trimmed) names.
func (c Categories) find(name string, kind SelectionKind) (Summary, error) {
	unknown := "unknown_" + string(kind)
	if name == "" {
		return Summary{}, selectionError(unknown, "an empty %s entry: give a GUID, a title or \"all\"", kind)
	}
	types := kind.types()
	notOffered := func() (Summary, error) {
		return Summary{}, selectionError(unknown, "%s %q: the upstream offers no %s of that GUID or title (see GET /api/v1/%ss, wsusctl %ss)",
			kind, name, kind, kind, kind)
	}
	if id, err := uuid.Parse(name); err == nil {
		if s, ok := c.byID[id]; ok && slices.Contains(types, s.CategoryType) {
			return s, nil
		}
		return notOffered()
	}
	for _, match := range []func(string) bool{
		func(t string) bool { return t == name },
		func(t string) bool { return strings.EqualFold(t, name) },
	} {
		var found []Summary
		for _, s := range c.sorted {
			if slices.Contains(types, s.CategoryType) && match(s.Title) {
				found = append(found, s)
			}
		}
		switch len(found) {
		case 0:
			continue
		case 1:
			return found[0], nil
		}
		ids := make([]string, len(found))
		for i, s := range found {
			ids[i] = s.UpdateID.String()
		}
		return Summary{}, selectionError("ambiguous_"+string(kind), "%s %q: %d categories have that title (%s); give the GUID",
			kind, name, len(found), strings.Join(ids, ", "))
	}
	return notOffered()
}

// languageTag is what a short language name looks like ("en", "pt-br",
// "zh-hk", "sr-latn-rs").
var languageTag = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$`)

// ResolveLanguages turns names into the short names of languages the
// upstream offers (its short or long names, any case), each once, in the
// order named; with no offered languages (none known yet), into the names
// lowered, each of which must look like a language tag. "all" or no names
// mean all languages (nil). A name that does not resolve fails with a
// *SelectionError of code "unknown_language".
func ResolveLanguages(names []string, offered []UpstreamLanguage) ([]string, error) {
	var out []string
	for _, name := range names {
		name = strings.TrimSpace(name)
		if strings.EqualFold(name, "all") {
			return nil, nil
		}
		short := ""
		if len(offered) == 0 {
			if !languageTag.MatchString(name) {
				return nil, selectionError("unknown_language", "language %q is not a language name such as en, de or pt-br", name)
			}
			short = strings.ToLower(name)
		}
		for _, l := range offered {
			if strings.EqualFold(l.Short, name) || (l.Long != "" && strings.EqualFold(l.Long, name)) {
				short = l.Short
				break
			}
		}
		if short == "" {
			shorts := make([]string, len(offered))
			for i, l := range offered {
				shorts[i] = l.Short
			}
			return nil, selectionError("unknown_language", "language %q: the upstream offers no such language; it offers %s", name, strings.Join(shorts, ", "))
		}
		if !slices.Contains(out, short) {
			out = append(out, short)
		}
	}
	return out, nil
}
