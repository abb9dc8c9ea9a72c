package ghwrite_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/ghwrite"
	"github.com/tasuki-sre/tasuki/internal/githubtest"
	"github.com/tasuki-sre/tasuki/internal/marker"
)

const (
	tmplComments     = "/repos/{owner}/{repo}/issues/{issue_number}/comments"
	tmplComment      = "/repos/{owner}/{repo}/issues/comments/{comment_id}"
	tmplIssues       = "/repos/{owner}/{repo}/issues"
	tmplIssue        = "/repos/{owner}/{repo}/issues/{issue_number}"
	tmplSearch       = "/search/issues"
	tmplCheckRuns    = "/repos/{owner}/{repo}/check-runs"
	tmplCheckRun     = "/repos/{owner}/{repo}/check-runs/{check_run_id}"
	tmplRefCheckRuns = "/repos/{owner}/{repo}/commits/{ref}/check-runs"
	tmplIssueLabels  = "/repos/{owner}/{repo}/issues/{issue_number}/labels"
)

var bot = ghwrite.Identity{Logins: []string{"tasuki[bot]"}}

type mapMemo struct {
	mu sync.Mutex
	m  map[string]string
}

func (m *mapMemo) Get(_ context.Context, k string) (string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.m[k]
	return v, ok, nil
}

func (m *mapMemo) Put(_ context.Context, k, v string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string]string{}
	}
	m.m[k] = v
	return nil
}

func setup(t *testing.T, opts ...ghwrite.Option) (*githubtest.Server, *ghwrite.Writer) {
	t.Helper()
	srv := githubtest.New(t)
	srv.AddRepo("acme/api", "main")
	srv.AddPull("acme/api", &github.PullRequest{Title: github.String("Add bucket")})
	w := ghwrite.New(srv.Client(), bot, slog.New(slog.NewTextHandler(io.Discard, nil)), opts...)
	return srv, w
}

// setupMemo is setup with a fresh memo when memo is set.
func setupMemo(t *testing.T, memo bool) (*githubtest.Server, *ghwrite.Writer) {
	t.Helper()
	if memo {
		return setup(t, ghwrite.WithMemo(&mapMemo{}))
	}
	return setup(t)
}

func bodies(cs []*github.IssueComment) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.GetUser().GetLogin()+": "+c.GetBody())
	}
	return out
}

func TestUpsertCommentRetried(t *testing.T) {
	ctx := context.Background()
	m := marker.New("plan-review", "1")
	for _, memo := range []bool{false, true} {
		t.Run(fmt.Sprintf("memo=%v", memo), func(t *testing.T) {
			srv, w := setupMemo(t, memo)
			_, created, err := w.UpsertComment(ctx, "acme", "api", 1, m, "Plan: 1 to add")
			if err != nil || !created {
				t.Fatalf("first upsert: created=%v err=%v", created, err)
			}
			// A retried job with the same body writes nothing.
			if _, created, err := w.UpsertComment(ctx, "acme", "api", 1, m, "Plan: 1 to add"); err != nil || created {
				t.Fatalf("retry: created=%v err=%v", created, err)
			}
			// A new plan edits the same comment.
			if _, created, err := w.UpsertComment(ctx, "acme", "api", 1, m, "Plan: 2 to add"); err != nil || created {
				t.Fatalf("update: created=%v err=%v", created, err)
			}
			want := []string{"tasuki[bot]: Plan: 2 to add\n\n" + m.String()}
			if diff := cmp.Diff(want, bodies(srv.Comments("acme/api", 1))); diff != "" {
				t.Errorf("comments (-want +got):\n%s", diff)
			}
			if n := srv.CallCount("POST", tmplComments); n != 1 {
				t.Errorf("%d comment creations, want 1", n)
			}
			if n := srv.CallCount("PATCH", tmplComment); n != 1 {
				t.Errorf("%d comment edits, want 1 (the unchanged retry must not edit)", n)
			}
			// With a memo the later upserts read the one comment instead of
			// listing the thread.
			wantLists := 3
			if memo {
				wantLists = 1
			}
			if n := srv.CallCount("GET", tmplComments); n != wantLists {
				t.Errorf("%d comment listings, want %d", n, wantLists)
			}
		})
	}
}

