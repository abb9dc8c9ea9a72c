// Package handler is the shared base of the feature shells: what every
// shell needs (Base: clients, configuration, lock, memo, identity, logger;
// the writer), the facts several features read (Ownership: who owns a path
// or service, team membership) and what each says of itself (Feature: the
// events it handles, the permissions it needs). Each feature's shell stands
// in its own package below: planreview, postmortem, configcheck, and
// commands (the one issue_comment handler running `/tasuki VERB`). A shell
// gathers the facts its core asks for through a go-github client, calls the
// core, and carries out the core's intended writes through ghwrite. The App
// (per-installation clients, webhook deliveries) and the Action
// (GITHUB_TOKEN, GITHUB_EVENT_PATH) both use the shells; they differ only in
// the Base they build.
package handler

import (
	"context"
	"errors"
	"fmt"
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

// Locker is ghwrite.Locker, the one lock interface: it serialises work on
// one key across workers and replicas, so that two deliveries about the
// same incident or PR racing each other still produce one artefact. The
// shells hold it around a whole decision; the writer takes it again, under
// its own "ghwrite:" keys, around every find-by-marker-else-create.
type Locker = ghwrite.Locker

// Base holds the dependencies every feature handler shares.
type Base struct {
	Clients  ClientSource
	Config   ConfigLoader
	Locker   Locker
	Memo     ghwrite.Memo     // nil: nothing remembered, every artefact found by marker
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

// MemLocker is ghwrite.MemLocker, the in-process Locker for the Action and
// for tests.
type MemLocker = ghwrite.MemLocker

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
	_ Locker       = (*MemLocker)(nil)
	_ ghwrite.Memo = (*MemMemo)(nil)
	_ ConfigLoader = (*config.Loader)(nil)
)

// Writer returns the idempotent writer acting through c, trusting the
// artefacts of b.Identity, remembering their IDs in b.Memo and taking
// b.Locker's lock around every find-by-marker-else-create, so that
// replicas sharing the store make one artefact. Every feature writes
// through it, so all find their artefacts the same way.
func (b *Base) Writer(c *github.Client) *ghwrite.Writer {
	var opts []ghwrite.Option
	if b.Memo != nil {
		opts = append(opts, ghwrite.WithMemo(b.Memo))
	}
	if b.Locker != nil {
		opts = append(opts, ghwrite.WithLocker(b.Locker))
	}
	return ghwrite.New(c, b.Identity, b.Logger(), opts...)
}

// ErrNoClient is returned by a handler whose Base has no client source.
var ErrNoClient = errors.New("no GitHub client source configured")

// Client returns the client acting for installation id, or ErrNoClient.
func (b *Base) Client(ctx context.Context, id int64) (*github.Client, error) {
	if b.Clients == nil {
		return nil, ErrNoClient
	}
	c, err := b.Clients.Client(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("client for installation %d: %w", id, err)
	}
	return c, nil
}
