package ghclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v60/github"
	"github.com/shurcooL/githubv4"

	"github.com/tasuki-sre/tasuki/internal/dispatch"
)

var classifyNow = time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)

// answer is GitHub's answer to method path, as go-github reports it: the
// error github.CheckResponse builds from the status, headers and body.
func answer(method, path string, status int, headers map[string]string, body string) error {
	req, _ := http.NewRequest(method, "https://api.github.com"+path, nil)
	resp := &http.Response{StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body)), Request: req}
	resp.Header.Set("Content-Type", "application/json; charset=utf-8")
	for k, v := range headers {
		resp.Header.Set(k, v)
	}
	return github.CheckResponse(resp)
}

// Bodies and headers as GitHub sends them (the REST and GraphQL rate limit
// documentation, and answers seen in the wild).
const (
	primaryBody   = `{"message":"API rate limit exceeded for installation ID 7.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-rate-limits"}`
	secondBody    = `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 0403:094E:157B29B:29134A0:61E4695A.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`
	abuseBody     = `{"message":"You have triggered an abuse detection mechanism. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/resources-in-the-rest-api#abuse-rate-limits"}`
	notFound      = `{"message":"Not Found","documentation_url":"https://docs.github.com/rest/repos/repos#get-a-repository","status":"404"}`
	forbidden     = `{"message":"Resource not accessible by integration","documentation_url":"https://docs.github.com/rest/issues/comments#create-an-issue-comment","status":"403"}`
	suspendedBody = `{"message":"This installation has been suspended","documentation_url":"https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app","status":"403"}`
)

func primaryHeaders(reset time.Time) map[string]string {
	return map[string]string{"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0", "X-RateLimit-Used": "5000",
		"X-RateLimit-Reset": fmt.Sprint(reset.Unix()), "X-RateLimit-Resource": "core"}
}

// tokenRefused is ghinstallation's error for a token request GitHub refused,
// as goneTransport sees it.
func tokenRefused(status int, headers map[string]string, body string) error {
	req, _ := http.NewRequest("POST", "https://api.github.com/app/installations/7/access_tokens", nil)
	resp := &http.Response{StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body)), Request: req}
	for k, v := range headers {
		resp.Header.Set(k, v)
	}
	he := &ghinstallation.HTTPError{Message: "received non 2xx response status \"" + resp.Status + "\" when fetching " + req.URL.String(),
		InstallationID: 7, Response: resp, RootCause: errors.New(resp.Status)}
	return installationGone(7, he)
}

// graphQLAnswer is what a githubv4 client returns for an answer with
// status and body, when it does not go through ghclient's transport.
func graphQLAnswer(t *testing.T, status int, body string) error {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	defer srv.Close()
	var q struct {
		Viewer     struct{ Login string }
		Repository *struct{ Name string } `graphql:"repository(owner: \"acme\", name: \"gone\")"`
	}
	err := githubv4.NewEnterpriseClient(srv.URL+"/api/graphql", srv.Client()).Query(context.Background(), &q, nil)
	if err == nil {
		t.Fatalf("githubv4 took %d %s without an error", status, body)
	}
	return err
}

