package planreview_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/handler/planreview"
	"github.com/tasuki-sre/tasuki/internal/review"
)

// prDelivery is a delivery of event (pull_request_review submitted or
// pull_request synchronize) whose pull request is at head as of at.
func prDelivery(t *testing.T, id, event, head string, at time.Time) dispatch.Delivery {
	t.Helper()
	pr := &github.PullRequest{Number: github.Int(fxPR), UpdatedAt: &github.Timestamp{Time: at},
		Head: &github.PullRequestBranch{SHA: github.String(head)}, User: &github.User{Login: github.String(fxAuthor)}}
	repo := &github.Repository{Name: github.String(fxName), FullName: github.String(fxRepo), Owner: &github.User{Login: github.String(fxOwner)}}
	var v any
	action := "submitted"
	switch event {
	case "pull_request_review":
		v = github.PullRequestReviewEvent{Action: &action, PullRequest: pr, Repo: repo,
			Installation: &github.Installation{ID: github.Int64(1)}, Sender: &github.User{Login: github.String("bob")},
			Review: &github.PullRequestReview{State: github.String("approved"), CommitID: github.String(head)}}
	default:
		action = "synchronize"
		v = github.PullRequestEvent{Action: &action, PullRequest: pr, Repo: repo,
			Installation: &github.Installation{ID: github.Int64(1)}, Sender: &github.User{Login: github.String(fxAuthor)}}
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return dispatch.Delivery{ID: id, Event: event, Action: action, InstallationID: 1, Repository: fxRepo, Payload: b}
}

// TestPayloadPullRequest: a review event's payload says the pull request's
// head and author, so the pull request is not read again; but a delivery
// older than what tasuki has already seen (a retry or a redelivery after a
// push) is not believed: the pull request is read afresh, and the
// approval of the old head does not turn anything green.
func TestPayloadPullRequest(t *testing.T) {
	e := newReviewEnv(t, nil)
	e.post(t, fxHead, readPlan(t, "tofu-showjson-basic-delete.json"))
	e.srv.AddReview(fxRepo, fxPR, "bob", "APPROVED", fxHead)
	t0 := time.Now().Add(time.Minute)
	approved := prDelivery(t, "d-approved", "pull_request_review", fxHead, t0)

	e.srv.ResetCalls()
	e.deliver(t, approved)
	if n := e.srv.CallCount("GET", "/repos/{owner}/{repo}/pulls/{pull_number}"); n != 0 {
		t.Errorf("the pull request was read %d times, though the payload carries it", n)
	}
	if c := e.checkOn(t, fxHead).GetConclusion(); c != "success" {
		t.Fatalf("after bob's approval: check %q, want success", c)
	}

	// A push moves the head; its synchronize event marks the plan stale.
	e.srv.SetHead(fxRepo, fxPR, newHead)
	e.deliver(t, prDelivery(t, "d-push", "pull_request", newHead, t0.Add(time.Minute)))
	if c := e.checkOn(t, newHead); c.GetConclusion() != "action_required" {
		t.Fatalf("after the push: check on the new head %q, want action_required", c.GetConclusion())
	}
	before := review.VerdictSection(e.tasukiComments(t)[0].GetBody())

	// The approval's delivery again, late.
	e.srv.ResetCalls()
	e.deliver(t, approved)
	if n := e.srv.CallCount("GET", "/repos/{owner}/{repo}/pulls/{pull_number}"); n != 1 {
		t.Errorf("an old delivery read the pull request %d times, want 1 (its payload is out of date)", n)
	}
	after := review.VerdictSection(e.tasukiComments(t)[0].GetBody())
	if after != before || !strings.Contains(after, "stale") {
		t.Errorf("an old delivery changed the verdict:\nbefore: %s\nafter: %s", before, after)
	}
	if c := e.checkOn(t, newHead).GetConclusion(); c != "action_required" {
		t.Errorf("an old delivery set the new head's check to %q", c)
	}
}

// TestRerunWritesRememberedCheck: the check run is not written again when
// tasuki remembers setting it to the same output, but "Re-run" writes it
// whatever the memo says.
func TestRerunWritesRememberedCheck(t *testing.T) {
	e := newReviewEnv(t, nil)
	e.post(t, fxHead, readPlan(t, "tofu-showjson-basic-delete.json"))
	if _, err := e.rv.Reevaluate(context.Background(), e.c, fxOwner, fxName, fxPR); err != nil {
		t.Fatal(err)
	}
	e.srv.ResetCalls()
	if _, err := e.rv.Reevaluate(context.Background(), e.c, fxOwner, fxName, fxPR); err != nil {
		t.Fatal(err)
	}
	if n := e.srv.CallCount("GET", "/repos/{owner}/{repo}/commits/{ref}/check-runs"); n != 0 {
		t.Errorf("an unchanged verdict looked the check run up %d times, want 0", n)
	}

	d := webhook(t, "check_run.completed.1.json")
	var ev map[string]any
	if err := json.Unmarshal(d.Payload, &ev); err != nil {
		t.Fatal(err)
	}
	ev["action"] = "rerequested"
	cr := ev["check_run"].(map[string]any)
	cr["name"], cr["external_id"], cr["pull_requests"] = planreview.CheckName, "plan-review:Codertocat/Hello-World#2", []any{}
	d.Payload, _ = json.Marshal(ev)
	e.srv.ResetCalls()
	if err := (&planreview.Rerun{Review: e.rv}).Handle(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if n := e.srv.CallCount("GET", "/repos/{owner}/{repo}/commits/{ref}/check-runs"); n != 1 {
		t.Errorf("re-run looked the check run up %d times, want 1", n)
	}
}

// TestEditedFacts: anyone with write access can edit tasuki's comment. A
// maintainer rewriting its plan facts to claim nothing risky does not pass
// the risky plan: the check fails and says the record was edited, until a
// plan is posted again.
func TestEditedFacts(t *testing.T) {
	e := newReviewEnv(t, nil)
	e.post(t, fxHead, readPlan(t, "tofu-showjson-basic-delete.json"))
	cm := e.tasukiComments(t)[0]
	noop := review.FactsOf(review.Summarize([]*review.Plan{}, review.DefaultConfig()), fxHead)
	forged := cm.GetBody()[:strings.LastIndex(cm.GetBody(), "<!-- tasuki:plan-facts")] + review.EncodeFacts(noop) + "\n" + planreview.CommentMarker(fxPR).String()
	if f, found, err := review.DecodeFacts(forged); !found || err != nil || len(f.Risky) != 0 {
		t.Fatalf("the edited body does not read as harmless facts: %+v %v %v", f, found, err)
	}
	e.srv.SetPermission(fxRepo, "mallory", "admin")
	if _, _, err := e.srv.ClientAs("mallory").Issues.EditComment(context.Background(), fxOwner, fxName, cm.GetID(),
		&github.IssueComment{Body: github.String(forged)}); err != nil {
		t.Fatal(err)
	}
	res, err := e.rv.Reevaluate(context.Background(), e.c, fxOwner, fxName, fxPR)
	if err != nil {
		t.Fatal(err)
	}
	cr := e.checkOn(t, fxHead)
	if cr.GetConclusion() != "failure" || res.Conclusion != "failure" || !strings.Contains(cr.GetOutput().GetTitle(), "was edited") {
		t.Errorf("after the edit: check %q %q, want failure saying the record was edited", cr.GetConclusion(), cr.GetOutput().GetTitle())
	}
	// A new plan is believed again.
	e.post(t, fxHead, readPlan(t, "tofu-showjson-basic-delete.json"))
	if _, err := e.rv.Reevaluate(context.Background(), e.c, fxOwner, fxName, fxPR); err != nil {
		t.Fatal(err)
	}
	if c := e.checkOn(t, fxHead).GetConclusion(); c != "action_required" {
		t.Errorf("after posting the plan again: check %q, want action_required", c)
	}
}
