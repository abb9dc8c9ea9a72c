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
	core "github.com/tasuki-sre/tasuki/internal/postmortem"
)

// incidentForm is an incident filed with templates/incident.yml, roles,
// detection and times filled in.
const incidentForm = "### Severity\n\nsev1\n\n### Service\n\ncheckout\n\n" +
	"### Incident commander\n\n@ic-carol\n\n### Communications lead\n\nmallory-comms\n\n### How detected\n\nAlert\n\n" +
	"### Impact started\n\n2026-03-05 10:00 UTC\n\n### Detected at\n\n2026-03-05 10:12 UTC\n\n### Mitigated at\n\n2026-03-05 11:30 UTC\n\n" +
	"### Description\n\nCheckout returns 500 for card payments.\n\n<!-- tasuki:postmortem-state v=1 e30 -->\nEU only.\n"

// escalationEnv is an incident from the form in a repository whose
// ownership config names the owning team, with one production deployment
// before the impact started, closed the next day.
func escalationEnv(t *testing.T) (*env, *Handler, *github.Issue) {
	e := newEnv(t)
	e.srv.PutFile(testRepo, "main", ".github/tasuki.yml", []byte(`ownership:
  teams:
    payments:
      sres: [sre-alice]
  services:
    checkout:
      repos: [Hello-World]
      team: payments
postmortem:
  reminder_every_days: 3
`))
	e.srv.AddIssue(testRepo, &github.Issue{Number: github.Int(1), Title: github.String("Checkout down"),
		Body:      github.String(incidentForm),
		User:      &github.User{Login: github.String("Codertocat")},
		Labels:    []*github.Label{{Name: github.String("incident")}, {Name: github.String("sev1")}},
		CreatedAt: &github.Timestamp{Time: parseTime("2026-03-05T10:15:00Z")}})
	for _, d := range []struct{ sha, env, at string }{
		{"1111111111111111111111111111111111111111", "production", "2026-03-05T08:00:00Z"},
		{"2222222222222222222222222222222222222222", "staging", "2026-03-05T09:30:00Z"},
		{"3333333333333333333333333333333333333333", "production", "2026-03-05T09:00:00Z"},
		{"4444444444444444444444444444444444444444", "production", "2026-03-05T10:30:00Z"}, // after the start
	} {
		e.srv.AddDeployment(testRepo, &github.Deployment{SHA: github.String(d.sha), Ref: github.String("main"),
			Environment: github.String(d.env), Creator: &github.User{Login: github.String("deployer")},
			CreatedAt: &github.Timestamp{Time: parseTime(d.at)}})
	}
	h := e.newHandler(&handler.MemLocker{}, &handler.MemMemo{})
	h.Config = config.NewLoader()
	h.Owners = handler.NewOwnership(h.Config, nil)
	ctx := context.Background()
	must(t, h.Handle(ctx, e.labeledDelivery(1)))
	// Closed Friday 2026-03-06: sev1 is due 5 business days later, Friday 2026-03-13.
	e.clock.Set(parseTime("2026-03-06T15:00:00Z"))
	_, _, err := clientAs(e, "octocat").Issues.Edit(ctx, "Codertocat", "Hello-World", 1, &github.IssueRequest{State: github.String("closed")})
	must(t, err)
	must(t, h.Handle(ctx, e.closedDelivery(1)))
	pms := e.postmortems()
	if len(pms) != 1 {
		t.Fatalf("%d postmortems", len(pms))
	}
	return e, h, pms[0]
}

