package onboarding_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/githubtest"
	"github.com/tasuki-sre/tasuki/internal/mdtext"
	core "github.com/tasuki-sre/tasuki/internal/onboarding"
)

// The repository's files that make the observe phase's automatic items
// pass.
var prepared = map[string]string{
	"slo/payments-slo.yaml": "apiVersion: openslo/v1\nkind: SLO\nmetadata:\n  name: payments-availability\nspec:\n  service: payments\n",
	"docs/error-budget.md":  "# Error budget policy\n\nReleases freeze when the budget is spent.\n",
	"deploy/alerts/payments-rules.yaml": "groups:\n  - name: payments\n    rules:\n      - alert: HighErrorRate\n        expr: rate(errors_total[5m]) > 1\n" +
		"        annotations:\n          runbook_url: /runbooks/high-error-rate.md\n",
	"runbooks/high-error-rate.md":  "# High error rate\n\n1. Look at the dashboard.\n",
	".github/tasuki/postmortem.md": "# Postmortem: {{ .Title }}\n",
	"infra/main.tf":                "resource \"terraform_data\" \"x\" {}\n",
}

// A repository goes from /tasuki onboard through every phase to a merged
// transfer pull request, through the App's dispatch with real payloads.
func TestHandoffFromOnboardToTransfer(t *testing.T) {
	e := newEnv(t)
	talk := e.srv.AddIssue(full, &github.Issue{Title: github.String("Hand payments over"), User: &github.User{Login: github.String(coreLead)}})
	n := talk.GetNumber()

	// Someone outside the team that owns the repository today (CODEOWNERS
	// names @acme/core-sre; no core_sre_team is configured) is told who may.
	e.comment(n, "mallory", "CONTRIBUTOR", "/tasuki onboard @acme/payments-sre")
	if got := e.replies(n, "@acme/core-sre"); len(got) != 1 || !strings.Contains(got[0], "Only members of") {
		t.Fatalf("reply to an outsider = %q; want one saying only members of @acme/core-sre may", got)
	}
	if hs := e.handoffs(); len(hs) != 0 {
		t.Fatalf("an outsider opened %d handoffs", len(hs))
	}

	// A core SRE starts it; asking again points at the open one.
	e.comment(n, coreLead, "MEMBER", "Let's go.\n/tasuki onboard @acme/payments-sre --tier B")
	e.comment(n, coreLead, "MEMBER", "/tasuki onboard @acme/payments-sre")
	hs := e.handoffs()
	if len(hs) != 1 {
		t.Fatalf("%d handoff issues, want 1", len(hs))
	}
	h := hs[0].GetNumber()
	if got := e.replies(n, "already has an open SRE handoff: #"); len(got) != 1 {
		t.Errorf("second onboard: replies %q, want one pointing at the open handoff", got)
	}
	st := e.state(h)
	// Verified at once: the kickoff's items pass from the catalog entry
	// (owner, lifecycle, system, an on-call annotation) and the team, so
	// the handoff is already observing; the observe phase's items do not
	// pass yet.
	if st.Team != "acme/payments-sre" || st.CoreTeam != "acme/core-sre" || st.Tier != "B" || st.Phase != core.PhaseObserve {
		t.Fatalf("state = team %s core %s tier %s phase %s", st.Team, st.CoreTeam, st.Tier, st.Phase)
	}
	if is := e.srv.Issue(full, h); !hasLabel(is, "handoff:observe") || hasLabel(is, "handoff:kickoff") {
		t.Errorf("labels %v, want handoff:observe only", is.Labels)
	}
	for id, want := range map[string]core.Status{"catalog-entry": core.StatusPassed, "team-access": core.StatusPassed,
		"oncall-linked": core.StatusPassed, "runbooks": core.StatusFailed, "branch-protection": core.StatusFailed} {
		if got := e.item(h, id); got.Status != want {
			t.Errorf("%s = %s (%s), want %s", id, got.Status, got.Reason, want)
		}
	}

	// A tick without evidence is refused; nothing is recorded.
	e.comment(h, teamLead, "MEMBER", "/tasuki done capacity-plan")
	if got := e.replies(h, "needs evidence"); len(got) != 1 {
		t.Errorf("tick without evidence: replies %q, want one asking for evidence", got)
	}
	if it := e.item(h, "capacity-plan"); it.By != "" {
		t.Errorf("refused tick recorded: %+v", it)
	}
	// Someone outside both teams cannot tick.
	e.comment(h, "mallory", "CONTRIBUTOR", "/tasuki done capacity-plan https://example.com/plan")
	if got := e.replies(h, "may tick items"); len(got) != 1 {
		t.Errorf("outsider's tick: replies %q", got)
	}
	if it := e.item(h, "capacity-plan"); it.Status == core.StatusPassed {
		t.Errorf("outsider's tick recorded: %+v", it)
	}

	// Files appear on the default branch: the items flip on the push.
	e.push(prepared)
	for _, id := range []string{"slo-as-code", "error-budget-policy", "alerts-runbooks", "runbooks", "postmortem-template"} {
		if got := e.item(h, id); got.Status != core.StatusPassed {
			t.Errorf("after the push %s = %s (%s), want passed", id, got.Status, got.Reason)
		}
	}
	if got := e.item(h, "terraform-plan-review"); got.Status != core.StatusFailed {
		t.Errorf("terraform-plan-review = %s (%s), want failed until the check is required", got.Status, got.Reason)
	}

	// The rest of what tasuki verifies, then the people's ticks.
	e.srv.SetBranchProtection(full, "main", githubtest.BranchProtection{RequiredChecks: []string{"tasuki/plan-review"}, RequiredReviews: 1, CodeOwnerReview: true})
	e.srv.AddWorkflowRun(full, githubtest.WorkflowRun{Name: "restore-test", CreatedAt: e.clock.Now().Add(-24 * time.Hour)})
	for _, tick := range []string{
		"/tasuki done capacity-plan https://docs.acme.example/payments/capacity",
		"/tasuki done access-review https://docs.acme.example/payments/access",
	} {
		e.comment(h, teamLead, "MEMBER", tick)
	}
	e.push(map[string]string{"README.md": "payments\n"})
	st = e.state(h)
	if st.Phase != core.PhaseShadow {
		for _, it := range st.Items {
			t.Logf("%s: %s %s", it.ID, it.Status, it.Reason)
		}
		t.Fatalf("phase %s after kickoff and observe are done, want shadow", st.Phase)
	}
	if is := e.srv.Issue(full, h); !hasLabel(is, "handoff:shadow") || hasLabel(is, "handoff:kickoff") {
		t.Errorf("labels %v, want handoff:shadow only", is.Labels)
	}
	for _, tick := range []string{
		"/tasuki done shadowing https://acme.pagerduty.com/incidents/Q1",
		"/tasuki done postmortem-or-drill https://github.com/acme/payments/issues/40",
	} {
		e.comment(h, teamLead, "MEMBER", tick)
	}
	if got := e.state(h).Phase; got != core.PhaseReverseShadow {
		t.Fatalf("phase %s, want reverse-shadow", got)
	}
	// The last tick before the transfer proposes the transfer pull request.
	e.comment(h, coreLead, "MEMBER", "/tasuki done reverse-shadowing https://acme.pagerduty.com/incidents/Q7")
	st = e.state(h)
	if st.Phase != core.PhaseTransfer || st.TransferPR == 0 {
		t.Fatalf("phase %s, transfer PR %d; want transfer with a pull request", st.Phase, st.TransferPR)
	}
	pr := e.srv.Pull(full, st.TransferPR)
	if pr.GetUser().GetLogin() != "tasuki[bot]" || pr.GetState() != "open" {
		t.Fatalf("transfer PR #%d by %s, %s", pr.GetNumber(), pr.GetUser().GetLogin(), pr.GetState())
	}
	head := pr.GetHead().GetRef()
	co, _ := e.srv.File(full, head, ".github/CODEOWNERS")
	if want := "# owners\n* @acme/payments-sre\n/docs/ @acme/docs-team\n"; string(co) != want {
		t.Errorf("proposed CODEOWNERS:\n%s\nwant:\n%s", co, want)
	}
	cat, _ := e.srv.File(full, head, "catalog-info.yaml")
	if want := strings.Replace(catalogInfo, "group:default/core-sre", "group:default/payments-sre", 1); string(cat) != want {
		t.Errorf("proposed catalog-info.yaml:\n%s", cat)
	}
	// Both leads are asked for their review, and the body names them and
	// says why the outgoing side must approve.
	var asked []string
	for _, u := range e.srv.Pull(full, pr.GetNumber()).RequestedReviewers {
		asked = append(asked, u.GetLogin())
	}
	if strings.Join(asked, ",") != coreLead+","+teamLead {
		t.Errorf("review requested from %v, want %s and %s", asked, coreLead, teamLead)
	}
	for _, want := range []string{"`@" + coreLead + "` (lead of `@acme/core-sre`)", "`@" + teamLead + "` (lead of `@acme/payments-sre`)", "GitHub reads CODEOWNERS from the base branch"} {
		if !strings.Contains(pr.GetBody(), want) {
			t.Errorf("transfer PR body lacks %q:\n%s", want, pr.GetBody())
		}
	}
	if got := e.replies(pr.GetNumber(), "review"); len(got) != 0 {
		t.Errorf("comments asking for reviews besides the requests: %q", got)
	}
	// GitHub finds no errors in the proposed CODEOWNERS: nothing said.
	if got := e.replies(pr.GetNumber(), "CODEOWNERS of this branch"); len(got) != 0 {
		t.Errorf("CODEOWNERS check comment on a valid file: %q", got)
	}
	// Until the merge the transfer items wait.
	if it := e.item(h, "codeowners-moved"); it.Status != core.StatusPending {
		t.Errorf("codeowners-moved before the merge = %s (%s)", it.Status, it.Reason)
	}

	// Both leads approve; the merge closes the handoff.
	e.srv.AddReview(full, pr.GetNumber(), coreLead, "APPROVED", "")
	e.srv.AddReview(full, pr.GetNumber(), teamLead, "APPROVED", "")
	if _, _, err := e.srv.ClientAs(coreLead).PullRequests.Merge(context.Background(), org, repoName, pr.GetNumber(), "", nil); err != nil {
		t.Fatal(err)
	}
	e.mergedDelivery(pr.GetNumber())
	is := e.srv.Issue(full, h)
	st = e.state(h)
	if is.GetState() != "closed" || st.Transferred.IsZero() || st.Phase != core.PhaseGuard {
		for _, it := range st.Items {
			t.Logf("%s: %s %s", it.ID, it.Status, it.Reason)
		}
		t.Fatalf("after the merge: issue %s, transferred %v, phase %s", is.GetState(), st.Transferred, st.Phase)
	}
	if strings.Join(st.SignedOff, ",") != "core-carol,pat" {
		t.Errorf("signed off by %v", st.SignedOff)
	}
	if got := e.replies(h, "SRE handoff of `acme/payments` to `@acme/payments-sre` complete"); len(got) != 1 {
		t.Errorf("summary comments: %d", len(got))
	}
	// A redelivered merge does nothing more.
	writes := e.srv.WriteCount()
	e.mergedDelivery(pr.GetNumber())
	if w := e.srv.WriteCount(); w != writes {
		t.Errorf("redelivered merge wrote %d times", w-writes)
	}
}

