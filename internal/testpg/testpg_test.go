package testpg

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// connect opens a connection to url for the rest of the test.
func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(t.Context()) })
	return conn
}

func queryString(t *testing.T, conn *pgx.Conn, q string) string {
	t.Helper()
	var s string
	if err := conn.QueryRow(t.Context(), q).Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return s
}

func TestURLGivesAnEmptyDatabase(t *testing.T) {
	url := URL(t)
	conn := connect(t, url)
	name := queryString(t, conn, "SELECT current_database()")
	if !strings.HasPrefix(name, "testpg_") || !strings.Contains(url, "/"+name) {
		t.Errorf("URL %s connects to database %q", url, name)
	}
	if got := queryString(t, conn, "SELECT count(*)::text FROM pg_tables WHERE schemaname = 'public'"); got != "0" {
		t.Errorf("a new database has %s tables, want 0", got)
	}
	for q, want := range map[string]string{
		"SHOW server_encoding": "UTF8",
		"SHOW lc_collate":      "C",
	} {
		if got := queryString(t, conn, q); got != want {
			t.Errorf("%s = %q, want %q", q, got, want)
		}
	}
	if _, err := conn.Exec(t.Context(), "CREATE TABLE t (x integer)"); err != nil {
		t.Errorf("create a table: %v", err)
	}
}

func TestDatabasesAreSeparate(t *testing.T) {
	a, b := connect(t, URL(t)), connect(t, URL(t))
	if _, err := a.Exec(t.Context(), "CREATE TABLE only_in_a (x integer)"); err != nil {
		t.Fatal(err)
	}
	if got := queryString(t, b, "SELECT count(*)::text FROM pg_tables WHERE tablename = 'only_in_a'"); got != "0" {
		t.Errorf("a table created in one test database shows in another")
	}
}

func TestDatabaseDroppedAfterTest(t *testing.T) {
	var name string
	t.Run("inner", func(t *testing.T) {
		conn := connect(t, URL(t))
		name = queryString(t, conn, "SELECT current_database()")
	})
	conn := connect(t, URL(t))
	var n int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("database %s of a finished test still exists", name)
	}
}

func TestFindBin(t *testing.T) {
	// root holds fake /usr/lib/postgresql/<version>/bin directories.
	root := t.TempDir()
	mk := func(version string, programs ...string) {
		dir := filepath.Join(root, version, "bin")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, p := range programs {
			if err := os.WriteFile(filepath.Join(dir, p), []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	mk("9", "initdb", "postgres")
	mk("15", "initdb", "postgres")
	mk("16", "initdb") // incomplete: no server program
	mk("100", "postgres")
	t.Setenv("PATH", t.TempDir()) // no initdb in PATH

	tests := []struct {
		name    string
		pattern string
		want    string
		err     error
	}{
		{"newest complete version", filepath.Join(root, "*", "bin"), filepath.Join(root, "15", "bin"), nil},
		{"nothing installed", filepath.Join(root, "none", "*", "bin"), "", errNotInstalled},
	}
	for _, tc := range tests {
		got, err := findBin(tc.pattern)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("%s: findBin = %q, %v; want %q, %v", tc.name, got, err, tc.want, tc.err)
		}
	}

	// An initdb in PATH wins when its directory has the server too.
	t.Setenv("PATH", filepath.Join(root, "9", "bin"))
	if got, err := findBin(filepath.Join(root, "*", "bin")); err != nil || got != filepath.Join(root, "9", "bin") {
		t.Errorf("with initdb in PATH: findBin = %q, %v; want its directory", got, err)
	}
}

func TestParseAdminURL(t *testing.T) {
	tests := []struct {
		raw  string
		ok   bool
		want string // withDatabase(u, "x")
	}{
		{"postgres://u:p@db.example:5433/postgres?sslmode=require", true, "postgres://u:p@db.example:5433/x?sslmode=require"},
		{"postgresql://localhost", true, "postgresql://localhost/x"},
		{"host=localhost dbname=postgres", false, ""},
		{"mysql://localhost/db", false, ""},
	}
	for _, tc := range tests {
		u, err := parseAdminURL(tc.raw)
		if (err == nil) != tc.ok {
			t.Errorf("parseAdminURL(%q): error %v, want ok=%v", tc.raw, err, tc.ok)
			continue
		}
		if err != nil {
			if !strings.Contains(err.Error(), EnvURL) {
				t.Errorf("parseAdminURL(%q): error %q does not name %s", tc.raw, err, EnvURL)
			}
			continue
		}
		if got := withDatabase(u, "x"); got != tc.want {
			t.Errorf("withDatabase(%q, x) = %q, want %q", tc.raw, got, tc.want)
		}
	}
}

// TestRemoveStale: the directory of a test binary that died goes, those of
// live ones and of unknown owners stay.
func TestRemoveStale(t *testing.T) {
	base := t.TempDir()
	exited := exec.Command("true")
	if err := exited.Run(); err != nil {
		t.Fatal(err)
	}
	owners := map[string]string{
		"testpg-dead":    strconv.Itoa(exited.Process.Pid),
		"testpg-alive":   strconv.Itoa(os.Getpid()),
		"testpg-unknown": "",
		"other-dead":     strconv.Itoa(exited.Process.Pid),
	}
	for dir, owner := range owners {
		if err := os.MkdirAll(filepath.Join(base, dir, "data"), 0o755); err != nil {
			t.Fatal(err)
		}
		if owner != "" {
			if err := os.WriteFile(filepath.Join(base, dir, ownerFile), []byte(owner), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	removeStale(base)
	entries, err := os.ReadDir(base)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if got, want := strings.Join(left, ","), "other-dead,testpg-alive,testpg-unknown"; got != want {
		t.Errorf("left after removeStale: %s, want %s", got, want)
	}
}
