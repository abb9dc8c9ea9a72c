package store

import (
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"

	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/pgtest"
)

// riverStatementGuards names, for each statement of riverjob.go on River's
// tables (a constant holding SQL, or a call of River's driver executor), the
// tests that compare what it does with what River itself does.
var riverStatementGuards = map[string][]string{
	"sqliteJobSQL":       {"TestDirectJobMatchesRiver"},
	"runningAttemptsSQL": {"TestEndDeadAttemptsMatchesRiverRescue", "TestEndDeadAttemptsLeavesEndedAttemptsAlone"},
	"JobRescueMany":      {"TestEndDeadAttemptsMatchesRiverRescue"},
	"deleteJobsSQL":      {"TestOrphanJobDeleteMatchesRiver"},
	"queuedJobsSQL":      {"TestQueuedJobsMatchRiver"},
	"pruneDeliveriesSQL": {"TestPruneFollowsRiversDelete"},
}

// riverTable matches a name of River's tables in SQL text.
var riverTable = regexp.MustCompile(`(?i)\briver_[a-z_]+\b`)

// parsePackage parses the package's Go files, the tests too when tests is
// set.
func parsePackage(t *testing.T, tests bool) (*token.FileSet, map[string]*ast.File) {
	t.Helper()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	files := map[string]*ast.File{}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") && !tests {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = f
	}
	return fset, files
}

// Statements on River's tables are kept in riverjob.go, where each has a
// guard test; one written in another file would escape them. Tests may read
// River's tables to check what the store did.
func TestRiverSQLStaysInRiverjob(t *testing.T) {
	fset, files := parsePackage(t, false)
	for name, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BasicLit:
				if n.Kind == token.STRING && riverTable.MatchString(n.Value) && name != "riverjob.go" {
					t.Errorf("%s: SQL on River's tables (%s) outside riverjob.go: move it there, with a guard test",
						fset.Position(n.Pos()), riverTable.FindString(n.Value))
				}
			case *ast.CallExpr:
				// riverTx hands out River's driver executor.
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "riverTx" && name != "riverjob.go" {
					t.Errorf("%s: riverTx outside riverjob.go: River statements belong there, with a guard test", fset.Position(n.Pos()))
				}
			}
			return true
		})
	}
}

// Every statement of riverjob.go on River's tables has a guard test, and
// the guards named exist.
func TestRiverStatementsAreGuarded(t *testing.T) {
	fset, files := parsePackage(t, true)
	tests := map[string]bool{}
	for name, f := range files {
		if !strings.HasSuffix(name, "_test.go") {
			continue
		}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && strings.HasPrefix(fd.Name.Name, "Test") {
				tests[fd.Name.Name] = true
			}
		}
	}
	executor := reflect.TypeFor[riverdriver.ExecutorTx]()
	found := map[string]token.Position{}
	named := map[*ast.BasicLit]bool{} // SQL held in a constant
	// Inspect visits a constant's declaration before its value.
	ast.Inspect(files["riverjob.go"], func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.ValueSpec:
			for i, v := range n.Values {
				if lit, ok := v.(*ast.BasicLit); ok && lit.Kind == token.STRING && riverTable.MatchString(lit.Value) {
					found[n.Names[i].Name] = fset.Position(n.Pos())
					named[lit] = true
				}
			}
		case *ast.BasicLit:
			if n.Kind == token.STRING && riverTable.MatchString(n.Value) && !named[n] {
				t.Errorf("%s: SQL on River's tables not held in a constant: name it, and list it in riverStatementGuards", fset.Position(n.Pos()))
			}
		case *ast.CallExpr:
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
				if _, ok := executor.MethodByName(sel.Sel.Name); ok {
					found[sel.Sel.Name] = fset.Position(n.Pos())
				}
			}
		}
		return true
	})
	for name, pos := range found {
		if len(riverStatementGuards[name]) == 0 {
			t.Errorf("%s: %s has no guard in riverStatementGuards: add a test comparing it with River's own behaviour", pos, name)
		}
	}
	for name, guards := range riverStatementGuards {
		if _, ok := found[name]; !ok {
			t.Errorf("riverStatementGuards lists %s, which riverjob.go does not have", name)
		}
		for _, g := range guards {
			if !tests[g] {
				t.Errorf("riverStatementGuards: the guard %s of %s does not exist", g, name)
			}
		}
	}
}