// mergedDelivery delivers pull_request.closed of the merged PR number.
func (e *env) mergedDelivery(number int) {
	e.t.Helper()
	p := e.fixture("pull_request.closed.1.json")
	p["pull_request"] = e.jsonObject(e.srv.Pull(full, number))
	p["number"] = number
	p["sender"].(map[string]any)["login"] = coreLead
	e.dispatch(e.delivery("pull_request", p))
}

// toTransfer runs a handoff of acme/payments to @acme/payments-sre until
// tasuki proposes the transfer pull request, and returns the handoff
// issue's number and the pull request's.
func (e *env) toTransfer() (int, int) {
	e.t.Helper()
	talk := e.srv.AddIssue(full, &github.Issue{Title: github.String("Hand payments over"), User: &github.User{Login: github.String(coreLead)}})
	e.comment(talk.GetNumber(), coreLead, "MEMBER", "/tasuki onboard @acme/payments-sre")
	hs := e.handoffs()
	if len(hs) != 1 {
		e.t.Fatalf("%d handoffs", len(hs))
	}
	h := hs[0].GetNumber()
	e.srv.SetBranchProtection(full, "main", githubtest.BranchProtection{RequiredChecks: []string{"tasuki/plan-review"}, RequiredReviews: 1, CodeOwnerReview: true})
	e.srv.AddWorkflowRun(full, githubtest.WorkflowRun{Name: "restore-test", CreatedAt: e.clock.Now().Add(-24 * time.Hour)})
	e.push(prepared)
	for _, tick := range []string{"capacity-plan", "access-review", "shadowing", "postmortem-or-drill", "reverse-shadowing"} {
		e.comment(h, teamLead, "MEMBER", "/tasuki done "+tick+" https://docs.acme.example/"+tick)
	}
	st := e.state(h)
	if st.TransferPR == 0 {
		for _, it := range st.Items {
			e.t.Logf("%s: %s %s", it.ID, it.Status, it.Reason)
		}
		e.t.Fatalf("no transfer pull request; phase %s", st.Phase)
	}
	return h, st.TransferPR
}

