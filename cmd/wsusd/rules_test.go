package main

import (
	"strings"
	"testing"
)

// TestRulesIntervalFlag: a negative --rules-interval (or WSUS_RULES_INTERVAL)
// is a usage error named with its environment twin, before anything opens;
// serve's help lists the flag.
func TestRulesIntervalFlag(t *testing.T) {
	t.Setenv("WSUS_DATA", t.TempDir())
	for _, c := range []struct {
		name string
		env  string
		args []string
	}{
		{"flag", "", []string{"--rules-interval", "-1m"}},
		{"environment", "-5s", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.env != "" {
				t.Setenv("WSUS_RULES_INTERVAL", c.env)
			}
			code, out, errs := runWsusd(t, append([]string{"serve", "--listen", "127.0.0.1:0"}, c.args...)...)
			if code != 2 || !strings.Contains(errs, "--rules-interval (WSUS_RULES_INTERVAL): invalid value") || !strings.Contains(errs, "not negative") {
				t.Errorf("exit %d, output %q%q; want 2 naming the flag", code, out, errs)
			}
		})
	}
	code, out, errs := runWsusd(t, "serve", "--help")
	if !strings.Contains(out+errs, "-rules-interval") || !strings.Contains(out+errs, "WSUS_RULES_INTERVAL") {
		t.Errorf("serve --help (exit %d) does not list --rules-interval: %s%s", code, out, errs)
	}
}
