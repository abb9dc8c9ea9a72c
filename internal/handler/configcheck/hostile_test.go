package configcheck_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/yamlsafe/yamlsafetest"
)

// Anyone who can open a pull request chooses the bytes of .github/tasuki.yml
// at its head. For each hostile file the config check handles the
// pull_request delivery without crashing, within the memory budget, and
// reports the problem on the tasuki/config check run at its line.
func TestHostileFile(t *testing.T) {
	e := newEnv(t)
	e.srv.PutFile(fxRepo, "", config.Path, []byte("ownership:\n  default_team: payments\n"))
	for i, c := range yamlsafetest.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			branch := fmt.Sprintf("hostile-%d", i)
			head := e.srv.PutFile(fxRepo, branch, config.Path, c.Data)
			pr := e.srv.AddPull(fxRepo, &github.PullRequest{Title: github.String("Tune tasuki"),
				Head: &github.PullRequestBranch{Ref: github.String(branch), SHA: github.String(head)}})
			e.srv.SetPullFiles(fxRepo, pr.GetNumber(), &github.CommitFile{Filename: github.String(config.Path), Status: github.String("modified")})
			d := fixture(t, "pull_request", "pull_request.opened.1.json", func(m map[string]any) {
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
