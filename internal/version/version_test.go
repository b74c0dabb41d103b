package version

import (
	"runtime"
	"testing"
)

func TestInfoString(t *testing.T) {
	for _, tc := range []struct {
		info Info
		want string
	}{
		{Info{Version: "1.2.0", Commit: "0123456789abcdef0123", GoVersion: "go1.26.8"}, "wsusd 1.2.0 (commit 0123456789ab, go1.26.8)"},
		{Info{Version: "dev", GoVersion: "go1.26.8"}, "wsusd dev (commit unknown, go1.26.8)"},
		{Info{Version: "dev", Commit: "abc", Modified: true, GoVersion: "go1.26.8"}, "wsusd dev (commit abc+modified, go1.26.8)"},
	} {
		if got := tc.info.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}

func TestGet(t *testing.T) {
	got := Get()
	if got.Version != "dev" || got.GoVersion != runtime.Version() {
		t.Fatalf("Get() = %+v, want version dev and %s", got, runtime.Version())
	}
}
