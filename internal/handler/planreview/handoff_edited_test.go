package planreview_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/onboarding"
	"github.com/tasuki-sre/tasuki/internal/ownership"
)

// TestHandoffStateEdited: anyone with write access can edit the body of
// tasuki's handoff issue, hidden state included. A maintainer moving the
// phase from Shadow to Reverse shadow there (so that the incoming team's
// approval would count) does not get the risky plan passed by a team
// SRE's approval: the state differs from the one onboarding remembered
// writing, its phase is unknown, and only the core SRE team's approval
// counts. The state tasuki wrote, unedited, is believed as before.
func TestHandoffStateEdited(t *testing.T) {
	tests := []struct {
		name             string
		written, current ownership.Phase // remembered by onboarding; in the issue now
		approvers        []string
		want             string
		text             string
	}{
		{name: "edited Shadow to Reverse shadow, team SRE approves", written: ownership.PhaseShadow, current: ownership.PhaseReverseShadow,
			approvers: []string{"pat"}, want: "action_required", text: "edited outside tasuki"},
		{name: "edited Shadow to Reverse shadow, core SRE approves", written: ownership.PhaseShadow, current: ownership.PhaseReverseShadow,
			approvers: []string{"carl"}, want: "success", text: "edited outside tasuki"},
		{name: "unedited Reverse shadow, team SRE approves", written: ownership.PhaseReverseShadow, current: ownership.PhaseReverseShadow,
			approvers: []string{"pat"}, want: "success", text: "Reverse shadow phase"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newReviewEnv(t, nil)
			e.srv.AddTeam("Codertocat", "core-sre", "carl")
			e.srv.AddTeam("Codertocat", "payments-sre", "pat")
			is := e.srv.AddIssue(fxRepo, &github.Issue{Title: github.String("SRE handoff"), Body: github.String(handoffBody(t, tt.written)),
				User: &github.User{Login: github.String("tasuki[bot]")}, Labels: []*github.Label{{Name: github.String(onboarding.DefaultLabel)}}})
			// What the onboarding shell remembers on writing the issue.
			if err := e.base.Memo.Put(context.Background(), onboarding.StateMemoKey(fxRepo, is.GetNumber()),
				onboarding.StateMemoValue(handoffBody(t, tt.written))); err != nil {
				t.Fatal(err)
			}
			if tt.current != tt.written {
				e.srv.SetPermission(fxRepo, "mallory", "write")
				if _, _, err := e.srv.ClientAs("mallory").Issues.Edit(context.Background(), fxOwner, fxName, is.GetNumber(),
					&github.IssueRequest{Body: github.String(handoffBody(t, tt.current))}); err != nil {
					t.Fatal(err)
				}
			}
			e.post(t, fxHead, readPlan(t, "tofu-showjson-basic-delete.json"))
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
			if !strings.Contains(cr.GetOutput().GetText(), tt.text) {
				t.Errorf("check text lacks %q:\n%s", tt.text, cr.GetOutput().GetText())
			}
		})
	}
}
