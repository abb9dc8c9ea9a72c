// Package store keeps webhook deliveries durably and runs them as River jobs,
// on SQLite (one process, the default) or PostgreSQL (several replicas).
//
// A delivery is stored as one row of tasuki_delivery (id, event, action,
// installation, repository, payload, received_at, job_id) and one River job
// in the same transaction, so an acknowledged delivery is never lost and a
// redelivered one (same X-GitHub-Delivery) makes no second job. The job
// carries only the delivery ID; the worker loads the payload from the row.
// The delivery's state is its job's state.
//
// A worker process that dies while running jobs (killed, out of memory, a
// handler that exits) is noticed by its missing heartbeats, or at once by the
// process that replaces it: its jobs run again, the attempt counted, and a job
// that keeps killing its worker is failed at the attempt limit (liveness.go).
// A handler error marked dispatch.Permanent fails the delivery at once.
//
// The store also provides the cross-replica lock (handler.Locker) and the
// small key/value memo (ghwrite.Memo) the feature handlers use.
//
// SQLite serves one process running workers (other processes, like the CLI,
// may read, enqueue and retry); several replicas need PostgreSQL. On SQLite,
// Enqueue returns only once its commit is flushed to disk (an fsync of the
// WAL, made beside the writer rather than inside its commit; see
// sqlitesync.go), so an acknowledged delivery survives a power cut, and it
// gathers concurrent callers into one transaction to keep up with bursts.
package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"

	"github.com/tasuki-sre/tasuki/internal/metrics"
)

// ErrNotFound is returned (wrapped, naming what was looked up) when a
// delivery is not in the store.
var ErrNotFound = errors.New("not found")

// ErrNoSchema is wrapped by the errors of CheckSchema and of Open with
// RequireSchema when the database has not been migrated to this version.
var ErrNoSchema = errors.New("database schema missing or out of date")

// ErrClosed is returned by Enqueue after Close.
var ErrClosed = errors.New("store is closed")

// Dialect names.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// Store is the durable storage of one process. It is safe for concurrent use.
type Store struct {
	log     *slog.Logger
	metrics *metrics.Metrics
	dialect string
	where   string // the database, without credentials, for messages

	w querier // writes (SQLite: the single write connection)
	r querier // reads (SQLite: a separate read-only pool)

	client riverClient // insert-only River client: inserts, lists, retries
	inTx   func(ctx context.Context, fn func(q querier, jobs jobInserter) error) error
	// batchTx runs Enqueue's batches; on a SQLite file its commits are
	// durable only after syncLog (see sqlitesync.go). Otherwise it is inTx
	// and syncLog is nil.
	batchTx         func(ctx context.Context, fn func(q querier, jobs jobInserter) error) error
	syncLog         func() error
	newWorkerClient func(cfg *river.Config) (riverClient, error)
	// riverTx runs fn in a transaction, with River's driver executor on it
	// for the few River statements the store runs itself (riverjob.go).
	riverTx      func(ctx context.Context, fn func(q querier, exec riverdriver.ExecutorTx) error) error
	migrateRiver func(ctx context.Context) error
	// advisory takes a PostgreSQL session advisory lock; nil on SQLite,
	// which uses a lock row instead.
	// The context it returns carries the lock's connection, so that a
	// lock taken inside fn (the writer's, under a handler's) reuses that
	// session instead of holding a second connection of the lock pool.
	advisory func(ctx context.Context, key int64) (held context.Context, unlock func(), err error)
	ping     func(ctx context.Context) error
	closeDB  func()

	owner string // identifies this Store in lock rows
	locks keyLocks

	workersMu sync.Mutex
	workers   []*Workers // stopped by Close if still running

	batch   batchConfig
	reqs    chan *enqueueReq
	closeMu sync.RWMutex
	closed  bool
	batchWG sync.WaitGroup
	acks    chan ack // committed batches waiting for syncLog; nil without it
	ackDone chan struct{}
}

// riverClient is the part of *river.Client[TTx] the store uses that does not
// depend on the driver's transaction type.
type riverClient interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	JobRetry(ctx context.Context, id int64) (*rivertype.JobRow, error)
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
}

// jobInserter inserts River jobs inside the current transaction.
type jobInserter func(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)

// Option configures Open.
type Option func(*options)

type options struct {
	migrate       bool
	requireSchema bool
	metrics       *metrics.Metrics
	batchWindow   time.Duration
	batchMax      int
}

// WithMetrics records queue depth, job outcomes and job latency on m.
func WithMetrics(m *metrics.Metrics) Option { return func(o *options) { o.metrics = m } }

// WithoutMigrate skips running migrations in Open (for `app migrate` run as
// a separate step, or read-only tools).
func WithoutMigrate() Option { return func(o *options) { o.migrate = false } }

