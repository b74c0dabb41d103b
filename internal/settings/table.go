package settings

import (
	"fmt"
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
		if r.st.Want != "" && r.st.kind == kindString {
			help += " (" + r.st.Want + ")"
		}
		fmt.Fprintf(&b, "| `--%s` | `%s` | %s | %s | %s |\n", r.st.Name, r.st.Env, def,
			strings.ReplaceAll(help, "|", `\|`), strings.Join(r.commands, ", "))
	}
	return b.String(), nil
}
