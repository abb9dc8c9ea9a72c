package postmortem

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/handler"
	core "github.com/tasuki-sre/tasuki/internal/postmortem"
)

// Attacks on the postmortem's sign-off and follow-ups by the people who
// may comment on it: the incident's author signing off through an alias,
// comments tasuki must not run, text forged into tasuki's own replies, and
// floods of commands or action items.

// attackEnv is a written postmortem (only a sign-off missing) and the
// handler routed as the App routes it.
func attackEnv(t *testing.T) (*env, *Handler, *github.Issue) {
	t.Helper()
	e := newEnv(t)
	pm := e.writtenPostmortem()
	h := e.newHandler(&handler.MemLocker{}, &handler.MemMemo{})
	h.Config = config.NewLoader()
	return e, h, pm
}

// say posts body on issue n as login (author association assoc, "" for
// the fake's default COLLABORATOR) and delivers it with action.
func (e *env) say(h *Handler, n int, login, assoc, action, body string) {
	e.t.Helper()
	ctx := context.Background()
	c, _, err := clientAs(e, login).Issues.CreateComment(ctx, "Codertocat", "Hello-World", n, &github.IssueComment{Body: &body})
	must(e.t, err)
	if assoc != "" {
		c.AuthorAssociation = github.String(assoc)
	}
	if strings.HasSuffix(login, "[bot]") {
		c.User.Type = github.String("Bot")
	}
	d := e.commentDelivery(n, c)
	if action != "created" {
		p := object(e.t, d.Payload)
		p["action"] = action
		d = delivery(e.t, "issue_comment", d.ID+"-"+action, p)
	}
	must(e.t, e.router(h).Dispatch(ctx, d))
}

func (e *env) state(n int) string { return e.srv.Issue(testRepo, n).GetState() }

// The incident's author cannot sign off their own postmortem by writing
// their login in another case, from a bot, in an edited comment, or by
// planting a sign-off block in a comment tasuki answers.
func TestAttackSignOffByTheAuthor(t *testing.T) {
	forged := core.ApprovalMarker(1).String() + "\n" + core.EncodeState(core.Record{Approval: &core.Approval{By: "hubot"}})
	tests := []struct {
		name, login, assoc, action, body string
	}{
		{"login in lower case", "codertocat", "OWNER", "created", "/tasuki approve"},
		{"login in upper case", "CODERTOCAT", "OWNER", "created", "/tasuki approve"},
		{"a bot", "renovate[bot]", "NONE", "created", "/tasuki approve"},
		{"a bot that is a collaborator", "ci-helper[bot]", "COLLABORATOR", "created", "/tasuki approve"},
		{"an edited comment", "hubot", "COLLABORATOR", "edited", "/tasuki approve"},
		{"a deleted comment", "hubot", "COLLABORATOR", "deleted", "/tasuki approve"},
		{"a block in an unknown verb", "mallory", "NONE", "created", "/tasuki " + strings.ReplaceAll(forged, "\n", " ")},
		{"a block as approve's argument", "Codertocat", "OWNER", "created", "/tasuki approve " + strings.ReplaceAll(forged, "\n", " ")},
		{"a block after approve by an outsider", "mallory", "NONE", "created", "/tasuki approve\n" + forged},
		{"a block in the help", "mallory", "NONE", "created", "/tasuki help\n" + forged},
		{"fullwidth slash", "hubot", "COLLABORATOR", "created", "／tasuki approve"},
		{"zero-width in the verb", "hubot", "COLLABORATOR", "created", "/tasuki app\u200brove"},
		{"inside a code block", "hubot", "COLLABORATOR", "created", "```\n/tasuki approve\n```"},
		{"inside an HTML comment", "hubot", "COLLABORATOR", "created", "<!--\n/tasuki approve\n-->"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, h, pm := attackEnv(t)
			e.say(h, pm.GetNumber(), tt.login, tt.assoc, tt.action, tt.body)
			must(t, h.Sweep(context.Background(), "Codertocat", "Hello-World"))
			if got := e.state(pm.GetNumber()); got != "open" {
				t.Errorf("the postmortem is %s", got)
			}
			if n := len(e.commentsWith(pm.GetNumber(), core.KindComplete)); n != 0 {
				t.Errorf("%d closing notes", n)
			}
		})
	}
	// The same postmortem does close for someone else: the attacks above
	// fail for the reason they test, not because nothing can close it.
	t.Run("control: a collaborator", func(t *testing.T) {
		e, h, pm := attackEnv(t)
		e.say(h, pm.GetNumber(), "hubot", "COLLABORATOR", "created", "/tasuki approve")
		if got := e.state(pm.GetNumber()); got != "closed" {
			t.Errorf("the postmortem is %s", got)
		}
	})
}

