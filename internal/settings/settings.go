// Package settings declares a command's configuration once: each setting's
// name (the command-line flag and the config file key), its WSUS_*
// environment twin, its default, its help, its validation and the variable
// it fills. One declaration serves flag parsing, the environment, the
// optional TOML config file, the -h text and the README table (Markdown).
//
// What callers may rely on:
//   - Precedence: a flag on the command line wins over its environment twin,
//     which wins over the config file, which wins over the default. Only the
//     winning source is read: a bad value in a source that lost is not an
//     error.
//   - Every bad value, whatever its source, is an *Error naming the flag,
//     its twin, the source (the file and key when it came from the file)
//     and the accepted values. Parse has no side effect beyond filling the
//     declared variables and reading the config file, so that a command can
//     refuse its configuration before it creates or opens anything.
//   - An empty environment variable is a value (the empty one), as a flag
//     given as --flag= is.
//   - Boolean flags accept --flag, --flag=true and "--flag true" /
//     "--flag false" (the flag package alone takes the next argument of a
//     boolean flag for a positional argument).
//   - A config file key no command declares is an error naming the key; a
//     key another command declares (Set.Known) is ignored, so that one file
//     serves every command. A value of the wrong TOML type is an error
//     naming the key.
package settings

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Source is where a setting's value came from.
type Source int

// The sources, lowest precedence first.
const (
	Default Source = iota
	File
	Env
	Flag
)

// kind is a setting's type, as the config file and the help name it.
type kind int

const (
	kindString kind = iota
	kindBool
	kindInt
	kindDuration
	kindList
)

// Setting is one declared setting of a Set.
type Setting struct {
	// Name is the flag name without dashes, also the config file key.
	Name string
	// Env is the environment twin (WSUS_*).
	Env string
	// Default is the default as text ("" when empty).
	Default string
	// Help is the one-line description.
	Help string
	// Want names the accepted values, for errors and the help.
	Want string
	// Secret keeps the value out of error messages (tokens, keys): they
	// name its length instead.
	Secret bool

	kind   kind
	value  func() string           // the variable's value as text
	parse  func(text string) error // checks text and fills the variable
	reset  func()                  // empties a list before a source's values
	source Source
	file   string // the config file, when source is File
	flags  []string
}

// Value returns the setting's current value as text (a list's entries
// joined by ";").
func (s *Setting) Value() string { return s.value() }

// Source tells where the setting's value came from.
func (s *Setting) Source() Source { return s.source }

// Given reports whether any source other than the default set it.
func (s *Setting) Given() bool { return s.source != Default }

// Label names the setting in messages: "--name (WSUS_NAME)", with the file
// and key when its value came from the config file.
func (s *Setting) Label() string {
	l := s.name()
	if s.source == File {
		l += fmt.Sprintf(" [%s, key %q]", s.file, s.Name)
	}
	return l
}

// name is "--name (WSUS_NAME)".
func (s *Setting) name() string {
	if s.Env == "" {
		return "--" + s.Name
	}
	return "--" + s.Name + " (" + s.Env + ")"
}

// from names the source of a value in an error.
func (s *Setting) from() string {
	switch s.source {
	case Flag:
		return "on the command line"
	case Env:
		return "in " + s.Env
	case File:
		return fmt.Sprintf("in %s, key %q", s.file, s.Name)
	}
	return "as the default"
}

// Error is a bad configuration: a value a setting refuses, a wrong
// combination, an unknown or mistyped config file key. Commands exit with
// status 2 on it.
type Error struct{ msg string }

func (e *Error) Error() string { return e.msg }

// Errorf returns an *Error; name the settings with Label.
func Errorf(format string, args ...any) error {
	return &Error{msg: fmt.Sprintf(format, args...)}
}

// Set is one command's settings.
type Set struct {
	// Command names the command ("wsusd serve") in the help.
	Command string
	// Known reports whether another command declares a config file key,
	// which this command then ignores; nil knows none.
	Known func(key string) bool

	list       []*Setting
	byName     map[string]*Setting
	config     *Setting // the setting naming the config file, if declared
	configFile *string  // its variable
}

// New returns an empty set for command.
func New(command string) *Set {
	return &Set{Command: command, byName: map[string]*Setting{}}
}

// Settings returns the declarations in declaration order.
func (s *Set) Settings() []*Setting { return s.list }

// Lookup returns the setting named name, nil when none.
func (s *Set) Lookup(name string) *Setting { return s.byName[name] }

// Label is Lookup(name).Label(); it panics on an undeclared name (a
// programming error).
func (s *Set) Label(name string) string {
	st := s.byName[name]
	if st == nil {
		panic("settings: no setting " + name)
	}
	return st.Label()
}

func (s *Set) add(st *Setting) *Setting {
	if _, dup := s.byName[st.Name]; dup {
		panic("settings: " + s.Command + " declares " + st.Name + " twice")
	}
	s.list = append(s.list, st)
	s.byName[st.Name] = st
	return st
}

