package store

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/pgtest"
)

// Two transactions storing the same new delivery at once (two replicas
// answering a redelivery): the one that loses at the row insert deletes the
// job it made, so the delivery has exactly one job.
func TestConcurrentDuplicateLeavesNoOrphanJob(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, pgtest.Start(t), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d := dispatch.Delivery{ID: "dup", Event: "push", Payload: []byte(`{}`)}

	inserted, release, firstDone := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		// The first transaction stores the row but has not committed yet.
		firstDone <- s.inTx(ctx, func(q querier, _ jobInserter) error {
			_, err := q.exec(ctx, `INSERT INTO tasuki_delivery (id, event, payload, received_at, job_id) VALUES (?, ?, ?, ?, ?)`,
				d.ID, d.Event, "{}", time.Now().UnixMicro(), int64(-1))
			close(inserted)
			<-release
			return err
		})
	}()
	<-inserted
	secondDone := make(chan map[string]bool, 1)
	go func() {
		created, err := s.insertDeliveries(ctx, []dispatch.Delivery{d})
		if err != nil {
			t.Error(err)
		}
		secondDone <- created
	}()
	time.Sleep(200 * time.Millisecond) // let the second pass its ID check and wait on the row
	close(release)
	if err := <-firstDone; err != nil {
		t.Fatal(err)
	}
	if created := <-secondDone; created[d.ID] {
		t.Errorf("second transaction reports the delivery created; the first one stored it")
	}
	var jobs int
	if err := queryRow(ctx, s.r, `SELECT count(*) FROM river_job WHERE kind = ?`, []any{deliveryKind}, &jobs); err != nil {
		t.Fatal(err)
	}
	if jobs != 0 {
		t.Errorf("%d jobs left behind by the losing transaction, want 0", jobs)
	}
}

// A delivery whose job River's cleaner has removed can still be retried: it
// gets a new job.
func TestRetryAfterJobCleanedUp(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite://"+t.TempDir()+"/t.db", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Enqueue(ctx, dispatch.Delivery{ID: "old", Event: "push", Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.exec(ctx, `DELETE FROM river_job`); err != nil {
		t.Fatal(err)
	}
	if rows, _ := s.ListDeliveries(ctx, ListFilter{}); len(rows) != 0 {
		t.Fatalf("a delivery without a job is listed: %+v", rows)
	}
	if err := s.RetryDelivery(ctx, "old"); err != nil {
		t.Fatalf("RetryDelivery: %v", err)
	}
	rows, err := s.ListDeliveries(ctx, ListFilter{})
	if err != nil || len(rows) != 1 || rows[0].ID != "old" || rows[0].State != StatePending {
		t.Fatalf("after retry: %+v, %v; want old pending", rows, err)
	}
}
