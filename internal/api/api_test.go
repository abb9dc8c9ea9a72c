package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tasuki-sre/tasuki/internal/api"
	lth "github.com/tasuki-sre/tasuki/internal/handler/leadtime"
	core "github.com/tasuki-sre/tasuki/internal/leadtime"
	"github.com/tasuki-sre/tasuki/internal/pgtest"
	"github.com/tasuki-sre/tasuki/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const (
	tokenA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	tokenB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	repo   = "acme/api"
)

var now = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func openStore(t *testing.T, url string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), url, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newServer(t *testing.T, st *store.Store, tokens ...string) *httptest.Server {
	t.Helper()
	a := api.New(tokens, st, func(ctx context.Context, repo string) (lth.RepoSettings, error) {
		return lth.LoadSettings(ctx, st, repo)
	}, api.WithClock(func() time.Time { return now }), api.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	mux := http.NewServeMux()
	mux.Handle(api.Route, a)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, srv *httptest.Server, path, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Who may call the API: nobody while it is off, then only holders of a
// configured token (both during a rotation).
func TestAuth(t *testing.T) {
	st := openStore(t, "sqlite://"+filepath.Join(t.TempDir(), "t.db"))
	on := newServer(t, st, tokenA, tokenB)
	off := newServer(t, st)
	const path = "/api/v1/metrics?repo=" + repo
	tests := []struct {
		name     string
		srv      *httptest.Server
		auth     string
		status   int
		contains string
	}{
		{"API off", off, "Bearer " + tokenA, 404, "TASUKI_API_TOKENS"},
		{"no token", on, "", 401, "Authorization: Bearer TOKEN"},
		{"wrong token", on, "Bearer " + strings.Repeat("c", 32), 401, "unknown token"},
		{"token as basic auth", on, "Basic " + tokenA, 401, "unknown token"},
		{"prefix of a token", on, "Bearer " + tokenA[:20], 401, "unknown token"},
		{"first token", on, "Bearer " + tokenA, 200, `"deployment_frequency"`},
		{"second token (rotation)", on, "Bearer " + tokenB, 200, `"deployment_frequency"`},
		{"scheme in lower case", on, "bearer " + tokenB, 200, `"deployment_frequency"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := get(t, tt.srv, path, tt.auth)
			if status != tt.status || !strings.Contains(body, tt.contains) {
				t.Errorf("GET %s with %q = %d %s; want %d containing %q", path, tt.auth, status, body, tt.status, tt.contains)
			}
			if strings.Contains(body, tokenA) || strings.Contains(body, tokenB) {
				t.Errorf("the answer shows a token: %s", body)
			}
		})
	}
}

func TestParseTokens(t *testing.T) {
	got, err := api.ParseTokens(" " + tokenA + ",," + tokenB + " ,")
	if err != nil || len(got) != 2 || got[0] != tokenA || got[1] != tokenB {
		t.Errorf("ParseTokens = %q, %v", got, err)
	}
	if _, err := api.ParseTokens(tokenA + ",short"); err == nil || strings.Contains(err.Error(), "short") {
		t.Errorf("a short token: err = %v; want an error that does not show it", err)
	}
}

// Bad parameters answer 400 saying which parameter and what is accepted.
func TestBadParameters(t *testing.T) {
	st := openStore(t, "sqlite://"+filepath.Join(t.TempDir(), "t.db"))
	srv := newServer(t, st, tokenA)
	tests := []struct{ query, want string }{
		{"", `"repo" is required`},
		{"repo=acme", `"repo": "acme" is not OWNER/NAME`},
		{"repo=acme/api/x", `is not OWNER/NAME`},
		{"repo=acme/api&since=yesterday", `"since": "yesterday" is neither a date`},
		{"repo=acme/api&until=2026-13-01", `"until"`},
		{"repo=acme/api&since=2026-11-10&until=2026-11-01", `since must be before until`},
		{"repo=acme/api&since=2020-01-01&until=2026-01-01", `at most 366 days`},
		{"repo=acme/api&colour=red", `"colour" is unknown`},
		{"repo=acme/api&repo=acme/web", `"repo" is given 2 times`},
		{"repo=acme/api&team=sre", `names no teams`},
		{"repo=acme/api&service=" + strings.Repeat("s", 101), `"service"`},
		{"repo=acme/api&pulls=maybe", `"pulls"`},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			status, raw := get(t, srv, "/api/v1/metrics?"+tt.query, "Bearer "+tokenA)
			var e struct{ Error string }
			_ = json.Unmarshal([]byte(raw), &e)
			body := e.Error
			if status != 400 || !strings.Contains(body, tt.want) {
				t.Errorf("GET ?%s = %d %s; want 400 containing %s", tt.query, status, body, tt.want)
			}
		})
	}
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// The metrics of recorded events, on SQLite and PostgreSQL.
func TestMetricsFromStore(t *testing.T) {
	for _, be := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "t.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.Start(t) }},
	} {
		t.Run(be.name, func(t *testing.T) {
			st := openStore(t, be.url(t))
			ctx := context.Background()
			// Three pull requests shipped by one deployment at 11-24 09:00,
			// in the week of 2026-11-23; lead time runs from the first
			// commit to the deployment:
			//   #1: first commit 11-23 09:00 -> 24h
			//   #2: first commit 11-23 21:00 -> 12h
			//   #3: first commit 11-24 03:00 -> 6h
			// Median (nearest rank, ceil(0.5*3) = 2nd of 6h, 12h, 24h) = 12h;
			// p90 (ceil(0.9*3) = 3rd) = 24h.
			must(t, st.RecordPulls(ctx, []core.Pull{
				{Repo: repo, Number: 1, Author: "alice", FirstCommitAt: at("2026-11-23T09:00:00Z"), OpenedAt: at("2026-11-23T10:00:00Z"),
					ReadyAt: at("2026-11-23T10:00:00Z"), MergedAt: at("2026-11-23T13:00:00Z"), MergeSHA: "1111111111111111111111111111111111111111", BaseRef: "main"},
				{Repo: repo, Number: 2, Author: "bob", FirstCommitAt: at("2026-11-23T21:00:00Z"), OpenedAt: at("2026-11-23T22:00:00Z"),
					ReadyAt: at("2026-11-23T22:00:00Z"), MergedAt: at("2026-11-24T08:00:00Z"), MergeSHA: "2222222222222222222222222222222222222222", BaseRef: "main"},
				{Repo: repo, Number: 3, Author: "carol", FirstCommitAt: at("2026-11-24T03:00:00Z"), OpenedAt: at("2026-11-24T04:00:00Z"),
					ReadyAt: at("2026-11-24T04:00:00Z"), MergedAt: at("2026-11-24T08:30:00Z"), MergeSHA: "3333333333333333333333333333333333333333", BaseRef: "main"},
			}))
			must(t, st.RecordDeployments(ctx, []core.Deployment{{
				Repo: repo, ID: "deployment:9", Source: core.SourceDeploymentStatus, Environment: "production",
				SHA: "3333333333333333333333333333333333333333", FinishedAt: at("2026-11-24T09:00:00Z"),
				PreviousSHA: "0000000000000000000000000000000000000000",
				Commits: []string{"1111111111111111111111111111111111111111", "2222222222222222222222222222222222222222",
					"3333333333333333333333333333333333333333"},
			}}))
			srv := newServer(t, st, tokenA)
			status, body := get(t, srv, "/api/v1/metrics?repo="+repo+"&since=2026-11-23&until=2026-11-29", "Bearer "+tokenA)
			if status != 200 {
				t.Fatalf("status %d: %s", status, body)
			}
			var m struct {
				DeploymentFrequency struct {
					Deployments int `json:"deployments"`
				} `json:"deployment_frequency"`
				ChangeLeadTime struct {
					Count  int `json:"count"`
					Median struct {
						Seconds float64 `json:"seconds"`
					} `json:"median"`
					P90 struct {
						Seconds float64 `json:"seconds"`
					} `json:"p90"`
				} `json:"change_lead_time"`
			}
			if err := json.Unmarshal([]byte(body), &m); err != nil {
				t.Fatalf("decode %s: %v", body, err)
			}
			lt := m.ChangeLeadTime
			if m.DeploymentFrequency.Deployments != 1 || lt.Count != 3 || lt.Median.Seconds != 12*3600 || lt.P90.Seconds != 24*3600 {
				t.Errorf("metrics: %d deployments, lead time count %d median %vs p90 %vs; want 1, 3, 12h, 24h\n%s",
					m.DeploymentFrequency.Deployments, lt.Count, lt.Median.Seconds, lt.P90.Seconds, body)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// No log line and no answer carries a token: neither a configured one nor
// the one a client presented, whatever the request (refused, malformed,
// failing inside).
func TestTokensNeverLogged(t *testing.T) {
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st := openStore(t, "sqlite://"+filepath.Join(t.TempDir(), "t.db"))
	broken := func(ctx context.Context, repo string) (lth.RepoSettings, error) {
		return lth.RepoSettings{}, errors.New("settings unreadable")
	}
	a := api.New([]string{tokenA, tokenB}, st, broken, api.WithClock(func() time.Time { return now }), api.WithLogger(log))
	const stranger = "cccccccccccccccccccccccccccccccc"
	for _, tc := range []struct{ auth, path string }{
		{"Bearer " + tokenA, "/api/v1/metrics?repo=acme/api"},             // fails inside: logged
		{"Bearer " + tokenA, "/api/v1/metrics?repo=acme/api&x=" + tokenB}, // bad parameter
		{"Bearer " + stranger, "/api/v1/metrics?repo=acme/api"},           // unknown token
		{"Token " + tokenB, "/api/v1/metrics?repo=acme/api"},              // wrong scheme
		{tokenB, "/api/v1/metrics?repo=acme/api"},                         // no scheme
	} {
		req := httptest.NewRequest("GET", tc.path, nil)
		req.Header.Set("Authorization", tc.auth)
		rec := httptest.NewRecorder()
		a.ServeHTTP(rec, req)
		if rec.Code == http.StatusOK {
			t.Fatalf("%s %q: 200; the test wants every request to fail", tc.path, tc.auth)
		}
		for _, tok := range []string{tokenA, tokenB, stranger} {
			if strings.Contains(rec.Body.String(), tok) {
				t.Errorf("%s: the answer carries a token: %s", tc.path, rec.Body.String())
			}
		}
	}
	if !strings.Contains(logs.String(), "settings unreadable") {
		t.Fatalf("the failure was not logged; the test checks nothing:\n%s", logs.String())
	}
	for _, tok := range []string{tokenA, tokenB, stranger} {
		if strings.Contains(logs.String(), tok) {
			t.Errorf("a log line carries a token:\n%s", logs.String())
		}
	}
}
