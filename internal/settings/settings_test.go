package settings

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testSet declares one setting of each kind.
type testVars struct {
	config, name string
	on           bool
	count        int
	wait         time.Duration
	list         []string
	listSet      bool
}

func testSet(v *testVars) *Set {
	s := New("test")
	s.Config(&v.config, "config", "T_CONFIG", "config file")
	s.String(&v.name, "name", "T_NAME", "def", "a name", OneOf("def", "a", "b", "c"))
	s.Bool(&v.on, "on", "T_ON", false, "a switch")
	s.Int(&v.count, "count", "T_COUNT", 5, 1, 10, "a count")
	s.Duration(&v.wait, "wait", "T_WAIT", time.Second, 0, "a wait")
	s.List(&v.list, &v.listSet, "item", "T_ITEMS", "items")
	s.Known = func(k string) bool { return k == "elsewhere" }
	return s
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Precedence: flag > environment > file > default, per setting.
func TestPrecedence(t *testing.T) {
	file := writeFile(t, "name = \"c\"\non = true\ncount = 7\nwait = \"5m\"\nitem = [\"x\", \"y\"]\nelsewhere = 3\n")
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string // name on count wait item
	}{
		{"defaults", nil, nil, "def false 5 1s  "},
		{"file", []string{"--config", file}, nil, "c true 7 5m0s x;y"},
		{"file through its twin", nil, map[string]string{"T_CONFIG": file}, "c true 7 5m0s x;y"},
		{"environment over file", []string{"--config", file}, map[string]string{"T_NAME": "b", "T_ON": "false", "T_COUNT": "2", "T_WAIT": "0s", "T_ITEMS": "p;q"}, "b false 2 0s p;q"},
		{"flags over environment", []string{"--config", file, "--name", "a", "--on=false", "--count", "9", "--wait", "2s", "--item", "m", "--item", "n;o"},
			map[string]string{"T_NAME": "b", "T_ON": "true", "T_COUNT": "2"}, "a false 9 2s m;n;o"},
		// A bad value in a source that lost is never read.
		{"bad environment under a flag", []string{"--count", "3"}, map[string]string{"T_COUNT": "many"}, "def false 3 1s "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var v testVars
			s := testSet(&v)
			_, err := s.Parse(c.args, func(k string) (string, bool) { x, ok := c.env[k]; return x, ok }, io.Discard, "usage")
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join([]string{v.name, s.Lookup("on").Value(), s.Lookup("count").Value(), v.wait.String(), strings.Join(v.list, ";")}, " ")
			if strings.TrimSpace(got) != strings.TrimSpace(c.want) {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// "--flag true" and "--flag false" are a boolean's value, not positional
// arguments; every other form still works.
func TestBoolForms(t *testing.T) {
	for _, c := range []struct {
		args []string
		on   bool
		rest []string
	}{
		{[]string{"--on"}, true, nil},
		{[]string{"--on=true"}, true, nil},
		{[]string{"--on", "true"}, true, nil},
		{[]string{"-on", "false"}, false, nil},
		{[]string{"--on", "false", "--count", "2", "path"}, false, []string{"path"}},
		{[]string{"--on", "path"}, true, []string{"path"}},
		{[]string{"--name", "a", "--on", "true", "--", "true"}, true, []string{"true"}},
		{[]string{"path", "--on", "true"}, false, []string{"path", "--on", "true"}},
	} {
		var v testVars
		rest, err := testSet(&v).Parse(c.args, func(string) (string, bool) { return "", false }, io.Discard, "usage")
		if err != nil || v.on != c.on || strings.Join(rest, " ") != strings.Join(c.rest, " ") {
			t.Errorf("%q: on=%t rest=%q err=%v; want on=%t rest=%q", c.args, v.on, rest, err, c.on, c.rest)
		}
	}
}

// Every error names the setting, its twin, where the value came from and
// what is accepted.
func TestErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		file string
		want string
	}{
		{"flag", []string{"--count", "0"}, nil, "", `--count (T_COUNT): invalid value "0" on the command line: want an integer from 1 to 10`},
		{"environment", nil, map[string]string{"T_WAIT": "-1s"}, "", `--wait (T_WAIT): invalid value "-1s" in T_WAIT: want a duration such as 30s, 5m or 1h30m, not negative`},
		{"enum", []string{"--name", "z"}, nil, "", `--name (T_NAME): invalid value "z" on the command line: want one of def, a, b, c`},
		{"bool", nil, map[string]string{"T_ON": "sometimes"}, "", `--on (T_ON): invalid value "sometimes" in T_ON: want true or false`},
		{"file value", nil, nil, "count = 11\n", `--count (T_COUNT): invalid value "11" in FILE, key "count": want an integer from 1 to 10`},
		{"file type", nil, nil, "count = \"7\"\n", `config file FILE: key "count" (--count, T_COUNT): a string value (7) where an integer belongs; want an integer from 1 to 10`},
		{"file bool type", nil, nil, "on = \"yes\"\n", `config file FILE: key "on" (--on, T_ON): a string value (yes) where a boolean belongs; want true or false`},
		{"file list type", nil, nil, "item = [1]\n", `config file FILE: key "item" (--item, T_ITEMS): an array holding an integer value (1) where strings belong`},
		{"unknown key", nil, nil, "colour = \"red\"\n", `config file FILE: unknown key "colour": no wsusd command has a --colour setting`},
		{"syntax", nil, nil, "count = \n", `config file FILE: line 1:`},
		{"config names another", nil, nil, "config = \"other.toml\"\n", `config file FILE: key "config": the config file cannot name another; give --config on the command line or in T_CONFIG`},
		{"another command's key", nil, nil, "elsewhere = 1\ncount = 0\n", `--count (T_COUNT): invalid value "0" in FILE, key "count": want an integer from 1 to 10`},
		{"table", nil, nil, "[name]\nx = 1\n", `config file FILE: key "name" (--name, T_NAME): a table value`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var v testVars
			args := c.args
			path := ""
			if c.file != "" {
				path = writeFile(t, c.file)
				args = append([]string{"--config", path}, args...)
			}
			_, err := testSet(&v).Parse(args, func(k string) (string, bool) { x, ok := c.env[k]; return x, ok }, io.Discard, "usage")
			var se *Error
			want := strings.ReplaceAll(c.want, "FILE", path)
			if !errors.As(err, &se) || !strings.Contains(err.Error(), want) {
				t.Errorf("error %v, want an *Error containing %q", err, want)
			}
		})
	}
	var v testVars
	if _, err := testSet(&v).Parse([]string{"--nope"}, nil, io.Discard, "usage"); !errors.Is(err, ErrUsage) {
		t.Errorf("unknown flag: %v, want ErrUsage", err)
	}
	if _, err := testSet(&v).Parse([]string{"-h"}, nil, io.Discard, "usage"); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v, want flag.ErrHelp", err)
	}
}

