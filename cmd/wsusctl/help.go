package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// Help. The usage text (main.go) is the one table of commands people
// read: each entry starts at an indent of two spaces with the command's
// name ("sync start", or several names as "approve|unapprove"), its
// continuation lines are indented further. `wsusctl <command> --help` (or
// -h, or `wsusctl help <command>`) prints the entries of that command,
// narrowed to a subcommand when one is named ("sync start --help"), and
// exits 0, before the command parses anything: a command added to lookup
// and to the usage text has its help with no code of its own.
// help_test.go checks that lookup and the usage text name the same
// commands.

// usageEntry is one entry of the usage text's command list.
type usageEntry struct {
	names []string // "approve", or "approve", "unapprove", ... for "approve|unapprove"
	sub   string   // the subcommand ("start" of "sync start"), "" when none
	text  string   // the entry's lines
}

// usageEntries parses the command list of the usage text u.
func usageEntries(u string) []usageEntry {
	_, list, _ := strings.Cut(u, "\ncommands:\n")
	list, _, _ = strings.Cut(list, "\n\n")
	var out []usageEntry
	for _, line := range strings.Split(list, "\n") {
		if strings.HasPrefix(line, "  ") && !strings.HasPrefix(line, "   ") {
			// The syntax ends where a gap of two spaces starts the
			// description on the same line.
			syntax := line[2:]
			if i := strings.Index(syntax, "  "); i >= 0 {
				syntax = syntax[:i]
			}
			fields := strings.Fields(syntax)
			e := usageEntry{names: strings.Split(fields[0], "|"), text: line + "\n"}
			if len(fields) > 1 && isWord(fields[1]) {
				e.sub = fields[1]
			}
			out = append(out, e)
			continue
		}
		if len(out) > 0 {
			out[len(out)-1].text += line + "\n"
		}
	}
	return out
}

// isWord reports whether s is a subcommand's name: lower-case letters and
// dashes, as "start" or "groups" (not an argument such as NAME or
// UPDATE-ID..., nor a flag).
func isWord(s string) bool {
	return s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyz-") == "" && s[0] != '-'
}

// wantsHelp reports whether args ask for help: -h, -help or --help before
// a "--" that ends the flags.
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// commandHelp writes the help of command name (narrowed to the subcommand
// args name first, when there is one) and reports whether the usage text
// has an entry for it.
func commandHelp(w io.Writer, name string, args []string) bool {
	var entries []usageEntry
	for _, e := range usageEntries(usage) {
		if slices.Contains(e.names, name) {
			entries = append(entries, e)
		}
	}
	if len(entries) == 0 {
		return false
	}
	head := name
	if len(args) > 0 && isWord(args[0]) {
		var narrowed []usageEntry
		for _, e := range entries {
			if e.sub == args[0] {
				narrowed = append(narrowed, e)
			}
		}
		if len(narrowed) > 0 {
			entries, head = narrowed, name+" "+args[0]
		}
	}
	fmt.Fprintf(w, "usage: wsusctl [--server URL] [--token T] [--json] %s [arguments]\n\n", head)
	for _, e := range entries {
		fmt.Fprint(w, e.text)
	}
	if _, flags, ok := strings.Cut(usage, "\nflags:\n"); ok {
		fmt.Fprint(w, "\nflags:\n"+flags)
	}
	return true
}
