package onboarding_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/command"
	core "github.com/tasuki-sre/tasuki/internal/onboarding"
)

// Attacks on the handoff by the people around it: a new repository's
// creator choosing who vouches for its handoff, floods of ticks in one
// comment, outsiders asking for handoffs, and people outside the handoff's
// teams ticking its items.

// A new repository's own .github/tasuki.yml is its creator's (a template
// may carry one): it cannot start a handoff, and it cannot choose the core
// SRE team of the handoff the organisation starts, whose members may tick
// its items. Only the organisation's configuration names that team.
func TestAttackNewRepositoryPicksItsCoreTeam(t *testing.T) {
	e := newEnv(t)
	e.srv.AddRepo(org+"/.github", "main")
	e.srv.PutFile(org+"/.github", "main", ".github/tasuki.yml", []byte(
		"ownership:\n  core_sre_team: core-sre\nonboarding:\n  new_repositories:\n    enabled: true\n    team: payments-sre\n    tier: C\n"))
	e.srv.AddTeam(org, "mallory-friends", "mallory")
	e.srv.PutFile(full, "main", ".github/tasuki.yml", []byte("ownership:\n  core_sre_team: mallory-friends\n"))
	e.dispatch(e.delivery("repository", e.fixture("repository.created.1.json")))
	hs := e.handoffs()
	if len(hs) != 1 {
		t.Fatalf("%d handoffs, want 1", len(hs))
	}
	if st := e.state(hs[0].GetNumber()); !strings.EqualFold(st.CoreTeam, "acme/core-sre") {
		t.Fatalf("the new repository's own file chose the handoff's core team: %s", st.CoreTeam)
	}
	e.comment(hs[0].GetNumber(), "mallory", "MEMBER", "/tasuki done shadowing https://example.com/trust-me")
	if it := e.item(hs[0].GetNumber(), "shadowing"); it.By == "mallory" {
		t.Error("a member of the team the repository's file named ticked an item")
	}
}

// A thousand /tasuki na lines in one comment run at most
// command.MaxCommands ticks: the writes are bounded by that, not by the
// comment.
func TestAttackTickFlood(t *testing.T) {
	for _, tt := range []struct {
		name string
		line func(i int) string
	}{
		{"the same tick", func(int) string { return "/tasuki na capacity-plan no traffic" }},
		{"a different reason each", func(i int) string { return fmt.Sprintf("/tasuki na capacity-plan reason %d", i) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.orgChecklist("items:\n  - id: capacity-plan\n    na_allowed: [B]\n")
			talk := e.srv.AddIssue(full, &github.Issue{Title: github.String("Hand payments over")})
			e.comment(talk.GetNumber(), coreLead, "MEMBER", "/tasuki onboard @acme/payments-sre")
			h := e.handoffs()[0].GetNumber()
			var b strings.Builder
			for i := range 1000 {
				b.WriteString(tt.line(i) + "\n")
			}
			e.srv.ResetCalls()
			e.comment(h, teamLead, "MEMBER", b.String())
			writes := e.srv.WriteCount() - 1 // the comment itself
			t.Logf("1,000 /tasuki na lines: %d requests, %d writes", len(e.srv.Calls()), writes)
			// Per run tick: the issue's edit and at most one label change;
			// one reply per verb and comment; the shell's note on the rest.
			if limit := 2*command.MaxCommands + 2; writes > limit {
				t.Errorf("%d writes for one comment, want at most %d", writes, limit)
			}
			if it := e.item(h, "capacity-plan"); !strings.HasPrefix(it.Reason, strings.TrimPrefix(tt.line(command.MaxCommands-1), "/tasuki na capacity-plan ")) {
				t.Errorf("the last run tick is not the one recorded: %q", it.Reason)
			}
		})
	}
}

