package syncer

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/sync/wsusss"
)

// Category types of the categories a subscription names (Summary.CategoryType).
const (
	categoryProduct        = "Product"
	categoryProductFamily  = "ProductFamily"
	categoryClassification = "UpdateClassification"
)

// subscription is what one GetRevisionIdList for updates asks for.
type subscription struct {
	products, classifications []uuid.UUID
	// languages are short names; languageIDs their LCIDs, as the upstream
	// numbers them.
	languages   []string
	languageIDs []int32
}

// subscription returns the settings' subscription as category lists: "all"
// becomes every product or classification stored, so that the upstream
// always gets both lists (a real WSUS answers an unfiltered call with an
// anchor with nothing, MS-WSUSSS.md 2.2). It reports false when either
// list is empty: nothing would match.
func (r *runner) subscription() (subscription, bool) {
	s := r.settings
	sub := subscription{products: s.Products, classifications: s.Classifications}
	if s.AllProducts {
		sub.products = r.categoryIDs(categoryProduct)
	}
	if s.AllClassifications {
		sub.classifications = r.categoryIDs(categoryClassification)
	}
	for _, short := range s.Languages {
		for _, l := range r.state.Config.Languages {
			if strings.EqualFold(l.Short, short) {
				sub.languages = append(sub.languages, l.Short)
				sub.languageIDs = append(sub.languageIDs, l.ID)
			}
		}
	}
	return sub, len(sub.products) > 0 && len(sub.classifications) > 0
}

// filter returns the GetRevisionIdList filter of sub after state: Delta is
// true for the entries the update anchor already covered and false for
// those added since (MS-WSUSSS.md 2.2: the upstream then lists everything
// of a new entry, and only the changes of the others).
func (sub subscription) filter(state catalog.SyncState) wsusss.Filter {
	f := wsusss.Filter{Anchor: state.UpdateAnchor}
	anchored := state.UpdateAnchor != ""
	for _, id := range sub.products {
		f.Categories = append(f.Categories, wsusss.IDAndDelta{ID: id, Delta: anchored && slices.Contains(state.AnchoredProducts, id)})
	}
	for _, id := range sub.classifications {
		f.Classifications = append(f.Classifications, wsusss.IDAndDelta{ID: id, Delta: anchored && slices.Contains(state.AnchoredClassifications, id)})
	}
	for i, id := range sub.languageIDs {
		f.Languages = append(f.Languages, wsusss.LanguageAndDelta{ID: id, Delta: anchored && slices.Contains(state.AnchoredLanguages, sub.languages[i])})
	}
	return f
}

// categoryIDs returns the UpdateIDs of the stored categories of one type,
// each once, in catalog order.
func (r *runner) categoryIDs(categoryType string) []uuid.UUID {
	var out []uuid.UUID
	for _, c := range r.cats {
		if c.CategoryType == categoryType && !slices.Contains(out, c.UpdateID) {
			out = append(out, c.UpdateID)
		}
	}
	return out
}

// applySelection resolves sel against the stored categories and the
// upstream's languages, and saves it into the settings.
func (r *runner) applySelection(ctx context.Context, sel *Selection) error {
	s := r.settings
	var err error
	if sel.Products != nil {
		if s.AllProducts, s.Products, err = r.resolve(sel.Products, "product", categoryProduct, categoryProductFamily); err != nil {
			return err
		}
	}
	if sel.Classifications != nil {
		if s.AllClassifications, s.Classifications, err = r.resolve(sel.Classifications, "classification", categoryClassification); err != nil {
			return err
		}
	}
	if sel.Languages != nil {
		if s.Languages, err = r.resolveLanguages(sel.Languages); err != nil {
			return err
		}
	}
	if err := r.store.SetSyncSettings(ctx, s); err != nil {
		return fmt.Errorf("save the subscription: %w", err)
	}
	r.settings = s
	return nil
}

// resolve turns names (GUIDs, exact titles, or "all") into category
// UpdateIDs of the given types. A product family stands for its products
// (the categories whose prerequisites name it): updates name products.
func (r *runner) resolve(names []string, what string, types ...string) (all bool, ids []uuid.UUID, err error) {
	for _, name := range names {
		name = strings.TrimSpace(name)
		if strings.EqualFold(name, "all") {
			all = true
			continue
		}
		c, ok := r.findCategory(name, types)
		if !ok {
			return false, nil, fmt.Errorf("%s %q: the upstream offers no %s of that GUID or title (see wsusctl %ss)", what, name, what, what)
		}
		if c.CategoryType == categoryProductFamily {
			ids = appendNew(ids, r.childrenOf(c.UpdateID)...)
			continue
		}
		ids = appendNew(ids, c.UpdateID)
	}
	if all {
		ids = nil
	}
	return all, ids, nil
}

// findCategory finds a stored category of one of types by GUID or title:
// the exact title first, then one that differs in case only.
func (r *runner) findCategory(name string, types []string) (catalog.Summary, bool) {
	id, idErr := uuid.Parse(name)
	var folded *catalog.Summary
	for i := range r.cats {
		c := &r.cats[i]
		if !slices.Contains(types, c.CategoryType) {
			continue
		}
		switch {
		case idErr == nil && c.UpdateID == id, c.Title == name:
			return *c, true
		case folded == nil && strings.EqualFold(c.Title, name):
			folded = c
		}
	}
	if folded != nil {
		return *folded, true
	}
	return catalog.Summary{}, false
}

// childrenOf returns the products whose prerequisites name family.
func (r *runner) childrenOf(family uuid.UUID) []uuid.UUID {
	var out []uuid.UUID
	for _, c := range r.cats {
		if c.CategoryType != categoryProduct {
			continue
		}
		for _, cl := range c.Prerequisites {
			if slices.Contains(cl.UpdateIDs, family) {
				out = appendNew(out, c.UpdateID)
			}
		}
	}
	return out
}

func appendNew(ids []uuid.UUID, more ...uuid.UUID) []uuid.UUID {
	for _, id := range more {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids
}

// resolveLanguages checks names against the upstream's languages; "all"
// (or nothing) means every language.
func (r *runner) resolveLanguages(names []string) ([]string, error) {
	var out []string
	for _, name := range names {
		name = strings.TrimSpace(name)
		if strings.EqualFold(name, "all") {
			return nil, nil
		}
		found := false
		for _, l := range r.state.Config.Languages {
			if strings.EqualFold(l.Short, name) || strings.EqualFold(l.Long, name) {
				if !slices.Contains(out, l.Short) {
					out = append(out, l.Short)
				}
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("language %q: the upstream offers no such language", name)
		}
	}
	return out, nil
}
