package migration

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoad(t *testing.T) {
	cases := []struct {
		name  string
		files []string
		want  string // names in order, or the error text
	}{
		{"in order", []string{"m/0002_b.sql", "m/0001_a.sql", "m/notes.txt"}, "0001_a 0002_b"},
		{"gap", []string{"m/0001_a.sql", "m/0003_c.sql"}, "migration 0003_c: want version 2"},
		{"bad name", []string{"m/first.sql"}, "name is not NNNN_name.sql"},
		{"none", nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for _, f := range c.files {
				fsys[f] = &fstest.MapFile{Data: []byte("-- " + f)}
			}
			ms, err := Load(fsys, "m")
			var got string
			if err != nil {
				got = err.Error()
			} else {
				var names []string
				for _, m := range ms {
					names = append(names, m.Name)
					if m.SQL != "-- m/"+m.Name+".sql" {
						t.Errorf("%s: SQL %q", m.Name, m.SQL)
					}
				}
				got = strings.Join(names, " ")
			}
			if !strings.Contains(got, c.want) || (c.want == "" && got != "") {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestLoadShared(t *testing.T) {
	fsys := fstest.MapFS{
		"m/0100_a.sql":          {Data: []byte("shared a")},
		"m/0101_b.postgres.sql": {Data: []byte("postgres b")},
		"m/0101_b.sqlite.sql":   {Data: []byte("sqlite b")},
		"m/0102_c.postgres.sql": {Data: []byte("postgres c")},
	}
	cases := []struct {
		engine string
		want   string // "version name sql" per migration
	}{
		{"postgres", "100 0100_a shared a|101 0101_b postgres b|102 0102_c postgres c"},
		{"sqlite", "100 0100_a shared a|101 0101_b sqlite b|102 0102_c "},
	}
	for _, c := range cases {
		ms, err := LoadShared(fsys, "m", c.engine, 100)
		if err != nil {
			t.Fatalf("%s: %v", c.engine, err)
		}
		var got []string
		for _, m := range ms {
			got = append(got, fmt.Sprintf("%d %s %s", m.Version, m.Name, m.SQL))
		}
		if g := strings.Join(got, "|"); g != c.want {
			t.Errorf("%s: got %q, want %q", c.engine, g, c.want)
		}
	}
	bad := []struct {
		name  string
		files fstest.MapFS
		want  string
	}{
		{"both", fstest.MapFS{"m/0100_a.sql": {}, "m/0100_a.sqlite.sql": {Data: []byte("x")}}, "has a shared file and"},
		{"two names", fstest.MapFS{"m/0100_a.sql": {}, "m/0100_b.sqlite.sql": {}}, "is also"},
		{"gap", fstest.MapFS{"m/0100_a.sql": {}, "m/0102_b.sql": {}}, "want version 101"},
		{"first", fstest.MapFS{"m/0099_a.sql": {}}, "want version 100"},
	}
	for _, c := range bad {
		if _, err := LoadShared(c.files, "m", "sqlite", 100); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
}
