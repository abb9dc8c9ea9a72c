package store_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/ghwrite"
	"github.com/tasuki-sre/tasuki/internal/metrics"
	"github.com/tasuki-sre/tasuki/internal/pgtest"
	"github.com/tasuki-sre/tasuki/internal/store"
	"github.com/tasuki-sre/tasuki/internal/testenv"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// backend names a database the tests run on; url returns a fresh one.
type backend struct {
	name string
	url  func(t testing.TB) string
}

var backends = []backend{
	{"sqlite", func(t testing.TB) string { return "sqlite://" + filepath.Join(t.TempDir(), "tasuki.db") }},
	{"postgres", func(t testing.TB) string { return pgtest.Start(t) }},
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func open(t testing.TB, url string, opts ...store.Option) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), url, testLogger(t), opts...)
	if err != nil {
		t.Fatalf("Open(%s): %v", url, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func runWorkers(t testing.TB, s *store.Store, d store.Dispatcher, opts store.WorkerOptions) *store.Workers {
	t.Helper()
	if opts.FetchPollInterval == 0 {
		// PostgreSQL's default 1s poll makes retries (which send no
		// notification) wait up to a second; tests need not.
		opts.FetchPollInterval = 50 * time.Millisecond
	}
	w, err := s.RunWorkers(context.Background(), d, opts)
	if err != nil {
		t.Fatalf("RunWorkers: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := w.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return w
}

// fixtures returns real webhook deliveries from the shared fixtures, with
// event, action, installation and repository taken as the intake does.
func fixtures(t testing.TB) []dispatch.Delivery {
	t.Helper()
	dir := testenv.Fixtures(t, "webhooks")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no webhook fixtures in %s (%v)", dir, err)
	}
	sort.Strings(files)
	var out []dispatch.Delivery
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var p struct {
			Action       string `json:"action"`
			Installation struct {
				ID int64 `json:"id"`
			} `json:"installation"`
			Repository struct {
				FullName string `json:"full_name"`
			} `json:"repository"`
		}
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatalf("decode %s: %v", f, err)
		}
		base := filepath.Base(f)
		out = append(out, dispatch.Delivery{
			ID:             "fixture-" + strings.TrimSuffix(base, ".json"),
			Event:          strings.SplitN(base, ".", 2)[0],
			Action:         p.Action,
			InstallationID: p.Installation.ID,
			Repository:     p.Repository.FullName,
			Payload:        b,
		})
	}
	return out
}

func fixture(t testing.TB, name string) dispatch.Delivery {
	t.Helper()
	for _, d := range fixtures(t) {
		if d.ID == "fixture-"+name {
			return d
		}
	}
	t.Fatalf("fixture %s not found", name)
	return dispatch.Delivery{}
}

// recorder is a Dispatcher that records what it was given and answers
// with fn (nil: success).
type recorder struct {
	mu    sync.Mutex
	calls map[string]int
	got   map[string]dispatch.Delivery
	times map[string][]time.Time
	fn    func(d dispatch.Delivery, call int) error
}

func newRecorder(fn func(d dispatch.Delivery, call int) error) *recorder {
	return &recorder{calls: map[string]int{}, got: map[string]dispatch.Delivery{}, times: map[string][]time.Time{}, fn: fn}
}

func (r *recorder) Dispatch(_ context.Context, d dispatch.Delivery) error {
	r.mu.Lock()
	r.calls[d.ID]++
	n := r.calls[d.ID]
	r.got[d.ID] = d
	r.times[d.ID] = append(r.times[d.ID], time.Now())
	r.mu.Unlock()
	if r.fn == nil {
		return nil
	}
	return r.fn(d, n)
}

func (r *recorder) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[id]
}

