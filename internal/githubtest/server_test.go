package githubtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v60/github"
)

// Any testing.TB reports for the fake; the package itself does not import
// testing (see Reporter).
var _ Reporter = testing.TB(nil)

// recTB records Errorf calls so tests can assert the validator complained.
type recTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recTB) errors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errs...)
}

func TestValidatorRejects(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		path       string
		body       any
		wantStatus int
		wantErr    string
	}{
		{"undocumented path", "GET", "repos/acme/api/frobnicate/1", nil, 404, "no path in GitHub's OpenAPI description"},
		{"wrong method", "DELETE", "repos/acme/api/issues/1", nil, 404, "takes no DELETE"},
		{"missing required field", "POST", "repos/acme/api/check-runs", map[string]any{"name": "x"}, 422, "(checks/create): body.head_sha: required field is missing"},
		{"wrong field type", "POST", "repos/acme/api/issues", map[string]any{"title": "t", "body": 12}, 422, "(issues/create): body.body: value must be a string, got 12"},
		{"missing required body", "POST", "repos/acme/api/issues", nil, 422, "(issues/create): body: value is required but missing"},
		{"missing required query", "GET", "search/issues", nil, 422, `(search/issues-and-pull-requests): query parameter "q": value is required but missing`},
		{"path parameter of the wrong type", "GET", "repos/acme/api/issues/one", nil, 422, `(issues/get): path parameter "issue_number": `},
		{"query parameter of the wrong type", "GET", "repos/acme/api/issues?per_page=many", nil, 422, `(issues/list-for-repo): query parameter "per_page": `},
		{"query parameter outside its enum", "GET", "repos/acme/api/issues?state=opened", nil, 422, `(issues/list-for-repo): query parameter "state": value is not one of the allowed values ["open","closed","all"], got "opened"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recTB{TB: t}
			srv := New(rec)
			srv.AddRepo("acme/api", "")
			srv.AddIssue("acme/api", &github.Issue{Title: github.String("one")})
			c := srv.Client()
			req, err := c.NewRequest(tt.method, tt.path, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			resp, _ := c.Do(context.Background(), req, nil)
			if resp == nil || resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %v, want %d", resp, tt.wantStatus)
			}
			errs := rec.errors()
			if len(errs) != 1 || !strings.Contains(errs[0], tt.wantErr) {
				t.Errorf("test errors = %q, want one containing %q", errs, tt.wantErr)
			}
		})
	}
}

func TestDocumentedRequestsPass(t *testing.T) {
	rec := &recTB{TB: t}
	srv := New(rec)
	srv.AddRepo("acme/api", "")
	c := srv.Client()
	ctx := context.Background()
	is, _, err := c.Issues.Create(ctx, "acme", "api", &github.IssueRequest{Title: github.String("Incident"), Labels: &[]string{"incident"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Issues.AddLabelsToIssue(ctx, "acme", "api", is.GetNumber(), []string{"sev1"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Issues.CreateComment(ctx, "acme", "api", is.GetNumber(), &github.IssueComment{Body: github.String("hi")}); err != nil {
		t.Fatal(err)
	}
	if errs := rec.errors(); len(errs) > 0 {
		t.Errorf("documented requests were rejected: %q", errs)
	}
	got := srv.Issue("acme/api", is.GetNumber())
	var names []string
	for _, l := range got.Labels {
		names = append(names, l.GetName())
	}
	if diff := cmp.Diff([]string{"incident", "sev1"}, names); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if got.GetUser().GetLogin() != "tasuki[bot]" {
		t.Errorf("author = %q, want tasuki[bot]", got.GetUser().GetLogin())
	}
	var events []string
	for _, e := range srv.Timeline("acme/api", is.GetNumber()) {
		events = append(events, e.GetEvent()+":"+e.GetLabel().GetName())
	}
	if diff := cmp.Diff([]string{"labeled:incident", "labeled:sev1", "commented:"}, events); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
}

func TestPagination(t *testing.T) {
	srv := New(t)
	srv.AddRepo("acme/api", "")
	for i := 0; i < 7; i++ {
		srv.AddComment("acme/api", 0, "alice", "x") // comments on an unseeded issue are not listed
	}
	is := srv.AddIssue("acme/api", &github.Issue{Title: github.String("t")})
	for i := 0; i < 7; i++ {
		srv.AddComment("acme/api", is.GetNumber(), "alice", fmt.Sprintf("c%d", i))
	}
	c := srv.Client()
	opts := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 3}}
	var bodies []string
	pages := 0
	for {
		cs, resp, err := c.Issues.ListComments(context.Background(), "acme", "api", is.GetNumber(), opts)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, cm := range cs {
			bodies = append(bodies, cm.GetBody())
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	if diff := cmp.Diff([]string{"c0", "c1", "c2", "c3", "c4", "c5", "c6"}, bodies); diff != "" {
		t.Errorf("comments (-want +got):\n%s", diff)
	}
	if pages != 3 || srv.CallCount("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments") != 3 {
		t.Errorf("pages = %d, calls = %d, want 3", pages, srv.CallCount("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments"))
	}
}

func TestContentsETag(t *testing.T) {
	srv := New(t)
	srv.AddRepo("acme/api", "main")
	srv.PutFile("acme/api", "main", ".github/tasuki.yml", []byte("review: {}\n"))
	c := srv.Client()
	ctx := context.Background()
	fc, _, resp, err := c.Repositories.GetContents(ctx, "acme", "api", ".github/tasuki.yml", &github.RepositoryContentGetOptions{Ref: "main"})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := fc.GetContent()
	if got != "review: {}\n" {
		t.Errorf("content = %q", got)
	}
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	remaining := resp.Rate.Remaining

	req, _ := c.NewRequest("GET", "repos/acme/api/contents/.github/tasuki.yml?ref=main", nil)
	req.Header.Set("If-None-Match", etag)
	resp2, err := c.BareDo(ctx, req)
	if resp2 == nil || resp2.StatusCode != http.StatusNotModified {
		t.Fatalf("conditional GET: status %v err %v, want 304", resp2, err)
	}
	if resp2.Rate.Remaining != remaining {
		t.Errorf("304 spent rate limit: remaining %d, was %d", resp2.Rate.Remaining, remaining)
	}

	srv.PutFile("acme/api", "main", ".github/tasuki.yml", []byte("review: {required: 2}\n"))
	req, _ = c.NewRequest("GET", "repos/acme/api/contents/.github/tasuki.yml?ref=main", nil)
	req.Header.Set("If-None-Match", etag)
	var fresh github.RepositoryContent
	if _, err := c.Do(ctx, req, &fresh); err != nil {
		t.Fatalf("changed file: %v", err)
	}
	if s, _ := fresh.GetContent(); s != "review: {required: 2}\n" {
		t.Errorf("changed content = %q", s)
	}
}

func TestAuth(t *testing.T) {
	srv := New(t)
	srv.AddRepo("acme/api", "")
	ctx := context.Background()

	if _, _, err := srv.UnauthenticatedClient().Repositories.Get(ctx, "acme", "api"); !isStatus(err, 401) {
		t.Errorf("no auth: err = %v, want 401", err)
	}
	// Installation endpoints refuse a token, take a JWT.
	if _, _, err := srv.Client().Apps.CreateInstallationToken(ctx, 1, nil); !isStatus(err, 401) {
		t.Errorf("token on /app: err = %v, want 401", err)
	}
	app, err := github.NewClient(srv.HTTPClient()).WithAuthToken(SignJWT(1, time.Now())).WithEnterpriseURLs(srv.URL(), srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := app.Apps.CreateInstallationToken(ctx, 1, nil)
	if err != nil {
		t.Fatalf("mint token: %v", err)
	}
	inst, _ := github.NewClient(srv.HTTPClient()).WithAuthToken(tok.GetToken()).WithEnterpriseURLs(srv.URL(), srv.URL())
	is, _, err := inst.Issues.Create(ctx, "acme", "api", &github.IssueRequest{Title: github.String("x")})
	if err != nil {
		t.Fatalf("installation token: %v", err)
	}
	if is.GetUser().GetLogin() != "tasuki[bot]" || is.GetUser().GetType() != "Bot" {
		t.Errorf("author = %s (%s), want tasuki[bot] (Bot)", is.GetUser().GetLogin(), is.GetUser().GetType())
	}
	// A JWT of another App is refused.
	other, _ := github.NewClient(srv.HTTPClient()).WithAuthToken(SignJWT(2, time.Now())).WithEnterpriseURLs(srv.URL(), srv.URL())
	if _, _, err := other.Apps.Get(ctx, ""); !isStatus(err, 401) {
		t.Errorf("foreign JWT: err = %v, want 401", err)
	}
	// A JWT is no installation token.
	if _, _, err := app.Repositories.Get(ctx, "acme", "api"); !isStatus(err, 401) {
		t.Errorf("JWT on repo endpoint: err = %v, want 401", err)
	}
}

func isStatus(err error, status int) bool {
	var er *github.ErrorResponse
	return errors.As(err, &er) && er.Response.StatusCode == status
}

func TestInject(t *testing.T) {
	srv := New(t)
	srv.AddRepo("acme/api", "")
	c := srv.Client()
	ctx := context.Background()
	reset := time.Now().Add(time.Minute).Unix()
	srv.Inject("GET", "/repos/{owner}/{repo}", 403, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": fmt.Sprint(reset)})
	_, _, err := c.Repositories.Get(ctx, "acme", "api")
	var rle *github.RateLimitError
	if !errors.As(err, &rle) || rle.Rate.Reset.Unix() != reset {
		t.Errorf("primary limit: err = %v, want RateLimitError resetting at %d", err, reset)
	}
	srv.Inject("*", "*", 403, map[string]string{"Retry-After": "30"})
	_, _, err = srv.ClientAs("alice").Repositories.Get(ctx, "acme", "api")
	var abuse *github.AbuseRateLimitError
	if !errors.As(err, &abuse) || abuse.GetRetryAfter() != 30*time.Second {
		t.Errorf("secondary limit: err = %v, want AbuseRateLimitError with 30s", err)
	}
	srv.InjectTimes(2, "GET", "/repos/{owner}/{repo}", 502, nil)
	for i := 0; i < 2; i++ {
		if _, _, err := srv.ClientAs("bob").Repositories.Get(ctx, "acme", "api"); !isStatus(err, 502) {
			t.Errorf("attempt %d: err = %v, want 502", i, err)
		}
	}
	if _, _, err := srv.ClientAs("bob").Repositories.Get(ctx, "acme", "api"); err != nil {
		t.Errorf("after injections: %v", err)
	}
}

func TestSearchIssues(t *testing.T) {
	srv := New(t)
	srv.AddRepo("acme/api", "")
	srv.AddRepo("acme/web", "")
	want := srv.AddIssue("acme/api", &github.Issue{Title: github.String("Postmortem"), Body: github.String("x <!-- tasuki:postmortem key=acme/api#1 v=1 -->"),
		Labels: []*github.Label{{Name: github.String("postmortem")}}})
	srv.AddIssue("acme/api", &github.Issue{Title: github.String("Other"), Body: github.String("nothing"), Labels: []*github.Label{{Name: github.String("postmortem")}}})
	srv.AddIssue("acme/web", &github.Issue{Title: github.String("Postmortem"), Body: github.String("x <!-- tasuki:postmortem key=acme/api#1 v=1 -->")})
	res, _, err := srv.Client().Search.Issues(context.Background(), `repo:acme/api is:issue label:postmortem in:body "tasuki:postmortem key=acme/api#1"`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Issues) != 1 || res.Issues[0].GetNumber() != want.GetNumber() {
		t.Errorf("found %d issues, want only #%d", len(res.Issues), want.GetNumber())
	}
}

func TestHookDeliveriesCursor(t *testing.T) {
	srv := New(t)
	for i := 1; i <= 5; i++ {
		srv.AddHookDelivery(&github.HookDelivery{ID: github.Int64(int64(100 + i)), GUID: github.String(fmt.Sprintf("g%d", i)), Event: github.String("issues")})
	}
	app, _ := github.NewClient(srv.HTTPClient()).WithAuthToken(SignJWT(1, time.Now())).WithEnterpriseURLs(srv.URL(), srv.URL())
	ctx := context.Background()
	var ids []int64
	opts := &github.ListCursorOptions{PerPage: 2}
	for {
		ds, resp, err := app.Apps.ListHookDeliveries(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			ids = append(ids, d.GetID())
		}
		if resp.Cursor == "" {
			break
		}
		opts.Cursor = resp.Cursor
	}
	if diff := cmp.Diff([]int64{105, 104, 103, 102, 101}, ids); diff != "" {
		t.Errorf("deliveries (-want +got):\n%s", diff)
	}
	// GitHub answers 202, which go-github reports as *AcceptedError: callers
	// must treat it as success.
	var accepted *github.AcceptedError
	if _, _, err := app.Apps.RedeliverHookDelivery(ctx, 103); !errors.As(err, &accepted) {
		t.Fatalf("redeliver: err = %v, want *github.AcceptedError", err)
	}
	if diff := cmp.Diff([]int64{103}, srv.Redelivered()); diff != "" {
		t.Errorf("redelivered (-want +got):\n%s", diff)
	}
}

func TestCheckRunsByRef(t *testing.T) {
	srv := New(t)
	srv.AddRepo("acme/api", "")
	c := srv.Client()
	ctx := context.Background()
	for _, name := range []string{"tasuki/plan-review", "lint"} {
		if _, _, err := c.Checks.CreateCheckRun(ctx, "acme", "api", github.CreateCheckRunOptions{Name: name, HeadSHA: "abc", ExternalID: github.String("pr-1")}); err != nil {
			t.Fatal(err)
		}
	}
	res, _, err := c.Checks.ListCheckRunsForRef(ctx, "acme", "api", "abc", &github.ListCheckRunsOptions{CheckName: github.String("tasuki/plan-review")})
	if err != nil {
		t.Fatal(err)
	}
	if res.GetTotal() != 1 || res.CheckRuns[0].GetExternalID() != "pr-1" {
		t.Errorf("got %d runs, want the one plan-review run", res.GetTotal())
	}
}

func TestAbsoluteURLCaught(t *testing.T) {
	rec := &recTB{TB: t}
	srv := New(rec)
	srv.AddRepo("acme/api", "")
	c := srv.Client()
	// A path with a leading slash escapes the base path, as a client
	// building absolute URLs would on GitHub Enterprise Server.
	req, err := http.NewRequest("GET", srv.HostURL()+"/repos/acme/api", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(context.Background(), req, nil); !isStatus(err, 404) {
		t.Errorf("err = %v, want 404", err)
	}
	if errs := rec.errors(); len(errs) != 1 || !strings.Contains(errs[0], "outside /api/v3/") {
		t.Errorf("test errors = %q, want one about the base path", errs)
	}
}

func TestExpiredJWT(t *testing.T) {
	srv := New(t)
	old, _ := github.NewClient(srv.HTTPClient()).WithAuthToken(SignJWT(1, time.Now().Add(-time.Hour))).WithEnterpriseURLs(srv.URL(), srv.URL())
	if _, _, err := old.Apps.Get(context.Background(), ""); !isStatus(err, 401) {
		t.Errorf("expired JWT: err = %v, want 401", err)
	}
}

func TestBodyLimitAndContentLimit(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	srv := New(t, WithContentLimit(3), WithClock(func() time.Time { return now }))
	srv.AddRepo("acme/api", "")
	is := srv.AddIssue("acme/api", &github.Issue{Title: github.String("t")})
	c := srv.Client()
	ctx := context.Background()
	if _, _, err := c.Issues.CreateComment(ctx, "acme", "api", is.GetNumber(), &github.IssueComment{Body: github.String(strings.Repeat("x", 65537))}); !isStatus(err, 422) {
		t.Errorf("65,537-character comment: err = %v, want 422", err)
	}
	for i := 0; i < 2; i++ {
		if _, _, err := c.Issues.CreateComment(ctx, "acme", "api", is.GetNumber(), &github.IssueComment{Body: github.String("ok")}); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	_, _, err := c.Issues.CreateComment(ctx, "acme", "api", is.GetNumber(), &github.IssueComment{Body: github.String("one too many")})
	var abuse *github.AbuseRateLimitError
	if !errors.As(err, &abuse) || abuse.GetRetryAfter() != time.Minute {
		t.Errorf("4th write in a minute: err = %v, want a secondary rate limit", err)
	}
	if n := len(srv.Comments("acme/api", is.GetNumber())); n != 2 {
		t.Errorf("%d comments stored, want 2", n)
	}
}

func TestCheckRunOwnership(t *testing.T) {
	srv := New(t)
	srv.AddRepo("acme/api", "")
	ctx := context.Background()
	opts := github.CreateCheckRunOptions{Name: "tasuki/plan-review", HeadSHA: "abc"}
	if _, _, err := srv.ClientAs("alice").Checks.CreateCheckRun(ctx, "acme", "api", opts); !isStatus(err, 403) {
		t.Errorf("a user creating a check run: err = %v, want 403", err)
	}
	run, _, err := srv.ClientAs("github-actions[bot]").Checks.CreateCheckRun(ctx, "acme", "api", opts)
	if err != nil {
		t.Fatal(err)
	}
	if run.GetApp().GetSlug() != "github-actions" {
		t.Errorf("app = %q, want github-actions", run.GetApp().GetSlug())
	}
	if _, _, err := srv.Client().Checks.UpdateCheckRun(ctx, "acme", "api", run.GetID(), github.UpdateCheckRunOptions{Name: "x"}); !isStatus(err, 403) {
		t.Errorf("another App updating the run: err = %v, want 403", err)
	}
}

// GET /installation/repositories lists what the token's installation can
// reach, paginated, with total_count; other credentials are refused.
func TestInstallationRepositories(t *testing.T) {
	srv := New(t)
	for _, r := range []string{"acme/api", "acme/web", "acme/infra", "other/lib"} {
		srv.AddRepo(r, "")
	}
	srv.AddInstallation(2, "other")
	ctx := context.Background()
	list := func(c *github.Client) ([]string, []int, error) {
		var names []string
		var totals []int
		opts := &github.ListOptions{PerPage: 2}
		for {
			rs, resp, err := c.Apps.ListRepos(ctx, opts)
			if err != nil {
				return nil, nil, err
			}
			totals = append(totals, rs.GetTotalCount())
			for _, r := range rs.Repositories {
				names = append(names, r.GetFullName())
			}
			if resp.NextPage == 0 {
				return names, totals, nil
			}
			opts.Page = resp.NextPage
		}
	}
	names, totals, err := list(srv.InstallationClient(1))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"acme/api", "acme/web", "acme/infra"}, names); diff != "" {
		t.Errorf("installation 1 repositories (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{3, 3}, totals); diff != "" {
		t.Errorf("total_count per page (-want +got):\n%s", diff)
	}
	if names, _, err := list(srv.InstallationClient(2)); err != nil || !cmp.Equal([]string{"other/lib"}, names) {
		t.Errorf("installation 2 repositories = %v, %v; want [other/lib]", names, err)
	}
	// An archived repository is still listed, marked archived.
	srv.EditRepo("acme/web", func(r *github.Repository) { r.Archived = github.Bool(true) })
	rs, _, err := srv.InstallationClient(1).Apps.ListRepos(ctx, nil)
	if err != nil || len(rs.Repositories) != 3 || !rs.Repositories[1].GetArchived() {
		t.Errorf("after archiving: %v, %v", rs, err)
	}
	// A user's token is no installation token; a JWT is refused too.
	if _, _, err := srv.ClientAs("alice").Apps.ListRepos(ctx, nil); !isStatus(err, 403) {
		t.Errorf("user token: err = %v, want 403", err)
	}
	if _, _, err := srv.AppClient().Apps.ListRepos(ctx, nil); !isStatus(err, 401) {
		t.Errorf("JWT: err = %v, want 401", err)
	}
}

// GET /repos/{owner}/{repo}/installation takes the App's JWT and finds the
// installation on the repository's owner.
func TestRepoInstallation(t *testing.T) {
	srv := New(t)
	srv.AddRepo("acme/api", "")
	srv.AddRepo("nobody/lib", "")
	ctx := context.Background()
	in, _, err := srv.AppClient().Apps.FindRepositoryInstallation(ctx, "acme", "api")
	if err != nil || in.GetID() != 1 {
		t.Errorf("acme/api: installation %d, %v; want 1", in.GetID(), err)
	}
	if _, _, err := srv.AppClient().Apps.FindRepositoryInstallation(ctx, "nobody", "lib"); !isStatus(err, 404) {
		t.Errorf("repository without installation: err = %v, want 404", err)
	}
	if _, _, err := srv.InstallationClient(1).Apps.FindRepositoryInstallation(ctx, "acme", "api"); !isStatus(err, 401) {
		t.Errorf("installation token: err = %v, want 401", err)
	}
}
