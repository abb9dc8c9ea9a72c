package backfill_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/backfill"
	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/ghclient"
	"github.com/tasuki-sre/tasuki/internal/githubtest"
	"github.com/tasuki-sre/tasuki/internal/leadtime"
)

const repo = "acme/api"

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// clock is the fake's and the backfill's clock; waits move it on.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

// waitUntil is Options.Wait for tests: it records the wait and moves the
// clock to its end at once.
func (c *clock) waitUntil(waits *[]time.Duration) func(context.Context, time.Time, string) error {
	return func(ctx context.Context, t time.Time, _ string) error {
		c.mu.Lock()
		defer c.mu.Unlock()
		*waits = append(*waits, t.Sub(c.now))
		if t.After(c.now) {
			c.now = t
		}
		return ctx.Err()
	}
}

// world is a seeded repository and what a backfill since `since` must
// record of it, computed from the seed.
type world struct {
	srv   *githubtest.Server
	clk   *clock
	since time.Time
	want  leadtime.History
}

// seed makes n pull requests updated since `since` and old ones updated
// before, deployments to production and staging, and releases.
func seed(t testing.TB, n, old int) *world {
	t.Helper()
	// The wall clock's time: ghclient.Classify reads Retry-After from it.
	now := time.Now().UTC().Truncate(time.Second)
	clk := &clock{now: now}
	srv := githubtest.New(t, githubtest.WithClock(clk.Now))
	srv.AddRepo(repo, "main")
	srv.AddUser("dependabot[bot]", "Bot")
	w := &world{srv: srv, clk: clk, since: now.Add(-90 * 24 * time.Hour)}
	window := now.Sub(w.since)
	var hs []githubtest.PullHistory
	total := n + old
	for i := range total {
		// Spread over the window, then older ones before it.
		updated := now.Add(-time.Duration(i+1) * window / time.Duration(n+1)).Truncate(time.Second)
		if i >= n {
			updated = w.since.Add(-time.Duration(i-n+1) * time.Hour)
		}
		created := updated.Add(-time.Duration(2+i%5) * 24 * time.Hour)
		author := fmt.Sprintf("dev%d", i%7)
		first := created.Add(-time.Duration(1+i%3) * time.Hour)
		pr := &github.PullRequest{Title: github.String(fmt.Sprintf("Change %d", i)), User: &github.User{Login: github.String(author)},
			CreatedAt: ts(created), UpdatedAt: ts(updated), Head: &github.PullRequestBranch{Ref: github.String(fmt.Sprintf("feature/%d", i))},
			Base: &github.PullRequestBranch{Ref: github.String("main")}}
		h := githubtest.PullHistory{Pull: pr, Paths: []string{fmt.Sprintf("svc%d/main.tf", i%4), "README.md"},
			// Two commits; the first was authored first but committed
			// last (a rebase): its authoredDate is the one that counts.
			Commits: []*github.RepositoryCommit{commit(fmt.Sprintf("c%da", i), first, updated), commit(fmt.Sprintf("c%db", i), first.Add(30*time.Minute), first.Add(30*time.Minute))}}
		switch i % 4 {
		case 0: // merged, reviewed by the author, a bot and a human
			pr.MergedAt = ts(updated)
			pr.MergeCommitSHA = github.String(fmt.Sprintf("%040d", i))
			h.Reviews = []*github.PullRequestReview{
				review(author, "COMMENTED", created.Add(time.Hour)),
				review("dependabot[bot]", "COMMENTED", created.Add(2*time.Hour)),
				review("reviewer", "APPROVED", created.Add(3*time.Hour)),
			}
		case 1: // opened as a draft, made ready later, merged
			pr.MergedAt = ts(updated)
			pr.MergeCommitSHA = github.String(fmt.Sprintf("%040d", i))
			h.ReadyAt = created.Add(5 * time.Hour)
			h.Reviews = []*github.PullRequestReview{review("reviewer", "CHANGES_REQUESTED", created.Add(6*time.Hour))}
		case 2: // still a draft
			pr.Draft = github.Bool(true)
		case 3: // closed unmerged, by a bot
			pr.User = &github.User{Login: github.String("dependabot[bot]")}
			pr.ClosedAt = ts(updated)
		}
		hs = append(hs, h)
	}
	nums := srv.AddPullHistories(repo, hs)
	for i, h := range hs {
		if i >= n {
			break // updated before since: not read
		}
		pr := h.Pull
		p := leadtime.Pull{Repo: repo, Number: nums[i], Title: pr.GetTitle(), Author: pr.GetUser().GetLogin(),
			AuthorIsBot: strings.HasSuffix(pr.GetUser().GetLogin(), "[bot]"), FirstCommitAt: h.Commits[0].GetCommit().GetAuthor().GetDate().Time,
			OpenedAt: pr.GetCreatedAt().Time, MergedAt: pr.GetMergedAt().Time, ClosedAt: pr.GetClosedAt().Time,
			BaseRef: "main", HeadRef: pr.GetHead().GetRef(), Paths: h.Paths}
		if !pr.GetMergedAt().IsZero() {
			p.MergeSHA = pr.GetMergeCommitSHA()
			p.ClosedAt = p.MergedAt
		}
		switch {
		case !h.ReadyAt.IsZero():
			p.ReadyAt = h.ReadyAt
		case !pr.GetDraft():
			p.ReadyAt = p.OpenedAt
		}
		w.want.Pulls = append(w.want.Pulls, p)
		for _, rv := range h.Reviews {
			w.want.Reviews = append(w.want.Reviews, leadtime.Review{Repo: repo, Number: nums[i], Reviewer: rv.GetUser().GetLogin(),
				ReviewerIsBot: strings.HasSuffix(rv.GetUser().GetLogin(), "[bot]"), State: rv.GetState(), At: rv.GetSubmittedAt().Time})
		}
	}
	return w
}