func TestClassify(t *testing.T) {
	now := classifyNow
	reset := now.Add(37 * time.Minute).Truncate(time.Second)
	wait := func(at time.Time) Decision { return Decision{Action: Wait, At: at} }
	retry, giveUp := Decision{Action: Retry}, Decision{Action: GiveUp}
	abuse := 90 * time.Second
	tests := []struct {
		name string
		err  error
		want Decision // Reason is not compared
	}{
		{"nil", nil, Decision{}},

		// Primary limit: wait until the reset.
		{"primary 403", answer("GET", "/repos/acme/api/pulls", 403, primaryHeaders(reset), primaryBody), wait(reset)},
		{"primary 429", answer("GET", "/repos/acme/api/pulls", 429, primaryHeaders(reset), primaryBody), wait(reset)},
		{"primary, no reset header", answer("GET", "/repos/acme/api", 403, map[string]string{"X-RateLimit-Remaining": "0"}, primaryBody), wait(now.Add(time.Minute))},
		{"primary remembered by go-github", &github.RateLimitError{Rate: github.Rate{Limit: 5000, Reset: github.Timestamp{Time: reset}},
			Response: &http.Response{StatusCode: 403, Header: http.Header{}, Request: &http.Request{Method: "GET", URL: &url.URL{Path: "/repos/acme/api"}}},
			Message:  "API rate limit of 5000 still exceeded"}, wait(reset)},

		// Secondary limits: wait Retry-After, else a minute.
		{"secondary 403 Retry-After", answer("POST", "/repos/acme/api/issues/1/comments", 403, map[string]string{"Retry-After": "60"}, secondBody), wait(now.Add(time.Minute))},
		{"secondary 429 Retry-After", answer("POST", "/repos/acme/api/issues", 429, map[string]string{"Retry-After": "30"}, secondBody), wait(now.Add(30 * time.Second))},
		{"secondary 403, no Retry-After", answer("POST", "/repos/acme/api/issues", 403, nil, secondBody), wait(now.Add(time.Minute))},
		{"secondary by message only", answer("POST", "/repos/acme/api/issues", 403, nil,
			`{"message":"You have exceeded a secondary rate limit and have been temporarily blocked from content creation."}`), wait(now.Add(time.Minute))},
		{"abuse detection (older wording)", answer("POST", "/repos/acme/api/issues", 403, map[string]string{"Retry-After": "120"}, abuseBody), wait(now.Add(2 * time.Minute))},
		{"secondary remembered by go-github", &github.AbuseRateLimitError{Response: &http.Response{StatusCode: 403, Header: http.Header{}, Request: &http.Request{Method: "POST", URL: &url.URL{Path: "/repos/acme/api/issues"}}},
			Message: "API secondary rate limit exceeded until ..., not making remote request.", RetryAfter: &abuse}, wait(now.Add(abuse))},
		{"Retry-After as a date", answer("GET", "/repos/acme/api", 429, map[string]string{"Retry-After": reset.Format(http.TimeFormat)}, `{"message":"Too Many Requests"}`), wait(reset)},
		{"plain 429", answer("GET", "/repos/acme/api", 429, nil, `{"message":"Too Many Requests"}`), wait(now.Add(time.Minute))},

		// The pacer's refusal to send a write, and other packages' marks.
		{"pacer wait", fmt.Errorf("create comment: %w", &WaitError{Until: reset, Method: "POST", Endpoint: "/repos/{owner}/{repo}/issues/{n}/comments"}), wait(reset)},
		{"dispatch.RetryLater", dispatch.RetryLater(errors.New("busy"), reset), wait(reset)},
		{"dispatch.Permanent", dispatch.Permanent(errors.New("payload does not decode")), giveUp},

		// Give up: the installation or the repository is gone.
		{"installation removed", tokenRefused(404, nil, `{"message":"Not Found","documentation_url":"https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app","status":"404"}`), giveUp},
		{"installation suspended", tokenRefused(403, nil, suspendedBody), giveUp},
		{"repository not visible", answer("GET", "/repos/acme/gone", 404, nil, notFound), giveUp},
		{"repository not visible, GHES", func() error {
			err := answer("GET", "/repos/acme/gone", 404, nil, notFound)
			err.(*github.ErrorResponse).Response.Request.URL.Path = "/api/v3/repos/acme/gone"
			return err
		}(), giveUp},

		// Retry: GitHub may answer differently next time.
		{"404 below a repository", answer("GET", "/repos/acme/api/contents/.github/tasuki.yml", 404, nil, notFound), retry},
		{"404 on a write", answer("POST", "/repos/acme/api/issues/9/comments", 404, nil, notFound), retry},
		{"403 permissions", answer("POST", "/repos/acme/api/issues/1/comments", 403, nil, forbidden), retry},
		{"422", answer("POST", "/repos/acme/api/labels", 422, nil, `{"message":"Validation Failed","errors":[{"resource":"Label","code":"already_exists","field":"name"}]}`), retry},
		{"502", answer("GET", "/repos/acme/api/pulls/1", 502, nil, `{"message":"Server Error"}`), retry},
		{"503 HTML", answer("GET", "/repos/acme/api/pulls/1", 503, nil, `<html>unicorn</html>`), retry},
		{"202 still computing", answer("GET", "/repos/acme/api/stats/contributors", 202, nil, ``), retry},
		{"token request 502", tokenRefused(502, nil, `{"message":"Server Error"}`), retry},
		{"token request rate limited", tokenRefused(403, map[string]string{"Retry-After": "60"}, secondBody), wait(now.Add(time.Minute))},
		{"network", &url.Error{Op: "Get", URL: "https://api.github.com/repos/acme/api", Err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}}, retry},
		{"timeout", fmt.Errorf("list reviews: %w", context.DeadlineExceeded), retry},
		{"unknown", errors.New("decode plan: unexpected EOF"), retry},

		// GraphQL through ghclient's transport.
		{"GraphQL RATE_LIMITED with reset", &graphQLError{method: "POST", path: "/graphql", status: 200,
			header: http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {fmt.Sprint(reset.Unix())}, "X-Ratelimit-Resource": {"graphql"}},
			typ:    "RATE_LIMITED", message: "API rate limit exceeded for installation ID 7."}, wait(reset)},
		{"GraphQL RATE_LIMIT, remaining not 0", &graphQLError{method: "POST", path: "/graphql", status: 200,
			header: http.Header{"X-Ratelimit-Remaining": {"1"}, "X-Ratelimit-Reset": {fmt.Sprint(reset.Unix())}},
			typ:    "RATE_LIMIT", message: "API rate limit already exceeded for user ID 42."}, wait(reset)},
		{"GraphQL RATE_LIMITED, no headers", &url.Error{Op: "Post", URL: "https://api.github.com/graphql", Err: &graphQLError{method: "POST", path: "/graphql",
			status: 200, header: http.Header{}, typ: "RATE_LIMITED", message: "API rate limit exceeded for installation ID 7."}}, wait(now.Add(time.Minute))},
		{"GraphQL secondary 403", &graphQLError{method: "POST", path: "/graphql", status: 403, header: http.Header{"Retry-After": {"60"}},
			message: "You have exceeded a secondary rate limit."}, wait(now.Add(time.Minute))},
		{"GraphQL 502", &graphQLError{method: "POST", path: "/graphql", status: 502, header: http.Header{}}, retry},

		// GraphQL from a githubv4 client made elsewhere: only text survives.
		{"githubv4 RATE_LIMITED", graphQLAnswer(t, 200, `{"errors":[{"type":"RATE_LIMITED","message":"API rate limit exceeded for installation ID 9306189."}]}`), wait(now.Add(time.Minute))},
		{"githubv4 repository not visible", graphQLAnswer(t, 200, `{"data":{"repository":null},"errors":[{"type":"NOT_FOUND","path":["repository"],"locations":[{"line":1,"column":2}],"message":"Could not resolve to a Repository with the name 'acme/gone'."}]}`), giveUp},
		{"githubv4 other error", graphQLAnswer(t, 200, `{"errors":[{"message":"Field 'nope' doesn't exist on type 'Query'"}]}`), retry},
		{"githubv4 502", graphQLAnswer(t, 502, `{"message":"Server Error"}`), retry},
		{"githubv4 secondary 403", graphQLAnswer(t, 403, secondBody), wait(now.Add(time.Minute))},

		// Joined errors, as the router returns when several handlers fail.
		{"joined: a limit and a 502", errors.Join(fmt.Errorf("a: %w", answer("GET", "/repos/acme/api", 502, nil, "")),
			fmt.Errorf("b: %w", answer("GET", "/repos/acme/api/pulls", 403, primaryHeaders(reset), primaryBody))), wait(reset)},
		{"joined: two limits wait for the later", errors.Join(dispatch.RetryLater(errors.New("a"), now.Add(time.Minute)), dispatch.RetryLater(errors.New("b"), reset)), wait(reset)},
		{"joined: all gone", errors.Join(tokenRefused(404, nil, notFound), answer("GET", "/repos/acme/gone", 404, nil, notFound)), giveUp},
		{"joined: gone and a 502", errors.Join(tokenRefused(404, nil, notFound), answer("GET", "/repos/acme/api", 502, nil, "")), retry},

		// Classified once, kept.
		{"wrapped", fmt.Errorf("handler: %w", &Error{Decision: Decision{Action: Wait, At: reset, Reason: "primary rate limit"}, Err: errors.New("x")}), wait(reset)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classify(tt.err, now)
			if got.Action != tt.want.Action || !got.At.Equal(tt.want.At) {
				t.Errorf("classify(%v) = %v at %v (%s); want %v at %v", tt.err, got.Action, got.At, got.Reason, tt.want.Action, tt.want.At)
			}
			if tt.err != nil && got.Reason == "" {
				t.Errorf("no reason given for %v", got.Action)
			}
		})
	}
}

