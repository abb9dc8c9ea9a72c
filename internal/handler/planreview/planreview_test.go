package planreview_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/ghwrite"
	"github.com/tasuki-sre/tasuki/internal/githubtest"
	"github.com/tasuki-sre/tasuki/internal/golden"
	"github.com/tasuki-sre/tasuki/internal/handler"
	"github.com/tasuki-sre/tasuki/internal/handler/planreview"
	"github.com/tasuki-sre/tasuki/internal/review"
	"github.com/tasuki-sre/tasuki/internal/testenv"
)

// The webhook fixtures are all about Codertocat/Hello-World#2 at this head,
// installation 1, so the fake GitHub is seeded with that pull request.
const (
	fxRepo   = "Codertocat/Hello-World"
	fxOwner  = "Codertocat"
	fxName   = "Hello-World"
	fxPR     = 2
	fxHead   = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
	fxAuthor = "Codertocat"
	newHead  = "1111111111111111111111111111111111111111"
)

type staticClients struct{ c *github.Client }

func (s staticClients) Client(context.Context, int64) (*github.Client, error) { return s.c, nil }

type reviewEnv struct {
	base *handler.Base
	srv  *githubtest.Server
	c    *github.Client
	rv   *planreview.Review
	logs *bytes.Buffer
}

// newReviewEnv seeds the fixtures' pull request: authored by Codertocat,
// with a commit co-authored by carol (a pusher), and an "acme/sre" team
// holding bob.
func newReviewEnv(t testing.TB, adjust func(*config.Config)) *reviewEnv {
	t.Helper()
	srv := githubtest.New(t)
	srv.AddRepo(fxRepo, "main")
	srv.AddIssue(fxRepo, &github.Issue{Title: github.String("an issue taking #1")})
	pr := srv.AddPull(fxRepo, &github.PullRequest{Title: github.String("Remove the old bucket"),
		User: &github.User{Login: github.String(fxAuthor)}, Head: &github.PullRequestBranch{SHA: github.String(fxHead)}})
	if pr.GetNumber() != fxPR {
		t.Fatalf("seeded PR #%d, want #%d", pr.GetNumber(), fxPR)
	}
	srv.SetPullCommits(fxRepo, fxPR,
		&github.RepositoryCommit{SHA: github.String(fxHead), Author: &github.User{Login: github.String(fxAuthor)}, Committer: &github.User{Login: github.String("carol")}})
	srv.SetPullFiles(fxRepo, fxPR, &github.CommitFile{Filename: github.String("infra/prod/main.tf"), Status: github.String("modified")})
	srv.AddTeam("Codertocat", "sre", "bob")
	srv.AddUser("bob", "User")
	srv.AddUser("dave", "User")
	var logs bytes.Buffer
	c := srv.Client()
	b := &handler.Base{
		Clients:  staticClients{c},
		Locker:   &handler.MemLocker{},
		Memo:     &handler.MemMemo{},
		Identity: ghwrite.Identity{Logins: []string{"tasuki[bot]"}},
		Log:      slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	var opts []planreview.Option
	if adjust != nil {
		opts = append(opts, planreview.WithConfigAdjust(adjust))
	}
	return &reviewEnv{base: b, srv: srv, c: c, rv: planreview.New(b, opts...), logs: &logs}
}

func readPlan(t testing.TB, name string) *review.Plan {
	t.Helper()
	f, err := os.Open(filepath.Join(testenv.Fixtures(t, "tfplan"), name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := review.ReadPlan(f, name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func webhook(t *testing.T, name string) dispatch.Delivery {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.Fixtures(t, "webhooks"), name))
	if err != nil {
		t.Fatal(err)
	}
	event, rest, _ := strings.Cut(name, ".")
	action, _, _ := strings.Cut(rest, ".")
	return dispatch.Delivery{ID: "d-" + name, Event: event, Action: action, InstallationID: 1, Repository: fxRepo, Payload: b}
}

// checkOn returns the tasuki/plan-review check run on sha, failing if there
// is not exactly one.
func (e *reviewEnv) checkOn(t *testing.T, sha string) *github.CheckRun {
	t.Helper()
	var out []*github.CheckRun
	for _, cr := range e.srv.CheckRuns(fxRepo) {
		if cr.GetHeadSHA() == sha && cr.GetName() == planreview.CheckName {
			out = append(out, cr)
		}
	}
	if len(out) != 1 {
		t.Fatalf("%d %s check runs on %s, want 1", len(out), planreview.CheckName, sha)
	}
	return out[0]
}

func (e *reviewEnv) tasukiComments(t *testing.T) []*github.IssueComment {
	t.Helper()
	var out []*github.IssueComment
	for _, cm := range e.srv.Comments(fxRepo, fxPR) {
		if cm.GetUser().GetLogin() == "tasuki[bot]" {
			out = append(out, cm)
		}
	}
	return out
}

func (e *reviewEnv) post(t testing.TB, head string, plans ...*review.Plan) planreview.PostPlanResult {
	t.Helper()
	res, err := e.rv.PostPlan(context.Background(), e.c, planreview.PostPlanInput{
		Owner: fxOwner, Repo: fxName, Number: fxPR, HeadSHA: head, Plans: plans,
		Meta: review.Meta{RunURL: "https://github.com/Codertocat/Hello-World/actions/runs/1"},
	})
	if err != nil {
		t.Fatalf("PostPlan: %v", err)
	}
	return res
}

func (e *reviewEnv) deliver(t *testing.T, d dispatch.Delivery) {
	t.Helper()
	var h dispatch.Handler
	switch d.Event {
	case "pull_request":
		h = &planreview.PullRequest{Review: e.rv}
	case "pull_request_review":
		h = &planreview.PullRequestReview{Review: e.rv}
	default:
		t.Fatalf("no handler for %s", d.Event)
	}
	if err := h.Handle(context.Background(), d); err != nil {
		t.Fatalf("Handle %s: %v", d.ID, err)
	}
}

// TestFlow follows one pull request through plan review as users
// meet it: a plan with a delete, the author's own approval, a co-author's,
// an eligible teammate's, a push that makes the plan stale, a new plan and
// a fresh approval.
func TestFlow(t *testing.T) {
	e := newReviewEnv(t, nil)
	plan := readPlan(t, "tofu-showjson-basic-delete.json")

	// 1. The plan deletes a resource: one comment, check action_required.
	res := e.post(t, fxHead, plan)
	cms := e.tasukiComments(t)
	if len(cms) != 1 {
		t.Fatalf("%d tasuki comments after the first plan, want 1", len(cms))
	}
	commentID := cms[0].GetID()
	if !planreview.CommentMarker(fxPR).In(cms[0].GetBody()) {
		t.Errorf("comment lacks the plan-review marker:\n%s", cms[0].GetBody())
	}
	if res.CommentID != commentID || res.CommentURL == "" {
		t.Errorf("result comment %d %q, want %d and a URL", res.CommentID, res.CommentURL, commentID)
	}
	cr := e.checkOn(t, fxHead)
	if cr.GetConclusion() != "action_required" || res.Conclusion != "action_required" {
		t.Errorf("check conclusion %q (result %q), want action_required", cr.GetConclusion(), res.Conclusion)
	}
	if cr.GetExternalID() != "plan-review:Codertocat/Hello-World#2" {
		t.Errorf("external_id %q", cr.GetExternalID())
	}
	if cr.GetDetailsURL() != res.CommentURL {
		t.Errorf("details_url %q, want the comment %q", cr.GetDetailsURL(), res.CommentURL)
	}
	if !res.Verdict.NeedsSecondReviewer {
		t.Errorf("verdict does not need a second reviewer for a delete: %+v", res.Verdict)
	}

	// 2. The author approves (as a bot or admin could): does not count.
	e.srv.AddReview(fxRepo, fxPR, fxAuthor, "APPROVED", fxHead)
	e.deliver(t, webhook(t, "pull_request_review.submitted.3.json"))
	if got := e.checkOn(t, fxHead).GetConclusion(); got != "action_required" {
		t.Errorf("after the author's approval: conclusion %q, want action_required", got)
	}

	// 3. carol committed to the PR: her approval does not count either.
	e.srv.AddReview(fxRepo, fxPR, "carol", "APPROVED", fxHead)
	r, err := e.rv.Reevaluate(context.Background(), e.c, fxOwner, fxName, fxPR)
	if err != nil {
		t.Fatal(err)
	}
	if r.Conclusion != "action_required" {
		t.Errorf("after a pusher's approval: conclusion %q, want action_required", r.Conclusion)
	}
	wantIgnored := []review.IgnoredApproval{{User: fxAuthor, Why: "author"}, {User: "carol", Why: "pushed commits"}}
	if diff := cmp.Diff(wantIgnored, r.Verdict.Ignored); diff != "" {
		t.Errorf("ignored approvals (-want +got):\n%s", diff)
	}

	// 4. bob approves the planned head: green, on the same check run.
	e.srv.AddReview(fxRepo, fxPR, "bob", "APPROVED", fxHead)
	e.deliver(t, webhook(t, "pull_request_review.submitted.2.json"))
	cr2 := e.checkOn(t, fxHead)
	if cr2.GetConclusion() != "success" {
		t.Errorf("after bob's approval: conclusion %q, want success (title %q)", cr2.GetConclusion(), cr2.GetOutput().GetTitle())
	}
	if cr2.GetID() != cr.GetID() {
		t.Errorf("check run %d replaced by %d; want it updated in place", cr.GetID(), cr2.GetID())
	}

	// 5. A push without a new plan: the new head's check says stale.
	e.srv.SetHead(fxRepo, fxPR, newHead)
	e.deliver(t, webhook(t, "pull_request.synchronize.1.json"))
	stale := e.checkOn(t, newHead)
	if stale.GetConclusion() != "action_required" {
		t.Errorf("stale check conclusion %q, want action_required", stale.GetConclusion())
	}
	if title, want := stale.GetOutput().GetTitle(), "Plan of ec26c3e is stale: head is 1111111; a new plan is needed"; title != want {
		t.Errorf("stale check title %q, want %q", title, want)
	}

	// 6. A new plan for the new head: the same comment is edited, and bob's
	// approval of the old head no longer counts.
	res = e.post(t, newHead, plan)
	cms = e.tasukiComments(t)
	if len(cms) != 1 || cms[0].GetID() != commentID {
		t.Fatalf("after re-posting: tasuki comments %v, want only #%d edited", commentIDs(cms), commentID)
	}
	if got := e.checkOn(t, newHead).GetConclusion(); got != "action_required" {
		t.Errorf("new plan with only an old approval: conclusion %q, want action_required", got)
	}

	// 7. bob approves the new head: green.
	e.srv.AddReview(fxRepo, fxPR, "bob", "APPROVED", newHead)
	e.deliver(t, webhook(t, "pull_request_review.submitted.2.json"))
	if got := e.checkOn(t, newHead).GetConclusion(); got != "success" {
		t.Errorf("after bob's fresh approval: conclusion %q, want success", got)
	}

	// 8. A dismissed review takes the approval away again.
	e.srv.AddReview(fxRepo, fxPR, "bob", "DISMISSED", newHead)
	e.deliver(t, webhook(t, "pull_request_review.dismissed.1.json"))
	if got := e.checkOn(t, newHead).GetConclusion(); got != "action_required" {
		t.Errorf("after dismissal: conclusion %q, want action_required", got)
	}

	// 9. Closed and reopened: recomputed from GitHub, nothing changed.
	e.deliver(t, webhook(t, "pull_request.reopened.1.json"))
	if got := e.checkOn(t, newHead).GetConclusion(); got != "action_required" {
		t.Errorf("after reopening: conclusion %q, want action_required", got)
	}
	if n := len(e.tasukiComments(t)); n != 1 {
		t.Errorf("%d tasuki comments at the end, want 1", n)
	}
}

func commentIDs(cms []*github.IssueComment) []int64 {
	var ids []int64
	for _, c := range cms {
		ids = append(ids, c.GetID())
	}
	return ids
}

// TestEligibleApprovers: with approvers configured, only members
// of the listed team count.
func TestEligibleApprovers(t *testing.T) {
	e := newReviewEnv(t, func(c *config.Config) {
		c.Review.Approvers.Teams = []string{"Codertocat/sre"}
	})
	e.post(t, fxHead, readPlan(t, "tofu-showjson-basic-delete.json"))
	e.srv.AddReview(fxRepo, fxPR, "dave", "APPROVED", fxHead)
	r, err := e.rv.Reevaluate(context.Background(), e.c, fxOwner, fxName, fxPR)
	if err != nil {
		t.Fatal(err)
	}
	if r.Conclusion != "action_required" {
		t.Errorf("dave is not in Codertocat/sre: conclusion %q, want action_required", r.Conclusion)
	}
	if diff := cmp.Diff([]review.IgnoredApproval{{User: "dave", Why: "not eligible"}}, r.Verdict.Ignored); diff != "" {
		t.Errorf("ignored (-want +got):\n%s", diff)
	}
	if !slices.Contains(r.Verdict.WhoMayApprove, "@Codertocat/sre") {
		t.Errorf("who may approve %v, want @Codertocat/sre named", r.Verdict.WhoMayApprove)
	}
	e.srv.AddReview(fxRepo, fxPR, "bob", "APPROVED", fxHead)
	r, err = e.rv.Reevaluate(context.Background(), e.c, fxOwner, fxName, fxPR)
	if err != nil {
		t.Fatal(err)
	}
	if r.Conclusion != "success" {
		t.Errorf("bob is in Codertocat/sre: conclusion %q, want success", r.Conclusion)
	}
}

// TestForgedFacts: a facts block in a human's comment, even with
// tasuki's marker, is never read.
func TestForgedFacts(t *testing.T) {
	e := newReviewEnv(t, nil)
	// mallory copies the marker and a facts block claiming nothing risky.
	noop := review.Summarize([]*review.Plan{}, review.DefaultConfig())
	forged := planreview.CommentMarker(fxPR).String() + "\n" + review.EncodeFacts(review.FactsOf(noop, fxHead))

	t.Run("without a tasuki comment nothing is evaluated", func(t *testing.T) {
		e.srv.AddComment(fxRepo, fxPR, "mallory", forged)
		e.srv.ResetCalls()
		r, err := e.rv.Reevaluate(context.Background(), e.c, fxOwner, fxName, fxPR)
		if err != nil {
			t.Fatal(err)
		}
		if r.Found {
			t.Errorf("Reevaluate found a plan review in mallory's comment")
		}
		if n := e.srv.WriteCount(); n != 0 {
			t.Errorf("%d writes for a pull request without plan review, want 0", n)
		}
	})
	t.Run("the risky plan stays risky", func(t *testing.T) {
		e.post(t, fxHead, readPlan(t, "tofu-showjson-basic-delete.json"))
		e.srv.AddComment(fxRepo, fxPR, "mallory", forged)
		r, err := e.rv.Reevaluate(context.Background(), e.c, fxOwner, fxName, fxPR)
		if err != nil {
			t.Fatal(err)
		}
		if r.Conclusion != "action_required" || !r.Verdict.NeedsSecondReviewer {
			t.Errorf("conclusion %q needs=%v, want action_required from tasuki's own facts", r.Conclusion, r.Verdict.NeedsSecondReviewer)
		}
	})
}

// TestUnreadable: an unreadable plan gives a comment naming the
// file and the reason, no summary, and a failing check that stays failing.
func TestUnreadable(t *testing.T) {
	e := newReviewEnv(t, nil)
	f, err := os.Open(filepath.Join(testenv.Fixtures(t, "tfplan"), "tfjson-invalid-malformed-json.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, rerr := review.ReadPlan(f, "plans/prod.json")
	var pe *review.PlanError
	if !asPlanError(rerr, &pe) {
		t.Fatalf("ReadPlan of a malformed plan: %v, want a *review.PlanError", rerr)
	}
	res, err := e.rv.PostPlan(context.Background(), e.c, planreview.PostPlanInput{
		Owner: fxOwner, Repo: fxName, Number: fxPR, HeadSHA: fxHead,
		Plans:      []*review.Plan{readPlan(t, "tofu-showjson-basic-delete.json")},
		Unreadable: []*review.PlanError{pe},
	})
	if err != nil {
		t.Fatal(err)
	}
	body := e.tasukiComments(t)[0].GetBody()
	for _, want := range []string{"could not be read", "`plans/prod.json`"} {
		if !strings.Contains(body, want) {
			t.Errorf("comment lacks %q:\n%s", want, body)
		}
	}
	// No half summary: the readable plan's delete is not listed.
	if strings.Contains(body, "null_resource") || strings.Contains(strings.ToLower(body), "to delete") {
		t.Errorf("comment summarises the readable plan despite the unreadable one:\n%s", body)
	}
	if res.Conclusion != "failure" || e.checkOn(t, fxHead).GetConclusion() != "failure" {
		t.Errorf("conclusion %q / check %q, want failure", res.Conclusion, e.checkOn(t, fxHead).GetConclusion())
	}
	e.srv.AddReview(fxRepo, fxPR, "bob", "APPROVED", fxHead)
	r, err := e.rv.Reevaluate(context.Background(), e.c, fxOwner, fxName, fxPR)
	if err != nil {
		t.Fatal(err)
	}
	if r.Conclusion != "failure" {
		t.Errorf("an approval turned an unreadable plan's check to %q, want failure", r.Conclusion)
	}
}

func asPlanError(err error, pe **review.PlanError) bool {
	p, ok := err.(*review.PlanError)
	if ok {
		*pe = p
	}
	return ok
}

// TestEconomy counts the API calls of a re-evaluation and checks
// that a redelivered event writes nothing.
func TestEconomy(t *testing.T) {
	e := newReviewEnv(t, nil)
	e.post(t, fxHead, readPlan(t, "tofu-showjson-basic-delete.json"))
	e.srv.AddReview(fxRepo, fxPR, "bob", "APPROVED", fxHead)

	e.srv.ResetCalls()
	e.deliver(t, webhook(t, "pull_request_review.submitted.2.json"))
	// The verdict changed: the check and the comment's verdict section are
	// edited once each; the writer re-reads the comment by its remembered
	// ID just before editing it, and updates the check run by its
	// remembered ID without looking it up.
	want := map[string]int{
		"GET /repos/{owner}/{repo}/issues/{issue_number}/comments": 1,
		"GET /repos/{owner}/{repo}/pulls/{pull_number}":            1,
		"GET /repos/{owner}/{repo}/pulls/{pull_number}/commits":    1,
		"GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews":    1,
		"PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}":    1,
		"GET /repos/{owner}/{repo}/issues/comments/{comment_id}":   1,
		"PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}": 1,
	}
	if diff := cmp.Diff(want, callCounts(e.srv)); diff != "" {
		t.Errorf("API calls of one re-evaluation (-want +got):\n%s", diff)
	}

	e.srv.ResetCalls()
	e.deliver(t, webhook(t, "pull_request_review.submitted.2.json"))
	if n := e.srv.WriteCount(); n != 0 {
		t.Errorf("a redelivered review event made %d writes, want 0", n)
	}
	// The comment is read by its remembered ID, not found in the thread;
	// the check run, remembered as set to the same output on this commit,
	// is neither read nor written.
	delete(want, "PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}")
	delete(want, "GET /repos/{owner}/{repo}/issues/{issue_number}/comments")
	delete(want, "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}")
	if diff := cmp.Diff(want, callCounts(e.srv)); diff != "" {
		t.Errorf("API calls of a re-evaluation that changes nothing (-want +got):\n%s", diff)
	}

	// Re-posting the same plan (a re-run workflow) edits nothing and
	// creates nothing.
	e.post(t, fxHead, readPlan(t, "tofu-showjson-basic-delete.json"))
	e.srv.ResetCalls()
	e.post(t, fxHead, readPlan(t, "tofu-showjson-basic-delete.json"))
	if n := e.srv.WriteCount(); n != 0 {
		t.Errorf("re-posting an unchanged plan made %d writes, want 0: %v", n, callCounts(e.srv))
	}
}

func callCounts(srv *githubtest.Server) map[string]int {
	out := map[string]int{}
	for _, c := range srv.Calls() {
		out[c.Method+" "+c.Template]++
	}
	return out
}

// TestEventsIgnoreTasuki: events sent by tasuki itself cause no
// API call.
func TestEventsIgnoreTasuki(t *testing.T) {
	e := newReviewEnv(t, nil)
	d := webhook(t, "pull_request.synchronize.1.json")
	var ev map[string]any
	if err := json.Unmarshal(d.Payload, &ev); err != nil {
		t.Fatal(err)
	}
	ev["sender"] = map[string]any{"login": "tasuki[bot]", "type": "Bot", "id": 1}
	d.Payload, _ = json.Marshal(ev)
	e.srv.ResetCalls()
	e.deliver(t, d)
	if n := len(e.srv.Calls()); n != 0 {
		t.Errorf("an event sent by tasuki made %d API calls, want 0", n)
	}
}

// TestEventsAllFixtures delivers every pull_request and
// pull_request_review fixture, with and without a plan review on the pull
// request: no handler may panic or fail.
func TestEventsAllFixtures(t *testing.T) {
	dir := testenv.Fixtures(t, "webhooks")
	var names []string
	for _, pat := range []string{"pull_request.*.json", "pull_request_review.*.json"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		names = append(names, m...)
	}
	if len(names) < 30 {
		t.Fatalf("found %d fixtures, want the ~33 pull_request and pull_request_review ones", len(names))
	}
	for _, withPlan := range []bool{false, true} {
		e := newReviewEnv(t, nil)
		if withPlan {
			e.post(t, fxHead, readPlan(t, "tofu-showjson-basic-delete.json"))
		}
		for _, path := range names {
			t.Run(filepath.Base(path), func(t *testing.T) {
				e.deliver(t, webhook(t, filepath.Base(path)))
			})
		}
	}
}

func TestEventDecodeError(t *testing.T) {
	e := newReviewEnv(t, nil)
	for _, h := range []dispatch.Handler{&planreview.PullRequest{Review: e.rv}, &planreview.PullRequestReview{Review: e.rv}} {
		err := h.Handle(context.Background(), dispatch.Delivery{ID: "bad-1", Event: "pull_request", Payload: []byte(`{"action": 7}`)})
		if err == nil || !strings.Contains(err.Error(), "decode pull_request delivery bad-1") {
			t.Errorf("%T: err = %v, want a decode error naming the delivery", h, err)
		}
	}
}

// TestUnreadableGolden pins the comment users see when plans
// cannot be read, including a file name that tries markdown injection.
func TestUnreadableGolden(t *testing.T) {
	e := newReviewEnv(t, nil)
	_, err := e.rv.PostPlan(context.Background(), e.c, planreview.PostPlanInput{
		Owner: fxOwner, Repo: fxName, Number: fxPR, HeadSHA: fxHead,
		Unreadable: []*review.PlanError{
			{Source: "infra/prod/plan.json", Reason: "not a Terraform plan: no resource_changes or planned_values (did you pass the state file instead of `terraform show -json PLANFILE`?)"},
			{Source: "plans/`evil` @ops <b>x</b>.json", Reason: "file is empty"},
		},
		Meta: review.Meta{RunURL: "https://github.com/Codertocat/Hello-World/actions/runs/42"},
	})
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, filepath.Join("testdata", "plan_review_unreadable.golden.md"), e.tasukiComments(t)[0].GetBody())
}

// TestCodeowners: with approvers.codeowners, the owners of the
// changed Terraform files count, as CODEOWNERS assigns them (the last
// matching line wins), and the check names them.
func TestCodeowners(t *testing.T) {
	e := newReviewEnv(t, func(c *config.Config) {
		c.Review.Approvers.Codeowners = true
	})
	e.srv.AddUser("erin", "User")
	e.srv.PutFile(fxRepo, "main", ".github/CODEOWNERS", []byte("infra/ @Codertocat/sre\ninfra/prod/ @erin\n"))
	e.post(t, fxHead, readPlan(t, "tofu-showjson-basic-delete.json"))

	e.srv.AddReview(fxRepo, fxPR, "bob", "APPROVED", fxHead)
	r, err := e.rv.Reevaluate(context.Background(), e.c, fxOwner, fxName, fxPR)
	if err != nil {
		t.Fatal(err)
	}
	if r.Conclusion != "action_required" {
		t.Errorf("bob owns infra/ but not infra/prod/main.tf: conclusion %q, want action_required", r.Conclusion)
	}
	if diff := cmp.Diff([]string{"@erin"}, r.Verdict.WhoMayApprove); diff != "" {
		t.Errorf("who may approve (-want +got):\n%s", diff)
	}
	cr := e.checkOn(t, fxHead)
	if out := cr.GetOutput().GetSummary() + cr.GetOutput().GetText(); !strings.Contains(out, "erin") {
		t.Errorf("check output does not say erin may approve:\n%s", out)
	}

	e.srv.AddReview(fxRepo, fxPR, "erin", "APPROVED", fxHead)
	r, err = e.rv.Reevaluate(context.Background(), e.c, fxOwner, fxName, fxPR)
	if err != nil {
		t.Fatal(err)
	}
	if r.Conclusion != "success" {
		t.Errorf("erin owns infra/prod/main.tf: conclusion %q, want success", r.Conclusion)
	}
}

// TestRepositoryConfig: the repository's .github/tasuki.yml sets
// the policy; when GitHub fails to serve it, nothing is decided on defaults.
func TestRepositoryConfig(t *testing.T) {
	e := newReviewEnv(t, nil)
	e.base.Config = config.NewLoader()
	e.srv.AddUser("erin", "User")
	e.srv.PutFile(fxRepo, "main", ".github/tasuki.yml", []byte("review:\n  approvals: 2\n"))
	e.post(t, fxHead, readPlan(t, "tofu-showjson-basic-delete.json"))

	e.srv.AddReview(fxRepo, fxPR, "bob", "APPROVED", fxHead)
	r, err := e.rv.Reevaluate(context.Background(), e.c, fxOwner, fxName, fxPR)
	if err != nil {
		t.Fatal(err)
	}
	if r.Conclusion != "action_required" || r.Verdict.Required != 2 {
		t.Errorf("one of two approvals: conclusion %q required %d, want action_required and 2", r.Conclusion, r.Verdict.Required)
	}
	e.srv.AddReview(fxRepo, fxPR, "erin", "APPROVED", fxHead)
	if r, err = e.rv.Reevaluate(context.Background(), e.c, fxOwner, fxName, fxPR); err != nil {
		t.Fatal(err)
	}
	if r.Conclusion != "success" {
		t.Errorf("two approvals: conclusion %q, want success", r.Conclusion)
	}

	// A fresh loader (no cache) meets a GitHub outage: an error to retry,
	// and the check is left as it was.
	e.base.Config = config.NewLoader()
	e.srv.InjectTimes(5, "GET", "/repos/{owner}/{repo}/contents/{path}", 502, nil)
	e.srv.ResetCalls()
	if _, err := e.rv.Reevaluate(context.Background(), e.c, fxOwner, fxName, fxPR); err == nil {
		t.Fatal("Reevaluate succeeded without the configuration, want an error")
	}
	if n := e.srv.WriteCount(); n != 0 {
		t.Errorf("%d writes while the configuration was unreadable, want 0", n)
	}
}

// TestRerun: "Re-run" on the tasuki/plan-review check
// re-evaluates; other checks' events and undecodable payloads do not.
func TestRerun(t *testing.T) {
	e := newReviewEnv(t, nil)
	e.post(t, fxHead, readPlan(t, "tofu-showjson-basic-delete.json"))
	e.srv.AddReview(fxRepo, fxPR, "bob", "APPROVED", fxHead)
	h := &planreview.Rerun{Review: e.rv}

	// A real check_run payload turned into a rerequest of tasuki's check
	// (a fork's head: no pull_requests listed, only the external ID).
	d := webhook(t, "check_run.completed.1.json")
	var ev map[string]any
	if err := json.Unmarshal(d.Payload, &ev); err != nil {
		t.Fatal(err)
	}
	ev["action"] = "rerequested"
	cr := ev["check_run"].(map[string]any)
	cr["name"] = planreview.CheckName
	cr["external_id"] = "plan-review:Codertocat/Hello-World#2"
	cr["pull_requests"] = []any{}
	d.Payload, _ = json.Marshal(ev)
	if err := h.Handle(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if got := e.checkOn(t, fxHead).GetConclusion(); got != "success" {
		t.Errorf("after re-run: conclusion %q, want success", got)
	}

	dir := testenv.Fixtures(t, "webhooks")
	names, _ := filepath.Glob(filepath.Join(dir, "check_run.*.json"))
	for _, path := range names {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			e.srv.ResetCalls()
			err := h.Handle(context.Background(), webhook(t, name))
			if strings.HasPrefix(name, "check_run.rerequested.") {
				// Their timestamps are not RFC 3339; go-github cannot decode them.
				if err == nil || !strings.Contains(err.Error(), "decode check_run delivery") {
					t.Errorf("err = %v, want a clear decode error", err)
				}
			} else if err != nil {
				t.Errorf("Handle: %v", err)
			}
			if n := len(e.srv.Calls()); n != 0 {
				t.Errorf("another check's event made %d API calls", n)
			}
		})
	}
}

// TestCommentFollowsVerdict: the sticky comment's verdict section
// says what the check says at every step (waiting, an ignored approval,
// approved, stale after a push, a new plan), in the same comment, with one
// comment edit per change and none when nothing changed; what an admin
// wrote into the comment stays.
func TestCommentFollowsVerdict(t *testing.T) {
	e := newReviewEnv(t, func(c *config.Config) {
		c.Review.Approvers.Teams = []string{"Codertocat/sre"}
	})
	plan := readPlan(t, "tofu-showjson-basic-delete.json")
	const (
		editComment = "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}"
		editCheck   = "PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}"
		createCheck = "POST /repos/{owner}/{repo}/check-runs"
	)
	// The admin's note survives every edit.
	e.srv.SetPermission(fxRepo, "admin", "admin")
	const note = "\n\n> admin: hold the apply until the freeze ends on Friday\n"

	e.post(t, fxHead, plan)
	first := e.tasukiComments(t)[0]
	admin := e.srv.ClientAs("admin")
	if _, _, err := admin.Issues.EditComment(context.Background(), fxOwner, fxName, first.GetID(),
		&github.IssueComment{Body: github.String(first.GetBody() + note)}); err != nil {
		t.Fatal(err)
	}
	outside := func(body string) string {
		return strings.Replace(body, review.VerdictSection(body), "", 1)
	}
	wantOutside := outside(first.GetBody() + note)

	steps := []struct {
		name   string
		before func()
		event  string
		head   string
		repost bool
		want   []string // in the comment's verdict section
		writes map[string]int
	}{
		{"the author approves: not counted", func() { e.srv.AddReview(fxRepo, fxPR, fxAuthor, "APPROVED", fxHead) },
			"pull_request_review.submitted.3.json", fxHead, false,
			[]string{"### ⚠️ Plan review: needs a second reviewer (0 of 1 approvals)", "- delete: `test_instance.test-delete`",
				"Not counted: `Codertocat` (author). Who may approve: `@Codertocat/sre`."},
			map[string]int{editComment: 1, editCheck: 1}},
		{"the same event again", nil, "pull_request_review.submitted.3.json", fxHead, false,
			[]string{"### ⚠️ Plan review: needs a second reviewer (0 of 1 approvals)"}, map[string]int{}},
		{"dave approves: not eligible", func() { e.srv.AddReview(fxRepo, fxPR, "dave", "APPROVED", fxHead) },
			"pull_request_review.submitted.2.json", fxHead, false,
			[]string{"### ⚠️ Plan review: needs a second reviewer (0 of 1 approvals)",
				"Not counted: `Codertocat` (author), `dave` (not eligible). Who may approve: `@Codertocat/sre`."},
			map[string]int{editComment: 1, editCheck: 1}},
		{"bob approves: approved", func() { e.srv.AddReview(fxRepo, fxPR, "bob", "APPROVED", fxHead) },
			"pull_request_review.submitted.2.json", fxHead, false,
			[]string{"### ✅ Plan review: approved by `bob`", "- delete: `test_instance.test-delete`",
				"Not counted: `Codertocat` (author), `dave` (not eligible)."},
			map[string]int{editComment: 1, editCheck: 1}},
		{"redelivered approval", nil, "pull_request_review.submitted.2.json", fxHead, false,
			[]string{"### ✅ Plan review: approved by `bob`"}, map[string]int{}},
		{"a push: stale", func() { e.srv.SetHead(fxRepo, fxPR, newHead) },
			"pull_request.synchronize.1.json", newHead, false,
			[]string{"### 🕰️ Plan review: plan of `ec26c3e` is stale: head is `1111111`; a new plan is needed",
				"`bob` (stale\\: approved ec26c3e\\, head is 1111111)"},
			map[string]int{editComment: 1, createCheck: 1}},
		{"redelivered push", nil, "pull_request.synchronize.1.json", newHead, false,
			[]string{"plan of `ec26c3e` is stale"}, map[string]int{}},
		{"a new plan: needs review again", nil, "", newHead, true,
			[]string{"### ⚠️ Plan review: needs a second reviewer (0 of 1 approvals)", "Who may approve: `@Codertocat/sre`."},
			map[string]int{editComment: 1, editCheck: 1}},
	}
	for _, st := range steps {
		if st.before != nil {
			st.before()
		}
		e.srv.ResetCalls()
		if st.repost {
			e.post(t, st.head, plan)
		} else {
			e.deliver(t, webhook(t, st.event))
		}
		writes := map[string]int{}
		for call, n := range callCounts(e.srv) {
			if !strings.HasPrefix(call, "GET ") {
				writes[call] = n
			}
		}
		if diff := cmp.Diff(st.writes, writes); diff != "" {
			t.Errorf("%s: writes (-want +got):\n%s", st.name, diff)
		}
		cms := e.tasukiComments(t)
		if len(cms) != 1 || cms[0].GetID() != first.GetID() {
			t.Fatalf("%s: tasuki comments %v, want only #%d", st.name, commentIDs(cms), first.GetID())
		}
		body := cms[0].GetBody()
		sec := review.VerdictSection(body)
		for _, w := range st.want {
			if !strings.Contains(sec, w) {
				t.Errorf("%s: verdict section lacks %q:\n%s", st.name, w, sec)
			}
		}
		if len(body) > review.CommentLimit {
			t.Errorf("%s: comment of %d bytes", st.name, len(body))
		}
		// The check on the head says the same as the comment.
		cr := e.checkOn(t, st.head)
		if got := review.VerdictSection(cr.GetOutput().GetSummary()); got != sec {
			t.Errorf("%s: the check's summary and the comment disagree:\n%s", st.name, cmp.Diff(sec, got))
		}
		heading := strings.SplitN(sec, "\n", 3)[1]
		title := cr.GetOutput().GetTitle()
		if plain := strings.NewReplacer("`", "", "### ", "", "⚠️ ", "", "✅ ", "", "🕰️ ", "", "Plan review: ", "").Replace(heading); !strings.HasPrefix(strings.ToLower(title), strings.ToLower(plain)) {
			t.Errorf("%s: check title %q does not say what the comment says: %q", st.name, title, plain)
		}
		if st.repost {
			continue // PostPlan rewrites the whole comment
		}
		if got := outside(body); got != wantOutside {
			t.Errorf("%s: the comment changed outside its verdict section:\n%s", st.name, cmp.Diff(wantOutside, got))
		}
	}
}
