package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"wsus/internal/version"
)

// versionCmd runs `wsusd version [--json]`: the build's version, commit and
// Go version (internal/version), one line or a JSON object.
func versionCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wsusd version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the build identity as a JSON object")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		return flagError(fmt.Sprintf("version takes no arguments, got %q", fs.Args()))
	}
	info := version.Get()
	if !*asJSON {
		_, err := fmt.Fprintln(stdout, info.String())
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(info)
}
