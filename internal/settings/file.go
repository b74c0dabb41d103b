package settings

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// readFile reads the config file the config setting names, if any, and
// returns the values of this command's keys as text, in the form their
// flags take. Keys another command declares are ignored; unknown keys and
// values of the wrong type are errors naming the key.
func (s *Set) readFile() (map[string][]string, string, error) {
	if s.config == nil {
		return nil, "", nil
	}
	path := *s.configFile
	if path == "" {
		return nil, "", nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, "", &Error{msg: fmt.Sprintf("%s: read config file: %v", s.config.Label(), err)}
	}
	var doc map[string]any
	if _, err := toml.Decode(string(raw), &doc); err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return nil, "", &Error{msg: fmt.Sprintf("config file %s: line %d: %s", path, perr.Position.Line, perr.Message)}
		}
		return nil, "", &Error{msg: fmt.Sprintf("config file %s: %v", path, err)}
	}
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	values := map[string][]string{}
	for _, k := range keys {
		st := s.byName[k]
		if st == nil || st == s.config {
			if st == nil && s.Known != nil && s.Known(k) {
				continue // another command's setting
			}
			if st == s.config && st != nil {
				return nil, "", &Error{msg: fmt.Sprintf("config file %s: key %q: the config file cannot name another; give --%s on the command line or in %s", path, k, k, st.Env)}
			}
			return nil, "", &Error{msg: fmt.Sprintf("config file %s: unknown key %q: no wsusd command has a --%s setting", path, k, k)}
		}
		vs, err := st.fromTOML(doc[k])
		if err != nil {
			return nil, "", &Error{msg: fmt.Sprintf("config file %s: key %q (--%s, %s): %v; want %s", path, k, k, st.Env, err, st.Want)}
		}
		values[k] = vs
	}
	return values, path, nil
}

// fromTOML converts a decoded TOML value into the text the setting's flag
// takes, refusing values of another type.
func (st *Setting) fromTOML(v any) ([]string, error) {
	typeErr := func() error {
		return fmt.Errorf("%s value (%v) where %s belongs", article(tomlType(v)), v, kindName[st.kind])
	}
	switch st.kind {
	case kindString:
		if s, ok := v.(string); ok {
			return []string{s}, nil
		}
	case kindBool:
		if b, ok := v.(bool); ok {
			return []string{strconv.FormatBool(b)}, nil
		}
	case kindInt:
		if n, ok := v.(int64); ok {
			return []string{strconv.FormatInt(n, 10)}, nil
		}
	case kindDuration:
		if s, ok := v.(string); ok {
			return []string{s}, nil
		}
	case kindList:
		switch x := v.(type) {
		case string:
			return []string{x}, nil
		case []any:
			out := make([]string, 0, len(x))
			for _, e := range x {
				s, ok := e.(string)
				if !ok {
					return nil, fmt.Errorf("an array holding %s value (%v) where strings belong", article(tomlType(e)), e)
				}
				out = append(out, s)
			}
			return out, nil
		}
	}
	return nil, typeErr()
}

// kindName names what a kind's config file value is.
var kindName = map[kind]string{
	kindString:   "a string",
	kindBool:     "a boolean",
	kindInt:      "an integer",
	kindDuration: `a duration string ("5m")`,
	kindList:     "a string or an array of strings",
}

// tomlType names the TOML type of a decoded value.
func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case bool:
		return "boolean"
	case int64:
		return "integer"
	case float64:
		return "float"
	case time.Time:
		return "date-time"
	case []any, []map[string]any:
		return "array"
	case map[string]any:
		return "table"
	}
	return fmt.Sprintf("%T", v)
}

// article puts "a" or "an" before a type name.
func article(name string) string {
	if strings.ContainsRune("aeiou", rune(name[0])) {
		return "an " + name
	}
	return "a " + name
}