// handOver runs a handoff of acme/payments to @acme/payments-sre to its
// merged transfer pull request and returns the handoff issue's number.
func (e *env) handOver() int {
	e.t.Helper()
	h, pr := e.toTransfer()
	e.srv.AddReview(full, pr, coreLead, "APPROVED", "")
	if _, _, err := e.srv.ClientAs(coreLead).PullRequests.Merge(context.Background(), org, repoName, pr, "", nil); err != nil {
		e.t.Fatal(err)
	}
	e.mergedDelivery(pr)
	if is := e.srv.Issue(full, h); is.GetState() != "closed" {
		e.t.Fatalf("handoff #%d still %s after the merge", h, is.GetState())
	}
	return h
}

// What GitHub cannot use in the CODEOWNERS the transfer proposes (asked on
// the pull request's head) is said on the pull request, once, checked
// again on every verification, and taken back when fixed. Once the pull
// request is open tasuki does not rewrite its branch: a person's fix of
// CODEOWNERS there stays as they wrote it.
func TestTransferPullRequestCODEOWNERSCheck(t *testing.T) {
	e := newEnv(t)
	e.srv.SetTeamRepoPermission(org, "docs-team", full, "pull") // may not own /docs/
	_, pr := e.toTransfer()
	got := e.replies(pr, "CODEOWNERS of this branch")
	if len(got) != 1 || !strings.Contains(got[0], "docs-team") {
		t.Fatalf("CODEOWNERS check on the PR: %q", got)
	}
	head := e.srv.Pull(full, pr).GetHead().GetRef()
	checks := func() int {
		n := 0
		for _, c := range e.srv.Calls() {
			if c.Template == "/repos/{owner}/{repo}/codeowners/errors" && c.Query.Get("ref") == head {
				n++
			}
		}
		return n
	}
	branchWrites := func() int {
		return e.srv.CallCount("PATCH", "/repos/{owner}/{repo}/git/refs/{ref}") + e.srv.CallCount("POST", "/repos/{owner}/{repo}/git/commits")
	}

	e.srv.ResetCalls()
	e.push(map[string]string{"README.md": "again\n"})
	if n := checks(); n != 1 {
		t.Errorf("%d checks of the head's CODEOWNERS on a verification, want 1", n)
	}
	if got := e.replies(pr, "CODEOWNERS of this branch"); len(got) != 1 || !strings.Contains(got[0], "docs-team") {
		t.Errorf("after another verification: %q, want the one comment still listing docs-team", got)
	}

	// A person fixes the branch by hand; the next push and daily run keep
	// the fix and see it fixed.
	fixed := "# owners\n* @acme/payments-sre\n/docs/ @acme/payments-sre\n"
	e.srv.PutFile(full, head, ".github/CODEOWNERS", []byte(fixed))
	e.srv.ResetCalls()
	e.push(map[string]string{"README.md": "fixed\n"})
	e.sweep()
	if n := branchWrites(); n != 0 {
		t.Errorf("tasuki wrote to the transfer branch %d times after it was opened", n)
	}
	if co, _ := e.srv.File(full, head, ".github/CODEOWNERS"); string(co) != fixed {
		t.Errorf("the person's CODEOWNERS on the branch became:\n%s", co)
	}
	got = e.replies(pr, "CODEOWNERS of this branch")
	if len(got) != 1 || !strings.Contains(got[0], "without errors") {
		t.Errorf("after the fix: %q", got)
	}
	if n := len(e.srv.Pulls(full)); n != 1 {
		t.Errorf("%d pull requests, want the one transfer", n)
	}
}

