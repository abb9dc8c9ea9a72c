// Package githubtest is an in-memory GitHub REST API for tests. It serves the
// endpoints tasuki calls from thread-safe state that tests seed and inspect,
// checks every request and every response it sends against GitHub's
// OpenAPI description with kin-openapi (parameters, headers, bodies at every
// depth; an undocumented or invalid request, or a response GitHub would not
// send, fails the test), authenticates like GitHub (installation tokens it
// minted, App JWTs signed with AppKey), paginates with Link headers and lets
// tests inject failures (rate limits, 5xx). What go-github v60 and
// ghinstallation send that the description does not list is excused in one
// place, clientQuirks.
//
// Typical use in a shell test:
//
//	srv := githubtest.New(t)                       // fails t on any undocumented request
//	srv.AddRepo("acme/api", "main")
//	pr := srv.AddPull("acme/api", &github.PullRequest{Title: github.String("Add bucket")})
//	srv.AddReview("acme/api", pr.GetNumber(), "alice", "APPROVED", "")
//	h := ... // built with srv.Client() (acts as "tasuki[bot]")
//	... run the handler ...
//	got := srv.Comments("acme/api", pr.GetNumber())
//	if n := srv.CallCount("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments"); n != 1 { ... }
//
// Templates in CallCount and Inject are the path templates of GitHub's
// OpenAPI description. The App side: AppKey is the App's private key (App ID
// 1 by default, see WithAppID); installation 1 belongs to "acme"; tokens it
// mints act as "tasuki[bot]".
//
// `app demo` runs the same fake outside tests (NewStandalone), so the package
// must not import testing: New takes a Reporter, which any testing.TB is.
package githubtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v60/github"
)

// BasePath is the path prefix the fake serves under, so that a client
// building absolute URLs ("/repos/...") misses and the test notices.
const BasePath = "/api/v3/"

// Server is the in-memory GitHub. All methods are safe for concurrent use.
type Server struct {
	t    Reporter
	spec *spec
	ts   *httptest.Server

	appID    int64
	appSlug  string
	login    string
	now      func() time.Time
	handlers map[string]handlerFunc

	mu       sync.Mutex
	st       *state
	calls    []Call
	injected []*injection
	tokens   map[string]principal
	remain   map[string]int // rate limit remaining per token
	gql      graphQLBudget  // GraphQL rate limit (graphql_backfill.go)

	contentLimit int
	writes       map[string][]time.Time // recent writes per token, for contentLimit
	events       int64                  // arrivals and answers so far, for Call.Begin and Call.End
	manifests    manifestState          // routes_manifest.go, guarded by mu
	teamAccess   map[string]TeamAccess  // per token, teamaccess.go
}

// Call is one request the fake received.
type Call struct {
	Method   string
	Path     string // without the base path, e.g. /repos/acme/api/issues/1
	Template string // the documented template, e.g. /repos/{owner}/{repo}/issues/{issue_number}; "" if undocumented
	Query    url.Values
	Status   int
	Login    string // who was authenticated ("" for none, "app" for a JWT)
	Body     []byte
	Time     time.Time // the server's clock (see WithClock) when the request arrived
	// Begin and End place the request's arrival and its answer in the
	// order of all the server's arrivals and answers: two requests were
	// served at the same time if each began before the other ended.
	Begin, End int64
}

type principal struct {
	login          string
	installationID int64
	expires        time.Time
}

type injection struct {
	method, tmpl string
	status       int
	headers      map[string]string
	left         int
}

// Option configures a Server.
type Option func(*Server)

// WithLogin sets the login Client authenticates as (default "tasuki[bot]").
func WithLogin(login string) Option { return func(s *Server) { s.login = login } }

// WithAppID sets the GitHub App ID JWTs must be issued by (default 1).
func WithAppID(id int64) Option { return func(s *Server) { s.appID = id } }

// WithAppSlug sets the App's slug; installation tokens act as "<slug>[bot]"
// (default "tasuki").
func WithAppSlug(slug string) Option { return func(s *Server) { s.appSlug = slug } }

// WithContentLimit makes the fake enforce GitHub's secondary rate limit on
// content creation: more than perMinute POST/PATCH/PUT/DELETE requests by one
// token within a minute get 403 with Retry-After (GitHub's documented limit
// is 80 a minute).
func WithContentLimit(perMinute int) Option { return func(s *Server) { s.contentLimit = perMinute } }

