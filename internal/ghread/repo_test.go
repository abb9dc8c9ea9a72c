package ghread_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/ghread"
	"github.com/tasuki-sre/tasuki/internal/githubtest"
)

// Files lists every file of a commit; File reads one, bounded.
func TestFilesAndFile(t *testing.T) {
	ctx := context.Background()
	srv := githubtest.New(t)
	srv.AddRepo("acme/api", "main")
	srv.PutFile("acme/api", "main", "README.md", []byte("hello"))
	head := srv.PutFile("acme/api", "main", "deploy/alerts/api.yaml", []byte(strings.Repeat("x", 100)))
	c := srv.Client()

	tree, err := ghread.Files(ctx, c, "acme", "api", head, 0)
	if err != nil {
		t.Fatal(err)
	}
	var blobs []string
	for _, e := range tree.Entries {
		if e.Type == "blob" {
			blobs = append(blobs, e.Path)
		}
	}
	if diff := cmp.Diff([]string{"README.md", "deploy/alerts/api.yaml"}, blobs); diff != "" || tree.Truncated || !tree.Has("README.md") {
		t.Errorf("tree (-want +got):\n%s truncated=%v", diff, tree.Truncated)
	}
	// A bound below the entries truncates, and says so.
	small, err := ghread.Files(ctx, c, "acme", "api", "main", 1)
	if err != nil || len(small.Entries) != 1 || !small.Truncated {
		t.Errorf("bounded tree = %+v, %v; want one entry, truncated", small, err)
	}
	// An unknown ref is an empty tree, not an error.
	if none, err := ghread.Files(ctx, c, "acme", "api", "nope", 0); err != nil || len(none.Entries) != 0 {
		t.Errorf("unknown ref = %+v, %v", none, err)
	}

	tests := []struct {
		name, path, ref string
		max             int
		want            string
		found           bool
		tooLarge        bool
	}{
		{"present", "README.md", "", 10, "hello", true, false},
		{"at a commit", "deploy/alerts/api.yaml", head, 0, strings.Repeat("x", 100), true, false},
		{"missing", "nope.txt", "", 10, "", false, false},
		{"a directory", "deploy", "", 10, "", false, false},
		{"over the bound: its start", "deploy/alerts/api.yaml", "", 10, "xxxxxxxxxx", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, found, err := ghread.File(ctx, c, "acme", "api", tt.path, tt.ref, tt.max)
			if errors.Is(err, ghread.ErrTooLarge) != tt.tooLarge || (err != nil && !tt.tooLarge) {
				t.Fatalf("err = %v, want too large %v", err, tt.tooLarge)
			}
			if string(b) != tt.want || found != tt.found {
				t.Errorf("File = %q, %v; want %q, %v", b, found, tt.want, tt.found)
			}
		})
	}
}

