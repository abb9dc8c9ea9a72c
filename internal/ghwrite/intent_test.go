package ghwrite_test

import (
	"context"
	"github.com/tasuki-sre/tasuki/internal/intent"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/ghwrite"
	"github.com/tasuki-sre/tasuki/internal/githubtest"
	"github.com/tasuki-sre/tasuki/internal/marker"
)

// seedPostmortem adds an incident and tasuki's postmortem for it, and
// returns the postmortem's number.
func seedPostmortem(srv *githubtest.Server) int {
	srv.PutFile("acme/api", "main", "CODEOWNERS", []byte("* @acme/sre\n"))
	return srv.AddIssue("acme/api", &github.Issue{Title: github.String("Postmortem: API outage"),
		Body: github.String("## Summary\n\n" + marker.New("postmortem", "acme/api#7").String()), User: &github.User{Login: github.String("tasuki[bot]")},
		Labels: []*github.Label{{Name: github.String("postmortem")}, {Name: github.String("needs-owner")}}}).GetNumber()
}

// everyKind is one intent of each kind about postmortem pm.
func everyKind(pm int, sha string) []ghwrite.Intent {
	return []ghwrite.Intent{
		{Kind: ghwrite.IntentUpsertComment, Number: 1, Marker: marker.New("plan-review", "1"), Body: "Plan: 1 to add"},
		{Kind: ghwrite.IntentCheckRun, CheckRun: ghwrite.CheckRun{Name: "tasuki/plan-review", HeadSHA: sha, ExternalID: "pr-1", Conclusion: "success", Title: "Approved"}},
		{Kind: ghwrite.IntentEnsureIssue, Marker: marker.New("postmortem-item", "acme/api#7:add-jitter"),
			Issue: ghwrite.NewIssue{Title: "Action item: add jitter", Body: "From the postmortem.", Labels: []string{"follow-up"}}, Lookup: ghwrite.IssueLookup{Label: "follow-up"}},
		{Kind: ghwrite.IntentEditIssue, Number: pm, Edit: ghwrite.IssueEdit{Body: github.String("## Summary\n\nAll done."), Marker: marker.New("postmortem", "acme/api#7")}},
		{Kind: ghwrite.IntentEnsureComment, Number: pm, Marker: marker.New("postmortem-complete", "acme/api#7"), Body: "Every action item is done."},
		{Kind: ghwrite.IntentAddLabels, Number: pm, Labels: []string{"postmortem-complete"}},
		{Kind: ghwrite.IntentRemoveLabels, Number: pm, Labels: []string{"needs-owner"}},
		{Kind: ghwrite.IntentClose, Number: pm, Reason: ghwrite.CloseCompleted},
		{Kind: ghwrite.IntentOpenPullRequest, PullRequest: ghwrite.PullRequest{Marker: marker.New("handoff", "payments"), Head: "tasuki/handoff-payments",
			Title: "Hand payments over", Files: []ghwrite.FileChange{{Path: "CODEOWNERS", Content: []byte("* @acme/payments\n")}}}},
	}
}

func TestExecute(t *testing.T) {
	ctx := context.Background()
	srv, w := setup(t)
	pm := seedPostmortem(srv)
	intents := everyKind(pm, srv.Pull("acme/api", 1).GetHead().GetSHA())
	res, err := w.Execute(ctx, "acme", "api", intents)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(intents) {
		t.Fatalf("%d results for %d intents", len(res), len(intents))
	}
	writes := srv.WriteCount()
	// A retried job writes nothing more, and finds the same artefacts.
	again, err := w.Execute(ctx, "acme", "api", intents)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(res, again); diff != "" {
		t.Errorf("the retry found other artefacts (-first +retry):\n%s", diff)
	}
	if n := srv.WriteCount() - writes; n != 0 {
		t.Errorf("the retry wrote %d times, want 0", n)
	}
	got := srv.Issue("acme/api", pm)
	if got.GetState() != "closed" || got.GetStateReason() != "completed" || !strings.HasPrefix(got.GetBody(), "## Summary\n\nAll done.") {
		t.Errorf("postmortem: %s (%s), body %q", got.GetState(), got.GetStateReason(), got.GetBody())
	}
	if diff := cmp.Diff([]string{"postmortem", "postmortem-complete"}, labelNames(got)); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	counts := [5]int{len(srv.Comments("acme/api", 1)), len(srv.Comments("acme/api", pm)), len(srv.CheckRuns("acme/api")), len(srv.Issues("acme/api")), len(srv.Pulls("acme/api"))}
	// Issues: PR #1, the postmortem, the follow-up and the PR tasuki opened.
	if diff := cmp.Diff([5]int{1, 1, 1, 4, 2}, counts); diff != "" {
		t.Errorf("[PR comments, postmortem comments, check runs, issues, PRs] (-want +got):\n%s", diff)
	}
}

