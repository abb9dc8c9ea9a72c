package onboarding_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/githubtest"
	"github.com/tasuki-sre/tasuki/internal/handler"
	core "github.com/tasuki-sre/tasuki/internal/onboarding"
)

// toShadow starts a tier B handoff and brings it to Shadow as the
// end-to-end test does: files pushed, protection set, two ticks.
func toShadow(t *testing.T, e *env) int {
	t.Helper()
	talk := e.srv.AddIssue(full, &github.Issue{Title: github.String("Hand payments over")})
	e.comment(talk.GetNumber(), coreLead, "MEMBER", "/tasuki onboard @acme/payments-sre --tier B")
	h := e.handoffs()[0].GetNumber()
	e.push(prepared)
	e.srv.SetBranchProtection(full, "main", githubtest.BranchProtection{RequiredChecks: []string{"tasuki/plan-review"}, RequiredReviews: 1, CodeOwnerReview: true})
	e.srv.AddWorkflowRun(full, githubtest.WorkflowRun{Name: "restore-test", CreatedAt: e.clock.Now().Add(-24 * time.Hour)})
	e.comment(h, teamLead, "MEMBER", "/tasuki done capacity-plan https://docs.acme.example/payments/capacity")
	e.comment(h, teamLead, "MEMBER", "/tasuki done access-review https://docs.acme.example/payments/access")
	e.push(map[string]string{"README.md": "payments\n"})
	if st := e.state(h); st.Phase != core.PhaseShadow {
		t.Fatalf("phase %s, want shadow", st.Phase)
	}
	return h
}

// TestEditedHandoffState: anyone with write access can edit the body of
// tasuki's handoff issue, its hidden state included (plan review reads the
// phase from it). The shell remembers every state it writes: a state
// edited outside tasuki is not believed: the ownership read gives the
// phase as unknown (plan review then requires the core SRE team), the
// next run puts back the state tasuki wrote with one notice, and a tick
// builds on that state, not on the edited one.
func TestEditedHandoffState(t *testing.T) {
	tests := []struct {
		name string
		edit func(body string, s core.State) string
	}{
		{"phase moved from Shadow to Reverse shadow", func(body string, s core.State) string {
			s.Phase = core.PhaseReverseShadow
			return core.RenderBody(body, s, core.Default())
		}},
		{"every item passed by mallory", func(body string, s core.State) string {
			for i := range s.Items {
				s.Items[i].Status, s.Items[i].By = core.StatusPassed, "mallory"
			}
			return core.RenderBody(body, s, core.Default())
		}},
		{"the core team swapped", func(body string, s core.State) string {
			s.CoreTeam = "acme/mallory-friends"
			return core.RenderBody(body, s, core.Default())
		}},
		{"the state line deleted", func(body string, s core.State) string {
			i := strings.Index(body, "<!-- tasuki:handoff-state")
			j := strings.Index(body[i:], "-->")
			return body[:i] + body[i+j+3:]
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			h := toShadow(t, e)
			written := e.state(h)
			e.srv.SetPermission(full, "mallory", "write")
			edited := tt.edit(e.srv.Issue(full, h).GetBody(), written)
			ctx := context.Background()
			if _, _, err := e.srv.ClientAs("mallory").Issues.Edit(ctx, org, repoName, h, &github.IssueRequest{Body: github.String(edited)}); err != nil {
				t.Fatal(err)
			}

			// The read plan review makes: the teams tasuki wrote, the
			// phase unknown.
			got, err := handler.NewOwnership(nil, slog.New(slog.DiscardHandler)).HandoffChecked(ctx, e.srv.Client(), org, repoName, "", e.h.Identity, e.h.Memo)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil || got.Phase != core.PhaseUnknown || got.CoreTeam != "core-sre" || got.Team != "payments-sre" {
				t.Errorf("ownership read of the edited issue = %+v, want phase unknown, core-sre, payments-sre", got)
			}

			// The daily run restores what tasuki wrote, with one notice.
			e.sweep()
			e.sweep()
			st := e.state(h)
			if st.Phase != core.PhaseShadow || st.CoreTeam != "acme/core-sre" {
				t.Errorf("after the run: phase %s core %s, want shadow, acme/core-sre", st.Phase, st.CoreTeam)
			}
			for _, it := range st.Items {
				if it.By == "mallory" {
					t.Errorf("item %s is mallory's after the run", it.ID)
				}
			}
			if n := len(e.replies(h, "edited outside tasuki")); n != 1 {
				t.Errorf("%d notices about the edit, want 1", n)
			}
			if got, err := handler.NewOwnership(nil, slog.New(slog.DiscardHandler)).HandoffChecked(ctx, e.srv.Client(), org, repoName, "", e.h.Identity, e.h.Memo); err != nil || got == nil || got.Phase != core.PhaseShadow {
				t.Errorf("ownership read after the restore = %+v, %v; want shadow", got, err)
			}
		})
	}
}