// WithClock sets the clock used for timestamps the fake assigns (comments,
// reviews, timeline events, closing). Credentials (JWTs, tokens) follow the
// wall clock, as clients check their expiry against it.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// Reporter is what the fake needs of a testing.TB: where to report requests
// GitHub would not accept, and how to stop the server at the end. The
// package does not import testing, so that the App's demo can run the fake
// without linking the testing package into the production binary
// (TestAppDoesNotLinkTesting in cmd/app); any testing.TB is a Reporter.
type Reporter interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// New starts a fake GitHub for the duration of t (a *testing.T or any
// testing.TB). Every request, and every response the fake sends, is checked
// against GitHub's OpenAPI description (the cut embedded in the package, see
// TestCutSpec); a mismatch fails t with the operation, the field and the
// value.
func New(t Reporter, opts ...Option) *Server {
	t.Helper()
	return newServer(t, loadSpec(t), opts...)
}

// NewStandalone starts a fake GitHub outside tests (the demo), checking
// requests and responses as New does. r receives what GitHub would refuse.
func NewStandalone(r Reporter, opts ...Option) (*Server, error) {
	sp, err := embeddedSpec()
	if err != nil {
		return nil, err
	}
	return newServer(r, sp, opts...), nil
}

func newServer(t Reporter, sp *spec, opts ...Option) *Server {
	t.Helper()
	s := &Server{
		t:       t,
		spec:    sp,
		appID:   1,
		appSlug: "tasuki",
		login:   "tasuki[bot]",
		now:     func() time.Time { return time.Now().UTC() },
		st:      newState(),
		tokens:  map[string]principal{},
		remain:  map[string]int{},
	}
	for _, o := range opts {
		o(s)
	}
	s.handlers = map[string]handlerFunc{}
	s.routes()
	for k := range s.handlers {
		method, tmpl, _ := strings.Cut(k, " ")
		if e, _ := sp.match(tmpl); e == nil || e.template != tmpl || e.ops[method] == nil {
			t.Fatalf("githubtest: fake route %s is not in GitHub's OpenAPI description", k)
		}
	}
	s.st.installations[1] = &github.Installation{ID: github.Int64(1), AppID: github.Int64(s.appID),
		Account: &github.User{Login: github.String("acme"), Type: github.String("Organization")}}
	mux := http.NewServeMux()
	mux.HandleFunc(BasePath, s.serve)
	mux.HandleFunc(graphQLPath, s.serveGraphQL) // graphql.go
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("githubtest: request outside %s: %s %s (an absolute URL in the client?)", BasePath, r.Method, r.URL.Path)
		http.Error(w, "outside base path", http.StatusNotFound)
	})
	s.ts = httptest.NewServer(mux)
	t.Cleanup(s.ts.Close)
	return s
}

// URL returns the API base URL, ending in /api/v3/.
func (s *Server) URL() string { return s.ts.URL + BasePath }

// HostURL returns the server's scheme and host without the API path, as a
// GitHub Enterprise Server's web address.
func (s *Server) HostURL() string { return s.ts.URL }

// HTTPClient returns the underlying httptest client.
func (s *Server) HTTPClient() *http.Client { return s.ts.Client() }

// Client returns a go-github client authenticated as the server's login
// (default "tasuki[bot]").
func (s *Server) Client() *github.Client { return s.ClientAs(s.login) }

// ClientAs returns a go-github client authenticated as login: a name ending
// in "[bot]" is a Bot, anything else a User.
func (s *Server) ClientAs(login string) *github.Client {
	return s.clientWith(s.Token(login))
}

// InstallationClient returns a go-github client authenticated with a fresh
// token of installation id (seeded with AddInstallation; installation 1
// exists from the start), acting as "<slug>[bot]" as an App's installation
// client does. The token is minted directly, without a request.
func (s *Server) InstallationClient(id int64) *github.Client {
	s.mu.Lock()
	if _, ok := s.st.installations[id]; !ok {
		s.mu.Unlock()
		s.t.Fatalf("githubtest: installation %d not seeded (call AddInstallation)", id)
	}
	tok, _ := s.mintInstallationToken(id)
	s.mu.Unlock()
	return s.clientWith(tok)
}

// AppClient returns a go-github client authenticated as the App itself,
// with a JWT signed by AppKey and issued now on the server's clock.
func (s *Server) AppClient() *github.Client {
	return s.clientWith(SignJWT(s.appID, time.Now().UTC())) // credentials follow the wall clock
}

