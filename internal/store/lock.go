package store

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Lock rows (SQLite) are leases: a holder that dies without releasing blocks
// others for at most lockLease; a live holder renews the lease while fn runs.
const (
	lockLease = 30 * time.Second
	lockRenew = 10 * time.Second
	lockPoll  = 25 * time.Millisecond
)

var lockSeq atomic.Uint64

// WithLock runs fn while holding the lock named key, excluding every other
// WithLock on the same key in this process and in other processes and
// replicas sharing the database. It waits for the lock until ctx ends.
//
// On PostgreSQL the lock is a session advisory lock; on SQLite it is a lease
// row in tasuki_lock, which other processes on the same file (the CLI beside
// the server) respect.
func (s *Store) WithLock(ctx context.Context, key string, fn func(ctx context.Context) error) error {
	// Waiters in this process queue here first, so that they do not each
	// hold a database connection (PostgreSQL) or poll the lock row (SQLite).
	unlockLocal, err := s.locks.lock(ctx, key)
	if err != nil {
		return fmt.Errorf("lock %s: %w", key, err)
	}
	defer unlockLocal()

	if s.advisory != nil {
		held, unlock, err := s.advisory(ctx, advisoryKey(key))
		if err != nil {
			return fmt.Errorf("lock %s: %w", key, err)
		}
		defer unlock()
		return fn(held)
	}

	owner := s.owner + "-" + strconv.FormatUint(lockSeq.Add(1), 10)
	if err := s.acquireLockRow(ctx, key, owner); err != nil {
		return fmt.Errorf("lock %s: %w", key, err)
	}
	renewCtx, stopRenew := context.WithCancel(context.WithoutCancel(ctx))
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		t := time.NewTicker(lockRenew)
		defer t.Stop()
		for {
			select {
			case <-renewCtx.Done():
				return
			case <-t.C:
				_, err := s.w.exec(renewCtx, `UPDATE tasuki_lock SET expires_at = ? WHERE key = ? AND owner = ?`,
					time.Now().Add(lockLease).UnixMicro(), key, owner)
				if err != nil && renewCtx.Err() == nil {
					s.log.Warn("renew lock", "key", key, "err", err)
				}
			}
		}
	}()
	defer func() {
		stopRenew()
		<-renewed
		rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := s.w.exec(rctx, `DELETE FROM tasuki_lock WHERE key = ? AND owner = ?`, key, owner); err != nil {
			s.log.Warn("release lock", "key", key, "err", err)
		}
	}()
	return fn(ctx)
}

// acquireLockRow inserts the lock row, or takes over an expired one, polling
// until it succeeds or ctx ends.
func (s *Store) acquireLockRow(ctx context.Context, key, owner string) error {
	for {
		now := time.Now()
		n, err := s.w.exec(ctx, `INSERT INTO tasuki_lock (key, owner, expires_at) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
			WHERE tasuki_lock.expires_at < ?`,
			key, owner, now.Add(lockLease).UnixMicro(), now.UnixMicro())
		if err != nil {
			return err
		}
		if n == 1 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(lockPoll):
		}
	}
}

// tryLease takes the lease row named key for owner, or renews it when owner
// holds it, unless another owner holds it unexpired; it reports whether owner
// holds it now, for d. Unlike WithLock it never waits, and it uses the lease
// row on PostgreSQL too: the holder is whoever renews it, not a connection.
func (s *Store) tryLease(ctx context.Context, key, owner string, d time.Duration) (bool, error) {
	now := time.Now()
	n, err := s.w.exec(ctx, `INSERT INTO tasuki_lock (key, owner, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
		WHERE tasuki_lock.owner = excluded.owner OR tasuki_lock.expires_at < ?`,
		key, owner, now.Add(d).UnixMicro(), now.UnixMicro())
	if err != nil {
		return false, fmt.Errorf("lease %s: %w", key, err)
	}
	return n == 1, nil
}

// releaseLease gives up the lease row named key if owner holds it.
func (s *Store) releaseLease(key, owner string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.w.exec(ctx, `DELETE FROM tasuki_lock WHERE key = ? AND owner = ?`, key, owner); err != nil {
		s.log.Warn("release lease", "key", key, "err", err)
	}
}

// advisoryKey maps a lock name to PostgreSQL's 64-bit advisory lock space.
func advisoryKey(key string) int64 {
	h := fnv.New64a()
	h.Write([]byte("tasuki:"))
	h.Write([]byte(key))
	return int64(h.Sum64())
}

// keyLocks is an in-process lock per key that a waiter can abandon when its
// context ends.
type keyLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	ch   chan struct{} // holds a token while locked
	refs int
}

func (k *keyLocks) lock(ctx context.Context, key string) (func(), error) {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyLock{}
	}
	l, ok := k.m[key]
	if !ok {
		l = &keyLock{ch: make(chan struct{}, 1)}
		k.m[key] = l
	}
	l.refs++
	k.mu.Unlock()

	release := func() {
		k.mu.Lock()
		l.refs--
		if l.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
	select {
	case l.ch <- struct{}{}:
		return func() { <-l.ch; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}

// Get returns the value stored under key, and whether there was one.
func (s *Store) Get(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := queryRow(ctx, s.r, `SELECT value FROM tasuki_memo WHERE key = ?`, []any{key}, &v)
	if errors.Is(err, ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read memo %s: %w", key, err)
	}
	return v, true, nil
}

// Put stores value under key, replacing any earlier value.
func (s *Store) Put(ctx context.Context, key, value string) error {
	_, err := s.w.exec(ctx, `INSERT INTO tasuki_memo (key, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		key, value, time.Now().UnixMicro())
	if err != nil {
		return fmt.Errorf("write memo %s: %w", key, err)
	}
	return nil
}
