package onboarding

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tasuki-sre/tasuki/internal/intent"
)

const day24 = 24 * time.Hour

// goodFacts is a repository where every automatic item before Transfer
// passes.
func goodFacts() RepoFacts {
	return RepoFacts{
		Repo: "acme/api", DefaultBranch: "main", HeadSHA: "abc",
		Paths: []string{"catalog-info.yaml", ".github/CODEOWNERS", "alerts/api-rules.yaml", "docs/runbooks/db.md",
			"docs/error-budget-policy.md", ".github/tasuki/postmortem.md", "deploy/main.tf", "slo/api.yaml"},
		Files: files(
			CatalogPath, catalogFull,
			".github/CODEOWNERS", "# owners\n* @acme/core-sre\n/docs/ @acme/docs @acme/core-sre # docs\n",
			"alerts/api-rules.yaml", "groups:\n  - name: api\n    rules:\n      - alert: A\n        annotations: {runbook_url: /docs/runbooks/db.md}\n",
			"slo/api.yaml", "apiVersion: openslo/v1\nkind: SLO\n",
			"deploy/main.tf", `resource "google_sql_database" "db" {}`,
		),
		Team:         TeamFacts{Slug: "payments-sre", Exists: true, Privacy: "closed", Permission: "push"},
		Protection:   Protection{Protected: true, RequirePullRequest: true, RequiredApprovals: 1, CodeOwnerReview: true, RequiredChecks: []string{"tasuki/plan-review"}},
		WorkflowRuns: []WorkflowRun{{Name: "restore-test", Conclusion: "success", At: now.Add(-5 * day24)}},
	}
}

// apply returns the body after the decision's EditIssue, as GitHub would
// hold it.
func apply(t *testing.T, body string, d Decision) string {
	t.Helper()
	for _, in := range d.Intents {
		if err := in.Validate(); err != nil {
			t.Fatalf("invalid intent %s: %v", in, err)
		}
		if in.Kind == intent.EditIssue && in.Edit.Body != nil {
			if !in.Edit.Marker.In(*in.Edit.Body) {
				t.Fatal("the edit's body lacks its marker")
			}
			body = *in.Edit.Body
		}
	}
	return body
}

func kinds(d Decision) []string {
	var out []string
	for _, in := range d.Intents {
		s := string(in.Kind)
		if len(in.Labels) > 0 {
			s += " " + strings.Join(in.Labels, ",")
		}
		out = append(out, s)
	}
	return out
}

func TestStart(t *testing.T) {
	c := Default()
	open := &State{Issue: 3}
	base := StartRequest{Repo: "acme/api", Team: "@acme/payments-sre", Actor: "carol", Trigger: "command", ActorIsCore: true, CoreTeam: "core-sre"}
	tests := []struct {
		name  string
		edit  func(*StartRequest)
		reply string // substring; "" means a handoff starts
	}{
		{"not core", func(r *StartRequest) { r.ActorIsCore = false }, "Only members of `@acme/core-sre` may start"},
		{"open handoff", func(r *StartRequest) { r.Open = open }, "already has an open SRE handoff: #3"},
		{"no team", func(r *StartRequest) { r.Team = "" }, "Name the receiving team"},
		{"team of another org", func(r *StartRequest) { r.Team = "@evil/payments-sre" }, "must be a team of `acme`"},
		{"bad tier", func(r *StartRequest) { r.Tier = "Z" }, "Tier `Z` is not A, B or C"},
		{"no core team", func(r *StartRequest) { r.CoreTeam = "" }, "No core SRE team"},
		{"core to itself", func(r *StartRequest) { r.Team = "acme/core-sre" }, "already owns this repository"},
		{"command", func(r *StartRequest) {}, ""},
		{"config trigger needs no core member", func(r *StartRequest) { r.Trigger, r.Actor, r.ActorIsCore = "config", "config", false }, ""},
		{"tier lower case", func(r *StartRequest) { r.Tier = "a" }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := base
			tt.edit(&req)
			d := Start(req, DefaultConfig(), c, now)
			if tt.reply != "" {
				if !strings.Contains(d.Reply, tt.reply) || len(d.Intents) != 0 {
					t.Errorf("Start = %q %v, want a reply with %q and no write", d.Reply, kinds(d), tt.reply)
				}
				return
			}
			if len(d.Intents) != 1 || d.Intents[0].Kind != intent.EnsureIssue {
				t.Fatalf("Start = %q %v, want one EnsureIssue", d.Reply, kinds(d))
			}
			is := d.Intents[0]
			if is.Issue.Title != "SRE handoff: acme/api → @acme/payments-sre" || !slices.Equal(is.Issue.Labels, []string{"sre-handoff", "handoff:kickoff"}) ||
				is.Lookup.Label != "sre-handoff" || !is.Marker.In(is.Issue.Body) {
				t.Errorf("issue = %+v", is)
			}
			if req.Trigger == "command" && !slices.Equal(is.Issue.Assignees, []string{"carol"}) {
				t.Errorf("assignees = %v", is.Issue.Assignees)
			}
			if req.Trigger == "config" && len(is.Issue.Assignees) != 0 {
				t.Errorf("assignees = %v", is.Issue.Assignees)
			}
			if d.State.Team != "acme/payments-sre" || d.State.CoreTeam != "acme/core-sre" || d.State.Phase != PhaseKickoff {
				t.Errorf("state = %+v", d.State)
			}
		})
	}
	// Retried on the same day, the same marker: one issue.
	d1 := Start(base, DefaultConfig(), c, now)
	d2 := Start(base, DefaultConfig(), c, now.Add(3*time.Hour))
	if d1.Intents[0].Marker != d2.Intents[0].Marker {
		t.Error("two starts on one day carry different markers")
	}
}

