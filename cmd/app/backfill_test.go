package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/githubtest"
	"github.com/tasuki-sre/tasuki/internal/store"
)

func TestBackfillCommandRefusesBadArguments(t *testing.T) {
	gh := githubtest.New(t)
	env, _ := appEnv(t, gh)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"backfill"}, "tasuki: backfill: --repo OWNER/NAME is required\n"},
		{[]string{"backfill", "--repo", "acme"}, "tasuki: backfill: --repo \"acme\" is not OWNER/NAME\n"},
		{[]string{"backfill", "--repo", "acme/api/x"}, "tasuki: backfill: --repo \"acme/api/x\" is not OWNER/NAME\n"},
		{[]string{"backfill", "--repo", "acme/api", "--since", "90x"},
			"tasuki: backfill: --since \"90x\": want a duration in days, weeks or hours (90d, 2w, 36h) or a date (2026-01-31)\n"},
		{[]string{"backfill", "--repo", "acme/api", "--since", "2099-01-01"}, "tasuki: backfill: --since \"2099-01-01\" is not in the past\n"},
		{[]string{"backfill", "--repo", "acme/api", "--since", "0d"},
			"tasuki: backfill: --since \"0d\": want a positive whole number of days, at most two years\n"},
		{[]string{"backfill", "--repo", "acme/api", "--releases", "maybe"}, "tasuki: backfill: --releases \"maybe\": use true or false\n"},
		{[]string{"backfill", "acme/api"}, "tasuki: backfill takes no arguments; name the repository with --repo OWNER/NAME\n"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := runApp(t, env, tt.args...)
			if code != 2 || out != "" || errOut != tt.want {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2 and %q", code, out, errOut, tt.want)
			}
		})
	}
	code, out, _ := runApp(t, env, "backfill", "-h")
	if code != 0 || !strings.Contains(out, "usage: app backfill --repo OWNER/NAME") {
		t.Errorf("help: exit %d, %q", code, out)
	}
}

// `app backfill` queues the job, runs it (no server runs this database's
// workers), prints its progress and what it spent, and leaves the history
// in the store. A second one while one is queued follows that one.
func TestBackfillCommand(t *testing.T) {
	gh := githubtest.New(t)
	env, db := appEnv(t, gh)
	gh.AddRepo("acme/api", "main")
	now := time.Now().UTC().Truncate(time.Second)
	var hs []githubtest.PullHistory
	for i := range 250 {
		at := now.Add(-time.Duration(i+1) * time.Hour)
		hs = append(hs, githubtest.PullHistory{Pull: &github.PullRequest{Title: github.String(fmt.Sprint("change ", i)),
			User: &github.User{Login: github.String("dev")}, CreatedAt: &github.Timestamp{Time: at.Add(-time.Hour)},
			UpdatedAt: &github.Timestamp{Time: at}, MergedAt: &github.Timestamp{Time: at}, MergeCommitSHA: github.String(fmt.Sprintf("%040d", i))}})
	}
	gh.AddPullHistories("acme/api", hs)
	d := gh.AddDeployment("acme/api", &github.Deployment{Environment: github.String("production"), SHA: github.String(strings.Repeat("a", 40)),
		CreatedAt: &github.Timestamp{Time: now.Add(-time.Hour)}})
	gh.AddDeploymentStatus("acme/api", d.GetID(), "success", now.Add(-50*time.Minute))

	if code, _, errOut := runApp(t, env, "migrate"); code != 0 {
		t.Fatalf("migrate: %s", errOut)
	}
	code, out, errOut := runApp(t, env, "backfill", "--repo", "acme/api", "--since", "30d")
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, out, errOut)
	}
	requests := gh.CallCount("POST", githubtest.GraphQLTemplate)
	final := regexp.MustCompile(`(?m)^backfill of acme/api done: 250 pull requests, 0 reviews, 1 deployments, 0 releases; (\d+) GraphQL requests, (\d+) rate limit points$`)
	m := final.FindStringSubmatch(out)
	if !strings.HasPrefix(out, "queued backfill of acme/api since ") || m == nil {
		t.Fatalf("output:\n%s", out)
	}
	if m[1] != fmt.Sprint(requests) || m[2] != fmt.Sprint(gh.GraphQLPoints()) {
		t.Errorf("printed %s requests, %s points; the fake counted %d, %d", m[1], m[2], requests, gh.GraphQLPoints())
	}

	st, err := store.Open(context.Background(), db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	h, err := st.History(context.Background(), store.HistoryQuery{Repo: "acme/api"})
	st.Close()
	if err != nil || len(h.Pulls) != 250 || len(h.Deployments) != 1 {
		t.Fatalf("history: %d pulls, %d deployments, %v", len(h.Pulls), len(h.Deployments), err)
	}

	// Queued and not run (--no-wait), then asked for again: one job.
	code, out, errOut = runApp(t, env, "backfill", "--repo", "acme/api", "--since", "2w", "--no-wait")
	if code != 0 || !strings.HasPrefix(out, "queued backfill of acme/api") {
		t.Fatalf("no-wait: exit %d, %q, %s", code, out, errOut)
	}
	code, out, _ = runApp(t, env, "backfill", "--repo", "acme/api", "--since", "90d", "--no-wait")
	if code != 0 || !regexp.MustCompile(`^a backfill of acme/api since \S+ is already available \(job \d+\); following it\n$`).MatchString(out) {
		t.Errorf("second backfill: exit %d, %q", code, out)
	}

	code, _, errOut = runApp(t, env, "backfill", "--repo", "nobody/lib")
	if code != 1 || errOut != "tasuki: backfill nobody/lib: the App is not installed on it, or the repository does not exist\n" {
		t.Errorf("not installed: exit %d, %q", code, errOut)
	}
}