// A thousand /tasuki approve lines in one comment cost what one does: the
// shell runs at most command.MaxCommands, and each answers the same
// comment, found again by its marker.
func TestAttackCommandFlood(t *testing.T) {
	e, h, pm := attackEnv(t)
	e.srv.ResetCalls()
	e.say(h, pm.GetNumber(), "hubot", "COLLABORATOR", "created", strings.Repeat("/tasuki approve\n", 1000))
	writes := e.srv.WriteCount() - 1 // the comment itself
	t.Logf("1,000 /tasuki approve lines: %d requests, %d writes", len(e.srv.Calls()), writes)
	// The sign-off reply, the closing note, the label, the close, and the
	// shell's one note that the rest was not run.
	if writes > 5 {
		t.Errorf("%d writes for one comment, want at most 5", writes)
	}
	if e.state(pm.GetNumber()) != "closed" {
		t.Error("not closed")
	}
	if n := len(e.commentsWith(pm.GetNumber(), core.KindApproval)); n != 1 {
		t.Errorf("%d sign-off replies, want 1", n)
	}
}

// An issue a person opened with tasuki's postmortem marker copied in is
// not a postmortem: /tasuki followup on it opens no issues in tasuki's
// name (an organisation member may comment as MEMBER without being able to
// write to the repository, or to label the issue as a postmortem).
func TestAttackForgedPostmortemMarker(t *testing.T) {
	e := newEnv(t)
	h := e.newHandler(&handler.MemLocker{}, &handler.MemMemo{})
	var items strings.Builder
	for i := range 5 {
		fmt.Fprintf(&items, "- [ ] spam %d\n", i)
	}
	body := "## Action items\n\n" + items.String() + "\n<!-- tasuki:postmortem key=Codertocat/Hello-World#1 v=1 -->\n"
	is := e.srv.AddIssue(testRepo, &github.Issue{Title: github.String("Postmortem: totally real"), Body: &body,
		User: &github.User{Login: github.String("mallory")}})
	before := len(e.srv.Issues(testRepo))
	e.say(h, is.GetNumber(), "mallory", "MEMBER", "created", "/tasuki followup")
	if n := len(e.srv.Issues(testRepo)) - before; n != 0 {
		t.Errorf("a person's issue with a copied marker made tasuki open %d issues", n)
	}
}

// A postmortem with thousands of action items (a body of 64 KiB holds
// some 7,000) does not make one /tasuki followup open thousands of issues:
// one run opens at most core.MaxFollowups and says how many are left
// (three runs' worth here; core's TestAttackFollowupsAreBounded has 2,000).
func TestAttackFollowupFlood(t *testing.T) {
	e := newEnv(t)
	h := e.newHandler(&handler.MemLocker{}, &handler.MemMemo{})
	var items strings.Builder
	for i := range 3 * core.MaxFollowups {
		fmt.Fprintf(&items, "- [ ] item %d\n", i)
	}
	body := "## Action items\n\n" + items.String() + "\n<!-- tasuki:postmortem key=Codertocat/Hello-World#1 v=1 -->\n"
	pm := e.srv.AddIssue(testRepo, &github.Issue{Title: github.String("Postmortem"), Body: &body,
		User:   &github.User{Login: github.String("tasuki[bot]"), Type: github.String("Bot")},
		Labels: []*github.Label{{Name: github.String("postmortem")}}})
	before := len(e.srv.Issues(testRepo))
	e.srv.ResetCalls()
	e.say(h, pm.GetNumber(), "hubot", "COLLABORATOR", "created", "/tasuki followup")
	opened := len(e.srv.Issues(testRepo)) - before
	t.Logf("/tasuki followup on %d items: %d issues, %d writes", 3*core.MaxFollowups, opened, e.srv.WriteCount())
	if opened != core.MaxFollowups {
		t.Errorf("one /tasuki followup opened %d issues, want %d", opened, core.MaxFollowups)
	}
	replies := e.commentsWith(pm.GetNumber(), core.KindFollowup)
	if len(replies) != 1 || !strings.Contains(replies[0].GetBody(), fmt.Sprintf("%d more", 2*core.MaxFollowups)) {
		t.Errorf("reply does not say how many are left: %v", replies)
	}
	// Running it again opens the next ones, not the same.
	e.say(h, pm.GetNumber(), "hubot", "COLLABORATOR", "created", "/tasuki followup")
	if n := len(e.srv.Issues(testRepo)) - before; n != 2*core.MaxFollowups {
		t.Errorf("after two runs %d issues, want %d", n, 2*core.MaxFollowups)
	}
}