// TestHandoffLifecycle walks a handoff from start to close.
func TestHandoffLifecycle(t *testing.T) {
	c := Default()
	cfg := DefaultConfig()
	cfg.Leads = map[string]string{"core-sre": "carol", "payments-sre": "@pat"}
	s, body := started(t, c)
	f := goodFacts()

	d := Verify(s, body, c, f, cfg, now)
	if !slices.Equal(kinds(d), []string{"edit-issue", "add-labels handoff:observe", "remove-labels handoff:kickoff"}) {
		t.Fatalf("first verify: %v", kinds(d))
	}
	s, body = d.State, apply(t, body, d)
	if !strings.Contains(body, "| Kickoff | core\\-sre |  | 2026-12-09 | 3/3 ✅ |") || !strings.Contains(body, "**Observe and prepare** (current)") {
		t.Errorf("body:\n%s", body)
	}
	if st, _ := s.Item("capacity-plan"); st.Status != StatusPending || !strings.Contains(st.Reason, "/tasuki done capacity-plan") {
		t.Errorf("capacity-plan = %+v", st)
	}
	// Verify again the next day with nothing new: nothing to write.
	if d := Verify(s, body, c, f, cfg, now.Add(day24)); len(d.Intents) != 0 || d.Changed {
		t.Errorf("idle verify writes %v", kinds(d))
	}

	for _, id := range []string{"capacity-plan", "access-review", "shadowing", "postmortem-or-drill", "reverse-shadowing"} {
		d = Attest(s, body, c, Command{Verb: "done", ItemID: id, Arg: "https://docs.example.com/" + id}, "alice", now.Add(day24))
		if !strings.HasPrefix(d.Reply, "Recorded `"+id+"` as passed") {
			t.Fatalf("attest %s: %q", id, d.Reply)
		}
		s, body = d.State, apply(t, body, d)
	}
	if s.Phase != PhaseTransfer || !d.Reverify {
		t.Fatalf("after every tick: phase %s, reverify %v", s.Phase, d.Reverify)
	}
	if !strings.Contains(body, "| Shadow | core\\-sre | payments\\-sre | 2027-01-27 | 2/2 ✅ |") {
		t.Errorf("body:\n%s", body)
	}

	// Without the files the transfer edits, no pull request: it would
	// replace files it never read.
	unread := goodFacts()
	delete(unread.Files, ".github/CODEOWNERS")
	if d := Verify(s, body, c, unread, cfg, now.Add(2*day24)); slices.Contains(kinds(d), "open-pull-request") {
		t.Error("transfer proposed without reading CODEOWNERS")
	}
	cut := goodFacts()
	cut.TooLarge = []string{".github/CODEOWNERS"}
	if d := Verify(s, body, c, cut, cfg, now.Add(2*day24)); slices.Contains(kinds(d), "open-pull-request") {
		t.Error("transfer proposed from a CODEOWNERS read cut")
	}
	unread.Files, unread.Unavailable = nil, map[Fact]string{FactFiles: "rate limited"}
	if d := Verify(s, body, c, unread, cfg, now.Add(2*day24)); slices.Contains(kinds(d), "open-pull-request") {
		t.Error("transfer proposed with the files unavailable")
	}
	d = Verify(s, body, c, f, cfg, now.Add(2*day24))
	var pr *intent.PullRequest
	for _, in := range d.Intents {
		if in.Kind == intent.OpenPullRequest {
			pr = &in.PullRequest
		}
	}
	if pr == nil {
		t.Fatalf("no transfer PR: %v", kinds(d))
	}
	got := map[string]string{}
	for _, fc := range pr.Files {
		got[fc.Path] = string(fc.Content)
	}
	if got[".github/CODEOWNERS"] != "# owners\n* @acme/payments-sre\n/docs/ @acme/docs @acme/payments-sre # docs\n" {
		t.Errorf("CODEOWNERS = %q", got[".github/CODEOWNERS"])
	}
	if want := strings.Replace(catalogFull, "group:default/core-sre", "group:default/payments-sre", 1); got[CatalogPath] != want {
		t.Errorf("catalog = %q", got[CatalogPath])
	}
	if !strings.Contains(pr.Body, "GitHub reads CODEOWNERS from the base branch") || !strings.Contains(pr.Body, "#7") || pr.Marker != TransferMarker(s) {
		t.Errorf("PR body: %s", pr.Body)
	}
	// Both leads are asked for their review of the pull request just
	// proposed, and the body names them.
	if ks := kinds(d); ks[len(ks)-2] != "open-pull-request" || ks[len(ks)-1] != "request-reviewers" {
		t.Fatalf("intents %v, want the pull request then its review requests last", ks)
	}
	if ask := d.Intents[len(d.Intents)-1]; ask.Number != 0 || !slices.Equal(ask.Reviewers, []string{"carol", "pat"}) || len(ask.TeamReviewers) != 0 {
		t.Errorf("review request %+v", ask)
	}
	for _, want := range []string{"`@carol` (lead of `@acme/core-sre`)", "`@pat` (lead of `@acme/payments-sre`)"} {
		if !strings.Contains(pr.Body, want) {
			t.Errorf("PR body lacks %q:\n%s", want, pr.Body)
		}
	}
	s, body = d.State, apply(t, body, d)
	s.TransferPR = 12
	// Once the shell recorded the pull request, verification proposes it
	// no more: its branch may hold a person's edits.
	if d := Verify(s, body, c, f, cfg, now.Add(2*day24+time.Hour)); slices.Contains(kinds(d), "open-pull-request") || slices.Contains(kinds(d), "request-reviewers") {
		t.Errorf("transfer proposed again after #12 was recorded: %v", kinds(d))
	}

	// Merged, but the facts still show the old owners: not closed.
	d = TransferMerged(s, body, c, f, []string{"carol", "pat"}, now.Add(3*day24), cfg, now.Add(3*day24))
	if slices.Contains(kinds(d), "close") || d.State.Phase == PhaseGuard {
		t.Errorf("closed although CODEOWNERS did not move: %v", kinds(d))
	}
	// Merged with the files moved: closed with a summary.
	after := goodFacts()
	after.Files[".github/CODEOWNERS"] = []byte(got[".github/CODEOWNERS"])
	after.Files[CatalogPath] = []byte(got[CatalogPath])
	d = TransferMerged(s, body, c, after, []string{"carol", "pat", "carol"}, now.Add(3*day24), cfg, now.Add(3*day24))
	if !slices.Equal(kinds(d), []string{"edit-issue", "add-labels handoff:guard", "remove-labels handoff:transfer", "ensure-comment", "close"}) {
		t.Fatalf("transfer merged: %v", kinds(d))
	}
	summary := d.Intents[3].Body
	for _, want := range []string{"| Kickoff | 2026-12-09 | 2026-12-02 |", "| Reverse shadow | 2027-02-24 | 2026-12-03 |", "| Transfer | 2027-03-10 | 2026-12-05 |",
		"signed off by @\u200dcarol, @\u200dpat.", "(#12)"} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, summary)
		}
	}
	if d.State.Closed.IsZero() {
		t.Error("state not closed")
	}
	// A closed handoff takes no ticks and no verification.
	if d2 := Attest(d.State, body, c, Command{Verb: "done", ItemID: "shadowing", Arg: "https://x.example"}, "a", now); len(d2.Intents) != 0 || !strings.Contains(d2.Reply, "closed") {
		t.Errorf("attest on closed: %+v", d2.Reply)
	}
}

