package postgres

import (
	"context"
	"fmt"

	"wsus/catalog"
)

// Ping checks that the database answers: a connection of the pool (a new
// one if none is idle) runs an empty statement. A failure is
// marked catalog.ErrUnavailable.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return catalog.MarkUnavailable(fmt.Errorf("postgres: ping: %w", err))
	}
	return nil
}
