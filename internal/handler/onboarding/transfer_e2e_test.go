package onboarding_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/githubtest"
	core "github.com/tasuki-sre/tasuki/internal/onboarding"
)

// pushAs is push with login as the pusher (the payload's sender).
func (e *env) pushAs(login string, files map[string]string) {
	e.t.Helper()
	before, _ := e.srv.Ref(full, "heads/main")
	var added []any
	for path, content := range files {
		e.srv.PutFile(full, "main", path, []byte(content))
		added = append(added, path)
	}
	after, _ := e.srv.Ref(full, "heads/main")
	p := e.fixture("push.5.json")
	p["ref"], p["before"], p["after"] = "refs/heads/main", before, after
	cm := p["commits"].([]any)[0].(map[string]any)
	cm["id"], cm["added"], cm["modified"], cm["removed"] = after, []any{}, added, []any{}
	p["head_commit"] = cm
	p["sender"].(map[string]any)["login"] = login
	e.dispatch(e.delivery("push", p))
}

// Ticks tasuki refuses change nothing: an automatic item, n/a where the
// tier does not allow it, n/a without a reason, an item that does not
// exist; each gets one reply saying why.
func TestRefusedTicks(t *testing.T) {
	e := newEnv(t)
	talk := e.srv.AddIssue(full, &github.Issue{Title: github.String("Hand payments over")})
	e.comment(talk.GetNumber(), coreLead, "MEMBER", "/tasuki onboard @acme/payments-sre --tier B")
	h := e.handoffs()[0].GetNumber()
	cases := []struct {
		tick, item, reply string
	}{
		{"/tasuki done runbooks https://docs.acme.example/runbooks", "runbooks", "cannot be ticked by hand"},
		{"/tasuki na capacity-plan we never scale", "capacity-plan", "cannot be marked not applicable in a tier B handoff"},
		{"/tasuki done no-such-item https://docs.acme.example/x", "", "There is no item"},
		{"/tasuki done capacity-plan http://docs.acme.example/plan", "capacity-plan", "must be an https link"},
	}
	for _, tc := range cases {
		t.Run(tc.item+" "+tc.reply, func(t *testing.T) {
			body := e.srv.Issue(full, h).GetBody()
			e.comment(h, teamLead, "MEMBER", tc.tick)
			if got := e.replies(h, tc.reply); len(got) != 1 {
				t.Errorf("%q: replies %q, want one saying %q", tc.tick, got, tc.reply)
			}
			if tc.item != "" {
				if it := e.item(h, tc.item); it.By != "" || it.Status == core.StatusPassed || it.Status == core.StatusNA {
					t.Errorf("%q recorded: %+v", tc.tick, it)
				}
			}
			if e.srv.Issue(full, h).GetBody() != body {
				t.Errorf("%q changed the handoff issue", tc.tick)
			}
		})
	}
}

// When the team's people moved CODEOWNERS and the catalog themselves
// before the transfer, no pull request is proposed: the transfer items
// pass on the repository and the handoff closes, the summary naming who
// pushed the change.
func TestTransferAlreadyMovedByPush(t *testing.T) {
	e := newEnv(t)
	talk := e.srv.AddIssue(full, &github.Issue{Title: github.String("Hand payments over")})
	e.comment(talk.GetNumber(), coreLead, "MEMBER", "/tasuki onboard @acme/payments-sre")
	h := e.handoffs()[0].GetNumber()
	e.srv.SetBranchProtection(full, "main", githubtest.BranchProtection{RequiredChecks: []string{"tasuki/plan-review"}, RequiredReviews: 1, CodeOwnerReview: true})
	e.srv.AddWorkflowRun(full, githubtest.WorkflowRun{Name: "restore-test", CreatedAt: e.clock.Now().Add(-24 * time.Hour)})
	e.push(prepared)
	for _, tick := range []string{"capacity-plan", "access-review", "shadowing", "postmortem-or-drill"} {
		e.comment(h, teamLead, "MEMBER", "/tasuki done "+tick+" https://docs.acme.example/"+tick)
	}
	e.pushAs(teamLead, map[string]string{
		".github/CODEOWNERS": "# owners\n* @acme/payments-sre\n/docs/ @acme/docs-team\n",
		"catalog-info.yaml":  strings.Replace(catalogInfo, "group:default/core-sre", "group:default/payments-sre", 1),
	})
	if st := e.state(h); !st.Transferred.IsZero() || e.srv.Issue(full, h).GetState() != "open" {
		t.Fatalf("closed before the phases before the transfer were done: %+v", st)
	}
	e.comment(h, coreLead, "MEMBER", "/tasuki done reverse-shadowing https://docs.acme.example/reverse")
	// The last tick verifies; the push that moved the files was an
	// earlier verification, so who moved them is not known here.
	is := e.srv.Issue(full, h)
	st := e.state(h)
	if is.GetState() != "closed" || !st.AlreadyMoved || st.TransferPR != 0 || st.Phase != core.PhaseGuard {
		for _, it := range st.Items {
			t.Logf("%s: %s %s", it.ID, it.Status, it.Reason)
		}
		t.Fatalf("issue %s, moved %v, PR %d, phase %s", is.GetState(), st.AlreadyMoved, st.TransferPR, st.Phase)
	}
	if n := len(e.srv.Pulls(full)); n != 0 {
		t.Errorf("%d pull requests proposed, want none", n)
	}
	if got := e.replies(h, "ownership was already moved: "); len(got) != 1 || !strings.Contains(got[0], "no transfer pull request was needed") {
		t.Errorf("summary: %q", got)
	}
}

