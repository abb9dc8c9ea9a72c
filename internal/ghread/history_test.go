package ghread_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/ghread"
	"github.com/tasuki-sre/tasuki/internal/githubtest"
)

var start = time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC) // an incident's start

func ts(t time.Time) *github.Timestamp { return &github.Timestamp{Time: t} }

// MergedPulls keeps the pull requests merged in the window and stops paging
// at the first one updated before it.
func TestMergedPulls(t *testing.T) {
	srv := githubtest.New(t)
	srv.AddRepo("acme/api", "main")
	from, to := start.Add(-24*time.Hour), start
	// 150 pull requests merged long before the window: two pages the read
	// must not need.
	for i := range 150 {
		at := from.Add(-time.Duration(i+1) * time.Hour)
		srv.AddPull("acme/api", &github.PullRequest{Title: github.String(fmt.Sprint("old ", i)), CreatedAt: ts(at), MergedAt: ts(at)})
	}
	merged := func(title, by string, at time.Time) {
		srv.AddPull("acme/api", &github.PullRequest{Title: github.String(title), User: &github.User{Login: github.String("alice")},
			MergedBy: &github.User{Login: github.String(by)}, CreatedAt: ts(at), MergedAt: ts(at),
			MergeCommitSHA: github.String(fmt.Sprintf("%040x", at.Unix()))})
	}
	merged("bump timeout", "bob", start.Add(-2*time.Hour))
	merged("new cache", "carol", start.Add(-20*time.Hour))
	merged("after the start", "bob", start.Add(time.Hour))
	srv.AddPull("acme/api", &github.PullRequest{Title: github.String("closed unmerged"), State: github.String("closed"),
		CreatedAt: ts(start.Add(-3 * time.Hour)), ClosedAt: ts(start.Add(-3 * time.Hour))})
	srv.AddPull("acme/api", &github.PullRequest{Title: github.String("still open"), CreatedAt: ts(start.Add(-time.Hour))})

	got, err := ghread.MergedPulls(context.Background(), srv.Client(), "acme", "api", from, to, 0)
	if err != nil {
		t.Fatal(err)
	}
	var titles []string
	for _, p := range got {
		titles = append(titles, p.Title+" by "+p.MergedBy)
	}
	if diff := cmp.Diff([]string{"bump timeout by bob", "new cache by carol"}, titles); diff != "" {
		t.Errorf("merged pulls (-want +got):\n%s", diff)
	}
	p := got[0]
	if p.Repo != "acme/api" || p.Number != 151 || p.Author != "alice" || !p.MergedAt.Equal(start.Add(-2*time.Hour)) ||
		p.URL != "https://github.com/acme/api/pull/151" || p.BaseRef != "main" || p.MergeCommitSHA == "" || p.HeadSHA == "" {
		t.Errorf("first pull = %+v", p)
	}
	if n := srv.CallCount("GET", "/repos/{owner}/{repo}/pulls"); n != 1 {
		t.Errorf("%d list requests, want 1: the first page reaches past the window", n)
	}
	if q := srv.Calls()[0].Query; q.Get("state") != "closed" || q.Get("sort") != "updated" || q.Get("direction") != "desc" {
		t.Errorf("query = %v", q)
	}
}

