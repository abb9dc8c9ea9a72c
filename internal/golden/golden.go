// Package golden compares what a test rendered with a golden file kept in
// the package's testdata (testdata/*.golden.md) and reviewed like code.
//
//	golden.Assert(t, filepath.Join("testdata", "help.golden.md"), got)
//
// `go test -update` rewrites the golden files with what the tests render
// instead of comparing; review the diff before committing it. The -update
// flag is registered here, once per test binary, so a test file must not
// define its own.
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files (testdata/*.golden.md) with what the tests render")

// Update reports whether the test binary runs with -update.
func Update() bool { return *update }

// Assert fails t, showing the difference, when got is not the content of the
// golden file at path. With -update it writes got to path instead, creating
// its directory, and passes.
func Assert(t testing.TB, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file: %v (go test -update creates it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got; go test -update rewrites it):\n%s", path, diff)
	}
}
