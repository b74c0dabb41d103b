package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wsus/internal/testpg"
)

func TestMain(m *testing.M) {
	if os.Getenv(asWsusd) != "" {
		main()
	}
	os.Exit(testpg.Main(m))
}

func runWsusd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestImportIsIdempotentAndApproves(t *testing.T) {
	t.Setenv("WSUS_DATA", t.TempDir())
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"import", "../../testdata/catalog/microsoft"}, "imported: 5 revisions added, 0 unchanged; 0 payloads stored, 0 already present; 0 files skipped; 0 updates approved"},
		{[]string{"import", "../../testdata/catalog/microsoft"}, "imported: 0 revisions added, 5 unchanged; 0 payloads stored, 0 already present; 0 files skipped; 0 updates approved"},
		{[]string{"import", "--approve", "All Computers", "../../testdata/catalog/local"}, "imported: 1 revisions added, 0 unchanged; 1 payloads stored, 0 already present; 0 files skipped; 1 updates approved"},
		{[]string{"import", "--approve", "all computers", "../../testdata/catalog/local"}, "imported: 0 revisions added, 1 unchanged; 0 payloads stored, 1 already present; 0 files skipped; 0 updates approved"},
	}
	for i, s := range steps {
		code, out, errs := runWsusd(t, s.args...)
		if code != 0 || strings.TrimSpace(out) != s.want {
			t.Fatalf("step %d: exit %d\nstdout %q\nstderr %s\nwant %q", i, code, out, errs, s.want)
		}
	}
}

// TestImportIntoPostgres: WSUS_DATABASE_URL selects the PostgreSQL catalog.
func TestImportIntoPostgres(t *testing.T) {
	t.Setenv("WSUS_DATA", t.TempDir())
	t.Setenv("WSUS_DATABASE_URL", testpg.URL(t))
	for i, want := range []string{"5 revisions added, 0 unchanged", "0 revisions added, 5 unchanged"} {
		code, out, errs := runWsusd(t, "import", "../../testdata/catalog/microsoft")
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("import %d: exit %d %q %s; want %q", i, code, out, errs, want)
		}
	}
	if _, err := os.Stat(filepath.Join(os.Getenv("WSUS_DATA"), "catalog.db")); err == nil {
		t.Error("an embedded catalog was created although WSUS_DATABASE_URL is set")
	}
}

func TestFlagWinsOverEnvironment(t *testing.T) {
	fromEnv, fromFlag := t.TempDir(), t.TempDir()
	t.Setenv("WSUS_DATA", fromEnv)
	if code, _, errs := runWsusd(t, "import", "--data", fromFlag, "../../testdata/catalog/microsoft"); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(fromFlag, "catalog.db")); err != nil {
		t.Errorf("catalog not in the --data directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(fromEnv, "catalog.db")); err == nil {
		t.Error("catalog written to WSUS_DATA although --data was given")
	}
}

func TestBadInvocations(t *testing.T) {
	t.Setenv("WSUS_DATA", t.TempDir())
	cases := []struct {
		name    string
		env     map[string]string
		args    []string
		code    int
		message string
	}{
		{"no command", nil, nil, 2, "usage: wsusd"},
		{"unknown command", nil, []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"unknown flag", nil, []string{"serve", "--nope"}, 2, "flag provided but not defined"},
		{"serve takes no arguments", nil, []string{"serve", "extra"}, 2, "serve takes no arguments"},
		{"import needs a path", nil, []string{"import"}, 2, "usage: wsusd import"},
		{"missing path", nil, []string{"import", "/does/not/exist"}, 1, "no such file"},
		{"bad environment value", map[string]string{"WSUS_SYNC_PAGE_SIZE": "many"}, []string{"serve"}, 2, `--sync-page-size (WSUS_SYNC_PAGE_SIZE): invalid value "many" in WSUS_SYNC_PAGE_SIZE: want an integer from 1 to 10000`},
		{"bad log level", nil, []string{"import", "--log-level", "loud", "../../testdata/catalog/microsoft"}, 2, `--log-level (WSUS_LOG_LEVEL): invalid value "loud" on the command line: want one of debug, info, warn, error`},
		{"unreachable PostgreSQL", map[string]string{"WSUS_DATABASE_URL": "postgres://wsus@127.0.0.1:1/wsus?connect_timeout=2"}, []string{"import", "../../testdata/catalog/microsoft"}, 1, "open catalog"},
		{"approve into a missing group", nil, []string{"import", "--approve", "Nope", "../../testdata/catalog/local"}, 1, `no target group named "Nope"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			code, out, errs := runWsusd(t, c.args...)
			if code != c.code || !strings.Contains(out+errs, c.message) {
				t.Errorf("exit %d, output %q%q; want exit %d mentioning %q", code, out, errs, c.code, c.message)
			}
		})
	}
}
