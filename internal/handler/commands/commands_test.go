package commands_test

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
	"github.com/tasuki-sre/tasuki/internal/testenv"
)

// The fixtures' repository; its issue #1 is where the comments are.
const (
	fxRepo  = "Codertocat/Hello-World"
	fxOwner = "Codertocat"
	fxName  = "Hello-World"
)

type fakeClients struct{ srv *githubtest.Server }

func (s fakeClients) Client(context.Context, int64) (*github.Client, error) {
	return s.srv.Client(), nil
}

// verbs is a feature whose verbs record what they were asked to run:
// deploy for people with write permission, page for members of the
// owner's core-sre team, ping for the repository's people.
type verbs struct {
	mu  sync.Mutex
	ran []command.Invocation
}

func (v *verbs) RegisterCommands(reg *commands.Registry) error {
	run := command.HandlerFunc(func(_ context.Context, inv command.Invocation) error {
		v.mu.Lock()
		defer v.mu.Unlock()
		inv.Log = nil // not compared
		v.ran = append(v.ran, inv)
		return nil
	})
	for _, verb := range []command.Verb[config.Config]{
		{Name: "deploy", Args: "ENV", Summary: "deploy", Rule: command.Rule{Permission: command.PermWrite}, Handler: run},
		{Name: "page", Summary: "page the core SREs", Rule: command.Rule{Teams: []string{"core-sre"}}, Handler: run},
		{Name: "ping", Summary: "answer pong", Rule: command.Rule{Associations: command.Insiders}, Handler: run},
	} {
		if err := reg.Register(verb); err != nil {
			return err
		}
	}
	return nil
}

func (v *verbs) names() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []string
	for _, inv := range v.ran {
		out = append(out, inv.Call.Name)
	}
	return out
}

