package handler_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/githubtest"
	"github.com/tasuki-sre/tasuki/internal/handler"
	"github.com/tasuki-sre/tasuki/internal/yamlsafe/yamlsafetest"
)

// Anyone who can open a pull request chooses the bytes of .github/tasuki.yml
// at its head. For each hostile file the config check handles the
// pull_request delivery without crashing, within the memory budget, and
// reports the problem on the tasuki/config check run at its line.
func TestConfigCheckHostileFile(t *testing.T) {
	e := newCfgEnv(t)
	e.srv.PutFile(cfgRepo, "", config.Path, []byte("ownership:\n  default_team: payments\n"))
	for i, c := range yamlsafetest.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			branch := fmt.Sprintf("hostile-%d", i)
			head := e.srv.PutFile(cfgRepo, branch, config.Path, c.Data)
			pr := e.srv.AddPull(cfgRepo, &github.PullRequest{Title: github.String("Tune tasuki"),
				Head: &github.PullRequestBranch{Ref: github.String(branch), SHA: github.String(head)}})
			e.srv.SetPullFiles(cfgRepo, pr.GetNumber(), &github.CommitFile{Filename: github.String(config.Path), Status: github.String("modified")})
			d := cfgFixture(t, "pull_request", "pull_request.opened.1.json", func(m map[string]any) {
				m["number"] = pr.GetNumber()
				p := m["pull_request"].(map[string]any)
				p["number"] = pr.GetNumber()
				p["head"].(map[string]any)["sha"] = head
			})

			var err error
			alloc := yamlsafetest.Allocated(func() { err = e.h.Handle(context.Background(), d) })
			if err != nil {
				t.Fatalf("Handle: %v", err)
			}
			if alloc > yamlsafetest.Budget {
				t.Errorf("handling the delivery allocated %d MB, budget %d MB", alloc>>20, yamlsafetest.Budget>>20)
			}
			runs := e.checks(head)
			if len(runs) != 1 {
				t.Fatalf("%d tasuki/config check runs on the head, want 1", len(runs))
			}
			out := runs[0].GetOutput()
			if runs[0].GetConclusion() != "failure" || !strings.HasPrefix(out.GetTitle(), fmt.Sprintf("Line %d: ", c.Line)) ||
				!strings.Contains(out.GetTitle(), c.Msg) {
				t.Errorf("check run %q %q, want a failure at line %d saying %q", runs[0].GetConclusion(), out.GetTitle(), c.Line, c.Msg)
			}
			if out.GetAnnotationsCount() != 1 {
				t.Errorf("%d annotations, want 1", out.GetAnnotationsCount())
			}
		})
	}
}

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
