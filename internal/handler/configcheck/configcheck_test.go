package configcheck_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/ghwrite"
	"github.com/tasuki-sre/tasuki/internal/githubtest"
	"github.com/tasuki-sre/tasuki/internal/handler"
	"github.com/tasuki-sre/tasuki/internal/handler/configcheck"
	"github.com/tasuki-sre/tasuki/internal/testenv"
)

const fxRepo = "Codertocat/Hello-World" // the repository of the fixture payloads

type fakeClients struct{ srv *githubtest.Server }

func (s fakeClients) Client(context.Context, int64) (*github.Client, error) {
	return s.srv.Client(), nil
}

// fixture reads a real webhook payload and lets the test adjust it.
func fixture(t *testing.T, event, name string, adjust func(map[string]any)) dispatch.Delivery {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.Fixtures(t, "webhooks"), name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if adjust != nil {
		adjust(m)
	}
	b, err = json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	action, _ := m["action"].(string)
	return dispatch.Delivery{ID: "d-" + name, Event: event, Action: action, InstallationID: 1, Repository: fxRepo, Payload: b}
}

type env struct {
	srv    *githubtest.Server
	loader *config.Loader
	h      *configcheck.Handler
}

func newEnv(t *testing.T) *env {
	srv := githubtest.New(t)
	srv.AddRepo(fxRepo, "master")
	loader := config.NewLoader()
	b := &handler.Base{Clients: fakeClients{srv}, Config: loader, Identity: ghwrite.Identity{Logins: []string{"tasuki[bot]"}}}
	// nil: the check uses b.Config, so its Forget reaches the loader the
	// features read through.
	return &env{srv: srv, loader: loader, h: configcheck.New(b, nil)}
}

// pushTo turns push.5.json (a push to master) into a push of sha changing
// the given paths.
func (e *env) push(t *testing.T, sha string, modified ...string) dispatch.Delivery {
	return fixture(t, "push", "push.5.json", func(m map[string]any) {
		m["after"] = sha
		for _, c := range m["commits"].([]any) {
			c.(map[string]any)["modified"] = modified
		}
		m["head_commit"].(map[string]any)["modified"] = modified
	})
}

func (e *env) run(t *testing.T, d dispatch.Delivery) {
	t.Helper()
	if err := e.h.Handle(context.Background(), d); err != nil {
		t.Fatalf("Handle(%s): %v", d.ID, err)
	}
}

func (e *env) checks(sha string) []*github.CheckRun {
	var out []*github.CheckRun
	for _, c := range e.srv.CheckRuns(fxRepo) {
		if c.GetHeadSHA() == sha && c.GetName() == config.CheckName {
			out = append(out, c)
		}
	}
	return out
}

func TestPush(t *testing.T) {
	e := newEnv(t)
	bad := e.srv.PutFile(fxRepo, "", config.Path, []byte("# tasuki\nownership:\n  default_team: payments\n  teams:\n    payments: {sre: [alice]}\n"))
	e.srv.ResetCalls()
	e.run(t, e.push(t, bad, "README.md", config.Path))

	runs := e.checks(bad)
	if len(runs) != 1 {
		t.Fatalf("%d tasuki/config check runs on the push, want 1", len(runs))
	}
	got := runs[0]
	if got.GetConclusion() != "failure" {
		t.Errorf("conclusion %q, want failure", got.GetConclusion())
	}
	wantTitle := `Line 5: unknown field "sre" in ownership.teams.payments; did you mean "sres"?`
	if got.GetOutput().GetTitle() != wantTitle {
		t.Errorf("title %q, want %q", got.GetOutput().GetTitle(), wantTitle)
	}
	if got.GetOutput().GetAnnotationsCount() != 1 {
		t.Errorf("%d annotations, want 1", got.GetOutput().GetAnnotationsCount())
	}
	writes := e.srv.WriteCount()

	// A redelivery finds the run and writes nothing.
	e.run(t, e.push(t, bad, config.Path))
	if n := len(e.checks(bad)); n != 1 {
		t.Errorf("%d check runs after redelivery, want 1", n)
	}
	if w := e.srv.WriteCount(); w != writes {
		t.Errorf("redelivery made %d writes, want none", w-writes)
	}

	// The fix turns the next commit green, and the Loader forgets what it
	// cached of the broken file.
	if f := e.loader.Load(context.Background(), e.srv.Client(), "Codertocat", "Hello-World"); f.Err == nil {
		t.Fatal("broken file loaded without error")
	}
	good := e.srv.PutFile(fxRepo, "", config.Path, []byte("ownership:\n  teams:\n    payments: {sres: [alice]}\n"))
	e.run(t, e.push(t, good, config.Path))
	runs = e.checks(good)
	if len(runs) != 1 || runs[0].GetConclusion() != "success" || runs[0].GetOutput().GetTitle() != "Configuration is valid" {
		t.Fatalf("after the fix: %+v", runs)
	}
	f := e.loader.Load(context.Background(), e.srv.Client(), "Codertocat", "Hello-World")
	if f.Err != nil || len(f.Config.Ownership.Teams["payments"].SREs) != 1 {
		t.Errorf("Load after the fix: %v %+v", f.Err, f.Config.Ownership)
	}
}

