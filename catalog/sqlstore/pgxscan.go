package sqlstore

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
)

// The scan destinations also implement pgx's own scanner interfaces, so
// that a NativeReader on pgx decodes integers, times and UUIDs from their
// binary form straight into them: through sql.Scanner pgx would first box
// each value into an interface (and format each UUID as text, to be parsed
// again). Only types are imported: pgtype holds no state.

var (
	_ pgtype.Int64Scanner       = intDest[int32]{}
	_ pgtype.TimestamptzScanner = timeDest{}
	_ pgtype.UUIDScanner        = uuidDest{}
)

// ScanInt64 implements pgtype.Int64Scanner.
func (d intDest[T]) ScanInt64(v pgtype.Int8) error {
	if !v.Valid {
		return errors.New("stored integer: NULL")
	}
	return d.set(v.Int64)
}

// ScanTimestamptz implements pgtype.TimestamptzScanner.
func (d timeDest) ScanTimestamptz(v pgtype.Timestamptz) error {
	switch {
	case !v.Valid:
		*d.t = time.Time{}
	case v.InfinityModifier != pgtype.Finite:
		return fmt.Errorf("stored time: %v", v.InfinityModifier)
	default:
		*d.t = v.Time.UTC()
	}
	return nil
}

// uuidDest scans a stored UUID (text on SQLite, uuid on PostgreSQL).
type uuidDest struct{ u *uuid.UUID }

// Scan implements sql.Scanner.
func (d uuidDest) Scan(v any) error { return d.u.Scan(v) }

// ScanUUID implements pgtype.UUIDScanner.
func (d uuidDest) ScanUUID(v pgtype.UUID) error {
	if !v.Valid {
		return errors.New("stored UUID: NULL")
	}
	*d.u = v.Bytes
	return nil
}
