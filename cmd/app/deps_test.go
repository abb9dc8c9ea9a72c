package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/tasuki-sre/tasuki/internal/testenv"
)

// The App's binary must not link the testing package: it would bring test
// code, and testing's flags and hooks, into production. `app demo` runs the
// in-memory GitHub of internal/githubtest, which therefore takes a Reporter
// instead of a testing.TB; River up to v0.42.0 linked testing through
// rivershared/testsignal.
func TestAppDoesNotLinkTesting(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		testenv.Missing(t, "the go command, which lists the App's dependencies, is not on PATH")
	}
	// Each dependency with its imports, to name whoever brings testing in.
	out, err := exec.Command(gobin, "list", "-deps", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	var linked bool
	var importers []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, " ")
		if pkg == "testing" {
			linked = true
		}
		for _, imp := range strings.Fields(imports) {
			if imp == "testing" {
				importers = append(importers, pkg)
			}
		}
	}
	if linked || len(importers) > 0 {
		t.Errorf("cmd/app links the testing package, imported by %s", strings.Join(importers, ", "))
	}
}
