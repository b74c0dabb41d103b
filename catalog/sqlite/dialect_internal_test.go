package sqlite

import "testing"

func TestRebind(t *testing.T) {
	tests := []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"SELECT a FROM t WHERE b = $1 AND c = $2", "SELECT a FROM t WHERE b = ? AND c = ?"},
		{"INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)", "INSERT INTO t (a, b) VALUES (?, ?), (?, ?)"},
		{"SELECT id FROM g WHERE id = $1 OR k = $2 ORDER BY id = $1 DESC", "SELECT id FROM g WHERE id = ?1 OR k = ?2 ORDER BY id = ?1 DESC"},
		{"UPDATE s SET d = FALSE, c = $2 WHERE u = $1", "UPDATE s SET d = FALSE, c = ?2 WHERE u = ?1"},
		{"SELECT $10, $1", "SELECT ?10, ?1"},
		{"SELECT '$' || $1", "SELECT '$' || ?"},
	}
	for _, tc := range tests {
		if got := (dialect{}).Rebind(tc.in); got != tc.want {
			t.Errorf("Rebind(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