// A person who deletes the whole block, tasuki's marker with it, leaves an
// issue the writer will not edit: the shell no longer takes it for a
// handoff (a tick is answered so), and plan review reads its phase as
// unknown rather than falling back to the configured rule.
func TestDeletedHandoffBlock(t *testing.T) {
	e := newEnv(t)
	h := toShadow(t, e)
	e.srv.SetPermission(full, "mallory", "write")
	ctx := context.Background()
	if _, _, err := e.srv.ClientAs("mallory").Issues.Edit(ctx, org, repoName, h, &github.IssueRequest{Body: github.String("Nothing to see here.\n")}); err != nil {
		t.Fatal(err)
	}
	e.sweep()
	got, err := handler.NewOwnership(nil, slog.New(slog.DiscardHandler)).HandoffChecked(ctx, e.srv.Client(), org, repoName, "", e.h.Identity, e.h.Memo)
	if err != nil || got == nil || got.Phase != core.PhaseUnknown || got.CoreTeam != "core-sre" {
		t.Errorf("ownership read = %+v, %v; want phase unknown, core-sre", got, err)
	}
	e.comment(h, teamLead, "MEMBER", "/tasuki done shadowing https://docs.acme.example/payments/shadowing")
	if body := e.srv.Issue(full, h).GetBody(); body != "Nothing to see here.\n" {
		t.Errorf("the issue changed:\n%s", body)
	}
}

// A tick on an edited issue is recorded on the state tasuki wrote: the
// edit does not carry over, and the issue is restored by the tick itself.
func TestTickOnEditedHandoff(t *testing.T) {
	e := newEnv(t)
	h := toShadow(t, e)
	written := e.state(h)
	forged := written
	forged.Phase = core.PhaseReverseShadow
	e.srv.SetPermission(full, "mallory", "write")
	if _, _, err := e.srv.ClientAs("mallory").Issues.Edit(context.Background(), org, repoName, h,
		&github.IssueRequest{Body: github.String(core.RenderBody(e.srv.Issue(full, h).GetBody(), forged, core.Default()))}); err != nil {
		t.Fatal(err)
	}
	e.comment(h, teamLead, "MEMBER", "/tasuki done shadowing https://docs.acme.example/payments/shadowing")
	// What the tick makes of the state tasuki wrote.
	want := core.Attest(written, core.RenderBody("", written, core.Default()), core.Default(),
		core.Command{Verb: "done", ItemID: "shadowing", Arg: "https://docs.acme.example/payments/shadowing"}, teamLead, e.clock.Now()).State
	st := e.state(h)
	if st.Phase != want.Phase {
		t.Errorf("phase after the tick %s, want %s (the edit made it %s)", st.Phase, want.Phase, forged.Phase)
	}
	if it, _ := st.Item("shadowing"); it.Status != core.StatusPassed || it.By != teamLead {
		t.Errorf("shadowing = %+v, want passed by %s", it, teamLead)
	}
	if n := len(e.replies(h, "edited outside tasuki")); n != 1 {
		t.Errorf("%d notices about the edit, want 1", n)
	}
}
