package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The process running workers on a SQLite file holds a lease row, so that a
// second process starting workers (a restart overlapping the old process)
// can tell whether deliveries marked running belong to a live process or
// were cut off by a crash.
const (
	workersLeaseKey = "tasuki.store:sqlite-workers"
	workersLease    = time.Minute
)

// claimSQLiteWorkers takes the workers lease unless a live process holds it.
// It returns the lease owner, or "" when another live process holds the
// lease. Having taken it, the caller ends at once the attempts that a dead
// process left running (liveness.go); River's rescuer would wait
// JobTimeout+30s, and the heartbeats DeadAfter.
func (s *Store) claimSQLiteWorkers(ctx context.Context) (string, error) {
	host, _ := os.Hostname()
	owner := fmt.Sprintf("%s|%d|%s", host, os.Getpid(), s.owner)
	var holder string
	err := s.inTx(ctx, func(q querier, _ jobInserter) error {
		var (
			cur     string
			expires int64
		)
		err := queryRow(ctx, q, `SELECT owner, expires_at FROM tasuki_lock WHERE key = ?`, []any{workersLeaseKey}, &cur, &expires)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		now := time.Now()
		if err == nil && expires > now.UnixMicro() && holderAlive(cur, host) {
			holder = cur
			return nil
		}
		_, err = q.exec(ctx, `INSERT INTO tasuki_lock (key, owner, expires_at) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at`,
			workersLeaseKey, owner, now.Add(workersLease).UnixMicro())
		return err
	})
	if err != nil {
		return "", fmt.Errorf("claim the SQLite workers lease: %w", err)
	}
	if holder != "" {
		s.log.Warn("another process is running workers on this SQLite file; SQLite serves one, use PostgreSQL for several",
			"other", holder)
		return "", nil
	}
	return owner, nil
}

// holderAlive reports whether the process named in a lease owner
// ("host|pid|store") may still be running.
func holderAlive(owner, host string) bool {
	parts := strings.SplitN(owner, "|", 3)
	if len(parts) != 3 || parts[0] != host {
		return true // another machine (SQLite on a shared disk): trust the lease
	}
	pid, err := strconv.Atoi(parts[1])
	if err != nil {
		return true
	}
	if pid == os.Getpid() {
		return true // another Store in this process, alive while it renews
	}
	return processAlive(pid)
}

// processAlive reports whether a process with this pid runs on this machine
// (in this pid namespace).
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func (s *Store) renewSQLiteWorkers(ctx context.Context, owner string) {
	if _, err := s.w.exec(ctx, `UPDATE tasuki_lock SET expires_at = ? WHERE key = ? AND owner = ?`,
		time.Now().Add(workersLease).UnixMicro(), workersLeaseKey, owner); err != nil && ctx.Err() == nil {
		s.log.Warn("renew the SQLite workers lease", "err", err)
	}
}

func (s *Store) releaseSQLiteWorkers(owner string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.w.exec(ctx, `DELETE FROM tasuki_lock WHERE key = ? AND owner = ?`, workersLeaseKey, owner); err != nil {
		s.log.Warn("release the SQLite workers lease", "err", err)
	}
}
