package githubtest

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"
)

// setHandler replaces the route handler of "METHOD template", to simulate a
// bug in it.
func (s *Server) setHandler(key string, h handlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.handlers[key] == nil {
		s.t.Fatalf("no route %s", key)
	}
	s.handlers[key] = h
}

// TestValidatorCatchesNestedRequests sends requests GitHub refuses for what
// they carry deep inside, and checks the fake fails the test naming the
// operation, the field and the value, and answers 422 as GitHub would.
func TestValidatorCatchesNestedRequests(t *testing.T) {
	annotation := func(level string, startLine any) map[string]any {
		return map[string]any{"path": "main.tf", "start_line": startLine, "end_line": 3, "annotation_level": level, "message": "m"}
	}
	tests := []struct {
		name string
		send func(ctx context.Context, c *github.Client) error
		want string
	}{
		{
			name: "misspelt conclusion through go-github",
			send: func(ctx context.Context, c *github.Client) error {
				_, _, err := c.Checks.CreateCheckRun(ctx, "acme", "api", github.CreateCheckRunOptions{
					Name: "tasuki/plan-review", HeadSHA: "abc", Conclusion: github.String("action_requried")})
				return err
			},
			want: `invalid request POST /repos/acme/api/check-runs (checks/create): body.conclusion: value is not one of the allowed values ["action_required","cancelled","failure","neutral","success","skipped","stale","timed_out"], got "action_requried"`,
		},
		{
			name: "misspelt conclusion on update",
			send: func(ctx context.Context, c *github.Client) error {
				_, _, err := c.Checks.UpdateCheckRun(ctx, "acme", "api", 1, github.UpdateCheckRunOptions{
					Name: "tasuki/plan-review", Conclusion: github.String("action_requried")})
				return err
			},
			want: `(checks/update): body.conclusion: value is not one of the allowed values`,
		},
		{
			name: "enum inside an array inside an object",
			send: func(ctx context.Context, c *github.Client) error {
				return post(ctx, c, "repos/acme/api/check-runs", map[string]any{"name": "x", "head_sha": "abc",
					"output": map[string]any{"title": "t", "summary": "s", "annotations": []any{annotation("notice", 1), annotation("fatal", 2)}}})
			},
			want: `(checks/create): body.output.annotations[1].annotation_level: value is not one of the allowed values ["notice","warning","failure"], got "fatal"`,
		},
		{
			name: "missing required field of a nested object",
			send: func(ctx context.Context, c *github.Client) error {
				_, _, err := c.Checks.CreateCheckRun(ctx, "acme", "api", github.CreateCheckRunOptions{
					Name: "x", HeadSHA: "abc", Output: &github.CheckRunOutput{Title: github.String("t")}})
				return err
			},
			want: `(checks/create): body.output.summary: required field is missing`,
		},
		{
			name: "wrong type deep in the body",
			send: func(ctx context.Context, c *github.Client) error {
				return post(ctx, c, "repos/acme/api/check-runs", map[string]any{"name": "x", "head_sha": "abc",
					"output": map[string]any{"title": "t", "summary": "s", "annotations": []any{annotation("notice", "12")}}})
			},
			want: `(checks/create): body.output.annotations[0].start_line: value must be an integer, got "12"`,
		},
		{
			name: "string too long for the description",
			send: func(ctx context.Context, c *github.Client) error {
				return post(ctx, c, "repos/acme/api/check-runs", map[string]any{"name": "x", "head_sha": "abc",
					"output": map[string]any{"title": "t", "summary": strings.Repeat("x", 65536)}})
			},
			want: `(checks/create): body.output.summary: maximum string length is 65535, got "xxxx`,
		},
		{
			name: "labels of the wrong type inside go-github's bare array",
			send: func(ctx context.Context, c *github.Client) error {
				return post(ctx, c, "repos/acme/api/issues/1/labels", []any{"bug", 7})
			},
			want: `(issues/add-labels): body: value doesn't match any schema from "oneOf" ([0] body.labels[1]: value doesn't match any schema from "oneOf" ([0] body.labels[1]: value must be a string, got 7 | [1] body.labels[1]: value must be an object, got 7))`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recTB{TB: t}
			srv := New(rec)
			srv.AddRepo("acme/api", "")
			srv.AddIssue("acme/api", &github.Issue{Title: github.String("one")})
			srv.AddCheckRun("acme/api", &github.CheckRun{Name: github.String("tasuki/plan-review"), HeadSHA: github.String("abc")})
			err := tt.send(context.Background(), srv.Client())
			if !isStatus(err, http.StatusUnprocessableEntity) {
				t.Errorf("err = %v, want 422", err)
			}
			errs := rec.errors()
			if len(errs) != 1 || !strings.Contains(errs[0], tt.want) {
				t.Errorf("test errors = %q\nwant one containing %q", errs, tt.want)
			}
		})
	}
}

