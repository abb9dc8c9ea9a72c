package releasetest

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/tasuki-sre/tasuki/internal/testenv"
)

type goreleaser struct {
	Builds []struct {
		ID      string   `yaml:"id"`
		Main    string   `yaml:"main"`
		Binary  string   `yaml:"binary"`
		Env     []string `yaml:"env"`
		Flags   []string `yaml:"flags"`
		Ldflags []string `yaml:"ldflags"`
		Targets []string `yaml:"targets"`
	} `yaml:"builds"`
	Archives []struct {
		ID           string   `yaml:"id"`
		IDs          []string `yaml:"ids"`
		Formats      []string `yaml:"formats"`
		NameTemplate string   `yaml:"name_template"`
	} `yaml:"archives"`
	Checksum struct {
		NameTemplate string `yaml:"name_template"`
		Algorithm    string `yaml:"algorithm"`
	} `yaml:"checksum"`
}

func readConfig(t *testing.T) goreleaser {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(), ".goreleaser.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var g goreleaser
	if err := yaml.Unmarshal(b, &g); err != nil {
		t.Fatalf(".goreleaser.yaml: %v", err)
	}
	if len(g.Builds) == 0 {
		t.Fatal(".goreleaser.yaml has no builds")
	}
	return g
}

// The platforms a release publishes, as issue #12 asks for them.
var platforms = []string{"darwin_arm64", "linux_amd64", "linux_arm64", "windows_amd64"}

// TestReleaseMatchesEntryScript: the entry script downloads
// tasuki-action_<os>_<arch>[.exe] and checksums.txt (sha256) of the
// platforms it believes are published; the release must publish exactly
// those, under those names.
func TestReleaseMatchesEntryScript(t *testing.T) {
	g := readConfig(t)
	script, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(), "scripts", "action-entry.sh"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*((?:[a-z0-9]+_[a-z0-9]+ \| )*[a-z0-9]+_[a-z0-9]+)\) published=yes`).FindSubmatch(script)
	if m == nil {
		t.Fatal("the entry script has no `A | B) published=yes` line")
	}
	published := strings.Split(string(m[1]), " | ")
	slices.Sort(published)
	if !slices.Equal(published, platforms) {
		t.Errorf("the entry script thinks %v are published, want %v", published, platforms)
	}
	for _, b := range g.Builds {
		targets := slices.Clone(b.Targets)
		slices.Sort(targets)
		if !slices.Equal(targets, platforms) {
			t.Errorf("build %s targets %v, want %v", b.ID, targets, platforms)
		}
		if !slices.Contains(b.Env, "CGO_ENABLED=0") || !slices.Contains(b.Flags, "-trimpath") {
			t.Errorf("build %s: want CGO_ENABLED=0 and -trimpath (static, reproducible)", b.ID)
		}
	}
	var action bool
	for _, a := range g.Archives {
		if slices.Contains(a.IDs, "action") {
			action = true
			if a.NameTemplate != "tasuki-action_{{ .Os }}_{{ .Arch }}" || !slices.Equal(a.Formats, []string{"binary"}) {
				t.Errorf("action archive %q formats %v: the entry script expects raw binaries named tasuki-action_<os>_<arch>", a.NameTemplate, a.Formats)
			}
		}
	}
	if !action {
		t.Error("no archive publishes the action build")
	}
	if !strings.Contains(string(script), `"$base_url/$release/`+g.Checksum.NameTemplate+`"`) || g.Checksum.Algorithm != "sha256" {
		t.Errorf("checksums %q (%s): the entry script reads a sha256 checksums.txt", g.Checksum.NameTemplate, g.Checksum.Algorithm)
	}
	if !strings.Contains(string(script), `asset="tasuki-action_${os}_${arch}${exe}"`) {
		t.Error("the entry script does not name assets tasuki-action_<os>_<arch>[.exe]")
	}
}

// TestReleaseLdflags builds a program printing version.Get() with the
// release's -ldflags, its templates filled in as GoReleaser would for tag
// v1.2.3: the -X flags must name variables that exist, or the release's
// `version` commands would print "devel".
func TestReleaseLdflags(t *testing.T) {
	g := readConfig(t)
	fill := strings.NewReplacer(
		"{{ if .IsSnapshot }}{{ .Version }}{{ else }}v{{ .Version }}{{ end }}", "v1.2.3",
		"{{ .FullCommit }}", "0123456789abcdef0123456789abcdef01234567",
		"{{ .CommitDate }}", "2026-03-04T05:06:07Z",
	)
	for _, b := range g.Builds {
		ld := fill.Replace(strings.Join(b.Ldflags, " "))
		if strings.Contains(ld, "{{") {
			t.Fatalf("build %s: ldflags template this test does not know: %s", b.ID, ld)
		}
		bin := filepath.Join(t.TempDir(), "printversion")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", ld, "-o", bin, "./internal/version/testdata/printversion")
		cmd.Dir = testenv.ModuleRoot()
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: go build: %v\n%s", b.ID, err, out)
		}
		out, err := exec.Command(bin).Output()
		if err != nil {
			t.Fatal(err)
		}
		if want := "tasuki v1.2.3 (commit 0123456789ab, 2026-03-04T05:06:07Z) "; !strings.HasPrefix(string(out), want) {
			t.Errorf("build %s prints %q, want it to start %q", b.ID, out, want)
		}
		if _, err := os.Stat(filepath.Join(testenv.ModuleRoot(), b.Main)); err != nil {
			t.Errorf("build %s main %s: %v", b.ID, b.Main, err)
		}
	}
}

// TestReleaseTargetsResolve lists the packages of each binary for each
// target without cgo, as the release builds them: a dependency that needs
// cgo (its files are then left out) or has no files for a platform fails
// here rather than at release time. (go list resolves build constraints without compiling; the full
// cross-builds run in the release workflow.)
func TestReleaseTargetsResolve(t *testing.T) {
	g := readConfig(t)
	for _, target := range platforms {
		goos, goarch, _ := strings.Cut(target, "_")
		for _, b := range g.Builds {
			t.Run(target+"/"+b.ID, func(t *testing.T) {
				cmd := exec.Command("go", "list", "-deps", "-e", "-json=ImportPath,Error", b.Main)
				cmd.Dir = testenv.ModuleRoot()
				cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("go list: %v", err)
				}
				dec := json.NewDecoder(strings.NewReader(string(out)))
				n := 0
				for dec.More() {
					var p struct {
						ImportPath string
						Error      *struct{ Err string }
					}
					if err := dec.Decode(&p); err != nil {
						t.Fatal(err)
					}
					n++
					if p.Error != nil {
						t.Errorf("%s: %s", p.ImportPath, p.Error.Err)
					}
				}
				if n < 10 {
					t.Errorf("only %d packages listed", n)
				}
			})
		}
	}
}
