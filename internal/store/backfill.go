package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/tasuki-sre/tasuki/internal/dispatch"
)

// Backfill jobs: one River job per repository reads its past lead-time
// events (package backfill). The job runs in its own queue, so that `app
// backfill` can run it without taking deliveries, and keeps its place in
// the memo (Put/Get) after every page, so that a job whose worker died
// resumes where it stood when River runs it again.
const (
	backfillKind  = "tasuki_backfill"
	backfillQueue = "backfill"
	// backfillTimeout bounds one run of a backfill job. Rate limit waits
	// longer than a few seconds snooze the job rather than sleep in it, so
	// a run is the requests' time: about 100 pages of 100 pull requests
	// for 10,000, a few seconds each at worst.
	backfillTimeout = 2 * time.Hour
	// backfillAttempts is how many failed runs a backfill job gets;
	// snoozes for rate limits do not count.
	backfillAttempts = 10
	// backfillConcurrency bounds the backfills one process runs at once;
	// they share the installation's rate limit with the handlers.
	backfillConcurrency = 2
)

// BackfillArgs are a backfill job's arguments. Only Repo makes the job
// unique: while one backfill of a repository is queued or running, another
// is not queued but answered with it.
type BackfillArgs struct {
	Repo           string    `json:"repo" river:"unique"`
	InstallationID int64     `json:"installation_id"`
	Since          time.Time `json:"since"`
	Environments   []string  `json:"environments,omitempty"`
	Releases       bool      `json:"releases,omitempty"`
}

// Kind implements river.JobArgs.
func (BackfillArgs) Kind() string { return backfillKind }

// BackfillJob is one run of a backfill job.
type BackfillJob struct {
	ID      int64
	Attempt int
	Args    BackfillArgs
}

// Backfiller runs backfill jobs (WorkerOptions.Backfill). An error that
// asks to be tried later (dispatch.RetryAt) snoozes the job until then; a
// permanent one (dispatch.IsPermanent) fails it at once; others retry it
// with River's backoff.
type Backfiller interface {
	Backfill(ctx context.Context, job BackfillJob) error
}

// BackfillStatus is where a backfill job stands.
type BackfillStatus struct {
	ID          int64
	Args        BackfillArgs
	State       string // River's: available, scheduled, running, retryable, completed, cancelled, discarded
	Attempt     int
	ScheduledAt time.Time
	FinalizedAt time.Time // zero until the job is finished
	Errors      []string  // the attempts' errors, oldest first
}

// Done reports whether the job is finished, whether it succeeded or not.
func (b BackfillStatus) Done() bool { return !b.FinalizedAt.IsZero() }

// Succeeded reports whether the job finished successfully.
func (b BackfillStatus) Succeeded() bool { return b.State == string(rivertype.JobStateCompleted) }

// LastError is the latest attempt's error, "" if none.
func (b BackfillStatus) LastError() string {
	if len(b.Errors) == 0 {
		return ""
	}
	return b.Errors[len(b.Errors)-1]
}

// EnqueueBackfill queues a backfill of a.Repo. When one is already queued
// or running for that repository, nothing is queued and created is false:
// the status is the existing job's, whose arguments may differ.
func (s *Store) EnqueueBackfill(ctx context.Context, a BackfillArgs) (st BackfillStatus, created bool, err error) {
	if a.Repo == "" || a.InstallationID <= 0 || a.Since.IsZero() {
		return BackfillStatus{}, false, fmt.Errorf("queue backfill: repository, installation and start are required (got %q, %d, %v)",
			a.Repo, a.InstallationID, a.Since)
	}
	var res *rivertype.JobInsertResult
	err = s.inTx(ctx, func(_ querier, jobs jobInserter) error {
		rs, err := jobs(ctx, []river.InsertManyParams{{Args: a, InsertOpts: &river.InsertOpts{
			Queue: backfillQueue, MaxAttempts: backfillAttempts,
			UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
				rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
				rivertype.JobStateRetryable, rivertype.JobStateScheduled,
			}},
		}}})
		if err != nil {
			return err
		}
		if len(rs) != 1 {
			return fmt.Errorf("inserted %d jobs, want 1", len(rs))
		}
		res = rs[0]
		return nil
	})
	if err != nil {
		return BackfillStatus{}, false, fmt.Errorf("queue backfill of %s: %w", a.Repo, err)
	}
	st, err = backfillStatus(res.Job)
	if err != nil {
		return BackfillStatus{}, false, err
	}
	return st, !res.UniqueSkippedAsDuplicate, nil
}

