package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The metrics docs/operations.md tells operators to watch and alert on
// exist: every tasuki_* name in it (the alert rules' too) is one that
// internal/metrics declares, with a histogram's _bucket, _sum and _count.
func TestOperationsDocMetricsExist(t *testing.T) {
	doc, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	paths, _ := filepath.Glob("../internal/metrics/*.go")
	declared := map[string]bool{}
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`Name:\s*"(tasuki_[a-z0-9_]+)"`).FindAllStringSubmatch(string(b), -1) {
			declared[m[1]] = true
		}
	}
	if len(declared) == 0 {
		t.Fatal("found no metric names in internal/metrics")
	}
	used := regexp.MustCompile(`\btasuki_[a-z0-9_]+`).FindAllString(string(doc), -1)
	if len(used) < 5 {
		t.Fatalf("docs/operations.md names only %d metrics", len(used))
	}
	for _, name := range used {
		base := name
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(name, suffix); ok && declared[b] {
				base = b
			}
		}
		// Table names and Secret keys in the doc that are not metrics.
		if strings.HasPrefix(name, "tasuki_delivery") || strings.HasPrefix(name, "tasuki_lock") {
			continue
		}
		if !declared[base] {
			t.Errorf("docs/operations.md names %s, which internal/metrics does not declare", name)
		}
	}
}
