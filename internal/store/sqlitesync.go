package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/tasuki-sre/tasuki/internal/dispatch"
)

// Enqueue's batches on a SQLite file in WAL mode are committed in two steps,
// so that the single writer connection never waits for the disk:
//
//  1. The transaction commits with synchronous=NORMAL, set on the writer
//     connection for this transaction only: the WAL frames are written, but
//     not flushed.
//  2. Another goroutine fsyncs the WAL file (walSyncer) and only then are
//     the batch's callers answered. Meanwhile the writer already runs the
//     next batch; one fsync covers every batch committed before it started.
//
// An acknowledged delivery is therefore as durable as with synchronous=FULL
// (which is the same fsync, made inside the commit): its frames reached the
// disk before its 202. What is not yet flushed was not acknowledged, and
// SQLite's WAL stays consistent after a power cut with synchronous=NORMAL (a
// torn tail is discarded by its checksums). Every other transaction on the
// writer (River's, the memo's, the locks') keeps synchronous=FULL.
//
// Checkpoints (copying the WAL into the database file) run on a connection
// of their own (checkpointer) rather than inside the writer's commits,
// where SQLite's automatic checkpoint took a fifth of the writer's time.

// walSyncer fsyncs a database's WAL file.
type walSyncer struct {
	path string // the -wal file
	mu   sync.Mutex
	f    *os.File
	fi   os.FileInfo
}

// sync flushes the WAL file as it is now to the disk. The file is opened
// again when it was replaced (SQLite deletes it when its last connection
// closes, and may then create it anew), and its directory is then flushed
// too, as SQLite does for a new file.
func (w *walSyncer) sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	fi, err := os.Stat(w.path)
	if err != nil {
		return fmt.Errorf("sync the write-ahead log: %w", err)
	}
	if w.f == nil || !os.SameFile(fi, w.fi) {
		if w.f != nil {
			w.f.Close()
			w.f = nil
		}
		f, err := os.OpenFile(w.path, os.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("sync the write-ahead log: %w", err)
		}
		if err := syncDir(filepath.Dir(w.path)); err != nil {
			f.Close()
			return fmt.Errorf("sync the write-ahead log's directory: %w", err)
		}
		w.f, w.fi = f, fi
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("sync the write-ahead log: %w", err)
	}
	return nil
}

func (w *walSyncer) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// sqliteRowSQL stores one delivery row; see insertDeliveries.
const sqliteRowSQL = `INSERT INTO tasuki_delivery
	(id, event, action, installation_id, repository, payload, received_at, job_id)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (id) DO NOTHING`

// sqliteBatchQ is the querier of a SQLite batch: it stores delivery rows
// with a statement prepared once, instead of a many-row INSERT that SQLite
// would parse again for every batch.
type sqliteBatchQ struct {
	sqlQ
	rowStmt *sql.Stmt
}

func (q sqliteBatchQ) insertRows(ctx context.Context, ds []dispatch.Delivery, now int64, jobIDs []int64) (map[string]bool, error) {
	inserted := make(map[string]bool, len(ds))
	for i, d := range ds {
		res, err := q.rowStmt.ExecContext(ctx, d.ID, d.Event, d.Action, d.InstallationID, d.Repository, string(d.Payload), now, jobIDs[i])
		if err != nil {
			return nil, err
		}
		if n, err := res.RowsAffected(); err != nil {
			return nil, err
		} else if n == 1 {
			inserted[d.ID] = true
		}
	}
	return inserted, nil
}

