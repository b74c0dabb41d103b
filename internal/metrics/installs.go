package metrics

import (
	"context"
	"fmt"
	"time"

	"wsus/catalog"
)

var _ catalog.InstallHistoryStore = (*catalogStore)(nil)

// InstallsByDay is the store's (catalog.InstallHistoryStore, which every
// store of this repository has), timed; an error when the store has none.
// The admin API finds it on the decorated store as on the store itself.
func (c *catalogStore) InstallsByDay(ctx context.Context, from time.Time, days int) ([]catalog.InstallDay, error) {
	is, ok := c.Store.(catalog.InstallHistoryStore)
	if !ok {
		return nil, fmt.Errorf("metrics: %T has no InstallsByDay", c.Store)
	}
	return timed(c, "InstallsByDay", func() ([]catalog.InstallDay, error) { return is.InstallsByDay(ctx, from, days) })
}
