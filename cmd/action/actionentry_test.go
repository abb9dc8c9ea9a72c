package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tasuki-sre/tasuki/internal/testenv"
)

// The tools the entry script may use; the tests give it a PATH holding only
// these (and, where a case says so, a stand-in go), so a dependency on
// anything else, or on a go the runner happens to have, shows up here.
var entryTools = []string{"sh", "curl", "awk", "tr", "cut", "mkdir", "chmod", "mv", "rm", "dirname", "uname", "sha256sum"}

// fakeRelease is a release directory as GitHub serves it: one stand-in
// binary per published platform and checksums.txt, as .goreleaser.yaml
// names them.
func fakeRelease(t *testing.T, root, version string, corrupt string) {
	t.Helper()
	dir := filepath.Join(root, version)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var sums strings.Builder
	for _, p := range []string{"linux_amd64", "linux_arm64", "darwin_arm64", "windows_amd64.exe"} {
		name := "tasuki-action_" + p
		body := fmt.Sprintf("#!/bin/sh\necho \"release %s %s: $*\"\n", version, p)
		sum := sha256.Sum256([]byte(body))
		if name == corrupt {
			body += "# tampered\n"
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(sum[:]), name)
	}
	if err := os.WriteFile(filepath.Join(dir, "checksums.txt"), []byte(sums.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestActionEntryScript runs scripts/action-entry.sh as action.yml does,
// against a local release server: the right asset for each runner, a
// tampered download refused, and a build from source (a stand-in go that
// records how it was called) when there is no release to use.
func TestActionEntryScript(t *testing.T) {
	tools := t.TempDir()
	for _, name := range entryTools {
		p, err := exec.LookPath(name)
		if err != nil {
			testenv.Missing(t, name+" (the action's entry script uses it)")
		}
		if err := os.Symlink(p, filepath.Join(tools, name)); err != nil {
			t.Fatal(err)
		}
	}
	// The stand-in go builds a stand-in binary at -o and logs its environment.
	goDir := t.TempDir()
	fakeGo := `#!/bin/sh
out=
while [ $# -gt 0 ]; do
	case "$1" in -o) out=$2; shift ;; esac
	shift
done
printf '#!/bin/sh\necho "built from source: $*"\n' >"$out"
chmod +x "$out"
echo "GOTOOLCHAIN=$GOTOOLCHAIN CGO_ENABLED=$CGO_ENABLED GOOS=${GOOS:-} GOWORK=$GOWORK private=$(case $GOMODCACHE in "$RUNNER_TEMP"/*) echo yes;; *) echo no;; esac) dir=${PWD##*/}" >>"$FAKE_GO_LOG"
`
	if err := os.WriteFile(filepath.Join(goDir, "go"), []byte(fakeGo), 0o755); err != nil {
		t.Fatal(err)
	}

	root := t.TempDir()
	fakeRelease(t, root, "v1.2.3", "")
	fakeRelease(t, root, "v6.6.6", "tasuki-action_linux_amd64")
	// v1.3.0 was published without the windows binary.
	fakeRelease(t, root, "v1.3.0", "")
	if err := os.Remove(filepath.Join(root, "v1.3.0", "tasuki-action_windows_amd64.exe")); err != nil {
		t.Fatal(err)
	}
	sums, _ := os.ReadFile(filepath.Join(root, "v1.3.0", "checksums.txt"))
	var kept []string
	for _, l := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		if !strings.HasSuffix(l, ".exe") {
			kept = append(kept, l)
		}
	}
	_ = os.WriteFile(filepath.Join(root, "v1.3.0", "checksums.txt"), []byte(strings.Join(kept, "\n")+"\n"), 0o644)

	var mu sync.Mutex
	var requests []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests = append(requests, r.URL.Path)
		mu.Unlock()
		http.FileServer(http.Dir(root)).ServeHTTP(w, r)
	}))
	defer srv.Close()

	script := filepath.Join(testenv.ModuleRoot(), "scripts", "action-entry.sh")
	const goMod = "module github.com/tasuki-sre/tasuki\n\ngo 1.26.8\n"
	built := "built from source: plan-review\n"

	tests := []struct {
		name        string
		version     string // the action checkout's VERSION
		ref         string // github.action_ref
		os, arch    string // RUNNER_OS, RUNNER_ARCH
		noGo        bool
		wantCode    int
		wantOut     string // stdout: the binary's, or the error annotation
		wantFetched []string
		wantGo      string // the stand-in go's log line, "" when not run
	}{
		{name: "full tag, linux amd64", version: "v1.2.3", ref: "v1.2.3", os: "Linux", arch: "X64",
			wantOut:     "release v1.2.3 linux_amd64: plan-review\n",
			wantFetched: []string{"/v1.2.3/checksums.txt", "/v1.2.3/tasuki-action_linux_amd64"}},
		{name: "moving major tag, linux arm64", version: "v1.2.3", ref: "v1", os: "Linux", arch: "ARM64",
			wantOut:     "release v1.2.3 linux_arm64: plan-review\n",
			wantFetched: []string{"/v1.2.3/checksums.txt", "/v1.2.3/tasuki-action_linux_arm64"}},
		{name: "minor tag, macOS arm64", version: "v1.2.3", ref: "v1.2", os: "macOS", arch: "ARM64",
			wantOut:     "release v1.2.3 darwin_arm64: plan-review\n",
			wantFetched: []string{"/v1.2.3/checksums.txt", "/v1.2.3/tasuki-action_darwin_arm64"}},
		{name: "windows amd64", version: "v1.2.3", ref: "v1", os: "Windows", arch: "X64",
			wantOut:     "release v1.2.3 windows_amd64.exe: plan-review\n",
			wantFetched: []string{"/v1.2.3/checksums.txt", "/v1.2.3/tasuki-action_windows_amd64.exe"}},
		{name: "checksum mismatch is refused", version: "v6.6.6", ref: "v6", os: "Linux", arch: "X64",
			wantCode:    3,
			wantOut:     "::error title=tasuki::checksum mismatch for tasuki-action_linux_amd64 of tasuki v6.6.6: checksums.txt says ",
			wantFetched: []string{"/v6.6.6/checksums.txt", "/v6.6.6/tasuki-action_linux_amd64"}},
		{name: "no such release: build", version: "v9.0.0", ref: "v9", os: "Linux", arch: "X64",
			wantOut: built, wantFetched: []string{"/v9.0.0/checksums.txt"},
			wantGo: "GOTOOLCHAIN=go1.26.8 CGO_ENABLED=0 GOOS= GOWORK=off private=yes dir=action"},
		{name: "release without this platform's asset: build", version: "v1.3.0", ref: "v1.3.0", os: "Windows", arch: "X64",
			wantOut: built, wantFetched: []string{"/v1.3.0/checksums.txt"},
			wantGo: "GOTOOLCHAIN=go1.26.8 CGO_ENABLED=0 GOOS= GOWORK=off private=yes dir=action"},
		{name: "branch: build, nothing downloaded", version: "v1.2.3", ref: "main", os: "Linux", arch: "X64",
			wantOut: built, wantGo: "GOTOOLCHAIN=go1.26.8 CGO_ENABLED=0 GOOS= GOWORK=off private=yes dir=action"},
		{name: "tag of another release: build", version: "v1.2.3", ref: "v2", os: "Linux", arch: "X64",
			wantOut: built, wantGo: "GOTOOLCHAIN=go1.26.8 CGO_ENABLED=0 GOOS= GOWORK=off private=yes dir=action"},
		{name: "unknown ref: build", version: "v1.2.3", ref: "", os: "Linux", arch: "X64",
			wantOut: built, wantGo: "GOTOOLCHAIN=go1.26.8 CGO_ENABLED=0 GOOS= GOWORK=off private=yes dir=action"},
		{name: "platform without releases: build", version: "v1.2.3", ref: "v1", os: "Linux", arch: "ARM",
			wantOut: built, wantGo: "GOTOOLCHAIN=go1.26.8 CGO_ENABLED=0 GOOS= GOWORK=off private=yes dir=action"},
		{name: "no release and no go", version: "v9.0.0", ref: "main", os: "Linux", arch: "X64", noGo: true,
			wantCode: 3, wantOut: "::error title=tasuki::no tasuki v9.0.0 release binary for linux/amd64 at ref 'main', and no go command on PATH"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			action := filepath.Join(t.TempDir(), "action")
			if err := os.MkdirAll(action, 0o755); err != nil {
				t.Fatal(err)
			}
			for name, body := range map[string]string{"VERSION": tc.version + "\n", "go.mod": goMod} {
				if err := os.WriteFile(filepath.Join(action, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			runnerTemp := t.TempDir()
			goLog := filepath.Join(t.TempDir(), "go.log")
			path := tools
			if !tc.noGo {
				path = goDir + string(os.PathListSeparator) + tools
			}
			mu.Lock()
			requests = nil
			mu.Unlock()

			cmd := exec.Command(filepath.Join(tools, "sh"), script, "plan-review")
			cmd.Env = []string{
				"PATH=" + path, "RUNNER_TEMP=" + runnerTemp, "RUNNER_OS=" + tc.os, "RUNNER_ARCH=" + tc.arch,
				"TASUKI_ACTION_PATH=" + action, "TASUKI_ACTION_REF=" + tc.ref,
				"TASUKI_RELEASE_BASE_URL=" + srv.URL, "FAKE_GO_LOG=" + goLog,
				// A job that cross-compiles: the action's own build ignores it.
				"GOOS=plan9", "GOARCH=mips",
			}
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.wantCode || !strings.HasPrefix(stdout.String(), tc.wantOut) {
				t.Errorf("exit %d, stdout %q; want %d, %q\nstderr: %s", code, stdout.String(), tc.wantCode, tc.wantOut, stderr.String())
			}
			if tc.wantCode != 0 && strings.Contains(stdout.String(), ": plan-review") {
				t.Errorf("a binary ran although the script failed: %q", stdout.String())
			}
			mu.Lock()
			got := slices.Clone(requests)
			mu.Unlock()
			if !slices.Equal(got, tc.wantFetched) {
				t.Errorf("fetched %q, want %q", got, tc.wantFetched)
			}
			goRan, _ := os.ReadFile(goLog)
			if strings.TrimSpace(string(goRan)) != tc.wantGo {
				t.Errorf("go ran as %q, want %q", goRan, tc.wantGo)
			}
		})
	}
}

// A second step in the same job runs the binary the first one verified,
// without downloading it again.
func TestActionEntryScriptReusesVerifiedBinary(t *testing.T) {
	for _, name := range []string{"sh", "curl", "sha256sum"} {
		if _, err := exec.LookPath(name); err != nil {
			testenv.Missing(t, name+" (the action's entry script uses it)")
		}
	}
	root := t.TempDir()
	fakeRelease(t, root, "v1.2.3", "")
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		http.FileServer(http.Dir(root)).ServeHTTP(w, r)
	}))
	defer srv.Close()
	action := t.TempDir()
	_ = os.WriteFile(filepath.Join(action, "VERSION"), []byte("v1.2.3\n"), 0o644)
	runnerTemp := t.TempDir()
	for i, want := range []int{2, 2} {
		cmd := exec.Command("sh", filepath.Join(testenv.ModuleRoot(), "scripts", "action-entry.sh"), "postmortem")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "RUNNER_TEMP=" + runnerTemp, "RUNNER_OS=Linux", "RUNNER_ARCH=X64",
			"TASUKI_ACTION_PATH=" + action, "TASUKI_ACTION_REF=v1", "TASUKI_RELEASE_BASE_URL=" + srv.URL}
		out, err := cmd.Output()
		if err != nil || string(out) != "release v1.2.3 linux_amd64: postmortem\n" {
			t.Fatalf("run %d: %v, %q", i+1, err, out)
		}
		if hits != want {
			t.Errorf("after run %d: %d requests, want %d", i+1, hits, want)
		}
	}
}

// action.yml hands the script the action's path and ref through env:, the
// only place a composite action's run sees github.action_ref, and the
// release base URL is never set there (tests alone override it).
func TestActionYMLEntryEnv(t *testing.T) {
	a := readActionYML(t)
	env, run := a.step()
	want := map[string]string{
		"TASUKI_ACTION_PATH": "${{ github.action_path }}",
		"TASUKI_ACTION_REF":  "${{ github.action_ref }}",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("step env %s = %q, want %q", k, env[k], v)
		}
	}
	if _, ok := env["TASUKI_RELEASE_BASE_URL"]; ok {
		t.Error("action.yml sets TASUKI_RELEASE_BASE_URL: the action would download from somewhere other than its own releases")
	}
	if !strings.Contains(run, `sh "$TASUKI_ACTION_PATH/scripts/action-entry.sh" "$INPUT_COMMAND"`) {
		t.Errorf("the step does not run the entry script with the command:\n%s", run)
	}
	if strings.Contains(run, "setup-go") {
		t.Error("the step sets up Go, which would change the job's Go on PATH")
	}
}
