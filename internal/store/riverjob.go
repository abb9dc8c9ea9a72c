package store

import (
	"context"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"
)

// This file is the one place where the store changes River's job rows other
// than through River's client, for jobs whose worker died (liveness.go). The
// write is River's own statement, the one its rescuer uses for stuck jobs
// (riverdriver's JobRescueMany, through the driver's executor on our
// transaction), so a rescued row is exactly what River itself would leave:
// the attempt error appended, metadata "river:rescue_count" incremented,
// finalized_at set when the job is given up. What we add is the guard below.
// TestEndDeadAttemptsMatchesRiverRescue checks the rows against River's own
// rescuer, and that River then works or lists them as expected.
//
// (Other hand-written SQL on river_job: sqliteJobSQL, River's insert made
// cheaper, guarded by TestDirectJobMatchesRiver; and plain reads and deletes
// in enqueue.go and worker.go.)

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
