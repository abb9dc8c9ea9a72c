package handler_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/githubtest"
	"github.com/tasuki-sre/tasuki/internal/handler"
	"github.com/tasuki-sre/tasuki/internal/yamlsafe/yamlsafetest"
)

// The ownership shell reads catalog-info.yaml and CODEOWNERS from the
// repository: hostile ones become warnings, the configuration still names
// the owners, and reading them stays within the memory budget.
func TestOwnershipHostileFiles(t *testing.T) {
	srv := githubtest.New(t)
	srv.AddRepo("acme/.github", "main")
	srv.AddRepo("acme/pay", "main")
	srv.PutFile("acme/.github", "", config.Path, []byte("ownership:\n  default_team: platform\n"))
	srv.PutFile("acme/pay", "", "catalog-info.yaml", []byte("metadata:\n  name: "+strings.Repeat("[", 40000)+"\n"))
	srv.PutFile("acme/pay", "", ".github/CODEOWNERS", []byte(strings.Repeat("a/b @acme/a\n", 80000)))

	o := handler.NewOwnership(config.NewLoader(), nil)
	var err error
	var warnings []string
	var team string
	alloc := yamlsafetest.Allocated(func() {
		got, rerr := o.Resolve(context.Background(), srv.Client(), "acme", "pay", nil, []string{"a/b/c.go"})
		err, warnings, team = rerr, got.Warnings, got.Team
	})
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	want := []string{
		"catalog-info.yaml:2:73: nesting deeper than 64 levels; tasuki refuses it",
		".github/CODEOWNERS:10001: more than 10000 rules; tasuki ignores the file",
	}
	if strings.Join(warnings, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings %q, want %q", warnings, want)
	}
	if team != "platform" {
		t.Errorf("team %q, want the configured default", team)
	}
	if alloc > yamlsafetest.Budget {
		t.Errorf("resolving allocated %d MB, budget %d MB", alloc>>20, yamlsafetest.Budget>>20)
	}
}