// Backfill returns the status of backfill job id.
func (s *Store) Backfill(ctx context.Context, id int64) (BackfillStatus, error) {
	res, err := s.client.JobList(ctx, river.NewJobListParams().IDs(id).Kinds(backfillKind).First(1))
	if err != nil {
		return BackfillStatus{}, fmt.Errorf("read backfill job %d: %w", id, err)
	}
	if len(res.Jobs) == 0 {
		return BackfillStatus{}, fmt.Errorf("backfill job %d: %w", id, ErrNotFound)
	}
	return backfillStatus(res.Jobs[0])
}

func backfillStatus(j *rivertype.JobRow) (BackfillStatus, error) {
	var a BackfillArgs
	if err := json.Unmarshal(j.EncodedArgs, &a); err != nil {
		return BackfillStatus{}, fmt.Errorf("backfill job %d: decode arguments: %w", j.ID, err)
	}
	st := BackfillStatus{ID: j.ID, Args: a, State: string(j.State), Attempt: j.Attempt, ScheduledAt: j.ScheduledAt}
	if j.FinalizedAt != nil {
		st.FinalizedAt = *j.FinalizedAt
	}
	for _, e := range j.Errors {
		st.Errors = append(st.Errors, e.Error)
	}
	return st, nil
}

// WorkersElsewhere reports whether another live process runs the workers
// of this SQLite file (it holds the workers lease), naming it. `app
// backfill` then leaves its job to that process rather than run a second
// set of workers. Always false on PostgreSQL, where replicas share jobs.
func (s *Store) WorkersElsewhere(ctx context.Context) (string, bool, error) {
	if s.dialect != DialectSQLite {
		return "", false, nil
	}
	var (
		owner   string
		expires int64
	)
	err := queryRow(ctx, s.r, `SELECT owner, expires_at FROM tasuki_lock WHERE key = ?`, []any{workersLeaseKey}, &owner, &expires)
	if errors.Is(err, ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read the SQLite workers lease: %w", err)
	}
	host, _ := os.Hostname()
	if expires <= time.Now().UnixMicro() || !holderAlive(owner, host) {
		return "", false, nil
	}
	return owner, true, nil
}

// backfillWorker runs backfill jobs through WorkerOptions.Backfill.
type backfillWorker struct {
	river.WorkerDefaults[BackfillArgs]
	s *Store
	b Backfiller
}

// Timeout lets a backfill run longer than a delivery; River's rescuer
// respects it too.
func (w *backfillWorker) Timeout(*river.Job[BackfillArgs]) time.Duration { return backfillTimeout }

func (w *backfillWorker) Work(ctx context.Context, job *river.Job[BackfillArgs]) error {
	log := w.s.log.With("job", job.ID, "repo", job.Args.Repo, "installation", job.Args.InstallationID, "attempt", job.Attempt)
	err := w.b.Backfill(ctx, BackfillJob{ID: job.ID, Attempt: job.Attempt, Args: job.Args})
	if err == nil {
		return nil
	}
	if wait, ok := retryWait(err, time.Now()); ok {
		log.Info("backfill waits for GitHub's rate limit; its place is kept", "wait", wait.Round(time.Second), "err", err)
		return river.JobSnooze(wait)
	}
	if dispatch.IsPermanent(err) {
		log.Error("backfill failed; the error is permanent, not retrying", "err", err)
		return river.JobCancel(err)
	}
	log.Warn("backfill failed; will retry from its place", "err", err)
	return err
}