type env struct {
	t     *testing.T
	srv   *githubtest.Server
	verbs *verbs
	h     *commands.Handler
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := githubtest.New(t)
	srv.AddRepo(fxRepo, "master")
	srv.AddIssue(fxRepo, &github.Issue{Title: github.String("Spelling error in the README file"),
		User: &github.User{Login: github.String("Codertocat")}})
	srv.AddTeam(fxOwner, "core-sre", "sre-sam")
	v := &verbs{}
	reg, err := commands.NewRegistry(v)
	if err != nil {
		t.Fatal(err)
	}
	b := &handler.Base{
		Clients:  fakeClients{srv},
		Config:   config.NewLoader(),
		Locker:   &handler.MemLocker{},
		Memo:     &handler.MemMemo{},
		Identity: ghwrite.Identity{Logins: []string{"tasuki[bot]"}},
		Log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	return &env{t: t, srv: srv, verbs: v, h: commands.New(b, reg, nil)}
}

// comment seeds a comment by login on issue #1 and returns the real
// issue_comment fixture of the given action carrying it, as login with
// the author association assoc.
func (e *env) comment(action, login, assoc, body string) dispatch.Delivery {
	e.t.Helper()
	raw, err := os.ReadFile(filepath.Join(testenv.Fixtures(e.t, "webhooks"), "issue_comment."+action+".1.json"))
	if err != nil {
		e.t.Fatal(err)
	}
	var p map[string]any
	if err := json.Unmarshal(raw, &p); err != nil {
		e.t.Fatal(err)
	}
	cm := e.srv.AddComment(fxRepo, 1, login, body)
	c := p["comment"].(map[string]any)
	c["id"], c["body"], c["author_association"] = cm.GetID(), body, assoc
	c["user"].(map[string]any)["login"] = login
	if strings.HasSuffix(login, "[bot]") {
		c["user"].(map[string]any)["type"] = "Bot"
	}
	p["sender"].(map[string]any)["login"] = login
	b, err := json.Marshal(p)
	if err != nil {
		e.t.Fatal(err)
	}
	e.srv.ResetCalls()
	return dispatch.Delivery{ID: fmt.Sprintf("d-%d", cm.GetID()), Event: "issue_comment", Action: action, InstallationID: 1, Repository: fxRepo, Payload: b}
}

func (e *env) handle(d dispatch.Delivery) {
	e.t.Helper()
	if err := e.h.Handle(context.Background(), d); err != nil {
		e.t.Fatalf("Handle %s: %v", d.ID, err)
	}
}

// replies returns tasuki's replies on issue #1.
func (e *env) replies() []*github.IssueComment {
	var out []*github.IssueComment
	for _, c := range e.srv.Comments(fxRepo, 1) {
		if c.GetUser().GetLogin() == "tasuki[bot]" && strings.Contains(c.GetBody(), "<!-- tasuki:"+command.KindReply+" ") {
			out = append(out, c)
		}
	}
	return out
}

// An unknown verb gets one reply listing the commands; a redelivery finds
// it and posts nothing more.
func TestUnknownVerbRepliesOnceWithHelp(t *testing.T) {
	e := newEnv(t)
	d := e.comment("created", "Codertocat", "OWNER", "Could you look?\n\n/tasuki frobnicate now\n")
	e.handle(d)
	rs := e.replies()
	if len(rs) != 1 {
		t.Fatalf("%d replies, want 1", len(rs))
	}
	// The reply's marker is keyed by the comment's ID, which the fake
	// chose.
	commentID := strings.TrimPrefix(d.ID, "d-")
	golden.Assert(t, filepath.Join("testdata", "unknown-verb.golden.md"),
		strings.ReplaceAll(rs[0].GetBody(), "key="+commentID+" ", "key=COMMENT-ID "))
	writes := e.srv.WriteCount()
	if writes != 1 {
		t.Errorf("%d writes for the reply, want 1", writes)
	}

	e.srv.ResetCalls()
	e.handle(d) // redelivered
	if n := len(e.replies()); n != 1 {
		t.Errorf("%d replies after a redelivery, want 1", n)
	}
	if n := e.srv.WriteCount(); n != 0 {
		t.Errorf("the redelivery wrote %d times", n)
	}
	if ran := e.verbs.names(); len(ran) != 0 {
		t.Errorf("verbs ran: %v", ran)
	}
}

// A refused verb does not run; the reply says who may run it. Only the
// facts the rule needs beyond the payload are fetched.
func TestRefusedVerbSaysWhoMay(t *testing.T) {
	tests := []struct {
		name, login, assoc, body string
		want                     string
		calls                    map[string]int // GET template -> count
	}{
		{"permission", "stranger", "NONE", "/tasuki deploy prod",
			"`/tasuki deploy`: only people with write permission or more may run this command.",
			map[string]int{"/repos/{owner}/{repo}/collaborators/{username}/permission": 1}},
		{"team", "octocat", "MEMBER", "/tasuki page",
			"`/tasuki page`: only members of @\u200dcore\\-sre may run this command.", // mdtext keeps @ from pinging
			map[string]int{"/orgs/{org}/teams/{team_slug}/memberships/{username}": 1}},
		{"association", "stranger", "NONE", "/tasuki ping",
			"`/tasuki ping`: only the repository owner\\, organisation members\\, collaborators or earlier contributors may run this command.",
			map[string]int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.srv.AddUser(tt.login, "User")
			e.handle(e.comment("created", tt.login, tt.assoc, tt.body))
			if ran := e.verbs.names(); len(ran) != 0 {
				t.Errorf("refused verb ran: %v", ran)
			}
			rs := e.replies()
			if len(rs) != 1 {
				t.Fatalf("%d replies, want 1", len(rs))
			}
			if !strings.HasPrefix(rs[0].GetBody(), "- "+tt.want+"\n") {
				t.Errorf("reply:\n%s\nwant it to start with %q", rs[0].GetBody(), tt.want)
			}
			got := factCalls(e.srv)
			if diff := cmp.Diff(tt.calls, got); diff != "" {
				t.Errorf("permission facts fetched (-want +got):\n%s", diff)
			}
		})
	}
}

// An accepted verb runs once through its feature, told where the comment
// is, and gets no reply from the shell.
func TestAcceptedVerbRuns(t *testing.T) {
	tests := []struct {
		name, login, assoc, body string
		setup                    func(*githubtest.Server)
		calls                    map[string]int
	}{
		{"association needs no fetch", "octocat", "COLLABORATOR", "/tasuki ping", nil, map[string]int{}},
		{"write permission", "dev-dana", "CONTRIBUTOR", "/tasuki deploy prod",
			func(s *githubtest.Server) { s.SetPermission(fxRepo, "dev-dana", "maintain") },
			map[string]int{"/repos/{owner}/{repo}/collaborators/{username}/permission": 1}},
		{"team member", "sre-sam", "MEMBER", "/tasuki page", nil,
			map[string]int{"/orgs/{org}/teams/{team_slug}/memberships/{username}": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.setup != nil {
				tt.setup(e.srv)
			}
			d := e.comment("created", tt.login, tt.assoc, tt.body)
			e.handle(d)
			e.verbs.mu.Lock()
			ran := e.verbs.ran
			e.verbs.mu.Unlock()
			if len(ran) != 1 {
				t.Fatalf("%d verbs ran, want 1", len(ran))
			}
			w := ran[0].Where
			if w.Installation != 1 || w.Owner != fxOwner || w.Repo != fxName || w.Issue != 1 || w.PullRequest ||
				w.Author != tt.login || w.CommentID == 0 || !strings.Contains(w.CommentURL, "#issuecomment-") {
				t.Errorf("where: %+v", w)
			}
			if n := len(e.replies()); n != 0 {
				t.Errorf("%d replies to an accepted verb, want none", n)
			}
			if diff := cmp.Diff(tt.calls, factCalls(e.srv)); diff != "" {
				t.Errorf("permission facts fetched (-want +got):\n%s", diff)
			}
		})
	}
}

