package store

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Jobs whose worker process died.
//
// River marks a job running when a worker fetches it (attempt + 1, the
// worker's River client ID appended to attempted_by) and expects that worker
// to report how the attempt ended. A process that dies (an OOM kill, a
// handler that exits, a YAML file that makes a parser allocate gigabytes)
// reports nothing. River's rescuer would make such a job retryable only after
// RescueStuckJobsAfter (minutes), and our attempt limit
// (WorkerOptions.MaxAttempts) applied only to errors, so a delivery that
// killed the process ran again on every restart.
//
// So each worker process writes a heartbeat row in tasuki_worker every
// DeadAfter/6 (its River client ID, host, pid, last seen), and one replica at
// a time, the holder of the maintainer lease, looks as often for running jobs
// whose worker has not been seen for DeadAfter. Each such attempt is ended as
// River's rescuer ends a stuck one (see riverjob.go), with an error saying
// that the worker process died: the attempt counts, and the job runs again
// after the usual backoff, or is failed once the attempt limit is reached.
// A worker starting up does the same at once for the workers of its own
// earlier process (same host, and the same pid or a pid no longer running;
// on SQLite, whoever held the workers lease before), so a restart does not
// wait for DeadAfter.
//
// Jobs of a worker without a heartbeat row (a version before heartbeats,
// during a rolling upgrade) are left to River's rescuer. Heartbeats are
// written with each replica's own clock; a skew of seconds between replicas
// is small beside DeadAfter. A live worker that cannot reach the database for
// DeadAfter loses its jobs to others, which then run twice; handlers are
// idempotent.

const (
	// defaultDeadAfter is WorkerOptions.DeadAfter's default: heartbeats
	// every 10s, so six in a row must be missed.
	defaultDeadAfter = time.Minute
	minDeadAfter     = 3 * time.Second
	// maintainerKey is the tasuki_lock lease of the replica that ends dead
	// workers' attempts.
	maintainerKey = "tasuki.store:maintainer"
	// workerRetention is how long a worker's row outlives its last beat.
	workerRetention = 7 * 24 * time.Hour
	// diedPrefix begins the error recorded for an attempt whose worker
	// died; earlier deaths are counted by it.
	diedPrefix = "worker process died while running it"
	// riverSchedulerInterval is how often River's scheduler makes due
	// retryable jobs available (River's default). A retry due sooner is
	// made available at once, as River's executor does.
	riverSchedulerInterval = 5 * time.Second
)

// localClients holds the River client IDs of the workers started in this
// process, which are never taken for an earlier process's.
var localClients sync.Map

// newClientID returns the River client ID of a worker: the host and pid, for
// whoever reads attempted_by, and a random part. River allows 100 characters.
func newClientID(host string, pid int) string {
	h := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, host)
	if len(h) > 60 {
		h = h[:60]
	}
	return fmt.Sprintf("tasuki_%s_%d_%s", h, pid, randomID())
}

// worker is one worker process (River client) as its heartbeat row shows it.
type worker struct {
	host   string
	pid    int
	seenAt int64 // Unix µs; 0 once stopped
}

// liveness keeps one worker's heartbeat and ends the attempts of dead ones.
type liveness struct {
	s           *Store
	id, host    string
	pid         int
	started     time.Time
	every       time.Duration // between heartbeats, and between checks
	deadAfter   time.Duration
	maxAttempts int
	backoff     func(attempt int) time.Duration
}

func newLiveness(s *Store, opts WorkerOptions) *liveness {
	host, _ := os.Hostname()
	l := &liveness{
		s:           s,
		host:        host,
		pid:         os.Getpid(),
		started:     time.Now(),
		every:       opts.DeadAfter / 6,
		deadAfter:   opts.DeadAfter,
		maxAttempts: opts.MaxAttempts,
		backoff:     opts.Backoff,
	}
	l.id = newClientID(host, l.pid)
	localClients.Store(l.id, true)
	return l
}

// beat records that this worker is alive.
func (l *liveness) beat(ctx context.Context) error {
	_, err := l.s.w.exec(ctx, `INSERT INTO tasuki_worker (id, host, pid, started_at, seen_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at`,
		l.id, l.host, l.pid, l.started.UnixMicro(), time.Now().UnixMicro())
	if err != nil {
		return fmt.Errorf("record worker heartbeat: %w", err)
	}
	return nil
}

