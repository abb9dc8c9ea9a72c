package postmortem

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/command"
	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/ghwrite"
	"github.com/tasuki-sre/tasuki/internal/githubtest"
	"github.com/tasuki-sre/tasuki/internal/golden"
	"github.com/tasuki-sre/tasuki/internal/handler"
	"github.com/tasuki-sre/tasuki/internal/handler/commands"
	"github.com/tasuki-sre/tasuki/internal/marker"
	core "github.com/tasuki-sre/tasuki/internal/postmortem"
	"github.com/tasuki-sre/tasuki/internal/testenv"
)

const testRepo = "Codertocat/Hello-World"

// fakeClients hands every installation a fresh tasuki[bot] client of the fake
// (its tokens expire an hour after minting, on the fake's clock, like
// installation tokens).
type fakeClients struct{ srv *githubtest.Server }

func (s fakeClients) Client(context.Context, int64) (*github.Client, error) {
	return s.srv.Client(), nil
}

// fakeClock is a settable clock shared by the handler and the fake.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

type env struct {
	t     *testing.T
	srv   *githubtest.Server
	clock *fakeClock
	gh    *github.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	clock := &fakeClock{t: parseTime("2026-03-05T11:05:00Z")}
	srv := githubtest.New(t, githubtest.WithClock(clock.Now))
	srv.AddRepo(testRepo, "main")
	return &env{t: t, srv: srv, clock: clock, gh: srv.Client()}
}

func (e *env) newHandler(locker handler.Locker, memo ghwrite.Memo) *Handler {
	return New(&handler.Base{
		Clients:  fakeClients{e.srv},
		Log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		Locker:   locker,
		Memo:     memo,
		Identity: ghwrite.Identity{Logins: []string{"tasuki[bot]"}},
		Now:      e.clock.Now,
	}, handler.NewOwnership(nil, nil))
}

// router routes deliveries as the App does: to h, and to the command
// shell running h's verbs (/tasuki followup) over the same base.
func (e *env) router(h *Handler) *dispatch.Router {
	e.t.Helper()
	reg, err := commands.NewRegistry(h)
	must(e.t, err)
	r := dispatch.NewRouter(nil)
	r.Register(h, h.Handles()...)
	cmds := commands.New(&h.Base, reg, nil)
	r.Register(cmds, cmds.Handles()...)
	return r
}

// fixture reads a webhook payload from the shared fixtures as a map.
func fixture(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.Fixtures(t, "webhooks"), name))
	if err != nil {
		t.Fatal(err)
	}
	return object(t, b)
}

// jsonObject renders a fake issue (or comment) as a payload's object.
func jsonObject(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return object(t, b)
}