// Check is a validation of a string value: nil when v is accepted.
type Check struct {
	// Want names the accepted values ("one of text, json").
	Want string
	// OK reports whether v is accepted; an error adds its reason.
	OK func(v string) error
}

// OneOf accepts exactly the given values (and "" when empty is listed).
func OneOf(values ...string) Check {
	shown := make([]string, 0, len(values))
	for _, v := range values {
		if v == "" {
			shown = append(shown, `"" (empty)`)
		} else {
			shown = append(shown, v)
		}
	}
	return Check{Want: "one of " + strings.Join(shown, ", "), OK: func(v string) error {
		if slices.Contains(values, v) {
			return nil
		}
		return errors.New("not one of them")
	}}
}

// String declares a string setting filling p, default def. Empty is
// always accepted unless a check refuses it.
func (s *Set) String(p *string, name, env, def, help string, checks ...Check) *Setting {
	*p = def
	var wants []string
	for _, c := range checks {
		wants = append(wants, c.Want)
	}
	st := &Setting{Name: name, Env: env, Default: def, Help: help, Want: strings.Join(wants, "; "), kind: kindString,
		value: func() string { return *p }}
	st.parse = func(v string) error {
		for _, c := range checks {
			if err := c.OK(v); err != nil {
				return err
			}
		}
		*p = v
		return nil
	}
	return s.add(st)
}

// Config declares the setting naming the TOML config file read by Parse.
func (s *Set) Config(p *string, name, env, help string) *Setting {
	st := s.String(p, name, env, "", help)
	s.config, s.configFile = st, p
	return st
}

// Bool declares a boolean setting.
func (s *Set) Bool(p *bool, name, env string, def bool, help string) *Setting {
	*p = def
	st := &Setting{Name: name, Env: env, Default: strconv.FormatBool(def), Help: help, Want: "true or false", kind: kindBool,
		value: func() string { return strconv.FormatBool(*p) }}
	st.parse = func(v string) error {
		b, err := parseBool(v)
		if err != nil {
			return err
		}
		*p = b
		return nil
	}
	return s.add(st)
}

// parseBool accepts what strconv.ParseBool accepts.
func parseBool(v string) (bool, error) {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, errors.New("not a boolean")
	}
	return b, nil
}

// Int declares an integer setting accepting min to max.
func (s *Set) Int(p *int, name, env string, def, min, max int, help string) *Setting {
	*p = def
	v64 := int64(def)
	st := s.int64(&v64, name, env, int64(def), int64(min), int64(max), help)
	inner := st.parse
	st.parse = func(v string) error {
		if err := inner(v); err != nil {
			return err
		}
		*p = int(v64)
		return nil
	}
	return st
}

// Int64 declares a 64-bit integer setting accepting min to max.
func (s *Set) Int64(p *int64, name, env string, def, min, max int64, help string) *Setting {
	*p = def
	return s.int64(p, name, env, def, min, max, help)
}

func (s *Set) int64(p *int64, name, env string, def, min, max int64, help string) *Setting {
	want := fmt.Sprintf("an integer from %d to %d", min, max)
	if max == 1<<63-1 || max == 1<<31-1 {
		want = fmt.Sprintf("an integer, at least %d", min)
	}
	st := &Setting{Name: name, Env: env, Default: strconv.FormatInt(def, 10), Help: help, Want: want, kind: kindInt,
		value: func() string { return strconv.FormatInt(*p, 10) }}
	st.parse = func(v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return errors.New("not an integer")
		}
		if n < min || n > max {
			return errors.New("out of range")
		}
		*p = n
		return nil
	}
	return s.add(st)
}

// Duration declares a duration setting ("30s", "5m", "1h30m") accepting
// min and more.
func (s *Set) Duration(p *time.Duration, name, env string, def, min time.Duration, help string) *Setting {
	*p = def
	want := "a duration such as 30s, 5m or 1h30m"
	switch {
	case min == 0:
		want += ", not negative"
	case min == 1:
		want += ", positive"
	case min > 0:
		want += ", at least " + min.String()
	}
	st := &Setting{Name: name, Env: env, Default: def.String(), Help: help, Want: want, kind: kindDuration,
		value: func() string { return p.String() }}
	st.parse = func(v string) error {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return errors.New("not a duration")
		}
		if d < min {
			return errors.New("too small")
		}
		*p = d
		return nil
	}
	return s.add(st)
}

// List declares a list setting: the flag may be repeated, and each value
// (the environment's, a config file string) may hold several entries
// separated by ";" (titles contain commas); the config file may also give
// an array of strings. *given tells whether any source set it.
func (s *Set) List(p *[]string, given *bool, name, env, help string) *Setting {
	*p, *given = nil, false
	st := &Setting{Name: name, Env: env, Help: help, Want: `values separated by ";"`, kind: kindList,
		value: func() string { return strings.Join(*p, ";") }}
	st.reset = func() { *p, *given = []string{}, true }
	st.parse = func(v string) error {
		for part := range strings.SplitSeq(v, ";") {
			if part = strings.TrimSpace(part); part != "" {
				*p = append(*p, part)
			}
		}
		return nil
	}
	return s.add(st)
}

