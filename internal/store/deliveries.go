package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/tasuki-sre/tasuki/internal/dispatch"
)

// Delivery states, as users see them in `app deliveries`.
const (
	StatePending = "pending" // waiting to run, or waiting for a retry or a rate-limit reset
	StateRunning = "running"
	StateDone    = "done"
	StateFailed  = "failed" // attempts exhausted or cancelled; LastError says why
)

// riverStates maps a delivery state to the River job states behind it.
var riverStates = map[string][]rivertype.JobState{
	StatePending: {rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRetryable, rivertype.JobStatePending},
	StateRunning: {rivertype.JobStateRunning},
	StateDone:    {rivertype.JobStateCompleted},
	StateFailed:  {rivertype.JobStateDiscarded, rivertype.JobStateCancelled},
}

func stateOf(js rivertype.JobState) string {
	for st, jss := range riverStates {
		for _, x := range jss {
			if x == js {
				return st
			}
		}
	}
	return string(js)
}

// ListFilter selects deliveries for ListDeliveries.
type ListFilter struct {
	State string // "" for all, or pending, running, done, failed
	Limit int    // 0 means 50; at most 1000 per page
	// Cursor continues a listing after the page whose Next it was; ""
	// starts from the newest delivery.
	Cursor string
}

// DeliveryPage is one page of ListDeliveriesPage.
type DeliveryPage struct {
	Rows []DeliveryRow `json:"deliveries"`
	// Next is the cursor of the following page; "" when this page is the
	// last. It stays valid while deliveries arrive: a new delivery sorts
	// before the first page, never inside a later one.
	Next string `json:"next_cursor,omitempty"`
}

