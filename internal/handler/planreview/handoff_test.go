package planreview_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/onboarding"
	"github.com/tasuki-sre/tasuki/internal/ownership"
)

// handoffBody is the body of the handoff issue onboarding writes for
// fxRepo moving from Codertocat/core-sre to Codertocat/payments-sre, in
// phase p.
func handoffBody(t *testing.T, p ownership.Phase) string {
	t.Helper()
	c := onboarding.Default()
	d := onboarding.Start(onboarding.StartRequest{Repo: fxRepo, Team: "@Codertocat/payments-sre", Actor: "carl", Trigger: "command",
		ActorIsCore: true, CoreTeam: "core-sre"}, onboarding.DefaultConfig(), c, time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	if len(d.Intents) != 1 || d.Intents[0].Issue.Body == "" {
		t.Fatalf("onboarding.Start: %+v", d)
	}
	s := d.State
	s.Phase = p
	body := onboarding.RenderBody(d.Intents[0].Issue.Body, s, c)
	if h, ok := onboarding.HandoffOf(body); !ok || h.Phase != p {
		t.Fatalf("handoff body does not read back as %s: %+v %v", p, h, ok)
	}
	return body
}

// TestHandoffApprovers: a risky plan of a service in handoff needs the
// approval of the phase's primary team. In Shadow the core SRE team is
// primary (the incoming team's approval alone keeps the check red); in
// Reverse shadow the incoming team is (its approval turns the check green)
// and the core team is asked as secondary; in Transfer the configured rule
// applies. A handoff issue that tasuki did not open is ignored.
func TestHandoffApprovers(t *testing.T) {
	tests := []struct {
		name      string
		phase     ownership.Phase
		author    string // of the handoff issue
		approvers []string
		want      string // check conclusion
		texts     []string
		asked     string // team asked to review when the plan is posted
	}{
		{name: "shadow, team SRE alone", phase: ownership.PhaseShadow, author: "tasuki[bot]", approvers: []string{"pat"},
			want: "action_required", texts: []string{"Shadow phase", "`@Codertocat/core-sre`", "`@Codertocat/payments-sre` is secondary: ask it to review too, though its approval alone does not count"}, asked: "payments-sre"},
		{name: "shadow, core SRE", phase: ownership.PhaseShadow, author: "tasuki[bot]", approvers: []string{"pat", "carl"},
			want: "success", texts: []string{"Shadow phase"}, asked: "payments-sre"},
		{name: "observe, team SRE alone", phase: ownership.PhaseObserve, author: "tasuki[bot]", approvers: []string{"pat"},
			want: "action_required", texts: []string{"Observe and prepare phase"}},
		{name: "reverse shadow, team SRE", phase: ownership.PhaseReverseShadow, author: "tasuki[bot]", approvers: []string{"pat"},
			want: "success", texts: []string{"Reverse shadow phase", "`@Codertocat/core-sre` is secondary: ask it to review too"}, asked: "core-sre"},
		{name: "reverse shadow, core SRE alone", phase: ownership.PhaseReverseShadow, author: "tasuki[bot]", approvers: []string{"carl"},
			want: "action_required", texts: []string{"only approvals by members of `@Codertocat/payments-sre` count"}, asked: "core-sre"},
		{name: "transfer: configured rule", phase: ownership.PhaseTransfer, author: "tasuki[bot]", approvers: []string{"dave"},
			want: "success"},
		{name: "forged handoff issue", phase: ownership.PhaseShadow, author: "mallory", approvers: []string{"dave"},
			want: "success"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newReviewEnv(t, nil)
			e.srv.AddTeam("Codertocat", "core-sre", "carl")
			e.srv.AddTeam("Codertocat", "payments-sre", "pat")
			e.srv.AddIssue(fxRepo, &github.Issue{Title: github.String("SRE handoff"), Body: github.String(handoffBody(t, tt.phase)),
				User: &github.User{Login: github.String(tt.author)}, Labels: []*github.Label{{Name: github.String(onboarding.DefaultLabel)}}})
			e.post(t, fxHead, readPlan(t, "tofu-showjson-basic-delete.json"))
			var asked []string
			for _, team := range e.srv.Pull(fxRepo, fxPR).RequestedTeams {
				asked = append(asked, team.GetSlug())
			}
			if want := []string{tt.asked}; (tt.asked == "" && len(asked) != 0) || (tt.asked != "" && !slices.Equal(asked, want)) {
				t.Errorf("teams asked to review: %v, want %q", asked, tt.asked)
			}
			for _, a := range tt.approvers {
				e.srv.AddReview(fxRepo, fxPR, a, "APPROVED", fxHead)
			}
			res, err := e.rv.Reevaluate(context.Background(), e.c, fxOwner, fxName, fxPR)
			if err != nil {
				t.Fatal(err)
			}
			cr := e.checkOn(t, fxHead)
			if cr.GetConclusion() != tt.want || res.Conclusion != tt.want {
				t.Errorf("check %q (result %q), want %q: %s", cr.GetConclusion(), res.Conclusion, tt.want, cr.GetOutput().GetTitle())
			}
			body := e.tasukiComments(t)[0].GetBody()
			for _, s := range tt.texts {
				if !strings.Contains(cr.GetOutput().GetText(), s) {
					t.Errorf("check text lacks %q:\n%s", s, cr.GetOutput().GetText())
				}
				if !strings.Contains(body, s) && tt.want != "success" {
					t.Errorf("comment lacks %q:\n%s", s, body)
				}
			}
			if len(tt.texts) == 0 && strings.Contains(cr.GetOutput().GetText()+body, "handoff") {
				t.Errorf("the configured rule applies, yet the check or comment names the handoff:\n%s\n%s", cr.GetOutput().GetText(), body)
			}
		})
	}
}

// TestHandoffNotReadForSafePlans: a plan without risky changes needs no
// approver, so the handoff issue is not even listed.
func TestHandoffNotReadForSafePlans(t *testing.T) {
	e := newReviewEnv(t, nil)
	e.srv.AddIssue(fxRepo, &github.Issue{Title: github.String("SRE handoff"), Body: github.String(handoffBody(t, ownership.PhaseShadow)),
		User: &github.User{Login: github.String("tasuki[bot]")}, Labels: []*github.Label{{Name: github.String(onboarding.DefaultLabel)}}})
	e.post(t, fxHead, readPlan(t, "tofu-showjson-provider-aliasing-10-creates.json"))
	e.srv.ResetCalls()
	if _, err := e.rv.Reevaluate(context.Background(), e.c, fxOwner, fxName, fxPR); err != nil {
		t.Fatal(err)
	}
	if n := e.srv.CallCount("GET", "/repos/{owner}/{repo}/issues"); n != 0 {
		t.Errorf("a safe plan listed issues %d times, want 0", n)
	}
	if c := e.checkOn(t, fxHead).GetConclusion(); c != "success" {
		t.Errorf("safe plan: check %q, want success", c)
	}
}
