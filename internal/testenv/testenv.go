// Package testenv finds what integration tests need (the shared fixtures,
// terraform, PostgreSQL binaries) and decides whether a missing piece skips
// the test or, under TASUKI_REQUIRE_INTEGRATION=1 (CI), fails it.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// Required reports whether missing integration pieces must fail tests.
func Required() bool {
	return os.Getenv("TASUKI_REQUIRE_INTEGRATION") == "1"
}

// Missing skips t with why, or fails it when integration is required.
func Missing(t testing.TB, why string) {
	t.Helper()
	if Required() {
		t.Fatalf("TASUKI_REQUIRE_INTEGRATION=1 but %s", why)
	}
	t.Skip(why)
}

var (
	rootOnce sync.Once
	root     string
)

// ModuleRoot returns the directory holding tasuki's go.mod.
func ModuleRoot() string {
	rootOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		root = filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	})
	return root
}

// Fixtures returns the path of testdata/fixtures/<sub> in the repository
// (real webhook payloads, real plans and GitHub's REST description, with
// their sources and licences in testdata/fixtures/SOURCES.md), or
// $TASUKI_FIXTURES/<sub> when set.
func Fixtures(t testing.TB, sub string) string {
	t.Helper()
	base := os.Getenv("TASUKI_FIXTURES")
	if base == "" {
		base = filepath.Join(ModuleRoot(), "testdata", "fixtures")
	}
	p := filepath.Join(base, sub)
	if _, err := os.Stat(p); err != nil {
		Missing(t, "shared fixtures not found at "+p)
	}
	return p
}

// Terraform returns the path of the terraform binary on PATH.
func Terraform(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("terraform")
	if err != nil {
		Missing(t, "terraform not on PATH")
	}
	return p
}

// TerraformPlan returns `terraform show -json` of a real plan: in a fresh
// directory, main.tf holding applied is applied first (skipped when empty),
// then main.tf holding planned is planned. Only built-in resources
// (terraform_data) plan offline.
func TerraformPlan(t testing.TB, applied, planned string) []byte {
	t.Helper()
	tf := Terraform(t)
	dir := t.TempDir()
	write := func(body string) {
		if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) []byte {
		cmd := exec.Command(tf, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("terraform %v: %v\n%s\n%s", args, err, out, stderr.String())
		}
		return out
	}
	if applied != "" {
		write(applied)
		run("init", "-input=false", "-no-color")
		run("apply", "-input=false", "-no-color", "-auto-approve")
	}
	write(planned)
	run("init", "-input=false", "-no-color")
	run("plan", "-input=false", "-no-color", "-out=tfplan")
	return run("show", "-json", "tfplan")
}