func TestReminderOnce(t *testing.T) {
	c := Default()
	s, body := started(t, c)
	f := goodFacts()
	f.Team.Permission = "pull" // Kickoff cannot complete
	late := now.Add(8 * day24)
	d := Verify(s, body, c, f, DefaultConfig(), late)
	var reminders []intent.Intent
	for _, in := range d.Intents {
		if in.Kind == intent.EnsureComment {
			reminders = append(reminders, in)
		}
	}
	if len(reminders) != 1 || !strings.Contains(reminders[0].Body, "**Kickoff** was due on 2026-12-09 and is at 2/3") ||
		!strings.HasPrefix(reminders[0].Body, "@carol @alice @bob") || reminders[0].Number != 7 {
		t.Fatalf("reminders %+v", reminders)
	}
	s, body = d.State, apply(t, body, d)
	for _, at := range []time.Time{late.Add(time.Hour), late.Add(5 * day24)} {
		if d := Verify(s, body, c, f, DefaultConfig(), at); slices.Contains(kinds(d), "ensure-comment") {
			t.Errorf("second reminder at %s", at)
		}
	}
	// Not due yet: no reminder.
	s0, body0 := started(t, c)
	if d := Verify(s0, body0, c, f, DefaultConfig(), now.Add(6*day24)); slices.Contains(kinds(d), "ensure-comment") {
		t.Error("reminder before the due date")
	}
}

