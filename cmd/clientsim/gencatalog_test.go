package main

import (
	"context"
	"crypto/sha256"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// treeDigest hashes every file name and content under dir.
func treeDigest(t *testing.T, dir string) (files int, digest [32]byte) {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		h.Write([]byte(rel + "\x00"))
		h.Write(b)
		files++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	copy(digest[:], h.Sum(nil))
	return files, digest
}

func TestGencatalogCommand(t *testing.T) {
	var digests [2][32]byte
	for i := range digests {
		dir := filepath.Join(t.TempDir(), "catalog")
		var out, errOut strings.Builder
		code := run(context.Background(), []string{"gencatalog", "--updates", "120", "--seed", "7", "--out", dir,
			"--payloads", "--payload-max", "2048"}, &out, &errOut, "")
		if code != 0 {
			t.Fatalf("exit %d, stderr %s", code, errOut.String())
		}
		lines := strings.Split(out.String(), "\n")
		if !strings.HasPrefix(lines[0], "clientsim gencatalog: 120 documents (seed 7) in "+dir+" in ") {
			t.Errorf("first line %q", lines[0])
		}
		// The counts of this catalog: 11 categories, round(0.12·120) = 14
		// detectoids, the rest software.
		for _, want := range []string{"categories:       11", "detectoids:       14"} {
			if !strings.Contains(out.String(), want+"\n") {
				t.Errorf("stdout lacks %q:\n%s", want, out.String())
			}
		}
		var files int
		files, digests[i] = treeDigest(t, dir)
		xml, _ := filepath.Glob(filepath.Join(dir, "*.xml"))
		if len(xml) != 120 || files <= 120 {
			t.Errorf("%d files, %d documents; want 120 documents and payloads", files, len(xml))
		}
	}
	if digests[0] != digests[1] {
		t.Error("two runs with seed 7 wrote different catalogs")
	}
}

func TestGencatalogBadInvocations(t *testing.T) {
	tests := []struct {
		args    []string
		code    int
		wantErr string
	}{
		{[]string{"gencatalog"}, 2, "clientsim gencatalog: --out is required"},
		{[]string{"gencatalog", "--out", "x", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"gencatalog", "--updates", "many", "--out", "x"}, 2, `invalid value "many" for flag -updates`},
		{[]string{"gencatalog", "-h"}, 0, "usage: clientsim gencatalog --out DIR"},
		{[]string{"gencatalog", "--updates", "5", "--out", "OUT"}, 1, "clientsim: gencatalog: catalogen: Updates is 5, want 14 to 50000000"},
		{[]string{"gencatalog", "--revisions", "2", "--out", "OUT"}, 1, "clientsim: gencatalog: catalogen: Revisions is 2, want a fraction between 0 and 1"},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		for i, a := range tt.args {
			if a == "OUT" {
				tt.args[i] = filepath.Join(dir, "out")
			}
		}
		var out, errOut strings.Builder
		code := run(context.Background(), tt.args, &out, &errOut, "")
		if code != tt.code || !strings.Contains(errOut.String(), tt.wantErr) {
			t.Errorf("%v: exit %d (want %d), stderr %q", tt.args, code, tt.code, errOut.String())
		}
		if entries, _ := os.ReadDir(filepath.Join(dir, "out")); tt.code != 0 && len(entries) > 0 {
			t.Errorf("%v: wrote %d files although it failed", tt.args, len(entries))
		}
	}
}