// badValue is the *Error of a value st refuses.
func (st *Setting) badValue(v string, reason error) error {
	shown := strconv.Quote(v)
	if st.Secret {
		shown = fmt.Sprintf("(%d characters, not shown)", len(v))
	}
	msg := fmt.Sprintf("%s: invalid value %s %s", st.name(), shown, st.from())
	if reason != nil && reason.Error() != "" && st.Want == "" {
		msg += ": " + reason.Error()
	}
	if st.Want != "" {
		msg += ": want " + st.Want
	}
	return &Error{msg: msg}
}

// apply sets st from one source's values.
func (st *Setting) apply(src Source, file string, values []string) error {
	st.source, st.file = src, file
	if st.reset != nil {
		st.reset()
	}
	for _, v := range values {
		if err := st.parse(v); err != nil {
			return st.badValue(v, err)
		}
	}
	return nil
}

// recorder is the flag.Value of a setting: it records what the command line
// gives; Parse applies it after weighing the sources.
type recorder struct{ st *Setting }

func (r recorder) String() string {
	if r.st == nil {
		return ""
	}
	return r.st.Default
}

func (r recorder) Set(v string) error {
	if r.st.kind != kindList {
		r.st.flags = r.st.flags[:0]
	}
	r.st.flags = append(r.st.flags, v)
	return nil
}

func (r recorder) IsBoolFlag() bool { return r.st != nil && r.st.kind == kindBool }

// ErrUsage is returned by Parse for a command line the flag package
// refused (an unknown flag, a flag without its value); the flag package
// printed why.
var ErrUsage = errors.New("settings: usage")

// Parse reads the command line args, the environment (lookup; nil means
// os.LookupEnv) and the config file, fills every declared variable and
// returns the positional arguments. It returns flag.ErrHelp after printing
// the help for -h, ErrUsage after the flag package printed a usage
// error, and an *Error for a bad value or config file.
func (s *Set) Parse(args []string, lookup func(string) (string, bool), out io.Writer, usage string) ([]string, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	fs := flag.NewFlagSet(s.Command, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintln(out, usage)
		s.PrintHelp(out)
	}
	for _, st := range s.list {
		st.flags = nil
		fs.Var(recorder{st}, st.Name, st.Help)
	}
	if err := fs.Parse(s.boolValues(args)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, ErrUsage
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	envOf := func(st *Setting) (string, bool) {
		if st.Env == "" {
			return "", false
		}
		return lookup(st.Env)
	}
	// The config file's name first: it cannot come from the file itself.
	if c := s.config; c != nil {
		if given[c.Name] {
			if err := c.apply(Flag, "", c.flags); err != nil {
				return nil, err
			}
		} else if v, ok := envOf(c); ok {
			if err := c.apply(Env, "", []string{v}); err != nil {
				return nil, err
			}
		}
	}
	fileValues, path, err := s.readFile()
	if err != nil {
		return nil, err
	}
	for _, st := range s.list {
		if st == s.config {
			continue
		}
		if given[st.Name] {
			err = st.apply(Flag, "", st.flags)
		} else if v, ok := envOf(st); ok {
			err = st.apply(Env, "", []string{v})
		} else if vs, ok := fileValues[st.Name]; ok {
			err = st.apply(File, path, vs)
		}
		if err != nil {
			return nil, err
		}
	}
	return fs.Args(), nil
}

// boolValues rewrites "--flag true" and "--flag false" of a boolean
// setting into "--flag=true", so that the flag package does not take the
// value for a positional argument.
func (s *Set) boolValues(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || a == "-" || !strings.HasPrefix(a, "-") {
			// The flag package stops here: the rest is positional.
			return append(out, args[i:]...)
		}
		out = append(out, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		st := s.byName[name]
		if st == nil {
			continue
		}
		if st.kind != kindBool {
			// Its value is the next argument: copy it as is.
			if i+1 < len(args) {
				out = append(out, args[i+1])
				i++
			}
			continue
		}
		if i+1 < len(args) && (args[i+1] == "true" || args[i+1] == "false") {
			out[len(out)-1] = a + "=" + args[i+1]
			i++
		}
	}
	return out
}

// PrintHelp writes every setting with its twin, help, default and
// accepted values, in declaration order.
func (s *Set) PrintHelp(w io.Writer) {
	for _, st := range s.list {
		fmt.Fprintf(w, "  --%s", st.Name)
		if st.Env != "" {
			fmt.Fprintf(w, "  [%s]", st.Env)
		}
		fmt.Fprintf(w, "\n      %s", st.Help)
		if st.Default != "" {
			fmt.Fprintf(w, " (default %q)", st.Default)
		}
		if st.Want != "" && st.kind != kindBool {
			fmt.Fprintf(w, "\n      accepts %s", st.Want)
		}
		fmt.Fprintln(w)
	}
}
