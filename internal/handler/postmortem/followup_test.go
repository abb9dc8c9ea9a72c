package postmortem

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/command"
	"github.com/tasuki-sre/tasuki/internal/handler"
	core "github.com/tasuki-sre/tasuki/internal/postmortem"
)

// seedPostmortem seeds a postmortem of incident #1 with one unchecked
// action item.
func (e *env) seedPostmortem() *github.Issue {
	e.srv.AddIssue(testRepo, &github.Issue{Number: github.Int(1), Title: github.String("Checkout down"),
		Labels: []*github.Label{{Name: github.String("incident")}}})
	return e.srv.AddIssue(testRepo, &github.Issue{Title: github.String("Postmortem: Checkout down"),
		Labels: []*github.Label{{Name: github.String("postmortem")}},
		Body:   github.String("## Action items\n\n- [ ] Add jitter to token refresh — type: prevent\n\n<!-- tasuki:postmortem key=Codertocat/Hello-World#1 v=1 -->\n")})
}

func (e *env) actionItemIssues() int {
	n := 0
	for _, is := range e.srv.Issues(testRepo) {
		if strings.HasPrefix(is.GetTitle(), "Action item: ") {
			n++
		}
	}
	return n
}

// Opening issues in tasuki's name is for the repository's people: someone
// without standing gets the command shell's reply naming who may, and no
// issue is opened.
func TestFollowupRefusedForOutsiders(t *testing.T) {
	e := newEnv(t)
	pm := e.seedPostmortem()
	ctx := context.Background()
	c, _, err := clientAs(e, "drive-by").Issues.CreateComment(ctx, "Codertocat", "Hello-World", pm.GetNumber(), &github.IssueComment{Body: github.String("/tasuki followup")})
	must(t, err)
	c.AuthorAssociation = github.String("NONE")
	router := e.router(e.newHandler(&handler.MemLocker{}, &handler.MemMemo{}))
	must(t, router.Dispatch(ctx, e.commentDelivery(pm.GetNumber(), c)))
	if n := e.actionItemIssues(); n != 0 {
		t.Errorf("%d follow-up issues opened for an outsider", n)
	}
	rs := e.commentsWith(pm.GetNumber(), command.KindReply)
	if len(rs) != 1 || !strings.Contains(rs[0].GetBody(), "`/tasuki followup`: only the repository owner") {
		t.Fatalf("replies %d, want one naming who may", len(rs))
	}
	if n := len(e.commentsWith(pm.GetNumber(), core.KindFollowup)); n != 0 {
		t.Errorf("%d followup replies to a refused command", n)
	}
}

// /tasuki followup (or follow-up) where there is no postmortem says so,
// once, and opens nothing.
func TestFollowupNotOnAPostmortem(t *testing.T) {
	e := newEnv(t)
	e.seedPostmortem()
	ctx := context.Background()
	router := e.router(e.newHandler(&handler.MemLocker{}, &handler.MemMemo{}))
	for _, body := range []string{"/tasuki followup", "/tasuki follow-up"} {
		c, _, err := clientAs(e, "octocat").Issues.CreateComment(ctx, "Codertocat", "Hello-World", 1, &github.IssueComment{Body: github.String(body)})
		must(t, err)
		d := e.commentDelivery(1, c)
		must(t, router.Dispatch(ctx, d))
		must(t, router.Dispatch(ctx, d))
	}
	rs := e.commentsWith(1, core.KindFollowup)
	if len(rs) != 2 || !strings.HasPrefix(rs[0].GetBody(), notPostmortemReply) {
		t.Fatalf("%d followup replies on the incident, want one per command saying it is not a postmortem", len(rs))
	}
	if n := e.actionItemIssues(); n != 0 {
		t.Errorf("%d follow-up issues opened from an incident", n)
	}
}
