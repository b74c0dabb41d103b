package settings

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary command lines and config files to Parse: it
// never panics, every failure is an *Error, ErrUsage or flag.ErrHelp, and
// a success leaves every value one its setting accepts (parsing it again
// from the environment succeeds).
func FuzzParse(f *testing.F) {
	f.Add("--on\ntrue\n--count\n3", "name = \"a\"\nwait = \"5m\"\n")
	f.Add("--on\nfalse\npath", "item = [\"x\", \"y;z\"]\n")
	f.Add("--item\na;b\n--\n--on", "on = \"yes\"\n")
	f.Add("-h", "[name]\n")
	f.Add("--count=11", "count = 1e3\n")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, args, file string) {
		path := filepath.Join(dir, "c.toml")
		if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
		var v testVars
		s := testSet(&v)
		argv := append([]string{"--config", path}, strings.Split(args, "\n")...)
		_, err := s.Parse(argv, func(string) (string, bool) { return "", false }, io.Discard, "usage")
		var se *Error
		switch {
		case err == nil:
		case errors.As(err, &se), errors.Is(err, ErrUsage), errors.Is(err, flag.ErrHelp):
			return
		default:
			t.Fatalf("Parse(%q) with file %q: %v, not an *Error", argv, file, err)
		}
		env := map[string]string{}
		for _, st := range s.Settings() {
			if st != s.config {
				env[st.Env] = st.Value()
			}
		}
		var again testVars
		if _, err := testSet(&again).Parse(nil, func(k string) (string, bool) { x, ok := env[k]; return x, ok }, io.Discard, "usage"); err != nil {
			t.Fatalf("values %v of a successful parse refused again: %v", env, err)
		}
	})
}
