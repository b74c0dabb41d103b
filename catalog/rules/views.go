package rules

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"wsus/catalog"
)

// storeViews are the store's compliance views.
type storeViews struct{ cs Store }

func (v storeViews) updates(ctx context.Context) ([]catalog.UpdateView, error) {
	var out []catalog.UpdateView
	for {
		page, total, err := v.cs.ListUpdates(ctx, catalog.UpdateQuery{
			Types: []catalog.UpdateType{catalog.TypeSoftware, catalog.TypeDriver},
			Page:  catalog.Page{Limit: catalog.MaxPageSize, Offset: len(out)},
		})
		if err != nil {
			return nil, fmt.Errorf("list updates: %w", err)
		}
		out = append(out, page...)
		if len(page) == 0 || len(out) >= total {
			return out, nil
		}
	}
}

func (v storeViews) groupCounts(ctx context.Context, group uuid.UUID, ids []uuid.UUID) (map[uuid.UUID]catalog.ComplianceCounts, error) {
	m, err := v.cs.GroupCounts(ctx, group, ids)
	if err != nil {
		return nil, fmt.Errorf("group counts: %w", err)
	}
	return m, nil
}