func TestExecuteRefuses(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		broken ghwrite.Intent
		want   string
	}{
		{"unknown kind", ghwrite.Intent{Kind: "merge", Number: 1}, `intent 1: unknown intent kind "merge"`},
		{"no number", ghwrite.Intent{Kind: ghwrite.IntentClose}, "intent 1: close needs a number"},
		{"no marker", ghwrite.Intent{Kind: ghwrite.IntentEnsureComment, Number: 1, Body: "x"}, "intent 1: ensure-comment needs a number and a marker"},
		{"bad reason", ghwrite.Intent{Kind: ghwrite.IntentClose, Number: 1, Reason: "duplicate"}, "close reason"},
		{"PR without files", ghwrite.Intent{Kind: ghwrite.IntentOpenPullRequest, PullRequest: ghwrite.PullRequest{Marker: marker.New("handoff", "x"), Head: "h", Title: "t"}},
			"no file changes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, w := setup(t)
			intents := []ghwrite.Intent{{Kind: ghwrite.IntentAddLabels, Number: 1, Labels: []string{"reviewed"}}, tt.broken}
			_, err := w.Execute(ctx, "acme", "api", intents)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to say %q", err, tt.want)
			}
			if n := srv.WriteCount(); n != 0 {
				t.Errorf("%d writes before refusing, want 0", n)
			}
		})
	}
}

// Execute stops at the first failed write: the close after a failed
// comment must wait for the retry.
func TestExecuteStops(t *testing.T) {
	ctx := context.Background()
	srv, w := setup(t)
	pm := seedPostmortem(srv)
	srv.Inject("POST", tmplComments, 502, nil)
	_, err := w.Execute(ctx, "acme", "api", []ghwrite.Intent{
		{Kind: ghwrite.IntentEnsureComment, Number: pm, Marker: marker.New("postmortem-complete", "acme/api#7"), Body: "Done."},
		{Kind: ghwrite.IntentClose, Number: pm},
	})
	if err == nil || !strings.Contains(err.Error(), "intent 0 (ensure-comment #") {
		t.Errorf("err = %v, want the comment's failure", err)
	}
	if srv.Issue("acme/api", pm).GetState() != "open" {
		t.Error("closed although the comment before failed")
	}
}

// A check run whose details link is intent.CommentURL points at the comment
// written before it in the same batch; without such a comment the batch is
// refused before any write.
func TestExecuteLinksCheckToComment(t *testing.T) {
	ctx := context.Background()
	srv, w := setup(t)
	sha := srv.Pull("acme/api", 1).GetHead().GetSHA()
	check := ghwrite.Intent{Kind: ghwrite.IntentCheckRun, CheckRun: ghwrite.CheckRun{Name: "tasuki/plan-review", HeadSHA: sha,
		ExternalID: "plan-review:acme/api#1", Conclusion: "action_required", Title: "t", Summary: "s", DetailsURL: intent.CommentURL}}
	if _, err := w.Execute(ctx, "acme", "api", []ghwrite.Intent{check}); err == nil || srv.WriteCount() != 0 {
		t.Fatalf("a link to no comment: err %v after %d writes, want a refusal before any", err, srv.WriteCount())
	}
	res, err := w.Execute(ctx, "acme", "api", []ghwrite.Intent{
		{Kind: ghwrite.IntentUpsertComment, Number: 1, Marker: marker.New("plan-review", "1"), Body: "plan"}, check})
	if err != nil {
		t.Fatal(err)
	}
	var got string
	for _, cr := range srv.CheckRuns("acme/api") {
		if cr.GetID() == res[1].ID {
			got = cr.GetDetailsURL()
		}
	}
	if res[0].URL == "" || got != res[0].URL {
		t.Errorf("check run details %q, want the comment's page %q", got, res[0].URL)
	}
}
