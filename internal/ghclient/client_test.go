package ghclient_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tasuki-sre/tasuki/internal/ghclient"
	"github.com/tasuki-sre/tasuki/internal/githubtest"
	"github.com/tasuki-sre/tasuki/internal/metrics"
)

const (
	tmplTokens   = "/app/installations/{installation_id}/access_tokens"
	tmplRepo     = "/repos/{owner}/{repo}"
	tmplContents = "/repos/{owner}/{repo}/contents/{path}"
	tmplComments = "/repos/{owner}/{repo}/issues/{issue_number}/comments"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func setup(t *testing.T, baseURL string, opts ...ghclient.Option) (*githubtest.Server, *ghclient.Clients, *metrics.Metrics) {
	t.Helper()
	srv := githubtest.New(t)
	srv.AddRepo("acme/api", "main")
	srv.AddInstallation(7, "acme")
	if baseURL == "" {
		baseURL = srv.URL()
	}
	m := metrics.New()
	opts = append([]ghclient.Option{ghclient.WithTransport(srv.HTTPClient().Transport), ghclient.WithMetrics(m),
		ghclient.WithLogger(quiet), ghclient.WithRetries(2, time.Millisecond)}, opts...)
	cs, err := ghclient.New(ghclient.Config{AppID: 1, PrivateKeyPEM: githubtest.AppKey(), BaseURL: baseURL}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return srv, cs, m
}

func TestInstallationTokenCached(t *testing.T) {
	tests := []struct {
		name string
		base func(*githubtest.Server) string
	}{
		{"api base", func(s *githubtest.Server) string { return s.URL() }},
		{"GHES host only", func(s *githubtest.Server) string { return s.HostURL() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := githubtest.New(t)
			srv.AddRepo("acme/api", "main")
			srv.AddInstallation(7, "acme")
			cs, err := ghclient.New(ghclient.Config{AppID: 1, PrivateKeyPEM: githubtest.AppKey(), BaseURL: tt.base(srv)},
				ghclient.WithTransport(srv.HTTPClient().Transport))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			for i := 0; i < 3; i++ {
				c, err := cs.Client(ctx, 7)
				if err != nil {
					t.Fatal(err)
				}
				is, _, err := c.Issues.Create(ctx, "acme", "api", &github.IssueRequest{Title: github.String(fmt.Sprint("issue ", i))})
				if err != nil {
					t.Fatalf("create issue %d: %v", i, err)
				}
				if got := is.GetUser().GetLogin(); got != "tasuki[bot]" {
					t.Errorf("author = %q, want tasuki[bot]", got)
				}
			}
			if n := srv.CallCount("POST", tmplTokens); n != 1 {
				t.Errorf("%d token requests for 3 calls, want 1", n)
			}
			// The App client uses its JWT.
			inst, _, err := cs.App().Apps.ListInstallations(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(inst) != 2 {
				t.Errorf("%d installations, want 2", len(inst))
			}
		})
	}
}

func TestETagRevalidation(t *testing.T) {
	srv, cs, m := setup(t, "")
	srv.PutFile("acme/api", "main", ".github/tasuki.yml", []byte("review:\n  required: 2\n"))
	ctx := context.Background()
	c, err := cs.Client(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	read := func() (string, *github.Response) {
		t.Helper()
		fc, _, resp, err := c.Repositories.GetContents(ctx, "acme", "api", ".github/tasuki.yml", &github.RepositoryContentGetOptions{Ref: "main"})
		if err != nil {
			t.Fatal(err)
		}
		s, _ := fc.GetContent()
		return s, resp
	}
	first, r1 := read()
	second, r2 := read()
	if first != "review:\n  required: 2\n" || second != first {
		t.Errorf("reads = %q, %q", first, second)
	}
	if r2.Rate.Remaining != r1.Rate.Remaining {
		t.Errorf("revalidated read spent rate limit: %d then %d", r1.Rate.Remaining, r2.Rate.Remaining)
	}
	var statuses []int
	for _, call := range srv.Calls() {
		if call.Template == tmplContents {
			statuses = append(statuses, call.Status)
		}
	}
	if fmt.Sprint(statuses) != "[200 304]" {
		t.Errorf("contents answers = %v, want [200 304]", statuses)
	}
	if got := value(m.GitHubRequests.WithLabelValues("GET", tmplContents, "304")); got != 1 {
		t.Errorf("304s counted = %v, want 1", got)
	}
	// A changed file is read afresh.
	srv.PutFile("acme/api", "main", ".github/tasuki.yml", []byte("review: {}\n"))
	if third, _ := read(); third != "review: {}\n" {
		t.Errorf("after change read %q", third)
	}
}

func TestRetry5xx(t *testing.T) {
	srv, cs, m := setup(t, "")
	ctx := context.Background()
	c, _ := cs.Client(ctx, 7)
	srv.AddIssue("acme/api", &github.Issue{Title: github.String("t")})

	srv.InjectTimes(2, "GET", tmplRepo, 502, nil)
	if _, _, err := c.Repositories.Get(ctx, "acme", "api"); err != nil {
		t.Fatalf("GET after two 502s: %v", err)
	}
	if n := srv.CallCount("GET", tmplRepo); n != 3 {
		t.Errorf("%d GETs, want 3", n)
	}
	if got := value(m.GitHubRequests.WithLabelValues("GET", tmplRepo, "502")); got != 2 {
		t.Errorf("502s counted = %v, want 2", got)
	}

	// Retries are bounded.
	srv.InjectTimes(5, "GET", tmplRepo, 503, nil)
	if _, _, err := c.Repositories.Get(ctx, "acme", "api"); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("GET after many 503s: err = %v, want the 503", err)
	}
	if n := srv.CallCount("GET", tmplRepo); n != 6 {
		t.Errorf("%d GETs, want 6 (3 more)", n)
	}

	// A POST may have taken effect: never retried.
	srv.Inject("POST", tmplComments, 502, nil)
	if _, _, err := c.Issues.CreateComment(ctx, "acme", "api", 1, &github.IssueComment{Body: github.String("x")}); err == nil {
		t.Error("POST after 502 succeeded, want the error")
	}
	if n := srv.CallCount("POST", tmplComments); n != 1 {
		t.Errorf("%d POSTs, want 1", n)
	}
}

func TestRetryStopsWithContext(t *testing.T) {
	srv, cs, _ := setup(t, "", ghclient.WithRetries(5, time.Hour))
	c, _ := cs.Client(context.Background(), 7)
	if _, _, err := c.Repositories.Get(context.Background(), "acme", "api"); err != nil { // mint the token first
		t.Fatal(err)
	}
	srv.InjectTimes(10, "GET", tmplRepo, 500, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, _, err := c.Repositories.Get(ctx, "acme", "api")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the context's deadline", err)
	}
}

func TestRetryAt(t *testing.T) {
	srv, cs, _ := setup(t, "")
	ctx := context.Background()
	c, _ := cs.Client(ctx, 7)
	reset := time.Now().Add(10 * time.Minute).Truncate(time.Second)
	tests := []struct {
		name    string
		status  int
		headers map[string]string
		want    time.Duration // from now; 0 means not a rate limit
		wantAt  time.Time
	}{
		{"429 Retry-After", 429, map[string]string{"Retry-After": "120"}, 120 * time.Second, time.Time{}},
		{"secondary 403", 403, map[string]string{"Retry-After": "30"}, 30 * time.Second, time.Time{}},
		{"primary 403", 403, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": fmt.Sprint(reset.Unix())}, 0, reset},
		{"plain 403", 403, nil, 0, time.Time{}},
		{"500", 500, nil, 0, time.Time{}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			login := fmt.Sprint("user", i) // a fresh client: go-github remembers limits per client
			_ = c
			uc := srv.ClientAs(login)
			srv.Inject("GET", tmplRepo, tt.status, tt.headers)
			before := time.Now()
			_, _, err := uc.Repositories.Get(ctx, "acme", "api")
			if err == nil {
				t.Fatal("want an error")
			}
			at, ok := ghclient.RetryAt(err)
			rateLimited := tt.want != 0 || !tt.wantAt.IsZero()
			if ok != rateLimited {
				t.Fatalf("RetryAt ok = %v, want %v (err %v)", ok, rateLimited, err)
			}
			switch {
			case tt.want != 0:
				if d := at.Sub(before); d < tt.want-time.Second || d > tt.want+2*time.Second {
					t.Errorf("retry in %v, want about %v", d, tt.want)
				}
			case !tt.wantAt.IsZero():
				if !at.Equal(tt.wantAt) {
					t.Errorf("retry at %v, want %v", at, tt.wantAt)
				}
			}
			srv.ClearInjections()
		})
	}
}

func TestRateLimitThroughTransport(t *testing.T) {
	// The transport passes 429s through (no retry), so the installation
	// client reports them for the job to snooze.
	srv, cs, m := setup(t, "")
	ctx := context.Background()
	c, _ := cs.Client(ctx, 7)
	if _, _, err := c.Repositories.Get(ctx, "acme", "api"); err != nil {
		t.Fatal(err)
	}
	if got := value(m.RateLimitRemaining.WithLabelValues("7")); got != 4999 {
		t.Errorf("rate limit gauge = %v, want 4999", got)
	}
	srv.Inject("GET", tmplRepo, 429, map[string]string{"Retry-After": "60"})
	_, _, err := c.Repositories.Get(ctx, "acme", "api")
	at, ok := ghclient.RetryAt(err)
	if !ok || time.Until(at) < 50*time.Second {
		t.Errorf("RetryAt = %v, %v; want about a minute from now (err %v)", at, ok, err)
	}
	if n := srv.CallCount("GET", tmplRepo); n != 2 {
		t.Errorf("%d GETs, want 2 (a 429 is not retried by the transport)", n)
	}
}

func TestBadKey(t *testing.T) {
	key := string(githubtest.AppKey())
	lines := strings.Split(key, "\n")
	broken := strings.Join(append(lines[:5:5], lines[len(lines)-3:]...), "\n") // a truncated body
	for _, pemText := range []string{"", "not a key", broken} {
		_, err := ghclient.New(ghclient.Config{AppID: 1, PrivateKeyPEM: []byte(pemText)})
		if err == nil || !strings.HasPrefix(err.Error(), "parse GitHub App private key: ") {
			t.Errorf("key %.20q: err = %v, want a parse error", pemText, err)
			continue
		}
		for _, l := range lines[1:5] {
			if strings.Contains(err.Error(), l[:16]) {
				t.Errorf("error reveals key material: %v", err)
			}
		}
	}
	if _, err := ghclient.New(ghclient.Config{PrivateKeyPEM: githubtest.AppKey()}); err == nil {
		t.Error("missing App ID accepted")
	}
}

func TestTokenClient(t *testing.T) {
	srv := githubtest.New(t)
	srv.AddRepo("acme/api", "main")
	tok := srv.Token("github-actions[bot]")
	c, err := ghclient.NewTokenClient(tok, srv.URL(), ghclient.WithTransport(srv.HTTPClient().Transport))
	if err != nil {
		t.Fatal(err)
	}
	is, _, err := c.Issues.Create(context.Background(), "acme", "api", &github.IssueRequest{Title: github.String("x")})
	if err != nil {
		t.Fatal(err)
	}
	if is.GetUser().GetLogin() != "github-actions[bot]" {
		t.Errorf("author = %q", is.GetUser().GetLogin())
	}
	if _, err := ghclient.NewTokenClient("", srv.URL()); err == nil {
		t.Error("empty token accepted")
	}
}

func TestEndpoint(t *testing.T) {
	tests := map[string]string{
		"/api/v3/repos/acme/api/issues/12/comments":                                   "/repos/{owner}/{repo}/issues/{n}/comments",
		"/repos/acme/api/contents/.github/tasuki.yml":                                 "/repos/{owner}/{repo}/contents/{path}",
		"/repos/acme/api/issues/3/labels/sev1":                                        "/repos/{owner}/{repo}/issues/{n}/labels/{name}",
		"/repos/acme/api/commits/0123456789abcdef0123456789abcdef01234567/check-runs": "/repos/{owner}/{repo}/commits/{sha}/check-runs",
		"/repos/acme/api/commits/main/check-runs":                                     "/repos/{owner}/{repo}/commits/{ref}/check-runs",
		"/orgs/acme/teams/sre/memberships/alice":                                      "/orgs/{org}/teams/{team}/memberships/{user}",
		"/app/installations/7/access_tokens":                                          "/app/installations/{n}/access_tokens",
		"/repos/acme/api/git/ref/heads/feature/x":                                     "/repos/{owner}/{repo}/git/ref/{ref}",
		"/search/issues": "/search/issues",
	}
	for in, want := range tests {
		if got := ghclient.Endpoint(in); got != want {
			t.Errorf("Endpoint(%q) = %q, want %q", in, got, want)
		}
	}
}

// value reads a counter or gauge (prometheus/testutil would pull in another
// module).
func value(c prometheus.Metric) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}

// TestTokenClientETag: the Action's token client revalidates repeated
// reads too, so an unchanged answer costs no rate limit.
func TestTokenClientETag(t *testing.T) {
	srv := githubtest.New(t)
	srv.AddRepo("acme/api", "main")
	srv.AddPull("acme/api", &github.PullRequest{Title: github.String("x")})
	c, err := ghclient.NewTokenClient(srv.Token("github-actions[bot]"), srv.URL(), ghclient.WithTransport(srv.HTTPClient().Transport), ghclient.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		rs, _, err := c.PullRequests.ListReviews(ctx, "acme", "api", 1, nil)
		if err != nil || len(rs) != 0 {
			t.Fatalf("read %d: %v %v", i, rs, err)
		}
	}
	var statuses []int
	for _, call := range srv.Calls() {
		statuses = append(statuses, call.Status)
	}
	if fmt.Sprint(statuses) != "[200 304]" {
		t.Errorf("answers = %v, want [200 304]", statuses)
	}
}