// stop records that this worker has stopped, so that a job it could not
// finish is run elsewhere at once, and gives up the maintainer lease.
func (l *liveness) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := l.s.w.exec(ctx, `UPDATE tasuki_worker SET seen_at = 0 WHERE id = ?`, l.id); err != nil {
		l.s.log.Warn("record worker stopped", "err", err)
	}
	l.s.releaseLease(maintainerKey, l.id)
}

// run beats every l.every until ctx ends, and meanwhile, while this worker
// holds the maintainer lease, ends the attempts of workers not seen for
// DeadAfter.
func (l *liveness) run(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(l.every)
	defer t.Stop()
	var lastPrune time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := l.beat(ctx); err != nil && ctx.Err() == nil {
			l.s.log.Warn("worker heartbeat", "err", err)
		}
		held, err := l.s.tryLease(ctx, maintainerKey, l.id, 3*l.every)
		if err != nil {
			if ctx.Err() == nil {
				l.s.log.Warn("take the maintainer lease", "err", err)
			}
			continue
		}
		if !held {
			continue
		}
		// Bounded, so that the next heartbeat is not held up for long.
		rctx, cancel := context.WithTimeout(ctx, l.every)
		l.reap(rctx, l.stale)
		cancel()
		if time.Since(lastPrune) > time.Hour {
			lastPrune = time.Now()
			cutoff := time.Now().Add(-workerRetention).UnixMicro()
			if _, err := l.s.w.exec(ctx, `DELETE FROM tasuki_worker WHERE seen_at < ? AND started_at < ?`, cutoff, cutoff); err != nil && ctx.Err() == nil {
				l.s.log.Warn("prune worker heartbeats", "err", err)
			}
		}
	}
}

// A deadRule tells whether the worker of a running job is dead; known is
// false when it has no heartbeat row.
type deadRule func(now time.Time, id string, w worker, known bool) bool

// stale: not seen for DeadAfter, or stopped.
func (l *liveness) stale(now time.Time, _ string, w worker, known bool) bool {
	return known && w.seenAt < now.Add(-l.deadAfter).UnixMicro()
}

// earlier: at start-up, also a worker of an earlier process on this host,
// which had the same pid (a restarted container) or whose pid is gone. The
// host name tells machines apart (in Kubernetes it is the pod's name).
func (l *liveness) earlier(now time.Time, id string, w worker, known bool) bool {
	if l.stale(now, id, w, known) {
		return true
	}
	if _, local := localClients.Load(id); local || !known || w.host != l.host {
		return false
	}
	return w.pid == l.pid || !processAlive(w.pid)
}

// notLocal: any worker but this process's, for a process that has just
// taken the SQLite workers lease from a dead one.
func notLocal(_ time.Time, id string, _ worker, _ bool) bool {
	_, local := localClients.Load(id)
	return !local
}

// reap ends the attempts of running jobs whose worker dead reports dead.
func (l *liveness) reap(ctx context.Context, dead deadRule) {
	if err := l.reapErr(ctx, dead); err != nil && ctx.Err() == nil {
		l.s.log.Warn("end the attempts of dead workers", "err", err)
	}
}

func (l *liveness) reapErr(ctx context.Context, dead deadRule) error {
	jobs, err := l.s.runningJobs(ctx)
	if err != nil || len(jobs) == 0 {
		return err
	}
	ids := make([]any, 0, len(jobs))
	seen := map[string]bool{}
	for _, j := range jobs {
		if by := lastAttemptedBy(j); !seen[by] {
			seen[by] = true
			ids = append(ids, by)
		}
	}
	workers, err := l.s.heartbeats(ctx, ids)
	if err != nil {
		return err
	}
	now := time.Now()
	var as []deadAttempt
	for _, j := range jobs {
		by := lastAttemptedBy(j)
		w, known := workers[by]
		if dead(now, by, w, known) {
			as = append(as, l.end(j, by, now))
		}
	}
	ended, err := l.s.endAttempts(ctx, as)
	if err != nil {
		return err
	}
	for _, a := range ended {
		log := l.s.log.With("kind", a.job.Kind, "job", a.job.ID, "attempt", a.job.Attempt, "worker", a.worker)
		event := ""
		if a.job.Kind == deliveryKind {
			var da deliveryArgs
			_ = json.Unmarshal(a.job.EncodedArgs, &da)
			event = da.Event
			log = log.With("delivery", da.DeliveryID, "event", da.Event, "action", da.Action)
		}
		if a.state == rivertype.JobStateDiscarded {
			log.Error("worker process died while running this job; attempts exhausted, giving up")
			if event != "" {
				l.s.count(event, "failed")
			}
		} else {
			log.Warn("worker process died while running this job; it will run again", "at", a.scheduledAt.UTC())
			if event != "" {
				l.s.count(event, "retry")
			}
		}
	}
	return nil
}