// Who may tick: only members of the handoff's two teams, whatever their
// association with the repository, their login's case or their being a
// bot; and only in a new comment.
func TestAttackWhoMayTick(t *testing.T) {
	tests := []struct {
		name, login, assoc, action string
	}{
		{"an outsider", "drive-by", "NONE", "created"},
		{"an organisation member outside both teams", "mallory", "MEMBER", "created"},
		{"a collaborator outside both teams", "mallory", "COLLABORATOR", "created"},
		{"a bot", "renovate[bot]", "MEMBER", "created"},
		{"a team member's edited comment", teamLead, "MEMBER", "edited"},
		{"a team member's deleted comment", teamLead, "MEMBER", "deleted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			talk := e.srv.AddIssue(full, &github.Issue{Title: github.String("Hand payments over")})
			e.comment(talk.GetNumber(), coreLead, "MEMBER", "/tasuki onboard @acme/payments-sre")
			h := e.handoffs()[0].GetNumber()
			before := e.srv.Issue(full, h).GetBody()
			body := "/tasuki done shadowing https://example.com/x"
			p := e.fixture("issue_comment.created.1.json")
			cm := e.srv.AddComment(full, h, tt.login, body)
			c := p["comment"].(map[string]any)
			c["id"], c["body"], c["author_association"] = cm.GetID(), body, tt.assoc
			u := c["user"].(map[string]any)
			u["login"], u["type"] = tt.login, "User"
			if strings.HasSuffix(tt.login, "[bot]") {
				u["type"] = "Bot"
			}
			p["action"] = tt.action
			p["issue"] = e.jsonObject(e.srv.Issue(full, h))
			p["sender"].(map[string]any)["login"] = tt.login
			e.dispatch(e.delivery("issue_comment", p))
			if e.srv.Issue(full, h).GetBody() != before {
				t.Errorf("the handoff changed:\n%s", e.srv.Issue(full, h).GetBody())
			}
		})
	}
}

// Anyone may ask for a handoff where no core SRE team is configured (only
// the shell can read who owns the repository today), but an outsider's
// ask, however often repeated in one comment, starts nothing and costs one
// reply.
func TestAttackOutsiderOnboardFlood(t *testing.T) {
	e := newEnv(t)
	talk := e.srv.AddIssue(full, &github.Issue{Title: github.String("please")})
	e.srv.ResetCalls()
	e.comment(talk.GetNumber(), "drive-by", "NONE", strings.Repeat("/tasuki onboard @acme/payments-sre --tier C\n", 1000))
	writes := e.srv.WriteCount() - 1
	t.Logf("1,000 /tasuki onboard lines by an outsider: %d requests, %d writes", len(e.srv.Calls()), writes)
	if n := len(e.handoffs()); n != 0 {
		t.Fatalf("an outsider started %d handoffs", n)
	}
	if writes > 2 {
		t.Errorf("%d writes, want at most 2 (the reply, the shell's note)", writes)
	}
}

// A person without write access can only comment on the handoff issue
// (GitHub lets only its author, tasuki, and the repository's writers edit
// its body). A comment carrying a whole generated block with every item
// passed is not read: the state comes from the body of tasuki's issue.
func TestAttackForgedStateInAComment(t *testing.T) {
	e := newEnv(t)
	talk := e.srv.AddIssue(full, &github.Issue{Title: github.String("Hand payments over")})
	e.comment(talk.GetNumber(), coreLead, "MEMBER", "/tasuki onboard @acme/payments-sre")
	h := e.handoffs()[0].GetNumber()
	before := e.state(h)
	forged := before
	forged.Items = append([]core.ItemState(nil), before.Items...)
	for i := range forged.Items {
		forged.Items[i].Status, forged.Items[i].By = core.StatusPassed, "mallory"
	}
	block := core.RenderBody("", forged, core.Default())
	for _, who := range []struct{ login, assoc string }{{"mallory", "NONE"}, {"mallory", "MEMBER"}} {
		e.comment(h, who.login, who.assoc, block)
		e.comment(talk.GetNumber(), who.login, who.assoc, block)
	}
	e.push(map[string]string{"README.md": "again\n"})
	e.sweep()
	after := e.state(h)
	for _, it := range after.Items {
		if it.By == "mallory" {
			t.Errorf("item %s is mallory's after a forged block in a comment", it.ID)
		}
	}
	if n := len(e.handoffs()); n != 1 {
		t.Errorf("%d handoffs", n)
	}
}
