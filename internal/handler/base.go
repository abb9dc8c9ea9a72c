// Package handler is the thin GitHub shell around the feature cores: it
// gathers the facts a core asks for through a go-github client, calls the
// core, and carries out the core's intended writes through ghwrite. The App
// (per-installation clients, webhook deliveries) and the Action (GITHUB_TOKEN,
// GITHUB_EVENT_PATH) both use the types here; they differ only in the Base
// they build.
package handler

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/ghwrite"
)

// ClientSource returns a go-github client acting for an installation. The
// Action's source ignores the ID and returns its GITHUB_TOKEN client.
type ClientSource interface {
	Client(ctx context.Context, installationID int64) (*github.Client, error)
}

// ConfigLoader reads the effective .github/tasuki.yml of a repository.
type ConfigLoader interface {
	Load(ctx context.Context, c *github.Client, owner, repo string) config.Fetched
}

// Locker serialises work on one key across workers and replicas, so that two
// deliveries about the same incident or PR racing each other still produce
// one artefact.
type Locker interface {
	WithLock(ctx context.Context, key string, fn func(ctx context.Context) error) error
}

// Memo remembers artefact IDs (comment IDs, postmortem numbers) to spare API
// calls. GitHub stays the truth: a remembered ID that no longer resolves is
// looked up again by marker.
type Memo interface {
	Get(ctx context.Context, key string) (string, bool, error)
	Put(ctx context.Context, key, value string) error
}

// Base holds the dependencies every feature handler shares.
type Base struct {
	Clients  ClientSource
	Config   ConfigLoader
	Locker   Locker
	Memo     Memo
	Identity ghwrite.Identity // the logins whose artefacts tasuki trusts as its own
	Log      *slog.Logger
	Now      func() time.Time
}

// Logger returns b.Log or the default logger.
func (b *Base) Logger() *slog.Logger {
	if b.Log == nil {
		return slog.Default()
	}
	return b.Log
}

// Clock returns the current time from b.Now, or time.Now.
func (b *Base) Clock() time.Time {
	if b.Now == nil {
		return time.Now().UTC()
	}
	return b.Now().UTC()
}

// MemLocker is an in-process Locker for the Action and for tests.
type MemLocker struct {
	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

// WithLock runs fn while holding the lock for key.
func (l *MemLocker) WithLock(ctx context.Context, key string, fn func(ctx context.Context) error) error {
	l.mu.Lock()
	if l.locks == nil {
		l.locks = map[string]*sync.Mutex{}
	}
	m, ok := l.locks[key]
	if !ok {
		m = &sync.Mutex{}
		l.locks[key] = m
	}
	l.mu.Unlock()
	m.Lock()
	defer m.Unlock()
	return fn(ctx)
}

// MemMemo is an in-process Memo for the Action and for tests.
type MemMemo struct {
	mu sync.Mutex
	m  map[string]string
}

// Get returns the value stored for key.
func (m *MemMemo) Get(_ context.Context, key string) (string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.m[key]
	return v, ok, nil
}

// Put stores value for key.
func (m *MemMemo) Put(_ context.Context, key, value string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string]string{}
	}
	m.m[key] = value
	return nil
}

var (
	_ Locker = (*MemLocker)(nil)
	_ Memo   = (*MemMemo)(nil)
)

// writer returns the idempotent writer acting through c, trusting the
// artefacts of b.Identity and remembering their IDs in b.Memo. Every
// feature writes through it, so all find their artefacts the same way.
func (b *Base) writer(c *github.Client) *ghwrite.Writer {
	var opts []ghwrite.Option
	if b.Memo != nil {
		opts = append(opts, ghwrite.WithMemo(b.Memo))
	}
	return ghwrite.New(c, b.Identity, b.Logger(), opts...)
}