func TestIgnoresUnrelatedPushes(t *testing.T) {
	for _, tt := range []struct {
		name string
		d    func(t *testing.T, e *env) dispatch.Delivery
	}{
		{"push not touching the file (fixture as is)", func(t *testing.T, e *env) dispatch.Delivery {
			return fixture(t, "push", "push.5.json", nil)
		}},
		{"tag push", func(t *testing.T, e *env) dispatch.Delivery { return fixture(t, "push", "push.1.json", nil) }},
		{"branch deletion", func(t *testing.T, e *env) dispatch.Delivery { return fixture(t, "push", "push.4.json", nil) }},
		{"push to another branch", func(t *testing.T, e *env) dispatch.Delivery {
			d := e.push(t, "abc", config.Path)
			var m map[string]any
			_ = json.Unmarshal(d.Payload, &m)
			m["ref"] = "refs/heads/feature"
			d.Payload, _ = json.Marshal(m)
			return d
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.srv.ResetCalls()
			e.run(t, tt.d(t, e))
			if calls := e.srv.Calls(); len(calls) != 0 {
				t.Errorf("%d API calls, want none: %+v", len(calls), calls)
			}
		})
	}
}

func TestPullRequest(t *testing.T) {
	e := newEnv(t)
	e.srv.PutFile(fxRepo, "", config.Path, []byte("ownership:\n  default_team: payments\n"))
	head := e.srv.PutFile(fxRepo, "feature", config.Path, []byte("ownership:\n  default_team: [payments]\n"))
	pr := e.srv.AddPull(fxRepo, &github.PullRequest{Title: github.String("Tune tasuki"),
		Head: &github.PullRequestBranch{Ref: github.String("feature"), SHA: github.String(head)}})
	e.srv.SetPullFiles(fxRepo, pr.GetNumber(), &github.CommitFile{Filename: github.String(config.Path), Status: github.String("modified")})
	opened := func(action string) dispatch.Delivery {
		return fixture(t, "pull_request", "pull_request."+action+".1.json", func(m map[string]any) {
			m["number"] = pr.GetNumber()
			p := m["pull_request"].(map[string]any)
			p["number"] = pr.GetNumber()
			p["head"].(map[string]any)["sha"] = head
		})
	}
	e.srv.ResetCalls()
	e.run(t, opened("opened"))
	runs := e.checks(head)
	if len(runs) != 1 {
		t.Fatalf("%d check runs on the head, want 1", len(runs))
	}
	want := `Line 2: ownership.default_team: want a string, got a list`
	if runs[0].GetConclusion() != "failure" || runs[0].GetOutput().GetTitle() != want {
		t.Errorf("check run %q %q, want failure %q", runs[0].GetConclusion(), runs[0].GetOutput().GetTitle(), want)
	}
	// One page of files, the org file, the file at the head, the lookup of an
	// existing run, the creation.
	wantCalls := map[string]int{
		"GET /repos/{owner}/{repo}/pulls/{pull_number}/files": 1,
		"GET /repos/{owner}/{repo}/contents/{path}":           2,
		"GET /repos/{owner}/{repo}/commits/{ref}/check-runs":  1,
		"POST /repos/{owner}/{repo}/check-runs":               1,
	}
	gotCalls := map[string]int{}
	for _, c := range e.srv.Calls() {
		gotCalls[c.Method+" "+c.Template]++
	}
	if diff := cmp.Diff(wantCalls, gotCalls); diff != "" {
		t.Errorf("API calls (-want +got):\n%s", diff)
	}

	// A pull request that leaves the file alone costs one call and sets nothing.
	other := e.srv.AddPull(fxRepo, &github.PullRequest{Title: github.String("Docs"),
		Head: &github.PullRequestBranch{Ref: github.String("docs"), SHA: github.String("0123456789abcdef0123456789abcdef01234567")}})
	e.srv.SetPullFiles(fxRepo, other.GetNumber(), &github.CommitFile{Filename: github.String("README.md")})
	e.srv.ResetCalls()
	e.run(t, fixture(t, "pull_request", "pull_request.synchronize.1.json", func(m map[string]any) {
		m["number"] = other.GetNumber()
		p := m["pull_request"].(map[string]any)
		p["number"] = other.GetNumber()
		p["head"].(map[string]any)["sha"] = "0123456789abcdef0123456789abcdef01234567"
	}))
	if calls := e.srv.Calls(); len(calls) != 1 {
		t.Errorf("%d API calls for a PR not touching the config, want 1: %+v", len(calls), calls)
	}

	// Other actions are ignored without a call.
	e.srv.ResetCalls()
	e.run(t, fixture(t, "pull_request", "pull_request.labeled.1.json", nil))
	if calls := e.srv.Calls(); len(calls) != 0 {
		t.Errorf("labeled: %d API calls, want none", len(calls))
	}
}