// waitState polls until delivery id is in state want, and returns its row.
func waitState(t testing.TB, s *store.Store, id, want string) store.DeliveryRow {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last store.DeliveryRow
	for time.Now().Before(deadline) {
		rows, err := s.ListDeliveries(context.Background(), store.ListFilter{Limit: 1000})
		if err != nil {
			t.Fatalf("ListDeliveries: %v", err)
		}
		for _, r := range rows {
			if r.ID == id {
				last = r
				if r.State == want {
					return r
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("delivery %s did not reach state %s; last seen %+v", id, want, last)
	return last
}

func TestEnqueueStoresOnceAndLists(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t, be.url(t))
			d := fixture(t, "pull_request.opened.1")
			before := time.Now().Add(-time.Second)

			created, err := s.Enqueue(ctx, d)
			if err != nil || !created {
				t.Fatalf("first Enqueue = %v, %v; want created", created, err)
			}
			created, err = s.Enqueue(ctx, d)
			if err != nil || created {
				t.Fatalf("repeated Enqueue = %v, %v; want not created, no error", created, err)
			}
			for id, want := range map[string]bool{d.ID: true, "never-sent": false} {
				has, err := s.HasDelivery(ctx, id)
				if err != nil || has != want {
					t.Errorf("HasDelivery(%s) = %v, %v; want %v", id, has, err, want)
				}
			}
			rows, err := s.ListDeliveries(ctx, store.ListFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 1 {
				t.Fatalf("ListDeliveries returned %d rows, want 1 (a repeated ID must not make a second job): %+v", len(rows), rows)
			}
			got := rows[0]
			if got.ReceivedAt.Before(before) || got.UpdatedAt.Before(before) {
				t.Errorf("times %v / %v are before the enqueue at %v", got.ReceivedAt, got.UpdatedAt, before)
			}
			got.ReceivedAt, got.UpdatedAt = time.Time{}, time.Time{}
			want := store.DeliveryRow{ID: d.ID, Event: "pull_request", Action: "opened", Repository: d.Repository, State: "pending"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ListDeliveries row (-want +got):\n%s", diff)
			}
			if d.Repository == "" {
				t.Errorf("fixture has no repository; the test would not check it")
			}
			for _, st := range []string{"running", "done", "failed"} {
				rows, err := s.ListDeliveries(ctx, store.ListFilter{State: st})
				if err != nil || len(rows) != 0 {
					t.Errorf("ListDeliveries(state %s) = %d rows, %v; want none", st, len(rows), err)
				}
			}
		})
	}
}

func TestEnqueueRejectsBadInput(t *testing.T) {
	s := open(t, backends[0].url(t))
	ctx := context.Background()
	tests := []struct {
		name string
		d    dispatch.Delivery
		want string
	}{
		{"no id", dispatch.Delivery{Event: "push"}, "enqueue delivery: empty delivery ID"},
		{"no event", dispatch.Delivery{ID: "abc"}, "enqueue delivery abc: empty event name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Enqueue(ctx, tt.d)
			if err == nil || err.Error() != tt.want {
				t.Errorf("Enqueue error = %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := s.ListDeliveries(ctx, store.ListFilter{State: "stuck"}); err == nil || !strings.Contains(err.Error(), `unknown state "stuck"`) {
		t.Errorf("ListDeliveries(state stuck) error = %v, want one naming the state", err)
	}
	err := s.RetryDelivery(ctx, "no-such-delivery")
	if !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "no-such-delivery") {
		t.Errorf("RetryDelivery(unknown) = %v, want ErrNotFound naming the ID", err)
	}
}

func TestOpenRejectsBadURLs(t *testing.T) {
	tests := []struct {
		url, want string
	}{
		{"mysql://root:hunter2@db/tasuki", `unsupported URL scheme "mysql"`},
		{"host=db password=hunter2", `unsupported URL scheme ""`},
		{"sqlite://", "no file path after sqlite://"},
		{"sqlite://a.db?mode=ro", "may not contain '?' or '#'"},
		{"postgres://u:hunter2@127.0.0.1:1/db?connect_timeout=1", "postgres://u:xxxxx@127.0.0.1:1/db"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			_, err := store.Open(context.Background(), tt.url, testLogger(t))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open(%s) error = %v, want it to contain %q", tt.url, err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error leaks the password: %v", err)
			}
		})
	}
}

// Many concurrent callers on two Stores (two replicas, or the server and the
// CLI), each ID sent twice: every ID is stored exactly once, exactly one of
// its two callers is told it was created, and it is dispatched exactly once.
func TestEnqueueConcurrent(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			url := be.url(t)
			stores := []*store.Store{open(t, url), open(t, url)}
			s := stores[0]
			const ids, callers = 300, 40
			var createdN [ids]atomic.Int32
			var wg sync.WaitGroup
			errs := make(chan error, 2*ids)
			for c := range callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := c; i < 2*ids; i += callers {
						id := i % ids
						created, err := stores[(i/ids+c)%2].Enqueue(ctx, dispatch.Delivery{
							ID: fmt.Sprintf("d-%03d", id), Event: "issues", Action: "labeled",
							Payload: json.RawMessage(fmt.Sprintf(`{"n":%d}`, id)),
						})
						if err != nil {
							errs <- err
							continue
						}
						if created {
							createdN[id].Add(1)
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Errorf("Enqueue: %v", err)
			}
			for id := range ids {
				if n := createdN[id].Load(); n != 1 {
					t.Errorf("delivery d-%03d: %d callers were told created, want exactly 1", id, n)
				}
			}
			rows, err := s.ListDeliveries(ctx, store.ListFilter{Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]int{}
			for _, r := range rows {
				seen[r.ID]++
			}
			if len(rows) != ids || len(seen) != ids {
				t.Errorf("stored %d jobs for %d distinct deliveries, want %d of each", len(rows), len(seen), ids)
			}
			rec := newRecorder(nil)
			runWorkers(t, s, rec, store.WorkerOptions{Concurrency: 20})
			for id := range ids {
				waitState(t, s, fmt.Sprintf("d-%03d", id), "done")
			}
			time.Sleep(100 * time.Millisecond) // time for a stray second job to run, were there one
			for id := range ids {
				if n := rec.count(fmt.Sprintf("d-%03d", id)); n != 1 {
					t.Errorf("d-%03d dispatched %d times, want 1", id, n)
				}
			}
		})
	}
}

