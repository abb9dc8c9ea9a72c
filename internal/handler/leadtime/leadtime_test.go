package leadtime_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/githubtest"
	"github.com/tasuki-sre/tasuki/internal/handler"
	lth "github.com/tasuki-sre/tasuki/internal/handler/leadtime"
	core "github.com/tasuki-sre/tasuki/internal/leadtime"
	"github.com/tasuki-sre/tasuki/internal/store"
	"github.com/tasuki-sre/tasuki/internal/testenv"
)

const repo = "Codertocat/Hello-World"

type clients struct{ srv *githubtest.Server }

func (c clients) Client(context.Context, int64) (*github.Client, error) { return c.srv.Client(), nil }

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// fixture reads a real webhook payload and applies edits: each key is a
// dotted path into the JSON object ("pull_request.merged_at"), each value
// what to put there (nil deletes).
func fixture(t *testing.T, name string, edits map[string]any) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.Fixtures(t, "webhooks"), name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for path, v := range edits {
		parts := strings.Split(path, ".")
		obj := m
		for _, p := range parts[:len(parts)-1] {
			next, ok := obj[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				obj[p] = next
			}
			obj = next
		}
		if v == nil {
			delete(obj, parts[len(parts)-1])
		} else {
			obj[parts[len(parts)-1]] = v
		}
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func delivery(event, id string, payload []byte) dispatch.Delivery {
	var p struct {
		Action string `json:"action"`
	}
	_ = json.Unmarshal(payload, &p)
	return dispatch.Delivery{ID: id, Event: event, Action: p.Action, InstallationID: 1, Repository: repo, Payload: payload}
}

type env struct {
	t   *testing.T
	srv *githubtest.Server
	st  *store.Store
	h   *lth.Handler
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := githubtest.New(t)
	srv.AddRepo(repo, "master")
	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "t.db"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := lth.New(&handler.Base{Clients: clients{srv}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, st)
	return &env{t: t, srv: srv, st: st, h: h}
}

func (e *env) handle(ds ...dispatch.Delivery) {
	e.t.Helper()
	for _, d := range ds {
		if err := e.h.Handle(context.Background(), d); err != nil {
			e.t.Fatalf("Handle(%s %s): %v", d.Event, d.ID, err)
		}
	}
}

func (e *env) history() core.History {
	e.t.Helper()
	h, err := e.st.History(context.Background(), store.HistoryQuery{Repo: repo})
	if err != nil {
		e.t.Fatal(err)
	}
	return h
}

// A pull request's life, its reviews, two production deployments, a CI job
// and an incident, from real payloads, are recorded as the core expects
// them; delivering everything again changes nothing.
func TestRecordsDeliveryEvents(t *testing.T) {
	e := newEnv(t)
	// Two commits on master: the first deployment ships base, the second
	// the PR's merge commit.
	base := e.srv.PutFile(repo, "master", "README.md", []byte("v1"))
	pr := e.srv.AddPull(repo, &github.PullRequest{Title: github.String("Fix typo"), User: &github.User{Login: github.String("alice")}})
	n := pr.GetNumber()
	e.srv.SetPullCommits(repo, n,
		&github.RepositoryCommit{SHA: github.String("c2"), Commit: &github.Commit{Author: &github.CommitAuthor{Date: &github.Timestamp{Time: mustTime("2026-11-02T08:30:00Z")}}}},
		&github.RepositoryCommit{SHA: github.String("c1"), Commit: &github.Commit{Author: &github.CommitAuthor{Date: &github.Timestamp{Time: mustTime("2026-11-02T07:00:00Z")}}}},
	)
	e.srv.SetPullFiles(repo, n, &github.CommitFile{Filename: github.String("api/x.go"), Status: github.String("modified")},
		&github.CommitFile{Filename: github.String("api/y.go"), PreviousFilename: github.String("api/old.go"), Status: github.String("renamed")})
	merge := e.srv.PutFile(repo, "master", "README.md", []byte("v2"))

	prEdits := map[string]any{"number": n, "pull_request.number": n, "pull_request.created_at": "2026-11-02T09:00:00Z",
		"pull_request.user.login": "alice", "pull_request.title": "Fix typo"}
	with := func(extra map[string]any) map[string]any {
		m := map[string]any{}
		for k, v := range prEdits {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	opened := delivery("pull_request", "d-opened", fixture(t, "pull_request.opened.1", with(nil)))
	review := delivery("pull_request_review", "d-review", fixture(t, "pull_request_review.submitted.1", map[string]any{
		"pull_request.number": n, "review.id": 501, "review.user.login": "bob", "review.state": "approved",
		"review.submitted_at": "2026-11-02T11:00:00Z"}))
	botReview := delivery("pull_request_review", "d-bot", fixture(t, "pull_request_review.submitted.2", map[string]any{
		"pull_request.number": n, "review.id": 502, "review.user.login": "lint[bot]", "review.user.type": "User",
		"review.submitted_at": "2026-11-02T09:05:00Z"}))
	comment := delivery("pull_request_review_comment", "d-comment", fixture(t, "pull_request_review_comment.created.1", map[string]any{
		"pull_request.number": n, "comment.id": 601, "comment.user.login": "carol", "comment.created_at": "2026-11-02T10:30:00Z"}))
	closed := delivery("pull_request", "d-closed", fixture(t, "pull_request.closed.1", with(map[string]any{
		"pull_request.merged": true, "pull_request.merged_at": "2026-11-02T12:00:00Z", "pull_request.closed_at": "2026-11-02T12:00:00Z",
		"pull_request.merge_commit_sha": merge, "pull_request.merged_by": map[string]any{"login": "bob", "id": 2, "type": "User"}})))
	deploy := func(id int, sha, env, at string) dispatch.Delivery {
		return delivery("deployment_status", "d-deploy-"+env+sha[:6], fixture(t, "deployment_status.created.1", map[string]any{
			"deployment.id": id, "deployment.sha": sha, "deployment.environment": env, "deployment_status.environment": env,
			"deployment_status.created_at": at}))
	}
	// The workflow_job fixtures come from other repositories.
	here := map[string]any{"repository.name": "Hello-World", "repository.full_name": repo, "repository.owner.login": "Codertocat"}
	withID := func(id int) map[string]any {
		m := map[string]any{"workflow_job.id": id}
		for k, v := range here {
			m[k] = v
		}
		return m
	}
	job := delivery("workflow_job", "d-job", fixture(t, "workflow_job.completed.2", withID(2)))
	queued := delivery("workflow_job", "d-job-queued", fixture(t, "workflow_job.queued.1", withID(3)))
	incident := delivery("issues", "d-incident", fixture(t, "issues.labeled.1", map[string]any{
		"issue.number": 90, "issue.created_at": "2026-11-02T14:00:00Z", "issue.body": "Errors after the deploy.\n\nCaused by #" + itoa(n),
		"issue.labels": []any{map[string]any{"name": "incident"}, map[string]any{"name": "sev2"}}, "label.name": "incident"}))
	notIncident := delivery("issues", "d-bug", fixture(t, "issues.labeled.1", nil))

	all := []dispatch.Delivery{
		opened, botReview, comment, review, closed,
		deploy(7001, base, "production", "2026-11-01T12:00:00Z"),
		deploy(7002, merge, "staging", "2026-11-02T12:30:00Z"),
		deploy(7003, merge, "production", "2026-11-02T13:00:00Z"),
		job, queued, incident, notIncident,
	}
	e.srv.ResetCalls()
	e.handle(opened)
	// The pull request's commits and files: one request each.
	if got := len(e.srv.Calls()); got != 2 {
		t.Errorf("opened: %d GitHub calls, want 2 (commits, files)", got)
	}
	e.handle(all[1:]...)

	want := core.History{
		Pulls: []core.Pull{{
			Repo: repo, Number: n, Title: "Fix typo", Author: "alice",
			FirstCommitAt: mustTime("2026-11-02T07:00:00Z"), OpenedAt: mustTime("2026-11-02T09:00:00Z"), ReadyAt: mustTime("2026-11-02T09:00:00Z"),
			MergedAt: mustTime("2026-11-02T12:00:00Z"), ClosedAt: mustTime("2026-11-02T12:00:00Z"), MergeSHA: merge,
			BaseRef: "master", HeadRef: "changes", Paths: []string{"api/x.go", "api/y.go", "api/old.go"}, Labels: []string{"bug"}, // the closed fixture's label
		}},
		Reviews: []core.Review{
			{Repo: repo, Number: n, ID: 502, Reviewer: "lint[bot]", ReviewerIsBot: true, State: "COMMENTED", At: mustTime("2026-11-02T09:05:00Z")},
			// The pickup; History lists no later review (bob's approval at
			// 11:00 is stored, and changes no metric).
			{Repo: repo, Number: n, ID: 601, Reviewer: "carol", State: "COMMENT", At: mustTime("2026-11-02T10:30:00Z")},
		},
		Deployments: []core.Deployment{
			{Repo: repo, ID: "deployment:7001", Source: core.SourceDeploymentStatus, Environment: "production", SHA: base,
				FinishedAt: mustTime("2026-11-01T12:00:00Z"), Creator: "Codertocat", Ref: "master"},
			{Repo: repo, ID: "merge:" + merge, Source: core.SourceMerge, SHA: merge, FinishedAt: mustTime("2026-11-02T12:00:00Z"),
				Commits: []string{merge}, Creator: "bob", Ref: "master"},
			// Its range from the previous production deployment, read
			// through the compare API.
			{Repo: repo, ID: "deployment:7003", Source: core.SourceDeploymentStatus, Environment: "production", SHA: merge,
				FinishedAt: mustTime("2026-11-02T13:00:00Z"), PreviousSHA: base, Commits: []string{merge}, Creator: "Codertocat", Ref: "master"},
		},
		Jobs: []core.Job{
			{Repo: repo, ID: 2, RunID: 2, Workflow: "CodeQL", Name: "linters", Kind: core.JobTest, HeadSHA: "", HeadBranch: "",
				QueuedAt: mustTime("2021-08-05T10:33:58Z"), StartedAt: mustTime("2021-08-05T10:34:58Z"), CompletedAt: mustTime("2021-08-05T10:38:16Z"), Conclusion: "success"},
		},
		Incidents: []core.Incident{{
			Repo: repo, Number: 90, Title: "Spelling error in the README file", Severity: "sev2",
			StartedAt: mustTime("2026-11-02T14:00:00Z"), CausedBy: "#" + itoa(n),
		}},
	}
	got := e.history()
	// The jobs' fixtures carry IDs and SHAs of their own; compare what this
	// test set.
	want.Jobs, got.Jobs = nil, jobsSummary(t, got.Jobs)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("recorded (-want +got):\n%s", d)
	}

	// Every delivery again (GitHub redelivers; a replica retries): nothing
	// changes.
	e.handle(all...)
	again := e.history()
	again.Jobs = jobsSummary(t, again.Jobs)
	if d := cmp.Diff(got, again); d != "" {
		t.Errorf("after redelivery (-first +again):\n%s", d)
	}
}

// jobsSummary checks the two recorded jobs and returns nil.
func jobsSummary(t *testing.T, js []core.Job) []core.Job {
	t.Helper()
	if len(js) != 2 {
		t.Fatalf("jobs: %d, want 2: %+v", len(js), js)
	}
	for _, j := range js {
		switch j.Name {
		case "linters": // completed: every time and the conclusion
			if j.Kind != core.JobTest || j.Conclusion != "success" || j.CompletedAt.IsZero() || j.StartedAt.IsZero() || j.QueuedAt.IsZero() {
				t.Errorf("completed job recorded as %+v", j)
			}
		case "update": // queued: GitHub's started_at is the queued time, not kept
			if !j.StartedAt.IsZero() || !j.CompletedAt.IsZero() || j.QueuedAt.IsZero() || j.Conclusion != "" {
				t.Errorf("queued job recorded as %+v", j)
			}
		default:
			t.Errorf("unexpected job %+v", j)
		}
	}
	return nil
}

func itoa(n int) string { return strconv.Itoa(n) }

// A reopened incident is open again until it is closed again, even when
// GitHub redelivers the close that came before.
func TestIncidentReopened(t *testing.T) {
	e := newEnv(t)
	labels := []any{map[string]any{"name": "incident"}}
	closed := delivery("issues", "d-closed", fixture(t, "issues.labeled.1", map[string]any{
		"issue.number": 91, "issue.created_at": "2026-11-02T14:00:00Z", "issue.state": "closed",
		"issue.closed_at": "2026-11-02T16:00:00Z", "issue.labels": labels, "label.name": "incident"}))
	reopened := delivery("issues", "d-reopened", fixture(t, "issues.reopened.1", map[string]any{
		"issue.number": 91, "issue.created_at": "2026-11-02T14:00:00Z", "issue.updated_at": "2026-11-03T09:00:00Z",
		"issue.labels": labels}))
	resolved := func() time.Time {
		t.Helper()
		is := e.history().Incidents
		if len(is) != 1 {
			t.Fatalf("%d incidents recorded, want 1", len(is))
		}
		return is[0].ResolvedAt
	}
	e.handle(closed)
	if got := resolved(); !got.Equal(mustTime("2026-11-02T16:00:00Z")) {
		t.Fatalf("closed incident resolved at %v", got)
	}
	e.handle(reopened)
	if got := resolved(); !got.IsZero() {
		t.Errorf("reopened incident still resolved at %v", got)
	}
	e.handle(closed) // redelivered
	if got := resolved(); !got.IsZero() {
		t.Errorf("reopened incident resolved again by a redelivered earlier close: %v", got)
	}
}
