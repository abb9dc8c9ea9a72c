package ownership

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tasuki-sre/tasuki/internal/yamlsafe/yamlsafetest"
)

// catalog-info.yaml and CODEOWNERS are read from repositories: each hostile
// file becomes a warning naming the file and the line, Resolve carries on
// with the other sources, and handling it stays within the memory budget.
func TestHostileCatalogInfo(t *testing.T) {
	for _, c := range yamlsafetest.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			var o Owners
			alloc := yamlsafetest.Allocated(func() {
				o = Resolve(Facts{Repo: "acme/api", CatalogInfo: c.Data, CODEOWNERS: []byte("* @acme/payments\n")}, testConfig())
			})
			if len(o.Warnings) != 1 || !strings.HasPrefix(o.Warnings[0], fmt.Sprintf("catalog-info.yaml:%d:", c.Line)) ||
				!strings.Contains(o.Warnings[0], c.Msg) {
				t.Errorf("warnings %q, want one at catalog-info.yaml:%d saying %q", o.Warnings, c.Line, c.Msg)
			}
			if o.Service != "api" || o.Team != "payments" || o.Source != "CODEOWNERS *" {
				t.Errorf("service %q team %q (%s), want the repository name and the CODEOWNERS team", o.Service, o.Team, o.Source)
			}
			if alloc > yamlsafetest.Budget {
				t.Errorf("refusing %d bytes allocated %d MB, budget %d MB", len(c.Data), alloc>>20, yamlsafetest.Budget>>20)
			}
		})
	}
}

func TestHostileCODEOWNERS(t *testing.T) {
	var paths []string
	for i := range 3000 {
		paths = append(paths, fmt.Sprintf("services/svc%04d/%smain.tf", i, strings.Repeat("d/", 20)))
	}
	wildcards := strings.Repeat("*/", 2000) + "x @acme/a\n"
	tests := []struct {
		name     string
		data     string
		warnings []string
		owners   int // paths with owners
	}{
		{
			name:     "3 MB of tiny rules",
			data:     strings.Repeat("a/b @acme/a\n", 3<<20/12),
			warnings: []string{"CODEOWNERS:10001: more than 10000 rules; tasuki ignores the file"},
		},
		{
			// codeowners.ParseFile alone drops such a line without a word.
			name:     "one 2 MB line",
			data:     "* @acme/a\n" + strings.Repeat("*/", 1<<20) + "x @acme/b\n",
			warnings: []string{"CODEOWNERS:2: line longer than 4096 bytes; skipped"},
			owners:   3000,
		},
		{
			name:     "2.8 MB of wildcard patterns",
			data:     strings.Repeat(wildcards, 700),
			warnings: []string{"CODEOWNERS:33: patterns longer than 262144 bytes in total (wildcards count three); tasuki ignores the file"},
		},
		{
			name: "9,000 unreadable lines",
			data: strings.Repeat("! x\n", 9000),
			warnings: append(func() []string {
				var w []string
				for i := 1; i <= 20; i++ {
					w = append(w, fmt.Sprintf("CODEOWNERS:%d: unexpected character '!' at position 1", i))
				}
				return w
			}(), "CODEOWNERS: 8980 more lines skipped"),
		},
		{
			// Counting matches is not enough: these took 80 s with 10,000 rules.
			name:     "rules slow to match, times 3,000 paths",
			data:     strings.Repeat(strings.Repeat("*/", 12)+"x @acme/a\n", 1500),
			warnings: []string{"CODEOWNERS: 1500 rules are too many to match all 3000 changed paths; owners of the last 2963 are not listed"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o Owners
			alloc := yamlsafetest.Allocated(func() {
				o = Resolve(Facts{Repo: "acme/api", CODEOWNERS: []byte(tt.data), Paths: paths}, testConfig())
			})
			if diff := cmp.Diff(tt.warnings, o.Warnings); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			if len(o.PathOwners) != tt.owners {
				t.Errorf("%d paths with owners, want %d", len(o.PathOwners), tt.owners)
			}
			if alloc > yamlsafetest.Budget {
				t.Errorf("%d bytes allocated %d MB, budget %d MB", len(tt.data), alloc>>20, yamlsafetest.Budget>>20)
			}
			t.Logf("%d bytes, %.1f MB allocated", len(tt.data), float64(alloc)/(1<<20))
		})
	}
}