func TestGitHubFailureRetries(t *testing.T) {
	e := newEnv(t)
	sha := e.srv.PutFile(fxRepo, "", config.Path, []byte("ownership: {}\n"))
	e.srv.Inject("GET", "/repos/{owner}/{repo}/contents/{path}", 500, nil)
	if err := e.h.Handle(context.Background(), e.push(t, sha, config.Path)); err == nil {
		t.Fatal("a GitHub failure while reading the file was not returned for a retry")
	}
	if n := len(e.checks(sha)); n != 0 {
		t.Errorf("%d check runs set after a read failure, want 0", n)
	}
}

// A push to the organisation's .github repository checks its file (the
// defaults of every repository) and makes the Loader forget every
// repository of the organisation.
func TestOrgDefaultsPush(t *testing.T) {
	e := newEnv(t)
	e.srv.AddRepo("Codertocat/.github", "master")
	e.srv.PutFile("Codertocat/.github", "", config.Path, []byte("ownership:\n  default_team: platform\n"))
	ctx := context.Background()
	if got := e.loader.Load(ctx, e.srv.Client(), "Codertocat", "Hello-World").Config.Ownership.DefaultTeam; got != "platform" {
		t.Fatalf("default_team %q before the push", got)
	}
	sha := e.srv.PutFile("Codertocat/.github", "", config.Path, []byte("ownership:\n  default_team: sre\n  core_sre_team: [x]\n"))
	d := e.push(t, sha, config.Path)
	var m map[string]any
	_ = json.Unmarshal(d.Payload, &m)
	repo := m["repository"].(map[string]any)
	repo["name"], repo["full_name"] = ".github", "Codertocat/.github"
	d.Payload, _ = json.Marshal(m)
	e.run(t, d)

	var runs []*github.CheckRun
	for _, c := range e.srv.CheckRuns("Codertocat/.github") {
		if c.GetHeadSHA() == sha {
			runs = append(runs, c)
		}
	}
	if len(runs) != 1 || runs[0].GetConclusion() != "failure" ||
		runs[0].GetOutput().GetTitle() != "Line 3: ownership.core_sre_team: want a string, got a list" {
		t.Fatalf("check runs on the .github push: %+v", runs)
	}
	// The Loader forgot the old defaults: the new file's ownership section
	// is invalid, so Hello-World now gets tasuki's built-in ownership
	// defaults instead of the cached "platform".
	if got := e.loader.Load(ctx, e.srv.Client(), "Codertocat", "Hello-World").Config.Ownership.DefaultTeam; got != "" {
		t.Errorf("default_team %q after the push, want the built-in default (empty)", got)
	}
}
