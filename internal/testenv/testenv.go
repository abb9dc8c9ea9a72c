// Package testenv finds what integration tests need (the shared fixtures,
// terraform, PostgreSQL binaries) and decides whether a missing piece skips
// the test or, under TASUKI_REQUIRE_INTEGRATION=1 (CI), fails it.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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

// Fixtures returns the path of ../shared/fixtures/<sub> beside the checkout,
// or $TASUKI_FIXTURES/<sub> when set.
func Fixtures(t testing.TB, sub string) string {
	t.Helper()
	base := os.Getenv("TASUKI_FIXTURES")
	if base == "" {
		base = filepath.Join(ModuleRoot(), "..", "shared", "fixtures")
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
