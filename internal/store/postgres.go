package store

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
)

func openPostgres(ctx context.Context, s *Store, databaseURL string) error {
	s.dialect = DialectPostgres
	s.where = "postgres " + redactURL(databaseURL)
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		// pgx's parse errors can quote the URL, password included.
		return fmt.Errorf("open %s: the URL does not parse as a PostgreSQL connection string", s.where)
	}
	if !strings.Contains(databaseURL, "pool_max_conns") {
		// River holds one connection for LISTEN and uses a few for its
		// producer, completer and maintenance; handlers use the memo. The
		// default (4 on 2 cores) starves them.
		cfg.MaxConns = 20
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("open %s: %w", s.where, err)
	}
	// Locks hold their connection while the caller works; a pool of their
	// own means lock holders never starve the queries made under the lock.
	lcfg := cfg.Copy()
	lcfg.MaxConns = 32
	lcfg.MinConns = 0
	lockPool, err := pgxpool.NewWithConfig(ctx, lcfg)
	if err != nil {
		pool.Close()
		return fmt.Errorf("open %s for locks: %w", s.where, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		lockPool.Close()
		return fmt.Errorf("open %s: %w", s.where, err)
	}
	s.w = pgxQ{pool}
	s.r = pgxQ{pool}
	s.ping = pool.Ping
	s.closeDB = func() {
		lockPool.Close()
		pool.Close()
	}

	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Logger: riverLogger(s.log)})
	if err != nil {
		s.closeDB()
		return fmt.Errorf("create job client for %s: %w", s.where, err)
	}
	s.client = client
	s.inTx = func(ctx context.Context, fn func(q querier, jobs jobInserter) error) error {
		tx, err := pool.Begin(ctx)
		if err != nil {
			return fmt.Errorf("begin transaction: %w", err)
		}
		defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // no-op after Commit
		ins := func(ctx context.Context, p []river.InsertManyParams) ([]*rivertype.JobInsertResult, error) {
			return client.InsertManyTx(ctx, tx, p)
		}
		if err := fn(pgxQ{tx}, ins); err != nil {
			return err
		}
		if err := tx.Commit(ctx); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	}
	s.newWorkerClient = func(cfg *river.Config) (riverClient, error) {
		return river.NewClient(riverpgxv5.New(pool), cfg)
	}
	driver := riverpgxv5.New(pool)
	s.riverTx = func(ctx context.Context, fn func(q querier, exec riverdriver.ExecutorTx) error) error {
		tx, err := pool.Begin(ctx)
		if err != nil {
			return fmt.Errorf("begin transaction: %w", err)
		}
		defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // no-op after Commit
		if err := fn(pgxQ{tx}, driver.UnwrapExecutor(tx)); err != nil {
			return err
		}
		if err := tx.Commit(ctx); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	}
	s.migrateRiver = func(ctx context.Context) error {
		m, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: riverLogger(s.log)})
		if err != nil {
			return err
		}
		_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		return err
	}
	s.advisory = func(ctx context.Context, key int64) (context.Context, func(), error) {
		// A lock taken while this goroutine already holds one (the
		// writer's per-artefact lock inside a handler's lock) is taken on
		// the same session: nested locks would otherwise hold two
		// connections each, and enough workers doing so at once would
		// exhaust the lock pool while each waits for its second. The
		// in-process key lock in WithLock still excludes other goroutines,
		// since advisory locks are re-entrant within a session.
		if h, ok := ctx.Value(heldConnKey{}).(*heldConn); ok {
			h.mu.Lock()
			_, err := h.conn.Exec(ctx, "SELECT pg_advisory_lock($1)", key)
			h.mu.Unlock()
			if err != nil {
				return nil, nil, err
			}
			return ctx, func() {
				uctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				h.mu.Lock()
				defer h.mu.Unlock()
				var ok bool
				if err := h.conn.QueryRow(uctx, "SELECT pg_advisory_unlock($1)", key).Scan(&ok); err != nil || !ok {
					// The outer unlock then closes the session.
					h.stuck = true
				}
			}, nil
		}
		conn, err := lockPool.Acquire(ctx)
		if err != nil {
			return nil, nil, err
		}
		// pgx cancels the waiting query when ctx ends, so a lock wait is
		// bounded by the caller's deadline.
		if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
			conn.Release()
			return nil, nil, err
		}
		h := &heldConn{conn: conn}
		return context.WithValue(ctx, heldConnKey{}, h), func() {
			uctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			h.mu.Lock()
			defer h.mu.Unlock()
			var ok bool
			if err := conn.QueryRow(uctx, "SELECT pg_advisory_unlock($1)", key).Scan(&ok); err != nil || !ok || h.stuck {
				// The session may still hold the lock: closing the
				// connection is the only sure way to release it.
				_ = conn.Hijack().Close(uctx)
				return
			}
			conn.Release()
		}, nil
	}
	return nil
}

// heldConn is the lock-pool connection of an advisory lock held by the
// goroutine whose context carries it; mu serialises its use by nested locks.
type heldConn struct {
	mu    sync.Mutex
	conn  *pgxpool.Conn
	stuck bool // a nested lock could not be released on this session
}

type heldConnKey struct{}
