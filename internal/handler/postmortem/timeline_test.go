package postmortem

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/handler"
)

// /timeline comments with a time of day land on the comment's date in the
// repository's postmortem.timezone (or the day before), with an explicit
// zone when one is given, and their text stays readable in the raw body.
func TestTimelineTimeOfDay(t *testing.T) {
	e := newEnv(t)
	e.srv.PutFile(testRepo, "main", ".github/tasuki.yml", []byte("postmortem:\n  timezone: Europe/Berlin\n"))
	e.srv.AddIssue(testRepo, &github.Issue{Number: github.Int(1), Title: github.String("502s from payments-api v2.15.0"),
		Labels:    []*github.Label{{Name: github.String("incident")}, {Name: github.String("sev2")}},
		User:      &github.User{Login: github.String("Codertocat")},
		CreatedAt: &github.Timestamp{Time: parseTime("2026-11-25T08:00:00Z")}})
	h := e.newHandler(&handler.MemLocker{}, &handler.MemMemo{})
	h.Config = config.NewLoader()
	router := e.router(h)
	ctx := context.Background()
	e.clock.Set(parseTime("2026-11-25T08:05:00Z"))
	must(t, router.Dispatch(ctx, e.labeledDelivery(1)))
	pms := e.postmortems()
	if len(pms) != 1 {
		t.Fatalf("%d postmortems", len(pms))
	}
	pm := pms[0]

	person := clientAs(e, "octocat")
	tests := []struct {
		name, written, body, want string
	}{
		{"configured zone, today", "2026-11-25T09:10:00Z", "/timeline 09:35 rolled back payments-api to v2.14.1; 502s stopped",
			"- **2026-11-25 08:35 UTC (09:35 CET)** — rolled back payments-api to v2.14.1; 502s stopped ([by `octocat`]"},
		{"explicit UTC, after the comment so yesterday", "2026-11-25T09:20:00Z", "/timeline 23:50 UTC first alert fired",
			"- **2026-11-24 23:50 UTC (2026-11-25 00:50 CET)** — first alert fired ([by `octocat`]"},
		{"known abbreviation", "2026-11-25T09:30:00Z", "/timeline 08:00 EET pager went off",
			"- **2026-11-25 06:00 UTC (07:00 CET)** — pager went off ([by `octocat`]"},
		{"unreadable time is said", "2026-11-25T09:40:00Z", "/timeline 9:75 _oops_",
			"- **2026-11-25 09:40 UTC (10:40 CET)** — 9:75 \\_oops\\_ ([by `octocat`](https://github.com/Codertocat/Hello-World/issues/1#issuecomment-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.clock.Set(parseTime(tt.written))
			c, _, err := person.Issues.CreateComment(ctx, "Codertocat", "Hello-World", 1, &github.IssueComment{Body: github.String(tt.body)})
			must(t, err)
			e.srv.ResetCalls()
			must(t, router.Dispatch(ctx, e.commentDelivery(1, c)))
			got := e.srv.Issue(testRepo, pm.GetNumber()).GetBody()
			if !strings.Contains(got, tt.want) {
				t.Errorf("body lacks %q:\n%s", tt.want, got)
			}
			// One comment, one edit of the postmortem.
			if n := e.srv.CallCount("PATCH", "/repos/{owner}/{repo}/issues/{issue_number}"); n != 1 || e.srv.WriteCount() != 1 {
				t.Errorf("%d postmortem edits and %d writes, want 1 and 1", n, e.srv.WriteCount())
			}
		})
	}
	if got := e.srv.Issue(testRepo, pm.GetNumber()).GetBody(); !strings.Contains(got, "time not read: 9:75 is not a time of day") {
		t.Errorf("the unreadable time is not explained:\n%s", got)
	}
}

// A severity label GitHub reports twice (a replayed or duplicated timeline
// event) or that a responder adds again is no severity change, and a
// redundant label event costs no write.
func TestSeverityReplay(t *testing.T) {
	e := newEnv(t)
	e.srv.AddIssue(testRepo, &github.Issue{Number: github.Int(1), Title: github.String("Checkout down"),
		Labels:    []*github.Label{{Name: github.String("incident")}, {Name: github.String("sev2")}},
		User:      &github.User{Login: github.String("Codertocat")},
		CreatedAt: &github.Timestamp{Time: parseTime("2026-03-05T10:00:00Z")}})
	codertocat := &github.User{Login: github.String("Codertocat")}
	octocat := &github.User{Login: github.String("octocat")}
	// The same event again (another id, same everything else), and the
	// label added again later by someone else.
	e.srv.AddTimeline(testRepo, 1, &github.Timeline{Event: github.String("labeled"), Actor: codertocat,
		CreatedAt: &github.Timestamp{Time: parseTime("2026-03-05T10:00:00Z")}, Label: &github.Label{Name: github.String("sev2")}})
	e.srv.AddTimeline(testRepo, 1, &github.Timeline{Event: github.String("labeled"), Actor: octocat,
		CreatedAt: &github.Timestamp{Time: parseTime("2026-03-05T10:20:00Z")}, Label: &github.Label{Name: github.String("SEV2")}})
	e.srv.AddTimeline(testRepo, 1, &github.Timeline{Event: github.String("closed"), Actor: octocat,
		CreatedAt: &github.Timestamp{Time: parseTime("2026-03-05T10:30:00Z")}})
	e.srv.AddTimeline(testRepo, 1, &github.Timeline{Event: github.String("closed"), Actor: octocat,
		CreatedAt: &github.Timestamp{Time: parseTime("2026-03-05T10:30:00Z")}})
	h := e.newHandler(&handler.MemLocker{}, &handler.MemMemo{})
	ctx := context.Background()
	must(t, h.Handle(ctx, e.labeledDelivery(1)))
	pms := e.postmortems()
	if len(pms) != 1 {
		t.Fatalf("%d postmortems", len(pms))
	}
	body := pms[0].GetBody()
	for _, c := range []struct {
		text string
		n    int
	}{
		{"severity set to `sev2` by `Codertocat`", 1},
		{"from `sev2` to `sev2`", 0},
		{"severity changed", 0},
		{"severity label `sev2` added", 0},
		{"incident closed (resolved) by `octocat`", 1},
	} {
		if got := strings.Count(body, c.text); got != c.n {
			t.Errorf("%q appears %d times, want %d:\n%s", c.text, got, c.n, body)
		}
	}

	// A responder adds sev2 again: GitHub records nothing, the webhook
	// still arrives, and the postmortem is already right.
	_, _, err := clientAs(e, "octocat").Issues.AddLabelsToIssue(ctx, "Codertocat", "Hello-World", 1, []string{"sev2"})
	must(t, err)
	p := fixture(t, "issues.labeled.1.json")
	p["issue"] = jsonObject(t, e.srv.Issue(testRepo, 1))
	p["label"].(map[string]any)["name"] = "sev2"
	e.srv.ResetCalls()
	must(t, h.Handle(ctx, delivery(t, "issues", "labeled-sev2-again", p)))
	if n := e.srv.WriteCount(); n != 0 {
		t.Errorf("%d writes for a label that changed nothing", n)
	}
	if got := e.srv.Issue(testRepo, pms[0].GetNumber()).GetBody(); got != body {
		t.Errorf("postmortem changed")
	}
}
