package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/tasuki-sre/tasuki/internal/review"
	"github.com/tasuki-sre/tasuki/internal/testenv"
)

// TestPlanReviewActionNoChanges: a workflow that found no Terraform change
// runs the Action with no-changes; the required check turns green saying
// so, without a comment. When an earlier push had posted a plan review,
// that comment says the same afterwards, and a later review keeps the
// check green.
func TestPlanReviewActionNoChanges(t *testing.T) {
	t.Run("fresh pull request", func(t *testing.T) {
		srv := seedFixturePR(t)
		a := newActionEnv(t, srv, "pull_request", "pull_request.opened.1.json")
		a.vars["INPUT_NO_CHANGES"] = "true"
		a.vars["INPUT_PLAN"] = "plan.json" // the default; no such file: not read
		code, stdout, stderr := runCLI(t, a.vars, "plan-review")
		if code != 0 {
			t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
		}
		cr := planReviewCheck(t, srv, fxHead)
		if cr.GetConclusion() != "success" || cr.GetOutput().GetTitle() != review.NoChangeTitle {
			t.Errorf("check %q %q, want success %q", cr.GetConclusion(), cr.GetOutput().GetTitle(), review.NoChangeTitle)
		}
		if n := len(srv.Comments(fxRepo, fxPR)); n != 0 {
			t.Errorf("%d comments, want none", n)
		}
		outs := a.outputs(t)
		if outs["conclusion"] != "success" || outs["needs-second-reviewer"] != "false" || outs["delete"] != "0" {
			t.Errorf("outputs %v", outs)
		}
		summary, _ := os.ReadFile(a.summary)
		if !strings.Contains(string(summary), review.NoChangeTitle) {
			t.Errorf("step summary:\n%s", summary)
		}
		// Re-running writes nothing.
		srv.ResetCalls()
		if code, _, stderr := runCLI(t, a.vars, "plan-review"); code != 0 {
			t.Fatalf("second run: exit %d: %s", code, stderr)
		}
		if n := srv.WriteCount(); n != 0 {
			t.Errorf("re-running made %d writes, want 0", n)
		}
	})
	t.Run("earlier plan review", func(t *testing.T) {
		srv := seedFixturePR(t)
		a := newActionEnv(t, srv, "pull_request", "pull_request.opened.1.json")
		a.vars["INPUT_PLAN"] = tfplan(t, "tofu-showjson-basic-delete.json")
		if code, _, stderr := runCLI(t, a.vars, "plan-review"); code != 0 {
			t.Fatalf("plan run: exit %d: %s", code, stderr)
		}
		if got := planReviewCheck(t, srv, fxHead).GetConclusion(); got != "action_required" {
			t.Fatalf("plan run: conclusion %q", got)
		}
		a.vars["INPUT_NO_CHANGES"] = "true"
		if code, _, stderr := runCLI(t, a.vars, "plan-review"); code != 0 {
			t.Fatalf("no-change run: exit %d: %s", code, stderr)
		}
		if got := planReviewCheck(t, srv, fxHead).GetConclusion(); got != "success" {
			t.Errorf("no-change run: conclusion %q, want success", got)
		}
		cms := srv.Comments(fxRepo, fxPR)
		if len(cms) != 1 || !strings.Contains(cms[0].GetBody(), "no Terraform change in this pull request") ||
			strings.Contains(cms[0].GetBody(), "test_instance.test-delete") {
			t.Fatalf("comment not rewritten to say no change: %v", cms)
		}
		// A review afterwards re-evaluates from the rewritten comment.
		r := newActionEnv(t, srv, "pull_request_review", "pull_request_review.submitted.1.json")
		if code, stdout, stderr := runCLI(t, r.vars, "plan-review"); code != 0 {
			t.Fatalf("review run: exit %d\n%s\n%s", code, stdout, stderr)
		}
		if got := planReviewCheck(t, srv, fxHead).GetConclusion(); got != "success" {
			t.Errorf("after a review: conclusion %q, want success", got)
		}
	})
	t.Run("local run", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, map[string]string{}, "plan-review", "--no-changes")
		if code != 0 || strings.TrimSpace(stdout) != review.NoChangeTitle {
			t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
	})
	t.Run("not a boolean", func(t *testing.T) {
		srv := seedFixturePR(t)
		a := newActionEnv(t, srv, "pull_request", "pull_request.opened.1.json")
		a.vars["INPUT_NO_CHANGES"] = "maybe"
		if code, _, _ := runCLI(t, a.vars, "plan-review"); code == 0 {
			t.Errorf("no-changes: maybe accepted")
		}
		if n := srv.WriteCount(); n != 0 {
			t.Errorf("%d writes for a bad input", n)
		}
	})
}

// TestExampleDetectsTerraformChange runs the example workflow's "changes"
// step, as written, in a real git checkout shaped like actions/checkout's
// (a merge commit over the base, depth 2): a pull request touching infra/
// plans; one touching only docs reports no Terraform change, which the
// tasuki step turns into no-changes: true.
func TestExampleDetectsTerraformChange(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		testenv.Missing(t, "git not on PATH")
	}
	b, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(), ".github", "workflows", "examples", "terraform-plan-review.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		Jobs map[string]struct {
			Steps []struct {
				ID   string            `yaml:"id"`
				Run  string            `yaml:"run"`
				With map[string]string `yaml:"with"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(b, &wf); err != nil {
		t.Fatal(err)
	}
	var script, noChanges string
	for _, s := range wf.Jobs["plan"].Steps {
		if s.ID == "changes" {
			script = s.Run
		}
		if v, ok := s.With["no-changes"]; ok {
			noChanges = v
		}
	}
	if script == "" || noChanges != "${{ steps.changes.outputs.terraform != 'true' }}" {
		t.Fatalf("example lacks the changes step (%q) or its use (%q)", script, noChanges)
	}
	for _, c := range []struct {
		name  string
		files []string
		want  string
	}{
		{"infra changed", []string{"infra/prod/main.tf"}, "terraform=true"},
		{"docs only", []string{"README.md", "docs/infra.md"}, "terraform=false"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			run := func(args ...string) {
				t.Helper()
				cmd := exec.Command(git, args...)
				cmd.Dir = dir
				cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("git %v: %v\n%s", args, err, out)
				}
			}
			write := func(name, body string) {
				t.Helper()
				p := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			run("init", "-q", "-b", "main")
			write("infra/prod/main.tf", "# base\n")
			write("README.md", "base\n")
			run("add", "-A")
			run("commit", "-q", "-m", "base")
			run("checkout", "-q", "-b", "pr")
			for _, f := range c.files {
				write(f, "changed\n")
			}
			run("add", "-A")
			run("commit", "-q", "-m", "change")
			// The merge commit actions/checkout checks out for a pull request.
			run("checkout", "-q", "main")
			run("merge", "-q", "--no-ff", "-m", "merge", "pr")
			out := filepath.Join(t.TempDir(), "output")
			cmd := exec.Command("bash", "-e", "-c", script)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "GITHUB_OUTPUT="+out)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("changes step: %v\n%s", err, b)
			}
			got, _ := os.ReadFile(out)
			if strings.TrimSpace(string(got)) != c.want {
				t.Errorf("changes step wrote %q, want %q", got, c.want)
			}
		})
	}
}
