package planreview_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/review"
)

// TestWhoMayApproveFromPullRequest: with no approvers configured, the
// comment says who may approve by default and names the reviewers the
// pull request requested (from the pull request itself, no extra read),
// leaving out a pusher; review events keep saying it.
func TestWhoMayApproveFromPullRequest(t *testing.T) {
	e := newReviewEnv(t, nil)
	if _, _, err := e.c.PullRequests.RequestReviewers(context.Background(), fxOwner, fxName, fxPR,
		github.ReviewersRequest{Reviewers: []string{"bob", "carol"}, TeamReviewers: []string{"sre"}}); err != nil {
		t.Fatal(err)
	}
	const want = "Who may approve: anyone with write access except the author and anyone who pushed commits to the pull request. Already requested: `bob`, `Codertocat/sre`."
	e.srv.ResetCalls()
	res := e.post(t, fxHead, readPlan(t, "tofu-showjson-basic-delete.json"))
	if sec := review.VerdictSection(res.Body); !strings.Contains(sec, want) {
		t.Errorf("verdict section lacks %q:\n%s", want, sec)
	}
	for call := range callCounts(e.srv) {
		if strings.Contains(call, "requested_reviewers") {
			t.Errorf("requested reviewers read with %s: the pull request already names them", call)
		}
	}
	// The author approves: not counted, and the section still says who may.
	e.srv.AddReview(fxRepo, fxPR, fxAuthor, "APPROVED", fxHead)
	e.deliver(t, webhook(t, "pull_request_review.submitted.3.json"))
	if sec := review.VerdictSection(e.tasukiComments(t)[0].GetBody()); !strings.Contains(sec, want) || !strings.Contains(sec, "Not counted: `Codertocat` (author).") {
		t.Errorf("after the author's approval the section reads:\n%s", sec)
	}
}
