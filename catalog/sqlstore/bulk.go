package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// maxBulkParams bounds the parameters of one multi-row INSERT: below
// SQLite's limit (32,766) and PostgreSQL's (65,535).
const maxBulkParams = 30000

// bulkInsert inserts rows (each one value per column) into table in the
// current write transaction: with the engine's bulk load where it has one
// (BulkLoader), else with multi-row INSERT statements.
func bulkInsert(ctx context.Context, t *tx, table string, columns []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	if bl, ok := t.s.d.(BulkLoader); ok {
		if err := bl.BulkLoad(ctx, t.conn, table, columns, rows); err != nil {
			return fmt.Errorf("load %s: %w", table, err)
		}
		return nil
	}
	return insertRows(ctx, t, table, columns, rows, "", nil)
}

// insertRows inserts rows with multi-row INSERT statements ending in
// suffix (such as an ON CONFLICT clause), in chunks that stay under
// maxBulkParams. each, when set, is called for every row a chunk's
// RETURNING clause (in suffix) returns.
func insertRows(ctx context.Context, t *tx, table string, columns []string, rows [][]any, suffix string, each func(Row) error) error {
	perChunk := max(1, maxBulkParams/len(columns))
	head := "INSERT INTO " + table + " (" + strings.Join(columns, ", ") + ") VALUES "
	for len(rows) > 0 {
		chunk := rows[:min(perChunk, len(rows))]
		rows = rows[len(chunk):]
		var q strings.Builder
		q.WriteString(head)
		args := make([]any, 0, len(chunk)*len(columns))
		for i, row := range chunk {
			if len(row) != len(columns) {
				return fmt.Errorf("insert into %s: row has %d values for %d columns", table, len(row), len(columns))
			}
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteByte('(')
			for j := range row {
				if j > 0 {
					q.WriteString(", ")
				}
				q.WriteByte('$')
				q.WriteString(strconv.Itoa(len(args) + j + 1))
			}
			q.WriteByte(')')
			args = append(args, row...)
		}
		q.WriteString(suffix)
		if each == nil {
			if _, err := t.exec(ctx, q.String(), args...); err != nil {
				return fmt.Errorf("insert into %s: %w", table, err)
			}
			continue
		}
		if err := t.query(ctx, q.String(), args, each); err != nil {
			return fmt.Errorf("insert into %s: %w", table, err)
		}
	}
	return nil
}