// Deployments keeps those created in the window, with their latest status,
// for one request per page and one per deployment kept.
func TestDeployments(t *testing.T) {
	srv := githubtest.New(t)
	srv.AddRepo("acme/api", "main")
	ctx := context.Background()
	c := srv.Client()
	from, to := start.Add(-24*time.Hour), start
	add := func(env, sha string, at time.Time, states ...string) int64 {
		d := srv.AddDeployment("acme/api", &github.Deployment{SHA: github.String(sha), Ref: github.String("main"), Task: github.String("deploy"),
			Environment: github.String(env), Creator: &github.User{Login: github.String("deployer")}, CreatedAt: ts(at)})
		for _, s := range states {
			if _, _, err := c.Repositories.CreateDeploymentStatus(ctx, "acme", "api", d.GetID(), &github.DeploymentStatusRequest{State: github.String(s)}); err != nil {
				t.Fatal(err)
			}
		}
		return d.GetID()
	}
	add("production", "old", from.Add(-time.Hour), "success")
	inWindow := add("production", "aaa", start.Add(-5*time.Hour), "in_progress", "success")
	add("staging", "bbb", start.Add(-4*time.Hour), "failure")
	noStatus := add("production", "ccc", start.Add(-time.Hour))
	add("production", "later", start.Add(time.Hour), "success")
	srv.ResetCalls()

	got, err := ghread.Deployments(ctx, c, "acme", "api", "production", from, to, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		got[i].StatusAt = time.Time{} // the fake's clock
	}
	want := []ghread.Deployment{
		{ID: noStatus, Repo: "acme/api", SHA: "ccc", Ref: "main", Task: "deploy", Environment: "production", Creator: "deployer", CreatedAt: start.Add(-time.Hour)},
		{ID: inWindow, Repo: "acme/api", SHA: "aaa", Ref: "main", Task: "deploy", Environment: "production", Creator: "deployer", CreatedAt: start.Add(-5 * time.Hour), Status: "success"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("deployments (-want +got):\n%s", diff)
	}
	if n := srv.CallCount("GET", "/repos/{owner}/{repo}/deployments"); n != 1 {
		t.Errorf("%d list requests, want 1", n)
	}
	if n := srv.CallCount("GET", "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses"); n != 2 {
		t.Errorf("%d status requests, want 2 (one per deployment in the window)", n)
	}
	if env := srv.Calls()[0].Query.Get("environment"); env != "production" {
		t.Errorf("environment = %q, want GitHub to filter", env)
	}
}

// Compare lists what head has that base has not, oldest first, a page of
// 100 commits per request.
func TestCompare(t *testing.T) {
	srv := githubtest.New(t)
	srv.AddRepo("acme/api", "main")
	base, _ := srv.Ref("acme/api", "heads/main")
	var shas []string
	for i := range 150 {
		shas = append(shas, srv.PutFile("acme/api", "main", fmt.Sprintf("f%d.txt", i), []byte("x")))
	}
	ctx := context.Background()
	got, err := ghread.Compare(ctx, srv.Client(), "acme", "api", base, "main", 0)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != "ahead" || got.AheadBy != 150 || got.BehindBy != 0 || got.TotalCommits != 150 || got.MergeBaseSHA != base {
		t.Errorf("comparison = %+v", got)
	}
	var gotSHAs []string
	for _, c := range got.Commits {
		gotSHAs = append(gotSHAs, c.SHA)
	}
	if diff := cmp.Diff(shas, gotSHAs); diff != "" {
		t.Errorf("commits (-want +got):\n%s", diff)
	}
	if c := got.Commits[0]; c.Message != "Update f0.txt" || c.Author != "acme" || c.AuthoredAt.IsZero() {
		t.Errorf("first commit = %+v", c)
	}
	if n := srv.CallCount("GET", "/repos/{owner}/{repo}/compare/{basehead}"); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}

	// A bound keeps the commits read so far.
	srv.ResetCalls()
	got, err = ghread.Compare(ctx, srv.Client(), "acme", "api", base, "main", 100)
	if !errors.Is(err, ghread.ErrTruncated) || len(got.Commits) != 100 || got.TotalCommits != 150 {
		t.Errorf("bounded: %d commits of %d, err %v; want 100 of 150 and ErrTruncated", len(got.Commits), got.TotalCommits, err)
	}
	if n := srv.CallCount("GET", "/repos/{owner}/{repo}/compare/{basehead}"); n != 1 {
		t.Errorf("bounded: %d requests, want 1", n)
	}

	// Identical refs compare empty.
	got, err = ghread.Compare(ctx, srv.Client(), "acme", "api", "main", "main", 0)
	if err != nil || got.Status != "identical" || len(got.Commits) != 0 {
		t.Errorf("identical: %+v, %v", got, err)
	}
}