func (s *Server) clientWith(token string) *github.Client {
	c, err := github.NewClient(s.ts.Client()).WithAuthToken(token).WithEnterpriseURLs(s.URL(), s.URL())
	if err != nil {
		s.t.Fatalf("githubtest: client: %v", err)
	}
	return c
}

// UnauthenticatedClient returns a go-github client sending no credentials.
func (s *Server) UnauthenticatedClient() *github.Client {
	c, err := github.NewClient(s.ts.Client()).WithEnterpriseURLs(s.URL(), s.URL())
	if err != nil {
		s.t.Fatalf("githubtest: client: %v", err)
	}
	return c
}

// Token mints a token acting as login (as a personal access token or
// GITHUB_TOKEN would) and records the user.
func (s *Server) Token(login string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.user(login)
	tok := fmt.Sprintf("ghs_fake_%d_%s", s.st.nextID(), strings.NewReplacer("[", "", "]", "").Replace(login))
	s.tokens[tok] = principal{login: login, expires: time.Now().UTC().Add(time.Hour)}
	return tok
}

// Calls returns every request received so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CallCount counts requests with method to the documented path template
// (e.g. "POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments").
func (s *Server) CallCount(method, template string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if c.Method == method && c.Template == template {
			n++
		}
	}
	return n
}

// WriteCount counts requests that are not GET or HEAD.
func (s *Server) WriteCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if c.Method != http.MethodGet && c.Method != http.MethodHead {
			n++
		}
	}
	return n
}

// ResetCalls forgets the recorded calls (after seeding through the API).
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

// Inject makes the next request matching method and the documented path
// template ("*" matches any method or template) answer status with headers
// instead of being served. A 403 with X-RateLimit-Remaining: 0 is a primary
// rate limit, a 403 with Retry-After a secondary one; the body is shaped so
// go-github reports them as RateLimitError / AbuseRateLimitError.
func (s *Server) Inject(method, template string, status int, headers map[string]string) {
	s.InjectTimes(1, method, template, status, headers)
}

// InjectTimes is Inject for the next n matching requests.
func (s *Server) InjectTimes(n int, method, template string, status int, headers map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.injected = append(s.injected, &injection{method: method, tmpl: template, status: status, headers: headers, left: n})
}

// ClearInjections drops injected answers not yet served.
func (s *Server) ClearInjections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.injected = nil
}

type handlerFunc func(rc *reqCtx)

// reqCtx is one request being served.
type reqCtx struct {
	s      *Server
	w      http.ResponseWriter
	r      *http.Request
	params map[string]string
	body   []byte
	who    principal
	status int
}

func (rc *reqCtx) p(name string) string { return rc.params[name] }

func (rc *reqCtx) pInt(name string) int {
	n, _ := strconv.Atoi(rc.params[name])
	return n
}

func (rc *reqCtx) pInt64(name string) int64 {
	n, _ := strconv.ParseInt(rc.params[name], 10, 64)
	return n
}

func (rc *reqCtx) q(name string) string { return rc.r.URL.Query().Get(name) }

func (rc *reqCtx) decode(v any) bool {
	if len(bytes.TrimSpace(rc.body)) == 0 {
		return true
	}
	if err := json.Unmarshal(rc.body, v); err != nil {
		rc.fail(http.StatusBadRequest, "Problems parsing JSON: "+err.Error())
		return false
	}
	return true
}

func (rc *reqCtx) json(status int, v any) {
	rc.status = status
	rc.w.Header().Set("Content-Type", "application/json; charset=utf-8")
	rc.w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(rc.w).Encode(v)
	}
}

func (rc *reqCtx) noContent() {
	rc.status = http.StatusNoContent
	rc.w.WriteHeader(http.StatusNoContent)
}

func (rc *reqCtx) fail(status int, msg string) {
	rc.json(status, map[string]string{"message": msg, "documentation_url": "https://docs.github.com/rest"})
}

func (rc *reqCtx) notFound() { rc.fail(http.StatusNotFound, "Not Found") }

// handle registers the route handler for method and the documented path
// template tmpl; newServer checks the description has it.
func (s *Server) handle(method, tmpl string, h handlerFunc) {
	s.handlers[method+" "+tmpl] = h
}