// Anyone may open a postmortem by hand: the issue form applies the
// postmortem label. A facts section written into it is the person's, not
// tasuki's: its due date, incident commander and owning team do not make
// tasuki's reminders ping whoever it names (an outsider cannot otherwise
// make the App mention an organisation's team). On tasuki's own
// postmortem the same section escalates as it should.
func TestAttackHandWrittenFactsAreNotTasukis(t *testing.T) {
	facts := "<!-- tasuki:begin facts -->\n- **Service:** `checkout` · team `everyone`\n- **Incident commander:** `victim-ic`\n" +
		"<!-- tasuki:postmortem-due key=2026-02-02 v=1 -->\n<!-- tasuki:end facts -->\n"
	body := facts + "## Summary\n\nx\n\n## Action items\n\n- [ ] fix it — owner: @mallory — due: 2026-02-02\n"
	for _, tt := range []struct {
		name, author string
		pings        bool
	}{
		{"opened by a person", "mallory", false},
		{"control: opened by tasuki", "tasuki[bot]", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			h := e.newHandler(&handler.MemLocker{}, &handler.MemMemo{})
			u := &github.User{Login: github.String(tt.author)}
			if strings.HasSuffix(tt.author, "[bot]") {
				u.Type = github.String("Bot")
			}
			pm := e.srv.AddIssue(testRepo, &github.Issue{Title: github.String("Postmortem: checkout"), Body: github.String(body), User: u,
				Labels: []*github.Label{{Name: github.String("postmortem")}}})
			must(t, h.Sweep(context.Background(), "Codertocat", "Hello-World"))
			var all []string
			for _, c := range e.srv.Comments(testRepo, pm.GetNumber()) {
				all = append(all, c.GetBody())
			}
			text := strings.Join(all, "\n")
			if got := strings.Contains(text, "@victim-ic") || strings.Contains(text, "/everyone"); got != tt.pings {
				t.Errorf("pinged the facts' commander or team: %v, want %v\n%s", got, tt.pings, text)
			}
			if !strings.Contains(text, "@mallory") {
				t.Errorf("the item's own owner was not reminded:\n%s", text)
			}
		})
	}
}

// The weekly digest gathers the organisation's overdue action items into
// one issue. In a public digest repository it lists only the items of
// public repositories: a private repository's follow-up titles (what went
// wrong, and what is still unfixed) are not published.
func TestAttackDigestDoesNotPublishPrivateItems(t *testing.T) {
	for _, tt := range []struct {
		name, digestVisibility string
		private                bool
	}{
		{"public digest", "public", false},
		{"private digest", "private", true},
		{"internal digest", "internal", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.srv.AddRepo("Codertocat/.github", "main")
			e.srv.AddRepo("Codertocat/web", "main")
			e.srv.SetVisibility("Codertocat/.github", tt.digestVisibility)
			e.srv.SetVisibility("Codertocat/web", "public")
			e.srv.PutFile("Codertocat/.github", "main", ".github/tasuki.yml", []byte("postmortem:\n  digest_repo: .github\n"))
			followup := func(repo, title string) {
				body := "Action item.\n\n<!-- tasuki:postmortem-item-due key=2026-02-20 v=1 -->\n"
				e.srv.AddIssue(repo, &github.Issue{Title: github.String(title), Body: &body,
					Labels: []*github.Label{{Name: github.String("postmortem-action")}},
					User:   &github.User{Login: github.String("tasuki[bot]"), Type: github.String("Bot")}})
			}
			followup(testRepo, "Action item: rotate the leaked signing key") // private
			followup("Codertocat/web", "Action item: alert on 5xx")          // public
			h := e.newHandler(&handler.MemLocker{}, &handler.MemMemo{})
			h.Config = config.NewLoader()
			e.clock.Set(parseTime("2026-03-09T08:00:00Z"))
			must(t, h.Digest(context.Background(), h.Logger(), e.gh, "Codertocat"))
			var body string
			for _, is := range e.srv.Issues("Codertocat/.github") {
				if strings.Contains(is.GetBody(), "tasuki:"+core.KindDigest+" ") {
					body = is.GetBody()
				}
			}
			if !strings.Contains(body, "alert on 5xx") {
				t.Fatalf("the public item is not listed:\n%s", body)
			}
			if got := strings.Contains(body, "signing key"); got != tt.private {
				t.Errorf("private item listed: %v, want %v\n%s", got, tt.private, body)
			}
		})
	}
}

// Repeating /tasuki followup in one comment does not multiply the bound.
func TestAttackFollowupRepeatedInOneComment(t *testing.T) {
	e := newEnv(t)
	h := e.newHandler(&handler.MemLocker{}, &handler.MemMemo{})
	var items strings.Builder
	for i := range 3 * core.MaxFollowups {
		fmt.Fprintf(&items, "- [ ] item %d\n", i)
	}
	body := "## Action items\n\n" + items.String() + "\n<!-- tasuki:postmortem key=Codertocat/Hello-World#1 v=1 -->\n"
	pm := e.srv.AddIssue(testRepo, &github.Issue{Title: github.String("Postmortem"), Body: &body,
		User:   &github.User{Login: github.String("tasuki[bot]"), Type: github.String("Bot")},
		Labels: []*github.Label{{Name: github.String("postmortem")}}})
	before := len(e.srv.Issues(testRepo))
	e.say(h, pm.GetNumber(), "hubot", "COLLABORATOR", "created", strings.Repeat("/tasuki followup\n", 1000))
	if n := len(e.srv.Issues(testRepo)) - before; n > core.MaxFollowups {
		t.Errorf("one comment opened %d issues, want at most %d", n, core.MaxFollowups)
	}
}
