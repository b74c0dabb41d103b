package main

import (
	"bytes"
	"context"
	"go/ast"
	"go/parser"
	gotoken "go/token"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// lookupNames are the command names lookup (commands.go) answers, read
// from its source: every string of its case clauses.
func lookupNames(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(gotoken.NewFileSet(), "commands.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "lookup" {
			continue
		}
		ast.Inspect(fn, func(n ast.Node) bool {
			if cc, ok := n.(*ast.CaseClause); ok {
				for _, e := range cc.List {
					if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == gotoken.STRING {
						s, _ := strconv.Unquote(lit.Value)
						names = append(names, s)
					}
				}
			}
			return true
		})
	}
	if len(names) < 10 {
		t.Fatalf("found %d commands in lookup: %v; has it changed shape?", len(names), names)
	}
	for _, n := range names {
		if _, ok := lookup(n); !ok {
			t.Fatalf("lookup(%q) is false, though it is a case of lookup", n)
		}
	}
	return names
}

// TestUsageNamesEveryCommand: the usage text and lookup name the same
// commands, so a new command fails this test until it is documented (and
// so has its --help).
func TestUsageNamesEveryCommand(t *testing.T) {
	names := lookupNames(t)
	documented := map[string]bool{}
	for _, e := range usageEntries(usage) {
		for _, n := range e.names {
			documented[n] = true
			if !slices.Contains(names, n) {
				t.Errorf("the usage documents %q, which lookup does not know", n)
			}
		}
	}
	for _, n := range names {
		if !documented[n] {
			t.Errorf("command %q has no entry in the usage text (main.go)", n)
		}
	}
}

// runHelp runs wsusctl with args and no token, wanting exit 0 and the
// usage on stdout.
func runHelp(t *testing.T, args ...string) string {
	t.Helper()
	t.Setenv("WSUS_ADMIN_TOKEN", "")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("wsusctl %s: exit %d, stderr %q", strings.Join(args, " "), code, stderr.String())
	}
	if stderr.Len() != 0 {
		t.Errorf("wsusctl %s wrote to stderr: %q", strings.Join(args, " "), stderr.String())
	}
	if !strings.HasPrefix(stdout.String(), "usage: wsusctl ") || !strings.Contains(stdout.String(), "\nflags:\n") {
		t.Errorf("wsusctl %s printed no usage:\n%s", strings.Join(args, " "), stdout.String())
	}
	return stdout.String()
}

func TestCommandHelp(t *testing.T) {
	entries := usageEntries(usage)
	for _, name := range lookupNames(t) {
		var texts []string
		for _, e := range entries {
			if slices.Contains(e.names, name) {
				texts = append(texts, e.text)
			}
		}
		for _, args := range [][]string{{name, "--help"}, {name, "-h"}, {"help", name}, {name, "x", "--help", "--nonsense"}} {
			out := runHelp(t, args...)
			if !strings.HasPrefix(out, "usage: wsusctl [--server URL] [--token T] [--json] "+name+" ") {
				t.Errorf("wsusctl %s: first line %q", strings.Join(args, " "), strings.SplitN(out, "\n", 2)[0])
			}
			for _, text := range texts {
				if !strings.Contains(out, text) {
					t.Errorf("wsusctl %s lacks the entry\n%s", strings.Join(args, " "), text)
				}
			}
		}
	}
	// A subcommand's help is its entries only.
	for _, e := range entries {
		if e.sub == "" {
			continue
		}
		out := runHelp(t, e.names[0], e.sub, "--help")
		if !strings.Contains(out, e.text) || !strings.Contains(out, "] "+e.names[0]+" "+e.sub+" [arguments]") {
			t.Errorf("wsusctl %s %s --help:\n%s", e.names[0], e.sub, out)
		}
		for _, other := range entries {
			if other.sub != "" && other.sub != e.sub && slices.Equal(other.names, e.names) && strings.Contains(out, other.text) {
				t.Errorf("wsusctl %s %s --help shows %q too", e.names[0], e.sub, other.text)
			}
		}
	}
	// After "--", --help is an argument, not a request for help.
	if wantsHelp([]string{"--", "--help"}) || !wantsHelp([]string{"a", "-help"}) {
		t.Error("wantsHelp does not stop at --")
	}
}