func TestWorkersDispatchStoredDelivery(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			m := metrics.New()
			s := open(t, be.url(t), store.WithMetrics(m))
			all := fixtures(t)
			rec := newRecorder(nil)
			runWorkers(t, s, rec, store.WorkerOptions{Concurrency: 4})
			for _, d := range all[:20] {
				if _, err := s.Enqueue(ctx, d); err != nil {
					t.Fatal(err)
				}
			}
			for _, d := range all[:20] {
				row := waitState(t, s, d.ID, "done")
				if row.Attempts != 1 || row.LastError != "" {
					t.Errorf("%s: attempts %d, last error %q; want 1 attempt, no error", d.ID, row.Attempts, row.LastError)
				}
				rec.mu.Lock()
				got := rec.got[d.ID]
				rec.mu.Unlock()
				if diff := cmp.Diff(d, got); diff != "" {
					t.Errorf("%s: dispatched delivery differs from the enqueued one (-want +got):\n%s", d.ID, diff)
				}
				if n := rec.count(d.ID); n != 1 {
					t.Errorf("%s dispatched %d times, want 1", d.ID, n)
				}
			}
			if got := counter(t, m, "tasuki_jobs_total", map[string]string{"event": all[0].Event, "outcome": "done"}); got < 1 {
				t.Errorf("tasuki_jobs_total{outcome=done} = %v, want at least 1", got)
			}
		})
	}
}

func counter(t testing.TB, m *metrics.Metrics, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, mt := range mf.GetMetric() {
			for _, lp := range mt.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue next
				}
			}
			sum += mt.GetCounter().GetValue()
		}
	}
	return sum
}

// A handler that keeps failing ends failed after MaxAttempts with its last
// error visible; RetryDelivery runs it again.
func TestFailingDeliveryFailsThenRetries(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t, be.url(t))
			var healthy atomic.Bool
			rec := newRecorder(func(d dispatch.Delivery, call int) error {
				if healthy.Load() {
					return nil
				}
				return fmt.Errorf("GitHub answered 502 on call %d", call)
			})
			runWorkers(t, s, rec, store.WorkerOptions{MaxAttempts: 3, Backoff: func(int) time.Duration { return 10 * time.Millisecond }})
			d := fixture(t, "issues.labeled.1")
			if _, err := s.Enqueue(ctx, d); err != nil {
				t.Fatal(err)
			}
			row := waitState(t, s, d.ID, "failed")
			if row.Attempts != 3 || row.LastError != "GitHub answered 502 on call 3" {
				t.Errorf("failed row: attempts %d, last error %q; want 3 attempts and the third call's error", row.Attempts, row.LastError)
			}
			if n := rec.count(d.ID); n != 3 {
				t.Errorf("dispatched %d times, want 3", n)
			}
			if rows, _ := s.ListDeliveries(ctx, store.ListFilter{State: "failed"}); len(rows) != 1 || rows[0].ID != d.ID {
				t.Errorf("ListDeliveries(failed) = %+v, want just %s", rows, d.ID)
			}

			healthy.Store(true)
			if err := s.RetryDelivery(ctx, d.ID); err != nil {
				t.Fatalf("RetryDelivery: %v", err)
			}
			waitState(t, s, d.ID, "done")
			if n := rec.count(d.ID); n != 4 {
				t.Errorf("dispatched %d times after retry, want 4", n)
			}
			// A done delivery can be run again too (e.g. after fixing config).
			if err := s.RetryDelivery(ctx, d.ID); err != nil {
				t.Fatalf("RetryDelivery(done): %v", err)
			}
			for deadline := time.Now().Add(30 * time.Second); rec.count(d.ID) < 5 && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
			}
			waitState(t, s, d.ID, "done")
			if n := rec.count(d.ID); n != 5 {
				t.Errorf("dispatched %d times after retrying a done delivery, want 5", n)
			}
		})
	}
}