// seedDeployments adds n successful production deployments in the window,
// failed and staging ones beside them, and old ones before it.
func (w *world) seedDeployments(n int) {
	window := w.clk.Now().Sub(w.since)
	for i := range n + 20 {
		at := w.clk.Now().Add(-time.Duration(i+1) * window / time.Duration(n+1)).Truncate(time.Second)
		if i >= n {
			at = w.since.Add(-time.Duration(i-n+1) * time.Hour)
		}
		sha := fmt.Sprintf("%040x", i+1)
		d := w.srv.AddDeployment(repo, &github.Deployment{Environment: github.String("production"), SHA: github.String(sha),
			Ref: github.String("main"), Creator: &github.User{Login: github.String("deployer")}, CreatedAt: ts(at)})
		w.srv.AddDeploymentStatus(repo, d.GetID(), "in_progress", at.Add(time.Minute))
		state := "success"
		if i%10 == 9 {
			state = "failure"
		}
		w.srv.AddDeploymentStatus(repo, d.GetID(), state, at.Add(5*time.Minute))
		if i < n && state == "success" {
			w.want.Deployments = append(w.want.Deployments, leadtime.Deployment{Repo: repo, ID: fmt.Sprintf("deployment:%d", d.GetID()),
				Source: leadtime.SourceDeploymentStatus, Environment: "production", SHA: sha, FinishedAt: at.Add(5 * time.Minute),
				Creator: "deployer", Ref: "main"})
		}
		st := w.srv.AddDeployment(repo, &github.Deployment{Environment: github.String("staging"), SHA: github.String(sha), CreatedAt: ts(at)})
		w.srv.AddDeploymentStatus(repo, st.GetID(), "success", at.Add(time.Minute))
	}
}