// The timeline and comments come back as plain values, in GitHub's order.
func TestTimelineAndComments(t *testing.T) {
	srv := githubtest.New(t)
	srv.AddRepo("acme/api", "main")
	is := srv.AddIssue("acme/api", &github.Issue{Title: github.String("API down"), CreatedAt: ts(start)})
	n := is.GetNumber()
	user := func(l string) *github.User { return &github.User{Login: github.String(l)} }
	srv.AddTimeline("acme/api", n, &github.Timeline{Event: github.String("labeled"), Actor: user("alice"),
		Label: &github.Label{Name: github.String("sev1")}, CreatedAt: ts(start.Add(time.Minute))})
	srv.AddTimeline("acme/api", n, &github.Timeline{Event: github.String("assigned"), Actor: user("alice"),
		Assignee: user("bob"), CreatedAt: ts(start.Add(2 * time.Minute))})
	srv.AddTimeline("acme/api", n, &github.Timeline{Event: github.String("renamed"), Actor: user("bob"),
		Rename: &github.Rename{From: github.String("API down"), To: github.String("API down in eu-west")}, CreatedAt: ts(start.Add(3 * time.Minute))})
	srv.AddTimeline("acme/api", n, &github.Timeline{Event: github.String("closed"), Actor: user("bob"), CreatedAt: ts(start.Add(time.Hour))})
	ctx := context.Background()
	events, err := ghread.Timeline(ctx, srv.Client(), "acme", "api", n, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []ghread.Event{
		{Kind: "labeled", At: start.Add(time.Minute), Actor: "alice", Label: "sev1"},
		{Kind: "assigned", At: start.Add(2 * time.Minute), Actor: "alice", Assignee: "bob"},
		{Kind: "renamed", At: start.Add(3 * time.Minute), Actor: "bob", From: "API down", To: "API down in eu-west"},
		{Kind: "closed", At: start.Add(time.Hour), Actor: "bob"},
	}
	if diff := cmp.Diff(want, events); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}

	srv.AddUser("dependabot[bot]", "Bot")
	first := srv.AddComment("acme/api", n, "alice", "rolling back")
	srv.AddComment("acme/api", n, "dependabot[bot]", "bump")
	comments, err := ghread.Comments(ctx, srv.Client(), "acme", "api", n, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(comments) != 2 {
		t.Fatalf("%d comments, want 2", len(comments))
	}
	c := comments[0]
	if c.ID != first.GetID() || c.Author != "alice" || c.AuthorType != "User" || c.Body != "rolling back" ||
		c.URL != first.GetHTMLURL() || c.CreatedAt.IsZero() {
		t.Errorf("first comment = %+v", c)
	}
	if comments[1].AuthorType != "Bot" {
		t.Errorf("second comment's author type = %q, want Bot", comments[1].AuthorType)
	}
	if got := srv.CallCount("GET", "/repos/{owner}/{repo}/issues/{issue_number}/timeline") + srv.CallCount("GET", tmplComments); got != 2 {
		t.Errorf("%d requests, want 2", got)
	}
}

// A 404 below a repository (a missing issue) may be a replica lagging
// behind its webhook: the read's error is retried, not given up on.
func TestHistoryNotFoundIsRetried(t *testing.T) {
	srv := githubtest.New(t)
	srv.AddRepo("acme/api", "main")
	_, err := ghread.Comments(context.Background(), srv.Client(), "acme", "api", 99, 0)
	if err == nil || dispatch.IsPermanent(err) {
		t.Errorf("comments of a missing issue: err = %v, want a retryable error", err)
	}
	if _, ok := dispatch.RetryAt(err); ok {
		t.Errorf("comments of a missing issue: err = %v asks to wait", err)
	}
}