// jwtOnly lists templates that take the App's JWT rather than an
// installation token.
func jwtOnly(tmpl string) bool {
	switch tmpl {
	case "/app", "/repos/{owner}/{repo}/installation", "/orgs/{org}/installation", "/users/{username}/installation":
		return true
	}
	return strings.HasPrefix(tmpl, "/app/")
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	path := "/" + strings.TrimPrefix(r.URL.Path, BasePath)
	body, _ := io.ReadAll(r.Body)
	call := Call{Method: r.Method, Path: path, Query: r.URL.Query(), Body: body}
	s.begin(&call)
	// The answer is buffered so that it can be checked against the
	// description before the client sees it.
	rec := httptest.NewRecorder()
	rc := &reqCtx{s: s, w: rec, r: r, body: body}
	e, params, served := s.answer(rc, &call)
	if e != nil && e.ops[r.Method] != nil {
		op := e.ops[r.Method]
		// A route handler's status must be documented, except the refusals
		// GitHub answers on any operation; what the fake answers before the
		// handler (credentials, injected failures, rate limits) is GitHub
		// answering on any operation too.
		undocumentedOK := !served || rec.Code == http.StatusForbidden || rec.Code == http.StatusNotFound
		if probs := s.spec.checkResponse(r, e, params, rec.Code, rec.Header(), rec.Body.Bytes(), undocumentedOK); len(probs) > 0 {
			s.t.Errorf("githubtest: the fake's response to %s %s (%s) breaks GitHub's OpenAPI description: status %d: %s",
				r.Method, path, op.OperationID, rec.Code, strings.Join(probs, "; "))
		}
	}
	s.end(w, s.conditional(rc, rec), rc, call) // etag.go
}

// begin places call's arrival among the server's events, on its clock.
func (s *Server) begin(call *Call) {
	s.mu.Lock()
	s.events++
	call.Begin, call.Time = s.events, s.now()
	s.mu.Unlock()
}