func post(ctx context.Context, c *github.Client, path string, body any) error {
	req, err := c.NewRequest("POST", path, body)
	if err != nil {
		return err
	}
	_, err = c.Do(ctx, req, nil)
	return err
}

// TestValidatorCatchesResponses makes the fake send what GitHub would not
// (a handler bug, state seeded wrong, a status the operation does not
// have) and checks the test that made the request fails, naming the
// operation, the field and the value. The client still gets the answer.
func TestValidatorCatchesResponses(t *testing.T) {
	const getRun = "GET /repos/{owner}/{repo}/check-runs/{check_run_id}"
	tests := []struct {
		name  string
		setup func(srv *Server)
		call  func(ctx context.Context, c *github.Client, runID int64) *github.Response // default: GetCheckRun
		want  []string
	}{
		{
			name: "handler sends an id as a string and an unknown status",
			setup: func(srv *Server) {
				srv.setHandler(getRun, func(rc *reqCtx) {
					rc.json(200, map[string]any{"id": "7", "name": "x", "head_sha": "abc", "status": "done"})
				})
			},
			want: []string{
				"the fake's response to GET /repos/acme/api/check-runs/",
				"(checks/get) breaks GitHub's OpenAPI description: status 200: ",
				`body.id: value must be an integer, got "7"`,
				`body.status: value is not one of the allowed values ["queued","in_progress","completed","waiting","requested","pending"], got "done"`,
			},
		},
		{
			name: "handler nests a wrong type",
			setup: func(srv *Server) {
				srv.setHandler(getRun, func(rc *reqCtx) {
					rc.json(200, map[string]any{"id": 7, "output": map[string]any{"title": "t", "annotations_count": "3"}})
				})
			},
			want: []string{`(checks/get) breaks GitHub's OpenAPI description: status 200: body.output.annotations_count: value must be an integer, got "3"`},
		},
		{
			name: "state seeded with a misspelt conclusion",
			setup: func(srv *Server) {
				srv.mu.Lock()
				defer srv.mu.Unlock()
				srv.st.repo("acme", "api").checkRuns[0].Conclusion = github.String("action_requried")
			},
			want: []string{`(checks/get) breaks GitHub's OpenAPI description: status 200: body.conclusion: value is not one of the allowed values`, `got "action_requried"`},
		},
		{
			name: "status the operation does not document",
			setup: func(srv *Server) {
				srv.setHandler(getRun, func(rc *reqCtx) { rc.json(201, map[string]any{"id": 7}) })
			},
			want: []string{"(checks/get) breaks GitHub's OpenAPI description: status 201: status 201 is not documented"},
		},
		{
			name: "documented header of the wrong type",
			setup: func(srv *Server) {
				srv.setHandler("GET /rate_limit", func(rc *reqCtx) {
					rc.w.Header().Set("X-RateLimit-Remaining", "plenty")
					rc.json(200, map[string]any{})
				})
			},
			call: func(ctx context.Context, c *github.Client, _ int64) *github.Response {
				_, resp, _ := c.RateLimit.Get(ctx)
				return resp
			},
			want: []string{`GET /rate_limit (rate-limit/get) breaks GitHub's OpenAPI description: status 200: header "X-RateLimit-Remaining": value plenty: an invalid integer`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recTB{TB: t}
			srv := New(rec)
			srv.AddRepo("acme/api", "")
			run := srv.AddCheckRun("acme/api", &github.CheckRun{Name: github.String("tasuki/plan-review"), HeadSHA: github.String("abc"), Status: github.String("completed"), Conclusion: github.String("success")})
			tt.setup(srv)
			c := srv.Client()
			ctx := context.Background()
			call := tt.call
			if call == nil {
				call = func(ctx context.Context, c *github.Client, id int64) *github.Response {
					_, resp, _ := c.Checks.GetCheckRun(ctx, "acme", "api", id)
					return resp
				}
			}
			if resp := call(ctx, c, run.GetID()); resp == nil {
				t.Fatal("no response: the fake must still answer")
			}
			errs := rec.errors()
			if len(errs) != 1 {
				t.Fatalf("test errors = %q, want one", errs)
			}
			for _, w := range tt.want {
				if !strings.Contains(errs[0], w) {
					t.Errorf("test error %q\nlacks %q", errs[0], w)
				}
			}
		})
	}
}

