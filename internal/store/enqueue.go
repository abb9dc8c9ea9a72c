package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/tasuki-sre/tasuki/internal/dispatch"
)

// deliveryKind is the River job kind of a stored delivery.
const deliveryKind = "tasuki_delivery"

// maxAttemptsCeiling is the max_attempts written on each job. The worker
// ends a job earlier, at WorkerOptions.MaxAttempts, so the limit can change
// without rewriting stored jobs; River's backoff after 25 attempts is days.
const maxAttemptsCeiling = 25

// deliveryArgs are a delivery job's arguments. The payload stays in
// tasuki_delivery; event and action ride along for logs and metrics.
type deliveryArgs struct {
	DeliveryID string `json:"delivery_id"`
	Event      string `json:"event"`
	Action     string `json:"action,omitempty"`
}

// Kind implements river.JobArgs.
func (deliveryArgs) Kind() string { return deliveryKind }

func insertParams(d dispatch.Delivery) river.InsertManyParams {
	return river.InsertManyParams{
		Args:       deliveryArgs{DeliveryID: d.ID, Event: d.Event, Action: d.Action},
		InsertOpts: &river.InsertOpts{MaxAttempts: maxAttemptsCeiling, Queue: river.QueueDefault},
	}
}

// maxBatchBytes ends a batch once its payloads reach this size.
const maxBatchBytes = 32 << 20

type batchConfig struct {
	window time.Duration
	max    int
}

type enqueueReq struct {
	d    dispatch.Delivery
	at   time.Time // when it was handed to the committers
	done chan enqueueRes
}

type enqueueRes struct {
	created bool
	err     error
}

// Enqueue stores d and its job in one transaction and returns once both are
// committed. A delivery whose ID is already stored is not stored again:
// created is false and no second job is made.
//
// Concurrent calls are gathered into one transaction (see WithBatching), so
// that one fsync acknowledges many deliveries; each caller still gets its
// own result.
func (s *Store) Enqueue(ctx context.Context, d dispatch.Delivery) (created bool, err error) {
	if d.ID == "" {
		return false, errors.New("enqueue delivery: empty delivery ID")
	}
	if d.Event == "" {
		return false, fmt.Errorf("enqueue delivery %s: empty event name", d.ID)
	}
	req := &enqueueReq{d: d, at: time.Now(), done: make(chan enqueueRes, 1)}
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return false, fmt.Errorf("enqueue delivery %s: %w", d.ID, ErrClosed)
	}
	select {
	case s.reqs <- req:
		s.closeMu.RUnlock()
	case <-ctx.Done():
		s.closeMu.RUnlock()
		return false, fmt.Errorf("enqueue delivery %s: %w", d.ID, ctx.Err())
	}
	select {
	case res := <-req.done:
		if res.err != nil {
			return false, fmt.Errorf("enqueue delivery %s: %w", d.ID, res.err)
		}
		return res.created, nil
	case <-ctx.Done():
		// The batch may still commit; a redelivery is then a duplicate.
		return false, fmt.Errorf("enqueue delivery %s (it may still be stored): %w", d.ID, ctx.Err())
	}
}

func (s *Store) startBatcher() {
	s.reqs = make(chan *enqueueReq, 4*s.batch.max)
	if s.syncLog != nil {
		s.acks = make(chan ack, 64)
		s.ackDone = make(chan struct{})
		go s.acker()
	}
	// SQLite has one writer, so one committer; PostgreSQL commits several
	// batches at once.
	n := 1
	if s.dialect == DialectPostgres {
		n = 4
	}
	for range n {
		s.batchWG.Add(1)
		go s.batcher()
	}
}

