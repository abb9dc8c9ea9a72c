package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tasuki-sre/tasuki/internal/githubtest"
)

// TestPlanReviewActionTeamApprovers: the workflow's GITHUB_TOKEN cannot
// read team membership (GitHub answers 404, member or not), so an approval
// by a member of an approver team is verified through members-token.
// Without it the approval does not count and the check says exactly why;
// with a token refused for lack of members:read (403) the check says that;
// with a working token a member's approval turns the check green and a
// non-member's does not. The token is never printed.
func TestPlanReviewActionTeamApprovers(t *testing.T) {
	tests := []struct {
		name     string
		members  githubtest.TeamAccess
		token    bool // pass members-token
		env      bool // as TASUKI_MEMBERS_TOKEN rather than the input
		approver string
		want     string
		text     string // in the check's text
		notText  string
	}{
		{name: "no members-token", approver: "bob", want: "action_required",
			text: "Cannot verify membership of `@Codertocat/sre`: the workflow token cannot read team membership; pass members-token"},
		{name: "members-token of a member", token: true, approver: "bob", want: "success", notText: "Cannot verify"},
		{name: "TASUKI_MEMBERS_TOKEN of a member", token: true, env: true, approver: "bob", want: "success", notText: "Cannot verify"},
		{name: "members-token, non-member", token: true, approver: "dave", want: "action_required", notText: "Cannot verify"},
		{name: "members-token without members:read", token: true, members: githubtest.TeamsForbidden, approver: "bob", want: "action_required",
			text: "Cannot verify membership of `@Codertocat/sre`: members-token was refused (GitHub answered 403)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := seedFixturePR(t)
			srv.AddTeam("Codertocat", "sre", "bob")
			cfg := filepath.Join(t.TempDir(), "tasuki.yml")
			if err := os.WriteFile(cfg, []byte("review:\n  approvers:\n    teams: [Codertocat/sre]\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			a := newActionEnv(t, srv, "pull_request", "pull_request.opened.1.json")
			a.vars["INPUT_PLAN"] = tfplan(t, "tofu-showjson-basic-delete.json")
			a.vars["INPUT_CONFIG"] = cfg
			srv.SetTeamAccess(a.vars["INPUT_GITHUB_TOKEN"], githubtest.TeamsHidden)
			if code, _, stderr := runCLI(t, a.vars, "plan-review"); code != 0 {
				t.Fatalf("plan run: exit %d: %s", code, stderr)
			}

			srv.AddReview(fxRepo, fxPR, tt.approver, "APPROVED", fxHead)
			r := newActionEnv(t, srv, "pull_request_review", "pull_request_review.submitted.1.json")
			r.vars["INPUT_CONFIG"] = cfg
			srv.SetTeamAccess(r.vars["INPUT_GITHUB_TOKEN"], githubtest.TeamsHidden)
			var secret string
			if tt.token {
				secret = srv.Token("members-reader[bot]")
				srv.SetTeamAccess(secret, tt.members)
				if tt.env {
					r.vars["TASUKI_MEMBERS_TOKEN"] = secret
				} else {
					r.vars["INPUT_MEMBERS_TOKEN"] = secret
				}
			}
			code, stdout, stderr := runCLI(t, r.vars, "plan-review")
			if code != 0 {
				t.Fatalf("review run: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
			cr := planReviewCheck(t, srv, fxHead)
			if cr.GetConclusion() != tt.want {
				t.Errorf("check %q, want %q: %s\n%s", cr.GetConclusion(), tt.want, cr.GetOutput().GetTitle(), cr.GetOutput().GetText())
			}
			text := cr.GetOutput().GetText()
			if tt.text != "" && !strings.Contains(text, tt.text) {
				t.Errorf("check text lacks %q:\n%s", tt.text, text)
			}
			if tt.notText != "" && strings.Contains(text, tt.notText) {
				t.Errorf("check text says %q:\n%s", tt.notText, text)
			}
			if secret != "" {
				if !strings.Contains(stdout, "::add-mask::"+secret) {
					t.Errorf("members-token not masked; stdout:\n%s", stdout)
				}
				if strings.Count(stdout+stderr, secret) != 1 {
					t.Errorf("members-token printed besides the mask command:\nstdout: %s\nstderr: %s", stdout, stderr)
				}
				if n := srv.CallCount("GET", "/orgs/{org}/teams/{team_slug}/memberships/{username}"); n == 0 {
					t.Error("membership never asked")
				}
			}
		})
	}
}
