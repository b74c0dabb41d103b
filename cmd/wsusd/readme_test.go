package main

import (
	"flag"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"wsus/internal/settings"
)

var updateREADME = flag.Bool("update", false, "rewrite the README's settings table from the declarations")

// The README's settings table, between these markers, is generated from
// the declarations (config.go):
//
//	go test ./cmd/wsusd -run TestREADMETable -update
const (
	tableStart = "<!-- settings table: generated from cmd/wsusd/config.go by `go test ./cmd/wsusd -run TestREADMETable -update`; do not edit -->\n"
	tableEnd   = "<!-- end of the settings table -->\n"
)

// TestREADMETable fails when the README's settings table differs from the
// declarations of every wsusd command (and when two commands declare one
// setting differently).
func TestREADMETable(t *testing.T) {
	const readme = "../../README.md"
	table, err := settings.Table(allSettings())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	start, end := strings.Index(doc, tableStart), strings.Index(doc, tableEnd)
	if start < 0 || end < start {
		t.Fatalf("README.md lacks the markers %q and %q", tableStart, tableEnd)
	}
	start += len(tableStart)
	if doc[start:end] == table {
		return
	}
	if *updateREADME {
		if err := os.WriteFile(readme, []byte(doc[:start]+table+doc[end:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's settings table differs from the declarations; run go test ./cmd/wsusd -run TestREADMETable -update\nwant:\n%s", table)
}

// exampleHeader starts deploy/wsusd.toml.
const exampleHeader = `Example configuration of every wsusd command (TOML), generated from cmd/wsusd/config.go by
  go test ./cmd/wsusd -run TestConfigExample -update

Use it with --config /etc/wsusd/wsusd.toml (or WSUS_CONFIG=/etc/wsusd/wsusd.toml). The keys are the
flag names; each setting below is commented out at its default. A flag on the command line wins over
its WSUS_* environment twin, which wins over this file. One file serves every command: a key another
command reads is ignored by the others; a key no command reads, or a value of the wrong type, is an
error naming the key. Check a configuration without serving with: wsusd check --config FILE
`

// TestConfigExample fails when deploy/wsusd.toml differs from the
// declarations, and checks that the file with every key uncommented (the
// defaults) is accepted by every command.
func TestConfigExample(t *testing.T) {
	const path = "../../deploy/wsusd.toml"
	want, err := settings.Example(allSettings(), exampleHeader)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil && !*updateREADME {
		t.Fatal(err)
	}
	if string(raw) != want {
		if !*updateREADME {
			t.Fatalf("%s differs from the declarations; run go test ./cmd/wsusd -run TestConfigExample -update", path)
		}
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	keyLine := regexp.MustCompile(`(?m)^# ([a-z0-9-]+ = .*)$`)
	active := keyLine.ReplaceAllString(want, "$1")
	if n := len(keyLine.FindAllString(want, -1)); n < 40 {
		t.Errorf("only %d keys in the example", n)
	}
	t.Setenv("WSUS_CONFIG", writeConfig(t, active))
	for _, s := range allSettings() {
		if _, err := parseSettings(s, nil, io.Discard, "usage"); err != nil {
			t.Errorf("%s with every key of the example: %v", s.Command, err)
		}
	}
}