// sweep runs the daily job on the repository, a day later.
func (e *env) sweep() {
	e.t.Helper()
	e.clock.Add(24 * time.Hour)
	if err := e.h.Sweep(context.Background(), org, repoName); err != nil {
		e.t.Fatalf("sweep: %v", err)
	}
}

// After the handover the daily guard opens one issue when the team loses
// its access, updates that issue (never a second one) on later days, and
// closes it when the access is back.
func TestGuardOpensOneIssueAndUpdatesIt(t *testing.T) {
	e := newEnv(t)
	e.handOver()
	e.sweep()
	if got := e.labelled("sre-handoff-guard"); len(got) != 0 {
		t.Fatalf("guard issue on a healthy repository: %d", len(got))
	}

	e.srv.SetTeamRepoPermission(org, "payments-sre", full, "")
	e.sweep()
	gs := e.labelled("sre-handoff-guard")
	if len(gs) != 1 || gs[0].GetState() != "open" {
		t.Fatalf("guard issues after the team lost access: %d", len(gs))
	}
	g := gs[0]
	if !strings.Contains(g.GetBody(), "payments-sre") {
		t.Errorf("guard issue does not name the team:\n%s", g.GetBody())
	}

	// Another problem the next day: the same issue says both.
	drifted := strings.Replace(catalogInfo, "group:default/core-sre", "group:default/platform", 1)
	e.push(map[string]string{"catalog-info.yaml": drifted})
	e.sweep()
	e.sweep()
	gs = e.labelled("sre-handoff-guard")
	if len(gs) != 1 {
		t.Fatalf("%d guard issues after three daily runs, want 1", len(gs))
	}
	if body := gs[0].GetBody(); body == g.GetBody() || !strings.Contains(body, "platform") {
		t.Errorf("guard issue not updated with the catalog owner:\n%s", body)
	}

	e.srv.SetTeamRepoPermission(org, "payments-sre", full, "push")
	e.push(map[string]string{"catalog-info.yaml": strings.Replace(catalogInfo, "group:default/core-sre", "group:default/payments-sre", 1)})
	e.sweep()
	if gs := e.labelled("sre-handoff-guard"); len(gs) != 1 || gs[0].GetState() != "closed" {
		t.Errorf("guard issue after the fix: %d, state %s; want the one issue closed:\n%s", len(gs), gs[0].GetState(), gs[0].GetBody())
	}
}