// The postmortem is drafted from the incident's form: summary, roles,
// detection, the times and what they add up to, and the suspect
// deployment, in the facts and on the timeline.
func TestDraftedFromTheIncident(t *testing.T) {
	e, h, pm := escalationEnv(t)
	body := e.srv.Issue(testRepo, pm.GetNumber()).GetBody()
	for _, want := range []string{
		core.DraftNote + "\n\nCheckout returns 500 for card payments.\n\n\\<!\u200b-- tasuki:postmortem-state v=1 e30 --\\>\nEU only.\n",
		"- **Detected:** 2026-03-05 10:12 UTC — from the incident's \"Detected at\"",
		"- **How detected:** Alert",
		"- **Mitigated:** 2026-03-05 11:30 UTC",
		"- **Time to detect:** 12m",
		"- **Time to mitigate:** 1h 30m",
		"- **Incident commander:** `ic-carol`",
		"- **Communications:** `mallory-comms`",
		"- **Suspect deployment:** [deployment](https://github.com/Codertocat/Hello-World/deployments) of `3333333` to `production` in `Codertocat/Hello-World` by `deployer`",
		"- **2026-03-05 09:00 UTC** — **suspect deployment:**",
		"- **2026-03-05 10:00 UTC** — **impact started**",
		"- **2026-03-05 10:12 UTC** — **detected** — Alert",
		"- **2026-03-05 11:30 UTC** — **mitigated**",
		"- **Service:** `checkout` · team `payments`",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q", want)
		}
	}
	// An update that does not list the changes again keeps the suspect.
	c, _, err := clientAs(e, "octocat").Issues.CreateComment(context.Background(), "Codertocat", "Hello-World", 1, &github.IssueComment{Body: github.String("/timeline 10:20 paged the payments team")})
	must(t, err)
	must(t, h.Handle(context.Background(), e.commentDelivery(1, c)))
	after := e.srv.Issue(testRepo, pm.GetNumber()).GetBody()
	if !strings.Contains(after, "paged the payments team") || !strings.Contains(after, "**suspect deployment:** [deployment]") {
		t.Errorf("update lost the suspect or missed the entry:\n%s", after)
	}
	if core.MissingSections(after, core.DefaultConfig().RequiredSections)[0] != "Summary" {
		t.Error("the drafted summary counts as written")
	}
}

// Reminders escalate on the fake clock, each step once, across repeated
// sweeps on the same day and a second replica that remembers nothing: the
// owner the day after the due date, the incident commander three days
// later, the owning team three days after that, and then no more.
func TestReminderEscalationOnAFakeClock(t *testing.T) {
	e, h, pm := escalationEnv(t)
	ctx := context.Background()
	replica := e.newHandler(&handler.MemLocker{}, &handler.MemMemo{})
	replica.Config = h.Config
	type got struct{ Day, Who, Step string }
	var sent []got
	seen := 0
	for day := parseTime("2026-03-12T07:00:00Z"); day.Before(parseTime("2026-04-01T00:00:00Z")); day = day.Add(24 * time.Hour) {
		e.clock.Set(day)
		must(t, h.Sweep(ctx, "Codertocat", "Hello-World"))
		must(t, h.Sweep(ctx, "Codertocat", "Hello-World")) // the job retried
		must(t, replica.Sweep(ctx, "Codertocat", "Hello-World"))
		rs := e.commentsWith(pm.GetNumber(), core.KindReminder)
		for _, r := range rs[seen:] {
			line := strings.Split(r.GetBody(), "\n")[2]
			who, rest, _ := strings.Cut(strings.TrimPrefix(line, "- "), ": the postmortem")
			_, step, _ := strings.Cut(rest, " — reminder ")
			sent = append(sent, got{day.Format("01-02"), who, strings.TrimSuffix(step, ".")})
		}
		seen = len(rs)
	}
	want := []got{
		{"03-14", "@sre-alice", "1 of 3, to the owner"},
		{"03-17", "@sre-alice @ic-carol", "2 of 3, to the incident commander"},
		{"03-20", "@sre-alice @ic-carol @Codertocat/payments", "3 of 3, to the owning team"},
	}
	if diff := cmp.Diff(want, sent); diff != "" {
		t.Errorf("reminders (-want +got):\n%s", diff)
	}
}

