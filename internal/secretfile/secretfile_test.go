package secretfile

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestLoadOrCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "secret")
	n := 0
	gen := func() (string, error) { n++; return "s3cret", nil }
	first, err := LoadOrCreate(path, gen)
	if err != nil || first != "s3cret" {
		t.Fatalf("first: %q %v", first, err)
	}
	again, err := LoadOrCreate(path, func() (string, error) { return "other", nil })
	if err != nil || again != "s3cret" {
		t.Fatalf("second start read %q %v, want the stored secret", again, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if err := os.WriteFile(path, []byte("  \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreate(path, gen); err == nil {
		t.Error("an empty secret file was accepted")
	}
}

func TestConcurrentStartersAgree(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	var wg sync.WaitGroup
	got := make([]string, 8)
	for i := range got {
		wg.Go(func() {
			v, err := LoadOrCreate(path, func() (string, error) { return string(rune('a' + i)), nil })
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		})
	}
	wg.Wait()
	for _, v := range got {
		if v != got[0] {
			t.Fatalf("starters disagree: %v", got)
		}
	}
}