// A handed-over service with more sev1/sev2 incidents in 28 days than the
// threshold gets one reliability review issue, addressed to both leads.
func TestHandBackReview(t *testing.T) {
	e := newEnv(t)
	e.handOver()
	incident := func(title string, labels ...string) {
		var ls []*github.Label
		for _, l := range labels {
			ls = append(ls, &github.Label{Name: github.String(l)})
		}
		e.srv.AddIssue(full, &github.Issue{Title: github.String(title), Labels: ls, User: &github.User{Login: github.String(teamLead)}})
	}
	incident("db failover", "incident", "sev1")
	incident("card declines", "incident", "sev2")
	incident("slow admin page", "incident", "sev3") // not counted
	e.sweep()
	if got := e.reviews(); len(got) != 0 {
		t.Fatalf("review opened at the threshold: %d issues", len(got))
	}
	incident("queue stuck", "incident", "sev2")
	e.sweep()
	e.sweep()
	got := e.reviews()
	if len(got) != 1 {
		t.Fatalf("%d reliability reviews after the third counted incident and two runs, want 1", len(got))
	}
	if b := got[0].GetBody(); !strings.Contains(b, "@"+teamLead) || !strings.Contains(b, "@"+coreLead) || !strings.Contains(b, "#7") {
		t.Errorf("review does not address both leads or list the incidents:\n%s", b)
	}
}