// BranchProtection merges the protection rule and the rulesets, and tells
// an unprotected branch (404) from one tasuki may not see (403).
func TestBranchProtection(t *testing.T) {
	ctx := context.Background()
	const prot = "/repos/{owner}/{repo}/branches/{branch}/protection"
	tests := []struct {
		name  string
		seed  func(srv *githubtest.Server)
		want  ghread.Protection
		isSet bool
	}{
		{"unprotected", func(*githubtest.Server) {},
			ghread.Protection{Branch: "main", RuleReadable: true, RulesetsReadable: true}, false},
		{"a protection rule", func(srv *githubtest.Server) {
			srv.SetBranchProtection("acme/api", "main", githubtest.BranchProtection{RequiredChecks: []string{"test", "lint"}, RequiredReviews: 1, CodeOwnerReview: true})
		}, ghread.Protection{Branch: "main", Rule: true, RuleReadable: true, RulesetsReadable: true, PullRequest: true,
			RequiredChecks: []string{"lint", "test"}, RequiredReviews: 1, CodeOwnerReview: true}, true},
		{"rulesets only", func(srv *githubtest.Server) {
			srv.SetBranchRules("acme/api", "main", githubtest.PullRequestRule(2, false), githubtest.StatusChecksRule("ci/build"),
				githubtest.BranchRule{Type: "deletion"})
		}, ghread.Protection{Branch: "main", RuleReadable: true, Rulesets: true, RulesetsReadable: true, PullRequest: true,
			RequiredChecks: []string{"ci/build"}, RequiredReviews: 2}, true},
		{"both: the stricter wins", func(srv *githubtest.Server) {
			srv.SetBranchProtection("acme/api", "main", githubtest.BranchProtection{RequiredChecks: []string{"test"}, RequiredReviews: 1})
			srv.SetBranchRules("acme/api", "main", githubtest.PullRequestRule(2, true), githubtest.StatusChecksRule("test", "e2e"))
		}, ghread.Protection{Branch: "main", Rule: true, RuleReadable: true, Rulesets: true, RulesetsReadable: true, PullRequest: true,
			RequiredChecks: []string{"e2e", "test"}, RequiredReviews: 2, CodeOwnerReview: true}, true},
		{"rule hidden from tasuki (403)", func(srv *githubtest.Server) {
			srv.SetBranchProtection("acme/api", "main", githubtest.BranchProtection{RequiredReviews: 1})
			srv.Inject("GET", prot, 403, nil)
		}, ghread.Protection{Branch: "main", RulesetsReadable: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := githubtest.New(t)
			srv.AddRepo("acme/api", "main")
			tt.seed(srv)
			got, err := ghread.BranchProtection(ctx, srv.Client(), "acme", "api", "main")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("protection (-want +got):\n%s", diff)
			}
			if got.Protected() != tt.isSet {
				t.Errorf("Protected() = %v, want %v", got.Protected(), tt.isSet)
			}
		})
	}
	t.Run("a server error is an error", func(t *testing.T) {
		srv := githubtest.New(t)
		srv.AddRepo("acme/api", "main")
		srv.Inject("GET", prot, 502, nil)
		if _, err := ghread.BranchProtection(ctx, srv.Client(), "acme", "api", "main"); err == nil {
			t.Error("no error on 502")
		}
	})
}

// Teams: found with their privacy, missing as not found, refused as
// ErrForbidden; a team's permission on a repository, none as "".
func TestTeams(t *testing.T) {
	ctx := context.Background()
	srv := githubtest.New(t)
	srv.AddRepo("acme/api", "main")
	srv.AddTeam("acme", "payments-sre", "pat")
	srv.SetTeamPrivacy("acme", "payments-sre", "secret")
	srv.AddTeam("acme", "readers")
	srv.SetTeamRepoPermission("acme", "payments-sre", "acme/api", "maintain")
	srv.SetTeamRepoPermission("acme", "readers", "acme/api", "read")
	c := srv.Client()

	got, err := ghread.TeamBySlug(ctx, c, "acme", "payments-sre")
	if err != nil || !got.Found || got.Privacy != "secret" || got.Slug != "payments-sre" || got.ID == 0 {
		t.Errorf("TeamBySlug = %+v, %v", got, err)
	}
	if got, err := ghread.TeamBySlug(ctx, c, "acme", "ghosts"); err != nil || got.Found {
		t.Errorf("missing team = %+v, %v; want not found, no error", got, err)
	}
	srv.Inject("GET", "/orgs/{org}/teams/{team_slug}", 403, nil)
	if _, err := ghread.TeamBySlug(ctx, c, "acme", "payments-sre"); !errors.Is(err, ghread.ErrForbidden) {
		t.Errorf("403: err = %v, want ErrForbidden", err)
	}

	for _, tt := range []struct{ team, want string }{{"payments-sre", "maintain"}, {"readers", "pull"}, {"ghosts", ""}} {
		p, err := ghread.TeamRepoPermission(ctx, c, "acme", tt.team, "acme", "api")
		if err != nil || p != tt.want {
			t.Errorf("TeamRepoPermission(%s) = %q, %v; want %q", tt.team, p, err, tt.want)
		}
	}
	srv.AddTeam("acme", "nobody")
	if p, err := ghread.TeamRepoPermission(ctx, c, "acme", "nobody", "acme", "api"); err != nil || p != "" {
		t.Errorf("team without access = %q, %v", p, err)
	}
}