// An error asking to be tried later (dispatch.RetryAt, as ghclient.Wrap
// marks GitHub's rate limits) anywhere in the error chain makes the job wait
// without spending an attempt.
func TestRateLimitSnoozes(t *testing.T) {
	limits := []struct {
		name string
		err  func() error
	}{
		{"marked", func() error {
			return dispatch.RetryLater(errors.New("GET /repos/acme/api/pulls/1/reviews: 403 API rate limit exceeded"), time.Now().Add(500*time.Millisecond))
		}},
		{"own type", func() error { return retryAtError{time.Now().Add(500 * time.Millisecond)} }},
	}
	for _, be := range backends {
		for _, lim := range limits {
			t.Run(be.name+"/"+lim.name, func(t *testing.T) {
				ctx := context.Background()
				s := open(t, be.url(t))
				rec := newRecorder(func(d dispatch.Delivery, call int) error {
					if call <= 2 {
						// Wrapped twice, as the router and a handler would.
						return errors.Join(fmt.Errorf("*handler.Review: %w", fmt.Errorf("list reviews: %w", lim.err())))
					}
					return nil
				})
				// MaxAttempts 1: a rate limit that spent an attempt would fail the job.
				runWorkers(t, s, rec, store.WorkerOptions{MaxAttempts: 1})
				d := fixture(t, "pull_request.opened.2")
				if _, err := s.Enqueue(ctx, d); err != nil {
					t.Fatal(err)
				}
				row := waitState(t, s, d.ID, "done")
				if row.Attempts != 1 {
					t.Errorf("attempts = %d after two rate-limited runs and one success, want 1", row.Attempts)
				}
				if n := rec.count(d.ID); n != 3 {
					t.Errorf("dispatched %d times, want 3", n)
				}
				rec.mu.Lock()
				times := rec.times[d.ID]
				rec.mu.Unlock()
				if gap := times[2].Sub(times[0]); gap < time.Second {
					t.Errorf("ran again %v after the first rate limit; want it to wait for the reset twice", gap)
				}
			})
		}
	}
}

// retryAtError is a rate limit of another package, recognised by its RetryAt
// method alone.
type retryAtError struct{ at time.Time }

func (e retryAtError) Error() string      { return "secondary rate limit" }
func (e retryAtError) RetryAt() time.Time { return e.at }

// A panicking handler does not take the worker down; the panic is recorded
// as the attempt's error and the delivery runs again.
func TestPanicIsRecordedAndRetried(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t, be.url(t))
			rec := newRecorder(func(d dispatch.Delivery, call int) error {
				if d.ID == "boom" {
					panic("nil map in handler")
				}
				return nil
			})
			runWorkers(t, s, rec, store.WorkerOptions{MaxAttempts: 2, Backoff: func(int) time.Duration { return 10 * time.Millisecond }})
			for _, id := range []string{"boom", "fine"} {
				if _, err := s.Enqueue(ctx, dispatch.Delivery{ID: id, Event: "issues", Payload: json.RawMessage(`{}`)}); err != nil {
					t.Fatal(err)
				}
			}
			row := waitState(t, s, "boom", "failed")
			if row.Attempts != 2 || !strings.Contains(row.LastError, "nil map in handler") {
				t.Errorf("panicking delivery: attempts %d, last error %q; want 2 attempts and the panic value", row.Attempts, row.LastError)
			}
			waitState(t, s, "fine", "done")
		})
	}
}

func TestMemoRoundTrip(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			url := be.url(t)
			s := open(t, url)
			if _, ok, err := s.Get(ctx, "comment:o/r#1"); ok || err != nil {
				t.Fatalf("Get(missing) = ok %v, err %v; want not found, no error", ok, err)
			}
			for _, v := range []string{"123", "456"} {
				if err := s.Put(ctx, "comment:o/r#1", v); err != nil {
					t.Fatal(err)
				}
				got, ok, err := s.Get(ctx, "comment:o/r#1")
				if err != nil || !ok || got != v {
					t.Errorf("Get after Put(%s) = %q, %v, %v", v, got, ok, err)
				}
			}
			// Another process on the same database sees it.
			other := open(t, url)
			if got, ok, err := other.Get(ctx, "comment:o/r#1"); err != nil || !ok || got != "456" {
				t.Errorf("second Store Get = %q, %v, %v; want 456", got, ok, err)
			}
		})
	}
}

// Two Stores on one database stand for two replicas (or the server and the
// CLI on one SQLite file): WithLock on one key never has two holders.
func TestWithLockExcludesAcrossStores(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			url := be.url(t)
			stores := []*store.Store{open(t, url), open(t, url)}
			var holders, maxHolders, total atomic.Int32
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 5 {
						err := stores[i%2].WithLock(ctx, "postmortem:o/r#7", func(ctx context.Context) error {
							n := holders.Add(1)
							for {
								m := maxHolders.Load()
								if n <= m || maxHolders.CompareAndSwap(m, n) {
									break
								}
							}
							time.Sleep(2 * time.Millisecond)
							total.Add(1)
							holders.Add(-1)
							return nil
						})
						if err != nil {
							t.Errorf("WithLock: %v", err)
						}
					}
				}()
			}
			wg.Wait()
			if maxHolders.Load() != 1 || total.Load() != 40 {
				t.Errorf("max concurrent holders %d over %d runs; want 1 over 40", maxHolders.Load(), total.Load())
			}

			// A waiter gives up when its context ends, and fn's error comes back.
			held := make(chan struct{})
			release := make(chan struct{})
			go stores[0].WithLock(ctx, "k", func(context.Context) error { close(held); <-release; return nil })
			<-held
			wctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
			err := stores[1].WithLock(wctx, "k", func(context.Context) error { t.Error("ran while another held the lock"); return nil })
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("waiting WithLock = %v, want deadline exceeded", err)
			}
			close(release)
			boom := errors.New("boom")
			if err := stores[1].WithLock(ctx, "k", func(context.Context) error { return boom }); !errors.Is(err, boom) {
				t.Errorf("WithLock returned %v, want fn's error", err)
			}
		})
	}
}