// reviews returns tasuki's issues that are neither handoffs, guard issues
// nor incidents: the reliability reviews.
func (e *env) reviews() []*github.Issue {
	var out []*github.Issue
	for _, is := range e.srv.Issues(full) {
		if is.IsPullRequest() || is.GetUser().GetLogin() != "tasuki[bot]" || hasLabel(is, "sre-handoff") || hasLabel(is, "sre-handoff-guard") {
			continue
		}
		out = append(out, is)
	}
	return out
}

// An attestation lapses at its expiry: the daily run reopens the item,
// and a phase past its due date gets one reminder, however many days run.
func TestExpiryAndReminder(t *testing.T) {
	e := newEnv(t)
	talk := e.srv.AddIssue(full, &github.Issue{Title: github.String("Hand payments over")})
	e.comment(talk.GetNumber(), coreLead, "MEMBER", "/tasuki onboard @acme/payments-sre")
	h := e.handoffs()[0].GetNumber()
	e.comment(h, teamLead, "MEMBER", "/tasuki done capacity-plan https://docs.acme.example/capacity")
	if it := e.item(h, "capacity-plan"); it.Status != core.StatusPassed || it.Expires.IsZero() {
		t.Fatalf("capacity-plan after the tick = %+v", it)
	}
	e.sweep()
	if it := e.item(h, "capacity-plan"); it.Status != core.StatusPassed {
		t.Fatalf("capacity-plan a day later = %s (%s)", it.Status, it.Reason)
	}
	e.clock.Add(180 * 24 * time.Hour)
	e.sweep()
	it := e.item(h, "capacity-plan")
	if it.Status != core.StatusPending || !strings.Contains(it.Reason, "expired") {
		t.Errorf("capacity-plan after 181 days = %s (%s), want pending, expired", it.Status, it.Reason)
	}
	e.sweep()
	if got := e.replies(h, "was due on"); len(got) != 1 {
		t.Errorf("%d reminders for the overdue observe phase after two runs, want 1", len(got))
	}
}

