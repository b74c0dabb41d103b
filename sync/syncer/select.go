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
	if s.AllProducts || s.AllClassifications {
		cats := catalog.IndexCategories(r.cats)
		if s.AllProducts {
			sub.products = cats.IDs(catalog.CategoryProduct)
		}
		if s.AllClassifications {
			sub.classifications = cats.IDs(catalog.CategoryClassification)
		}
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

// applySelection resolves sel against the stored categories and the
// upstream's languages (catalog.Categories.Resolve and
// catalog.ResolveLanguages, the rules the admin API applies too), and
// saves it into the settings. A name that does not resolve fails with a
// *catalog.SelectionError, which matches catalog.ErrInvalid.
func (r *runner) applySelection(ctx context.Context, sel *Selection) error {
	s := r.settings
	cats := catalog.IndexCategories(r.cats)
	var err error
	if sel.Products != nil {
		if s.AllProducts, s.Products, err = cats.Resolve(sel.Products, catalog.SelectProducts); err != nil {
			return err
		}
	}
	if sel.Classifications != nil {
		if s.AllClassifications, s.Classifications, err = cats.Resolve(sel.Classifications, catalog.SelectClassifications); err != nil {
			return err
		}
	}
	if sel.Languages != nil {
		if s.Languages, err = catalog.ResolveLanguages(sel.Languages, r.state.Config.Languages); err != nil {
			return err
		}
	}
	if err := r.store.SetSyncSettings(ctx, s); err != nil {
		return fmt.Errorf("save the subscription: %w", err)
	}
	r.settings = s
	return nil
}
