package server

import (
	"regexp"
	"runtime"
	"testing"
)

// A ready /readyz names the running build after "ok" (the probes read
// only the status).
func TestReadyBodyNamesTheBuild(t *testing.T) {
	re := regexp.MustCompile(`^ok wsusd dev \(commit [^,]+, ` + regexp.QuoteMeta(runtime.Version()) + `\)\n$`)
	if got := readyBody(); !re.MatchString(got) {
		t.Errorf("readyBody() = %q, want a match of %s", got, re)
	}
}
