package onboarding_test

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

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/ghwrite"
	"github.com/tasuki-sre/tasuki/internal/githubtest"
	"github.com/tasuki-sre/tasuki/internal/handler"
	"github.com/tasuki-sre/tasuki/internal/handler/commands"
	obshell "github.com/tasuki-sre/tasuki/internal/handler/onboarding"
	core "github.com/tasuki-sre/tasuki/internal/onboarding"
	"github.com/tasuki-sre/tasuki/internal/testenv"
)

// The repository handed over, its organisation's teams and people.
const (
	org      = "acme"
	repoName = "payments"
	full     = org + "/" + repoName
	coreLead = "core-carol" // member of core-sre
	teamLead = "pat"        // member of payments-sre
)

type fakeClients struct{ srv *githubtest.Server }

func (s fakeClients) Client(context.Context, int64) (*github.Client, error) {
	return s.srv.Client(), nil
}

// fakeClock is a settable clock shared by the handler and the fake.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	t      testing.TB
	srv    *githubtest.Server
	clock  *fakeClock
	h      *obshell.Handler
	router *dispatch.Router
	seq    int
}

// newEnv seeds acme/payments, owned today by @acme/core-sre (CODEOWNERS
// and catalog-info.yaml), and the incoming team @acme/payments-sre, and
// routes deliveries as the App does: to the onboarding handler and to the
// command shell running its verbs.
func newEnv(t testing.TB) *env {
	t.Helper()
	clock := &fakeClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	srv := githubtest.New(t, githubtest.WithClock(clock.Now))
	srv.AddRepo(full, "main")
	srv.AddTeam(org, "core-sre", coreLead)
	srv.AddTeam(org, "payments-sre", teamLead, "sam")
	srv.SetTeamPrivacy(org, "payments-sre", "closed")
	srv.SetTeamRepoPermission(org, "core-sre", full, "maintain")
	srv.SetTeamRepoPermission(org, "payments-sre", full, "push")
	srv.PutFile(full, "main", ".github/CODEOWNERS", []byte("# owners\n* @acme/core-sre\n/docs/ @acme/docs-team\n"))
	srv.PutFile(full, "main", "catalog-info.yaml", []byte(catalogInfo))
	srv.PutFile(full, "main", ".github/tasuki.yml", []byte("onboarding:\n  leads:\n    core-sre: core-carol\n    payments-sre: pat\n"))
	srv.AddTeam(org, "docs-team")
	srv.SetTeamRepoPermission(org, "docs-team", full, "push")

	b := &handler.Base{
		Clients:  fakeClients{srv},
		Config:   config.NewLoader(config.WithTTL(0)),
		Locker:   &handler.MemLocker{},
		Memo:     &handler.MemMemo{},
		Identity: ghwrite.Identity{Logins: []string{"tasuki[bot]"}},
		Log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:      clock.Now,
	}
	h := obshell.New(b, nil)
	reg, err := commands.NewRegistry(h)
	if err != nil {
		t.Fatal(err)
	}
	r := dispatch.NewRouter(nil)
	r.Register(h, h.Handles()...)
	cmds := commands.New(&h.Base, reg, nil)
	r.Register(cmds, cmds.Handles()...)
	return &env{t: t, srv: srv, clock: clock, h: h, router: r}
}

const catalogInfo = `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments
  annotations:
    pagerduty.com/service-id: P123ABC
spec:
  type: service
  lifecycle: production
  owner: group:default/core-sre
  system: billing
`

// dispatch runs d as the App's worker does and fails on an error.
func (e *env) dispatch(d dispatch.Delivery) {
	e.t.Helper()
	if err := e.router.Dispatch(context.Background(), d); err != nil {
		e.t.Fatalf("dispatch %s %s: %v", d.Event, d.ID, err)
	}
}

func (e *env) fixture(name string) map[string]any {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.Fixtures(e.t, "webhooks"), name))
	if err != nil {
		e.t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		e.t.Fatal(err)
	}
	return m
}

func (e *env) jsonObject(v any) map[string]any {
	e.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		e.t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		e.t.Fatal(err)
	}
	return m
}