// factCalls counts the permission and team membership reads.
func factCalls(srv *githubtest.Server) map[string]int {
	out := map[string]int{}
	for _, c := range srv.Calls() {
		if strings.HasSuffix(c.Template, "/permission") || strings.Contains(c.Template, "/memberships/") {
			out[c.Template]++
		}
	}
	return out
}

// Editing a comment does not run it again, nor does deleting it: no API
// call at all.
func TestEditedCommentRunsNothing(t *testing.T) {
	for _, action := range []string{"edited", "deleted"} {
		t.Run(action, func(t *testing.T) {
			e := newEnv(t)
			e.handle(e.comment(action, "Codertocat", "OWNER", "/tasuki ping\n/tasuki frobnicate"))
			if ran := e.verbs.names(); len(ran) != 0 {
				t.Errorf("verbs ran: %v", ran)
			}
			if n := len(e.srv.Calls()); n != 0 {
				t.Errorf("%d API calls, want none", n)
			}
		})
	}
}

// A command GitHub shows as code or as a quote is not a command: nothing
// runs, nothing is said, no API call is made. Bots' comments run nothing
// either.
func TestCommandInCodeOrQuoteRunsNothing(t *testing.T) {
	tests := []struct{ name, login, body string }{
		{"fenced code", "Codertocat", "Run this:\n\n```\n/tasuki ping\n```\n"},
		{"tilde fence in a list", "Codertocat", "- step\n\n  ~~~sh\n  /tasuki frobnicate\n  ~~~\n"},
		{"indented code", "Codertocat", "Example:\n\n    /tasuki ping\n"},
		{"quote", "Codertocat", "> /tasuki ping\n\nas you said"},
		{"lazy quote continuation", "Codertocat", "> you wrote\n/tasuki ping\n"},
		{"code span", "Codertocat", "Type `/tasuki ping` to check."},
		{"HTML comment", "Codertocat", "<!--\n/tasuki ping\n-->"},
		{"bot", "dependabot[bot]", "/tasuki ping"},
		{"tasuki itself", "tasuki[bot]", "/tasuki frobnicate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.handle(e.comment("created", tt.login, "OWNER", tt.body))
			if ran := e.verbs.names(); len(ran) != 0 {
				t.Errorf("verbs ran: %v", ran)
			}
			if n := len(e.srv.Calls()); n != 0 {
				t.Errorf("%d API calls, want none: %v", n, e.srv.Calls())
			}
		})
	}
}

// Several commands in one comment: the accepted ones run in order, and one
// reply covers the others.
func TestMixedCommandsOneReply(t *testing.T) {
	e := newEnv(t)
	e.srv.AddUser("octocat", "User")
	d := e.comment("created", "octocat", "COLLABORATOR", "/tasuki ping\n/tasuki deploy prod\n/tasuki nope\n/tasuki ping")
	e.handle(d)
	e.handle(d)
	if diff := cmp.Diff([]string{"ping", "ping", "ping", "ping"}, e.verbs.names()); diff != "" {
		t.Errorf("verbs run over two deliveries (-want +got):\n%s", diff)
	}
	rs := e.replies()
	if len(rs) != 1 {
		t.Fatalf("%d replies, want 1", len(rs))
	}
	for _, want := range []string{"`/tasuki deploy`: only people with write permission", "`/tasuki nope` is not a tasuki command.", "**tasuki commands**"} {
		if !strings.Contains(rs[0].GetBody(), want) {
			t.Errorf("reply lacks %q:\n%s", want, rs[0].GetBody())
		}
	}
}
