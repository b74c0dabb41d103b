package migration

import (
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