// Wrap carries the decision to the job worker through package dispatch,
// and keeps go-github's error reachable.
func TestWrap(t *testing.T) {
	reset := time.Now().Add(10 * time.Minute).Truncate(time.Second)
	limited := answer("GET", "/repos/acme/api/pulls", 403, primaryHeaders(reset), primaryBody)
	gone := answer("GET", "/repos/acme/gone", 404, nil, notFound)
	flaky := answer("GET", "/repos/acme/api", 502, nil, "")

	err := Wrap(fmt.Errorf("list pulls: %w", limited))
	if at, ok := dispatch.RetryAt(fmt.Errorf("*handler.Postmortem: %w", err)); !ok || !at.Equal(reset) {
		t.Errorf("RetryAt = %v, %v; want %v", at, ok, reset)
	}
	if dispatch.IsPermanent(err) {
		t.Error("a rate limit is permanent")
	}
	var rl *github.RateLimitError
	if !errors.As(err, &rl) {
		t.Error("the *github.RateLimitError is no longer reachable")
	}
	if err.Error() != "list pulls: "+limited.Error() {
		t.Errorf("Wrap changed the message: %q", err)
	}

	if err := Wrap(gone); !dispatch.IsPermanent(err) {
		t.Errorf("%v is not permanent", err)
	} else if _, ok := dispatch.RetryAt(err); ok {
		t.Errorf("%v asks to wait", err)
	}
	if err := Wrap(flaky); dispatch.IsPermanent(err) {
		t.Errorf("%v is permanent", err)
	} else if _, ok := dispatch.RetryAt(err); ok {
		t.Errorf("%v asks to wait", err)
	}

	if Wrap(nil) != nil {
		t.Error("Wrap(nil) != nil")
	}
	if w := Wrap(err); w != err {
		t.Error("Wrap wrapped an *Error again")
	}

	// The adapter between router and worker classifies what handlers
	// return.
	d := ClassifyErrors(dispatcherFunc(func(context.Context, dispatch.Delivery) error {
		return errors.Join(fmt.Errorf("*handler.Review: %w", flaky), fmt.Errorf("*handler.Postmortem: %w", limited))
	}))
	err = d.Dispatch(context.Background(), dispatch.Delivery{ID: "1", Event: "issues"})
	if at, ok := dispatch.RetryAt(err); !ok || !at.Equal(reset) {
		t.Errorf("through ClassifyErrors: RetryAt = %v, %v; want %v", at, ok, reset)
	}
	if err := ClassifyErrors(dispatcherFunc(func(context.Context, dispatch.Delivery) error { return nil })).Dispatch(context.Background(), dispatch.Delivery{}); err != nil {
		t.Errorf("no error became %v", err)
	}
}

type dispatcherFunc func(context.Context, dispatch.Delivery) error

func (f dispatcherFunc) Dispatch(ctx context.Context, d dispatch.Delivery) error { return f(ctx, d) }