// The table has one row per setting, and refuses one name declared two
// ways.
func TestTable(t *testing.T) {
	var a, b testVars
	got, err := Table([]*Set{testSet(&a), testSet(&b)})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| `--count` | `T_COUNT` | `5` | a count (an integer from 1 to 10) | test, test |\n",
		"| `--name` | `T_NAME` | `def` | a name (one of def, a, b, c) | test, test |\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
	other := New("other")
	var n int
	other.Int(&n, "count", "T_OTHER", 5, 1, 10, "a count")
	if _, err := Table([]*Set{testSet(&a), other}); err == nil || !strings.Contains(err.Error(), "--count is declared differently by test and other") {
		t.Errorf("two declarations of --count: %v", err)
	}
}

// A secret setting's refused value never reaches the message: a token with
// a stray space must not be printed to a terminal or a journal.
func TestSecretValueNotShown(t *testing.T) {
	var token string
	s := New("test")
	s.String(&token, "token", "T_TOKEN", "", "a token", OneOf("")).Secret = true
	_, err := s.Parse([]string{"--token", "hunter2 hunter2"}, func(string) (string, bool) { return "", false }, io.Discard, "usage")
	want := `--token (T_TOKEN): invalid value (15 characters, not shown) on the command line`
	if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error %v, want one containing %q and not the value", err, want)
	}
}
