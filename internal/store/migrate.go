package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// migration is one step of our schema. The same statements run on SQLite and
// PostgreSQL, so they use only types both accept: times are stored as Unix
// microseconds (bigint) because SQLite has no timestamp type, and payloads as
// text so the stored bytes are exactly what GitHub sent.
type migration struct {
	version  int
	name     string
	stmts    []string
	postgres []string // run after stmts on PostgreSQL only
}

var migrations = []migration{
	{version: 1, name: "deliveries, memo, locks", stmts: []string{
		// payload last: SQLite stores a large value's tail in overflow
		// pages, and columns after it would be read from there too.
		`CREATE TABLE tasuki_delivery (
			id              text PRIMARY KEY,
			event           text NOT NULL,
			action          text NOT NULL DEFAULT '',
			installation_id bigint NOT NULL DEFAULT 0,
			repository      text NOT NULL DEFAULT '',
			received_at     bigint NOT NULL,
			job_id          bigint,
			payload         text NOT NULL
		)`,
		`CREATE INDEX tasuki_delivery_job_id ON tasuki_delivery (job_id)`,
		`CREATE INDEX tasuki_delivery_received_at ON tasuki_delivery (received_at)`,
		`CREATE TABLE tasuki_memo (
			key        text PRIMARY KEY,
			value      text NOT NULL,
			updated_at bigint NOT NULL
		)`,
		`CREATE TABLE tasuki_lock (
			key        text PRIMARY KEY,
			owner      text NOT NULL,
			expires_at bigint NOT NULL
		)`,
	}},
	// PostgreSQL compresses a text value over 2 KB with pglz, which cost
	// the server more CPU than anything else in storing a delivery (16 KB
	// on average); lz4 compresses about as well several times faster
	// (webhook ingest, BENCHMARKS.md: 3,600 -> 5,300 deliveries/s). Servers
	// built without lz4 keep pglz. Only new rows are affected.
	{version: 2, name: "payload compression lz4", postgres: []string{
		`DO $$ BEGIN
			IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
				ALTER TABLE tasuki_delivery ALTER COLUMN payload SET COMPRESSION lz4;
			END IF;
		END $$`,
	}},
	// One row per worker process (River client), its heartbeat; see
	// liveness.go. id is the River client ID, as river_job.attempted_by
	// records it; seen_at 0 means stopped.
	{version: 3, name: "worker heartbeats", stmts: []string{
		`CREATE TABLE tasuki_worker (
			id         text PRIMARY KEY,
			host       text NOT NULL,
			pid        bigint NOT NULL,
			started_at bigint NOT NULL,
			seen_at    bigint NOT NULL
		)`,
	}},
	// Lead time's delivery events (leadtime.go). The columns a query
	// selects or sorts on are real columns; the rest of each event is one
	// compact encoded value (data), so that reading a million rows scans
	// two columns instead of fifteen. A pull's reviews are kept in their
	// own table and, encoded, on the pull's row, so History reads a PR
	// and its reviews in one row.
	{version: 4, name: "lead time events", stmts: []string{
		`CREATE TABLE tasuki_lt_pull (
			repo      text NOT NULL,
			number    bigint NOT NULL,
			opened_at bigint NOT NULL,
			merged_at bigint NOT NULL,
			closed_at bigint NOT NULL,
			data      bytea NOT NULL,
			reviews   bytea,
			PRIMARY KEY (repo, number)
		)`,
		`CREATE INDEX tasuki_lt_pull_merged ON tasuki_lt_pull (repo, merged_at)`,
		`CREATE TABLE tasuki_lt_review (
			repo   text NOT NULL,
			number bigint NOT NULL,
			id     bigint NOT NULL,
			at     bigint NOT NULL,
			data   bytea NOT NULL,
			PRIMARY KEY (repo, number, id)
		)`,
		`CREATE TABLE tasuki_lt_deployment (
			repo        text NOT NULL,
			id          text NOT NULL,
			finished_at bigint NOT NULL,
			data        bytea NOT NULL,
			PRIMARY KEY (repo, id)
		)`,
		`CREATE INDEX tasuki_lt_deployment_finished ON tasuki_lt_deployment (repo, finished_at)`,
		`CREATE TABLE tasuki_lt_job (
			repo   text NOT NULL,
			id     bigint NOT NULL,
			at     bigint NOT NULL,
			data   bytea NOT NULL,
			PRIMARY KEY (repo, id)
		)`,
		`CREATE INDEX tasuki_lt_job_at ON tasuki_lt_job (repo, at)`,
		`CREATE TABLE tasuki_lt_incident (
			repo        text NOT NULL,
			number      bigint NOT NULL,
			started_at  bigint NOT NULL,
			resolved_at bigint NOT NULL,
			data        bytea NOT NULL,
			PRIMARY KEY (repo, number)
		)`,
		`CREATE INDEX tasuki_lt_incident_started ON tasuki_lt_incident (repo, started_at)`,
	}},
}

