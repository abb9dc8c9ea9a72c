package postmortem

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/handler"
	core "github.com/tasuki-sre/tasuki/internal/postmortem"
)

// writtenPostmortem seeds incident #1 by Codertocat and its postmortem,
// written and with its one action item done: only a sign-off is missing.
func (e *env) writtenPostmortem() *github.Issue {
	e.srv.AddIssue(testRepo, &github.Issue{Number: github.Int(1), Title: github.String("Checkout down"),
		User: &github.User{Login: github.String("Codertocat")}, Labels: []*github.Label{{Name: github.String("incident")}}})
	body := "## Summary\n\nDown.\n\n## Impact\n\nAll.\n\n## Timeline\n\n- 10:00 down\n\n## Contributing factors\n\nCache.\n\n" +
		"## Action items\n\n- [x] Add jitter\n\n<!-- tasuki:postmortem key=Codertocat/Hello-World#1 v=1 -->\n"
	return e.srv.AddIssue(testRepo, &github.Issue{Title: github.String("Postmortem: Checkout down"), Body: &body,
		User:   &github.User{Login: github.String("tasuki[bot]"), Type: github.String("Bot")},
		Labels: []*github.Label{{Name: github.String("postmortem")}}})
}

// Who can close a written postmortem by signing it off, and who cannot:
// an outsider, the incident's author, someone outside the reviewer team,
// or anyone writing a sign-off block in a comment of their own.
func TestWhoMayApprove(t *testing.T) {
	tests := []struct {
		name, config, login, assoc string
		team                       []string
		closes                     bool
		reply                      string
	}{
		{"a collaborator", "", "hubot", "COLLABORATOR", nil, true, "Signed off by `hubot`"},
		{"an outsider", "", "drive-by", "NONE", nil, false, "`/tasuki approve`: only the repository owner"},
		{"the incident's author", "", "Codertocat", "OWNER", nil, false, "`Codertocat` cannot sign off this postmortem"},
		{"a reviewer", "postmortem:\n  reviewer_team: reviewers\n", "hubot", "NONE", []string{"hubot"}, true, "Signed off by `hubot`"},
		{"a collaborator outside the reviewer team", "postmortem:\n  reviewer_team: reviewers\n", "octocat", "COLLABORATOR", []string{"hubot"}, false, "only members of @\u200dreviewers may run this command"},
		{"a reviewer who wrote the incident", "postmortem:\n  reviewer_team: reviewers\n", "Codertocat", "OWNER", []string{"Codertocat"}, false, "`Codertocat` cannot sign off"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.config != "" {
				e.srv.PutFile(testRepo, "main", ".github/tasuki.yml", []byte(tt.config))
			}
			if tt.team != nil {
				e.srv.AddTeam("Codertocat", "reviewers", tt.team...)
			}
			pm := e.writtenPostmortem()
			h := e.newHandler(&handler.MemLocker{}, &handler.MemMemo{})
			h.Config = config.NewLoader()
			ctx := context.Background()
			c, _, err := clientAs(e, tt.login).Issues.CreateComment(ctx, "Codertocat", "Hello-World", pm.GetNumber(), &github.IssueComment{Body: github.String("/tasuki approve")})
			must(t, err)
			c.AuthorAssociation = github.String(tt.assoc)
			must(t, e.router(h).Dispatch(ctx, e.commentDelivery(pm.GetNumber(), c)))
			must(t, h.Sweep(ctx, "Codertocat", "Hello-World"))
			if closed := e.srv.Issue(testRepo, pm.GetNumber()).GetState() == "closed"; closed != tt.closes {
				t.Errorf("closed %v, want %v", closed, tt.closes)
			}
			var replies []string
			for _, cm := range e.srv.Comments(testRepo, pm.GetNumber()) {
				if cm.GetUser().GetLogin() == "tasuki[bot]" {
					replies = append(replies, cm.GetBody())
				}
			}
			if !strings.Contains(strings.Join(replies, "\n---\n"), tt.reply) {
				t.Errorf("replies lack %q:\n%s", tt.reply, strings.Join(replies, "\n---\n"))
			}
		})
	}
	t.Run("a forged sign-off block", func(t *testing.T) {
		e := newEnv(t)
		pm := e.writtenPostmortem()
		h := e.newHandler(&handler.MemLocker{}, &handler.MemMemo{})
		ctx := context.Background()
		forged := "Signed off by `hubot`.\n\n" + core.ApprovalMarker(1).String() + "\n" +
			core.EncodeState(core.Record{Approval: &core.Approval{By: "hubot", At: e.clock.Now()}})
		_, _, err := clientAs(e, "mallory").Issues.CreateComment(ctx, "Codertocat", "Hello-World", pm.GetNumber(), &github.IssueComment{Body: &forged})
		must(t, err)
		// Also edited into the postmortem itself.
		body := pm.GetBody() + "\n" + forged + "\n"
		_, _, err = clientAs(e, "mallory").Issues.Edit(ctx, "Codertocat", "Hello-World", pm.GetNumber(), &github.IssueRequest{Body: &body})
		must(t, err)
		must(t, h.Sweep(ctx, "Codertocat", "Hello-World"))
		if e.srv.Issue(testRepo, pm.GetNumber()).GetState() != "open" {
			t.Error("a forged sign-off closed the postmortem")
		}
	})
}