func TestExpiryReopens(t *testing.T) {
	c := Default()
	s, body := started(t, c)
	f := goodFacts()
	f.WorkflowRuns = nil // backups-restore cannot be verified: attested instead
	d := Verify(s, body, c, f, DefaultConfig(), now)
	s, body = d.State, apply(t, body, d)
	for _, id := range []string{"capacity-plan", "backups-restore"} {
		d = Attest(s, body, c, Command{Verb: "done", ItemID: id, Arg: "https://docs.example.com/x"}, "alice", now)
		s, body = d.State, apply(t, body, d)
	}
	if st, _ := s.Item("backups-restore"); st.Status != StatusPassed || st.Expires != now.Add(90*day24) {
		t.Fatalf("backups-restore = %+v", st)
	}
	// Still valid the day before.
	d = Verify(s, body, c, f, DefaultConfig(), now.Add(89*day24))
	if st, _ := d.State.Item("backups-restore"); st.Status != StatusPassed {
		t.Errorf("expired early: %+v", st)
	}
	d = Verify(s, body, c, f, DefaultConfig(), now.Add(91*day24))
	st, _ := d.State.Item("backups-restore")
	if st.Status != StatusFailed || st.By != "" || !strings.Contains(st.Reason, "no successful run") {
		t.Errorf("backups-restore after expiry = %+v", st)
	}
	if cp, _ := d.State.Item("capacity-plan"); cp.Status != StatusPassed {
		t.Errorf("capacity-plan (180d) = %+v", cp)
	}
	d = Verify(s, body, c, f, DefaultConfig(), now.Add(181*day24))
	if cp, _ := d.State.Item("capacity-plan"); cp.Status != StatusPending || !strings.Contains(cp.Reason, "attestation by @alice expired on 2027-05-31") {
		t.Errorf("capacity-plan after expiry = %+v", cp)
	}
	if !strings.Contains(apply(t, body, d), "attestation by @\u200dalice expired") {
		t.Error("the issue does not say the attestation expired")
	}
}

