// Package secretfile keeps a server secret (the cookie key, the admin token)
// in a file of the data directory, created once with a fresh value and read
// back on every later start.
package secretfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// LoadOrCreate returns the trimmed content of the file at path. When the file
// does not exist it writes generate's value there first (mode 0600, fully
// written before it appears, so a concurrent starter never reads a partial
// secret; if two start at once, both end up with the one that won).
func LoadOrCreate(path string, generate func() (string, error)) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		s := strings.TrimSpace(string(b))
		if s == "" {
			return "", fmt.Errorf("secretfile: %s is empty", path)
		}
		return s, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("secretfile: %w", err)
	}
	value, err := generate()
	if err != nil {
		return "", fmt.Errorf("secretfile: generate %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("secretfile: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".secret-*")
	if err != nil {
		return "", fmt.Errorf("secretfile: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.WriteString(value + "\n")
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return "", fmt.Errorf("secretfile: write %s: %w", path, err)
	}
	// A hard link publishes the complete file, and fails if one is there.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return LoadOrCreate(path, generate)
		}
		return "", fmt.Errorf("secretfile: %w", err)
	}
	return value, nil
}
