package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// sqlitePath returns the file path of a sqlite:// URL, or ":memory:".
func sqlitePath(databaseURL string) (string, error) {
	switch {
	case databaseURL == "sqlite::memory:" || databaseURL == "sqlite://:memory:":
		return ":memory:", nil
	case strings.HasPrefix(databaseURL, "sqlite://"):
		p := strings.TrimPrefix(databaseURL, "sqlite://")
		if p == "" {
			return "", fmt.Errorf("open database %q: no file path after sqlite://", databaseURL)
		}
		if strings.ContainsAny(p, "?#") {
			return "", fmt.Errorf("open database %q: the SQLite path may not contain '?' or '#'", databaseURL)
		}
		return p, nil
	default:
		return "", fmt.Errorf("open database %q: want \"sqlite://PATH\" or \"sqlite::memory:\"", databaseURL)
	}
}

// sqliteReadMmap is how much of the database file each read connection
// maps (SQLite's mmap_size). It is address space, not memory: the pages are
// the kernel's page cache, shared by the connections. Measured with
// BenchmarkHistory1M (BENCHMARKS.md).
const sqliteReadMmap = 1 << 30

func openSQLite(ctx context.Context, s *Store, databaseURL string) error {
	path, err := sqlitePath(databaseURL)
	if err != nil {
		return err
	}
	s.dialect = DialectSQLite
	s.where = "sqlite " + path
	// WAL lets readers run beside the one writer; busy_timeout makes another
	// process's write wait instead of failing; synchronous=FULL makes each
	// commit durable (an fsync per commit, which batching in Enqueue amortises);
	// BEGIN IMMEDIATE takes the write lock up front so a transaction never
	// fails half-way upgrading from a read lock.
	params := url.Values{}
	params.Set("_busy_timeout", "10000")
	params.Set("_foreign_keys", "1")
	params.Set("_journal_mode", "WAL")
	params.Set("_synchronous", "FULL")
	params.Set("_txlock", "immediate")
	memory := path == ":memory:"
	if memory {
		params.Del("_journal_mode") // an in-memory database has no WAL
	} else {
		// See checkpointer.
		params.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", walBackstopPages))
	}
	w, err := sql.Open("sqlite", path+"?"+params.Encode())
	if err != nil {
		return fmt.Errorf("open %s: %w", s.where, err)
	}
	// SQLite has one writer. River does enough concurrent work that more
	// than one connection yields SQLITE_BUSY (see riversqlite's docs), so
	// River and our writes share one connection and queue for it.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0) // an in-memory database lives as long as its connection
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return fmt.Errorf("open %s: %w", s.where, err)
	}
	r := w
	if !memory {
		// Reads (HasDelivery, memo, payload loads) use their own pool so that
		// they do not queue behind writes: WAL readers see the last commit.
		rp := url.Values{}
		rp.Set("_busy_timeout", "10000")
		rp.Set("_query_only", "1")
		// Reads of large files (a lead-time history of a million pull
		// requests) go through the page cache's map instead of a pread
		// per page; see sqliteReadMmap.
		rp.Add("_pragma", fmt.Sprintf("mmap_size(%d)", sqliteReadMmap))
		r, err = sql.Open("sqlite", path+"?"+rp.Encode())
		if err != nil {
			w.Close()
			return fmt.Errorf("open %s for reading: %w", s.where, err)
		}
		r.SetMaxOpenConns(4)
	}
	s.w = sqlQ{w}
	s.r = sqlQ{r}
	s.ping = func(ctx context.Context) error {
		_, err := s.r.exec(ctx, "SELECT 1")
		return err
	}
	s.closeDB = func() {
		if r != w {
			r.Close()
		}
		w.Close()
	}

	client, err := river.NewClient(riversqlite.New(w), &river.Config{Logger: riverLogger(s.log)})
	if err != nil {
		s.closeDB()
		return fmt.Errorf("create job client for %s: %w", s.where, err)
	}
	s.client = client
	s.inTx = func(ctx context.Context, fn func(q querier, jobs jobInserter) error) error {
		tx, err := w.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("begin transaction: %w", err)
		}
		defer tx.Rollback() //nolint:errcheck // no-op after Commit
		ins := func(ctx context.Context, p []river.InsertManyParams) ([]*rivertype.JobInsertResult, error) {
			return client.InsertManyTx(ctx, tx, p)
		}
		if err := fn(sqlQ{tx}, ins); err != nil {
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	}
	s.newWorkerClient = func(cfg *river.Config) (riverClient, error) {
		return river.NewClient(riversqlite.New(w), cfg)
	}
	driver := riversqlite.New(w)
	s.riverTx = func(ctx context.Context, fn func(q querier, exec riverdriver.ExecutorTx) error) error {
		tx, err := w.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("begin transaction: %w", err)
		}
		defer tx.Rollback() //nolint:errcheck // no-op after Commit
		if err := fn(sqlQ{tx}, driver.UnwrapExecutor(tx)); err != nil {
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	}
	s.migrateRiver = func(ctx context.Context) error {
		m, err := rivermigrate.New(riversqlite.New(w), &rivermigrate.Config{Logger: riverLogger(s.log)})
		if err != nil {
			return err
		}
		_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		return err
	}
	if memory {
		return nil
	}
	var mode string
	if err := queryRow(ctx, s.w, `PRAGMA journal_mode`, nil, &mode); err != nil {
		s.closeDB()
		return fmt.Errorf("open %s: read the journal mode: %w", s.where, err)
	}
	if !strings.EqualFold(mode, "wal") {
		// Without a WAL (a file system without shared memory, say),
		// Enqueue's batches commit with synchronous=FULL, like the rest.
		s.log.Warn("SQLite is not in WAL mode; webhook intake will be slower", "journal_mode", mode, "db", s.where)
		return nil
	}
	cp := url.Values{}
	cp.Set("_busy_timeout", "10000")
	// A checkpoint flushes the WAL before copying it and the database file
	// after: what it copies stays durable.
	cp.Set("_synchronous", "FULL")
	cdb, err := sql.Open("sqlite", path+"?"+cp.Encode())
	if err != nil {
		s.closeDB()
		return fmt.Errorf("open %s for checkpoints: %w", s.where, err)
	}
	cdb.SetMaxOpenConns(1)
	stopCheckpoints := checkpointer(cdb, 50*time.Millisecond, s.log)
	syncer := &walSyncer{path: path + "-wal"}
	s.syncLog = syncer.sync
	s.batchTx = sqliteBatchTx(w, client)
	closeDB := s.closeDB
	s.closeDB = func() {
		stopCheckpoints()
		cdb.Close()
		syncer.close()
		closeDB()
	}
	return nil
}