func TestAttestRefusals(t *testing.T) {
	c := Default()
	s, body := started(t, c)
	tests := []struct {
		name string
		cmd  Command
		tier string
		want string
	}{
		{"unknown item", Command{Verb: "done", ItemID: "nope", Arg: "https://x.example"}, "B", "There is no item `nope`. Items to tick: oncall\\-linked"},
		{"automatic item", Command{Verb: "done", ItemID: "slo-as-code", Arg: "https://x.example"}, "B", "`slo-as-code` is verified by tasuki"},
		{"evidence missing", Command{Verb: "done", ItemID: "shadowing"}, "B", "`shadowing` needs evidence"},
		{"evidence not a link", Command{Verb: "done", ItemID: "shadowing", Arg: "done it"}, "B", "must be an https link"},
		{"evidence http", Command{Verb: "done", ItemID: "shadowing", Arg: "http://x.example/a"}, "B", "not an https URL"},
		{"evidence javascript", Command{Verb: "done", ItemID: "shadowing", Arg: "javascript:alert(1)"}, "B", "must be an https link"},
		{"evidence breaks the link", Command{Verb: "done", ItemID: "shadowing", Arg: "https://x.example/a)[x](https://evil.example"}, "B", "characters a link cannot"},
		{"evidence with credentials", Command{Verb: "done", ItemID: "shadowing", Arg: "https://user:pw@x.example/"}, "B", "not an https URL"},
		{"na not allowed in tier", Command{Verb: "na", ItemID: "capacity-plan", Arg: "batch job"}, "B", "cannot be marked not applicable in a tier B handoff"},
		{"na without reason", Command{Verb: "na", ItemID: "capacity-plan"}, "C", "Say why `capacity-plan` does not apply"},
		{"na of an item never n/a", Command{Verb: "na", ItemID: "shadowing", Arg: "x"}, "C", "cannot be marked not applicable"},
		{"unknown verb", Command{Verb: "undo", ItemID: "shadowing", Arg: "x"}, "B", "Unknown verb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := s
			st.Tier = tt.tier
			d := Attest(st, body, c, tt.cmd, "mallory", now)
			if !strings.Contains(d.Reply, tt.want) || len(d.Intents) != 0 || d.Changed {
				t.Errorf("Attest = %q %v, want a refusal with %q", d.Reply, kinds(d), tt.want)
			}
		})
	}
	// Items outside the tier are refused too.
	o, _ := ParseChecklist("r.yml", []byte("items:\n  - id: shadowing\n    tiers: [A]\n"))
	ca, err := Merge(c, o)
	if err != nil {
		t.Fatal(err)
	}
	if d := Attest(s, body, ca, Command{Verb: "done", ItemID: "shadowing", Arg: "https://x.example"}, "a", now); !strings.Contains(d.Reply, "not part of a tier B handoff") {
		t.Errorf("item of another tier: %q", d.Reply)
	}
	// Accepted: na in tier C with a reason, and done on a semi item.
	s.Tier = "C"
	d := Attest(s, body, c, Command{Verb: "na", ItemID: "Capacity-Plan", Arg: "a batch job with no traffic"}, "alice", now)
	if st, _ := d.State.Item("capacity-plan"); st.Status != StatusNA || st.Reason != "a batch job with no traffic" || st.By != "alice" || !st.At.Equal(now) {
		t.Errorf("na = %+v (%q)", st, d.Reply)
	}
	d = Attest(d.State, body, c, Command{Verb: "done", ItemID: "oncall-linked", Arg: "https://acme.pagerduty.com/schedules/P1"}, "alice", now)
	if st, _ := d.State.Item("oncall-linked"); st.Status != StatusPassed || st.Evidence != "https://acme.pagerduty.com/schedules/P1" {
		t.Errorf("semi done = %+v", st)
	}
}

