package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/tasuki-sre/tasuki/internal/dispatch"
)

// Dispatcher handles one delivery; *dispatch.Router is one.
type Dispatcher interface {
	Dispatch(ctx context.Context, d dispatch.Delivery) error
}

// WorkerOptions configure RunWorkers.
type WorkerOptions struct {
	// Concurrency is the number of deliveries handled at once (default 10).
	Concurrency int
	// MaxAttempts is how many times a failing delivery runs before it is
	// marked failed (default 8, at most 25). Rate-limit waits do not count;
	// an attempt whose worker process died does. A handler error marked
	// with dispatch.Permanent fails the delivery at once.
	MaxAttempts int
	// Periodic jobs run once per interval across all replicas.
	Periodic []PeriodicJob
	// FetchCooldown and FetchPollInterval tune how often workers look for
	// new jobs. Defaults: 5ms cooldown; poll every 20ms on SQLite, which has
	// no LISTEN/NOTIFY, and every 1s (River's default) on PostgreSQL.
	FetchCooldown, FetchPollInterval time.Duration
	// JobTimeout bounds one handler run (default 5 minutes). A periodic job
	// may set its own (PeriodicJob.Timeout).
	JobTimeout time.Duration
	// DeadAfter is how long a worker process may go without a heartbeat
	// before the jobs it was running are run elsewhere (default 1 minute, at
	// least 3s). Heartbeats, and the look for dead workers, come every
	// DeadAfter/6. See liveness.go.
	DeadAfter time.Duration
	// Backoff returns the wait before retry number attempt (1 after the
	// first failure). Nil means River's default, attempt^4 seconds with
	// jitter (1s, 16s, 81s, 4m, 10m, 21m, 40m for 8 attempts).
	Backoff func(attempt int) time.Duration
	// DepthInterval is how often QueueDepth is refreshed and delivery rows
	// whose job River has cleaned up are pruned (default 15s).
	DepthInterval time.Duration
	// Backfill runs backfill jobs (backfill.go); nil leaves them queued for
	// a process that has one.
	Backfill Backfiller
	// OnlyBackfills runs backfill jobs and no deliveries (`app backfill`
	// running the job it queued); the dispatcher may be nil then.
	OnlyBackfills bool
}

// PeriodicJob is work that runs every Interval (at least 1s), once across
// all replicas: only the elected leader schedules it, and each run is unique
// per name and interval period, so a leader change cannot run it twice in one
// period.
type PeriodicJob struct {
	Name     string
	Interval time.Duration
	Run      func(ctx context.Context) error
	// Timeout bounds one run; 0 means WorkerOptions.JobTimeout. A long job
	// (a backfill) sets a longer one, which River's rescuer respects too.
	Timeout time.Duration
}

// periodicKind is the River job kind of a periodic job run.
const periodicKind = "tasuki_periodic"

type periodicArgs struct {
	Name string `json:"name"`
}

// Kind implements river.JobArgs.
func (periodicArgs) Kind() string { return periodicKind }

// Retention of finished jobs. Completed jobs outlive GitHub's 3-day
// redelivery window so HasDelivery can still answer for them; failed ones stay
// a month for `deliveries list/retry`. Delivery rows go with their jobs.
const (
	completedRetention = 4 * 24 * time.Hour
	failedRetention    = 30 * 24 * time.Hour
)

// Workers is a running set of job workers; stop it with Stop.
type Workers struct {
	client   riverClient
	release  func() // gives up the SQLite workers lease, if held
	stopLoop context.CancelFunc
	loopDone chan struct{}
	live     *liveness
	stopLive context.CancelFunc
	liveDone chan struct{}
	once     sync.Once
	err      error
}

