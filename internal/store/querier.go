package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// querier runs our own SQL on either database. Queries are written once with
// `?` placeholders in SQL both dialects accept; the PostgreSQL side rewrites
// them to $1, $2, ...
type querier interface {
	exec(ctx context.Context, q string, args ...any) (rowsAffected int64, err error)
	query(ctx context.Context, q string, args ...any) (rows, error)
}

type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// queryRow runs q and scans its first row into dest; no row is ErrNotFound.
func queryRow(ctx context.Context, q querier, sqlText string, args []any, dest ...any) error {
	rs, err := q.query(ctx, sqlText, args...)
	if err != nil {
		return err
	}
	defer rs.Close()
	if !rs.Next() {
		if err := rs.Err(); err != nil {
			return err
		}
		return ErrNotFound
	}
	if err := rs.Scan(dest...); err != nil {
		return err
	}
	return rs.Err()
}

// sqlQ runs on a database/sql pool or transaction (SQLite).
type sqlQ struct {
	db interface {
		ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
		QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	}
}

func (s sqlQ) exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := s.db.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (s sqlQ) query(ctx context.Context, q string, args ...any) (rows, error) {
	rs, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rs}, nil
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }

// pgxQ runs on a pgx pool or transaction (PostgreSQL).
type pgxQ struct {
	db interface {
		Exec(ctx context.Context, q string, args ...any) (pgconn.CommandTag, error)
		Query(ctx context.Context, q string, args ...any) (pgx.Rows, error)
	}
}

func (p pgxQ) exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := p.db.Exec(ctx, rebind(q), args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (p pgxQ) query(ctx context.Context, q string, args ...any) (rows, error) {
	rs, err := p.db.Query(ctx, rebind(q), args...)
	if err != nil {
		return nil, err
	}
	return rs, nil
}

// rebind turns `?` placeholders into PostgreSQL's $1, $2, ... Our queries
// hold no `?` inside string literals.
func rebind(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// placeholders returns "(?, ?, ?), (?, ?, ?)" for rows×cols.
func placeholders(rowsN, cols int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	return strings.TrimSuffix(strings.Repeat(one+", ", rowsN), ", ")
}

// list returns "?, ?, ?" for n values.
func list(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