func TestGuard(t *testing.T) {
	s := State{Repo: "acme/api", Team: "acme/payments-sre", CoreTeam: "acme/core-sre", Tier: "B", Phase: PhaseGuard}
	healthy := goodFacts()
	healthy.Files[".github/CODEOWNERS"] = []byte("* @acme/payments-sre\n")
	healthy.Files[CatalogPath] = []byte(strings.Replace(catalogFull, "core-sre", "payments-sre", 1))
	cfg := DefaultConfig()

	tests := []struct {
		name string
		edit func(*RepoFacts, *State)
		want string // a problem listed; "" for none
	}{
		{"healthy", func(*RepoFacts, *State) {}, ""},
		{"codeowners errors", func(f *RepoFacts, _ *State) { f.CODEOWNERSErrors = []string{"CODEOWNERS:1: Unknown owner"} }, "CODEOWNERS has 1 error\\(s\\)"},
		{"team gone", func(f *RepoFacts, _ *State) { f.Team.Exists = false }, "does not exist"},
		{"team lost write", func(f *RepoFacts, _ *State) { f.Team.Permission = "triage" }, "has triage on the repository"},
		{"catalog differs", func(f *RepoFacts, _ *State) { f.Files[CatalogPath] = []byte(catalogFull) }, "differs from the CODEOWNERS owner"},
		{"codeowners moved back", func(f *RepoFacts, _ *State) { f.Files[".github/CODEOWNERS"] = []byte("* @acme/core-sre\n") }, "names @\u200dacme\\/core\\-sre for \\*"},
		{"attestation expired", func(_ *RepoFacts, s *State) {
			s.Items = []ItemState{{ID: "capacity-plan", Status: StatusPassed, By: "alice", Expires: now.Add(-day24)}}
		}, "the attestation of capacity\\-plan by @\u200dalice expired on 2026\\-12\\-01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := healthy
			f.Files = map[string][]byte{}
			for k, v := range healthy.Files {
				f.Files[k] = v
			}
			st := s
			tt.edit(&f, &st)
			d := Guard(GuardInput{State: st, Facts: f}, cfg, now)
			if tt.want == "" {
				if len(d.Intents) != 0 {
					t.Errorf("healthy repository: %v", kinds(d))
				}
				// An open guard issue is closed once healthy.
				d = Guard(GuardInput{State: st, Facts: f, GuardIssue: 4, GuardOpen: true}, cfg, now)
				if !slices.Equal(kinds(d), []string{"ensure-comment", "close"}) {
					t.Errorf("healthy with open guard issue: %v", kinds(d))
				}
				return
			}
			if len(d.Intents) != 1 || d.Intents[0].Kind != intent.EnsureIssue || !strings.Contains(d.Intents[0].Issue.Body, tt.want) ||
				d.Intents[0].Marker != GuardMarker("acme/api") || !slices.Equal(d.Intents[0].Issue.Labels, []string{"sre-handoff-guard"}) {
				t.Fatalf("Guard = %+v, want an issue listing %q", d.Intents, tt.want)
			}
			body := d.Intents[0].Issue.Body
			// The next day, same problems: the open issue is not written again.
			if d := Guard(GuardInput{State: st, Facts: f, GuardIssue: 4, GuardOpen: true, GuardBody: body}, cfg, now.Add(day24)); len(d.Intents) != 0 {
				t.Errorf("unchanged problems rewrite the issue: %v", kinds(d))
			}
			// A closed guard issue is reopened, not duplicated.
			d = Guard(GuardInput{State: st, Facts: f, GuardIssue: 4, GuardOpen: false, GuardBody: body}, cfg, now.Add(day24))
			if len(d.Intents) != 1 || d.Intents[0].Kind != intent.EditIssue || d.Intents[0].Edit.State != "open" || d.Intents[0].Number != 4 {
				t.Errorf("closed guard issue: %+v", d.Intents)
			}
		})
	}
}

func TestHandBack(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Leads = map[string]string{"payments-sre": "pat", "core-sre": "carol"}
	inc := func(sev string, daysAgo int) Incident {
		return Incident{Ref: "acme/incidents#" + sev, URL: "https://github.com/acme/incidents/issues/1", Severity: sev, Started: now.Add(-time.Duration(daysAgo) * day24)}
	}
	in := HandBackInput{Repo: "acme/api", Service: "api", Team: "acme/payments-sre", CoreTeam: "acme/core-sre"}
	tests := []struct {
		name      string
		incidents []Incident
		open      int
		want      bool
	}{
		{"at the threshold", []Incident{inc("sev1", 1), inc("sev2", 20)}, 0, false},
		{"over", []Incident{inc("sev1", 1), inc("sev2", 20), inc("SEV2", 27)}, 0, true},
		{"old and minor ones do not count", []Incident{inc("sev1", 1), inc("sev2", 20), inc("sev2", 29), inc("sev3", 2), inc("sev4", 3)}, 0, false},
		{"a review is open", []Incident{inc("sev1", 1), inc("sev1", 2), inc("sev1", 3)}, 9, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := in
			x.Incidents, x.Open = tt.incidents, tt.open
			d := HandBack(x, cfg, now)
			if !tt.want {
				if len(d.Intents) != 0 {
					t.Errorf("HandBack opened %v", kinds(d))
				}
				return
			}
			if len(d.Intents) != 1 || d.Intents[0].Kind != intent.EnsureIssue {
				t.Fatalf("HandBack = %v", kinds(d))
			}
			is := d.Intents[0].Issue
			for _, want := range []string{"@pat @carol", "3 incidents of severity sev1\\/sev2 in the last 28 days, more than the 2", "re-engages as **secondary**", "releases **freeze**", "decision stays with the two leads"} {
				if !strings.Contains(is.Body, want) {
					t.Errorf("body lacks %q:\n%s", want, is.Body)
				}
			}
			if !slices.Equal(is.Assignees, []string{"pat", "carol"}) {
				t.Errorf("assignees %v", is.Assignees)
			}
			// The next day, the same crossing: the same marker, so one issue.
			if d2 := HandBack(x, cfg, now.Add(time.Hour)); d2.Intents[0].Marker != d.Intents[0].Marker {
				t.Error("the review's marker changes from run to run")
			}
		})
	}
}

