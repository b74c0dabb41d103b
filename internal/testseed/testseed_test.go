package testseed

import (
	"os"
	"path/filepath"
	"testing"
)

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{"b.xml": "B", "a.xml": "A", "c.txt": "C"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := Files(t, filepath.Join(dir, "*.txt"), filepath.Join(dir, "*.xml"), filepath.Join(dir, "none-*"))
	var s string
	for _, b := range got {
		s += string(b)
	}
	if s != "CAB" {
		t.Fatalf("Files read %q, want CAB (pattern order, then name order)", s)
	}
}