func (w *world) seedReleases(n int) {
	for i := range n {
		at := w.clk.Now().Add(-time.Duration(i+1) * 24 * time.Hour)
		sha := fmt.Sprintf("%040x", 1000+i)
		rel := &github.RepositoryRelease{TagName: github.String(fmt.Sprintf("v1.%d.0", i)), TargetCommitish: github.String(sha),
			CreatedAt: ts(at), PublishedAt: ts(at.Add(time.Minute)), Author: &github.User{Login: github.String("releaser")},
			Prerelease: github.Bool(i%5 == 4)}
		got := w.srv.AddRelease(repo, rel)
		if i%5 != 4 {
			w.want.Deployments = append(w.want.Deployments, leadtime.Deployment{Repo: repo, ID: fmt.Sprintf("release:%d", got.GetID()),
				Source: leadtime.SourceRelease, SHA: sha, FinishedAt: at.Add(time.Minute), Creator: "releaser", Ref: rel.GetTagName()})
		}
	}
}

func commit(sha string, authored, committed time.Time) *github.RepositoryCommit {
	return &github.RepositoryCommit{SHA: github.String(sha), Commit: &github.Commit{
		Author: &github.CommitAuthor{Date: ts(authored)}, Committer: &github.CommitAuthor{Date: ts(committed)}}}
}

func review(login, state string, at time.Time) *github.PullRequestReview {
	return &github.PullRequestReview{User: &github.User{Login: github.String(login)}, State: github.String(state), SubmittedAt: ts(at)}
}

func ts(t time.Time) *github.Timestamp { return &github.Timestamp{Time: t} }

func (w *world) client(t testing.TB) backfill.Querier {
	t.Helper()
	gql, err := ghclient.NewTokenGraphQL(w.srv.Token("tasuki[bot]"), w.srv.URL(), ghclient.WithTransport(w.srv.HTTPClient().Transport),
		ghclient.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	return gql
}

func (w *world) opts(waits *[]time.Duration) backfill.Options {
	return backfill.Options{Environments: []string{"production"}, Releases: true, Now: w.clk.Now, Wait: w.clk.waitUntil(waits), Log: quiet}
}

// check compares what was recorded with what the seed says, ignoring the
// review IDs the fake assigned.
func (w *world) check(t *testing.T, got leadtime.History) {
	t.Helper()
	for i := range got.Reviews {
		if got.Reviews[i].ID == 0 {
			t.Fatalf("review %+v has no ID", got.Reviews[i])
		}
		got.Reviews[i].ID = 0
	}
	want := w.want
	sortHistory(&want)
	sortHistory(&got)
	if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("recorded history (-want +got):\n%s", firstLines(d, 40))
	}
}

func sortHistory(h *leadtime.History) {
	rec := backfill.NewMemoryRecorder()
	ctx := context.Background()
	_ = rec.RecordPulls(ctx, h.Pulls)
	_ = rec.RecordDeployments(ctx, h.Deployments)
	got := rec.History()
	h.Pulls, h.Deployments = got.Pulls, got.Deployments
	// Reviews have no ID here: order by number, then time.
	sortReviews(h.Reviews)
}

func sortReviews(rs []leadtime.Review) {
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && less(rs[j], rs[j-1]); j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}

func less(a, b leadtime.Review) bool {
	if a.Number != b.Number {
		return a.Number < b.Number
	}
	return a.At.Before(b.At)
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = append(lines[:n], "...")
	}
	return strings.Join(lines, "\n")
}

