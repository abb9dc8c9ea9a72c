// Package version says which build of tasuki is running: the release
// version stamped by the release build (-ldflags -X), else what the Go
// toolchain recorded in the binary (module version, VCS revision and time).
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Set by the release build:
//
//	-ldflags "-X github.com/tasuki-sre/tasuki/internal/version.version=v1.2.3
//	          -X github.com/tasuki-sre/tasuki/internal/version.commit=abc123
//	          -X github.com/tasuki-sre/tasuki/internal/version.date=2026-01-02T03:04:05Z"
//
// Left empty by `go build` and `go run`, where the build info fills in.
var (
	version string
	commit  string
	date    string
)

// Info is what `app version` and `action version` print.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`
	Date      string `json:"date,omitempty"`
	Modified  bool   `json:"modified,omitempty"`
	GoVersion string `json:"go"`
	Platform  string `json:"platform"`
}

// Get returns the running binary's version information.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return from(bi, version, commit, date)
}

// from merges the stamped values with the build info; stamped values win
// because a release build knows its tag, which the build info of a binary
// built from a checkout does not.
func from(bi *debug.BuildInfo, v, c, d string) Info {
	in := Info{Version: v, Commit: c, Date: d, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi != nil {
		if bi.GoVersion != "" {
			in.GoVersion = bi.GoVersion
		}
		// `go install module@v1.2.3` records the module version; a build
		// in a checkout records "(devel)" or a pseudo-version.
		if in.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			in.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if in.Commit == "" {
					in.Commit = s.Value
				}
			case "vcs.time":
				if in.Date == "" {
					in.Date = s.Value
				}
			case "vcs.modified":
				in.Modified = s.Value == "true"
			}
		}
	}
	if in.Version == "" {
		in.Version = "devel"
	}
	return in
}

// String is the one line the version commands print, e.g.
// "tasuki v1.2.3 (commit 0a1b2c3d4e5f, 2026-01-02T03:04:05Z) go1.26.8 linux/amd64".
func (in Info) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tasuki %s", in.Version)
	var meta []string
	if in.Commit != "" {
		c := in.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		if in.Modified {
			c += "+dirty"
		}
		meta = append(meta, "commit "+c)
	}
	if in.Date != "" {
		meta = append(meta, in.Date)
	}
	if len(meta) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(meta, ", "))
	}
	fmt.Fprintf(&b, " %s %s", in.GoVersion, in.Platform)
	return b.String()
}
