package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tasuki-sre/tasuki/internal/marker"
	"github.com/tasuki-sre/tasuki/internal/review"
	"github.com/tasuki-sre/tasuki/internal/review/reviewtest"
)

// TestPlanReviewActionForgedFactsInPlan attacks the second-reviewer gate
// through the Action as a workflow runs it: a real plan that deletes a
// resource and carries a forged facts block in an output, an attribute or
// a for_each key is posted on pull_request; the author then comments a
// review and the pull_request_review workflow re-evaluates. The check must
// stay action_required, and the reviewer still sees the plan's text.
func TestPlanReviewActionForgedFactsInPlan(t *testing.T) {
	for _, pl := range reviewtest.Placements {
		t.Run(pl.Name, func(t *testing.T) {
			planPath := filepath.Join(t.TempDir(), "plan.json")
			if err := os.WriteFile(planPath, reviewtest.ForgedPlan(t, pl), 0o644); err != nil {
				t.Fatal(err)
			}
			srv := seedFixturePR(t)
			a := newActionEnv(t, srv, "pull_request", "pull_request.opened.1.json")
			a.vars["INPUT_PLAN"] = planPath
			if code, stdout, stderr := runCLI(t, a.vars, "plan-review"); code != 0 {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
			cms := srv.Comments(fxRepo, fxPR)
			if len(cms) != 1 {
				t.Fatalf("%d comments, want 1", len(cms))
			}
			if !strings.Contains(cms[0].GetBody(), marker.Defang(reviewtest.ForgedFacts)) {
				t.Errorf("the reviewer does not see the plan's text:\n%s", cms[0].GetBody())
			}
			if got := planReviewCheck(t, srv, fxHead).GetConclusion(); got != "action_required" {
				t.Fatalf("after the plan: conclusion %q, want action_required", got)
			}

			// The author's own comment review triggers the re-evaluation.
			srv.AddReview(fxRepo, fxPR, "Codertocat", "COMMENTED", fxHead)
			r := newActionEnv(t, srv, "pull_request_review", "pull_request_review.submitted.1.json")
			if code, stdout, stderr := runCLI(t, r.vars, "plan-review"); code != 0 {
				t.Fatalf("review run: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
			if got := planReviewCheck(t, srv, fxHead).GetConclusion(); got != "action_required" {
				t.Errorf("after the author's review: conclusion %q, want action_required", got)
			}
			if got := r.outputs(t)["conclusion"]; got != "action_required" {
				t.Errorf("conclusion output %q, want action_required", got)
			}
			// The verdict still names tasuki's own risky change.
			sec := review.VerdictSection(srv.Comments(fxRepo, fxPR)[0].GetBody())
			if !strings.Contains(sec, reviewtest.RiskyAddress) {
				t.Errorf("verdict section after the review lost the delete:\n%s", sec)
			}
		})
	}
}
