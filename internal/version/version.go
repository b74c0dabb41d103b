// Package version tells which build of wsus is running: the release
// version and commit the binary was built from, and the Go version that
// built it. `wsusd version`, /readyz, the admin API's server info and the
// wsus_build_info metric all read it here.
//
// Version and Commit are set at link time:
//
//	go build -ldflags "-X wsus/internal/version.version=1.2.0 -X wsus/internal/version.commit=abc1234"
//
// (the Makefile and the Dockerfile do). Without them the commit comes from
// the VCS stamp Go writes into binaries built inside a git work tree, and
// the version is "dev".
package version

import (
	"runtime"
	"runtime/debug"
)

// Set by the linker (-X); never written at run time.
var (
	version string
	commit  string
)

// Info is one build's identity.
type Info struct {
	// Version is the release ("1.2.0"), "dev" when not set at link time.
	Version string `json:"version"`
	// Commit is the git commit ("" when unknown); Modified reports a work
	// tree with uncommitted changes at build time.
	Commit   string `json:"commit"`
	Modified bool   `json:"modified,omitempty"`
	// GoVersion is the Go release that built the binary ("go1.26.8").
	GoVersion string `json:"go_version"`
}

// Get returns the running binary's build identity.
func Get() Info {
	info := Info{Version: version, Commit: commit, GoVersion: runtime.Version()}
	if info.Version == "" {
		info.Version = "dev"
	}
	if bi, ok := debug.ReadBuildInfo(); ok && info.Commit == "" {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info.Commit = s.Value
			case "vcs.modified":
				info.Modified = s.Value == "true"
			}
		}
	}
	return info
}

// String is the one-line form `wsusd version` prints:
// "wsusd 1.2.0 (commit abc1234, go1.26.8)".
func (i Info) String() string {
	c := i.Commit
	if c == "" {
		c = "unknown"
	} else if len(c) > 12 {
		c = c[:12]
	}
	if i.Modified {
		c += "+modified"
	}
	return "wsusd " + i.Version + " (commit " + c + ", " + i.GoVersion + ")"
}
