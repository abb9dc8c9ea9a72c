package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/githubtest"
	"github.com/tasuki-sre/tasuki/internal/pgtest"
	"github.com/tasuki-sre/tasuki/internal/store"
	"github.com/tasuki-sre/tasuki/internal/testenv"
)

const (
	ltRepo   = "acme/shop"
	ltToken  = "lead-time-e2e-token-0123456789"
	ltToken2 = "lead-time-e2e-token-rotated-abcdef"
)

// ltFixture reads a real webhook payload and applies edits (dotted paths;
// nil deletes), placing it in acme/shop of installation 1.
func ltFixture(t *testing.T, name string, edits map[string]any) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.Fixtures(t, "webhooks"), name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	all := map[string]any{
		"installation":         map[string]any{"id": 1},
		"repository.full_name": ltRepo, "repository.name": "shop", "repository.owner.login": "acme",
		"repository.default_branch": "main",
	}
	for k, v := range edits {
		all[k] = v
	}
	for path, v := range all {
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

func commitAt(sha, at string) *github.RepositoryCommit {
	ts, err := time.Parse(time.RFC3339, at)
	if err != nil {
		panic(err)
	}
	return &github.RepositoryCommit{SHA: github.String(sha), Commit: &github.Commit{Author: &github.CommitAuthor{Date: &github.Timestamp{Time: ts}}}}
}

// TestLeadTimeThroughTheApp runs `app serve` against the in-memory GitHub,
// posts real-shaped webhooks for two pull requests, their reviews, two
// production deployments and an incident, and reads the metrics back from
// GET /api/v1/metrics, on SQLite and PostgreSQL. The same events delivered
// again under new delivery IDs (a backfill, or GitHub sending an event
// twice) change no number. /metrics is served on its own listener.
func TestLeadTimeThroughTheApp(t *testing.T) {
	for _, be := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "tasuki.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.Start(t) }},
	} {
		t.Run(be.name, func(t *testing.T) { leadTimeThroughTheApp(t, be.url(t)) })
	}
}

