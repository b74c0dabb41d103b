package syncer

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/google/uuid"

	"wsus/catalog"
)

// settingsStore records the settings a run saves; a run of these tests
// calls nothing else.
type settingsStore struct {
	Store
	saved []catalog.SyncSettings
}

func (s *settingsStore) SetSyncSettings(_ context.Context, settings catalog.SyncSettings) error {
	s.saved = append(s.saved, settings)
	return nil
}

// TestSelection checks that `wsusd sync --product/--classification/
// --language` resolves names by catalog's rules (those of the admin API)
// and that "all" becomes every product and classification stored.
func TestSelection(t *testing.T) {
	id := func(n byte) uuid.UUID { return uuid.UUID{15: n} }
	category := func(n byte, categoryType, title string, family ...uuid.UUID) catalog.Summary {
		s := catalog.Summary{Identity: catalog.Identity{UpdateID: id(n), RevisionNumber: 1}, Type: catalog.TypeCategory,
			CategoryType: categoryType, Title: title}
		for _, f := range family {
			s.Prerequisites = append(s.Prerequisites, catalog.PrerequisiteClause{UpdateIDs: []uuid.UUID{f}})
		}
		return s
	}
	cats := []catalog.Summary{
		category(1, catalog.CategoryProductFamily, "Windows"),
		category(2, catalog.CategoryProduct, "Windows 11", id(1)),
		category(3, catalog.CategoryProduct, "Windows 10", id(1)),
		category(4, catalog.CategoryProduct, "Tools"),
		category(5, catalog.CategoryProduct, "Tools"),
		category(6, catalog.CategoryClassification, "Security Updates"),
		category(7, catalog.CategoryProductFamily, "Empty"),
	}
	languages := []catalog.UpstreamLanguage{{ID: 1033, Short: "en", Long: "English"}, {ID: 1031, Short: "de", Long: "German"}}

	tests := []struct {
		name string
		sel  Selection
		want catalog.SyncSettings
		// products and classifications are the subscription's lists.
		products, classifications []uuid.UUID
		code                      string // of the SelectionError, when sel does not resolve
	}{
		{name: "family and title", sel: Selection{Products: []string{"Windows"}, Classifications: []string{"security updates"}, Languages: []string{"German"}},
			want:     catalog.SyncSettings{Products: []uuid.UUID{id(3), id(2)}, Classifications: []uuid.UUID{id(6)}, Languages: []string{"de"}},
			products: []uuid.UUID{id(3), id(2)}, classifications: []uuid.UUID{id(6)}},
		{name: "all", sel: Selection{Products: []string{"all"}, Classifications: []string{"All"}},
			want:     catalog.SyncSettings{AllProducts: true, AllClassifications: true},
			products: []uuid.UUID{id(4), id(5), id(3), id(2)}, classifications: []uuid.UUID{id(6)}},
		{name: "ambiguous title", sel: Selection{Products: []string{"Tools"}}, code: "ambiguous_product"},
		{name: "family without products", sel: Selection{Products: []string{"Empty"}}, code: "unknown_product"},
		{name: "unknown classification", sel: Selection{Classifications: []string{"Drivers"}}, code: "unknown_classification"},
		{name: "unknown language", sel: Selection{Languages: []string{"fr"}}, code: "unknown_language"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &settingsStore{}
			r := &runner{store: store, cats: cats, state: catalog.SyncState{Config: catalog.UpstreamConfig{Languages: languages}}}
			err := r.applySelection(context.Background(), &tt.sel)
			if tt.code != "" {
				var se *catalog.SelectionError
				if !errors.As(err, &se) || se.Code != tt.code || !errors.Is(err, catalog.ErrInvalid) {
					t.Fatalf("applySelection: %v, want a SelectionError %s matching ErrInvalid", err, tt.code)
				}
				if len(store.saved) != 0 {
					t.Errorf("settings saved: %+v", store.saved)
				}
				return
			}
			if err != nil {
				t.Fatalf("applySelection: %v", err)
			}
			if len(store.saved) != 1 || !equalSettings(store.saved[0], tt.want) || !equalSettings(r.settings, tt.want) {
				t.Fatalf("saved %+v, runner's %+v; want %+v", store.saved, r.settings, tt.want)
			}
			sub, ok := r.subscription()
			if !ok || !slices.Equal(sub.products, tt.products) || !slices.Equal(sub.classifications, tt.classifications) {
				t.Errorf("subscription %v, %v (%v); want %v, %v", sub.products, sub.classifications, ok, tt.products, tt.classifications)
			}
		})
	}
}

func equalSettings(a, b catalog.SyncSettings) bool {
	return a.AllProducts == b.AllProducts && a.AllClassifications == b.AllClassifications &&
		slices.Equal(a.Products, b.Products) && slices.Equal(a.Classifications, b.Classifications) &&
		slices.Equal(a.Languages, b.Languages)
}
