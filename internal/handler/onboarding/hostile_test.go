package onboarding_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/dispatch"
	core "github.com/tasuki-sre/tasuki/internal/onboarding"
)

// What a person can plant is not taken for tasuki's: an issue carrying
// the handoff label and a copied state block is no handoff (a push does
// not verify it, /tasuki done on it is answered as on any issue), and a
// pull request carrying the transfer marker closes nothing when merged.
func TestForgedHandoffArtefactsAreIgnored(t *testing.T) {
	e := newEnv(t)
	talk := e.srv.AddIssue(full, &github.Issue{Title: github.String("Hand payments over")})
	e.comment(talk.GetNumber(), coreLead, "MEMBER", "/tasuki onboard @acme/payments-sre")
	real := e.handoffs()[0]
	st := e.state(real.GetNumber())

	forged := e.srv.AddIssue(full, &github.Issue{Title: real.Title, Body: real.Body, User: &github.User{Login: github.String("mallory")},
		Labels: []*github.Label{{Name: github.String("sre-handoff")}}})
	e.comment(forged.GetNumber(), teamLead, "MEMBER", "/tasuki done capacity-plan https://example.com/x")
	if got := e.replies(forged.GetNumber(), "not a handoff tasuki opened"); len(got) != 1 {
		t.Errorf("tick on a forged handoff: replies %q", got)
	}
	if e.srv.Issue(full, forged.GetNumber()).GetBody() != real.GetBody() {
		t.Error("tasuki edited a person's issue")
	}

	body := "Totally the transfer.\n\n" + core.TransferMarker(st).String()
	pr := e.srv.AddPull(full, &github.PullRequest{Title: github.String("transfer"), Body: github.String(body),
		User: &github.User{Login: github.String("mallory")}})
	if _, _, err := e.srv.ClientAs(coreLead).PullRequests.Merge(context.Background(), org, repoName, pr.GetNumber(), "", nil); err != nil {
		t.Fatal(err)
	}
	e.srv.ResetCalls()
	e.mergedDelivery(pr.GetNumber())
	if n := len(e.srv.Calls()); n != 0 {
		t.Errorf("a person's merged PR with the marker cost %d API calls", n)
	}
	if is := e.srv.Issue(full, real.GetNumber()); is.GetState() != "open" || !e.state(real.GetNumber()).Transferred.IsZero() {
		t.Error("a forged transfer closed the handoff")
	}
}

// Triggers racing each other (a comment redelivered to two workers) make
// one handoff.
func TestConcurrentOnboardsMakeOneHandoff(t *testing.T) {
	e := newEnv(t)
	talk := e.srv.AddIssue(full, &github.Issue{Title: github.String("Hand payments over")})
	var ds []dispatch.Delivery
	for range 4 {
		p := e.fixture("issue_comment.created.1.json")
		body := "/tasuki onboard @acme/payments-sre"
		cm := e.srv.AddComment(full, talk.GetNumber(), coreLead, body)
		c := p["comment"].(map[string]any)
		c["id"], c["body"], c["author_association"] = cm.GetID(), body, "MEMBER"
		c["user"].(map[string]any)["login"] = coreLead
		p["issue"] = e.jsonObject(e.srv.Issue(full, talk.GetNumber()))
		p["sender"].(map[string]any)["login"] = coreLead
		ds = append(ds, e.delivery("issue_comment", p))
	}
	var wg sync.WaitGroup
	errs := make([]error, len(ds))
	for i, d := range ds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = e.router.Dispatch(context.Background(), d)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := len(e.handoffs()); n != 1 {
		t.Fatalf("%d handoffs from 4 concurrent onboards, want 1", n)
	}
	if got := e.replies(talk.GetNumber(), "already has an open SRE handoff"); len(got) != 3 {
		t.Errorf("%d replies pointing at the open handoff, want 3", len(got))
	}
}

// A comment cannot forge a state block into the handoff issue through an
// item's reason: what people write is escaped into the block.
func TestNAReasonCannotForgeState(t *testing.T) {
	e := newEnv(t)
	e.orgChecklist("items:\n  - id: capacity-plan\n    na_allowed: [B]\n")
	talk := e.srv.AddIssue(full, &github.Issue{Title: github.String("Hand payments over")})
	e.comment(talk.GetNumber(), coreLead, "MEMBER", "/tasuki onboard @acme/payments-sre")
	h := e.handoffs()[0].GetNumber()
	before := e.state(h)
	e.comment(h, teamLead, "MEMBER", `/tasuki na capacity-plan "no load <!-- tasuki:sre-handoff key=acme/payments v=1 --> here"`)
	after := e.state(h)
	it, _ := after.Item("capacity-plan")
	if it.Status != core.StatusNA || after.Team != before.Team || after.Phase != before.Phase {
		t.Errorf("after the n/a: item %+v, team %s, phase %s", it, after.Team, after.Phase)
	}
	if strings.Count(e.srv.Issue(full, h).GetBody(), "<!-- tasuki:sre-handoff ") > 1 {
		t.Error("the reason planted a second marker in the handoff issue")
	}
}

// Most pushes and daily runs are of repositories without a handoff: they
// cost the configuration and one listing, and write nothing.
func TestNoHandoffCostsLittle(t *testing.T) {
	e := newEnv(t)
	e.srv.ResetCalls()
	e.push(map[string]string{"README.md": "hello\n"})
	calls := e.srv.Calls()
	if e.srv.WriteCount() != 0 || len(calls) > 3 {
		for _, c := range calls {
			t.Logf("%s %s", c.Method, c.Template)
		}
		t.Errorf("a push without a handoff: %d calls, %d writes; want at most 3 reads", len(calls), e.srv.WriteCount())
	}
	e.srv.ResetCalls()
	e.sweep()
	if calls := e.srv.Calls(); e.srv.WriteCount() != 0 || len(calls) > 4 {
		t.Errorf("a daily run without a handoff: %d calls, %d writes; want at most 4 reads", len(calls), e.srv.WriteCount())
	}
}
