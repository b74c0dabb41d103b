package storage

import (
	"context"
	"fmt"
	"os"
)

// Ping checks that the store's directory is still the one it opened: it
// exists under its path and is the same directory (a directory removed or
// replaced after NewFS would otherwise go unnoticed, as the store holds it
// open).
func (s *FS) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storage: ping: %w", err)
	}
	held, err := s.root.Stat(".")
	if err != nil {
		return fmt.Errorf("storage: ping: %w", err)
	}
	named, err := os.Stat(s.root.Name())
	if err != nil {
		return fmt.Errorf("storage: ping: %w", err)
	}
	if !os.SameFile(held, named) {
		return fmt.Errorf("storage: ping: %s was removed or replaced since the store opened it", s.root.Name())
	}
	return nil
}
