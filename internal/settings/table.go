package settings

import (
	"fmt"
	"strconv"
	"strings"
)

// Table returns the Markdown table of the settings of sets: one row per
// setting name (flag, environment twin, default, description, the commands
// declaring it), in the order first declared. A name two commands declare
// differently (twin, default or help) is an error: a setting shared by
// commands must be declared once.
func Table(sets []*Set) (string, error) {
	type row struct {
		st       *Setting
		commands []string
	}
	var rows []*row
	byName := map[string]*row{}
	for _, set := range sets {
		cmd := strings.TrimPrefix(set.Command, "wsusd ")
		for _, st := range set.list {
			r := byName[st.Name]
			if r == nil {
				r = &row{st: st}
				byName[st.Name] = r
				rows = append(rows, r)
			} else if r.st.Env != st.Env || r.st.Default != st.Default || r.st.Help != st.Help || r.st.Want != st.Want {
				return "", fmt.Errorf("settings: --%s is declared differently by %s and %s", st.Name, r.commands[0], cmd)
			}
			r.commands = append(r.commands, cmd)
		}
	}
	var b strings.Builder
	b.WriteString("| Flag | Environment | Default | Description | Commands |\n|---|---|---|---|---|\n")
	for _, r := range rows {
		def := ""
		if r.st.Default != "" {
			def = "`" + r.st.Default + "`"
		}
		help := r.st.Help
		if r.st.Want != "" && r.st.kind != kindBool {
			help += " (" + r.st.Want + ")"
		}
		help = strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;").Replace(help)
		fmt.Fprintf(&b, "| `--%s` | `%s` | %s | %s | %s |\n", r.st.Name, r.st.Env, def, help, strings.Join(r.commands, ", "))
	}
	return b.String(), nil
}

// Example returns a TOML config file documenting every setting of sets
// but the config file's own: per setting its help, what it accepts, the
// commands reading it, and its key with the default, commented out. header
// is put first, each line as a comment.
func Example(sets []*Set, header string) (string, error) {
	if _, err := Table(sets); err != nil {
		return "", err // one name declared two ways
	}
	var b strings.Builder
	for line := range strings.SplitSeq(strings.TrimRight(header, "\n"), "\n") {
		b.WriteString(strings.TrimRight("# "+line, " ") + "\n")
	}
	seen := map[string][]string{}
	var order []*Setting
	for _, set := range sets {
		cmd := strings.TrimPrefix(set.Command, "wsusd ")
		for _, st := range set.list {
			if st == set.config {
				continue
			}
			if _, ok := seen[st.Name]; !ok {
				order = append(order, st)
			}
			seen[st.Name] = append(seen[st.Name], cmd)
		}
	}
	for _, st := range order {
		fmt.Fprintf(&b, "\n# %s\n", st.Help)
		if st.Want != "" {
			fmt.Fprintf(&b, "# Accepts %s.\n", st.Want)
		}
		fmt.Fprintf(&b, "# %s; read by %s.\n", st.Env, strings.Join(seen[st.Name], ", "))
		fmt.Fprintf(&b, "# %s = %s\n", st.Name, st.tomlDefault())
	}
	return b.String(), nil
}

// tomlDefault is the default as a TOML value.
func (st *Setting) tomlDefault() string {
	switch st.kind {
	case kindBool, kindInt:
		return st.Default
	case kindList:
		return "[]"
	}
	return strconv.Quote(st.Default)
}