// riverTableRows counts the rows of each of River's tables.
func riverTableRows(t *testing.T, s *Store) map[string]int {
	t.Helper()
	ctx := context.Background()
	list := `SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'river!_%' ESCAPE '!'`
	if s.dialect == DialectPostgres {
		list = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name LIKE 'river!_%' ESCAPE '!'`
	}
	rs, err := s.r.query(ctx, list)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rs.Next() {
		var name string
		if err := rs.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rs.Close()
	if len(tables) == 0 {
		t.Fatal("no River tables found")
	}
	out := map[string]int{}
	for _, name := range tables {
		var n int
		if err := queryRow(ctx, s.r, `SELECT count(*) FROM `+name, nil, &n); err != nil {
			t.Fatal(err)
		}
		out[name] = n
	}
	return out
}

func openInternal(t *testing.T, url string) *Store {
	t.Helper()
	s, err := Open(context.Background(), url, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// A redelivery's job is deleted in the transaction that made it
// (deleteJobsSQL). The statement must change River's tables as River's own
// delete of the same job does, and a redelivery leaves them as they were.
func TestOrphanJobDeleteMatchesRiver(t *testing.T) {
	for _, be := range internalBackends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			s := openInternal(t, be.url(t))
			deleter, ok := s.client.(interface {
				JobDelete(ctx context.Context, id int64) (*rivertype.JobRow, error)
			})
			if !ok {
				t.Fatalf("%T has no JobDelete", s.client)
			}
			// change makes a delivery job as the intake does, deletes it
			// with del and returns how many rows each of River's tables
			// gained or lost by the delete.
			change := func(id string, del func(jobID int64) error) map[string]int {
				var jobID int64
				err := s.inTx(ctx, func(_ querier, jobs jobInserter) error {
					res, err := jobs(ctx, []river.InsertManyParams{insertParams(dispatch.Delivery{ID: id, Event: "push"})})
					if err == nil {
						jobID = res[0].Job.ID
					}
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				before := riverTableRows(t, s)
				if err := del(jobID); err != nil {
					t.Fatal(err)
				}
				out := map[string]int{}
				for table, n := range riverTableRows(t, s) {
					if n != before[table] {
						out[table] = n - before[table]
					}
				}
				return out
			}
			theirs := change("river", func(jobID int64) error {
				_, err := deleter.JobDelete(ctx, jobID)
				return err
			})
			ours := change("ours", func(jobID int64) error {
				_, err := s.w.exec(ctx, deleteJobsSQL+list(1)+`)`, jobID)
				return err
			})
			if diff := cmp.Diff(theirs, ours); diff != "" {
				t.Errorf("rows changed in River's tables by the delete (-River's JobDelete +deleteJobsSQL):\n%s", diff)
			}

			// The intake's path: a redelivery's job is made and deleted in
			// one transaction.
			d := dispatch.Delivery{ID: "redelivered", Event: "push", Payload: []byte(`{}`)}
			if created, err := s.Enqueue(ctx, d); err != nil || !created {
				t.Fatalf("Enqueue = %v, %v", created, err)
			}
			before := riverTableRows(t, s)
			if created, err := s.Enqueue(ctx, d); err != nil || created {
				t.Fatalf("Enqueue of a stored delivery = %v, %v; want not created", created, err)
			}
			if diff := cmp.Diff(before, riverTableRows(t, s)); diff != "" {
				t.Errorf("River's tables after a redelivery (-before +after):\n%s", diff)
			}
		})
	}
}

// The queue depth (queuedJobsSQL) counts the jobs in every state River has
// that is not final, as River's own JobList does.
func TestQueuedJobsMatchRiver(t *testing.T) {
	final := []rivertype.JobState{rivertype.JobStateCancelled, rivertype.JobStateCompleted, rivertype.JobStateDiscarded}
	var open []rivertype.JobState
	for _, st := range rivertype.JobStates() {
		if !slices.Contains(final, st) {
			open = append(open, st)
		}
	}
	var listed []rivertype.JobState
	in := queuedJobsSQL[strings.Index(queuedJobsSQL, "state IN ("):]
	for _, m := range regexp.MustCompile(`'([a-z_]+)'`).FindAllStringSubmatch(in, -1) {
		listed = append(listed, rivertype.JobState(m[1]))
	}
	if diff := cmp.Diff(open, listed, cmp.Transformer("sort", func(s []rivertype.JobState) []rivertype.JobState {
		return slices.Sorted(slices.Values(s))
	})); diff != "" {
		t.Errorf("queuedJobsSQL's states differ from River's states that are not final (-River +ours):\n%s", diff)
	}

	for _, be := range internalBackends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			s := openInternal(t, be.url(t))
			l := &liveness{s: s, maxAttempts: 8, backoff: func(int) time.Duration { return time.Hour }}
			retry := runningJob(t, s, "retryable", "dead-1", 25)
			giveUp := runningJob(t, s, "discarded", "dead-1", 1)
			if _, err := s.endAttempts(ctx, []deadAttempt{l.end(retry, "dead-1", time.Now()), l.end(giveUp, "dead-1", time.Now())}); err != nil {
				t.Fatal(err)
			}
			runningJob(t, s, "running", "live-1", 25)
			for i := range 2 {
				if _, err := s.Enqueue(ctx, dispatch.Delivery{ID: "available-" + strconv.Itoa(i), Event: "push", Payload: []byte(`{}`)}); err != nil {
					t.Fatal(err)
				}
			}
			var ours int
			if err := queryRow(ctx, s.r, queuedJobsSQL, []any{deliveryKind}, &ours); err != nil {
				t.Fatal(err)
			}
			res, err := s.client.JobList(ctx, river.NewJobListParams().Kinds(deliveryKind).States(open...).First(1000))
			if err != nil {
				t.Fatal(err)
			}
			if ours != len(res.Jobs) || ours != 4 {
				t.Errorf("queued jobs: ours %d, River's JobList %d; want 4 (2 available, 1 running, 1 retryable)", ours, len(res.Jobs))
			}
		})
	}
}

// Delivery rows are pruned (pruneDeliveriesSQL) once River has deleted their
// job, and only then.
func TestPruneFollowsRiversDelete(t *testing.T) {
	for _, be := range internalBackends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			s := openInternal(t, be.url(t))
			for _, id := range []string{"cleaned", "kept"} {
				if _, err := s.Enqueue(ctx, dispatch.Delivery{ID: id, Event: "push", Payload: []byte(`{}`)}); err != nil {
					t.Fatal(err)
				}
			}
			var jobID int64
			if err := queryRow(ctx, s.r, `SELECT job_id FROM tasuki_delivery WHERE id = ?`, []any{"cleaned"}, &jobID); err != nil {
				t.Fatal(err)
			}
			deleter, ok := s.client.(interface {
				JobDelete(ctx context.Context, id int64) (*rivertype.JobRow, error)
			})
			if !ok {
				t.Fatalf("%T has no JobDelete", s.client)
			}
			if _, err := deleter.JobDelete(ctx, jobID); err != nil {
				t.Fatal(err)
			}
			n, err := s.w.exec(ctx, pruneDeliveriesSQL, time.Now().Add(time.Hour).UnixMicro())
			if err != nil {
				t.Fatal(err)
			}
			var left []string
			rs, err := s.r.query(ctx, `SELECT id FROM tasuki_delivery ORDER BY id`)
			if err != nil {
				t.Fatal(err)
			}
			defer rs.Close()
			for rs.Next() {
				var id string
				if err := rs.Scan(&id); err != nil {
					t.Fatal(err)
				}
				left = append(left, id)
			}
			if n != 1 || !slices.Equal(left, []string{"kept"}) {
				t.Errorf("prune deleted %d rows, left %v; want 1 deleted, [kept] left", n, left)
			}
		})
	}
}

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
	// The job's scheduled_at can sort a hair after a time.Now() taken just
	// after the insert (SQLite keeps another precision), and the job is
	// then not available yet: fetch again until it runs.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		fetch(t, s, worker)
		j := jobRow(t, s, jobID)
		if j.State == rivertype.JobStateRunning {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d still %s after fetching", jobID, j.State)
		}
	}
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
			// River's rescue left riverRetry to be retried; once its backoff
			// passes it would be available, and the fetch below would take
			// it instead of the job made for ours. Their rows are kept above.
			deleter, ok := s.client.(interface {
				JobDelete(ctx context.Context, id int64) (*rivertype.JobRow, error)
			})
			if !ok {
				t.Fatalf("%T has no JobDelete", s.client)
			}
			for _, id := range []int64{riverRetry.ID, riverGiveUp.ID} {
				if _, err := deleter.JobDelete(ctx, id); err != nil {
					t.Fatal(err)
				}
			}

			// Ours, on the same jobs made the same way.
			l := &liveness{s: s, maxAttempts: 8, backoff: func(int) time.Duration { return time.Hour }}
			ourRetry := runningJob(t, s, "river-retry", "dead-1", 25)
			ourGiveUp := runningJob(t, s, "river-give-up", "dead-1", 1)
			now := time.Now()
			ended, err := s.endAttempts(ctx, []deadAttempt{l.end(ourRetry, "dead-1", now), l.end(ourGiveUp, "dead-1", now)})
			if err != nil || len(ended) != 2 {
				a, b := jobRow(t, s, ourRetry.ID), jobRow(t, s, ourGiveUp.ID)
				t.Fatalf("endAttempts = %d ended, %v; want 2 (retry: %s attempt %d->%d by %v; give-up: %s attempt %d->%d by %v)", len(ended), err,
					a.State, ourRetry.Attempt, a.Attempt, a.AttemptedBy, b.State, ourGiveUp.Attempt, b.Attempt, b.AttemptedBy)
			}
			ourRetry, ourGiveUp = jobRow(t, s, ourRetry.ID), jobRow(t, s, ourGiveUp.ID)

			// River's rescue leaves the job retryable with a backoff of about
			// a second on its first attempt; River's scheduler may have made
			// it available by the time it was read above (a loaded machine).
			// That is the scheduler's step, not the rescue's.
			if riverRetry.State == rivertype.JobStateAvailable {
				riverRetry.State = rivertype.JobStateRetryable
			}
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
