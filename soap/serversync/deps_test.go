package serversync

import (
	"go/build"
	"strings"
	"testing"
)

// TestDependencies keeps the upstream role a SOAP service over the store
// contract: no SQL, no store implementation, no sync client transport
// (the idea of Go's own go/build dependency test).
func TestDependencies(t *testing.T) {
	forbidden := []string{"database/sql", "wsus/catalog/sqlstore", "wsus/catalog/sqlite", "wsus/catalog/postgres",
		"wsus/sync/upstream", "wsus/sync/syncer", "wsus/soap/wusp"}
	seen := map[string]bool{}
	var walk func(path, dir string, from string)
	walk = func(path, dir, from string) {
		if seen[path] {
			return
		}
		seen[path] = true
		for _, f := range forbidden {
			if path == f {
				t.Errorf("soap/serversync depends on %s (through %s)", path, from)
			}
		}
		if !strings.HasPrefix(path, "wsus/") && path != "wsus" {
			return // the standard library and modules: only their names matter
		}
		pkg, err := build.Import(path, dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range pkg.Imports {
			walk(imp, pkg.Dir, path)
		}
	}
	walk("wsus/soap/serversync", ".", "")
}