func TestUpsertCommentIgnoresOthersCopies(t *testing.T) {
	ctx := context.Background()
	m := marker.New("plan-review", "1")
	srv, _ := setup(t)
	srv.AddComment("acme/api", 1, "mallory", "quoting tasuki: approve me "+m.String())
	srv.AddComment("acme/api", 1, "tasuki[bot]", "other kind "+marker.New("postmortem", "1").String())
	memo := &mapMemo{}
	// A memo pointing at someone else's comment must not be trusted either.
	mallory := srv.Comments("acme/api", 1)[0]
	_ = memo.Put(ctx, fmt.Sprintf("comment:acme/api#1:%s:%s", m.Kind, m.Key), fmt.Sprint(mallory.GetID()))
	w := ghwrite.New(srv.Client(), bot, nil, ghwrite.WithMemo(memo))
	c, created, err := w.UpsertComment(ctx, "acme", "api", 1, m, "verdict")
	if err != nil || !created {
		t.Fatalf("created=%v err=%v, want a new comment", created, err)
	}
	got := bodies(srv.Comments("acme/api", 1))
	want := []string{
		"mallory: quoting tasuki: approve me " + m.String(),
		"tasuki[bot]: other kind " + marker.New("postmortem", "1").String(),
		"tasuki[bot]: verdict\n\n" + m.String(),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("comments (-want +got):\n%s", diff)
	}
	found, err := w.FindComment(ctx, "acme", "api", 1, m)
	if err != nil || found.GetID() != c.GetID() {
		t.Errorf("FindComment = %v, %v; want comment %d", found.GetID(), err, c.GetID())
	}
}

func TestUpsertCommentMemoStale(t *testing.T) {
	ctx := context.Background()
	m := marker.New("plan-review", "1")
	memo := &mapMemo{}
	srv, w := setup(t, ghwrite.WithMemo(memo))
	c, _, err := w.UpsertComment(ctx, "acme", "api", 1, m, "one")
	if err != nil {
		t.Fatal(err)
	}
	// Someone deletes tasuki's comment: the remembered ID 404s, and the
	// writer posts a fresh one.
	if _, err := srv.ClientAs("alice").Issues.DeleteComment(ctx, "acme", "api", c.GetID()); err != nil {
		t.Fatal(err)
	}
	c2, created, err := w.UpsertComment(ctx, "acme", "api", 1, m, "two")
	if err != nil || !created || c2.GetID() == c.GetID() {
		t.Fatalf("after delete: created=%v err=%v id=%d", created, err, c2.GetID())
	}
	if diff := cmp.Diff([]string{"tasuki[bot]: two\n\n" + m.String()}, bodies(srv.Comments("acme/api", 1))); diff != "" {
		t.Errorf("comments (-want +got):\n%s", diff)
	}
}

func TestUpsertCommentErrorContext(t *testing.T) {
	srv, w := setup(t)
	srv.Inject("POST", tmplComments, 500, nil)
	_, _, err := w.UpsertComment(context.Background(), "acme", "api", 1, marker.New("plan-review", "1"), "x")
	if err == nil || !strings.Contains(err.Error(), "upsert comment plan-review on acme/api#1: ") || !strings.Contains(err.Error(), "500") {
		t.Errorf("err = %v, want context and the 500", err)
	}
}