func (s *Store) batcher() {
	defer s.batchWG.Done()
	batch := make([]*enqueueReq, 0, s.batch.max)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for first := range s.reqs {
		batch = append(batch[:0], first)
		size := len(first.d.Payload)
		// full bounds a batch by count and by bytes: one statement carries
		// all payloads, and PostgreSQL refuses messages over 1 GiB.
		full := func() bool { return len(batch) >= s.batch.max || size >= maxBatchBytes }
		// The window counts from when the first delivery was handed over,
		// not from now: under load the committer is busy while the next
		// batch queues up, so that batch has already waited its window and
		// goes at once with what has gathered. Waiting again would leave
		// the single SQLite writer idle for nothing.
		wait := s.batch.window - time.Since(first.at)
		if wait > 0 {
			timer.Reset(wait)
		collect:
			for !full() {
				select {
				case r, ok := <-s.reqs:
					if !ok {
						break collect
					}
					batch = append(batch, r)
					size += len(r.d.Payload)
				case <-timer.C:
					break collect
				}
			}
			timer.Stop()
		} else {
		drain:
			for !full() {
				select {
				case r, ok := <-s.reqs:
					if !ok {
						break drain
					}
					batch = append(batch, r)
					size += len(r.d.Payload)
				default:
					break drain
				}
			}
		}
		s.commitBatch(batch)
	}
}

// commitBatch stores a batch in one transaction and answers each caller. If
// the transaction fails, each delivery is tried on its own so that one bad
// delivery does not fail the others.
func (s *Store) commitBatch(batch []*enqueueReq) {
	// Not a caller's context: one caller giving up must not fail the batch.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	uniq := make([]dispatch.Delivery, 0, len(batch))
	seen := make(map[string]bool, len(batch))
	for _, r := range batch {
		if !seen[r.d.ID] {
			seen[r.d.ID] = true
			uniq = append(uniq, r.d)
		}
	}
	created, err := s.insertDeliveries(ctx, uniq)
	if err != nil && len(uniq) > 1 {
		for _, d := range uniq {
			c, err := s.insertDeliveries(ctx, []dispatch.Delivery{d})
			if err == nil && s.syncLog != nil {
				err = s.syncLog()
			}
			for _, r := range batch {
				if r.d.ID == d.ID {
					r.done <- enqueueRes{created: c[d.ID], err: err}
					c[d.ID] = false // a repeat within the batch is a duplicate
				}
			}
		}
		return
	}
	a := ack{reqs: make([]*enqueueReq, len(batch)), res: make([]enqueueRes, len(batch))}
	for i, r := range batch {
		a.reqs[i] = r
		a.res[i] = enqueueRes{created: created[r.d.ID], err: err}
		created[r.d.ID] = false // a repeat within the batch is a duplicate
	}
	if err == nil && s.acks != nil {
		// Answered once the commit is on disk; see sqlitesync.go.
		s.acks <- a
		return
	}
	a.answer()
}

// ack is a committed batch's answers, given once the commit is durable.
type ack struct {
	reqs []*enqueueReq
	res  []enqueueRes
}

func (a ack) answer() {
	for i, r := range a.reqs {
		r.done <- a.res[i]
	}
}

func (a ack) fail(err error) {
	for _, r := range a.reqs {
		r.done <- enqueueRes{err: err}
	}
}

// acker answers committed batches once syncLog has flushed them: one sync
// for all the batches committed while the previous one ran.
func (s *Store) acker() {
	defer close(s.ackDone)
	var group []ack
	for a := range s.acks {
		group = append(group[:0], a)
	more:
		for {
			select {
			case a, ok := <-s.acks:
				if !ok {
					break more
				}
				group = append(group, a)
			default:
				break more
			}
		}
		err := s.syncLog()
		for _, a := range group {
			if err != nil {
				// Committed but perhaps not durable: not acknowledged, so
				// GitHub's redelivery (same ID) finds it stored or not.
				a.fail(err)
			} else {
				a.answer()
			}
		}
	}
}