// ready returns a handoff whose every item before Transfer passes on
// goodFacts, and its body, without verifying it for the transfer yet.
func ready(t *testing.T, c Checklist, cfg Config) (State, string) {
	t.Helper()
	s, body := started(t, c)
	d := Verify(s, body, c, goodFacts(), cfg, now)
	s, body = d.State, apply(t, body, d)
	for _, id := range []string{"capacity-plan", "access-review", "shadowing", "postmortem-or-drill", "reverse-shadowing"} {
		d = Attest(s, body, c, Command{Verb: "done", ItemID: id, Arg: "https://docs.example.com/" + id}, "alice", now.Add(day24))
		s, body = d.State, apply(t, body, d)
	}
	if !readyForTransfer(s, c) {
		t.Fatalf("not ready for the transfer: phase %s", s.Phase)
	}
	return s, body
}

// When CODEOWNERS and the catalog name the incoming team already, the
// transfer needs no pull request: its items pass on the repository's own
// facts and the handoff closes, saying so. What is left to move is still
// proposed; what tasuki cannot confirm is said on the item, not waited for.
func TestTransferAlreadyMoved(t *testing.T) {
	c := Default()
	cfg := DefaultConfig()
	cfg.Leads = map[string]string{"core-sre": "carol", "payments-sre": "pat"}
	moved := "# owners\n* @acme/payments-sre\n/docs/ @acme/docs\n"
	movedCatalog := strings.Replace(catalogFull, "group:default/core-sre", "group:default/payments-sre", 1)
	cases := []struct {
		name       string
		codeowners string
		catalog    string // "" keeps catalogFull
		errs       []string
		movedBy    string
		wantKinds  []string
		wantFiles  []string // of the pull request proposed
		wantInSum  []string
		wantItem   string // codeowners-valid's reason, when not closed
	}{
		{name: "moved by a person", codeowners: moved, catalog: movedCatalog, movedBy: "dana",
			wantKinds: []string{"edit-issue", "add-labels handoff:guard", "remove-labels handoff:transfer", "ensure-comment", "close"},
			wantInSum: []string{"ownership was already moved by @\u200ddana", "no transfer pull request was needed"}},
		{name: "moved, by whom unknown", codeowners: moved, catalog: movedCatalog,
			wantKinds: []string{"edit-issue", "add-labels handoff:guard", "remove-labels handoff:transfer", "ensure-comment", "close"},
			wantInSum: []string{"ownership was already moved: CODEOWNERS"}},
		{name: "catalog left to move", codeowners: moved,
			wantKinds: []string{"edit-issue", "open-pull-request", "request-reviewers"},
			wantFiles: []string{CatalogPath}},
		{name: "moved, but GitHub finds CODEOWNERS errors", codeowners: moved, catalog: movedCatalog, errs: []string{".github/CODEOWNERS:3: Unknown owner: @acme/docs"},
			wantKinds: []string{"edit-issue"},
			wantItem:  "has 1 error(s)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, body := ready(t, c, cfg)
			f := goodFacts()
			f.Files[".github/CODEOWNERS"] = []byte(tc.codeowners)
			if tc.catalog != "" {
				f.Files[CatalogPath] = []byte(tc.catalog)
			}
			f.CODEOWNERSErrors, f.MovedBy = tc.errs, tc.movedBy
			d := Verify(s, body, c, f, cfg, now.Add(2*day24))
			if got := kinds(d); !slices.Equal(got, tc.wantKinds) {
				t.Fatalf("intents %v, want %v", got, tc.wantKinds)
			}
			for _, in := range d.Intents {
				if in.Kind == intent.OpenPullRequest {
					var paths []string
					for _, fc := range in.PullRequest.Files {
						paths = append(paths, fc.Path)
					}
					if !slices.Equal(paths, tc.wantFiles) {
						t.Errorf("pull request changes %v, want %v", paths, tc.wantFiles)
					}
				}
				if in.Kind == intent.EnsureComment {
					for _, w := range tc.wantInSum {
						if !strings.Contains(in.Body, w) {
							t.Errorf("summary lacks %q:\n%s", w, in.Body)
						}
					}
				}
			}
			if tc.wantItem != "" {
				if st, _ := d.State.Item("codeowners-valid"); st.Status != StatusFailed || !strings.Contains(st.Reason, tc.wantItem) {
					t.Errorf("codeowners-valid = %s (%s), want failed saying %q", st.Status, st.Reason, tc.wantItem)
				}
				// Fixed: the next verification closes the handoff.
				s2, body2 := d.State, apply(t, body, d)
				f.CODEOWNERSErrors = nil
				d = Verify(s2, body2, c, f, cfg, now.Add(3*day24))
				if k := kinds(d); !slices.Contains(k, "close") || d.State.Closed.IsZero() || !d.State.AlreadyMoved {
					t.Errorf("after the fix: %v, state closed %v moved %v", k, d.State.Closed, d.State.AlreadyMoved)
				}
			}
			if slices.Contains(tc.wantKinds, "close") {
				if !d.State.AlreadyMoved || d.State.Closed.IsZero() || d.State.Phase != PhaseGuard || d.State.MovedBy != tc.movedBy {
					t.Errorf("state: moved %v by %q, closed %v, phase %s", d.State.AlreadyMoved, d.State.MovedBy, d.State.Closed, d.State.Phase)
				}
				if b := apply(t, body, d); !strings.Contains(b, "Ownership was already moved") {
					t.Errorf("issue body does not say ownership was already moved:\n%s", b)
				}
				// A closed handoff is verified no more.
				if d2 := Verify(d.State, apply(t, body, d), c, f, cfg, now.Add(3*day24)); len(d2.Intents) != 0 {
					t.Errorf("closed handoff verified: %v", kinds(d2))
				}
			}
		})
	}
}

