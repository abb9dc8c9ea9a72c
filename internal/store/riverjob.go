package store

import (
	"context"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"
)

// This file holds every statement the store runs on River's tables
// (river_job, river_leader, river_queue, ...) other than through River's
// client, and each one has a guard test comparing what it does with what
// River itself does, so that a River upgrade that changes its tables fails
// there (riverStatementGuards in riverjob_test.go lists them;
// TestRiverSQLStaysInRiverjob fails when such a statement appears in another
// file, TestRiverStatementsAreGuarded when one here has no guard).
//
// The one write to running jobs is River's own statement, the one its
// rescuer uses for stuck jobs (riverdriver's JobRescueMany, through the
// driver's executor on our transaction), for jobs whose worker died
// (liveness.go). A rescued row is exactly what River itself would leave: the
// attempt error appended, metadata "river:rescue_count" incremented,
// finalized_at set when the job is given up. What we add is the guard in
// endAttempts.

// sqliteJobSQL inserts one delivery job with the values River's own
// InsertManyFastTx gives it on SQLite (riversqlite v0.43.0,
// JobInsertFastManyNoReturning, for InsertOpts{MaxAttempts, Queue}): state
// available, created and scheduled now, River's default priority 1, empty
// metadata and tags. River's InsertManyTx costs about 75 µs per job on the
// single writer (a large statement prepared on every call, the arguments
// sent through json_each, every column read back); this prepared statement a
// small fraction. TestDirectJobMatchesRiver compares the rows the two make,
// so a River upgrade that changes the job table fails there.
const sqliteJobSQL = `INSERT INTO river_job
	(args, created_at, kind, max_attempts, metadata, priority, queue, scheduled_at, state, tags)
	VALUES (jsonb(?), datetime('now', 'subsec'), ?, ?, jsonb('{}'), 1, ?, datetime('now', 'subsec'), 'available', jsonb('[]'))
	RETURNING id`

// deleteJobsSQL, followed by the IDs' placeholders and ")", deletes the
// jobs insertDeliveries made for deliveries that turned out to be stored
// already, in the transaction that made them: no worker has seen them.
const deleteJobsSQL = `DELETE FROM river_job WHERE id IN (`

// queuedJobsSQL counts the delivery jobs River has not finished: every
// state but the finalized ones (completed, cancelled, discarded).
const queuedJobsSQL = `SELECT count(*) FROM river_job WHERE kind = ? AND state IN ('available', 'scheduled', 'retryable', 'running', 'pending')`

// pruneDeliveriesSQL deletes the delivery rows received before ? (Unix
// microseconds) whose job River's cleaner has removed.
const pruneDeliveriesSQL = `DELETE FROM tasuki_delivery WHERE received_at < ?
	AND NOT EXISTS (SELECT 1 FROM river_job WHERE river_job.id = tasuki_delivery.job_id)`

// deadAttempt is how one running attempt of a job whose worker died ends.
type deadAttempt struct {
	job         *rivertype.JobRow
	worker      string // the River client ID that was running it
	state       rivertype.JobState
	scheduledAt time.Time
	finalizedAt *time.Time
	err         []byte // a rivertype.AttemptError as JSON
}

// runningAttemptsSQL locks and re-reads, inside endAttempts' transaction,
// the jobs about to be rescued. On SQLite the transaction already holds the
// database's write lock (BEGIN IMMEDIATE); PostgreSQL needs FOR UPDATE.
const runningAttemptsSQL = `SELECT id, attempt FROM river_job WHERE state = 'running' AND id IN (`

// endAttempts ends the given attempts as River's rescuer would, and returns
// the ones it ended. Each job is first locked and re-read in the same
// transaction: an attempt that ended meanwhile (its worker was alive after all
// and finished it, another replica got there first, or it already runs again
// as a new attempt) is left alone. River's statement alone updates by ID
// whatever the job's state; River runs it from one leader, we from any
// replica.
func (s *Store) endAttempts(ctx context.Context, as []deadAttempt) ([]deadAttempt, error) {
	if len(as) == 0 {
		return nil, nil
	}
	var ended []deadAttempt
	err := s.riverTx(ctx, func(q querier, exec riverdriver.ExecutorTx) error {
		ended = ended[:0]
		ids := make([]any, len(as))
		for i, a := range as {
			ids[i] = a.job.ID
		}
		sqlText := runningAttemptsSQL + list(len(ids)) + `)`
		if s.dialect == DialectPostgres {
			sqlText += ` FOR UPDATE`
		}
		rs, err := q.query(ctx, sqlText, ids...)
		if err != nil {
			return err
		}
		cur := map[int64]int{}
		for rs.Next() {
			var (
				id      int64
				attempt int
			)
			if err := rs.Scan(&id, &attempt); err != nil {
				rs.Close()
				return err
			}
			cur[id] = attempt
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return err
		}
		p := riverdriver.JobRescueManyParams{}
		for _, a := range as {
			if attempt, ok := cur[a.job.ID]; !ok || attempt != a.job.Attempt {
				continue
			}
			p.ID = append(p.ID, a.job.ID)
			p.Error = append(p.Error, a.err)
			p.FinalizedAt = append(p.FinalizedAt, a.finalizedAt)
			p.ScheduledAt = append(p.ScheduledAt, a.scheduledAt)
			p.State = append(p.State, string(a.state))
			ended = append(ended, a)
		}
		if len(p.ID) == 0 {
			return nil
		}
		_, err = exec.JobRescueMany(ctx, &p)
		return err
	})
	if err != nil {
		return nil, err
	}
	return ended, nil
}