// DeliveryRow is one stored delivery and the state of its job.
type DeliveryRow struct {
	ID         string    `json:"id"`
	Event      string    `json:"event"`
	Action     string    `json:"action"`
	Repository string    `json:"repository"`
	State      string    `json:"state"`
	Attempts   int       `json:"attempts"`
	LastError  string    `json:"last_error"`
	ReceivedAt time.Time `json:"received_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// HasDelivery reports whether a delivery with this X-GitHub-Delivery ID is
// stored (whatever its state).
func (s *Store) HasDelivery(ctx context.Context, id string) (bool, error) {
	var one int
	err := queryRow(ctx, s.r, `SELECT 1 FROM tasuki_delivery WHERE id = ?`, []any{id}, &one)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up delivery %s: %w", id, err)
	}
	return true, nil
}

// loadDelivery reads a stored delivery with its payload.
func (s *Store) loadDelivery(ctx context.Context, id string) (dispatch.Delivery, error) {
	d := dispatch.Delivery{ID: id}
	var payload string
	err := queryRow(ctx, s.r, `SELECT event, action, installation_id, repository, payload FROM tasuki_delivery WHERE id = ?`,
		[]any{id}, &d.Event, &d.Action, &d.InstallationID, &d.Repository, &payload)
	if err != nil {
		return d, fmt.Errorf("load delivery %s: %w", id, err)
	}
	d.Payload = json.RawMessage(payload)
	return d, nil
}

// ListDeliveries returns the first page of stored deliveries, newest first
// (see ListDeliveriesPage).
func (s *Store) ListDeliveries(ctx context.Context, f ListFilter) ([]DeliveryRow, error) {
	p, err := s.ListDeliveriesPage(ctx, f)
	return p.Rows, err
}

// ListDeliveriesPage returns one page of stored deliveries, newest first,
// and the cursor of the next page. A malformed cursor is an error naming it.
func (s *Store) ListDeliveriesPage(ctx context.Context, f ListFilter) (DeliveryPage, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 1000)
	// One more than the page tells whether there is a next page without
	// a last, empty one.
	params := river.NewJobListParams().Kinds(deliveryKind).OrderBy(river.JobListOrderByID, river.SortOrderDesc).First(limit + 1)
	if f.State != "" {
		states, ok := riverStates[f.State]
		if !ok {
			return DeliveryPage{}, fmt.Errorf("list deliveries: unknown state %q: want pending, running, done or failed", f.State)
		}
		params = params.States(states...)
	}
	if f.Cursor != "" {
		// The cursor is the job ID the previous page ended with: ordered by
		// ID, River's cursor needs nothing else.
		after, err := strconv.ParseInt(f.Cursor, 10, 64)
		if err != nil || after <= 0 {
			return DeliveryPage{}, fmt.Errorf("list deliveries: cursor %q is not one this command printed", f.Cursor)
		}
		params = params.After(river.JobListCursorFromJob(&rivertype.JobRow{ID: after, Kind: deliveryKind}))
	}
	res, err := s.client.JobList(ctx, params)
	if err != nil {
		return DeliveryPage{}, fmt.Errorf("list deliveries: list jobs: %w", err)
	}
	jobs := res.Jobs
	page := DeliveryPage{Rows: []DeliveryRow{}}
	if len(jobs) > limit {
		jobs = jobs[:limit]
		page.Next = strconv.FormatInt(jobs[limit-1].ID, 10)
	}
	if len(jobs) == 0 {
		return page, nil
	}
	rows, err := s.deliveryRows(ctx, jobs)
	page.Rows = rows
	return page, err
}

// deliveryRows joins jobs with their delivery rows, in the jobs' order.
func (s *Store) deliveryRows(ctx context.Context, jobs []*rivertype.JobRow) ([]DeliveryRow, error) {
	ids := make([]any, len(jobs))
	for i, j := range jobs {
		ids[i] = j.ID
	}
	rs, err := s.r.query(ctx, `SELECT id, event, action, repository, received_at, job_id
		FROM tasuki_delivery WHERE job_id IN (`+list(len(ids))+`)`, ids...)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	defer rs.Close()
	byJob := make(map[int64]DeliveryRow, len(ids))
	for rs.Next() {
		var (
			r          DeliveryRow
			receivedAt int64
			jobID      sql.NullInt64
		)
		if err := rs.Scan(&r.ID, &r.Event, &r.Action, &r.Repository, &receivedAt, &jobID); err != nil {
			return nil, fmt.Errorf("list deliveries: %w", err)
		}
		r.ReceivedAt = time.UnixMicro(receivedAt).UTC()
		byJob[jobID.Int64] = r
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	out := make([]DeliveryRow, 0, len(jobs))
	for _, j := range jobs {
		r, ok := byJob[j.ID]
		if !ok {
			continue // a job whose delivery row is gone
		}
		r.State = stateOf(j.State)
		r.Attempts = j.Attempt
		r.UpdatedAt = j.CreatedAt
		if j.AttemptedAt != nil && j.AttemptedAt.After(r.UpdatedAt) {
			r.UpdatedAt = *j.AttemptedAt
		}
		if n := len(j.Errors); n > 0 {
			last := j.Errors[n-1]
			r.LastError = last.Error
			if last.At.After(r.UpdatedAt) {
				r.UpdatedAt = last.At
			}
		}
		if j.FinalizedAt != nil && j.FinalizedAt.After(r.UpdatedAt) {
			r.UpdatedAt = *j.FinalizedAt
		}
		r.UpdatedAt = r.UpdatedAt.UTC()
		out = append(out, r)
	}
	return out, nil
}

// RetryDelivery makes a stored delivery run again now, whatever its state
// (a running one is left alone). A failed delivery gets one more attempt;
// failing again, it is failed again with the new error. A delivery whose job
// River has already cleaned up gets a new job. An unknown ID is an error
// naming it that wraps ErrNotFound.
func (s *Store) RetryDelivery(ctx context.Context, id string) error {
	var jobID sql.NullInt64
	err := queryRow(ctx, s.r, `SELECT job_id FROM tasuki_delivery WHERE id = ?`, []any{id}, &jobID)
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("retry delivery %s: no such delivery: %w", id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("retry delivery %s: %w", id, err)
	}
	if jobID.Valid {
		_, err = s.client.JobRetry(ctx, jobID.Int64)
		if err == nil {
			return nil
		}
		if !errors.Is(err, rivertype.ErrNotFound) {
			return fmt.Errorf("retry delivery %s: retry job %d: %w", id, jobID.Int64, err)
		}
	}
	d, err := s.loadDelivery(ctx, id)
	if err != nil {
		return fmt.Errorf("retry delivery %s: %w", id, err)
	}
	err = s.inTx(ctx, func(q querier, jobs jobInserter) error {
		res, err := jobs(ctx, []river.InsertManyParams{insertParams(d)})
		if err != nil {
			return err
		}
		return linkJobs(ctx, q, []string{id}, res)
	})
	if err != nil {
		return fmt.Errorf("retry delivery %s: make a new job: %w", id, err)
	}
	return nil
}