// RunWorkers starts processing stored deliveries with d, and the periodic
// jobs, until Stop (or Close) is called. ctx only bounds starting.
func (s *Store) RunWorkers(ctx context.Context, d Dispatcher, opts WorkerOptions) (*Workers, error) {
	if d == nil && !opts.OnlyBackfills {
		return nil, errors.New("run workers: nil dispatcher")
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 10
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 8
	}
	opts.MaxAttempts = min(opts.MaxAttempts, maxAttemptsCeiling)
	if opts.JobTimeout <= 0 {
		opts.JobTimeout = 5 * time.Minute
	}
	if opts.DepthInterval <= 0 {
		opts.DepthInterval = 15 * time.Second
	}
	if opts.DeadAfter <= 0 {
		opts.DeadAfter = defaultDeadAfter
	}
	opts.DeadAfter = max(opts.DeadAfter, minDeadAfter)
	if opts.FetchCooldown <= 0 {
		// River fetches at most Concurrency jobs per cooldown; its default
		// (100ms) caps a replica at 10×Concurrency jobs/s. A short cooldown
		// costs nothing when idle: fetches then wait for a notification
		// (PostgreSQL) or the poll interval.
		opts.FetchCooldown = 5 * time.Millisecond
	}
	if opts.FetchPollInterval <= 0 && s.dialect == DialectSQLite {
		// SQLite has no LISTEN/NOTIFY; River polls an outbox table, so poll
		// often. PostgreSQL keeps River's default (1s) as a fallback to NOTIFY.
		opts.FetchPollInterval = 20 * time.Millisecond
	}

	workers := river.NewWorkers()
	dw := &deliveryWorker{s: s, d: d, opts: opts}
	if err := river.AddWorkerSafely(workers, dw); err != nil {
		return nil, fmt.Errorf("run workers: %w", err)
	}
	queues := map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: opts.Concurrency}}
	if opts.OnlyBackfills {
		queues = map[string]river.QueueConfig{}
	}
	if opts.Backfill != nil {
		if err := river.AddWorkerSafely(workers, &backfillWorker{s: s, b: opts.Backfill}); err != nil {
			return nil, fmt.Errorf("run workers: %w", err)
		}
		queues[backfillQueue] = river.QueueConfig{MaxWorkers: backfillConcurrency}
	}
	if len(queues) == 0 {
		return nil, errors.New("run workers: OnlyBackfills without a Backfill runner")
	}
	pw := &periodicWorker{s: s, jobs: map[string]PeriodicJob{}}
	var periodic []*river.PeriodicJob
	for _, p := range opts.Periodic {
		if p.Name == "" || p.Run == nil {
			return nil, fmt.Errorf("run workers: periodic job %q needs a name and a Run function", p.Name)
		}
		if p.Interval < time.Second {
			return nil, fmt.Errorf("run workers: periodic job %s: interval %s is shorter than 1s", p.Name, p.Interval)
		}
		if _, dup := pw.jobs[p.Name]; dup {
			return nil, fmt.Errorf("run workers: periodic job %s listed twice", p.Name)
		}
		if p.Timeout < 0 {
			return nil, fmt.Errorf("run workers: periodic job %s: negative timeout %s", p.Name, p.Timeout)
		}
		pw.jobs[p.Name] = p
		periodic = append(periodic, river.NewPeriodicJob(
			river.PeriodicInterval(p.Interval),
			func() (river.JobArgs, *river.InsertOpts) {
				return periodicArgs{Name: p.Name}, &river.InsertOpts{
					MaxAttempts: 3,
					// Unique per name and period: two leaders in one period
					// (a handover) insert one run between them.
					UniqueOpts: river.UniqueOpts{ByArgs: true, ByPeriod: p.Interval},
				}
			},
			// RunOnStart: the schedule lives in the leader's memory, so a
			// job with a long interval would never run if leaders changed
			// more often than that; uniqueness keeps it to one per period.
			&river.PeriodicJobOpts{ID: p.Name, RunOnStart: true},
		))
	}
	if err := river.AddWorkerSafely(workers, pw); err != nil {
		return nil, fmt.Errorf("run workers: %w", err)
	}

	live := newLiveness(s, opts)
	cfg := &river.Config{
		// Recorded in river_job.attempted_by; the heartbeat row has the same ID.
		ID:                          live.id,
		Logger:                      riverLogger(s.log),
		Workers:                     workers,
		Queues:                      queues,
		PeriodicJobs:                periodic,
		FetchCooldown:               opts.FetchCooldown,
		FetchPollInterval:           opts.FetchPollInterval,
		JobTimeout:                  opts.JobTimeout,
		MaxAttempts:                 maxAttemptsCeiling,
		ErrorHandler:                &errorHandler{s: s, opts: opts},
		CompletedJobRetentionPeriod: completedRetention,
		CancelledJobRetentionPeriod: failedRetention,
		DiscardedJobRetentionPeriod: failedRetention,
	}
	// A dead worker's jobs are taken back after DeadAfter by its missing
	// heartbeats (liveness.go). River's rescuer remains for a job that a live
	// worker keeps running past its timeout (a handler that ignores its
	// context), and for workers without heartbeats (older versions); it
	// gives a job of a kind with a longer Timeout that long.
	cfg.RescueStuckJobsAfter = opts.JobTimeout + 30*time.Second
	var lease string
	if s.dialect == DialectSQLite {
		var err error
		if lease, err = s.claimSQLiteWorkers(ctx); err != nil {
			return nil, fmt.Errorf("run workers: %w", err)
		}
	}
	if err := live.beat(ctx); err != nil {
		if lease != "" {
			s.releaseSQLiteWorkers(lease)
		}
		return nil, fmt.Errorf("run workers: %w", err)
	}
	// Before this client fetches anything: what an earlier process left
	// running ends now, counted, rather than after DeadAfter.
	if lease != "" {
		live.reap(ctx, notLocal) // the lease's last holder is dead
	} else {
		live.reap(ctx, live.earlier)
	}
	client, err := s.newWorkerClient(cfg)
	if err != nil {
		if lease != "" {
			s.releaseSQLiteWorkers(lease)
		}
		return nil, fmt.Errorf("run workers: create job client: %w", err)
	}
	// Not ctx itself: River treats a cancelled Start context as a stop
	// request that can cancel running handlers. Stopping is Stop's job,
	// with its own deadline.
	if err := client.Start(context.WithoutCancel(ctx)); err != nil {
		if lease != "" {
			s.releaseSQLiteWorkers(lease)
		}
		return nil, fmt.Errorf("run workers: start: %w", err)
	}
	loopCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	liveCtx, stopLive := context.WithCancel(context.WithoutCancel(ctx))
	w := &Workers{client: client, stopLoop: stop, loopDone: make(chan struct{}),
		live: live, stopLive: stopLive, liveDone: make(chan struct{})}
	if lease != "" {
		w.release = func() { s.releaseSQLiteWorkers(lease) }
	}
	go s.maintain(loopCtx, opts.DepthInterval, lease, w.loopDone)
	go live.run(liveCtx, w.liveDone)
	s.workersMu.Lock()
	s.workers = append(s.workers, w)
	s.workersMu.Unlock()
	return w, nil
}

