package ownership

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkResolve resolves a 200-rule CODEOWNERS for a 100-file pull
// request, about the largest a review sees.
func BenchmarkResolve(b *testing.B) {
	var co strings.Builder
	co.WriteString("* @acme/platform\n")
	for i := range 200 {
		fmt.Fprintf(&co, "/services/svc%03d/ @acme/team%d\n", i, i%10)
	}
	var paths []string
	for i := range 100 {
		paths = append(paths, fmt.Sprintf("services/svc%03d/main.tf", i*2))
	}
	f := Facts{Repo: "acme/mono", CODEOWNERS: []byte(co.String()), CatalogInfo: []byte(catalogPayments), Paths: paths}
	cfg := testConfig()
	b.ReportAllocs()
	for b.Loop() {
		if o := Resolve(f, cfg); len(o.PathOwners) != 100 {
			b.Fatalf("%d path owners", len(o.PathOwners))
		}
	}
}