// A transfer pull request merged while its items did not pass yet (the
// catalog still named the core team) closes the handoff on the
// verification that finds them passing, as the comment at the merge says.
func TestMergedTransferClosesOnceItemsPass(t *testing.T) {
	c := Default()
	cfg := DefaultConfig()
	s, body := ready(t, c, cfg)
	s.TransferPR = 12
	f := goodFacts()
	f.Files[".github/CODEOWNERS"] = []byte("* @acme/payments-sre\n")
	d := TransferMerged(s, body, c, f, []string{"carol"}, now.Add(3*day24), cfg, now.Add(3*day24))
	if slices.Contains(kinds(d), "close") {
		t.Fatalf("closed with the catalog unmoved: %v", kinds(d))
	}
	s, body = d.State, apply(t, body, d)
	if d := Verify(s, body, c, f, cfg, now.Add(4*day24)); slices.Contains(kinds(d), "close") || slices.Contains(kinds(d), "open-pull-request") {
		t.Fatalf("verify with the catalog unmoved: %v", kinds(d))
	}
	f.Files[CatalogPath] = []byte(strings.Replace(catalogFull, "group:default/core-sre", "group:default/payments-sre", 1))
	d = Verify(s, body, c, f, cfg, now.Add(5*day24))
	if k := kinds(d); !slices.Contains(k, "close") || d.State.Closed.IsZero() || d.State.AlreadyMoved {
		t.Fatalf("verify once the catalog moved: %v, closed %v", k, d.State.Closed)
	}
	for _, in := range d.Intents {
		if in.Kind == intent.EnsureComment && !strings.Contains(in.Body, "transfer merged 2026-12-05 (#12), signed off by @\u200dcarol") {
			t.Errorf("summary:\n%s", in.Body)
		}
	}
}
