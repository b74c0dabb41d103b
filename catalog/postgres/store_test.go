package postgres_test

import (
	"os"
	"strings"
	"testing"

	"wsus/catalog/postgres"
	"wsus/internal/testpg"
)

// The store's behaviour is tested on both engines in catalog/sqlstore; what
// is PostgreSQL's own is here.

func TestMain(m *testing.M) { os.Exit(testpg.Main(m)) }

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name, url, prefix string
	}{
		{"not a URL", "postgres://%zz", "postgres: open: "},
		{"no server", "postgres://postgres@127.0.0.1:1/none?connect_timeout=5", "postgres: open 127.0.0.1:1/none: "},
		{"no database", strings.Replace(testpg.URL(t), "/testpg_", "/missing_", 1), "postgres: open 127.0.0.1:"},
	}
	for _, tc := range tests {
		if tc.name == "no database" && os.Getenv(testpg.EnvURL) != "" {
			continue // the prefix names the host of an unknown server
		}
		s, err := postgres.Open(t.Context(), tc.url)
		if err == nil {
			s.Close()
			t.Errorf("%s: Open succeeded", tc.name)
			continue
		}
		if !strings.HasPrefix(err.Error(), tc.prefix) {
			t.Errorf("%s: got error %q, want it to start with %q", tc.name, err, tc.prefix)
		}
		if strings.Contains(err.Error(), "password") {
			t.Errorf("%s: error %q mentions a password", tc.name, err)
		}
	}
}