// end records call with its answer, buffered in rec, and sends that answer
// to the client.
func (s *Server) end(w http.ResponseWriter, rec *httptest.ResponseRecorder, rc *reqCtx, call Call) {
	call.Status = rc.status
	s.mu.Lock()
	s.events++
	call.End = s.events
	s.calls = append(s.calls, call)
	s.mu.Unlock()

	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// answer serves one request into rc. It returns the documented path the
// request matched (nil if none), its parameters, and whether a route
// handler answered. A request the description refuses fails the test and
// gets 422 (undocumented: 404) without reaching authentication.
func (s *Server) answer(rc *reqCtx, call *Call) (*pathEntry, map[string]string, bool) {
	r := rc.r
	e, params := s.spec.match(call.Path)
	if e == nil {
		s.t.Errorf("githubtest: undocumented request %s %s: no path in GitHub's OpenAPI description matches", r.Method, call.Path)
		rc.notFound()
		return nil, nil, false
	}
	call.Template = e.template
	op := e.ops[r.Method]
	if op == nil {
		s.t.Errorf("githubtest: undocumented request %s %s: %s takes no %s", r.Method, call.Path, e.template, r.Method)
		rc.notFound()
		return e, params, false
	}
	if probs := s.spec.checkRequest(r, e, params, rc.body, clientQuirks); len(probs) > 0 {
		msg := strings.Join(probs, "; ")
		s.t.Errorf("githubtest: invalid request %s %s (%s): %s", r.Method, call.Path, op.OperationID, msg)
		rc.fail(http.StatusUnprocessableEntity, "Invalid request: "+msg)
		// The 422 is the fake's verdict on a bad request, not a route's
		// answer: it is not checked.
		return nil, nil, false
	}
	rc.params = params

	// Authentication.
	who, isJWT, ok := s.authenticate(r)
	switch {
	case manifestAuthFree(e.template): // routes_manifest.go
		who = principal{}
	case !ok:
		rc.fail(http.StatusUnauthorized, "Bad credentials")
		return e, params, false
	case jwtOnly(e.template) && !isJWT:
		rc.fail(http.StatusUnauthorized, "A JSON web token could not be decoded")
		return e, params, false
	case !jwtOnly(e.template) && isJWT:
		rc.fail(http.StatusUnauthorized, "A JSON web token cannot be used for this endpoint; use an installation token")
		return e, params, false
	}
	rc.who = who
	call.Login = who.login

	if inj := s.takeInjection(r.Method, e.template); inj != nil {
		s.answerInjected(rc, inj)
		return e, params, false
	}
	if s.overContentLimit(r) {
		s.answerInjected(rc, &injection{status: http.StatusForbidden, headers: map[string]string{"Retry-After": "60"}})
		return e, params, false
	}
	s.rateHeaders(rc, r)

	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.handlers[r.Method+" "+e.template]
	if h == nil {
		s.t.Errorf("githubtest: %s %s (%s) is documented but the fake does not implement it", r.Method, e.template, op.OperationID)
		rc.fail(http.StatusNotImplemented, "not implemented by githubtest")
		return nil, nil, false
	}
	h(rc)
	return e, params, true
}

func (s *Server) authenticate(r *http.Request) (principal, bool, bool) {
	h := r.Header.Get("Authorization")
	var tok string
	switch {
	case strings.HasPrefix(h, "Bearer "):
		tok = strings.TrimPrefix(h, "Bearer ")
	case strings.HasPrefix(h, "token "):
		tok = strings.TrimPrefix(h, "token ")
	default:
		return principal{}, false, false
	}
	if strings.Count(tok, ".") == 2 {
		if err := verifyJWT(tok, s.appID, time.Now().UTC()); err != nil {
			return principal{}, true, false
		}
		return principal{login: "app"}, true, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.tokens[tok]
	if !ok || time.Now().After(p.expires) {
		return principal{}, false, false
	}
	return p, false, true
}

func (s *Server) overContentLimit(r *http.Request) bool {
	if s.contentLimit <= 0 || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.writes == nil {
		s.writes = map[string][]time.Time{}
	}
	key, now := r.Header.Get("Authorization"), s.now()
	var recent []time.Time
	for _, t := range s.writes[key] {
		if now.Sub(t) < time.Minute {
			recent = append(recent, t)
		}
	}
	if len(recent) >= s.contentLimit {
		s.writes[key] = recent
		return true
	}
	s.writes[key] = append(recent, now)
	return false
}

func (s *Server) takeInjection(method, tmpl string) *injection {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, inj := range s.injected {
		if inj.left > 0 && (inj.method == "*" || inj.method == method) && (inj.tmpl == "*" || inj.tmpl == tmpl) {
			inj.left--
			return inj
		}
	}
	return nil
}

func (s *Server) answerInjected(rc *reqCtx, inj *injection) {
	for k, v := range inj.headers {
		rc.w.Header().Set(k, v)
	}
	msg, doc := http.StatusText(inj.status), "https://docs.github.com/rest"
	switch {
	case inj.status == http.StatusForbidden && len(inj.headers) == 0:
		msg = "Resource not accessible by integration"
	case inj.headers["X-RateLimit-Remaining"] == "0":
		msg = "API rate limit exceeded for installation."
		doc = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
	case inj.status == http.StatusTooManyRequests || (inj.status == http.StatusForbidden && inj.headers["Retry-After"] != ""):
		msg = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
		doc = "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
	}
	rc.json(inj.status, map[string]string{"message": msg, "documentation_url": doc})
}

// rateHeaders sets GitHub's rate limit headers. Conditional requests that
// will answer 304 still show the count, but do not spend from it (handlers
// call refund).
func (s *Server) rateHeaders(rc *reqCtx, r *http.Request) {
	key := r.Header.Get("Authorization")
	s.mu.Lock()
	rem, ok := s.remain[key]
	if !ok {
		rem = 5000
	}
	rem--
	s.remain[key] = rem
	s.mu.Unlock()
	h := rc.w.Header()
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Remaining", strconv.Itoa(rem))
	h.Set("X-RateLimit-Used", strconv.Itoa(5000-rem))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(s.now().Add(time.Hour).Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
}

// refund gives back the request's rate limit point (GitHub does not count a
// 304 answer to a conditional request). Called with s.mu held.
func (rc *reqCtx) refund() {
	key := rc.r.Header.Get("Authorization")
	rc.s.remain[key]++
	rc.w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(rc.s.remain[key]))
	rc.w.Header().Set("X-RateLimit-Used", strconv.Itoa(5000-rc.s.remain[key]))
}

// RateLimitRemaining returns the remaining core requests of the client
// authenticated with token (5000 before any request).
func (s *Server) RateLimitRemaining(token string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range []string{"Bearer " + token, "token " + token} {
		if v, ok := s.remain[k]; ok {
			return v
		}
	}
	return 5000
}

var jsonUnmarshal = json.Unmarshal