// Ten thousand pull requests with their first commit, ready time and
// reviews, a year of deployments and releases: at most 250 requests, each
// page of pull requests costing what GitHub's formula says.
func TestBackfillTenThousandPulls(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 10,000 pull requests")
	}
	w := seed(t, 10_000, 300)
	w.seedDeployments(250)
	w.seedReleases(30)
	rec := backfill.NewMemoryRecorder()
	var waits []time.Duration
	var progress []backfill.Stats
	opts := w.opts(&waits)
	opts.Progress = func(s backfill.Stats) { progress = append(progress, s) }
	stats, err := backfill.Run(context.Background(), w.client(t), repo, w.since, rec, opts)
	if err != nil {
		t.Fatal(err)
	}
	w.check(t, rec.History())

	requests := w.srv.CallCount("POST", githubtest.GraphQLTemplate)
	// Pages: 100 pulls each, and the page that reaches before since;
	// deployments and releases likewise.
	pullPages := 10_000/100 + 1
	// Staging deployments are filtered out by GitHub (environments:).
	deployPages := 250/100 + 1
	wantRequests := pullPages + deployPages + 1
	wantPoints := pullPages*backfill.PullsPageCost(100).Points + deployPages + 1
	if stats.Requests != requests || requests != wantRequests || requests > 250 {
		t.Errorf("requests: stats %d, fake counted %d; want %d (at most 250)", stats.Requests, requests, wantRequests)
	}
	if stats.Points != w.srv.GraphQLPoints() || stats.Points != wantPoints {
		t.Errorf("points: stats %d, fake charged %d; want %d", stats.Points, w.srv.GraphQLPoints(), wantPoints)
	}
	if stats.Pulls != 10_000 || stats.Reviews != len(w.want.Reviews) || stats.Deployments+stats.Releases != len(w.want.Deployments) {
		t.Errorf("stats = %+v", stats)
	}
	if len(waits) != 0 || stats.Waits != 0 {
		t.Errorf("waited %v with 5,000 points to spend", waits)
	}
	if len(progress) != stats.Pages || progress[len(progress)-1].Pulls != 10_000 {
		t.Errorf("progress called %d times for %d pages", len(progress), stats.Pages)
	}
	t.Logf("10,000 pull requests: %d requests, %d points", stats.Requests, stats.Points)
}

// A run stopped between pages resumes from its cursor and records every
// item once more at most for the page that was being read.
func TestBackfillResumesFromCursor(t *testing.T) {
	for _, tt := range []struct {
		name string
		// recordedNotKept: the stop comes after page k was recorded but
		// before its cursor was kept, so that page is read again.
		recordedNotKept bool
	}{
		{"stopped after a kept page", false},
		{"stopped before keeping a recorded page", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := seed(t, 1_000, 50)
			w.seedDeployments(120)
			rec := &countingRecorder{MemoryRecorder: backfill.NewMemoryRecorder(), seen: map[string]int{}}
			var waits []time.Duration
			var kept backfill.Cursor
			ctx, cancel := context.WithCancel(context.Background())
			opts := w.opts(&waits)
			opts.Releases = false
			const stopAt = 4
			opts.Checkpoint = func(ctx context.Context, c backfill.Cursor) error {
				if c.Stats.Pages == stopAt && tt.recordedNotKept {
					cancel()
					return ctx.Err()
				}
				kept = c
				if c.Stats.Pages == stopAt {
					cancel()
				}
				return nil
			}
			_, err := backfill.Run(ctx, w.client(t), repo, w.since, rec, opts)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("first run: %v, want cancelled", err)
			}
			before := w.srv.CallCount("POST", githubtest.GraphQLTemplate)

			opts.Checkpoint = func(_ context.Context, c backfill.Cursor) error { kept = c; return nil }
			opts.Resume = kept
			if _, err := backfill.Run(context.Background(), w.client(t), repo, w.since, rec, opts); err != nil {
				t.Fatal(err)
			}
			w.check(t, rec.History())
			after := w.srv.CallCount("POST", githubtest.GraphQLTemplate) - before
			fresh := seed(t, 1_000, 50)
			fresh.seedDeployments(120)
			whole, err := backfill.Run(context.Background(), fresh.client(t), repo, fresh.since, backfill.NewMemoryRecorder(), opts2(fresh))
			if err != nil {
				t.Fatal(err)
			}
			reread := 0
			if tt.recordedNotKept {
				reread = 1
			}
			if before+after != whole.Requests+reread {
				t.Errorf("%d + %d requests across the stop, %d for an unstopped run: want %d page(s) read twice", before, after, whole.Requests, reread)
			}
			twice := 0
			for _, n := range rec.seen {
				if n > 1 {
					twice++
				}
			}
			if want := reread * 100; twice != want {
				t.Errorf("%d pull requests recorded twice, want %d (one page)", twice, want)
			}
		})
	}
}