// insertDeliveries stores the deliveries that are new, with their jobs, in
// one transaction, and returns which IDs were new.
//
// Jobs are inserted first so that each delivery row is written once, with
// its job ID: updating the row afterwards would make SQLite rewrite the
// whole payload. Known IDs are not looked up first: a redelivery is rare,
// and the row insert (ON CONFLICT DO NOTHING RETURNING id) tells which rows
// were new in the same statement. The job made for a delivery already
// stored (a redelivery, or on PostgreSQL a concurrent batch that got there
// first) is deleted in the same transaction, so no one ever sees it.
func (s *Store) insertDeliveries(ctx context.Context, ds []dispatch.Delivery) (map[string]bool, error) {
	created := make(map[string]bool, len(ds))
	now := time.Now().UnixMicro()
	params := make([]river.InsertManyParams, len(ds))
	for i, d := range ds {
		params[i] = insertParams(d)
	}
	err := s.batchTx(ctx, func(q querier, jobs jobInserter) error {
		clear(created)
		res, err := jobs(ctx, params)
		if err != nil {
			return fmt.Errorf("insert jobs: %w", err)
		}
		if len(res) != len(ds) {
			return fmt.Errorf("insert jobs: %d jobs for %d deliveries", len(res), len(ds))
		}
		var inserted map[string]bool
		if ri, ok := q.(rowInserter); ok {
			ids := make([]int64, len(res))
			for i, r := range res {
				ids[i] = r.Job.ID
			}
			inserted, err = ri.insertRows(ctx, ds, now, ids)
		} else {
			args := make([]any, 0, 8*len(ds))
			for i, d := range ds {
				args = append(args, d.ID, d.Event, d.Action, d.InstallationID, d.Repository, string(d.Payload), now, res[i].Job.ID)
			}
			// ON CONFLICT DO NOTHING makes a concurrent duplicate wait for
			// the first insert's commit and then insert nothing.
			inserted, err = selectIDs(ctx, q, `INSERT INTO tasuki_delivery
				(id, event, action, installation_id, repository, payload, received_at, job_id)
				VALUES `+placeholders(len(ds), 8)+`
				ON CONFLICT (id) DO NOTHING RETURNING id`, args)
		}
		if err != nil {
			return fmt.Errorf("insert delivery rows: %w", err)
		}
		var orphans []any
		for i, d := range ds {
			if inserted[d.ID] {
				created[d.ID] = true
			} else {
				orphans = append(orphans, res[i].Job.ID)
			}
		}
		if len(orphans) > 0 {
			if _, err := q.exec(ctx, deleteJobsSQL+list(len(orphans))+`)`, orphans...); err != nil {
				return fmt.Errorf("delete jobs of deliveries already stored: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		clear(created)
		return created, err
	}
	return created, nil
}

// rowInserter stores delivery rows its own way (SQLite: a prepared
// statement) and reports which IDs were new, as insertDeliveries' many-row
// INSERT does.
type rowInserter interface {
	insertRows(ctx context.Context, ds []dispatch.Delivery, now int64, jobIDs []int64) (map[string]bool, error)
}

// selectIDs runs a query returning one text column and collects it.
func selectIDs(ctx context.Context, q querier, sqlText string, args []any) (map[string]bool, error) {
	rs, err := q.query(ctx, sqlText, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := map[string]bool{}
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rs.Err()
}

// linkJobs records each delivery's job ID in one statement.
func linkJobs(ctx context.Context, q querier, ids []string, res []*rivertype.JobInsertResult) error {
	var b strings.Builder
	args := make([]any, 0, 3*len(ids))
	b.WriteString(`UPDATE tasuki_delivery SET job_id = CASE id`)
	for i, id := range ids {
		b.WriteString(` WHEN ? THEN CAST(? AS bigint)`)
		args = append(args, id, res[i].Job.ID)
	}
	b.WriteString(` END WHERE id IN (` + list(len(ids)) + `)`)
	for _, id := range ids {
		args = append(args, id)
	}
	n, err := q.exec(ctx, b.String(), args...)
	if err != nil {
		return fmt.Errorf("link deliveries to jobs: %w", err)
	}
	if int(n) != len(ids) {
		return fmt.Errorf("link deliveries to jobs: updated %d rows, want %d", n, len(ids))
	}
	return nil
}
