package ghread_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// nextPageUses returns the positions where src reads a NextPage field:
// the sign of a hand-written pager.
func nextPageUses(fset *token.FileSet, name string, src any) ([]string, error) {
	f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		if s, ok := n.(*ast.SelectorExpr); ok && s.Sel.Name == "NextPage" {
			out = append(out, fset.Position(s.Pos()).String())
		}
		return true
	})
	return out, nil
}

// TestNoHandWrittenPaging keeps paging in one place: every REST listing
// goes through ghread.Items, which bounds it. internal/server pages by
// cursor (redelivery) and is left out.
func TestNoHandWrittenPaging(t *testing.T) {
	t.Run("detector", func(t *testing.T) {
		src := "package p\nfunc f() { for { if resp.NextPage == 0 { break }; opts.Page = resp.NextPage } }\n"
		got, err := nextPageUses(token.NewFileSet(), "p.go", src)
		if err != nil || len(got) != 2 {
			t.Fatalf("nextPageUses = %v, %v; want 2 uses", got, err)
		}
	})
	root := filepath.Join("..", "..")
	allowed := []string{filepath.Join("internal", "ghread"), filepath.Join("internal", "server")}
	fset := token.NewFileSet()
	files := 0
	for _, dir := range []string{"internal", "cmd"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			if d.IsDir() {
				for _, a := range allowed {
					if rel == a {
						return filepath.SkipDir
					}
				}
				if d.Name() == "testdata" {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			files++
			uses, err := nextPageUses(fset, path, nil)
			if err != nil {
				return err
			}
			for _, u := range uses {
				t.Errorf("%s: hand-written paging (NextPage); use ghread.Items or ghread.All", u)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if files < 10 {
		t.Fatalf("scanned %d files; the walk did not find the sources", files)
	}
}