// Deliveries stored but not yet processed when the process stops are
// processed after a restart.
func TestReopenedSQLiteProcessesPending(t *testing.T) {
	ctx := context.Background()
	url := backends[0].url(t)
	s, err := store.Open(ctx, url, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	all := fixtures(t)[:5]
	for _, d := range all {
		if _, err := s.Enqueue(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, url)
	rec := newRecorder(nil)
	runWorkers(t, s, rec, store.WorkerOptions{})
	for _, d := range all {
		waitState(t, s, d.ID, "done")
		if n := rec.count(d.ID); n != 1 {
			t.Errorf("%s dispatched %d times after restart, want 1", d.ID, n)
		}
	}
}

// Two replicas on one PostgreSQL both work the queue; no delivery is
// dispatched twice.
func TestTwoReplicasShareTheQueue(t *testing.T) {
	ctx := context.Background()
	url := pgtest.Start(t)
	a, b := open(t, url), open(t, url)
	var mu sync.Mutex
	calls := map[string]int{}
	by := map[int]int{}
	mk := func(replica int) store.Dispatcher {
		return dispatchFunc(func(_ context.Context, d dispatch.Delivery) error {
			mu.Lock()
			calls[d.ID]++
			by[replica]++
			mu.Unlock()
			time.Sleep(time.Millisecond) // a little work, so both replicas get some
			return nil
		})
	}
	runWorkers(t, a, mk(0), store.WorkerOptions{Concurrency: 4, FetchCooldown: 5 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond})
	runWorkers(t, b, mk(1), store.WorkerOptions{Concurrency: 4, FetchCooldown: 5 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond})
	const n = 500
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := a
			if i%2 == 1 {
				s = b
			}
			if _, err := s.Enqueue(ctx, dispatch.Delivery{ID: fmt.Sprintf("r-%03d", i), Event: "push", Payload: json.RawMessage(`{}`)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		rows, err := a.ListDeliveries(ctx, store.ListFilter{State: "done", Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) == n {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != n {
		t.Fatalf("%d of %d deliveries dispatched", len(calls), n)
	}
	for id, c := range calls {
		if c != 1 {
			t.Errorf("%s dispatched %d times, want once", id, c)
		}
	}
	t.Logf("replica 0 handled %d, replica 1 handled %d", by[0], by[1])
	if by[0] == 0 || by[1] == 0 {
		t.Errorf("one replica did all the work (%v); both should take jobs", by)
	}
}

type dispatchFunc func(ctx context.Context, d dispatch.Delivery) error

func (f dispatchFunc) Dispatch(ctx context.Context, d dispatch.Delivery) error { return f(ctx, d) }

// A periodic job runs once per interval across two replicas, not once per
// replica.
func TestPeriodicRunsOncePerIntervalAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	url := pgtest.Start(t)
	a, b := open(t, url), open(t, url)
	var mu sync.Mutex
	var runs []time.Time
	job := store.PeriodicJob{Name: "leadtime-rollup", Interval: time.Second, Run: func(context.Context) error {
		mu.Lock()
		runs = append(runs, time.Now())
		mu.Unlock()
		return nil
	}}
	start := time.Now()
	wa := runWorkers(t, a, newRecorder(nil), store.WorkerOptions{Periodic: []store.PeriodicJob{job}})
	wb := runWorkers(t, b, newRecorder(nil), store.WorkerOptions{Periodic: []store.PeriodicJob{job}})
	// Wait for a few runs; electing a leader can take seconds on a busy machine.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		mu.Lock()
		n := len(runs)
		mu.Unlock()
		if n >= 3 {
			break
		}
	}
	time.Sleep(1500 * time.Millisecond) // room for a second replica's extra run, were there one
	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_ = wa.Stop(stopCtx)
	_ = wb.Stop(stopCtx)
	elapsed := time.Since(start)

	mu.Lock()
	defer mu.Unlock()
	if len(runs) < 3 {
		t.Fatalf("periodic job ran %d times in %v, want at least 3", len(runs), elapsed)
	}
	// A window of length L touches at most ceil(L)+1 one-second periods.
	maxRuns := int(elapsed/time.Second) + 2
	if len(runs) > maxRuns {
		t.Errorf("periodic job ran %d times in %v with two replicas, want at most %d (once per interval)", len(runs), elapsed, maxRuns)
	}
	t.Logf("%d runs in %v", len(runs), elapsed)
}

// Stop lets running handlers finish within its deadline; past the deadline
// it cancels them, and the delivery runs again later.
func TestStopFinishesOrCancelsInFlight(t *testing.T) {
	tests := []struct {
		name      string
		work      time.Duration // how long the handler runs unless cancelled
		deadline  time.Duration // Stop's deadline
		wantErr   bool
		wantState string
	}{
		{"finishes within deadline", 300 * time.Millisecond, 10 * time.Second, false, "done"},
		{"cancelled past deadline", time.Hour, 300 * time.Millisecond, true, "pending"},
	}
	for _, be := range backends {
		for _, tt := range tests {
			t.Run(be.name+"/"+tt.name, func(t *testing.T) {
				ctx := context.Background()
				s := open(t, be.url(t))
				started := make(chan struct{})
				var cancelled atomic.Bool
				w, err := s.RunWorkers(ctx, dispatchFunc(func(ctx context.Context, d dispatch.Delivery) error {
					close(started)
					select {
					case <-time.After(tt.work):
						return nil
					case <-ctx.Done():
						cancelled.Store(true)
						return ctx.Err()
					}
				}), store.WorkerOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := s.Enqueue(ctx, dispatch.Delivery{ID: "slow", Event: "push", Payload: json.RawMessage(`{}`)}); err != nil {
					t.Fatal(err)
				}
				<-started
				sctx, cancel := context.WithTimeout(ctx, tt.deadline)
				defer cancel()
				err = w.Stop(sctx)
				if (err != nil) != tt.wantErr {
					t.Errorf("Stop = %v, want error %v", err, tt.wantErr)
				}
				if cancelled.Load() != tt.wantErr {
					t.Errorf("handler cancelled = %v, want %v", cancelled.Load(), tt.wantErr)
				}
				rows, err := s.ListDeliveries(ctx, store.ListFilter{})
				if err != nil || len(rows) != 1 {
					t.Fatalf("ListDeliveries = %+v, %v", rows, err)
				}
				if rows[0].State != tt.wantState {
					t.Errorf("state after Stop = %s, want %s", rows[0].State, tt.wantState)
				}
			})
		}
	}
}

// A delivery that cannot be stored (PostgreSQL rejects NUL bytes in text)
// fails alone; the deliveries batched with it are stored.
func TestBadDeliveryDoesNotFailItsBatch(t *testing.T) {
	ctx := context.Background()
	s := open(t, pgtest.Start(t), store.WithBatching(50*time.Millisecond, 64))
	var wg sync.WaitGroup
	results := make([]error, 10)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			payload := json.RawMessage(`{"ok":true}`)
			if i == 3 {
				payload = json.RawMessage("{\"bad\":\"\x00\"}")
			}
			_, results[i] = s.Enqueue(ctx, dispatch.Delivery{ID: fmt.Sprintf("b-%d", i), Event: "push", Payload: payload})
		}()
	}
	wg.Wait()
	for i, err := range results {
		if (err != nil) != (i == 3) {
			t.Errorf("delivery b-%d: Enqueue error = %v; want an error only for b-3", i, err)
		}
	}
	if results[3] != nil && !strings.Contains(results[3].Error(), "b-3") {
		t.Errorf("error %q does not name the delivery", results[3])
	}
	rows, _ := s.ListDeliveries(ctx, store.ListFilter{})
	if len(rows) != 9 {
		t.Errorf("%d deliveries stored, want 9", len(rows))
	}
}

// A worker process killed mid-delivery leaves it running in the SQLite file;
// the next process runs it again at once.
func TestKilledWorkerDeliveryRunsAfterRestart(t *testing.T) {
	if url := os.Getenv("TASUKI_STORE_CRASH_CHILD"); url != "" {
		crashChild(url)
		return
	}
	ctx := context.Background()
	url := backends[0].url(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledWorkerDeliveryRunsAfterRestart$")
	cmd.Env = append(os.Environ(), "TASUKI_STORE_CRASH_CHILD="+url)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "handling\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child said %q, %v; want handling", line, err)
	}
	cmd.Process.Kill() // SIGKILL: no cleanup, as in a crash or OOM kill
	cmd.Wait()

	s := open(t, url)
	rows, err := s.ListDeliveries(ctx, store.ListFilter{})
	if err != nil || len(rows) != 1 || rows[0].State != "running" {
		t.Fatalf("after the kill: %+v, %v; want one running delivery", rows, err)
	}
	rec := newRecorder(nil)
	runWorkers(t, s, rec, store.WorkerOptions{})
	row := waitState(t, s, "crash-1", "done")
	if row.Attempts != 2 {
		t.Errorf("attempts = %d, want 2 (the killed one counts)", row.Attempts)
	}
}

func crashChild(url string) {
	ctx := context.Background()
	s, err := store.Open(ctx, url, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if _, err := s.Enqueue(ctx, dispatch.Delivery{ID: "crash-1", Event: "issues", Payload: json.RawMessage(`{}`)}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	_, err = s.RunWorkers(ctx, dispatchFunc(func(ctx context.Context, d dispatch.Delivery) error {
		fmt.Println("handling")
		select {} // until killed
	}), store.WorkerOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	select {}
}

func TestMigrateAndCheckSchema(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			url := be.url(t)
			s := open(t, url, store.WithoutMigrate())
			if err := s.CheckSchema(ctx); err == nil || !strings.Contains(err.Error(), "run `app migrate` first") {
				t.Fatalf("CheckSchema on an empty database = %v, want advice to migrate", err)
			}
			for range 2 { // Migrate is idempotent
				if err := s.Migrate(ctx); err != nil {
					t.Fatalf("Migrate: %v", err)
				}
			}
			if err := s.CheckSchema(ctx); err != nil {
				t.Errorf("CheckSchema after Migrate = %v", err)
			}
			if _, err := s.Enqueue(ctx, dispatch.Delivery{ID: "x", Event: "push"}); err != nil {
				t.Errorf("Enqueue after migrating = %v", err)
			}
		})
	}
}

// QueueDepth follows the deliveries waiting or running.
func TestQueueDepthMetric(t *testing.T) {
	ctx := context.Background()
	m := metrics.New()
	s := open(t, backends[0].url(t), store.WithMetrics(m))
	release := make(chan struct{})
	runWorkers(t, s, dispatchFunc(func(ctx context.Context, d dispatch.Delivery) error {
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}), store.WorkerOptions{Concurrency: 2, DepthInterval: 20 * time.Millisecond})
	for i := range 5 {
		if _, err := s.Enqueue(ctx, dispatch.Delivery{ID: fmt.Sprintf("q-%d", i), Event: "push"}); err != nil {
			t.Fatal(err)
		}
	}
	waitGauge(t, m, 5)
	close(release)
	waitGauge(t, m, 0)
}

func waitGauge(t *testing.T, m *metrics.Metrics, want float64) {
	t.Helper()
	var got float64
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		mfs, err := m.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "tasuki_queue_depth" {
				got = mf.GetMetric()[0].GetGauge().GetValue()
			}
		}
		if got == want {
			return
		}
	}
	t.Fatalf("tasuki_queue_depth = %v, want %v", got, want)
}

