package postgres

import (
	"context"
	"fmt"

	"wsus/catalog"
)

// Ping checks that the database answers: a connection of the pool (a new
// one if none is idle) runs an empty statement. A failure wraps
// catalog.ErrUnavailable.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w: %w", catalog.ErrUnavailable, err)
	}
	return nil
}