func object(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func delivery(t *testing.T, event, id string, payload map[string]any) dispatch.Delivery {
	t.Helper()
	b, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	action, _ := payload["action"].(string)
	return dispatch.Delivery{ID: id, Event: event, Action: action, InstallationID: 1, Repository: testRepo, Payload: b}
}

// labeledDelivery is the real issues.labeled fixture with its label renamed
// to "incident" and its issue replaced by the current state of incident n.
func (e *env) labeledDelivery(n int) dispatch.Delivery {
	p := fixture(e.t, "issues.labeled.1.json")
	p["issue"] = jsonObject(e.t, e.srv.Issue(testRepo, n))
	p["label"].(map[string]any)["name"] = "incident"
	return delivery(e.t, "issues", "labeled-1", p)
}

// closedDelivery derives an issues.closed payload from the issues.labeled
// fixture (@octokit/webhooks-examples has no issues.closed example): action
// "closed", and the issue as the fake holds it after being closed (state
// "closed", closed_at set).
func (e *env) closedDelivery(n int) dispatch.Delivery {
	p := fixture(e.t, "issues.labeled.1.json")
	p["action"] = "closed"
	delete(p, "label")
	p["issue"] = jsonObject(e.t, e.srv.Issue(testRepo, n))
	return delivery(e.t, "issues", "closed-1", p)
}

// commentDelivery is the real issue_comment.created fixture carrying body on
// issue n, by login.
func (e *env) commentDelivery(n int, c *github.IssueComment) dispatch.Delivery {
	p := fixture(e.t, "issue_comment.created.1.json")
	p["issue"] = jsonObject(e.t, e.srv.Issue(testRepo, n))
	p["comment"] = jsonObject(e.t, c)
	if c.AuthorAssociation == nil {
		// GitHub's payloads always carry one, the fake's comments none;
		// the responders are the repository's collaborators.
		p["comment"].(map[string]any)["author_association"] = "COLLABORATOR"
	}
	p["sender"] = map[string]any{"login": c.GetUser().GetLogin(), "id": 1, "type": "User"}
	return delivery(e.t, "issue_comment", fmt.Sprintf("comment-%d", c.GetID()), p)
}

func (e *env) postmortems() []*github.Issue {
	var out []*github.Issue
	for _, is := range e.srv.Issues(testRepo) {
		if core.PostmortemOf(is.GetBody()) != "" {
			out = append(out, is)
		}
	}
	return out
}

func (e *env) commentsWith(n int, kind string) []*github.IssueComment {
	var out []*github.IssueComment
	for _, c := range e.srv.Comments(testRepo, n) {
		for _, m := range marker.Find(c.GetBody()) {
			if m.Kind == kind {
				out = append(out, c)
			}
		}
	}
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// seedIncident seeds incident #1 (a sev2 with an "Impact started" line) and
// the changes around it: pull requests and deployments inside the 72h
// window, after the start, and before the window, plus 120 old merged pull
// requests that must not cost a second page.
func (e *env) seedIncident() *github.Issue {
	inc := e.srv.AddIssue(testRepo, &github.Issue{
		Number: github.Int(1), Title: github.String("Checkout returns 500 for @everyone <img src=x>"),
		Body:      github.String("Card payments fail.\n\nImpact started: 2026-03-05 10:00 UTC\n"),
		User:      &github.User{Login: github.String("Codertocat")},
		Labels:    []*github.Label{{Name: github.String("incident")}, {Name: github.String("sev3")}, {Name: github.String("sev2")}},
		Assignees: []*github.User{{Login: github.String("octocat")}},
		CreatedAt: &github.Timestamp{Time: parseTime("2026-03-05T11:00:00Z")},
	})
	merged := func(title, at string) {
		t := parseTime(at)
		// The fake keeps updated_at at creation; a merge updates a pull
		// request on GitHub, so create it at its merge time.
		e.srv.AddPull(testRepo, &github.PullRequest{Title: github.String(title), CreatedAt: &github.Timestamp{Time: t},
			MergedAt: &github.Timestamp{Time: t}, MergedBy: &github.User{Login: github.String("hubot")}})
	}
	for i := 0; i < 120; i++ {
		merged(fmt.Sprintf("old change %d", i), "2026-02-01T00:00:00Z")
	}
	merged("Raise DB pool size", "2026-03-04T09:00:00Z")
	merged("Pre-window refactor", "2026-03-02T09:59:00Z")
	merged("After-start hotfix", "2026-03-05T10:30:00Z")
	merged("Cache checkout tokens", "2026-03-05T08:15:00Z")
	e.srv.AddDeployment(testRepo, &github.Deployment{SHA: github.String("0123456789abcdef0123456789abcdef01234567"), Ref: github.String("main"),
		Environment: github.String("production"), Creator: &github.User{Login: github.String("deployer")},
		CreatedAt: &github.Timestamp{Time: parseTime("2026-02-20T10:00:00Z")}})
	d := e.srv.AddDeployment(testRepo, &github.Deployment{SHA: github.String("fedcba9876543210fedcba9876543210fedcba98"), Ref: github.String("main"),
		Environment: github.String("production"), Creator: &github.User{Login: github.String("deployer")},
		CreatedAt: &github.Timestamp{Time: parseTime("2026-03-05T09:40:00Z")}})
	ctx := context.Background()
	e.clock.Set(parseTime("2026-03-05T09:41:00Z"))
	_, _, err := e.gh.Repositories.CreateDeploymentStatus(ctx, "Codertocat", "Hello-World", d.GetID(), &github.DeploymentStatusRequest{State: github.String("in_progress")})
	must(e.t, err)
	e.clock.Set(parseTime("2026-03-05T09:45:00Z"))
	_, _, err = e.gh.Repositories.CreateDeploymentStatus(ctx, "Codertocat", "Hello-World", d.GetID(), &github.DeploymentStatusRequest{State: github.String("success")})
	must(e.t, err)
	e.clock.Set(parseTime("2026-03-05T11:05:00Z"))
	e.srv.ResetCalls()
	return inc
}

func TestLifecycle(t *testing.T) {
	e := newEnv(t)
	e.seedIncident()
	ctx := context.Background()
	locker, memo := &handler.MemLocker{}, &handler.MemMemo{}
	h := e.newHandler(locker, memo)
	router := e.router(h)

	t.Run("one postmortem under redelivery and concurrent workers", func(t *testing.T) {
		d := e.labeledDelivery(1)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Each worker has its own handler (as each replica would),
				// sharing the locker and memo as the store provides them.
				errs <- e.newHandler(locker, memo).Handle(ctx, d)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			must(t, err)
		}
		must(t, router.Dispatch(ctx, d)) // a redelivery
		if got := len(e.postmortems()); got != 1 {
			t.Fatalf("%d postmortems, want 1", got)
		}
		if got := len(e.commentsWith(1, core.KindLink)); got != 1 {
			t.Errorf("%d link comments on the incident, want 1", got)
		}
		if got := e.srv.CallCount("POST", "/repos/{owner}/{repo}/issues"); got != 1 {
			t.Errorf("%d issue creations, want 1", got)
		}
	})

	pm := e.postmortems()[0]
	t.Run("title, labels, assignees and true facts", func(t *testing.T) {
		if pm.GetTitle() != "Postmortem: Checkout returns 500 for @everyone <img src=x>" {
			t.Errorf("title %q", pm.GetTitle())
		}
		if diff := cmp.Diff([]string{"postmortem", "sev2"}, labelNames(pm.Labels)); diff != "" {
			t.Errorf("labels (-want +got):\n%s", diff)
		}
		// No ownership files: the incident's assignee owns the follow-up.
		if diff := cmp.Diff([]string{"octocat"}, logins(pm.Assignees)); diff != "" {
			t.Errorf("assignees (-want +got):\n%s", diff)
		}
		body := pm.GetBody()
		t.Logf("postmortem body:\n%s", body)
		for _, want := range []string{
			"- **Incident:** [Codertocat/Hello-World#1](https://github.com/Codertocat/Hello-World/issues/1)",
			"- **Severity:** `sev2`",
			"- **Impact started:** 2026-03-05 10:00 UTC — from the incident's \"Impact started\" line",
			"- **Detected:** 2026-03-05 11:00 UTC — incident opened",
			"- **Resolved:** _not yet — the incident is open_",
			"Raise DB pool size, merged by `hubot`",
			"Cache checkout tokens, merged by `hubot`",
			"of `fedcba9` to `production` in `Codertocat/Hello-World` by `deployer`, `success` at 2026-03-05 09:45 UTC",
			"## Action items", "## Where we got lucky", "SLO / error budget spent",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("body lacks %q", want)
			}
		}
		for _, not := range []string{"window refactor", "start hotfix", "old change", "0123456", " <img", "@everyone"} {
			if strings.Contains(body, not) {
				t.Errorf("body contains %q", not)
			}
		}
		// The changes cost one page of pull requests, one of deployments
		// and one status request per deployment in the window.
		for _, c := range []struct {
			tmpl string
			want int
		}{
			{"/repos/{owner}/{repo}/pulls", 1},
			{"/repos/{owner}/{repo}/deployments", 1},
			{"/repos/{owner}/{repo}/deployments/{deployment_id}/statuses", 1},
		} {
			if got := e.srv.CallCount("GET", c.tmpl); got != c.want {
				t.Errorf("GET %s called %d times, want %d", c.tmpl, got, c.want)
			}
		}
	})

	t.Run("timeline comments update only generated sections", func(t *testing.T) {
		// A responder writes the summary and an action item by hand.
		person := clientAs(e, "octocat")
		body := strings.Replace(e.srv.Issue(testRepo, pm.GetNumber()).GetBody(), "## Summary\n", "## Summary\n\nA token cache stampede took checkout down.\n", 1)
		_, _, err := person.Issues.Edit(ctx, "Codertocat", "Hello-World", pm.GetNumber(), &github.IssueRequest{Body: &body})
		must(t, err)
		e.clock.Set(parseTime("2026-03-05T11:20:00Z"))
		c, _, err := person.Issues.CreateComment(ctx, "Codertocat", "Hello-World", 1, &github.IssueComment{Body: github.String("/timeline 2026-03-05 10:02 UTC first 500s on the dashboard")})
		must(t, err)
		must(t, router.Dispatch(ctx, e.commentDelivery(1, c)))
		got := e.srv.Issue(testRepo, pm.GetNumber()).GetBody()
		for _, want := range []string{
			"A token cache stampede took checkout down.",
			"- **2026-03-05 10:02 UTC** — first 500s on the dashboard ([by `octocat`]",
			"- **2026-03-05 11:00 UTC** — severity set to `sev3` by `Codertocat`",
			"- **Responders:** `octocat`",
		} {
			if !strings.Contains(got, want) {
				t.Errorf("body lacks %q:\n%s", want, got)
			}
		}
	})

	t.Run("a corrected impact start lists the changes again", func(t *testing.T) {
		person := clientAs(e, "octocat")
		inc := e.srv.Issue(testRepo, 1)
		body := strings.Replace(inc.GetBody(), "Impact started: 2026-03-05 10:00 UTC", "Impact started: 2026-03-05 11:00 UTC", 1)
		_, _, err := person.Issues.Edit(ctx, "Codertocat", "Hello-World", 1, &github.IssueRequest{Body: &body})
		must(t, err)
		p := fixture(t, "issues.edited.1.json")
		p["issue"] = jsonObject(t, e.srv.Issue(testRepo, 1))
		e.srv.ResetCalls()
		must(t, router.Dispatch(ctx, delivery(t, "issues", "edited-1", p)))
		got := e.srv.Issue(testRepo, pm.GetNumber()).GetBody()
		if !strings.Contains(got, `After\-start hotfix`) || !strings.Contains(got, "impact started, 2026-03-05 11:00 UTC:") {
			t.Errorf("changes not listed again for the new start:\n%s", got)
		}
		if !strings.Contains(got, "A token cache stampede took checkout down.") {
			t.Error("person text lost")
		}
		// The next event does not list them again.
		e.srv.ResetCalls()
		must(t, router.Dispatch(ctx, delivery(t, "issues", "edited-2", p)))
		if n := e.srv.CallCount("GET", "/repos/{owner}/{repo}/pulls"); n != 0 {
			t.Errorf("pull requests listed %d times for an unchanged start", n)
		}
		// Back to the original start for the checks below.
		body = strings.Replace(body, "2026-03-05 11:00 UTC", "2026-03-05 10:00 UTC", 1)
		_, _, err = person.Issues.Edit(ctx, "Codertocat", "Hello-World", 1, &github.IssueRequest{Body: &body})
		must(t, err)
		p["issue"] = jsonObject(t, e.srv.Issue(testRepo, 1))
		must(t, router.Dispatch(ctx, delivery(t, "issues", "edited-3", p)))
	})

	t.Run("severity follows the incident", func(t *testing.T) {
		person := clientAs(e, "octocat")
		_, _, err := person.Issues.AddLabelsToIssue(ctx, "Codertocat", "Hello-World", 1, []string{"sev1"})
		must(t, err)
		p := fixture(t, "issues.labeled.1.json")
		p["issue"] = jsonObject(t, e.srv.Issue(testRepo, 1))
		p["label"].(map[string]any)["name"] = "sev1"
		must(t, router.Dispatch(ctx, delivery(t, "issues", "labeled-sev1", p)))
		is := e.srv.Issue(testRepo, pm.GetNumber())
		if diff := cmp.Diff([]string{"postmortem", "sev1"}, labelNames(is.Labels)); diff != "" {
			t.Errorf("labels (-want +got):\n%s", diff)
		}
		if !strings.Contains(is.GetBody(), "severity changed from `sev2` to `sev1` by `octocat`") || !strings.Contains(is.GetBody(), "- **Severity:** `sev1`") {
			t.Errorf("body does not show the new severity")
		}
		// Back to sev2 for the due date below.
		_, err = person.Issues.RemoveLabelForIssue(ctx, "Codertocat", "Hello-World", 1, "sev1")
		must(t, err)
	})

	t.Run("closing fills resolved, duration and due", func(t *testing.T) {
		// Closed Friday 2026-03-06 15:30 UTC; sev2 is due 10 business days
		// later: Friday 2026-03-20.
		e.clock.Set(parseTime("2026-03-06T15:30:00Z"))
		_, _, err := clientAs(e, "octocat").Issues.Edit(ctx, "Codertocat", "Hello-World", 1, &github.IssueRequest{State: github.String("closed")})
		must(t, err)
		must(t, router.Dispatch(ctx, e.closedDelivery(1)))
		got := e.srv.Issue(testRepo, pm.GetNumber()).GetBody()
		for _, want := range []string{
			"- **Resolved:** 2026-03-06 15:30 UTC — incident closed",
			"- **Duration:** 1d 5h 30m",
			"<!-- tasuki:begin duration -->1d 5h 30m<!-- tasuki:end duration -->",
			"- **Postmortem due:** **2026-03-20** (10 business days after resolution, `sev2`)",
			"incident closed (resolved) by `octocat`",
			"A token cache stampede took checkout down.",
		} {
			if !strings.Contains(got, want) {
				t.Errorf("body lacks %q", want)
			}
		}
	})

	t.Run("overdue reminder fires once", func(t *testing.T) {
		e.clock.Set(parseTime("2026-03-20T12:00:00Z"))
		must(t, h.Sweep(ctx, "Codertocat", "Hello-World"))
		if got := len(e.commentsWith(pm.GetNumber(), core.KindReminder)); got != 0 {
			t.Fatalf("reminded on the due day")
		}
		e.clock.Set(parseTime("2026-03-21T08:00:00Z"))
		for i := 0; i < 3; i++ {
			must(t, h.Sweep(ctx, "Codertocat", "Hello-World"))
		}
		// Another replica with its own locker, the next day.
		e.clock.Set(parseTime("2026-03-22T08:00:00Z"))
		must(t, e.newHandler(&handler.MemLocker{}, &handler.MemMemo{}).Sweep(ctx, "Codertocat", "Hello-World"))
		rs := e.commentsWith(pm.GetNumber(), core.KindReminder)
		if len(rs) != 1 {
			t.Fatalf("%d reminders, want 1", len(rs))
		}
		if !strings.Contains(rs[0].GetBody(), "- @octocat: the postmortem was due on **2026-03-20**; it still needs the sections “Summary”, “Impact”, “Contributing factors”, “Action items” filled in; a review sign-off (`/tasuki approve` by someone other than its author); action items — reminder 1 of 3, to the owner.") {
			t.Errorf("reminder: %s", rs[0].GetBody())
		}
	})

	var followups []*github.Issue
	t.Run("followup opens issues once and links them", func(t *testing.T) {
		person := clientAs(e, "octocat")
		body := strings.Replace(e.srv.Issue(testRepo, pm.GetNumber()).GetBody(), "## Supporting links",
			"- [ ] Add jitter to token refresh — owner: @octocat — type: prevent — priority: P1 — due: 2026-04-01\n- [ ] Alert on checkout 5xx rate — type: mitigate\n- [x] Roll back — type: mitigate\n\n## Supporting links", 1)
		_, _, err := person.Issues.Edit(ctx, "Codertocat", "Hello-World", pm.GetNumber(), &github.IssueRequest{Body: &body})
		must(t, err)
		c, _, err := person.Issues.CreateComment(ctx, "Codertocat", "Hello-World", pm.GetNumber(), &github.IssueComment{Body: github.String("/tasuki followup")})
		must(t, err)
		d := e.commentDelivery(pm.GetNumber(), c)
		must(t, router.Dispatch(ctx, d))
		must(t, router.Dispatch(ctx, d))                                                           // redelivered
		must(t, e.router(e.newHandler(&handler.MemLocker{}, &handler.MemMemo{})).Dispatch(ctx, d)) // another replica, nothing remembered
		for _, is := range e.srv.Issues(testRepo) {
			if strings.HasPrefix(is.GetTitle(), "Action item: ") {
				followups = append(followups, is)
			}
		}
		var titles []string
		for _, f := range followups {
			titles = append(titles, f.GetTitle()+" @"+strings.Join(logins(f.Assignees), ","))
		}
		if diff := cmp.Diff([]string{"Action item: Add jitter to token refresh @octocat", "Action item: Alert on checkout 5xx rate @"}, titles); diff != "" {
			t.Fatalf("follow-up issues (-want +got):\n%s", diff)
		}
		// Labelled for tracking, with the item's priority, and linking back.
		if diff := cmp.Diff([]string{"postmortem-action", "P1"}, labelNames(followups[0].Labels)); diff != "" {
			t.Errorf("labels of the first follow-up (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"postmortem-action"}, labelNames(followups[1].Labels)); diff != "" {
			t.Errorf("labels of the second follow-up (-want +got):\n%s", diff)
		}
		for _, want := range []string{"Action item from the postmortem [Codertocat/Hello-World#" + fmt.Sprint(pm.GetNumber()) + "](" + pm.GetHTMLURL() + ")", "- **Priority:** P1", "- **Due:** 2026-04-01"} {
			if !strings.Contains(followups[0].GetBody(), want) {
				t.Errorf("follow-up body lacks %q:\n%s", want, followups[0].GetBody())
			}
		}
		got := e.srv.Issue(testRepo, pm.GetNumber()).GetBody()
		for _, want := range []string{
			fmt.Sprintf("- [ ] Add jitter to token refresh — owner: @octocat — type: prevent — priority: P1 — due: 2026-04-01 — #%d\n", followups[0].GetNumber()),
			fmt.Sprintf("- [ ] Alert on checkout 5xx rate — type: mitigate — #%d\n", followups[1].GetNumber()),
			"- [x] Roll back — type: mitigate\n",
		} {
			if !strings.Contains(got, want) {
				t.Errorf("body lacks %q", want)
			}
		}
		if n := len(e.commentsWith(pm.GetNumber(), core.KindFollowup)); n != 1 {
			t.Errorf("%d followup replies, want 1", n)
		}
	})

	t.Run("help answers once", func(t *testing.T) {
		c, _, err := clientAs(e, "octocat").Issues.CreateComment(ctx, "Codertocat", "Hello-World", 1, &github.IssueComment{Body: github.String("/tasuki help")})
		must(t, err)
		d := e.commentDelivery(1, c)
		must(t, router.Dispatch(ctx, d))
		must(t, router.Dispatch(ctx, d))
		// The command shell answers, listing every feature's verbs.
		hs := e.commentsWith(1, command.KindReply)
		if len(hs) != 1 {
			t.Fatalf("help replies: %d", len(hs))
		}
		golden.Assert(t, filepath.Join("testdata", "help.golden.md"),
			strings.ReplaceAll(hs[0].GetBody(), fmt.Sprintf("key=%d ", c.GetID()), "key=COMMENT-ID "))
	})

	t.Run("not complete while blank or unapproved", func(t *testing.T) {
		for _, f := range followups {
			_, _, err := clientAs(e, "octocat").Issues.Edit(ctx, "Codertocat", "Hello-World", f.GetNumber(), &github.IssueRequest{State: github.String("closed")})
			must(t, err)
		}
		// Every action item is done, but the narrative is still blank and
		// nobody signed it off: it stays open.
		must(t, h.Sweep(ctx, "Codertocat", "Hello-World"))
		if is := e.srv.Issue(testRepo, pm.GetNumber()); is.GetState() != "open" {
			t.Fatal("closed while blank and unapproved")
		}
		// The incident's author may not sign off; the refusal records nothing.
		c, _, err := clientAs(e, "Codertocat").Issues.CreateComment(ctx, "Codertocat", "Hello-World", pm.GetNumber(), &github.IssueComment{Body: github.String("/tasuki approve")})
		must(t, err)
		must(t, router.Dispatch(ctx, e.commentDelivery(pm.GetNumber(), c)))
		rs := e.commentsWith(pm.GetNumber(), core.KindApproval)
		if len(rs) != 1 || !strings.Contains(rs[0].GetBody(), "`Codertocat` cannot sign off this postmortem") {
			t.Fatalf("refusal: %v", rs)
		}
		if _, found, _ := core.DecodeState(rs[0].GetBody()); found {
			t.Error("the refusal records a sign-off")
		}
		// Someone else signs off; blank sections still keep it open.
		c, _, err = clientAs(e, "hubot").Issues.CreateComment(ctx, "Codertocat", "Hello-World", pm.GetNumber(), &github.IssueComment{Body: github.String("/tasuki approve")})
		must(t, err)
		d := e.commentDelivery(pm.GetNumber(), c)
		must(t, router.Dispatch(ctx, d))
		must(t, router.Dispatch(ctx, d)) // redelivered
		rs = e.commentsWith(pm.GetNumber(), core.KindApproval)
		if len(rs) != 2 || !strings.Contains(rs[1].GetBody(), "Signed off by `hubot` on 2026-03-22 08:00 UTC. Before it closes it still needs the sections “Summary”, “Impact”, “Contributing factors” filled in.") {
			t.Fatalf("sign-off replies: %d\n%s", len(rs), rs[len(rs)-1].GetBody())
		}
		must(t, h.Sweep(ctx, "Codertocat", "Hello-World"))
		if is := e.srv.Issue(testRepo, pm.GetNumber()); is.GetState() != "open" {
			t.Fatal("closed while required sections are blank")
		}
		// A person forging a sign-off block in their own comment changes nothing.
		forged := core.EncodeState(core.Record{Approval: &core.Approval{By: "mallory", At: e.clock.Now()}})
		_, _, err = clientAs(e, "mallory").Issues.CreateComment(ctx, "Codertocat", "Hello-World", pm.GetNumber(), &github.IssueComment{Body: &forged})
		must(t, err)
	})

	t.Run("complete once written, approved and done", func(t *testing.T) {
		person := clientAs(e, "octocat")
		body := e.srv.Issue(testRepo, pm.GetNumber()).GetBody()
		for _, sec := range []string{"## Impact\n", "## Contributing factors\n"} {
			body = strings.Replace(body, sec, sec+"\nWritten by a person.\n", 1)
		}
		// The summary tasuki drafted from the incident is kept: its note goes.
		body = strings.Replace(body, core.DraftNote, "", 1)
		_, _, err := person.Issues.Edit(ctx, "Codertocat", "Hello-World", pm.GetNumber(), &github.IssueRequest{Body: &body})
		must(t, err)
		e.clock.Set(parseTime("2026-03-23T08:00:00Z"))
		must(t, h.Sweep(ctx, "Codertocat", "Hello-World"))
		must(t, h.Sweep(ctx, "Codertocat", "Hello-World"))
		is := e.srv.Issue(testRepo, pm.GetNumber())
		if is.GetState() != "closed" || !hasLabel(labelNames(is.Labels), "postmortem-complete") {
			t.Errorf("state %s labels %v", is.GetState(), labelNames(is.Labels))
		}
		cs := e.commentsWith(pm.GetNumber(), core.KindComplete)
		if len(cs) != 1 {
			t.Fatalf("%d completion comments, want 1", len(cs))
		}
		for _, want := range []string{
			"- **Written:** the required sections are filled in (“Summary”, “Impact”, “Timeline”, “Contributing factors”, “Action items”), as read on 2026-03-23 08:00 UTC.",
			"by `hubot` on 2026-03-22 08:00 UTC.",
			"- **Action items:** all 3 done (1 checked, 2 with their issue closed, the last on 2026-03-22 08:00 UTC).",
		} {
			if !strings.Contains(cs[0].GetBody(), want) {
				t.Errorf("completion comment lacks %q:\n%s", want, cs[0].GetBody())
			}
		}
	})
}

func clientAs(e *env, login string) *github.Client { return e.srv.ClientAs(login) }

// Two replicas without a shared lock, one after the other: the marker
// lookup finds the first one's postmortem and link comment.
func TestSeparateLockers(t *testing.T) {
	e := newEnv(t)
	e.seedIncident()
	ctx := context.Background()
	d := e.labeledDelivery(1)
	must(t, e.newHandler(&handler.MemLocker{}, &handler.MemMemo{}).Handle(ctx, d))
	opened, writes := len(e.srv.Calls()), e.srv.WriteCount()
	t.Logf("opening a postmortem took %d requests, %d of them writes", opened, writes)
	if writes != 2 {
		t.Errorf("%d writes to open a postmortem, want 2 (issue, link comment)", writes)
	}
	must(t, e.newHandler(&handler.MemLocker{}, &handler.MemMemo{}).Handle(ctx, d))
	if got := e.srv.WriteCount(); got != writes {
		t.Errorf("the second replica wrote %d times", got-writes)
	}
	if got := len(e.postmortems()); got != 1 {
		t.Fatalf("%d postmortems, want 1", got)
	}
	if got := len(e.commentsWith(1, core.KindLink)); got != 1 {
		t.Errorf("%d link comments, want 1", got)
	}
}

func TestBadOverride(t *testing.T) {
	e := newEnv(t)
	e.seedIncident()
	e.srv.PutFile(testRepo, "main", ".github/tasuki/postmortem.md", []byte("# {{.Title}}\n\n## Timeline\n{{generated \"timeline\"}\n"))
	ctx := context.Background()
	d := e.labeledDelivery(1)
	h := e.newHandler(&handler.MemLocker{}, &handler.MemMemo{})
	must(t, h.Handle(ctx, d))
	must(t, h.Handle(ctx, e.labeledDelivery(1)))
	pms := e.postmortems()
	if len(pms) != 1 || !strings.Contains(pms[0].GetBody(), "## Where we got lucky") {
		t.Fatalf("postmortem not from the built-in template")
	}
	cs := e.commentsWith(1, core.KindTemplate)
	if len(cs) != 1 {
		t.Fatalf("%d template error comments, want 1", len(cs))
	}
	for _, want := range []string{"`Codertocat/Hello-World:.github/tasuki/postmortem.md` line 4", "built-in template"} {
		if !strings.Contains(cs[0].GetBody(), want) {
			t.Errorf("comment lacks %q:\n%s", want, cs[0].GetBody())
		}
	}
}

// Every issues and issue_comment fixture goes through the router without
// error or panic, once as shipped and once with the incident label.
func TestAllFixtures(t *testing.T) {
	dir := testenv.Fixtures(t, "webhooks")
	var names []string
	for _, pat := range []string{"issues.*.json", "issue_comment.*.json"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		must(t, err)
		names = append(names, m...)
	}
	if len(names) < 30 {
		t.Fatalf("only %d fixtures found", len(names))
	}
	e := newEnv(t)
	e.srv.AddIssue(testRepo, &github.Issue{Number: github.Int(1), Title: github.String("Spelling error in the README file"),
		Labels: []*github.Label{{Name: github.String("incident")}}, User: &github.User{Login: github.String("Codertocat")}})
	e.srv.AddIssue(testRepo, &github.Issue{Number: github.Int(2), Title: github.String("a PR's issue")})
	router := e.router(e.newHandler(&handler.MemLocker{}, &handler.MemMemo{}))
	ctx := context.Background()
	for _, path := range names {
		raw, err := os.ReadFile(path)
		must(t, err)
		event, _, _ := strings.Cut(filepath.Base(path), ".")
		for _, variant := range []string{"as shipped", "incident"} {
			t.Run(filepath.Base(path)+"/"+variant, func(t *testing.T) {
				payload := raw
				if variant == "incident" {
					payload = []byte(strings.ReplaceAll(string(raw), `"name": "bug"`, `"name": "incident"`))
				}
				var head struct {
					Action string `json:"action"`
				}
				_ = json.Unmarshal(payload, &head)
				d := dispatch.Delivery{ID: filepath.Base(path), Event: event, Action: head.Action, InstallationID: 1, Payload: payload}
				if err := router.Dispatch(ctx, d); err != nil {
					t.Errorf("dispatch: %v", err)
				}
			})
		}
	}
	// The incident fixtures opened exactly one postmortem for #1.
	if got := len(e.postmortems()); got != 1 {
		t.Errorf("%d postmortems after all fixtures, want 1", got)
	}
}

// The ownership model routes the postmortem: a service label names the
// service, the config maps it to its team's SREs and to a second
// repository whose merged pull requests count as "what changed just
// before"; the issue form's Severity field stands in for a missing label.
func TestOwnershipAndServiceRepos(t *testing.T) {
	e := newEnv(t)
	e.srv.AddRepo("Codertocat/checkout-web", "main")
	e.srv.PutFile(testRepo, "main", ".github/tasuki.yml", []byte(`ownership:
  teams:
    payments:
      sres: [sre-alice, sre-bob]
  services:
    checkout:
      repos: [Hello-World, checkout-web]
      team: payments
postmortem:
  timezone: Europe/Berlin
  change_window: 24h
`))
	e.srv.AddIssue(testRepo, &github.Issue{Number: github.Int(1), Title: github.String("Checkout down"),
		Body:      github.String("### Severity\n\nsev1\n\n### Impact started\n\n2026-03-05 10:00 UTC\n"),
		Labels:    []*github.Label{{Name: github.String("incident")}, {Name: github.String("service:checkout")}},
		Assignees: []*github.User{{Login: github.String("octocat")}},
		CreatedAt: &github.Timestamp{Time: parseTime("2026-03-05T10:10:00Z")}})
	for _, pr := range []struct{ repo, title, at string }{
		{"Codertocat/checkout-web", "Web: new payment button", "2026-03-05T09:00:00Z"},
		{"Codertocat/checkout-web", "Web: two days ago", "2026-03-03T09:00:00Z"},
	} {
		at := &github.Timestamp{Time: parseTime(pr.at)}
		e.srv.AddPull(pr.repo, &github.PullRequest{Title: github.String(pr.title), CreatedAt: at, MergedAt: at})
	}
	h := e.newHandler(&handler.MemLocker{}, &handler.MemMemo{})
	h.Config = config.NewLoader()
	h.Owners = handler.NewOwnership(h.Config, nil)
	must(t, h.Handle(context.Background(), e.labeledDelivery(1)))
	pms := e.postmortems()
	if len(pms) != 1 {
		t.Fatalf("%d postmortems", len(pms))
	}
	pm := pms[0]
	if diff := cmp.Diff([]string{"sre-alice", "sre-bob"}, logins(pm.Assignees)); diff != "" {
		t.Errorf("assignees (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"postmortem", "sev1"}, labelNames(pm.Labels)); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	for _, want := range []string{
		"- **Service:** `checkout` · team `payments`",
		"in the 24h before impact started, 2026-03-05 10:00 UTC (11:00 CET)",
		"[Codertocat/checkout-web#1](https://github.com/Codertocat/checkout-web/pull/1) Web\\: new payment button",
	} {
		if !strings.Contains(pm.GetBody(), want) {
			t.Errorf("body lacks %q\n%s", want, pm.GetBody())
		}
	}
	if strings.Contains(pm.GetBody(), "two days ago") {
		t.Error("a pull request outside the 24h window is listed")
	}
}

// installations hands out the fake's installation clients, as
// ghclient.Clients does with real installation tokens, and the App's JWT
// client (AppLister).
type installations struct{ srv *githubtest.Server }

func (s installations) Client(_ context.Context, id int64) (*github.Client, error) {
	return s.srv.InstallationClient(id), nil
}

func (s installations) App() *github.Client { return s.srv.AppClient() }

func TestSweepInstallations(t *testing.T) {
	e := newEnv(t)
	// Installation 1 (acme) has no repositories; installation 2 has the
	// incident's, a quiet one and an archived one.
	e.srv.AddInstallation(2, "Codertocat")
	e.srv.AddRepo("Codertocat/quiet", "main")
	e.srv.AddRepo("Codertocat/attic", "main")
	e.srv.EditRepo("Codertocat/attic", func(r *github.Repository) { r.Archived = github.Bool(true) })
	pmBody := "<!-- tasuki:begin facts -->\n- due\n<!-- tasuki:postmortem-due key=2026-03-02 v=1 -->\n<!-- tasuki:end facts -->\n\n<!-- tasuki:postmortem key=Codertocat/Hello-World#1 v=1 -->\n"
	pm := e.srv.AddIssue(testRepo, &github.Issue{Title: github.String("Postmortem: x"), Body: &pmBody,
		Labels:    []*github.Label{{Name: github.String("postmortem")}},
		Assignees: []*github.User{{Login: github.String("octocat")}}})
	apps := installations{e.srv}
	h := e.newHandler(&handler.MemLocker{}, &handler.MemMemo{})
	h.Clients = apps
	e.clock.Set(parseTime("2026-03-05T09:00:00Z"))
	e.srv.ResetCalls()
	ctx := context.Background()
	must(t, h.SweepInstallations(ctx, apps))
	must(t, h.SweepInstallations(ctx, apps))
	rs := e.commentsWith(pm.GetNumber(), core.KindReminder)
	if len(rs) != 1 || !strings.Contains(rs[0].GetBody(), "- @octocat: the postmortem was due on **2026-03-02**") {
		t.Fatalf("reminders: %d", len(rs))
	}
	swept := map[string]bool{}
	for _, c := range e.srv.Calls() {
		if strings.Contains(c.Path, "/attic/") {
			t.Errorf("archived repository swept: %s %s", c.Method, c.Path)
		}
		if c.Method == "GET" && c.Template == "/repos/{owner}/{repo}/issues" {
			swept[strings.Join(strings.Split(c.Path, "/")[2:4], "/")] = true
		}
	}
	if diff := cmp.Diff(map[string]bool{testRepo: true, "Codertocat/quiet": true}, swept); diff != "" {
		t.Errorf("repositories swept (-want +got):\n%s", diff)
	}
	if n := e.srv.CallCount("GET", "/installation/repositories"); n != 4 {
		t.Errorf("%d repository listings, want 4 (two installations, two sweeps)", n)
	}
}

// postmortem.repository sends postmortems to a central repository; the
// incident's comment links there and a redelivery still finds it.
func TestCentralRepository(t *testing.T) {
	e := newEnv(t)
	e.srv.AddRepo("Codertocat/postmortems", "main")
	e.srv.PutFile(testRepo, "main", ".github/tasuki.yml", []byte("postmortem:\n  repository: postmortems\n  incident_labels: [outage]\n"))
	e.srv.AddIssue(testRepo, &github.Issue{Number: github.Int(1), Title: github.String("API down"),
		Labels: []*github.Label{{Name: github.String("outage")}, {Name: github.String("sev4")}}})
	h := e.newHandler(&handler.MemLocker{}, &handler.MemMemo{})
	h.Config = config.NewLoader()
	p := fixture(t, "issues.labeled.1.json")
	p["issue"] = jsonObject(t, e.srv.Issue(testRepo, 1))
	p["label"].(map[string]any)["name"] = "outage"
	d := delivery(t, "issues", "outage-1", p)
	ctx := context.Background()
	must(t, h.Handle(ctx, d))
	replica := e.newHandler(&handler.MemLocker{}, &handler.MemMemo{})
	replica.Config = config.NewLoader()
	e.srv.ResetCalls()
	must(t, replica.Handle(ctx, d))
	if e.srv.CallCount("GET", "/repos/{owner}/{repo}/issues") == 0 || e.srv.WriteCount() != 0 {
		t.Errorf("the replica did not look for the postmortem, or wrote")
	}
	var pms []*github.Issue
	for _, is := range e.srv.Issues("Codertocat/postmortems") {
		if core.PostmortemOf(is.GetBody()) == "Codertocat/Hello-World#1" {
			pms = append(pms, is)
		}
	}
	if len(pms) != 1 {
		t.Fatalf("%d postmortems in the central repository, want 1", len(pms))
	}
	if len(e.postmortems()) != 0 {
		t.Error("a postmortem was opened in the incident's repository")
	}
	links := e.commentsWith(1, core.KindLink)
	if len(links) != 1 || !strings.HasPrefix(links[0].GetBody(), fmt.Sprintf("Postmortem: Codertocat/postmortems#%d.", pms[0].GetNumber())) {
		t.Errorf("link comments: %d", len(links))
	}
	// sev4 has no due date by default.
	if !strings.Contains(pms[0].GetBody(), "set when the incident is resolved") {
		t.Error("due text missing")
	}
}