// end decides how a dead worker's attempt of j ends: retried after the
// usual backoff, or failed once the attempt limit is reached (for a
// delivery, WorkerOptions.MaxAttempts; for other jobs, their own).
func (l *liveness) end(j *rivertype.JobRow, by string, now time.Time) deadAttempt {
	deaths := 1
	for _, e := range j.Errors {
		if strings.HasPrefix(e.Error, diedPrefix) {
			deaths++
		}
	}
	limit := j.MaxAttempts
	if j.Kind == deliveryKind {
		limit = min(limit, l.maxAttempts)
	}
	a := deadAttempt{job: j, worker: by}
	var msg string
	if j.Attempt >= limit {
		msg = fmt.Sprintf("%s %s; gave up after %d attempts (last worker %s)", diedPrefix, times(deaths), j.Attempt, by)
		a.state = rivertype.JobStateDiscarded
		a.scheduledAt = j.ScheduledAt // as River's rescuer does
		a.finalizedAt = &now
	} else {
		msg = fmt.Sprintf("%s (%s so far; worker %s)", diedPrefix, times(deaths), by)
		var at time.Time
		if j.Kind == deliveryKind && l.backoff != nil {
			at = now.Add(l.backoff(j.Attempt))
		} else {
			at = (&river.DefaultClientRetryPolicy{}).NextRetry(j)
		}
		a.state = rivertype.JobStateRetryable
		if at.Sub(now) <= riverSchedulerInterval {
			a.state = rivertype.JobStateAvailable
		}
		a.scheduledAt = at
	}
	a.err, _ = json.Marshal(rivertype.AttemptError{At: now, Attempt: j.Attempt, Error: msg})
	return a
}

func times(n int) string {
	if n == 1 {
		return "1 time"
	}
	return fmt.Sprintf("%d times", n)
}

func lastAttemptedBy(j *rivertype.JobRow) string {
	if n := len(j.AttemptedBy); n > 0 {
		return j.AttemptedBy[n-1]
	}
	return ""
}

// runningJobs lists the jobs River shows running, of every kind.
func (s *Store) runningJobs(ctx context.Context) ([]*rivertype.JobRow, error) {
	const page = 1000
	var out []*rivertype.JobRow
	params := river.NewJobListParams().States(rivertype.JobStateRunning).First(page)
	for {
		res, err := s.client.JobList(ctx, params)
		if err != nil {
			return nil, fmt.Errorf("list running jobs: %w", err)
		}
		out = append(out, res.Jobs...)
		if len(res.Jobs) < page {
			return out, nil
		}
		params = params.After(res.LastCursor)
	}
}

// heartbeats reads the heartbeat rows of the given River client IDs.
func (s *Store) heartbeats(ctx context.Context, ids []any) (map[string]worker, error) {
	out := map[string]worker{}
	if len(ids) == 0 {
		return out, nil
	}
	rs, err := s.r.query(ctx, `SELECT id, host, pid, seen_at FROM tasuki_worker WHERE id IN (`+list(len(ids))+`)`, ids...)
	if err != nil {
		return nil, fmt.Errorf("read worker heartbeats: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		var (
			id  string
			w   worker
			pid int64
		)
		if err := rs.Scan(&id, &w.host, &pid, &w.seenAt); err != nil {
			return nil, fmt.Errorf("read worker heartbeats: %w", err)
		}
		w.pid = int(pid)
		out[id] = w
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("read worker heartbeats: %w", err)
	}
	return out, nil
}
