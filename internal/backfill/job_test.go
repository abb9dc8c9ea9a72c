package backfill_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tasuki-sre/tasuki/internal/backfill"
	"github.com/tasuki-sre/tasuki/internal/githubtest"
	"github.com/tasuki-sre/tasuki/internal/pgtest"
	"github.com/tasuki-sre/tasuki/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func openStore(t *testing.T, url string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), url, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// The backfill runs as a River job on a real SQLite or PostgreSQL store.
// Its workers are stopped half-way, cancelling the running job; new workers
// (a new process, in production) run it again from the cursor it kept: the
// history is complete, each event recorded once, and no page before the
// one that was cut off is read again.
func TestBackfillJobSurvivesAStop(t *testing.T) {
	for _, db := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "tasuki.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.Start(t) }},
	} {
		t.Run(db.name, func(t *testing.T) { testJobSurvivesAStop(t, db.url(t)) })
	}
}

func testJobSurvivesAStop(t *testing.T, url string) {
	const pulls = 1_000
	w := seed(t, pulls, 40)
	w.seedDeployments(150)
	// Unstopped, for the number of requests.
	whole, err := backfill.Run(context.Background(), w.client(t), repo, w.since, backfill.NewMemoryRecorder(), opts2(w))
	if err != nil {
		t.Fatal(err)
	}
	w.srv.ResetCalls()

	ctx := context.Background()
	st := openStore(t, url)
	stopAfter := whole.Pages / 2
	stopped := make(chan struct{})
	var once sync.Once
	job := &backfill.Job{
		GraphQL:  func(context.Context, int64) (backfill.Querier, error) { return w.client(t), nil },
		Recorder: st, Memo: st, Log: quiet,
		Progress: func(_ int64, s backfill.Stats) {
			if s.Pages == stopAfter {
				once.Do(func() { close(stopped) })
			}
		},
	}
	status, created, err := st.EnqueueBackfill(ctx, store.BackfillArgs{Repo: repo, InstallationID: 1, Since: w.since,
		Environments: []string{"production"}})
	if err != nil || !created {
		t.Fatalf("enqueue: %v, created %v", err, created)
	}
	// A second backfill of the same repository while this one is queued
	// is the same job.
	again, created, err := st.EnqueueBackfill(ctx, store.BackfillArgs{Repo: repo, InstallationID: 1, Since: w.since.Add(time.Hour)})
	if err != nil || created || again.ID != status.ID {
		t.Fatalf("second enqueue: %+v, created %v, %v; want job %d again", again, created, err, status.ID)
	}

	opts := store.WorkerOptions{OnlyBackfills: true, Backfill: job, Backoff: func(int) time.Duration { return 10 * time.Millisecond },
		FetchPollInterval: 10 * time.Millisecond}
	workers, err := st.RunWorkers(ctx, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-stopped:
	case <-time.After(time.Minute):
		t.Fatal("the backfill did not get half-way in a minute")
	}
	// Stop with no time to finish: the running job is cancelled.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_ = workers.Stop(cctx)
	mid, err := st.Backfill(ctx, status.ID)
	if err != nil {
		t.Fatal(err)
	}
	if mid.Done() {
		t.Fatalf("job finished before the stop: %+v", mid)
	}
	cur, ok, err := backfill.LoadCursor(ctx, st, status.ID)
	if err != nil || !ok || cur.Stats.Pages < stopAfter {
		t.Fatalf("kept cursor %+v, %v, %v; want at least %d pages", cur, ok, err, stopAfter)
	}
	firstRun := w.srv.CallCount("POST", githubtest.GraphQLTemplate)

	workers, err = st.RunWorkers(ctx, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer workers.Stop(ctx)
	var final store.BackfillStatus
	for deadline := time.Now().Add(time.Minute); ; {
		final, err = st.Backfill(ctx, status.ID)
		if err != nil {
			t.Fatal(err)
		}
		if final.Done() || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !final.Succeeded() {
		t.Fatalf("job after the restart: %+v", final)
	}
	h, err := st.History(ctx, store.HistoryQuery{Repo: repo})
	if err != nil {
		t.Fatal(err)
	}
	w.check(t, h)
	total := w.srv.CallCount("POST", githubtest.GraphQLTemplate)
	// At most the page cut off is read twice.
	if total > whole.Requests+1 || total < whole.Requests {
		t.Errorf("%d requests across the stop (%d before it), %d unstopped: want at most one page read again", total, firstRun, whole.Requests)
	}
	done, _, err := backfill.LoadCursor(ctx, st, status.ID)
	// The counts kept are those of recorded pages: the request cut off by
	// the stop was never kept.
	if err != nil || done.Phase != backfill.PhaseDone || done.Stats.Requests < total-1 || done.Stats.Requests > total || done.Stats.Pulls != pulls {
		t.Errorf("final cursor %+v, %v; want done with %d requests", done, err, total)
	}
	// Once finished, a new backfill of the repository is a new job.
	next, created, err := st.EnqueueBackfill(ctx, store.BackfillArgs{Repo: repo, InstallationID: 1, Since: w.since})
	if err != nil || !created || next.ID == status.ID {
		t.Errorf("enqueue after completion: %+v, created %v, %v", next, created, err)
	}
}

// A rate limit that lasts longer than the job sleeps through snoozes the
// River job until GitHub's reset: no attempt fails, the worker is free
// meanwhile, and the job resumes from its place.
func TestBackfillJobSnoozesForRateLimits(t *testing.T) {
	w := seed(t, 300, 0)
	ctx := context.Background()
	st := openStore(t, "sqlite://"+filepath.Join(t.TempDir(), "tasuki.db"))
	// The second page is refused until two seconds from now.
	var once sync.Once
	job := &backfill.Job{
		GraphQL:  func(context.Context, int64) (backfill.Querier, error) { return w.client(t), nil },
		Recorder: st, Memo: st, Log: quiet, MaxSleep: time.Millisecond,
		Progress: func(_ int64, s backfill.Stats) {
			once.Do(func() { w.srv.InjectGraphQLRateLimit(1, time.Now().Add(2*time.Second)) })
		},
	}
	status, _, err := st.EnqueueBackfill(ctx, store.BackfillArgs{Repo: repo, InstallationID: 1, Since: w.since})
	if err != nil {
		t.Fatal(err)
	}
	workers, err := st.RunWorkers(ctx, nil, store.WorkerOptions{OnlyBackfills: true, Backfill: job, FetchPollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer workers.Stop(ctx)
	var snoozed bool
	var final store.BackfillStatus
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		final, err = st.Backfill(ctx, status.ID)
		if err != nil {
			t.Fatal(err)
		}
		snoozed = snoozed || !final.Done() && final.ScheduledAt.After(time.Now())
		if final.Done() {
			break
		}
	}
	if !final.Succeeded() || len(final.Errors) != 0 || !snoozed {
		t.Fatalf("job %+v (snoozed %v); want it snoozed, then done with no failed attempt", final, snoozed)
	}
	h, err := st.History(ctx, store.HistoryQuery{Repo: repo})
	if err != nil {
		t.Fatal(err)
	}
	w.want.Deployments = nil
	w.check(t, h)
	if n := w.srv.CallCount("POST", githubtest.GraphQLTemplate); n != 300/100+1 {
		t.Errorf("%d requests, want 3 pages and the refused one", n)
	}
}
