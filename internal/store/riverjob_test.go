package store

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"

	"github.com/tasuki-sre/tasuki/internal/pgtest"
)

// internalBackends are the databases the package's internal tests run on.
var internalBackends = []struct {
	name string
	url  func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "t.db") }},
	{"postgres", func(t *testing.T) string { return pgtest.Start(t) }},
}

// runningJob stores a delivery job and has River mark it running by worker,
// as River's producer does when it fetches a job.
func runningJob(t *testing.T, s *Store, id, worker string, maxAttempts int) *rivertype.JobRow {
	t.Helper()
	ctx := context.Background()
	var jobID int64
	err := s.inTx(ctx, func(_ querier, jobs jobInserter) error {
		res, err := jobs(ctx, []river.InsertManyParams{{
			Args:       deliveryArgs{DeliveryID: id, Event: "push"},
			InsertOpts: &river.InsertOpts{MaxAttempts: maxAttempts, Queue: river.QueueDefault},
		}})
		if err == nil {
			jobID = res[0].Job.ID
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	fetch(t, s, worker)
	return jobRow(t, s, jobID)
}

// fetch has River mark the available jobs running by worker.
func fetch(t *testing.T, s *Store, worker string) {
	t.Helper()
	now := time.Now()
	err := s.riverTx(context.Background(), func(_ querier, exec riverdriver.ExecutorTx) error {
		_, err := exec.JobGetAvailable(context.Background(), &riverdriver.JobGetAvailableParams{
			ClientID: worker, MaxAttemptedBy: 100, MaxToLock: 10, Now: &now, Queue: river.QueueDefault,
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func jobRow(t *testing.T, s *Store, id int64) *rivertype.JobRow {
	t.Helper()
	res, err := s.client.JobList(context.Background(), river.NewJobListParams().IDs(id))
	if err != nil || len(res.Jobs) != 1 {
		t.Fatalf("job %d: %v, %v", id, res, err)
	}
	return res.Jobs[0]
}

// comparable keeps what River's rescuer and ours must agree on: not the
// error's text or times, nor the retry time (ours follows
// WorkerOptions.Backoff).
func comparable(j *rivertype.JobRow) map[string]any {
	var meta map[string]any
	_ = json.Unmarshal(j.Metadata, &meta)
	delete(meta, "river:unique_nonce") // random, set by River's insert
	var errAttempts []int
	for _, e := range j.Errors {
		errAttempts = append(errAttempts, e.Attempt)
	}
	return map[string]any{
		"state":        j.State,
		"attempt":      j.Attempt,
		"max_attempts": j.MaxAttempts,
		"attempted_by": j.AttemptedBy,
		"errors":       errAttempts,
		"metadata":     meta,
		"finalized":    j.FinalizedAt != nil,
		"args":         string(j.EncodedArgs),
	}
}

// The store ends a dead worker's attempt with River's own rescue statement
// (riverjob.go). The rows it leaves must be the ones River's rescuer leaves
// for the same jobs, retried and given up alike, so that River's workers,
// scheduler, cleaner and JobList treat them as River's own; a River upgrade
// that changes this fails here.
func TestEndDeadAttemptsMatchesRiverRescue(t *testing.T) {
	for _, be := range internalBackends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			s, err := Open(ctx, be.url(t), slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()

			// River's rescuer, on a client whose only queue is unused: it
			// rescues jobs running past RescueStuckJobsAfter when it starts.
			riverRetry := runningJob(t, s, "river-retry", "dead-1", 25)
			riverGiveUp := runningJob(t, s, "river-give-up", "dead-1", 1)
			time.Sleep(100 * time.Millisecond)
			workers := river.NewWorkers()
			river.AddWorker(workers, &deliveryWorker{s: s})
			client, err := s.newWorkerClient(&river.Config{
				Logger:               riverLogger(s.log),
				Workers:              workers,
				Queues:               map[string]river.QueueConfig{"unused": {MaxWorkers: 1}},
				JobTimeout:           10 * time.Millisecond,
				RescueStuckJobsAfter: 50 * time.Millisecond,
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := client.Start(ctx); err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				a, b := jobRow(t, s, riverRetry.ID), jobRow(t, s, riverGiveUp.ID)
				if a.State != rivertype.JobStateRunning && b.State != rivertype.JobStateRunning {
					riverRetry, riverGiveUp = a, b
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("River's rescuer did not rescue the jobs")
				}
			}
			if err := client.Stop(ctx); err != nil {
				t.Fatal(err)
			}

			// Ours, on the same jobs made the same way.
			l := &liveness{s: s, maxAttempts: 8, backoff: func(int) time.Duration { return time.Hour }}
			ourRetry := runningJob(t, s, "river-retry", "dead-1", 25)
			ourGiveUp := runningJob(t, s, "river-give-up", "dead-1", 1)
			now := time.Now()
			ended, err := s.endAttempts(ctx, []deadAttempt{l.end(ourRetry, "dead-1", now), l.end(ourGiveUp, "dead-1", now)})
			if err != nil || len(ended) != 2 {
				t.Fatalf("endAttempts = %d ended, %v; want 2", len(ended), err)
			}
			ourRetry, ourGiveUp = jobRow(t, s, ourRetry.ID), jobRow(t, s, ourGiveUp.ID)

			if d := cmp.Diff(comparable(riverRetry), comparable(ourRetry)); d != "" {
				t.Errorf("retried job differs from River's rescue (-River +ours):\n%s", d)
			}
			if d := cmp.Diff(comparable(riverGiveUp), comparable(ourGiveUp)); d != "" {
				t.Errorf("given-up job differs from River's rescue (-River +ours):\n%s", d)
			}
			if ourRetry.State != rivertype.JobStateRetryable || ourGiveUp.State != rivertype.JobStateDiscarded {
				t.Errorf("states %s and %s, want retryable and discarded", ourRetry.State, ourGiveUp.State)
			}
			if got := ourRetry.ScheduledAt.Sub(now); got < 59*time.Minute || got > 61*time.Minute {
				t.Errorf("retry scheduled %v from now, want the backoff (1h)", got)
			}
		})
	}
}

// An attempt that ended between the look for dead workers and the rescue
// (its worker was alive after all and finished, another replica rescued it
// first, or it already runs again as a new attempt) is left alone.
func TestEndDeadAttemptsLeavesEndedAttemptsAlone(t *testing.T) {
	for _, be := range internalBackends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			s, err := Open(ctx, be.url(t), slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			l := &liveness{s: s, maxAttempts: 8, backoff: func(int) time.Duration { return 0 }}

			seen := runningJob(t, s, "d-1", "dead-1", 25) // what the look saw
			stale := l.end(seen, "dead-1", time.Now())
			if ended, err := s.endAttempts(ctx, []deadAttempt{stale}); err != nil || len(ended) != 1 {
				t.Fatalf("first rescue: %d ended, %v; want 1", len(ended), err)
			}
			if stale.state != rivertype.JobStateAvailable {
				t.Fatalf("a retry due at once is %s, want available", stale.state)
			}
			// Another replica with the same view: nothing left to do.
			if ended, err := s.endAttempts(ctx, []deadAttempt{stale}); err != nil || len(ended) != 0 {
				t.Errorf("second rescue of the same attempt: %d ended, %v; want 0", len(ended), err)
			}
			// Running again, as attempt 2 of a live worker.
			fetch(t, s, "live-1")
			if ended, err := s.endAttempts(ctx, []deadAttempt{stale}); err != nil || len(ended) != 0 {
				t.Errorf("rescue of attempt 1 while attempt 2 runs: %d ended, %v; want 0", len(ended), err)
			}
			j := jobRow(t, s, seen.ID)
			if j.State != rivertype.JobStateRunning || j.Attempt != 2 || len(j.Errors) != 1 {
				t.Errorf("job after stale rescues: state %s, attempt %d, %d errors; want running, 2, 1", j.State, j.Attempt, len(j.Errors))
			}
		})
	}
}

// The maintainer lease has one holder at a time, renewable by it, taken over
// once it expires or is released.
func TestTryLease(t *testing.T) {
	for _, be := range internalBackends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			s, err := Open(ctx, be.url(t), slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			steps := []struct {
				owner string
				d     time.Duration
				want  bool
			}{
				{"a", 200 * time.Millisecond, true},
				{"b", time.Minute, false},           // held by a
				{"a", 200 * time.Millisecond, true}, // renewed
				{"b", time.Minute, false},
			}
			for i, st := range steps {
				if got, err := s.tryLease(ctx, maintainerKey, st.owner, st.d); got != st.want || err != nil {
					t.Fatalf("step %d: tryLease(%s) = %v, %v; want %v", i, st.owner, got, err, st.want)
				}
			}
			time.Sleep(300 * time.Millisecond)
			if got, _ := s.tryLease(ctx, maintainerKey, "b", time.Minute); !got {
				t.Error("b did not take the expired lease")
			}
			s.releaseLease(maintainerKey, "b")
			if got, _ := s.tryLease(ctx, maintainerKey, "a", time.Minute); !got {
				t.Error("a did not take the released lease")
			}
		})
	}
}