func leadTimeThroughTheApp(t *testing.T, db string) {
	gh := githubtest.New(t)
	gh.AddRepo(ltRepo, "main")
	gh.AddInstallation(1, "acme")
	for _, u := range []string{"alice", "bob", "carol"} {
		gh.AddUser(u, "User")
	}
	for _, l := range []string{"incident", "sev2", "postmortem"} {
		gh.AddLabel(ltRepo, l, "ededed")
	}
	base := gh.PutFile(ltRepo, "main", "app.txt", []byte("v1"))
	m1 := gh.PutFile(ltRepo, "main", "app.txt", []byte("v2"))
	m2 := gh.PutFile(ltRepo, "main", "app.txt", []byte("v3"))
	pr1 := gh.AddPull(ltRepo, &github.PullRequest{Title: github.String("Add cart"), User: &github.User{Login: github.String("alice")}})
	pr2 := gh.AddPull(ltRepo, &github.PullRequest{Title: github.String("Fix cart"), User: &github.User{Login: github.String("carol")}})
	n1, n2 := pr1.GetNumber(), pr2.GetNumber()
	gh.SetPullCommits(ltRepo, n1, commitAt("a1", "2026-11-23T08:00:00Z"))
	gh.SetPullCommits(ltRepo, n2, commitAt("b1", "2026-11-23T20:00:00Z"), commitAt("b2", "2026-11-23T20:30:00Z"))
	incident := gh.AddIssue(ltRepo, &github.Issue{Title: github.String("Checkout errors"), Body: github.String("Caused by #" + fmt.Sprint(n2)),
		Labels: []*github.Label{{Name: github.String("incident")}, {Name: github.String("sev2")}}})

	// The story, in the order GitHub would send it:
	//   #1 (alice): first commit 11-23 08:00, opened 09:00, bob approves 10:00,
	//      merged 12:00 as m1.
	//   #2 (carol): first commit 11-23 20:00, opened 21:00, a bot reviews
	//      21:30 (no pickup), alice approves 11-24 01:00, merged 02:00 as m2.
	//   Production deployment 101 of base at 11-22 12:00; deployment 102 of
	//   m2 at 11-24 06:00 ships base...m2 = m1, m2: both pull requests.
	//   Incident (sev2) opened 11-24 07:00 naming #2 as its cause, closed
	//   09:00.
	// Expected for the week 11-23..11-30:
	//   deployments: 1 (102; 101 finished before the week)
	//   lead times: #1 08:00 -> 11-24 06:00 = 22h; #2 20:00 -> 06:00 = 10h;
	//     median (nearest rank of two: the lower) 10h, p90 22h
	//   pickup: #1 09:00 -> 10:00 = 1h; #2 21:00 -> 01:00 = 4h; median 1h
	//   change fail rate: 102 is blamed for the incident: 1 of 1
	//   recovery: 07:00 -> 09:00 = 2h
	pull := func(name string, n int, extra map[string]any) []byte {
		e := map[string]any{"number": n, "pull_request.number": n, "pull_request.draft": false,
			"pull_request.base.ref": "main", "pull_request.labels": []any{}}
		for k, v := range extra {
			e[k] = v
		}
		return ltFixture(t, name, e)
	}
	review := func(fixture string, n int, id int64, login, typ, at string) []byte {
		return ltFixture(t, fixture, map[string]any{"pull_request.number": n, "review.id": id, "review.user.login": login,
			"review.user.type": typ, "review.state": "approved", "review.submitted_at": at})
	}
	deploy := func(id int64, sha, at string) []byte {
		return ltFixture(t, "deployment_status.created.1", map[string]any{"deployment.id": id, "deployment.sha": sha,
			"deployment.ref": "main", "deployment.environment": "production", "deployment_status.environment": "production",
			"deployment_status.state": "success", "deployment_status.created_at": at})
	}
	issue := func(action string, extra map[string]any) []byte {
		e := map[string]any{"action": action, "issue.number": incident.GetNumber(), "issue.title": "Checkout errors",
			"issue.body": incident.GetBody(), "issue.created_at": "2026-11-24T07:00:00Z",
			"issue.labels": []any{map[string]any{"name": "incident"}, map[string]any{"name": "sev2"}}, "label.name": "incident"}
		for k, v := range extra {
			e[k] = v
		}
		return ltFixture(t, "issues.labeled.1", e)
	}
	type event struct {
		name string
		body []byte
	}
	events := []event{
		{"deployment_status", deploy(101, base, "2026-11-22T12:00:00Z")},
		{"pull_request", pull("pull_request.opened.1", n1, map[string]any{"pull_request.created_at": "2026-11-23T09:00:00Z", "pull_request.user.login": "alice"})},
		{"pull_request_review", review("pull_request_review.submitted.1", n1, 9001, "bob", "User", "2026-11-23T10:00:00Z")},
		{"pull_request", pull("pull_request.closed.1", n1, map[string]any{"pull_request.created_at": "2026-11-23T09:00:00Z", "pull_request.user.login": "alice",
			"pull_request.merged": true, "pull_request.merged_at": "2026-11-23T12:00:00Z", "pull_request.closed_at": "2026-11-23T12:00:00Z",
			"pull_request.merge_commit_sha": m1})},
		{"pull_request", pull("pull_request.opened.1", n2, map[string]any{"pull_request.created_at": "2026-11-23T21:00:00Z", "pull_request.user.login": "carol"})},
		{"pull_request_review", review("pull_request_review.submitted.2", n2, 9002, "linter[bot]", "Bot", "2026-11-23T21:30:00Z")},
		{"pull_request_review", review("pull_request_review.submitted.3", n2, 9003, "alice", "User", "2026-11-24T01:00:00Z")},
		{"pull_request", pull("pull_request.closed.1", n2, map[string]any{"pull_request.created_at": "2026-11-23T21:00:00Z", "pull_request.user.login": "carol",
			"pull_request.merged": true, "pull_request.merged_at": "2026-11-24T02:00:00Z", "pull_request.closed_at": "2026-11-24T02:00:00Z",
			"pull_request.merge_commit_sha": m2})},
		{"deployment_status", deploy(102, m2, "2026-11-24T06:00:00Z")},
		{"issues", issue("labeled", nil)},
		{"issues", issue("closed", map[string]any{"issue.state": "closed", "issue.closed_at": "2026-11-24T09:00:00Z"})},
	}

	addr, metricsAddr := freeAddr(t), freeAddr(t)
	env := map[string]string{
		"TASUKI_GITHUB_APP_ID":           "1",
		"TASUKI_GITHUB_PRIVATE_KEY_FILE": writeFile(t, "app.pem", githubtest.AppKey()),
		"TASUKI_GITHUB_API_URL":          gh.URL(),
		"TASUKI_WEBHOOK_SECRET":          procSecret,
		"TASUKI_DATABASE_URL":            db,
		"TASUKI_LISTEN":                  addr,
		"TASUKI_METRICS_LISTEN":          metricsAddr,
		"TASUKI_API_TOKENS":              ltToken + "," + ltToken2,
		"TASUKI_LOG_LEVEL":               "info",
	}
	var logs syncBuffer
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	exited := make(chan int, 1)
	go func() {
		exited <- run(ctx, []string{"serve", "--redeliver-every", "0", "--shutdown-timeout", "20s"},
			func(k string) string { return env[k] }, io.Discard, &logs)
	}()
	defer func() {
		if t.Failed() {
			t.Logf("app log:\n%s", logs.String())
		}
	}()
	waitFor(t, exited, "/healthz", func() bool { code, _ := get(t, addr, "/healthz"); return code == http.StatusOK })
	st, err := store.Open(context.Background(), db, slog.New(slog.NewTextHandler(io.Discard, nil)), store.WithoutMigrate())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	send := func(round string) {
		for i, e := range events {
			// Deliveries one at a time, in order, as the story goes:
			// each is processed before the next is sent.
			id := fmt.Sprintf("%s-%02d", round, i)
			if code, err := sendSigned(addr, id, e.name, e.body); err != nil || code != http.StatusAccepted {
				t.Fatalf("webhook %s %s: %d %v", id, e.name, code, err)
			}
			waitFor(t, exited, "delivery "+id, func() bool {
				row := storedDelivery(t, st, id)
				return row.State == store.StateDone || row.State == store.StateFailed || row.Attempts > 0 && row.State == store.StatePending
			})
			if row := storedDelivery(t, st, id); row.State != store.StateDone {
				t.Errorf("delivery %s (%s): %s after %d attempts: %s", id, e.name, row.State, row.Attempts, row.LastError)
			}
		}
	}
	send("first")

	type stats struct {
		Count         int
		Median, P90   float64
		Rate          float64
		Deployments   int
		PickupMedian  float64
		PickupCount   int
		RecoveryCount int
		Recovery      float64
	}
	read := func(token string) (int, stats, string) {
		req, _ := http.NewRequest("GET", "http://"+addr+"/api/v1/metrics?repo="+ltRepo+"&since=2026-11-23&until=2026-11-29", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var m struct {
			DeploymentFrequency struct{ Deployments int } `json:"deployment_frequency"`
			ChangeLeadTime      struct {
				Count       int
				Median, P90 struct{ Seconds float64 }
			} `json:"change_lead_time"`
			ChangeFailRate struct{ Rate float64 } `json:"change_fail_rate"`
			Recovery       struct {
				Count  int
				Median struct{ Seconds float64 }
			} `json:"failed_deployment_recovery_time"`
			Stages []struct {
				Stage  string
				Count  int
				Median struct{ Seconds float64 }
			}
		}
		_ = json.Unmarshal(b, &m)
		s := stats{Count: m.ChangeLeadTime.Count, Median: m.ChangeLeadTime.Median.Seconds / 3600, P90: m.ChangeLeadTime.P90.Seconds / 3600,
			Rate: m.ChangeFailRate.Rate, Deployments: m.DeploymentFrequency.Deployments,
			RecoveryCount: m.Recovery.Count, Recovery: m.Recovery.Median.Seconds / 3600}
		for _, st := range m.Stages {
			if st.Stage == "pickup" {
				s.PickupCount, s.PickupMedian = st.Count, st.Median.Seconds/3600
			}
		}
		return resp.StatusCode, s, string(b)
	}
	want := stats{Count: 2, Median: 10, P90: 22, Rate: 1, Deployments: 1, PickupMedian: 1, PickupCount: 2, RecoveryCount: 1, Recovery: 2}
	code, got, body := read(ltToken)
	if code != http.StatusOK || got != want {
		t.Errorf("metrics: %d %+v, want 200 %+v\n%s", code, got, want, body)
	}
	// The rotated-in token reads the same.
	if code, got2, _ := read(ltToken2); code != http.StatusOK || got2 != got {
		t.Errorf("metrics with the second token: %d %+v, want 200 %+v", code, got2, got)
	}
	if code, _, _ := read("not-a-token-at-all-00000000"); code != http.StatusUnauthorized {
		t.Errorf("metrics with a wrong token: %d, want 401", code)
	}

	// Everything again, as new deliveries: nothing changes.
	send("again")
	if code, again, body := read(ltToken); code != http.StatusOK || again != want {
		t.Errorf("metrics after the events came again: %d %+v, want %+v\n%s", code, again, want, body)
	}

	// /metrics is on its own listener, with the lead time observed when
	// deployment 102 was recorded, and not on the webhook port.
	if code, _ := get(t, addr, "/metrics"); code != http.StatusNotFound {
		t.Errorf("/metrics on the webhook port: %d, want 404 with TASUKI_METRICS_LISTEN set", code)
	}
	code, prom := get(t, metricsAddr, "/metrics")
	wantLine := `tasuki_leadtime_seconds_count{repo="acme/shop"} `
	if code != http.StatusOK || !strings.Contains(prom, wantLine) {
		t.Errorf("/metrics on %s: %d, want 200 with %q", metricsAddr, code, wantLine)
	}

	stop()
	select {
	case code := <-exited:
		if code != 0 {
			t.Errorf("app serve exited %d, want 0", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("app serve did not stop within 30s")
	}
}

func sendSigned(addr, id, event string, body []byte) (int, error) {
	return send(http.DefaultClient, addr, id, event, body)
}

// The lead-time settings are checked at start-up, naming the variable,
// without printing a token.
func TestLeadTimeSettingErrors(t *testing.T) {
	good := map[string]string{
		"TASUKI_GITHUB_APP_ID":           "12345",
		"TASUKI_GITHUB_PRIVATE_KEY_FILE": writeFile(t, "app.pem", testKey(t)),
		"TASUKI_WEBHOOK_SECRET":          "s3cr3t-webhook",
		"TASUKI_DATABASE_URL":            "sqlite://" + filepath.Join(t.TempDir(), "t.db"),
		"TASUKI_LISTEN":                  ":8080",
	}
	tests := []struct {
		name, key, value, want string
	}{
		{"short token", "TASUKI_API_TOKENS", "0123456789abcdefghij,hunter2",
			"tasuki: TASUKI_API_TOKENS: token 2 is 7 characters long; use at least 16 random characters (e.g. openssl rand -hex 32)"},
		{"metrics address", "TASUKI_METRICS_LISTEN", "nine-thousand",
			`tasuki: TASUKI_METRICS_LISTEN "nine-thousand" is not a listen address: use HOST:PORT or :PORT, e.g. 127.0.0.1:9090`},
		{"metrics on the webhook port", "TASUKI_METRICS_LISTEN", ":8080",
			`tasuki: TASUKI_METRICS_LISTEN ":8080" is the webhook address (TASUKI_LISTEN): give /metrics an address of its own, or unset it`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{tt.key: tt.value}
			for k, v := range good {
				env[k] = v
			}
			var stdout, stderr strings.Builder
			code := run(context.Background(), []string{"serve"}, func(k string) string { return env[k] }, &stdout, &stderr)
			if got := strings.TrimSpace(stderr.String()); code != 2 || got != tt.want {
				t.Errorf("exit %d, stderr %q; want 2, %q", code, got, tt.want)
			}
			if strings.Contains(stderr.String(), "hunter2") {
				t.Errorf("a token was printed: %s", stderr.String())
			}
		})
	}
}