func TestEnsureIssue(t *testing.T) {
	ctx := context.Background()
	m := marker.New("postmortem", "acme/api#7")
	req := &github.IssueRequest{Title: github.String("Postmortem: API outage"), Body: github.String("## Summary"), Labels: &[]string{"postmortem"}}
	tests := []struct {
		name       string
		lookup     ghwrite.IssueLookup
		memo       bool
		wantList   int
		wantSearch int
		wantGet    int
	}{
		{"by label", ghwrite.IssueLookup{Label: "postmortem"}, false, 2, 1, 0}, // the first call also searches before creating
		{"by search", ghwrite.IssueLookup{}, false, 0, 2, 0},
		{"by memo", ghwrite.IssueLookup{Label: "postmortem"}, true, 1, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, w := setupMemo(t, tt.memo)
			// Decoys: a human's issue quoting the marker, tasuki's issue for
			// another incident.
			srv.AddIssue("acme/api", &github.Issue{Title: github.String("copy"), Body: github.String(m.String()), User: &github.User{Login: github.String("mallory")},
				Labels: []*github.Label{{Name: github.String("postmortem")}}})
			srv.AddIssue("acme/api", &github.Issue{Title: github.String("other"), Body: github.String(marker.New("postmortem", "acme/api#8").String()),
				Labels: []*github.Label{{Name: github.String("postmortem")}}})
			first, created, err := w.EnsureIssue(ctx, "acme", "api", m, req, tt.lookup)
			if err != nil || !created {
				t.Fatalf("first: created=%v err=%v", created, err)
			}
			second, created, err := w.EnsureIssue(ctx, "acme", "api", m, req, tt.lookup)
			if err != nil || created || second.GetNumber() != first.GetNumber() {
				t.Fatalf("second: created=%v err=%v number=%d, want #%d again", created, err, second.GetNumber(), first.GetNumber())
			}
			if n := srv.CallCount("POST", tmplIssues); n != 1 {
				t.Errorf("%d issues created, want 1", n)
			}
			got := srv.Issue("acme/api", first.GetNumber())
			if want := "## Summary\n\n" + m.String(); got.GetBody() != want {
				t.Errorf("body = %q, want %q", got.GetBody(), want)
			}
			calls := [3]int{srv.CallCount("GET", tmplIssues), srv.CallCount("GET", tmplSearch), srv.CallCount("GET", tmplIssue)}
			if diff := cmp.Diff([3]int{tt.wantList, tt.wantSearch, tt.wantGet}, calls); diff != "" {
				t.Errorf("calls [list search get] (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUpsertCheckRun(t *testing.T) {
	ctx := context.Background()
	srv, w := setup(t)
	sha := srv.Pull("acme/api", 1).GetHead().GetSHA()
	// Another App's run with the same name and external ID is not ours.
	srv.AddCheckRun("acme/api", &github.CheckRun{Name: github.String("tasuki/plan-review"), HeadSHA: github.String(sha), ExternalID: github.String("pr-1"),
		Status: github.String("completed"), Conclusion: github.String("success"), App: &github.App{Slug: github.String("impostor")}})

	run := ghwrite.CheckRun{Name: "tasuki/plan-review", HeadSHA: sha, ExternalID: "pr-1", Conclusion: "action_required",
		Title: "Needs a second reviewer", Summary: "1 to destroy"}
	c1, err := w.UpsertCheckRun(ctx, "acme", "api", run)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.UpsertCheckRun(ctx, "acme", "api", run); err != nil { // a retry
		t.Fatal(err)
	}
	run.Conclusion, run.Title = "success", "Approved"
	c3, err := w.UpsertCheckRun(ctx, "acme", "api", run)
	if err != nil {
		t.Fatal(err)
	}
	if c3.GetID() != c1.GetID() {
		t.Errorf("update made run %d, want %d updated", c3.GetID(), c1.GetID())
	}
	if n, m := srv.CallCount("POST", tmplCheckRuns), srv.CallCount("PATCH", tmplCheckRun); n != 1 || m != 1 {
		t.Errorf("%d creations and %d updates, want 1 and 1", n, m)
	}
	var got []string
	for _, c := range srv.CheckRuns("acme/api") {
		got = append(got, c.GetApp().GetSlug()+" "+c.GetConclusion()+" "+c.GetOutput().GetTitle())
	}
	if diff := cmp.Diff([]string{"impostor success ", "tasuki success Approved"}, got); diff != "" {
		t.Errorf("check runs (-want +got):\n%s", diff)
	}
}

func TestUpsertCheckRunLimits(t *testing.T) {
	ctx := context.Background()
	srv, w := setup(t)
	var anns []ghwrite.Annotation
	for i := 0; i < 120; i++ {
		anns = append(anns, ghwrite.Annotation{Path: "main.tf", StartLine: i + 1, EndLine: i + 1,
			Level: "warning", Message: fmt.Sprint("destroys resource ", i)})
	}
	long := strings.Repeat("é", 40000) // 80,000 bytes
	run := ghwrite.CheckRun{Name: "tasuki/plan-review", HeadSHA: "abc", ExternalID: "pr-1", Conclusion: "failure",
		Summary: long, Text: long, Annotations: anns}
	c, err := w.UpsertCheckRun(ctx, "acme", "api", run)
	if err != nil {
		t.Fatal(err)
	}
	if n, m := srv.CallCount("POST", tmplCheckRuns), srv.CallCount("PATCH", tmplCheckRun); n != 1 || m != 2 {
		t.Errorf("%d creations and %d updates, want 1 and 2 (120 annotations in batches of 50)", n, m)
	}
	stored := srv.CheckRuns("acme/api")[0]
	if got := stored.GetOutput().GetAnnotationsCount(); got != 120 {
		t.Errorf("%d annotations stored, want 120", got)
	}
	sum := stored.GetOutput().GetSummary()
	if len(sum) > ghwrite.MaxOutputChars || !utf8.ValidString(sum) || !strings.HasSuffix(sum, ghwrite.TruncatedNote) {
		t.Errorf("summary: %d bytes, valid UTF-8 %v, ends with note %v", len(sum), utf8.ValidString(sum), strings.HasSuffix(sum, ghwrite.TruncatedNote))
	}
	// A retry sends no annotation twice and writes nothing.
	if _, err := w.UpsertCheckRun(ctx, "acme", "api", run); err != nil {
		t.Fatal(err)
	}
	if got := srv.CheckRuns("acme/api")[0].GetOutput().GetAnnotationsCount(); got != 120 || srv.CallCount("PATCH", tmplCheckRun) != 2 {
		t.Errorf("after retry: %d annotations, %d updates; want 120 and 2", got, srv.CallCount("PATCH", tmplCheckRun))
	}
	_ = c
}

func TestAddLabels(t *testing.T) {
	ctx := context.Background()
	srv, w := setup(t)
	is := srv.AddIssue("acme/api", &github.Issue{Title: github.String("Outage"), Labels: []*github.Label{{Name: github.String("incident")}}})
	if err := w.AddLabels(ctx, "acme", "api", is.GetNumber(), "Incident", "sev1"); err != nil {
		t.Fatal(err)
	}
	if err := w.AddLabels(ctx, "acme", "api", is.GetNumber(), "sev1", "incident"); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range srv.Issue("acme/api", is.GetNumber()).Labels {
		names = append(names, l.GetName())
	}
	if diff := cmp.Diff([]string{"incident", "sev1"}, names); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if n := srv.CallCount("POST", tmplIssueLabels); n != 1 {
		t.Errorf("%d label writes, want 1", n)
	}
	for _, c := range srv.Calls() {
		if c.Method == "POST" && c.Template == tmplIssueLabels && strings.TrimSpace(string(c.Body)) != `["sev1"]` {
			t.Errorf("label write sent %s, want only the missing label", c.Body)
		}
	}
}

func TestUpsertCommentTooLong(t *testing.T) {
	ctx := context.Background()
	m := marker.New("plan-review", "1")
	srv, w := setup(t)
	body := strings.Repeat("- aws_s3_bucket.logs will be destroyed\n", 3000) // 117,000 bytes
	for i := 0; i < 2; i++ {
		if _, _, err := w.UpsertComment(ctx, "acme", "api", 1, m, body); err != nil {
			t.Fatalf("upsert %d: %v", i, err)
		}
	}
	cs := srv.Comments("acme/api", 1)
	if len(cs) != 1 {
		t.Fatalf("%d comments, want 1", len(cs))
	}
	got := cs[0].GetBody()
	if len(got) > ghwrite.MaxBodyChars || !strings.Contains(got, "(truncated") || !strings.HasSuffix(got, m.String()) {
		t.Errorf("body: %d bytes, truncation note %v, ends with marker %v", len(got), strings.Contains(got, "(truncated"), strings.HasSuffix(got, m.String()))
	}
	if n := srv.CallCount("PATCH", tmplComment); n != 0 {
		t.Errorf("%d edits of an unchanged long comment, want 0", n)
	}
}

func TestEnsureComment(t *testing.T) {
	ctx := context.Background()
	m := marker.New("postmortem-help", "42")
	for _, memo := range []bool{false, true} {
		t.Run(fmt.Sprintf("memo=%v", memo), func(t *testing.T) {
			srv, w := setupMemo(t, memo)
			// A person quoting the marker does not count as tasuki's reply.
			srv.AddComment("acme/api", 1, "mallory", "quoting "+m.String())
			first, created, err := w.EnsureComment(ctx, "acme", "api", 1, m, "Commands: /tasuki help")
			if err != nil || !created {
				t.Fatalf("first: created=%v err=%v", created, err)
			}
			// A retry, even with another body, neither posts nor edits.
			again, created, err := w.EnsureComment(ctx, "acme", "api", 1, m, "Commands: /tasuki help, /tasuki followup")
			if err != nil || created || again.GetID() != first.GetID() {
				t.Fatalf("retry: created=%v err=%v id=%d, want comment %d again", created, err, again.GetID(), first.GetID())
			}
			want := []string{"mallory: quoting " + m.String(), "tasuki[bot]: Commands: /tasuki help\n\n" + m.String()}
			if diff := cmp.Diff(want, bodies(srv.Comments("acme/api", 1))); diff != "" {
				t.Errorf("comments (-want +got):\n%s", diff)
			}
			if n := srv.CallCount("POST", tmplComments); n != 1 {
				t.Errorf("%d comments posted, want 1", n)
			}
			if n := srv.CallCount("PATCH", tmplComment); n != 0 {
				t.Errorf("%d edits, want 0", n)
			}
			// With a memo the retry reads the one comment instead of
			// listing the thread.
			wantLists, wantGets := 2, 0
			if memo {
				wantLists, wantGets = 1, 1
			}
			if diff := cmp.Diff([2]int{wantLists, wantGets}, [2]int{srv.CallCount("GET", tmplComments), srv.CallCount("GET", tmplComment)}); diff != "" {
				t.Errorf("calls [list get] (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEnsureCommentErrorContext(t *testing.T) {
	srv, w := setup(t)
	srv.Inject("GET", tmplComments, 502, nil)
	_, _, err := w.EnsureComment(context.Background(), "acme", "api", 1, marker.New("postmortem-link", "acme/api#1"), "x")
	if err == nil || !strings.Contains(err.Error(), "ensure comment postmortem-link on acme/api#1: ") || !strings.Contains(err.Error(), "502") {
		t.Errorf("err = %v, want context and the 502", err)
	}
	if n := srv.CallCount("POST", tmplComments); n != 0 {
		t.Errorf("posted %d comments after a failed lookup, want 0", n)
	}
}

func TestTrustedComments(t *testing.T) {
	srv, w := setup(t)
	srv.AddComment("acme/api", 1, "tasuki[bot]", "first "+marker.New("postmortem-reminder", "2026-03-20").String())
	for i := 0; i < 100; i++ {
		srv.AddComment("acme/api", 1, "alice", fmt.Sprintf("comment %d %s", i, marker.New("postmortem-complete", "x")))
	}
	srv.AddComment("acme/api", 1, "tasuki[bot]", "last")
	cs, err := w.TrustedComments(context.Background(), "acme", "api", 1)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"tasuki[bot]: first " + marker.New("postmortem-reminder", "2026-03-20").String(), "tasuki[bot]: last"}
	if diff := cmp.Diff(want, bodies(cs)); diff != "" {
		t.Errorf("trusted comments (-want +got):\n%s", diff)
	}
	if n := srv.CallCount("GET", tmplComments); n != 2 {
		t.Errorf("%d pages read, want 2 (102 comments)", n)
	}
}

// Follow-up issues carry no label: EnsureIssue finds them among the issues
// tasuki opened since a time.
func TestEnsureIssueCreatedSince(t *testing.T) {
	ctx := context.Background()
	m := marker.New("postmortem-item", "acme/api#3:add-jitter")
	since := time.Now().Add(-time.Hour)
	lookup := ghwrite.IssueLookup{CreatedSince: since, NoSearch: true}
	req := &github.IssueRequest{Title: github.String("Action item: Add jitter"), Body: github.String("From the postmortem.")}
	srv, w := setup(t)
	srv.AddIssue("acme/api", &github.Issue{Title: github.String("copy"), Body: github.String(m.String()), User: &github.User{Login: github.String("mallory")}})
	if got, err := w.FindIssue(ctx, "acme", "api", m, lookup); err != nil || got != nil {
		t.Fatalf("FindIssue before creation = #%d, %v; want none", got.GetNumber(), err)
	}
	first, created, err := w.EnsureIssue(ctx, "acme", "api", m, req, lookup)
	if err != nil || !created {
		t.Fatalf("first: created=%v err=%v", created, err)
	}
	// Another replica, nothing remembered.
	w2 := ghwrite.New(srv.Client(), bot, slog.New(slog.NewTextHandler(io.Discard, nil)))
	second, created, err := w2.EnsureIssue(ctx, "acme", "api", m, req, lookup)
	if err != nil || created || second.GetNumber() != first.GetNumber() {
		t.Fatalf("second: created=%v err=%v number=%d, want #%d again", created, err, second.GetNumber(), first.GetNumber())
	}
	if n := srv.CallCount("POST", tmplIssues); n != 1 {
		t.Errorf("%d issues created, want 1", n)
	}
	if n := srv.CallCount("GET", tmplSearch); n != 0 {
		t.Errorf("%d searches with NoSearch, want 0", n)
	}
	for _, c := range srv.Calls() {
		if c.Method == "GET" && c.Template == tmplIssues {
			if c.Query.Get("creator") != "tasuki[bot]" || c.Query.Get("since") != since.UTC().Format(time.RFC3339) || c.Query.Get("state") != "all" {
				t.Errorf("listing query %v, want creator tasuki[bot], since %s, state all", c.Query, since.UTC().Format(time.RFC3339))
			}
		}
	}
}

func TestFindIssueRemembers(t *testing.T) {
	ctx := context.Background()
	m := marker.New("postmortem", "acme/api#7")
	srv, w := setup(t, ghwrite.WithMemo(&mapMemo{}))
	is := srv.AddIssue("acme/api", &github.Issue{Title: github.String("Postmortem"), Body: github.String(m.String()),
		User: &github.User{Login: github.String("tasuki[bot]")}, Labels: []*github.Label{{Name: github.String("postmortem")}}})
	lookup := ghwrite.IssueLookup{Label: "postmortem"}
	for i := 0; i < 3; i++ {
		got, err := w.FindIssue(ctx, "acme", "api", m, lookup)
		if err != nil || got.GetNumber() != is.GetNumber() {
			t.Fatalf("FindIssue %d = #%d, %v; want #%d", i, got.GetNumber(), err, is.GetNumber())
		}
	}
	// The first call lists; the others read the remembered issue.
	calls := [3]int{srv.CallCount("GET", tmplIssues), srv.CallCount("GET", tmplSearch), srv.CallCount("GET", tmplIssue)}
	if diff := cmp.Diff([3]int{1, 0, 2}, calls); diff != "" {
		t.Errorf("calls [list search get] (-want +got):\n%s", diff)
	}
	// A remembered issue that is gone (410, deleted) is looked up again
	// rather than failing the job.
	srv.Inject("GET", tmplIssue, 410, nil)
	if got, err := w.FindIssue(ctx, "acme", "api", m, lookup); err != nil || got.GetNumber() != is.GetNumber() {
		t.Fatalf("after 410: #%d, %v; want #%d", got.GetNumber(), err, is.GetNumber())
	}
	if n := srv.CallCount("GET", tmplIssues); n != 2 {
		t.Errorf("%d listings after the 410, want 2", n)
	}
}

func TestEnsureIssueAssigneesRefused(t *testing.T) {
	ctx := context.Background()
	m := marker.New("postmortem", "acme/api#7")
	tests := []struct {
		name      string
		assignees *[]string
		wantPosts int
		wantErr   bool
	}{
		// GitHub refuses a login without access to the repository; the
		// issue is opened unassigned rather than not at all.
		{"with assignees", &[]string{"sre-alice"}, 2, false},
		// A 422 for another reason is not retried.
		{"without assignees", nil, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, w := setup(t)
			srv.Inject("POST", tmplIssues, 422, nil)
			req := &github.IssueRequest{Title: github.String("Postmortem"), Body: github.String("x"), Assignees: tt.assignees}
			is, created, err := w.EnsureIssue(ctx, "acme", "api", m, req, ghwrite.IssueLookup{Label: "postmortem", NoSearch: true})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if n := srv.CallCount("POST", tmplIssues); n != tt.wantPosts {
				t.Errorf("%d creation attempts, want %d", n, tt.wantPosts)
			}
			if tt.wantErr {
				return
			}
			if !created || len(srv.Issue("acme/api", is.GetNumber()).Assignees) != 0 {
				t.Errorf("created=%v assignees=%v, want an unassigned issue", created, srv.Issue("acme/api", is.GetNumber()).Assignees)
			}
			if req.Assignees == nil {
				t.Error("the caller's request was changed")
			}
		})
	}
}