// RequireSchema makes Open fail, with advice to run `app migrate` and an
// error wrapping ErrNoSchema, unless the database holds this version's
// schema; a SQLite file that does not exist is not created. For commands
// that only read or change what the server stored. It implies
// WithoutMigrate.
func RequireSchema() Option {
	return func(o *options) { o.requireSchema, o.migrate = true, false }
}

// WithBatching sets how long Enqueue waits to gather concurrent deliveries
// into one transaction (default 1ms, counted from when the batch's first
// delivery was handed over, so a batch that queued while the previous one
// committed does not wait again) and the most it puts in one (default 256).
// A window of 0 commits whatever is queued at once.
func WithBatching(window time.Duration, max int) Option {
	return func(o *options) {
		o.batchWindow = window
		if max > 0 {
			o.batchMax = max
		}
	}
}

// Open connects to the database named by databaseURL and, unless
// WithoutMigrate is given, brings its schema (River's tables and ours) up to
// date. Accepted URLs:
//
//	sqlite://relative/path.db   sqlite:///absolute/path.db   sqlite::memory:
//	postgres://user@host:5432/db?sslmode=disable   (or postgresql://)
func Open(ctx context.Context, databaseURL string, log *slog.Logger, opts ...Option) (*Store, error) {
	o := options{migrate: true, batchWindow: time.Millisecond, batchMax: 256}
	for _, opt := range opts {
		opt(&o)
	}
	if log == nil {
		log = slog.Default()
	}
	s := &Store{
		log:     log,
		metrics: o.metrics,
		owner:   randomID(),
		batch:   batchConfig{window: o.batchWindow, max: o.batchMax},
	}
	var err error
	switch {
	case strings.HasPrefix(databaseURL, "sqlite:"):
		if o.requireSchema {
			// Opening a missing file would create an empty database.
			if err := sqliteExists(databaseURL); err != nil {
				return nil, err
			}
		}
		err = openSQLite(ctx, s, databaseURL)
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		err = openPostgres(ctx, s, databaseURL)
	default:
		return nil, fmt.Errorf("open database: unsupported URL scheme %q: want \"sqlite://PATH\", \"sqlite::memory:\" or \"postgres://...\"", schemeOf(databaseURL))
	}
	if err != nil {
		return nil, err
	}
	if s.batchTx == nil {
		s.batchTx = s.inTx
	}
	if o.migrate {
		if err := s.Migrate(ctx); err != nil {
			s.closeDB()
			return nil, err
		}
	}
	if o.requireSchema {
		if err := s.CheckSchema(ctx); err != nil {
			s.closeDB()
			return nil, err
		}
	}
	s.startBatcher()
	return s, nil
}

// Dialect reports "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect }

// Ping checks that the database answers, for /readyz.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.ping(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", s.where, err)
	}
	return nil
}

// Close finishes the deliveries already handed to Enqueue, stops Workers
// still running (giving their jobs 10s), and closes the database.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	close(s.reqs)
	s.closeMu.Unlock()
	// Workers still running would use the database after it is closed.
	s.workersMu.Lock()
	ws := s.workers
	s.workersMu.Unlock()
	for _, w := range ws {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = w.Stop(ctx)
		cancel()
	}
	s.batchWG.Wait()
	if s.acks != nil {
		close(s.acks)
		<-s.ackDone
	}
	s.closeDB()
	return nil
}

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// redactURL hides the password of a database URL (in the userinfo or a
// password= parameter) for messages and logs.
func redactURL(u string) string {
	var query string
	if i := strings.Index(u, "?"); i >= 0 {
		u, query = u[:i], u[i:]
	}
	// The authority (and its userinfo) follows the first "//".
	scheme, rest := "", u
	if i := strings.Index(u, "//"); i >= 0 {
		scheme, rest = u[:i+2], u[i+2:]
	}
	// The userinfo ends at the last @ before the path; a password may
	// itself hold an unescaped @.
	hostStart := 0
	if slash := strings.Index(rest, "/"); slash >= 0 {
		if at := strings.LastIndex(rest[:slash], "@"); at >= 0 {
			hostStart = at
		}
	} else if at := strings.LastIndex(rest, "@"); at >= 0 {
		hostStart = at
	}
	if hostStart > 0 {
		userinfo := rest[:hostStart]
		if name, _, hasPass := strings.Cut(userinfo, ":"); hasPass {
			rest = name + ":xxxxx" + rest[hostStart:]
		}
	}
	if query != "" {
		parts := strings.Split(query[1:], "&")
		for i, p := range parts {
			if k, _, ok := strings.Cut(p, "="); ok && strings.EqualFold(k, "password") {
				parts[i] = k + "=xxxxx"
			}
		}
		query = "?" + strings.Join(parts, "&")
	}
	return scheme + rest + query
}

// schemeOf returns what comes before "://" or ":", for messages that must not
// echo a URL that may hold a password.
func schemeOf(u string) string {
	if i := strings.Index(u, ":"); i >= 0 && i <= 20 {
		return u[:i]
	}
	return ""
}