// OutsideCollaborators keeps outside collaborators who may push.
func TestOutsideCollaborators(t *testing.T) {
	ctx := context.Background()
	srv := githubtest.New(t)
	srv.AddRepo("acme/api", "main")
	srv.AddOutsideCollaborator("acme/api", "contractor", "write")
	srv.AddOutsideCollaborator("acme/api", "Auditor", "read")
	srv.AddOutsideCollaborator("acme/api", "vendor-admin", "admin")
	srv.SetPermission("acme/api", "member", "admin") // an organisation member: not outside
	got, err := ghread.OutsideCollaborators(ctx, srv.Client(), "acme", "api")
	if err != nil {
		t.Fatal(err)
	}
	want := []ghread.Collaborator{{Login: "contractor", Permission: "push"}, {Login: "vendor-admin", Permission: "admin"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outside collaborators (-want +got):\n%s", diff)
	}
	srv.Inject("GET", "/repos/{owner}/{repo}/collaborators", 403, nil)
	if _, err := ghread.OutsideCollaborators(ctx, srv.Client(), "acme", "api"); !errors.Is(err, ghread.ErrForbidden) {
		t.Errorf("403: err = %v, want ErrForbidden", err)
	}
}

// WorkflowRuns lists the newest runs, by workflow name or file, with the
// file's path go-github v60 does not decode.
func TestWorkflowRuns(t *testing.T) {
	ctx := context.Background()
	srv := githubtest.New(t)
	srv.AddRepo("acme/api", "main")
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	srv.AddWorkflowRun("acme/api", githubtest.WorkflowRun{Name: "Restore drill", Conclusion: "failure", CreatedAt: t0})
	srv.AddWorkflowRun("acme/api", githubtest.WorkflowRun{Name: "CI", CreatedAt: t0.Add(time.Hour)})
	srv.AddWorkflowRun("acme/api", githubtest.WorkflowRun{Name: "Restore drill", CreatedAt: t0.Add(2 * time.Hour)})
	srv.AddWorkflowRun("acme/api", githubtest.WorkflowRun{Name: "Restore drill", Branch: "feature", CreatedAt: t0.Add(3 * time.Hour)})

	got, err := ghread.WorkflowRuns(ctx, srv.Client(), "acme", "api", "restore drill", "main", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, r := range got {
		seen = append(seen, r.Name+" "+r.Path+" "+r.Conclusion+" "+r.CreatedAt.Format(time.RFC3339))
	}
	want := []string{
		"Restore drill .github/workflows/restore-drill.yml success 2026-03-01T02:00:00Z",
		"Restore drill .github/workflows/restore-drill.yml failure 2026-03-01T00:00:00Z",
	}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("runs (-want +got):\n%s", diff)
	}
	byPath, err := ghread.WorkflowRuns(ctx, srv.Client(), "acme", "api", ".github/workflows/ci.yml", "", 1, 0)
	if err != nil || len(byPath) != 1 || byPath[0].Name != "CI" {
		t.Errorf("by path = %+v, %v", byPath, err)
	}
}

// CodeownersErrors asks GitHub what it cannot use in CODEOWNERS at a ref.
func TestCodeownersErrors(t *testing.T) {
	ctx := context.Background()
	srv := githubtest.New(t)
	srv.AddRepo("acme/api", "main")
	srv.AddTeam("acme", "payments-sre")
	srv.SetTeamRepoPermission("acme", "payments-sre", "acme/api", "push")
	c := srv.Client()
	if errs, found, err := ghread.CodeownersErrors(ctx, c, "acme", "api", ""); err != nil || found || errs != nil {
		t.Errorf("no CODEOWNERS = %v, %v, %v; want not found", errs, found, err)
	}
	srv.PutFile("acme/api", "main", ".github/CODEOWNERS", []byte("* @acme/payments-sre\n"))
	srv.PutFile("acme/api", "handoff", ".github/CODEOWNERS", []byte("# owners\n* @acme/payments-sre @acme/ghosts\n"))
	if errs, found, err := ghread.CodeownersErrors(ctx, c, "acme", "api", ""); err != nil || !found || len(errs) != 0 {
		t.Errorf("valid CODEOWNERS = %v, %v, %v", errs, found, err)
	}
	errs, found, err := ghread.CodeownersErrors(ctx, c, "acme", "api", "handoff")
	if err != nil || !found || len(errs) != 1 {
		t.Fatalf("CODEOWNERS on the branch = %v, %v, %v; want one error", errs, found, err)
	}
	if e := errs[0]; e.Line != 2 || e.Column != 22 || e.Kind != "Unknown owner" || e.Path != ".github/CODEOWNERS" || !strings.Contains(e.Message, "@acme/ghosts") {
		t.Errorf("error = %+v", e)
	}
}

// IssuesLabeled lists labelled issues in any state, without pull requests.
func TestIssuesLabeled(t *testing.T) {
	ctx := context.Background()
	srv := githubtest.New(t)
	srv.AddRepo("acme/api", "main")
	lbl := func(names ...string) []*github.Label {
		var out []*github.Label
		for _, n := range names {
			out = append(out, &github.Label{Name: github.String(n)})
		}
		return out
	}
	old := time.Now().Add(-60 * 24 * time.Hour)
	srv.AddIssue("acme/api", &github.Issue{Title: github.String("db down"), Labels: lbl("incident", "sev1")})
	srv.AddIssue("acme/api", &github.Issue{Title: github.String("slow"), Labels: lbl("incident", "sev3"), State: github.String("closed")})
	srv.AddIssue("acme/api", &github.Issue{Title: github.String("old"), Labels: lbl("incident"), CreatedAt: &github.Timestamp{Time: old}})
	srv.AddIssue("acme/api", &github.Issue{Title: github.String("feature"), Labels: lbl("enhancement")})
	srv.AddPull("acme/api", &github.PullRequest{Title: github.String("fix"), Labels: lbl("incident")})
	got, err := ghread.IssuesLabeled(ctx, srv.Client(), "acme", "api", []string{"incident"}, time.Now().Add(-28*24*time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	var titles []string
	for _, is := range got {
		titles = append(titles, is.Title+" "+is.State+" "+strings.Join(is.Labels, ","))
	}
	if diff := cmp.Diff([]string{"slow closed incident,sev3", "db down open incident,sev1"}, titles); diff != "" {
		t.Errorf("incidents (-want +got):\n%s", diff)
	}
}

// Approvers are those whose latest decisive review approves.
func TestApprovers(t *testing.T) {
	srv := githubtest.New(t)
	srv.AddRepo("acme/api", "main")
	pr := srv.AddPull("acme/api", &github.PullRequest{Title: github.String("transfer")})
	srv.AddReview("acme/api", pr.GetNumber(), "lead-a", "APPROVED", "")
	srv.AddReview("acme/api", pr.GetNumber(), "lead-a", "COMMENTED", "")
	srv.AddReview("acme/api", pr.GetNumber(), "lead-b", "APPROVED", "")
	srv.AddReview("acme/api", pr.GetNumber(), "lead-b", "CHANGES_REQUESTED", "")
	srv.AddReview("acme/api", pr.GetNumber(), "core", "APPROVED", "")
	got, err := ghread.Approvers(context.Background(), srv.Client(), "acme", "api", pr.GetNumber())
	if err != nil || !cmp.Equal(got, []string{"core", "lead-a"}) {
		t.Errorf("Approvers = %v, %v; want [core lead-a]", got, err)
	}
}
