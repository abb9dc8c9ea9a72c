package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/pgtest"
)

// jobColumns reads a river_job row as column name -> value.
func jobColumns(t *testing.T, db *sql.DB, id int64) map[string]any {
	t.Helper()
	rs, err := db.Query(`SELECT *, json(args) AS args_text, json(metadata) AS metadata_text, json(tags) AS tags_text,
		created_at || '' AS created_text, scheduled_at || '' AS scheduled_text FROM river_job WHERE id = ?`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	cols, _ := rs.Columns()
	if !rs.Next() {
		t.Fatalf("job %d not found", id)
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rs.Scan(ptrs...); err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	for i, c := range cols {
		if b, ok := vals[i].([]byte); ok {
			vals[i] = string(b)
		}
		out[c] = vals[i]
	}
	return out
}

// The SQLite intake inserts delivery jobs with its own prepared statement
// (sqliteJobSQL) instead of River's InsertManyTx. The row must be the one
// River's own InsertManyFastTx makes for the same arguments and options, or
// River's workers could skip or mishandle it; a River upgrade that changes
// the job table fails here. Also: the writer connection is back at
// synchronous=FULL after a batch, and the job is worked.
func TestDirectJobMatchesRiver(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "t.db"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.syncLog == nil {
		t.Fatal("the SQLite file store does not use the pipelined commit")
	}
	d := dispatch.Delivery{ID: "direct-1", Event: "issues", Action: "opened", Payload: []byte(`{"action":"opened"}`)}
	if created, err := s.Enqueue(ctx, d); err != nil || !created {
		t.Fatalf("Enqueue = %v, %v", created, err)
	}
	db := s.w.(sqlQ).db.(*sql.DB)
	var ourID int64
	if err := db.QueryRow(`SELECT job_id FROM tasuki_delivery WHERE id = ?`, d.ID).Scan(&ourID); err != nil {
		t.Fatal(err)
	}

	client, err := river.NewClient(riversqlite.New(db), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.InsertManyFastTx(ctx, tx, []river.InsertManyParams{insertParams(d)}); err != nil {
		t.Fatal(err)
	}
	var riverID int64
	if err := tx.QueryRow(`SELECT max(id) FROM river_job`).Scan(&riverID); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if riverID == ourID {
		t.Fatal("River's insert made no new job")
	}

	ours, theirs := jobColumns(t, db, ourID), jobColumns(t, db, riverID)
	timeFormat := regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$`)
	for _, c := range []string{"created", "scheduled"} {
		for who, row := range map[string]map[string]any{"ours": ours, "River's": theirs} {
			if v, _ := row[c+"_text"].(string); !timeFormat.MatchString(v) {
				t.Errorf("%s job: %s_at = %#v, not SQLite's datetime('now', 'subsec') form", who, c, row[c+"_text"])
			}
			delete(row, c+"_text")
			delete(row, c+"_at")
		}
	}
	delete(ours, "id")
	delete(theirs, "id")
	if diff := cmp.Diff(theirs, ours); diff != "" {
		t.Errorf("job row (-River's InsertManyFastTx +ours):\n%s", diff)
	}
	var args deliveryArgs
	if err := json.Unmarshal([]byte(fmt.Sprint(ours["args_text"])), &args); err != nil || args.DeliveryID != d.ID {
		t.Errorf("job args %v (%v) do not name delivery %s", ours["args_text"], err, d.ID)
	}

	var sync int
	if err := db.QueryRow(`PRAGMA synchronous`).Scan(&sync); err != nil || sync != 2 {
		t.Errorf("writer connection has synchronous = %d (%v) after a batch, want 2 (FULL)", sync, err)
	}

	got := make(chan string, 2)
	w, err := s.RunWorkers(ctx, dispatchFunc(func(_ context.Context, d dispatch.Delivery) error {
		got <- d.ID
		return nil
	}), WorkerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop(ctx)
	if id := <-got; id != d.ID {
		t.Errorf("worker ran delivery %s, want %s", id, d.ID)
	}
}

type dispatchFunc func(context.Context, dispatch.Delivery) error

func (f dispatchFunc) Dispatch(ctx context.Context, d dispatch.Delivery) error { return f(ctx, d) }

// On PostgreSQL the payload column is compressed with lz4 (migration 2),
// when the server has it.
func TestPostgresPayloadCompression(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, pgtest.Start(t), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var hasLZ4 bool
	if err := queryRow(ctx, s.r, `SELECT EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals))`, nil, &hasLZ4); err != nil {
		t.Fatal(err)
	}
	var method string
	if err := queryRow(ctx, s.r, `SELECT coalesce(nullif(attcompression, ''), '-') FROM pg_attribute WHERE attrelid = 'tasuki_delivery'::regclass AND attname = 'payload'`, nil, &method); err != nil {
		t.Fatal(err)
	}
	want := "-"
	if hasLZ4 {
		want = "l"
	}
	if method != want {
		t.Errorf("payload compression = %q, want %q (server has lz4: %v)", method, want, hasLZ4)
	}
}

// A batch is acknowledged only once its commit is flushed: when the flush
// fails, Enqueue fails (GitHub will redeliver), whatever the commit did.
func TestFailedLogSyncIsNotAcknowledged(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "t.db"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.syncLog = func() error { return fmt.Errorf("disk on fire") }
	_, err = s.Enqueue(ctx, dispatch.Delivery{ID: "unsynced", Event: "push", Payload: []byte(`{}`)})
	if err == nil || !regexp.MustCompile(`unsynced.*disk on fire`).MatchString(err.Error()) {
		t.Errorf("Enqueue with a failing log sync = %v, want an error naming the delivery and the cause", err)
	}
}

// Checkpoints run beside the writer, which alone never lets SQLite start the
// WAL over while deliveries keep coming; the writer's backstop checkpoint
// must keep the WAL bounded (see checkpointer).
func TestWALStaysBoundedUnderSustainedLoad(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.db")
	s, err := Open(ctx, "sqlite://"+path, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	payload := []byte(`{"pad":"` + strings.Repeat("x", 16<<10) + `"}`)
	const n, senders = 4000, 32 // 64 MB of payloads
	var wg sync.WaitGroup
	next := make(chan int)
	go func() {
		for i := range n {
			next <- i
		}
		close(next)
	}()
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if _, err := s.Enqueue(ctx, dispatch.Delivery{ID: fmt.Sprint("load-", i), Event: "push", Payload: payload}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	// The backstop restarts the WAL at about walBackstopPages pages (16 MB).
	if limit := int64(40 << 20); fi.Size() > limit {
		t.Errorf("WAL is %d MB after %d MB of deliveries, want under %d MB", fi.Size()>>20, n*len(payload)>>20, limit>>20)
	}
}