// An in-memory SQLite database works for one process (tests, dry runs).
func TestInMemorySQLite(t *testing.T) {
	ctx := context.Background()
	s := open(t, "sqlite::memory:")
	rec := newRecorder(nil)
	runWorkers(t, s, rec, store.WorkerOptions{})
	d := fixture(t, "issues.labeled.2")
	if _, err := s.Enqueue(ctx, d); err != nil {
		t.Fatal(err)
	}
	waitState(t, s, d.ID, "done")
	if err := s.WithLock(ctx, "k", func(ctx context.Context) error { return s.Put(ctx, "k", "v") }); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := s.Get(ctx, "k"); v != "v" || !ok || err != nil {
		t.Errorf("Get = %q, %v, %v", v, ok, err)
	}
}

// The Store is the writer's (and handlers') Locker and Memo, and the Router
// its Dispatcher.
var (
	_ ghwrite.Locker   = (*store.Store)(nil)
	_ ghwrite.Memo     = (*store.Store)(nil)
	_ store.Dispatcher = (*dispatch.Router)(nil)
)

// GitHub caps payloads at 25 MB; such a delivery is stored and handed to the
// handler byte for byte.
func TestLargePayloadRoundTrip(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t, be.url(t))
			big := make([]byte, 0, 25<<20)
			big = append(big, `{"body":"`...)
			for len(big) < 25<<20-2 {
				big = append(big, "ünïcødé ✓ "...)
			}
			big = append(big, `"}`...)
			d := dispatch.Delivery{ID: "big", Event: "issue_comment", Action: "created", Payload: big}
			if _, err := s.Enqueue(ctx, d); err != nil {
				t.Fatal(err)
			}
			rec := newRecorder(nil)
			runWorkers(t, s, rec, store.WorkerOptions{})
			waitState(t, s, "big", "done")
			rec.mu.Lock()
			got := rec.got["big"].Payload
			rec.mu.Unlock()
			if string(got) != string(big) {
				t.Errorf("payload of %d bytes came back as %d bytes, or changed", len(big), len(got))
			}
		})
	}
}

