package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"wsus/catalog"
)

// errorf is fmt.Errorf for the store's errors: it marks an outage with
// catalog.ErrUnavailable (see isOutage), so that callers answer "busy, try
// later" instead of "bug".
func errorf(format string, args ...any) error {
	return catalog.MarkUnavailableIf(fmt.Errorf(format, args...), isOutage)
}

// isOutage reports whether err means PostgreSQL could not do the work now
// but may later: the connection failed or was lost, the server is starting
// or shutting down, or it ran out of resources (disk, memory, connections),
// or a transaction kept losing serialization races.
func isOutage(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// SQLSTATE classes: 08 connection exception, 53 insufficient
		// resources, 57P operator intervention (shutdown, cannot connect now),
		// 40001/40P01 serialization failure and deadlock (after retries).
		c := pgErr.Code
		return strings.HasPrefix(c, "08") || strings.HasPrefix(c, "53") || strings.HasPrefix(c, "57P") ||
			c == codeSerializationFailure || c == codeDeadlockDetected
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) || errors.As(err, &netErr) || pgconn.Timeout(err) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
