// Package migration loads the versioned schema migrations of a catalog
// store: files named NNNN_name.sql, applied in order by the store itself.
package migration

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migration is one schema step.
type Migration struct {
	// Version is NNNN: 1, 2, 3... without gaps.
	Version int
	// Name is the file name without ".sql" (and without the engine of an
	// engine's own file).
	Name string
	// SQL is what the step runs; empty when the step only changes other
	// engines.
	SQL string
}

// Load reads the *.sql files of dir in fsys, ordered by version. Versions
// must run 1, 2, 3... without gaps, so a missing file cannot go unnoticed.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	return load(fsys, dir, "", 1)
}

// LoadShared reads the migrations of dir that several engines share, as
// engine runs them: NNNN_name.sql runs on every engine, NNNN_name.ENGINE.sql
// on that engine only, in place of the shared file (a version may not have
// both). A version with files for other engines only is an empty step here,
// so that every engine records the same versions. Versions must run first,
// first+1, ... without gaps.
func LoadShared(fsys fs.FS, dir, engine string, first int) ([]Migration, error) {
	if engine == "" {
		return nil, fmt.Errorf("migration: no engine")
	}
	return load(fsys, dir, engine, first)
}

func load(fsys fs.FS, dir, engine string, first int) ([]Migration, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.sql"))
	if err != nil {
		return nil, fmt.Errorf("migration: %w", err)
	}
	byVersion := map[int]*Migration{}
	haveFile := map[int]bool{} // a file for this engine was read
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".sql")
		num, rest, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name is not NNNN_name.sql", n)
		}
		name, fileEngine := base, ""
		if engine != "" {
			if i := strings.LastIndexByte(rest, '.'); i >= 0 {
				name, fileEngine = num+"_"+rest[:i], rest[i+1:]
			}
		}
		m := byVersion[v]
		switch {
		case m == nil:
			m = &Migration{Version: v, Name: name}
			byVersion[v] = m
		case m.Name != name:
			return nil, fmt.Errorf("migration %s: version %d is also %s", n, v, m.Name)
		}
		if fileEngine != "" && fileEngine != engine {
			continue
		}
		if haveFile[v] {
			return nil, fmt.Errorf("migration %s: version %d has a shared file and %s's own", n, v, engine)
		}
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("migration: %w", err)
		}
		m.SQL, haveFile[v] = string(b), true
	}
	ms := make([]Migration, 0, len(byVersion))
	for _, m := range byVersion {
		ms = append(ms, *m)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i, m := range ms {
		if m.Version != first+i {
			return nil, fmt.Errorf("migration %s: want version %d", m.Name, first+i)
		}
	}
	return ms, nil
}