// A second process starting workers on the same SQLite file (a restart that
// overlaps the old process) does not take over deliveries the first is still
// running.
func TestSecondSQLiteWorkerLeavesLiveRunningDeliveries(t *testing.T) {
	ctx := context.Background()
	url := backends[0].url(t)
	a, b := open(t, url), open(t, url)
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	recA := newRecorder(func(d dispatch.Delivery, call int) error {
		started <- struct{}{}
		<-release
		return nil
	})
	runWorkers(t, a, recA, store.WorkerOptions{})
	if _, err := a.Enqueue(ctx, dispatch.Delivery{ID: "long", Event: "push", Payload: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}
	<-started
	recB := newRecorder(nil)
	runWorkers(t, b, recB, store.WorkerOptions{})
	time.Sleep(300 * time.Millisecond) // time for B to pick up the delivery, were it requeued
	if n := recB.count("long"); n != 0 {
		t.Errorf("second process ran a delivery the first was still running (%d times)", n)
	}
	close(release)
	row := waitState(t, a, "long", "done")
	if row.Attempts != 1 || recA.count("long") != 1 {
		t.Errorf("attempts %d, first process ran it %d times; want 1 and 1", row.Attempts, recA.count("long"))
	}
}

// TestNestedLocksDoNotExhaustThePool: the writer locks each artefact inside
// a handler's lock. With 40 workers all holding a handler lock at once (more
// than the lock pool's 32 connections) and then taking a lock of their own,
// every nested lock must still be taken: on the outer lock's session, not
// on a second connection that none of them would ever get.
func TestNestedLocksDoNotExhaustThePool(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			s := open(t, be.url(t))
			const workers = 40
			var inside, done atomic.Int32
			var wg sync.WaitGroup
			for i := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					err := s.WithLock(ctx, fmt.Sprintf("handler:%d", i), func(ctx context.Context) error {
						// Wait until as many outer locks are held as can be
						// (the pool's size), so that nested locks would find
						// no free connection.
						inside.Add(1)
						for deadline := time.Now().Add(2 * time.Second); inside.Load() < 32 && time.Now().Before(deadline); {
							time.Sleep(5 * time.Millisecond)
						}
						return s.WithLock(ctx, fmt.Sprintf("artefact:%d", i), func(context.Context) error {
							done.Add(1)
							return nil
						})
					})
					if err != nil {
						t.Errorf("nested WithLock: %v", err)
					}
				}()
			}
			wg.Wait()
			if done.Load() != workers {
				t.Errorf("%d of %d nested locks taken", done.Load(), workers)
			}
		})
	}
}