func opts2(w *world) backfill.Options {
	var waits []time.Duration
	o := w.opts(&waits)
	o.Releases = false
	return o
}

// countingRecorder counts how often each pull request is recorded.
type countingRecorder struct {
	*backfill.MemoryRecorder
	mu   sync.Mutex
	seen map[string]int
}

func (c *countingRecorder) RecordPulls(ctx context.Context, ps []leadtime.Pull) error {
	c.mu.Lock()
	for _, p := range ps {
		c.seen[fmt.Sprint(p.Number)]++
	}
	c.mu.Unlock()
	return c.MemoryRecorder.RecordPulls(ctx, ps)
}

// GitHub's rate limits make the backfill wait, never fail: a budget that
// runs low (it waits for the reset before it runs out), a RATE_LIMITED
// answer, and a secondary limit's 403 with Retry-After.
func TestBackfillWaitsForRateLimits(t *testing.T) {
	pageCost := backfill.PullsPageCost(100).Points
	for _, tt := range []struct {
		name    string
		prepare func(w *world)
		// wantWait is the longest wait expected, from the clock at the time.
		wantWait func(w *world) time.Duration
	}{
		{"budget runs low", func(w *world) { w.srv.SetGraphQLLimit(3 * pageCost) }, func(*world) time.Duration { return time.Hour }},
		{"RATE_LIMITED answer", func(w *world) { w.srv.InjectGraphQLRateLimit(1, w.clk.Now().Add(20*time.Minute)) },
			func(*world) time.Duration { return 20 * time.Minute }},
		{"secondary limit", func(w *world) {
			w.srv.InjectTimes(2, "POST", githubtest.GraphQLTemplate, 403, map[string]string{"Retry-After": "90"})
		}, func(*world) time.Duration { return 90 * time.Second }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := seed(t, 900, 10)
			tt.prepare(w)
			rec := backfill.NewMemoryRecorder()
			var waits []time.Duration
			opts := w.opts(&waits)
			opts.Environments, opts.Releases = nil, false
			stats, err := backfill.Run(context.Background(), w.client(t), repo, w.since, rec, opts)
			if err != nil {
				t.Fatalf("rate limit made the backfill fail: %v", err)
			}
			w.want.Deployments = nil
			w.check(t, rec.History())
			if len(waits) == 0 || stats.Waits != len(waits) {
				t.Fatalf("waits %v (stats %d), want some", waits, stats.Waits)
			}
			longest := time.Duration(0)
			for _, d := range waits {
				longest = max(longest, d)
			}
			// Classify counts Retry-After from the wall clock, which has
			// moved on a little from the test's.
			if want := tt.wantWait(w); longest > want+time.Minute || longest < want-2*time.Second {
				t.Errorf("longest wait %s, want about %s", longest, want)
			}
		})
	}
}