// TestValidatorPassesGitHubAnswers checks that what GitHub answers on any
// operation is not held against the fake: refusals a route handler gives
// (403, 404) whether documented or not, and injected failures.
func TestValidatorPassesGitHubAnswers(t *testing.T) {
	rec := &recTB{TB: t}
	srv := New(rec)
	srv.AddRepo("acme/api", "")
	ctx := context.Background()
	// checks/create documents neither 403 nor 404.
	if _, _, err := srv.ClientAs("alice").Checks.CreateCheckRun(ctx, "acme", "api", github.CreateCheckRunOptions{Name: "x", HeadSHA: "abc"}); !isStatus(err, 403) {
		t.Errorf("user creating a check run: err = %v, want 403", err)
	}
	if _, _, err := srv.Client().Checks.GetCheckRun(ctx, "acme", "api", 999); !isStatus(err, 404) {
		t.Errorf("unknown check run: err = %v, want 404", err)
	}
	srv.Inject("GET", "/repos/{owner}/{repo}", 502, nil)
	if _, _, err := srv.Client().Repositories.Get(ctx, "acme", "api"); !isStatus(err, 502) {
		t.Errorf("injected 502: err = %v", err)
	}
	if errs := rec.errors(); len(errs) > 0 {
		t.Errorf("GitHub's own answers were held against the fake: %q", errs)
	}
}

// TestQuirksStillNeeded keeps clientQuirks honest: each quirk's example
// must be refused by the description without the quirk (else the quirk is
// dead and goes) and accepted with it.
func TestQuirksStillNeeded(t *testing.T) {
	sp := loadSpec(t)
	for _, q := range clientQuirks {
		t.Run(q.name, func(t *testing.T) {
			op := q.op
			if op == "*" {
				op = "POST /app/installations/{installation_id}/access_tokens"
			}
			method, tmpl, _ := strings.Cut(op, " ")
			path := tmpl
			params := map[string]string{}
			for _, seg := range splitPath(tmpl) {
				if isParam(seg) {
					params[seg[1:len(seg)-1]] = "1"
					path = strings.Replace(path, seg, "1", 1)
				}
			}
			if tmpl == "/repos/{owner}/{repo}/issues/{issue_number}/labels" {
				params["owner"], params["repo"] = "acme", "api"
			}
			e, _ := sp.match(path)
			if e == nil || e.template != tmpl {
				t.Fatalf("%s does not route to %s", path, tmpl)
			}
			req, err := http.NewRequest(method, "http://fake"+BasePath+strings.TrimPrefix(path, "/"), strings.NewReader(q.example))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			if probs := sp.checkRequest(req, e, params, []byte(q.example), nil); len(probs) == 0 {
				t.Errorf("the description accepts %s %s with body %s: the quirk is no longer needed, drop it", method, tmpl, q.example)
			}
			if probs := sp.checkRequest(req, e, params, []byte(q.example), clientQuirks); len(probs) > 0 {
				t.Errorf("the quirk does not excuse its example: %q", probs)
			}
		})
	}
}