// migrationLockKey serialises Migrate across replicas starting together.
const migrationLockKey = int64(0x7461_7375_6b69_0001) // "tasuki" + 1

// Migrate brings River's tables and ours up to date. It is safe to run from
// several replicas at once (PostgreSQL serialises them with an advisory
// lock) and to run again (applied steps are skipped).
func (s *Store) Migrate(ctx context.Context) error {
	if s.advisory != nil {
		_, unlock, err := s.advisory(ctx, migrationLockKey)
		if err != nil {
			return fmt.Errorf("migrate %s: take migration lock: %w", s.where, err)
		}
		defer unlock()
	}
	if err := s.migrateRiver(ctx); err != nil {
		return fmt.Errorf("migrate %s: River tables: %w", s.where, err)
	}
	if _, err := s.w.exec(ctx, `CREATE TABLE IF NOT EXISTS tasuki_migration (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at bigint NOT NULL
	)`); err != nil {
		return fmt.Errorf("migrate %s: create tasuki_migration: %w", s.where, err)
	}
	for _, m := range migrations {
		err := s.inTx(ctx, func(q querier, _ jobInserter) error {
			var v int
			err := queryRow(ctx, q, `SELECT version FROM tasuki_migration WHERE version = ?`, []any{m.version}, &v)
			if err == nil {
				return nil // already applied
			}
			if !errors.Is(err, ErrNotFound) {
				return err
			}
			stmts := m.stmts
			if s.dialect == DialectPostgres {
				stmts = append(stmts[:len(stmts):len(stmts)], m.postgres...)
			}
			for _, stmt := range stmts {
				if _, err := q.exec(ctx, stmt); err != nil {
					return err
				}
			}
			_, err = q.exec(ctx, `INSERT INTO tasuki_migration (version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, time.Now().UnixMicro())
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate %s: step %d (%s): %w", s.where, m.version, m.name, err)
		}
	}
	return nil
}

// CheckSchema fails with advice when the database has not been migrated to
// this version, so that a command opened WithoutMigrate can say so up front
// instead of failing later on a missing table. Its error wraps ErrNoSchema.
func (s *Store) CheckSchema(ctx context.Context) error {
	want := migrations[len(migrations)-1].version
	var have int
	err := queryRow(ctx, s.r, `SELECT coalesce(max(version), 0) FROM tasuki_migration`, nil, &have)
	if err != nil || have == 0 {
		// A missing table is the usual reason for err; a database that
		// does not answer fails again on the command's first query.
		return &schemaError{fmt.Sprintf("database %s has no tasuki tables; run `app migrate` first", s.where)}
	}
	if have < want {
		return &schemaError{fmt.Sprintf("database %s has tasuki's schema version %d, this version needs %d; run `app migrate` first", s.where, have, want)}
	}
	return nil
}

// sqliteExists fails with CheckSchema's advice when a SQLite URL names a
// file that does not exist.
func sqliteExists(databaseURL string) error {
	path, err := sqlitePath(databaseURL)
	if err != nil || path == ":memory:" {
		return err
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return &schemaError{fmt.Sprintf("database sqlite %s does not exist, so it has no tasuki tables; run `app migrate` first", path)}
	}
	return nil
}

type schemaError struct{ msg string }

func (e *schemaError) Error() string { return e.msg }
func (e *schemaError) Unwrap() error { return ErrNoSchema }