// Interrupted (Ctrl-C), `app backfill` says the backfill keeps its place;
// run again, it follows the same job to the end without reading again
// what was recorded.
func TestBackfillCommandInterrupted(t *testing.T) {
	gh := githubtest.New(t)
	env, _ := appEnv(t, gh)
	gh.AddRepo("acme/api", "main")
	now := time.Now().UTC().Truncate(time.Second)
	var hs []githubtest.PullHistory
	const pulls = 1_000
	for i := range pulls {
		at := now.Add(-time.Duration(i+1) * time.Minute)
		hs = append(hs, githubtest.PullHistory{Pull: &github.PullRequest{Title: github.String(fmt.Sprint("change ", i)),
			CreatedAt: &github.Timestamp{Time: at}, UpdatedAt: &github.Timestamp{Time: at}}})
	}
	gh.AddPullHistories("acme/api", hs)
	if code, _, errOut := runApp(t, env, "migrate"); code != 0 {
		t.Fatalf("migrate: %s", errOut)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for gh.CallCount("POST", githubtest.GraphQLTemplate) < 4 && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	var o, e strings.Builder
	code := run(ctx, []string{"backfill", "--repo", "acme/api", "--since", "2d", "--environments", "production", "--releases", "false"},
		func(k string) string { return env[k] }, &o, &e)
	cancel()
	if code != 1 || !strings.Contains(o.String(), "interrupted: the backfill keeps its place (job 1)") {
		t.Fatalf("interrupted: exit %d, stdout %q, stderr %q", code, o.String(), e.String())
	}
	first := gh.CallCount("POST", githubtest.GraphQLTemplate)

	code, out, errOut := runApp(t, env, "backfill", "--repo", "acme/api", "--since", "2d", "--environments", "production", "--releases", "false")
	if code != 0 || !regexp.MustCompile(`is already \w+ \(job 1\); following it\n`).MatchString(out) ||
		!strings.Contains(out, "backfill of acme/api done: 1000 pull requests") {
		t.Fatalf("second run: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	t.Logf("second run:\n%s", out)
	// 10 pages and the empty deployments page; the page cut off may be
	// read twice.
	total := gh.CallCount("POST", githubtest.GraphQLTemplate)
	if want := pulls/100 + 1; total < want || total > want+1 {
		t.Errorf("%d requests (%d before the interruption), want %d or one more", total, first, want)
	}
}