// The weekly digest lists the organisation's overdue follow-ups across
// repositories, once a week, in postmortem.digest_repo; issues people
// opened with the label (no due date of tasuki's) are not read.
func TestWeeklyDigest(t *testing.T) {
	e := newEnv(t)
	e.srv.AddRepo("Codertocat/.github", "main")
	e.srv.AddRepo("Codertocat/web", "main")
	e.srv.AddRepo("other/api", "main")
	e.srv.PutFile("Codertocat/.github", "main", ".github/tasuki.yml", []byte("postmortem:\n  digest_repo: .github\n"))
	followup := func(repo, title, due string, labels ...string) {
		body := "Action item.\n\n<!-- tasuki:postmortem-item-due key=" + due + " v=1 -->\n"
		var ls []*github.Label
		for _, l := range append([]string{"postmortem-action"}, labels...) {
			ls = append(ls, &github.Label{Name: github.String(l)})
		}
		e.srv.AddIssue(repo, &github.Issue{Title: github.String(title), Body: &body, Labels: ls,
			User: &github.User{Login: github.String("tasuki[bot]"), Type: github.String("Bot")}})
	}
	followup(testRepo, "Action item: Add jitter", "2026-03-02", "P1")
	followup("Codertocat/web", "Action item: Alert on 5xx", "2026-02-20")
	followup("Codertocat/web", "Action item: Not due yet", "2026-03-30")
	followup("other/api", "Action item: Another organisation", "2026-02-01")
	forged := "<!-- tasuki:postmortem-item-due key=2020-01-01 v=1 -->"
	e.srv.AddIssue(testRepo, &github.Issue{Title: github.String("Not tasuki's"), Body: &forged,
		Labels: []*github.Label{{Name: github.String("postmortem-action")}}, User: &github.User{Login: github.String("mallory")}})

	h := e.newHandler(&handler.MemLocker{}, &handler.MemMemo{})
	h.Config = config.NewLoader()
	ctx := context.Background()
	digests := func() []*github.Issue {
		var out []*github.Issue
		for _, is := range e.srv.Issues("Codertocat/.github") {
			if strings.Contains(is.GetBody(), "tasuki:"+core.KindDigest+" ") {
				out = append(out, is)
			}
		}
		return out
	}
	e.clock.Set(parseTime("2026-03-09T08:00:00Z")) // Monday of 2026-W11
	for range 2 {
		must(t, h.Digest(ctx, h.Logger(), e.gh, "Codertocat"))
	}
	e.clock.Set(parseTime("2026-03-12T08:00:00Z")) // later that week, another replica
	must(t, e.newHandler(&handler.MemLocker{}, &handler.MemMemo{}).Digest(ctx, h.Logger(), e.gh, "Codertocat"))
	ds := digests()
	if len(ds) != 1 {
		t.Fatalf("%d digests in one week, want 1", len(ds))
	}
	if ds[0].GetTitle() != "Overdue postmortem action items, 2026-W11 (2)" {
		t.Errorf("title %q", ds[0].GetTitle())
	}
	body := ds[0].GetBody()
	for _, want := range []string{"| 2026-02-20 | 17 | — | [Codertocat/web#1]", "| 2026-03-02 | 7 | P1 | [Codertocat/Hello-World#1]"} {
		if !strings.Contains(body, want) {
			t.Errorf("digest lacks %q:\n%s", want, body)
		}
	}
	for _, not := range []string{"Not due yet", "Another organisation", "Not tasuki's"} {
		if strings.Contains(body, not) {
			t.Errorf("digest lists %q", not)
		}
	}
	e.clock.Set(parseTime("2026-03-16T08:00:00Z")) // the next week
	must(t, h.Digest(ctx, h.Logger(), e.gh, "Codertocat"))
	if n := len(digests()); n != 2 {
		t.Errorf("%d digests after two weeks, want 2", n)
	}
	// The App's daily job over every installation: installation 1 (acme)
	// has no digest_repo, installation 2 (Codertocat) gets this week's.
	e.srv.AddInstallation(2, "Codertocat")
	apps := installations{e.srv}
	h.Clients = apps
	e.clock.Set(parseTime("2026-03-23T08:00:00Z"))
	for range 2 {
		must(t, h.DigestInstallations(ctx, apps))
	}
	ds = digests()
	if len(ds) != 3 || !strings.Contains(ds[2].GetTitle(), "2026-W13") {
		t.Errorf("%d digests after the job, want this week's third", len(ds))
	}
}
