package version

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestFrom(t *testing.T) {
	withVCS := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/tasuki-sre/tasuki", Version: "(devel)"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123"},
			{Key: "vcs.time", Value: "2026-01-02T03:04:05Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	installed := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"}}
	platform := runtime.GOOS + "/" + runtime.GOARCH
	tests := []struct {
		name          string
		bi            *debug.BuildInfo
		v, c, d, want string
	}{
		{"stamped release wins over build info", withVCS, "v1.2.3", "feedface", "2026-02-03T00:00:00Z",
			"tasuki v1.2.3 (commit feedface+dirty, 2026-02-03T00:00:00Z) go1.26.8 " + platform},
		{"checkout build: revision from VCS, devel version", withVCS, "", "", "",
			"tasuki devel (commit 0123456789ab+dirty, 2026-01-02T03:04:05Z) go1.26.8 " + platform},
		{"go install module@version", installed, "", "", "",
			"tasuki v1.4.0 go1.26.8 " + platform},
		{"no build info", nil, "", "", "",
			"tasuki devel " + runtime.Version() + " " + platform},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := from(tc.bi, tc.v, tc.c, tc.d).String()
			if got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestLdflags builds a tiny program with the release build's -X flags and
// checks the version it prints: the flags name variables that exist, so a
// rename here breaks this test and not the release.
func TestLdflags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "v")
	pkg := "github.com/tasuki-sre/tasuki/internal/version"
	ld := "-X " + pkg + ".version=v9.8.7 -X " + pkg + ".commit=abcdef -X " + pkg + ".date=2026-03-04T05:06:07Z"
	cmd := exec.Command("go", "build", "-o", bin, "-ldflags", ld, "./testdata/printversion")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); !strings.HasPrefix(got, "tasuki v9.8.7 (commit abcdef, 2026-03-04T05:06:07Z) go") {
		t.Errorf("stamped binary prints %q", got)
	}
}
