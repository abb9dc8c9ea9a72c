package ghwrite

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/tasuki-sre/tasuki/internal/marker"
)

// Locker serialises work on one key across workers and replicas. It is the
// one lock interface (handler.Locker is an alias); store.Store implements
// it (a PostgreSQL advisory lock, or a lease row in SQLite).
type Locker interface {
	WithLock(ctx context.Context, key string, fn func(ctx context.Context) error) error
}

// WithLocker makes the Writer take l's lock around every "find by marker,
// else create", so that two workers (or replicas, with the store's lock)
// racing on one artefact make one. Without it the Writer locks within the
// process only, in a table all Writers share: enough for the Action and for
// one App process, not for several replicas.
func WithLocker(l Locker) Option { return func(w *Writer) { w.locker = l } }

// processLocks is the lock of Writers made without WithLocker.
var processLocks = &MemLocker{}

// The lock keys. They start with "ghwrite:" so that they never equal a key
// a caller holds around its call into the Writer (the in-process lock is
// not reentrant), and carry the repository in lower case, as GitHub's names
// are case-insensitive.
func repoKey(owner, repo string) string { return strings.ToLower(owner + "/" + repo) }

func markerKey(m marker.Marker) string { return m.Kind + " key=" + m.Key }

func commentLockKey(owner, repo string, number int, m marker.Marker) string {
	return fmt.Sprintf("ghwrite:comment:%s#%d:%s", repoKey(owner, repo), number, markerKey(m))
}

func issueLockKey(owner, repo string, m marker.Marker) string {
	return fmt.Sprintf("ghwrite:issue:%s:%s", repoKey(owner, repo), markerKey(m))
}

func pullLockKey(owner, repo string, m marker.Marker) string {
	return fmt.Sprintf("ghwrite:pull:%s:%s", repoKey(owner, repo), markerKey(m))
}

func checkRunLockKey(owner, repo string, run CheckRun) string {
	return fmt.Sprintf("ghwrite:check-run:%s@%s:%s:%s", repoKey(owner, repo), run.HeadSHA, run.Name, run.ExternalID)
}

// withLock runs fn under the lock named key.
func (w *Writer) withLock(ctx context.Context, key string, fn func(ctx context.Context) error) error {
	l := w.locker
	if l == nil {
		l = processLocks
	}
	return l.WithLock(ctx, key, fn)
}

// locked runs fn under the lock named key and returns its results.
func locked[T any](ctx context.Context, w *Writer, key string, fn func(ctx context.Context) (T, bool, error)) (T, bool, error) {
	var (
		v       T
		created bool
	)
	err := w.withLock(ctx, key, func(ctx context.Context) error {
		var err error
		v, created, err = fn(ctx)
		return err
	})
	return v, created, err
}

// MemLocker is an in-process Locker: for the Action, for tests, and the
// default of a Writer without WithLocker. A waiter gives up when its
// context ends, and a key's entry is dropped when nobody holds or awaits it.
type MemLocker struct {
	mu    sync.Mutex
	locks map[string]*memLock
}

type memLock struct {
	ch   chan struct{} // holds a token while locked
	refs int
}

// WithLock runs fn while holding the lock named key.
func (l *MemLocker) WithLock(ctx context.Context, key string, fn func(ctx context.Context) error) error {
	l.mu.Lock()
	if l.locks == nil {
		l.locks = map[string]*memLock{}
	}
	k, ok := l.locks[key]
	if !ok {
		k = &memLock{ch: make(chan struct{}, 1)}
		l.locks[key] = k
	}
	k.refs++
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		if k.refs--; k.refs == 0 {
			delete(l.locks, key)
		}
		l.mu.Unlock()
	}()
	select {
	case k.ch <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("lock %s: %w", key, ctx.Err())
	}
	defer func() { <-k.ch }()
	return fn(ctx)
}

var _ Locker = (*MemLocker)(nil)
