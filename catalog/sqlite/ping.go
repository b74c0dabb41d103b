package sqlite

import (
	"context"
	"fmt"

	"wsus/catalog"
)

// Ping checks that the catalog can be queried: one query on a reader
// connection. A failure is marked
// catalog.ErrUnavailable.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return catalog.MarkUnavailable(fmt.Errorf("sqlite: ping: %w", err))
	}
	return nil
}