func TestListDeliveriesPages(t *testing.T) {
	ctx := context.Background()
	s := open(t, "sqlite://"+filepath.Join(t.TempDir(), "tasuki.db"))
	var want []string
	for i := range 7 {
		id := fmt.Sprintf("p-%d", i)
		if _, err := s.Enqueue(ctx, dispatch.Delivery{ID: id, Event: "push", Payload: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
		want = append([]string{id}, want...) // newest first
	}
	var got, cursors []string
	f := store.ListFilter{Limit: 3}
	for range 10 {
		p, err := s.ListDeliveriesPage(ctx, f)
		if err != nil {
			t.Fatalf("ListDeliveriesPage(%+v): %v", f, err)
		}
		for _, r := range p.Rows {
			got = append(got, r.ID)
		}
		if p.Next == "" {
			break
		}
		cursors = append(cursors, p.Next)
		f.Cursor = p.Next
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pages of 3 (-want +got):\n%s", diff)
	}
	if len(cursors) != 2 {
		t.Errorf("cursors %v: want 2 (pages of 3, 3 and 1; the last has none)", cursors)
	}
	if p, err := s.ListDeliveriesPage(ctx, store.ListFilter{Limit: 7}); err != nil || p.Next != "" || len(p.Rows) != 7 {
		t.Errorf("a page holding everything: %d rows, next %q, %v; want 7 rows and no next", len(p.Rows), p.Next, err)
	}
	if _, err := s.ListDeliveriesPage(ctx, store.ListFilter{Cursor: "abc"}); err == nil || !strings.Contains(err.Error(), `cursor "abc"`) {
		t.Errorf("bad cursor: %v, want an error naming it", err)
	}
}

func TestRequireSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "never.db")
	_, err := store.Open(ctx, "sqlite://"+path, testLogger(t), store.RequireSchema())
	if !errors.Is(err, store.ErrNoSchema) || !strings.Contains(err.Error(), "has no tasuki tables; run `app migrate` first") {
		t.Errorf("Open of a missing file = %v, want ErrNoSchema with advice", err)
	}
	if _, statErr := os.Stat(path); !errors.Is(statErr, os.ErrNotExist) {
		t.Errorf("Open with RequireSchema created %s (%v)", path, statErr)
	}

	empty := "sqlite://" + filepath.Join(t.TempDir(), "empty.db")
	open(t, empty, store.WithoutMigrate()).Close()
	_, err = store.Open(ctx, empty, testLogger(t), store.RequireSchema())
	if want := "database sqlite " + strings.TrimPrefix(empty, "sqlite://") + " has no tasuki tables; run `app migrate` first"; err == nil || err.Error() != want {
		t.Errorf("Open of an unmigrated database = %v, want %q", err, want)
	}
	open(t, empty).Close() // migrates
	s, err := store.Open(ctx, empty, testLogger(t), store.RequireSchema())
	if err != nil {
		t.Fatalf("Open after migrating: %v", err)
	}
	s.Close()
}