// When the push that moves the files is the one that finds every item
// passing, the summary names its pusher.
func TestTransferAlreadyMovedNamesPusher(t *testing.T) {
	e := newEnv(t)
	talk := e.srv.AddIssue(full, &github.Issue{Title: github.String("Hand payments over")})
	e.comment(talk.GetNumber(), coreLead, "MEMBER", "/tasuki onboard @acme/payments-sre")
	h := e.handoffs()[0].GetNumber()
	e.srv.SetBranchProtection(full, "main", githubtest.BranchProtection{RequiredChecks: []string{"tasuki/plan-review"}, RequiredReviews: 1, CodeOwnerReview: true})
	e.srv.AddWorkflowRun(full, githubtest.WorkflowRun{Name: "restore-test", CreatedAt: e.clock.Now().Add(-24 * time.Hour)})
	// Every file at once, with CODEOWNERS and the catalog moved: the
	// automatic items pass on this push, and no transfer is proposed
	// while the manual ones wait.
	files := map[string]string{
		".github/CODEOWNERS": "# owners\n* @acme/payments-sre\n/docs/ @acme/docs-team\n",
		"catalog-info.yaml":  strings.Replace(catalogInfo, "group:default/core-sre", "group:default/payments-sre", 1),
	}
	for _, tick := range []string{"capacity-plan", "access-review", "shadowing", "postmortem-or-drill", "reverse-shadowing"} {
		e.comment(h, teamLead, "MEMBER", "/tasuki done "+tick+" https://docs.acme.example/"+tick)
	}
	for p, c := range prepared {
		files[p] = c
	}
	e.pushAs("sam", files)
	st := e.state(h)
	if e.srv.Issue(full, h).GetState() != "closed" || !st.AlreadyMoved || st.MovedBy != "sam" {
		t.Fatalf("after the push: issue %s, moved %v by %q", e.srv.Issue(full, h).GetState(), st.AlreadyMoved, st.MovedBy)
	}
	if got := e.replies(h, "ownership was already moved by @"); len(got) != 1 || !strings.Contains(got[0], "sam") {
		t.Errorf("summary: %q", got)
	}
}

// A transfer pull request merged while tasuki was not told (the Action's
// workflow runs on a schedule only) is recorded on the next verification:
// the handoff closes with its approvers.
func TestTransferMergedUnseen(t *testing.T) {
	e := newEnv(t)
	h, pr := e.toTransfer()
	e.srv.AddReview(full, pr, coreLead, "APPROVED", "")
	if _, _, err := e.srv.ClientAs(coreLead).PullRequests.Merge(context.Background(), org, repoName, pr, "", nil); err != nil {
		t.Fatal(err)
	}
	e.sweep()
	st := e.state(h)
	if e.srv.Issue(full, h).GetState() != "closed" || st.Transferred.IsZero() || strings.Join(st.SignedOff, ",") != coreLead {
		t.Fatalf("after the daily run: issue %s, transferred %v, signed off %v", e.srv.Issue(full, h).GetState(), st.Transferred, st.SignedOff)
	}
}

// A transfer pull request closed without merging is proposed again on the
// next verification, with its reviews requested again.
func TestTransferClosedUnmergedIsProposedAgain(t *testing.T) {
	e := newEnv(t)
	h, pr := e.toTransfer()
	state := "closed"
	if _, _, err := e.srv.ClientAs(coreLead).PullRequests.Edit(context.Background(), org, repoName, pr, &github.PullRequest{State: &state}); err != nil {
		t.Fatal(err)
	}
	e.sweep()
	st := e.state(h)
	if st.TransferPR == 0 || st.TransferPR == pr {
		t.Fatalf("transfer PR after the close: %d (was %d)", st.TransferPR, pr)
	}
	again := e.srv.Pull(full, st.TransferPR)
	if again.GetState() != "open" || len(again.RequestedReviewers) != 2 {
		t.Errorf("new transfer PR #%d: %s, %d reviewers requested", again.GetNumber(), again.GetState(), len(again.RequestedReviewers))
	}
	e.sweep()
	if n := len(e.srv.Pulls(full)); n != 2 {
		t.Errorf("%d pull requests after another day, want the closed one and the new one", n)
	}
}

// The guard reports an attestation that expired after the handover in the
// one guard issue.
func TestGuardExpiredAttestation(t *testing.T) {
	e := newEnv(t)
	e.handOver()
	e.clock.Add(181 * 24 * time.Hour) // capacity-plan and access-review expire after 180 days
	e.sweep()
	gs := e.labelled("sre-handoff-guard")
	if len(gs) != 1 || !strings.Contains(gs[0].GetBody(), `capacity\-plan`) || !strings.Contains(gs[0].GetBody(), "expired") {
		var body string
		if len(gs) > 0 {
			body = gs[0].GetBody()
		}
		t.Fatalf("%d guard issues after the attestations expired:\n%s", len(gs), body)
	}
}