// sqliteBatchTx returns the transaction runner of Enqueue's batches on a
// SQLite file in WAL mode: it commits with synchronous=NORMAL on the writer
// connection, which it sets back to FULL before giving the connection back.
// The caller must sync the WAL before acknowledging.
func sqliteBatchTx(w *sql.DB, client *river.Client[*sql.Tx]) func(ctx context.Context, fn func(q querier, jobs jobInserter) error) error {
	var jobStmt, rowStmt *sql.Stmt // prepared once, on the one write connection
	return func(ctx context.Context, fn func(q querier, jobs jobInserter) error) (err error) {
		if rowStmt == nil {
			// Only the committer goroutine gets here.
			if jobStmt, err = w.PrepareContext(ctx, sqliteJobSQL); err != nil {
				return fmt.Errorf("prepare the job insert: %w", err)
			}
			if rowStmt, err = w.PrepareContext(ctx, sqliteRowSQL); err != nil {
				return fmt.Errorf("prepare the delivery insert: %w", err)
			}
		}
		conn, err := w.Conn(ctx)
		if err != nil {
			return fmt.Errorf("take the write connection: %w", err)
		}
		defer func() {
			// Never hand the connection back with synchronous=NORMAL:
			// other transactions rely on FULL. If it cannot be set back,
			// the connection is dropped.
			if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA synchronous = FULL`); rerr != nil {
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
				if err == nil {
					err = fmt.Errorf("restore synchronous=FULL: %w", rerr)
				}
			}
			conn.Close()
		}()
		if _, err := conn.ExecContext(ctx, `PRAGMA synchronous = NORMAL`); err != nil {
			return fmt.Errorf("set synchronous=NORMAL: %w", err)
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("begin transaction: %w", err)
		}
		defer tx.Rollback() //nolint:errcheck // no-op after Commit
		ins := func(ctx context.Context, p []river.InsertManyParams) ([]*rivertype.JobInsertResult, error) {
			return insertDeliveryJobs(ctx, tx, tx.StmtContext(ctx, jobStmt), client, p)
		}
		if err := fn(sqliteBatchQ{sqlQ{tx}, tx.StmtContext(ctx, rowStmt)}, ins); err != nil {
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	}
}

// insertDeliveryJobs inserts delivery jobs with stmt (sqliteJobSQL); any
// other job goes through River.
func insertDeliveryJobs(ctx context.Context, tx *sql.Tx, stmt *sql.Stmt, client *river.Client[*sql.Tx], p []river.InsertManyParams) ([]*rivertype.JobInsertResult, error) {
	for _, x := range p {
		// Delivery jobs are made by insertParams alone; anything else
		// (other options) is River's to insert.
		if _, ok := x.Args.(deliveryArgs); !ok || x.InsertOpts == nil || x.InsertOpts.MaxAttempts != maxAttemptsCeiling ||
			x.InsertOpts.Queue != river.QueueDefault || x.InsertOpts.Priority != 0 || !x.InsertOpts.ScheduledAt.IsZero() ||
			len(x.InsertOpts.Tags) > 0 || len(x.InsertOpts.Metadata) > 0 || x.InsertOpts.UniqueOpts.ByArgs ||
			x.InsertOpts.UniqueOpts.ByPeriod != 0 || x.InsertOpts.UniqueOpts.ByQueue || x.InsertOpts.UniqueOpts.ByState != nil {
			return client.InsertManyTx(ctx, tx, p)
		}
	}
	out := make([]*rivertype.JobInsertResult, len(p))
	for i, x := range p {
		args, err := json.Marshal(x.Args)
		if err != nil {
			return nil, err
		}
		var id int64
		if err := stmt.QueryRowContext(ctx, string(args), deliveryKind, maxAttemptsCeiling, river.QueueDefault).Scan(&id); err != nil {
			return nil, err
		}
		out[i] = &rivertype.JobInsertResult{Job: &rivertype.JobRow{ID: id, Kind: deliveryKind, EncodedArgs: args,
			MaxAttempts: maxAttemptsCeiling, Priority: 1, Queue: river.QueueDefault, State: rivertype.JobStateAvailable}}
	}
	return out, nil
}

// checkpointer copies the WAL into the database file every interval, on a
// connection of its own, until stop is called. PASSIVE checkpoints never
// block the writer or the readers; what they cannot copy yet waits for the
// next round.
//
// A checkpoint running beside the writer never finishes with nothing left
// to copy while deliveries keep coming, so SQLite would never start the WAL
// over and it would grow without bound (measured: 400 MB after 20,000
// deliveries). The writer therefore keeps an automatic checkpoint, at
// walBackstopPages instead of SQLite's 1000: by the time it runs, this
// checkpointer has copied nearly everything, and SQLite can then restart the
// WAL from its beginning.
func checkpointer(db *sql.DB, every time.Duration, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`); err != nil && ctx.Err() == nil {
				log.Warn("checkpoint the SQLite write-ahead log", "err", err)
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// walBackstopPages is the writer's automatic checkpoint threshold; see
// checkpointer.
const walBackstopPages = 4000
