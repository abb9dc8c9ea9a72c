package githubtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v60/github"
)

// TestPullsListing checks state filtering, sort, direction and pagination of
// GET /pulls, which lead time backfills page through.
func TestPullsListing(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	srv := New(t)
	srv.AddRepo("acme/api", "main")
	for i := 0; i < 5; i++ {
		pr := &github.PullRequest{Title: github.String("pr"), CreatedAt: ts(base.Add(time.Duration(i) * time.Hour))}
		if i%2 == 0 {
			pr.MergedAt = ts(base.Add(time.Duration(i)*time.Hour + 30*time.Minute))
		}
		srv.AddPull("acme/api", pr)
	}
	tests := []struct {
		opts github.PullRequestListOptions
		want []int
	}{
		{github.PullRequestListOptions{State: "closed"}, []int{5, 3, 1}},
		{github.PullRequestListOptions{State: "open"}, []int{4, 2}},
		{github.PullRequestListOptions{State: "all", Direction: "asc"}, []int{1, 2, 3, 4, 5}},
	}
	c := srv.Client()
	for _, tt := range tests {
		opts := tt.opts
		opts.PerPage = 2
		var got []int
		for {
			prs, resp, err := c.PullRequests.List(context.Background(), "acme", "api", &opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, pr := range prs {
				got = append(got, pr.GetNumber())
				if pr.MergedAt != nil && pr.GetState() != "closed" {
					t.Errorf("#%d merged but %s", pr.GetNumber(), pr.GetState())
				}
			}
			if resp.NextPage == 0 {
				break
			}
			opts.Page = resp.NextPage
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%+v (-want +got):\n%s", tt.opts, diff)
		}
	}
}

// TestTour exercises the remaining endpoints through go-github the way the
// features call them, with every request checked against the description.
func TestTour(t *testing.T) {
	rec := &recTB{TB: t}
	srv := New(rec)
	ctx := context.Background()
	srv.AddRepo("acme/api", "main")
	srv.AddTeam("acme", "core-sre", "carol")
	srv.AddTeam("acme", "payments-sre", "alice", "bob")
	srv.SetPermission("acme/api", "alice", "write")
	srv.AddUser("eve", "")
	c := srv.Client()

	// Onboarding-style PR: branch, file, pull request, reviewers, merge.
	ref, _, err := c.Git.GetRef(ctx, "acme", "api", "heads/main")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Git.CreateRef(ctx, "acme", "api", &github.Reference{Ref: github.String("refs/heads/tasuki/onboard"), Object: &github.GitObject{SHA: ref.Object.SHA}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Repositories.CreateFile(ctx, "acme", "api", "catalog-info.yaml", &github.RepositoryContentFileOptions{
		Message: github.String("Add catalog"), Content: []byte("owner: payments\n"), Branch: github.String("tasuki/onboard")}); err != nil {
		t.Fatal(err)
	}
	pr, _, err := c.PullRequests.Create(ctx, "acme", "api", &github.NewPullRequest{Title: github.String("Onboard"), Head: github.String("tasuki/onboard"), Base: github.String("main")})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.PullRequests.Create(ctx, "acme", "api", &github.NewPullRequest{Title: github.String("again"), Head: github.String("tasuki/onboard"), Base: github.String("main")}); !isStatus(err, 422) {
		t.Errorf("second PR for the same branch: err = %v, want 422", err)
	}
	if _, _, err := c.PullRequests.RequestReviewers(ctx, "acme", "api", pr.GetNumber(), github.ReviewersRequest{Reviewers: []string{"alice"}, TeamReviewers: []string{"core-sre"}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := srv.ClientAs("alice").PullRequests.CreateReview(ctx, "acme", "api", pr.GetNumber(), &github.PullRequestReviewRequest{Event: github.String("APPROVE")}); err != nil {
		t.Fatal(err)
	}
	reviews, _, err := c.PullRequests.ListReviews(ctx, "acme", "api", pr.GetNumber(), nil)
	if err != nil || len(reviews) != 1 || reviews[0].GetState() != "APPROVED" || reviews[0].GetCommitID() != pr.GetHead().GetSHA() {
		t.Errorf("reviews = %v, %v; want alice's approval of the head", reviews, err)
	}
	if _, _, err := c.PullRequests.Merge(ctx, "acme", "api", pr.GetNumber(), "", nil); err != nil {
		t.Fatal(err)
	}
	if got, ok := srv.File("acme/api", "main", "catalog-info.yaml"); !ok || string(got) != "owner: payments\n" {
		t.Errorf("main after merge: catalog-info.yaml = %q, %v", got, ok)
	}
	merged, _, err := c.PullRequests.Get(ctx, "acme", "api", pr.GetNumber())
	if err != nil || !merged.GetMerged() || merged.GetState() != "closed" {
		t.Errorf("merged PR = %v, %v", merged, err)
	}
	events, _, err := c.Issues.ListIssueTimeline(ctx, "acme", "api", pr.GetNumber(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, e.GetEvent())
	}
	if diff := cmp.Diff([]string{"review_requested", "review_requested", "reviewed", "merged", "closed"}, kinds); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}

	// Updating a file needs its blob SHA.
	fc, _, _, err := c.Repositories.GetContents(ctx, "acme", "api", "catalog-info.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Repositories.UpdateFile(ctx, "acme", "api", "catalog-info.yaml", &github.RepositoryContentFileOptions{
		Message: github.String("x"), Content: []byte("y"), SHA: github.String("stale")}); !isStatus(err, 409) {
		t.Errorf("stale SHA: err = %v, want 409", err)
	}
	if _, _, err := c.Repositories.UpdateFile(ctx, "acme", "api", "catalog-info.yaml", &github.RepositoryContentFileOptions{
		Message: github.String("x"), Content: []byte("owner: core\n"), SHA: fc.SHA}); err != nil {
		t.Fatal(err)
	}

	// People.
	m, _, err := c.Teams.GetTeamMembershipBySlug(ctx, "acme", "payments-sre", "bob")
	if err != nil || m.GetState() != "active" {
		t.Errorf("bob's membership = %v, %v", m, err)
	}
	if _, _, err := c.Teams.GetTeamMembershipBySlug(ctx, "acme", "payments-sre", "carol"); !isStatus(err, 404) {
		t.Errorf("carol in payments-sre: err = %v, want 404", err)
	}
	members, _, err := c.Teams.ListTeamMembersBySlug(ctx, "acme", "payments-sre", nil)
	if err != nil || len(members) != 2 {
		t.Errorf("members = %d, %v; want 2", len(members), err)
	}
	perm, _, err := c.Repositories.GetPermissionLevel(ctx, "acme", "api", "alice")
	if err != nil || perm.GetPermission() != "write" {
		t.Errorf("alice's permission = %v, %v", perm.GetPermission(), err)
	}
	perm, _, err = c.Repositories.GetPermissionLevel(ctx, "acme", "api", "eve")
	if err != nil || perm.GetPermission() != "none" {
		t.Errorf("eve's permission = %v, %v", perm.GetPermission(), err)
	}

	// Deployments.
	d, _, err := c.Repositories.CreateDeployment(ctx, "acme", "api", &github.DeploymentRequest{Ref: github.String("main"), Environment: github.String("production")})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Repositories.CreateDeploymentStatus(ctx, "acme", "api", d.GetID(), &github.DeploymentStatusRequest{State: github.String("success")}); err != nil {
		t.Fatal(err)
	}
	ds, _, err := c.Repositories.ListDeployments(ctx, "acme", "api", &github.DeploymentsListOptions{Environment: "production"})
	if err != nil || len(ds) != 1 || ds[0].GetSHA() != mustRef(t, srv, "heads/main") {
		t.Errorf("deployments = %v, %v", ds, err)
	}
	sts, _, err := c.Repositories.ListDeploymentStatuses(ctx, "acme", "api", d.GetID(), nil)
	if err != nil || len(sts) != 1 || sts[0].GetState() != "success" {
		t.Errorf("statuses = %v, %v", sts, err)
	}

	// Rate limit.
	rl, _, err := c.RateLimit.Get(ctx)
	if err != nil || rl.GetCore().Limit != 5000 || rl.GetCore().Remaining >= 5000 {
		t.Errorf("rate limit = %+v, %v", rl.GetCore(), err)
	}

	// The repository's installation takes the App's JWT.
	app, _ := github.NewClient(srv.HTTPClient()).WithAuthToken(SignJWT(1, time.Now())).WithEnterpriseURLs(srv.URL(), srv.URL())
	inst, _, err := app.Apps.FindRepositoryInstallation(ctx, "acme", "api")
	if err != nil || inst.GetID() != 1 {
		t.Errorf("installation = %v, %v", inst.GetID(), err)
	}

	if errs := rec.errors(); len(errs) > 0 {
		t.Errorf("requests rejected by the validator: %q", errs)
	}
}

func mustRef(t *testing.T, srv *Server, ref string) string {
	t.Helper()
	sha, ok := srv.Ref("acme/api", ref)
	if !ok {
		t.Fatalf("no ref %s", ref)
	}
	return sha
}

func TestNotImplementedIsReported(t *testing.T) {
	rec := &recTB{TB: t}
	srv := New(rec)
	srv.AddRepo("acme/api", "")
	_, _, err := srv.Client().Repositories.ListTags(context.Background(), "acme", "api", nil)
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != 501 {
		t.Errorf("err = %v, want 501", err)
	}
	if errs := rec.errors(); len(errs) != 1 {
		t.Errorf("test errors = %q, want one saying the fake lacks the endpoint", errs)
	}
}