// Stop stops fetching new jobs and waits for the running ones to finish
// until ctx ends; then it cancels them (they run again later, since a
// cancelled handler returns an error and is retried).
func (w *Workers) Stop(ctx context.Context) error {
	w.once.Do(func() {
		w.stopLoop()
		<-w.loopDone
		if w.release != nil {
			defer w.release()
		}
		// Heartbeats go on while running jobs finish, or others would
		// take them over.
		defer func() {
			w.stopLive()
			<-w.liveDone
			w.live.stop()
		}()
		err := w.client.Stop(ctx)
		if err != nil && ctx.Err() != nil {
			hctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err2 := w.client.StopAndCancel(hctx); err2 != nil {
				w.err = fmt.Errorf("stop workers: %w", err2)
				return
			}
			w.err = fmt.Errorf("stop workers: running jobs cancelled: %w", ctx.Err())
			return
		}
		if err != nil {
			w.err = fmt.Errorf("stop workers: %w", err)
		}
	})
	return w.err
}

// maintain refreshes QueueDepth, renews the SQLite workers lease, and prunes
// delivery rows whose jobs River's cleaner has removed.
func (s *Store) maintain(ctx context.Context, every time.Duration, lease string, done chan<- struct{}) {
	defer close(done)
	if lease != "" {
		every = min(every, workersLease/3)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	lastPrune := time.Now()
	for {
		if lease != "" {
			s.renewSQLiteWorkers(ctx, lease)
		}
		if s.metrics != nil {
			var n int64
			err := queryRow(ctx, s.r, queuedJobsSQL, []any{deliveryKind}, &n)
			if err == nil {
				s.metrics.QueueDepth.Set(float64(n))
			} else if ctx.Err() == nil {
				s.log.Warn("count queued deliveries", "err", err)
			}
		}
		if time.Since(lastPrune) > 10*time.Minute {
			lastPrune = time.Now()
			// Only rows older than an hour: a younger row's job cannot have
			// been cleaned up yet.
			_, err := s.w.exec(ctx, pruneDeliveriesSQL, time.Now().Add(-time.Hour).UnixMicro())
			if err != nil && ctx.Err() == nil {
				s.log.Warn("prune deliveries", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// deliveryWorker runs one stored delivery through the dispatcher.
type deliveryWorker struct {
	river.WorkerDefaults[deliveryArgs]
	s    *Store
	d    Dispatcher
	opts WorkerOptions
}

// NextRetry applies WorkerOptions.Backoff; the zero time means River's default.
func (w *deliveryWorker) NextRetry(job *river.Job[deliveryArgs]) time.Time {
	if w.opts.Backoff == nil {
		return time.Time{}
	}
	return time.Now().Add(w.opts.Backoff(job.Attempt))
}

// Work loads the delivery and dispatches it. An error that asks to be tried
// later (dispatch.RetryAt: a GitHub rate limit) snoozes the job until then,
// without spending an attempt.
func (w *deliveryWorker) Work(ctx context.Context, job *river.Job[deliveryArgs]) error {
	a := job.Args
	log := w.s.log.With("delivery", a.DeliveryID, "event", a.Event, "action", a.Action, "attempt", job.Attempt)
	d, err := w.s.loadDelivery(ctx, a.DeliveryID)
	if errors.Is(err, ErrNotFound) {
		log.Error("delivery row missing; giving up on its job")
		w.s.count(a.Event, "failed")
		return dispatch.Permanent(err)
	}
	if err != nil {
		w.s.count(a.Event, "retry")
		return err
	}
	log = log.With("installation", d.InstallationID, "repo", d.Repository)
	start := time.Now()
	err = w.d.Dispatch(ctx, d)
	if w.s.metrics != nil {
		w.s.metrics.JobLatency.WithLabelValues(d.Event).Observe(time.Since(start).Seconds())
	}
	if err == nil {
		w.s.count(d.Event, "done")
		log.Debug("delivery handled", "duration", time.Since(start))
		return nil
	}
	if wait, ok := retryWait(err, time.Now()); ok {
		w.s.count(d.Event, "snoozed")
		log.Warn("rate limited; waiting before running again", "wait", wait.Round(time.Second), "err", err)
		return river.JobSnooze(wait)
	}
	if dispatch.IsPermanent(err) {
		// Failed by errorHandler, which keeps the message as it is
		// (river.JobCancel would record "JobCancelError: ...").
		w.s.count(d.Event, "failed")
		log.Error("delivery failed; the error is permanent, not retrying", "err", err)
		return fmt.Errorf("permanent error, not retried: %w", err)
	}
	if job.Attempt >= w.opts.MaxAttempts {
		w.s.count(d.Event, "failed")
		log.Error("delivery failed; no attempts left", "err", err)
	} else {
		w.s.count(d.Event, "retry")
		log.Warn("delivery failed; will retry", "err", err)
	}
	return err
}

func (s *Store) count(event, outcome string) {
	if s.metrics != nil {
		s.metrics.DeliveriesProcessed.WithLabelValues(event, outcome).Inc()
	}
}

// retryWait returns how long to wait when err asks to be tried again
// later (dispatch.RetryAt): a GitHub rate limit, classified by
// ghclient.Wrap, that resets at a known time.
func retryWait(err error, now time.Time) (time.Duration, bool) {
	at, ok := dispatch.RetryAt(err)
	if !ok {
		return 0, false
	}
	// A second past the time asked for: GitHub's clock and ours differ a
	// little.
	return max(at.Sub(now)+time.Second, time.Second), true
}

// errorHandler marks a delivery failed once it has used
// WorkerOptions.MaxAttempts or its error is permanent (dispatch.IsPermanent),
// and logs handler panics with their stack. River recovers a panic in Work's
// goroutine and records the panic value as the attempt's error (and the stack
// as its trace); the attempt then counts like an error.
type errorHandler struct {
	s    *Store
	opts WorkerOptions
}

func (h *errorHandler) HandleError(_ context.Context, job *rivertype.JobRow, err error) *river.ErrorHandlerResult {
	if job.Kind == deliveryKind && (job.Attempt >= h.opts.MaxAttempts || dispatch.IsPermanent(err)) {
		return &river.ErrorHandlerResult{SetCancelled: true}
	}
	return nil
}

func (h *errorHandler) HandlePanic(ctx context.Context, job *rivertype.JobRow, panicVal any, trace string) *river.ErrorHandlerResult {
	var a deliveryArgs
	_ = json.Unmarshal(job.EncodedArgs, &a)
	h.s.log.ErrorContext(ctx, "handler panicked", "delivery", a.DeliveryID, "event", a.Event, "action", a.Action,
		"kind", job.Kind, "attempt", job.Attempt, "panic", fmt.Sprint(panicVal), "trace", trace)
	if job.Kind != deliveryKind {
		return nil
	}
	if job.Attempt >= h.opts.MaxAttempts {
		h.s.count(a.Event, "failed")
		return &river.ErrorHandlerResult{SetCancelled: true}
	}
	h.s.count(a.Event, "retry")
	return nil
}

// periodicWorker runs a PeriodicJob by name.
type periodicWorker struct {
	river.WorkerDefaults[periodicArgs]
	s    *Store
	jobs map[string]PeriodicJob
}

// Timeout is the job's own PeriodicJob.Timeout; 0 means the client's
// JobTimeout.
func (w *periodicWorker) Timeout(job *river.Job[periodicArgs]) time.Duration {
	return w.jobs[job.Args.Name].Timeout
}

func (w *periodicWorker) Work(ctx context.Context, job *river.Job[periodicArgs]) error {
	p, ok := w.jobs[job.Args.Name]
	if !ok {
		// Another replica (a newer version) scheduled a job this one does
		// not know; let River retry it, likely on that replica.
		return fmt.Errorf("periodic job %q is not registered on this replica", job.Args.Name)
	}
	if err := p.Run(ctx); err != nil {
		w.s.log.Warn("periodic job failed", "job", p.Name, "attempt", job.Attempt, "err", err)
		return fmt.Errorf("periodic job %s: %w", p.Name, err)
	}
	return nil
}

// riverLogger passes River's own logs through at warning level and above:
// at info it reports every retry, which our worker already logs with the
// delivery's keys.
func riverLogger(log *slog.Logger) *slog.Logger {
	return slog.New(levelFilter{log.Handler(), slog.LevelWarn}).With("component", "river")
}

type levelFilter struct {
	slog.Handler
	min slog.Level
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.Handler.Enabled(ctx, l)
}

// Handle drops River's records about work cut short by its context being
// cancelled: River cancels its own services' contexts when the workers stop
// (SIGTERM), and logs each at ERROR ("Error starting transaction: context
// canceled"), which is no error of the operator's to look into.
func (f levelFilter) Handle(ctx context.Context, r slog.Record) error {
	cancelled := false
	r.Attrs(func(a slog.Attr) bool {
		if err, ok := a.Value.Any().(error); ok && errors.Is(err, context.Canceled) {
			cancelled = true
			return false
		}
		return true
	})
	if cancelled {
		return nil
	}
	return f.Handler.Handle(ctx, r)
}

func (f levelFilter) WithAttrs(as []slog.Attr) slog.Handler {
	return levelFilter{f.Handler.WithAttrs(as), f.min}
}

func (f levelFilter) WithGroup(name string) slog.Handler {
	return levelFilter{f.Handler.WithGroup(name), f.min}
}
