package planreview_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tasuki-sre/tasuki/internal/githubtest"
	"github.com/tasuki-sre/tasuki/internal/handler/planreview"
	"github.com/tasuki-sre/tasuki/internal/marker"
	"github.com/tasuki-sre/tasuki/internal/review"
	"github.com/tasuki-sre/tasuki/internal/review/reviewtest"
	"github.com/tasuki-sre/tasuki/internal/testenv"
	"github.com/tasuki-sre/tasuki/internal/tfc"
	"github.com/tasuki-sre/tasuki/internal/tfc/tfctest"
)

// TestTFCRunTaskToPullRequest drives the run task endpoint end to end: TFC
// (tfctest, through the real go-tfe client) calls tasuki after a plan;
// tasuki reads the run's plan and VCS data, posts the comment and check on
// the pull request (githubtest) and reports the task result.
func TestTFCRunTaskToPullRequest(t *testing.T) {
	tests := []struct {
		name       string
		plan       string
		approve    bool
		wantStatus string
		wantCheck  string
	}{
		{"risky plan fails the task", "tofu-showjson-basic-delete.json", false, "failed", "action_required"},
		{"approved risky plan passes", "tofu-showjson-basic-delete.json", true, "passed", "success"},
		{"unreadable plan fails the task", "tfjson-invalid-malformed-json.json", false, "failed", "failure"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := os.ReadFile(filepath.Join(testenv.Fixtures(t, "tfplan"), tc.plan))
			if err != nil {
				t.Fatal(err)
			}
			e := newReviewEnv(t, nil)
			e.srv.AddInstallation(2, fxOwner)
			if tc.approve {
				e.srv.AddReview(fxRepo, fxPR, "bob", "APPROVED", fxHead)
			}
			tfcSrv := runTask(t, e, plan)
			cms := e.tasukiComments(t)
			if len(cms) != 1 {
				t.Fatalf("%d tasuki comments, want 1", len(cms))
			}
			if got := e.checkOn(t, fxHead).GetConclusion(); got != tc.wantCheck {
				t.Errorf("check conclusion %q, want %q", got, tc.wantCheck)
			}
			cbs := tfcSrv.Callbacks()
			if len(cbs) != 1 {
				t.Fatalf("%d task results, want 1", len(cbs))
			}
			cb := cbs[0]
			if cb.Status != tc.wantStatus || cb.Token != accessToken || cb.URL != cms[0].GetHTMLURL() || cb.Message == "" {
				t.Errorf("task result %+v, want %s with the access token, a message and the comment URL %s", cb, tc.wantStatus, cms[0].GetHTMLURL())
			}
			if strings.Contains(e.logs.String(), accessToken) {
				t.Errorf("access token logged")
			}
		})
	}
}

const accessToken = "run-task-access-token-SECRET"

// runTask has TFC (tfctest, through the real go-tfe client) call the run
// task endpoint after planning plan for the fixtures' pull request, as the
// App serves it, and waits for tasuki to finish.
func runTask(t *testing.T, e *reviewEnv, plan []byte) *tfctest.Server {
	t.Helper()
	tfcSrv := tfctest.New(t)
	tfcSrv.AcceptToken(accessToken)
	tfcSrv.AddRun(tfctest.Run{ID: "run-7", Organization: "acme", Workspace: "hello-prod", PlanID: "plan-7", PlanJSON: plan,
		Identifier: fxRepo, PullRequest: fxPR, CommitSHA: fxHead})

	key := []byte("hmac-key")
	// The App finds the installation of the run's repository as it does
	// in production.
	h := tfc.NewRunTaskHandler(key, &planreview.TFCReviewer{Review: e.rv, Installations: planreview.AppInstallations{App: e.srv.AppClient()}},
		tfc.WithAllowedAddresses(tfcSrv.Address()), tfc.WithLogger(slog.New(slog.NewTextHandler(e.logs, nil))))
	body, _ := json.Marshal(map[string]any{
		"payload_version": 1, "stage": "post_plan", "access_token": accessToken, "run_id": "run-7",
		"organization_name": "acme", "workspace_name": "hello-prod",
		"task_result_id": "taskrs-7", "task_result_callback_url": tfcSrv.CallbackURL("taskrs-7"),
	})
	req := httptest.NewRequest(http.MethodPost, "/tfc/run-task", bytes.NewReader(body))
	req.Header.Set("X-TFC-Task-Signature", tfc.Sign(key, body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	h.Wait()
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	return tfcSrv
}

// TestTFCForgedFactsInPlan attacks the second-reviewer gate through the
// App: a Terraform Cloud run whose real plan deletes a resource and carries
// a forged facts block in an output, an attribute or a for_each key is
// reviewed; then the author comments a review. The App's re-evaluation must
// keep the check action_required.
func TestTFCForgedFactsInPlan(t *testing.T) {
	for _, pl := range reviewtest.Placements {
		t.Run(pl.Name, func(t *testing.T) {
			e := newReviewEnv(t, nil)
			e.srv.AddInstallation(2, fxOwner)
			runTask(t, e, reviewtest.ForgedPlan(t, pl))
			cms := e.tasukiComments(t)
			if len(cms) != 1 || !strings.Contains(cms[0].GetBody(), marker.Defang(reviewtest.ForgedFacts)) {
				t.Fatalf("want one tasuki comment showing the plan's text, got %d", len(cms))
			}
			if got := e.checkOn(t, fxHead).GetConclusion(); got != "action_required" {
				t.Fatalf("after the plan: conclusion %q, want action_required", got)
			}
			e.srv.AddReview(fxRepo, fxPR, fxAuthor, "COMMENTED", fxHead)
			e.deliver(t, webhook(t, "pull_request_review.submitted.1.json"))
			if got := e.checkOn(t, fxHead).GetConclusion(); got != "action_required" {
				t.Errorf("after the author's review: conclusion %q, want action_required", got)
			}
			if sec := review.VerdictSection(e.tasukiComments(t)[0].GetBody()); !strings.Contains(sec, reviewtest.RiskyAddress) {
				t.Errorf("verdict section lost the delete:\n%s", sec)
			}
		})
	}
}

// AppInstallations asks GitHub, with the App's JWT, which installation
// covers a repository; a repository tasuki is not installed on gets an
// error that says so.
func TestAppInstallations(t *testing.T) {
	srv := githubtest.New(t)
	srv.AddRepo("acme/api", "main")
	srv.AddRepo("Codertocat/Hello-World", "main")
	srv.AddRepo("stranger/lib", "main")
	srv.AddInstallation(7, "Codertocat")
	finder := planreview.AppInstallations{App: srv.AppClient()}
	tests := []struct {
		repo    string
		want    int64
		wantErr string
	}{
		{"acme/api", 1, ""},
		{"Codertocat/Hello-World", 7, ""},
		{"stranger/lib", 0, "find the installation of stranger/lib (is tasuki installed there?): "},
	}
	for _, tc := range tests {
		t.Run(tc.repo, func(t *testing.T) {
			owner, repo, _ := strings.Cut(tc.repo, "/")
			got, err := finder.InstallationID(context.Background(), owner, repo)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "404") {
					t.Errorf("err = %v, want %q and the 404", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("installation = %d, %v; want %d", got, err, tc.want)
			}
		})
	}
	if n := srv.CallCount("GET", "/repos/{owner}/{repo}/installation"); n != len(tests) {
		t.Errorf("%d lookups, want one per repository (%d)", n, len(tests))
	}
}