// delivery wraps payload p, pointed at acme/payments and installation 1.
func (e *env) delivery(event string, p map[string]any) dispatch.Delivery {
	e.t.Helper()
	r, _ := p["repository"].(map[string]any)
	if r != nil {
		r["name"], r["full_name"], r["default_branch"], r["master_branch"] = repoName, full, "main", "main"
		r["owner"].(map[string]any)["login"] = org
	}
	p["installation"] = map[string]any{"id": 1, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ=="}
	b, err := json.Marshal(p)
	if err != nil {
		e.t.Fatal(err)
	}
	e.seq++
	action, _ := p["action"].(string)
	return dispatch.Delivery{ID: fmt.Sprintf("%s-%d", event, e.seq), Event: event, Action: action, InstallationID: 1, Repository: full, Payload: b}
}

// comment seeds a comment by login on issue number and delivers the real
// issue_comment.created payload carrying it.
func (e *env) comment(number int, login, assoc, body string) *github.IssueComment {
	e.t.Helper()
	p := e.fixture("issue_comment.created.1.json")
	cm := e.srv.AddComment(full, number, login, body)
	c := p["comment"].(map[string]any)
	c["id"], c["body"], c["author_association"] = cm.GetID(), body, assoc
	c["user"].(map[string]any)["login"] = login
	c["user"].(map[string]any)["type"] = "User"
	p["issue"] = e.jsonObject(e.srv.Issue(full, number))
	p["sender"].(map[string]any)["login"] = login
	e.dispatch(e.delivery("issue_comment", p))
	return cm
}

// push commits files on main (nil content deletes nothing: it is not
// offered) and delivers the real push payload of the push.
func (e *env) push(files map[string]string) {
	e.t.Helper()
	e.pushBy("", files)
}

// orgChecklist puts the organisation's checklist override (in its .github
// repository): a repository's own may not relax the items it inherits.
func (e *env) orgChecklist(content string) {
	e.t.Helper()
	e.srv.AddRepo(org+"/.github", "main")
	e.srv.PutFile(org+"/.github", "main", ".github/tasuki/onboarding.yml", []byte(content))
}

// pushBy is push by sender (the fixture's sender when "").
func (e *env) pushBy(sender string, files map[string]string) {
	e.t.Helper()
	before, _ := e.srv.Ref(full, "heads/main")
	var added []any
	for path, content := range files {
		e.srv.PutFile(full, "main", path, []byte(content))
		added = append(added, path)
	}
	after, _ := e.srv.Ref(full, "heads/main")
	p := e.fixture("push.5.json") // a push of one commit to a branch
	p["ref"], p["before"], p["after"] = "refs/heads/main", before, after
	cm := p["commits"].([]any)[0].(map[string]any)
	cm["id"], cm["added"], cm["modified"], cm["removed"] = after, added, []any{}, []any{}
	p["head_commit"] = cm
	if sender != "" {
		p["sender"].(map[string]any)["login"] = sender
	}
	e.dispatch(e.delivery("push", p))
}

// handoffs returns the handoff issues of the repository (any state).
func (e *env) handoffs() []*github.Issue {
	var out []*github.Issue
	for _, is := range e.srv.Issues(full) {
		if is.IsPullRequest() {
			continue
		}
		for _, l := range is.Labels {
			if l.GetName() == "sre-handoff" {
				out = append(out, is)
			}
		}
	}
	return out
}

// labelled returns the issues (not pull requests) carrying label.
func (e *env) labelled(label string) []*github.Issue {
	var out []*github.Issue
	for _, is := range e.srv.Issues(full) {
		for _, l := range is.Labels {
			if l.GetName() == label && !is.IsPullRequest() {
				out = append(out, is)
			}
		}
	}
	return out
}

// state decodes the handoff issue number's state.
func (e *env) state(number int) core.State {
	e.t.Helper()
	st, found, err := core.DecodeState(e.srv.Issue(full, number).GetBody())
	if err != nil || !found {
		e.t.Fatalf("handoff #%d: state found=%v err=%v", number, found, err)
	}
	return st
}

func (e *env) item(number int, id string) core.ItemState {
	e.t.Helper()
	it, ok := e.state(number).Item(id)
	if !ok {
		e.t.Fatalf("handoff #%d has no item %s", number, id)
	}
	return it
}

// replies returns tasuki's comments on number containing text.
func (e *env) replies(number int, text string) []string {
	var out []string
	for _, c := range e.srv.Comments(full, number) {
		if c.GetUser().GetLogin() == "tasuki[bot]" && strings.Contains(c.GetBody(), text) {
			out = append(out, c.GetBody())
		}
	}
	return out
}

func hasLabel(is *github.Issue, name string) bool {
	for _, l := range is.Labels {
		if l.GetName() == name {
			return true
		}
	}
	return false
}
