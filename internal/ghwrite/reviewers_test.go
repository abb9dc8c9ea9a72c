package ghwrite_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/ghwrite"
	"github.com/tasuki-sre/tasuki/internal/marker"
)

const reviewersTmpl = "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers"

// requested returns the logins and team slugs GitHub has asked for a review
// of pull request n, sorted.
func requested(t *testing.T, c *github.Client, n int) (users, teams []string) {
	t.Helper()
	rs, _, err := c.PullRequests.ListReviewers(context.Background(), "acme", "api", n, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range rs.Users {
		users = append(users, u.GetLogin())
	}
	for _, x := range rs.Teams {
		teams = append(teams, x.GetSlug())
	}
	slices.Sort(users)
	slices.Sort(teams)
	return users, teams
}

// Review requests are made once: whoever is already asked is not asked
// again, the author is never asked (GitHub answers 422), and one reviewer
// GitHub refuses does not keep the others from being asked.
func TestRequestReviewers(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name         string
		already      []string // asked before
		reviewers    []string
		teams        []string
		refuseFirst  bool // GitHub refuses the first reviewer (and so the whole request)
		wantUsers    []string
		wantTeams    []string
		wantRequests int // POSTs
	}{
		{name: "both leads", reviewers: []string{"carol", "@pat"}, wantUsers: []string{"carol", "pat"}, wantRequests: 1},
		{name: "a team without a lead", reviewers: []string{"carol"}, teams: []string{"acme/payments-sre"},
			wantUsers: []string{"carol"}, wantTeams: []string{"payments-sre"}, wantRequests: 1},
		{name: "the author is left out", reviewers: []string{"dana", "carol"}, wantUsers: []string{"carol"}, wantRequests: 1},
		{name: "only the author", reviewers: []string{"Dana"}, wantRequests: 0},
		{name: "already asked", already: []string{"carol"}, reviewers: []string{"carol", "pat"}, wantUsers: []string{"carol", "pat"}, wantRequests: 1},
		{name: "everyone already asked", already: []string{"carol", "pat"}, reviewers: []string{"pat", "carol", "pat"}, wantUsers: []string{"carol", "pat"}, wantRequests: 0},
		{name: "one refused", reviewers: []string{"outsider", "carol"}, teams: []string{"payments-sre"}, refuseFirst: true,
			wantUsers: []string{"carol"}, wantTeams: []string{"payments-sre"}, wantRequests: 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, w := setup(t)
			n := srv.AddPull("acme/api", &github.PullRequest{Title: github.String("Move ownership"), User: &github.User{Login: github.String("dana")}}).GetNumber()
			if len(tc.already) > 0 {
				if _, _, err := srv.Client().PullRequests.RequestReviewers(ctx, "acme", "api", n, github.ReviewersRequest{Reviewers: tc.already}); err != nil {
					t.Fatal(err)
				}
			}
			if tc.refuseFirst {
				srv.InjectTimes(2, "POST", reviewersTmpl, 422, nil)
			}
			srv.ResetCalls()
			if err := w.RequestReviewers(ctx, "acme", "api", n, tc.reviewers, tc.teams); err != nil {
				t.Fatal(err)
			}
			if got := srv.CallCount("POST", reviewersTmpl); got != tc.wantRequests {
				t.Errorf("%d review requests, want %d", got, tc.wantRequests)
			}
			users, teams := requested(t, srv.Client(), n)
			if strings.Join(users, ",") != strings.Join(tc.wantUsers, ",") || strings.Join(teams, ",") != strings.Join(tc.wantTeams, ",") {
				t.Errorf("requested %v and teams %v, want %v and %v", users, teams, tc.wantUsers, tc.wantTeams)
			}
			// Again, as a retried job: no request.
			srv.ResetCalls()
			if err := w.RequestReviewers(ctx, "acme", "api", n, tc.reviewers, tc.teams); err != nil {
				t.Fatal(err)
			}
			if got := srv.CallCount("POST", reviewersTmpl); got != 0 && !tc.refuseFirst {
				t.Errorf("a retry made %d review requests", got)
			}
		})
	}
}

// The intent names the pull request proposed earlier in the same batch;
// without one before it the batch is refused before anything is written.
func TestRequestReviewersIntent(t *testing.T) {
	ctx := context.Background()
	srv, w := setupRepoFiles(t)
	open := ghwrite.Intent{Kind: ghwrite.IntentOpenPullRequest, PullRequest: ghwrite.PullRequest{Marker: marker.New("handoff", "api"), Head: "tasuki/handoff-api",
		Title: "Move ownership", Files: []ghwrite.FileChange{{Path: "CODEOWNERS", Content: []byte("* @acme/payments\n")}}}}
	ask := ghwrite.Intent{Kind: ghwrite.IntentRequestReviewers, Reviewers: []string{"carol"}, TeamReviewers: []string{"payments"}}

	if _, err := w.Execute(ctx, "acme", "api", []ghwrite.Intent{ask, open}); err == nil || srv.WriteCount() != 0 {
		t.Fatalf("reviewers before the pull request: err %v, %d writes", err, srv.WriteCount())
	}
	if _, err := w.Execute(ctx, "acme", "api", []ghwrite.Intent{{Kind: ghwrite.IntentRequestReviewers, Number: 1}}); err == nil {
		t.Fatal("a request naming no reviewer was accepted")
	}
	res, err := w.Execute(ctx, "acme", "api", []ghwrite.Intent{open, ask})
	if err != nil {
		t.Fatal(err)
	}
	n := int(res[0].ID)
	if n == 0 || res[1].ID != res[0].ID {
		t.Fatalf("results %+v", res)
	}
	users, teams := requested(t, srv.Client(), n)
	if strings.Join(users, ",") != "carol" || strings.Join(teams, ",") != "payments" {
		t.Errorf("requested %v and teams %v", users, teams)
	}
	srv.ResetCalls()
	if _, err := w.Execute(ctx, "acme", "api", []ghwrite.Intent{open, ask}); err != nil {
		t.Fatal(err)
	}
	if srv.WriteCount() != 0 {
		t.Errorf("the batch again wrote %d times", srv.WriteCount())
	}
}