// Adding an ownership.handoff block to .github/tasuki.yml starts a handoff,
// once; a repository created in an organisation asking for it starts one.
func TestConfigTriggers(t *testing.T) {
	t.Run("handoff block", func(t *testing.T) {
		e := newEnv(t)
		e.srv.AddRepo(org+"/.github", "main")
		e.srv.PutFile(org+"/.github", "main", ".github/tasuki.yml", []byte("ownership:\n  core_sre_team: core-sre\n"))
		e.push(map[string]string{"README.md": "payments\n"})
		if n := len(e.handoffs()); n != 0 {
			t.Fatalf("%d handoffs without the block", n)
		}
		cfg := "ownership:\n  handoff:\n    team: acme/payments-sre\n    tier: A\n"
		e.pushBy("dana", map[string]string{".github/tasuki.yml": cfg})
		e.push(map[string]string{"README.md": "payments!\n"})
		e.push(map[string]string{".github/tasuki.yml": cfg + "# again\n"})
		hs := e.handoffs()
		if len(hs) != 1 {
			t.Fatalf("%d handoffs, want 1", len(hs))
		}
		st := e.state(hs[0].GetNumber())
		if st.Tier != "A" || st.StartedBy != "dana" || st.Team != "acme/payments-sre" || st.CoreTeam != "acme/core-sre" {
			t.Errorf("state: tier %s by %s team %s core %s", st.Tier, st.StartedBy, st.Team, st.CoreTeam)
		}
		if body := e.srv.Issue(full, hs[0].GetNumber()).GetBody(); !strings.Contains(body, "by "+mdtext.Text("@dana")) {
			t.Errorf("the issue does not say who pushed the block:\n%s", body)
		}
	})
	// Anyone with write access can push the block, and in the same push
	// name their own team as the core SRE team, in the repository's
	// configuration or its CODEOWNERS: the handoff's core team, whose
	// members may tick its items, comes from the organisation's
	// configuration alone, and without one no handoff starts.
	t.Run("handoff block: the pusher cannot pick the core team", func(t *testing.T) {
		for _, withOrg := range []bool{true, false} {
			e := newEnv(t)
			if withOrg {
				e.srv.AddRepo(org+"/.github", "main")
				e.srv.PutFile(org+"/.github", "main", ".github/tasuki.yml", []byte("ownership:\n  core_sre_team: core-sre\n"))
			}
			e.srv.AddTeam(org, "mallory-friends", "mallory")
			e.srv.SetPermission(full, "mallory", "write")
			e.pushBy("mallory", map[string]string{
				".github/tasuki.yml": "ownership:\n  core_sre_team: mallory-friends\n  handoff:\n    team: acme/payments-sre\n",
				".github/CODEOWNERS": "* @acme/mallory-friends\n",
			})
			hs := e.handoffs()
			if !withOrg {
				if len(hs) != 0 {
					t.Errorf("without the organisation's core SRE team: %d handoffs, want none", len(hs))
				}
				continue
			}
			if len(hs) != 1 {
				t.Fatalf("%d handoffs, want 1", len(hs))
			}
			st := e.state(hs[0].GetNumber())
			if st.CoreTeam != "acme/core-sre" || st.StartedBy != "mallory" {
				t.Errorf("core team %s, started by %s; want acme/core-sre, mallory", st.CoreTeam, st.StartedBy)
			}
			e.comment(hs[0].GetNumber(), "mallory", "MEMBER", "/tasuki done shadowing https://example.com/trust-me")
			if it := e.item(hs[0].GetNumber(), "shadowing"); it.By == "mallory" {
				t.Error("the pusher's team ticked an item")
			}
		}
	})
	t.Run("repository created: its own file cannot ask", func(t *testing.T) {
		e := newEnv(t)
		e.srv.PutFile(full, "main", ".github/tasuki.yml", []byte(
			"ownership:\n  core_sre_team: core-sre\nonboarding:\n  new_repositories:\n    enabled: true\n    team: payments-sre\n"))
		e.dispatch(e.delivery("repository", e.fixture("repository.created.1.json")))
		if n := len(e.handoffs()); n != 0 {
			t.Fatalf("%d handoffs started by the repository's own file", n)
		}
	})
	t.Run("repository created", func(t *testing.T) {
		e := newEnv(t)
		e.srv.AddRepo(org+"/.github", "main")
		e.srv.PutFile(org+"/.github", "main", ".github/tasuki.yml", []byte(
			"ownership:\n  core_sre_team: core-sre\nonboarding:\n  new_repositories:\n    enabled: true\n    team: payments-sre\n    tier: C\n"))
		p := e.fixture("repository.created.1.json")
		e.dispatch(e.delivery("repository", p))
		e.dispatch(e.delivery("repository", p)) // redelivered
		hs := e.handoffs()
		if len(hs) != 1 {
			t.Fatalf("%d handoffs, want 1", len(hs))
		}
		if st := e.state(hs[0].GetNumber()); st.Tier != "C" || st.CoreTeam != "acme/core-sre" {
			t.Errorf("state: tier %s core %s", st.Tier, st.CoreTeam)
		}
	})
}
