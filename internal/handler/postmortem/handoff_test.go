package postmortem

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/handler"
	"github.com/tasuki-sre/tasuki/internal/onboarding"
	"github.com/tasuki-sre/tasuki/internal/ownership"
)

// TestFollowupOwnerDuringHandoff: while the service's SRE handoff is in
// progress, the postmortem names the team primary in its phase as owner
// and assigns that team's SREs: the core SRE team until Reverse shadow,
// the incoming team from then on. A handoff issue that tasuki did not
// open, however it is worded, changes nothing.
func TestFollowupOwnerDuringHandoff(t *testing.T) {
	c := onboarding.Default()
	start := onboarding.Start(onboarding.StartRequest{Repo: testRepo, Team: "@Codertocat/payments-sre", Actor: "carl", Trigger: "command",
		ActorIsCore: true, CoreTeam: "core-sre"}, onboarding.DefaultConfig(), c, time.Date(2026, 2, 2, 9, 0, 0, 0, time.UTC))
	if len(start.Intents) == 0 || start.Intents[0].Issue.Body == "" {
		t.Fatalf("onboarding.Start opened no handoff issue: %+v", start)
	}
	handoffBody := func(p ownership.Phase) string {
		s := start.State
		s.Phase = p
		return onboarding.RenderBody(start.Intents[0].Issue.Body, s, c)
	}
	type handoffIssue struct {
		author string
		phase  ownership.Phase
	}
	tests := []struct {
		name      string
		sreTeam   string         // ownership.teams.payments.sre_team
		handoffs  []handoffIssue // oldest first
		wantTeam  string
		wantOwner []string
	}{
		{name: "no handoff", wantTeam: "payments", wantOwner: []string{"sre-alice", "sre-bob"}},
		{name: "shadow", handoffs: []handoffIssue{{"tasuki[bot]", ownership.PhaseShadow}},
			wantTeam: "core-sre", wantOwner: []string{"core-carol", "core-dan"}},
		{name: "observe", handoffs: []handoffIssue{{"tasuki[bot]", ownership.PhaseObserve}},
			wantTeam: "core-sre", wantOwner: []string{"core-carol", "core-dan"}},
		{name: "reverse shadow", handoffs: []handoffIssue{{"tasuki[bot]", ownership.PhaseReverseShadow}},
			wantTeam: "payments-sre", wantOwner: []string{"pay-sre-pat"}},
		{name: "reverse shadow, the incoming team's SREs also listed in the config", sreTeam: "payments-sre",
			handoffs: []handoffIssue{{"tasuki[bot]", ownership.PhaseReverseShadow}},
			wantTeam: "payments-sre", wantOwner: []string{"pay-sre-pat", "sre-alice", "sre-bob"}},
		{name: "forged handoff issue", handoffs: []handoffIssue{{"mallory", ownership.PhaseShadow}},
			wantTeam: "payments", wantOwner: []string{"sre-alice", "sre-bob"}},
		{name: "forged issue newer than tasuki's", handoffs: []handoffIssue{{"tasuki[bot]", ownership.PhaseShadow}, {"mallory", ownership.PhaseReverseShadow}},
			wantTeam: "core-sre", wantOwner: []string{"core-carol", "core-dan"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.srv.PutFile(testRepo, "main", ".github/tasuki.yml", []byte(`ownership:
  core_sre_team: core-sre
  teams:
    payments:
      sres: [sre-alice, "@sre-bob"]
      sre_team: "`+tt.sreTeam+`"
  services:
    checkout:
      repos: [Hello-World]
      team: payments
`))
			e.srv.AddTeam("Codertocat", "core-sre", "core-dan", "core-carol")
			e.srv.AddTeam("Codertocat", "payments-sre", "pay-sre-pat")
			e.srv.AddIssue(testRepo, &github.Issue{Number: github.Int(1), Title: github.String("Checkout down"),
				Body:      github.String("### Severity\n\nsev1\n\n### Impact started\n\n2026-03-05 10:00 UTC\n"),
				User:      &github.User{Login: github.String("Codertocat")},
				Labels:    []*github.Label{{Name: github.String("incident")}, {Name: github.String("service:checkout")}},
				CreatedAt: &github.Timestamp{Time: parseTime("2026-03-05T10:10:00Z")}})
			for _, hi := range tt.handoffs {
				e.srv.AddIssue(testRepo, &github.Issue{Title: github.String("SRE handoff: Hello-World → @Codertocat/payments-sre"),
					Body: github.String(handoffBody(hi.phase)), User: &github.User{Login: github.String(hi.author)},
					Labels: []*github.Label{{Name: github.String(onboarding.DefaultLabel)}}})
			}
			h := e.newHandler(&handler.MemLocker{}, &handler.MemMemo{})
			h.Config = config.NewLoader()
			h.Owners = handler.NewOwnership(h.Config, nil)
			must(t, h.Handle(context.Background(), e.labeledDelivery(1)))
			pms := e.postmortems()
			if len(pms) != 1 {
				t.Fatalf("%d postmortems", len(pms))
			}
			if diff := cmp.Diff(tt.wantOwner, logins(pms[0].Assignees)); diff != "" {
				t.Errorf("assignees (-want +got):\n%s", diff)
			}
			if want := "- **Service:** `checkout` · team `" + tt.wantTeam + "`"; !strings.Contains(pms[0].GetBody(), want) {
				t.Errorf("body lacks %q\n%s", want, pms[0].GetBody())
			}
		})
	}
}
