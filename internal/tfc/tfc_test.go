package tfc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/testenv"
	"github.com/tasuki-sre/tasuki/internal/tfc"
	"github.com/tasuki-sre/tasuki/internal/tfc/tfctest"
)

func planFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.Fixtures(t, "tfplan"), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestClientRun(t *testing.T) {
	plan := planFixture(t, "tofu-showjson-basic-delete.json")
	for _, redirect := range []bool{true, false} {
		t.Run(map[bool]string{true: "redirect", false: "direct"}[redirect], func(t *testing.T) {
			srv := tfctest.New(t)
			srv.Redirect = redirect
			srv.AddRun(tfctest.Run{
				ID: "run-abc", Organization: "acme", Workspace: "network-prod", PlanID: "plan-abc", PlanJSON: plan,
				Identifier: "acme/infra", PullRequest: 42, CommitSHA: "0123456789abcdef0123456789abcdef01234567",
			})
			c, err := tfc.NewClient(srv.Address(), srv.Token, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Run(context.Background(), "run-abc")
			if err != nil {
				t.Fatal(err)
			}
			want := tfc.Run{
				ID: "run-abc", URL: srv.Address() + "/app/acme/workspaces/network-prod/runs/run-abc",
				Organization: "acme", Workspace: "network-prod", Owner: "acme", Repo: "infra", PullRequest: 42,
				CommitSHA: "0123456789abcdef0123456789abcdef01234567", PlanJSON: plan,
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Run (-want +got):\n%s", diff)
			}
			wantReq := map[string]int{
				"GET /api/v2/ping":                   1,
				"GET /api/v2/runs/{id}":              1,
				"GET /api/v2/plans/{id}/json-output": 1,
			}
			if redirect {
				wantReq["GET /_archivist/{plan}"] = 1
			}
			if diff := cmp.Diff(wantReq, srv.Requests()); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClientErrors(t *testing.T) {
	srv := tfctest.New(t)
	srv.AddRun(tfctest.Run{ID: "run-noplan", Organization: "acme", Workspace: "w", Status: "pending"})
	if _, err := tfc.NewClient(srv.Address(), "", nil); err == nil || !strings.Contains(err.Error(), "no API token") {
		t.Errorf("empty token: err = %v, want 'no API token'", err)
	}
	if _, err := tfc.NewClient("not a url", "x", nil); err == nil || !strings.Contains(err.Error(), "not an absolute URL") {
		t.Errorf("bad address: err = %v", err)
	}
	c, err := tfc.NewClient(srv.Address(), srv.Token, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ run, want string }{
		{"run-missing", "read terraform cloud run run-missing: resource not found"},
		{"run-noplan", "read terraform cloud run run-noplan: the run has no plan yet (status pending)"},
	} {
		_, err := c.Run(context.Background(), tc.run)
		if err == nil || err.Error() != tc.want {
			t.Errorf("Run(%s) err = %v, want %q", tc.run, err, tc.want)
		}
	}
	bad, err := tfc.NewClient(srv.Address(), "wrong-token", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Run(context.Background(), "run-noplan"); err == nil || !strings.Contains(err.Error(), "unauthorized") {
		t.Errorf("wrong token: err = %v, want unauthorized", err)
	}
}

// recordingReviewer stands in for handler.Review, whose GitHub side is
// tested in package handler; here the subject is the TFC protocol.
type recordingReviewer struct {
	mu     sync.Mutex
	runs   []tfc.Run
	result tfc.TaskResult
	err    error
}

func (r *recordingReviewer) ReviewRun(_ context.Context, run tfc.Run) (tfc.TaskResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runs = append(r.runs, run)
	return r.result, r.err
}

func runTaskBody(t *testing.T, srv *tfctest.Server, token, runID, stage string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"payload_version":               1,
		"stage":                         stage,
		"access_token":                  token,
		"run_id":                        runID,
		"run_app_url":                   srv.Address() + "/app/acme/workspaces/network-prod/runs/" + runID,
		"organization_name":             "acme",
		"workspace_name":                "network-prod",
		"task_result_id":                "taskrs-1",
		"task_result_callback_url":      srv.CallbackURL("taskrs-1"),
		"task_result_enforcement_level": "mandatory",
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRunTaskHandler(t *testing.T) {
	plan := planFixture(t, "tofu-showjson-basic-delete.json")
	key := []byte("run-task-hmac-key")
	const accessToken = "one-time-access-token-SECRET"
	reviewErr := errors.New("github said no")
	tests := []struct {
		name       string
		key        []byte
		runID      string
		stage      string
		sign       func(body []byte) string
		reviewer   *recordingReviewer
		wantCode   int
		wantRuns   int
		wantResult []tfctest.Callback
	}{
		{
			name: "signed plan passes", key: key, runID: "run-pr", stage: "post_plan",
			sign:     func(b []byte) string { return tfc.Sign(key, b) },
			reviewer: &recordingReviewer{result: tfc.TaskResult{Passed: true, Message: "No risky changes.", URL: "https://github.com/acme/infra/pull/42#issuecomment-1"}},
			wantCode: 200, wantRuns: 1,
			wantResult: []tfctest.Callback{{TaskResultID: "taskrs-1", Token: accessToken, Status: "passed", Message: "No risky changes.", URL: "https://github.com/acme/infra/pull/42#issuecomment-1"}},
		},
		{
			name: "needs second reviewer fails", key: key, runID: "run-pr", stage: "post_plan",
			sign:     func(b []byte) string { return tfc.Sign(key, b) },
			reviewer: &recordingReviewer{result: tfc.TaskResult{Passed: false, Message: "Needs a second reviewer: 1 delete.", URL: "https://github.com/acme/infra/pull/42#issuecomment-1"}},
			wantCode: 200, wantRuns: 1,
			wantResult: []tfctest.Callback{{TaskResultID: "taskrs-1", Token: accessToken, Status: "failed", Message: "Needs a second reviewer: 1 delete.", URL: "https://github.com/acme/infra/pull/42#issuecomment-1"}},
		},
		{
			name: "review error reported as failed", key: key, runID: "run-pr", stage: "post_plan",
			sign:     func(b []byte) string { return tfc.Sign(key, b) },
			reviewer: &recordingReviewer{err: reviewErr},
			wantCode: 200, wantRuns: 1,
			wantResult: []tfctest.Callback{{TaskResultID: "taskrs-1", Token: accessToken, Status: "failed",
				Message: "tasuki could not review this run: github said no", URL: "RUNURL"}},
		},
		{
			name: "run without pull request passes without review", key: key, runID: "run-cli", stage: "post_plan",
			sign:     func(b []byte) string { return tfc.Sign(key, b) },
			wantCode: 200, wantRuns: 0,
			wantResult: []tfctest.Callback{{TaskResultID: "taskrs-1", Token: accessToken, Status: "passed",
				Message: "Not a pull request run: nothing for tasuki to review.", URL: "APPURL/app/acme/workspaces/network-prod/runs/run-cli"}},
		},
		{
			name: "missing run reported as failed", key: key, runID: "run-gone", stage: "post_plan",
			sign:     func(b []byte) string { return tfc.Sign(key, b) },
			wantCode: 200, wantRuns: 0,
			wantResult: []tfctest.Callback{{TaskResultID: "taskrs-1", Token: accessToken, Status: "failed",
				Message: "tasuki could not review this run: read terraform cloud run run-gone: resource not found", URL: "RUNURL"}},
		},
		{
			name: "bad signature", key: key, runID: "run-pr", stage: "post_plan",
			sign:     func(b []byte) string { return tfc.Sign([]byte("other key"), b) },
			wantCode: 401,
		},
		{
			name: "missing signature", key: key, runID: "run-pr", stage: "post_plan",
			sign:     func([]byte) string { return "" },
			wantCode: 401,
		},
		{
			name: "signature not hex", key: key, runID: "run-pr", stage: "post_plan",
			sign:     func([]byte) string { return "zz" },
			wantCode: 401,
		},
		{
			name: "verification ping", key: key, runID: "", stage: "test",
			sign:     func(b []byte) string { return tfc.Sign(key, b) },
			wantCode: 200,
		},
		{
			name: "keyless task accepted", key: nil, runID: "run-pr", stage: "post_plan",
			sign:     func([]byte) string { return "" },
			reviewer: &recordingReviewer{result: tfc.TaskResult{Passed: true, Message: "ok", URL: "u"}},
			wantCode: 200, wantRuns: 1,
			wantResult: []tfctest.Callback{{TaskResultID: "taskrs-1", Token: accessToken, Status: "passed", Message: "ok", URL: "u"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := tfctest.New(t)
			srv.AcceptToken(accessToken)
			srv.AddRun(tfctest.Run{ID: "run-pr", Organization: "acme", Workspace: "network-prod", PlanID: "plan-pr", PlanJSON: plan,
				Identifier: "acme/infra", PullRequest: 42, CommitSHA: "0123456789abcdef0123456789abcdef01234567"})
			srv.AddRun(tfctest.Run{ID: "run-cli", Organization: "acme", Workspace: "network-prod", PlanID: "plan-cli", PlanJSON: plan})
			if tc.reviewer == nil {
				tc.reviewer = &recordingReviewer{}
			}
			var logs bytes.Buffer
			h := tfc.NewRunTaskHandler(tc.key, tc.reviewer,
				tfc.WithAllowedAddresses(srv.Address()),
				tfc.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
			token := accessToken
			if tc.stage == "test" {
				token = "verify"
			}
			body := runTaskBody(t, srv, token, tc.runID, tc.stage)
			req := httptest.NewRequest(http.MethodPost, "/tfc/run-task", bytes.NewReader(body))
			if s := tc.sign(body); s != "" {
				req.Header.Set("X-TFC-Task-Signature", s)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			h.Wait()
			if rec.Code != tc.wantCode {
				t.Fatalf("status = %d (%s), want %d", rec.Code, rec.Body, tc.wantCode)
			}
			if len(tc.reviewer.runs) != tc.wantRuns {
				t.Fatalf("reviewer called %d times, want %d", len(tc.reviewer.runs), tc.wantRuns)
			}
			if tc.wantRuns > 0 {
				got := tc.reviewer.runs[0]
				if got.Owner != "acme" || got.Repo != "infra" || got.PullRequest != 42 || !bytes.Equal(got.PlanJSON, plan) {
					t.Errorf("reviewed run = %+v (plan %d bytes), want acme/infra#42 with the plan", got, len(got.PlanJSON))
				}
			}
			want := tc.wantResult
			for i := range want {
				want[i].URL = strings.ReplaceAll(want[i].URL, "RUNURL", srv.Address()+"/app/acme/workspaces/network-prod/runs/"+tc.runID)
				want[i].URL = strings.ReplaceAll(want[i].URL, "APPURL", srv.Address())
			}
			if diff := cmp.Diff(want, srv.Callbacks()); diff != "" {
				t.Errorf("task results (-want +got):\n%s", diff)
			}
			if strings.Contains(logs.String(), accessToken) {
				t.Errorf("access token logged:\n%s", logs.String())
			}
		})
	}
}

func TestRunTaskHandlerRefuses(t *testing.T) {
	srv := tfctest.New(t)
	h := tfc.NewRunTaskHandler(nil, &recordingReviewer{}, tfc.WithAllowedAddresses("https://tfe.example.com"))
	tests := []struct {
		name     string
		method   string
		body     []byte
		wantCode int
	}{
		{"GET", http.MethodGet, nil, 405},
		{"not JSON", http.MethodPost, []byte("{"), 400},
		{"too large", http.MethodPost, bytes.Repeat([]byte(" "), tfc.MaxRunTaskBody+1), 413},
		{"no token", http.MethodPost, []byte(`{"stage":"post_plan","run_id":"run-1","task_result_callback_url":"https://tfe.example.com/cb"}`), 400},
		// A keyless endpoint must not be usable to send a token to, or fetch
		// a plan from, a host nobody configured.
		{"callback host not allowed", http.MethodPost, runTaskBody(t, srv, "tok", "run-1", "post_plan"), 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, "/tfc/run-task", bytes.NewReader(tc.body)))
			h.Wait()
			if rec.Code != tc.wantCode {
				t.Errorf("status = %d (%s), want %d", rec.Code, strings.TrimSpace(rec.Body.String()), tc.wantCode)
			}
		})
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("refused requests reached the TFC API: %v", srv.Requests())
	}
}

// FuzzRunTaskHandler feeds arbitrary bodies and signatures to the endpoint:
// it must never panic, never accept a body whose signature is wrong, and
// never contact anything but the allowed address.
func FuzzRunTaskHandler(f *testing.F) {
	key := []byte("fuzz-key")
	f.Add([]byte(`{"stage":"test","access_token":"verify"}`), true)
	f.Add([]byte(`{"stage":"post_plan","access_token":"t","run_id":"run-1","task_result_callback_url":"https://app.terraform.io/api/v2/task-results/1/callback"}`), true)
	f.Add([]byte(`{"stage":"post_plan","access_token":"t","run_id":"run-1","task_result_callback_url":"http://169.254.169.254/latest"}`), true)
	f.Add([]byte(`{`), false)
	f.Add([]byte(``), true)
	f.Fuzz(func(t *testing.T, body []byte, signed bool) {
		rev := &recordingReviewer{}
		// An unroutable allowed address: whatever is accepted fails to
		// connect quickly instead of reaching the network.
		h := tfc.NewRunTaskHandler(key, rev, tfc.WithAllowedAddresses("http://127.0.0.1:1"), tfc.WithTimeout(time.Second))
		req := httptest.NewRequest(http.MethodPost, "/tfc/run-task", bytes.NewReader(body))
		if signed {
			req.Header.Set("X-TFC-Task-Signature", tfc.Sign(key, body))
		} else {
			req.Header.Set("X-TFC-Task-Signature", tfc.Sign([]byte("wrong"), body))
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		h.Wait()
		switch {
		case !signed && rec.Code != http.StatusUnauthorized:
			t.Fatalf("wrongly signed body answered %d", rec.Code)
		case signed && rec.Code != 200 && rec.Code != 400:
			t.Fatalf("signed body answered %d: %s", rec.Code, rec.Body)
		}
		if len(rev.runs) != 0 {
			t.Fatalf("reviewer called without a reachable TFC")
		}
	})
}

type memQueue struct {
	mu    sync.Mutex
	items []dispatch.Delivery
	err   error
}

func (q *memQueue) Enqueue(_ context.Context, d dispatch.Delivery) (bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return false, q.err
	}
	for _, it := range q.items {
		if it.ID == d.ID {
			return false, nil
		}
	}
	q.items = append(q.items, d)
	return true, nil
}

// TestRunTaskQueued: with a queue the request only stores the task; the
// worker's Handle reviews and reports it, and retries when the report fails.
func TestRunTaskQueued(t *testing.T) {
	plan := planFixture(t, "tofu-showjson-basic-delete.json")
	srv := tfctest.New(t)
	const token = "queued-access-token"
	srv.AcceptToken(token)
	srv.AddRun(tfctest.Run{ID: "run-q", Organization: "acme", Workspace: "w", PlanID: "plan-q", PlanJSON: plan,
		Identifier: "acme/infra", PullRequest: 3, CommitSHA: "0123456789abcdef0123456789abcdef01234567"})
	q := &memQueue{}
	rev := &recordingReviewer{result: tfc.TaskResult{Passed: true, Message: "ok", URL: "https://github.com/acme/infra/pull/3"}}
	h := tfc.NewRunTaskHandler(nil, rev, tfc.WithQueue(q), tfc.WithAllowedAddresses(srv.Address()),
		tfc.WithLogger(slog.New(slog.DiscardHandler)))

	body := runTaskBody(t, srv, token, "run-q", "post_plan")
	for range 2 { // TFC sending the same task twice stores it once
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/tfc/run-task", bytes.NewReader(body)))
		if rec.Code != 200 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	h.Wait()
	if len(q.items) != 1 || q.items[0].Event != tfc.EventRunTask || q.items[0].ID != "tfc-taskrs-1" {
		t.Fatalf("queued %+v, want one %s delivery tfc-taskrs-1", q.items, tfc.EventRunTask)
	}
	if len(rev.runs) != 0 || len(srv.Callbacks()) != 0 {
		t.Fatalf("reviewed before the worker ran")
	}

	// The first report fails (TFC down): the job must fail so it retries.
	srv.Close()
	if err := h.Handle(context.Background(), q.items[0]); err == nil {
		t.Fatal("Handle succeeded with TFC unreachable, want an error to retry")
	}
	srv2 := tfctest.New(t)
	srv2.AcceptToken(token)
	srv2.AddRun(tfctest.Run{ID: "run-q", Organization: "acme", Workspace: "w", PlanID: "plan-q", PlanJSON: plan,
		Identifier: "acme/infra", PullRequest: 3, CommitSHA: "0123456789abcdef0123456789abcdef01234567"})
	h2 := tfc.NewRunTaskHandler(nil, rev, tfc.WithQueue(q), tfc.WithAllowedAddresses(srv2.Address()),
		tfc.WithLogger(slog.New(slog.DiscardHandler)))
	d := q.items[0]
	d.Payload = runTaskBody(t, srv2, token, "run-q", "post_plan")
	if err := h2.Handle(context.Background(), d); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	want := []tfctest.Callback{{TaskResultID: "taskrs-1", Token: token, Status: "passed", Message: "ok", URL: "https://github.com/acme/infra/pull/3"}}
	if diff := cmp.Diff(want, srv2.Callbacks()); diff != "" {
		t.Errorf("task results (-want +got):\n%s", diff)
	}

	q.err = errors.New("database is locked")
	rec := httptest.NewRecorder()
	other := runTaskBody(t, srv2, token, "run-q", "pre_apply")
	other = bytes.Replace(other, []byte("taskrs-1"), []byte("taskrs-2"), -1)
	h2.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/tfc/run-task", bytes.NewReader(other)))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("enqueue failure answered %d, want 503 so TFC does not wait for a result that never comes", rec.Code)
	}
}