// Errors that waiting cannot fix stop the backfill at once, marked
// permanent; server errors are retried with smaller pages.
func TestBackfillErrors(t *testing.T) {
	t.Run("repository not visible", func(t *testing.T) {
		w := seed(t, 10, 0)
		var waits []time.Duration
		_, err := backfill.Run(context.Background(), w.client(t), "acme/nope", w.since, backfill.NewMemoryRecorder(), w.opts(&waits))
		if err == nil || !dispatch.IsPermanent(err) || !strings.Contains(err.Error(), "Could not resolve to a Repository") {
			t.Errorf("err = %v, want a permanent error naming the repository", err)
		}
		if n := w.srv.CallCount("POST", githubtest.GraphQLTemplate); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
	t.Run("server errors are retried", func(t *testing.T) {
		w := seed(t, 250, 0)
		w.srv.InjectTimes(2, "POST", githubtest.GraphQLTemplate, 502, nil)
		rec := backfill.NewMemoryRecorder()
		var waits []time.Duration
		opts := w.opts(&waits)
		opts.Environments, opts.Releases = nil, false
		stats, err := backfill.Run(context.Background(), w.client(t), repo, w.since, rec, opts)
		if err != nil {
			t.Fatal(err)
		}
		w.want.Deployments = nil
		w.check(t, rec.History())
		if stats.Requests != w.srv.CallCount("POST", githubtest.GraphQLTemplate) {
			t.Errorf("stats counted %d requests, the fake %d", stats.Requests, w.srv.CallCount("POST", githubtest.GraphQLTemplate))
		}
	})
	t.Run("bad repository", func(t *testing.T) {
		for _, r := range []string{"", "acme", "acme/", "/api", "a/b/c"} {
			if _, err := backfill.Run(context.Background(), nil, r, time.Now(), backfill.NewMemoryRecorder(), backfill.Options{}); err == nil {
				t.Errorf("repo %q: no error", r)
			}
		}
	})
}

// The page query's cost, as GitHub computes it (the fake's formula), is
// what PullsPageCost says, far below the node limit.
func TestPullsPageCost(t *testing.T) {
	c := backfill.PullsPageCost(100)
	if c.Points != 5 || !c.WithinLimits() || backfill.PullsPageCost(5000).WithinLimits() {
		t.Errorf("PullsPageCost(100) = %+v", c)
	}
	w := seed(t, 100, 0)
	var waits []time.Duration
	opts := w.opts(&waits)
	opts.Environments, opts.Releases = nil, false
	stats, err := backfill.Run(context.Background(), w.client(t), repo, w.since, backfill.NewMemoryRecorder(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Requests != 1 || stats.Points != c.Points {
		t.Errorf("one page: %d requests, %d points; want 1, %d", stats.Requests, stats.Points, c.Points)
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		in      string
		want    time.Time
		wantErr string
	}{
		{"90d", now.Add(-90 * 24 * time.Hour), ""},
		{"2w", now.Add(-14 * 24 * time.Hour), ""},
		{"36h", now.Add(-36 * time.Hour), ""},
		{"2026-01-31", time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC), ""},
		{" 7d ", now.Add(-7 * 24 * time.Hour), ""},
		{"", time.Time{}, "empty"},
		{"90", time.Time{}, "want a duration"},
		{"90m", time.Time{}, "want a duration"},
		{"d", time.Time{}, "positive whole number"},
		{"-3d", time.Time{}, "positive whole number"},
		{"0d", time.Time{}, "positive whole number"},
		{"1.5d", time.Time{}, "positive whole number"},
		{"+5d", time.Time{}, "positive whole number"},
		{"9999999999999d", time.Time{}, "positive whole number"},
		{"800d", time.Time{}, "two years"},
		{"2027-01-01", time.Time{}, "not in the past"},
		{"2020-01-01", time.Time{}, "two years"},
		{"2026-02-30", time.Time{}, "want a duration"},
	} {
		got, err := backfill.ParseSince(tt.in, now)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("ParseSince(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || !got.Equal(tt.want)):
			t.Errorf("ParseSince(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

// BenchmarkBackfill reads 1,000 pull requests with their reviews from the
// fake GitHub per op, reporting GraphQL requests and rate limit points.
func BenchmarkBackfill(b *testing.B) {
	w := seed(b, 1_000, 10)
	gql := w.client(b)
	var stats backfill.Stats
	b.ResetTimer()
	for range b.N {
		var waits []time.Duration
		o := w.opts(&waits)
		o.Environments, o.Releases = nil, false
		var err error
		stats, err = backfill.Run(context.Background(), gql, repo, w.since, backfill.NewMemoryRecorder(), o)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(stats.Requests), "requests/op")
	b.ReportMetric(float64(stats.Points), "points/op")
}

// An author who posts many reviews of their own (or a bot that does)
// before anyone else reviews cannot hide the review that picked the change
// up: the backfill reads on, for that pull request only, until it finds
// it; within bounds, so that flooded pull requests cannot spend the budget.
func TestBackfillFindsThePickupBehindAFlood(t *testing.T) {
	w := seed(t, 150, 0)
	at := w.clk.Now().Add(-48 * time.Hour)
	var flood []*github.PullRequestReview
	for i := range 130 {
		login := "mallory"
		if i%2 == 1 {
			login = "dependabot[bot]"
		}
		flood = append(flood, review(login, "COMMENTED", at.Add(time.Duration(i)*time.Second)))
	}
	pickup := review("reviewer", "APPROVED", at.Add(time.Hour))
	nums := w.srv.AddPullHistories(repo, []githubtest.PullHistory{{
		Pull: &github.PullRequest{Title: github.String("flooded"), User: &github.User{Login: github.String("mallory")},
			CreatedAt: ts(at.Add(-time.Hour)), UpdatedAt: ts(w.clk.Now().Add(-time.Minute))},
		Reviews: append(flood, pickup),
	}})
	rec := backfill.NewMemoryRecorder()
	var waits []time.Duration
	opts := w.opts(&waits)
	opts.Environments, opts.Releases = nil, false
	stats, err := backfill.Run(context.Background(), w.client(t), repo, w.since, rec, opts)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	n := 0
	for _, rv := range rec.History().Reviews {
		if rv.Number == nums[0] {
			n++
			found = found || rv.Reviewer == "reviewer"
		}
	}
	if !found || n != len(flood)+1 {
		t.Errorf("recorded %d reviews of the flooded pull request, pickup found %v; want %d and the pickup", n, found, len(flood)+1)
	}
	// Two pages of pulls, and two more pages of that PR's reviews
	// (25 + 100 + 6).
	if stats.Requests != 4 {
		t.Errorf("%d requests, want 4", stats.Requests)
	}
}

// When a pull request became ready for review, from its first draft
// event: opened as a draft and made ready later, opened ready and made a
// draft for a while, never a draft, still a draft.
func TestBackfillReadyForReview(t *testing.T) {
	w := seed(t, 0, 0)
	opened := w.clk.Now().Add(-72 * time.Hour)
	ready := opened.Add(5 * time.Hour)
	cases := []struct {
		name   string
		draft  bool
		events []string // timeline events, an hour apart from the opening
		want   time.Time
	}{
		{"opened as a draft", false, []string{"ready_for_review"}, opened.Add(time.Hour)},
		{"made a draft after opening", false, []string{"convert_to_draft", "ready_for_review"}, opened},
		{"never a draft", false, nil, opened},
		{"still a draft", true, nil, time.Time{}},
		{"back to draft", true, []string{"convert_to_draft"}, time.Time{}},
	}
	for _, tt := range cases {
		n := w.srv.AddPullHistories(repo, []githubtest.PullHistory{{Pull: &github.PullRequest{Title: github.String(tt.name),
			CreatedAt: ts(opened), UpdatedAt: ts(ready), Draft: github.Bool(tt.draft)}}})[0]
		for i, ev := range tt.events {
			w.srv.AddTimeline(repo, n, &github.Timeline{Event: github.String(ev), CreatedAt: ts(opened.Add(time.Duration(i+1) * time.Hour))})
		}
	}
	rec := backfill.NewMemoryRecorder()
	var waits []time.Duration
	opts := w.opts(&waits)
	opts.Environments, opts.Releases = nil, false
	if _, err := backfill.Run(context.Background(), w.client(t), repo, w.since, rec, opts); err != nil {
		t.Fatal(err)
	}
	got := map[string]time.Time{}
	for _, p := range rec.History().Pulls {
		got[p.Title] = p.ReadyAt
	}
	for _, tt := range cases {
		if !got[tt.name].Equal(tt.want) {
			t.Errorf("%s: ReadyAt %v, want %v", tt.name, got[tt.name], tt.want)
		}
	}
}
