package ghwrite_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"
)

// writeMethod matches the go-github service methods that create, edit or
// delete something on GitHub.
var writeMethod = regexp.MustCompile(`^(Create|Edit|Delete|Remove|Add|Update|Replace|Merge|Lock|Unlock|Set|Dismiss|Rerequest|Redeliver|Upload|Submit|Transfer|Rename|Enable|Disable|RequestReviewers)`)

// services are the names of go-github's service fields (Issues, Checks, Git,
// ...), read from github.Client so that a new service is covered too.
func services() map[string]bool {
	out := map[string]bool{}
	t := reflect.TypeOf(github.Client{})
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.IsExported() && f.Type.Kind() == reflect.Pointer && strings.HasSuffix(f.Type.Elem().Name(), "Service") {
			out[f.Name] = true
		}
	}
	return out
}

// bypasses returns "file:line: X.Service.Method" for every go-github write
// method named in src, called or taken as a value.
func bypasses(fset *token.FileSet, f *ast.File, svc map[string]bool) []string {
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok || !writeMethod.MatchString(sel.Sel.Name) {
			return true
		}
		inner, ok := sel.X.(*ast.SelectorExpr)
		if !ok || !svc[inner.Sel.Name] {
			return true
		}
		out = append(out, fset.Position(sel.Pos()).String()+": "+inner.Sel.Name+"."+sel.Sel.Name)
		return true
	})
	return out
}

// TestEveryWriteGoesThroughTheWriter holds the design's rule: outside
// internal/ghwrite (and tests), no code calls a go-github method that
// creates, edits or deletes. A shell hands its core's intents to
// Writer.Execute, or calls the Writer's idempotent methods.
func TestEveryWriteGoesThroughTheWriter(t *testing.T) {
	svc := services()
	if !svc["Issues"] || !svc["Git"] || !svc["Checks"] {
		t.Fatalf("go-github services not found: %v", svc)
	}
	// The detector itself: a direct edit is caught, the writer's is not.
	fset := token.NewFileSet()
	probe, err := parser.ParseFile(fset, "probe.go", `package p
func f() { c.Issues.Edit(ctx, o, r, 1, req); _ = gh.Client().Git.CreateRef; w.EditIssue(ctx, o, r, 1, e); c.Issues.Get(ctx, o, r, 1) }`, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	if got := bypasses(fset, probe, svc); len(got) != 2 {
		t.Fatalf("probe: found %v, want Issues.Edit and Git.CreateRef", got)
	}

	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	self := filepath.Join(root, "internal", "ghwrite")
	var (
		found   []string
		scanned int
	)
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path == self || name == "testdata" || name == "vendor" || (strings.HasPrefix(name, ".") && path != root) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		scanned++
		for _, b := range bypasses(fset, f, svc) {
			found = append(found, strings.TrimPrefix(b, root+string(filepath.Separator)))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if scanned < 50 {
		t.Fatalf("scanned %d files under %s; is the root wrong?", scanned, root)
	}
	sort.Strings(found)
	for _, b := range found {
		t.Errorf("%s: a go-github write outside internal/ghwrite; carry it out through the Writer (an intent and Execute, or a Writer method)", b)
	}
}
