package config

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v60/github"
)

// OrgRepo is the repository holding an organisation's defaults, as GitHub's
// own community health files do.
const OrgRepo = ".github"

// Loader reads the effective configuration of a repository from GitHub: the
// organisation defaults in <owner>/.github and the repository's own file,
// both at .github/tasuki.yml, merged by Parse. It remembers what it read for
// a short time, so that the several handlers of one delivery (and a burst of
// deliveries) read each file once.
type Loader struct {
	ttl time.Duration
	now func() time.Time

	mu    sync.Mutex
	cache map[string]cacheEntry
}

// cacheEntry keeps the files, not the parsed Config: a Config holds maps and
// slices, and a caller adjusting its copy must not change what the next
// caller gets. Parsing again costs about a millisecond; reading again costs
// two API calls.
type cacheEntry struct {
	at        time.Time
	org, repo []byte
	tooBig    []error
}

// LoaderOption configures a Loader.
type LoaderOption func(*Loader)

// WithTTL sets how long a loaded configuration is reused (default 30s; 0
// turns caching off).
func WithTTL(d time.Duration) LoaderOption { return func(l *Loader) { l.ttl = d } }

// WithClock sets the clock the cache uses.
func WithClock(now func() time.Time) LoaderOption { return func(l *Loader) { l.now = now } }

// NewLoader returns a Loader.
func NewLoader(opts ...LoaderOption) *Loader {
	l := &Loader{ttl: 30 * time.Second, now: time.Now, cache: map[string]cacheEntry{}}
	for _, o := range opts {
		o(l)
	}
	return l
}

// Load returns the effective configuration of owner/repo on its default
// branch. It never fails outright: Fetched.Err holds a *ParseError (or
// several, joined) for an invalid file, with Config falling back section by
// section, or the GitHub error that kept a file from being read, with Config
// the defaults. Callers that can retry should check for the latter (it is
// not a *ParseError); a *github.RateLimitError is among them.
func (l *Loader) Load(ctx context.Context, c *github.Client, owner, repo string) Fetched {
	key := strings.ToLower(owner + "/" + repo)
	if e, ok := l.cached(key); ok {
		return parse(owner+"/"+repo, e)
	}
	e, err := read(ctx, c, owner, repo, "")
	if err != nil {
		return Fetched{Config: Default(), Err: &fetchError{err}}
	}
	l.store(key, e)
	return parse(owner+"/"+repo, e)
}

// LoadAt is Load for the repository's file at ref (a branch, tag or SHA; ""
// for the default branch), as a pull request would change it. The
// organisation defaults are always read from their default branch. LoadAt
// does not cache.
func (l *Loader) LoadAt(ctx context.Context, c *github.Client, owner, repo, ref string) Fetched {
	e, err := read(ctx, c, owner, repo, ref)
	if err != nil {
		return Fetched{Config: Default(), Err: &fetchError{err}}
	}
	return parse(owner+"/"+repo, e)
}

// read fetches the organisation file (unless repo is the organisation's
// .github repository itself, whose file is then read as its own) and the
// repository file at ref.
func read(ctx context.Context, c *github.Client, owner, repo, ref string) (cacheEntry, error) {
	full := owner + "/" + repo
	var e cacheEntry
	if !strings.EqualFold(repo, OrgRepo) {
		b, size, err := readFile(ctx, c, owner, OrgRepo, Path, "", true)
		if err != nil {
			return e, err
		}
		if size > MaxSize {
			e.tooBig = append(e.tooBig, sizeError(OrgSource(full), size))
		}
		e.org = b
	}
	b, size, err := readFile(ctx, c, owner, repo, Path, ref, false)
	if err != nil {
		return e, err
	}
	if size > MaxSize {
		e.tooBig = append(e.tooBig, sizeError(Source(full), size))
	}
	e.repo = b
	return e, nil
}

func parse(full string, e cacheEntry) Fetched {
	f := Parse(full, e.org, e.repo)
	if len(e.tooBig) > 0 {
		f.Err = errors.Join(append(slices.Clone(e.tooBig), f.Err)...)
	}
	return f
}

// Forget drops what the Loader remembers of owner/repo, or of every
// repository of owner when repo is OrgRepo (whose file is their defaults).
// The config handler calls it when a push changes a configuration file.
func (l *Loader) Forget(owner, repo string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if strings.EqualFold(repo, OrgRepo) {
		prefix := strings.ToLower(owner) + "/"
		for k := range l.cache {
			if strings.HasPrefix(k, prefix) {
				delete(l.cache, k)
			}
		}
		return
	}
	delete(l.cache, strings.ToLower(owner+"/"+repo))
}

func (l *Loader) cached(key string) (cacheEntry, bool) {
	if l.ttl <= 0 {
		return cacheEntry{}, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.cache[key]
	if !ok || l.now().Sub(e.at) >= l.ttl {
		return cacheEntry{}, false
	}
	return e, true
}

func (l *Loader) store(key string, e cacheEntry) {
	if l.ttl <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	// Keep the map from growing without bound in a long-running App: drop
	// the expired entries whenever it gets large.
	if len(l.cache) > 10000 {
		for k, e := range l.cache {
			if now.Sub(e.at) >= l.ttl {
				delete(l.cache, k)
			}
		}
	}
	e.at = now
	l.cache[key] = e
}

// ReadError returns the GitHub error that kept a configuration file from
// being read (the job should retry: Config is only the defaults), or nil
// when the files were read, valid or not.
func (f Fetched) ReadError() error {
	var fe *fetchError
	if errors.As(f.Err, &fe) {
		return fe.err
	}
	return nil
}

// fetchError marks a failure to read from GitHub, as opposed to a bad file.
type fetchError struct{ err error }

func (e *fetchError) Error() string { return e.err.Error() }
func (e *fetchError) Unwrap() error { return e.err }

// readFile reads path at ref from owner/repo. A missing file, a missing
// repository (no <owner>/.github) and a directory at path are all "absent":
// nil. A file over MaxSize is not fetched: nil and its size. With
// forbiddenIsAbsent, a 403 is "absent" too: the Action's GITHUB_TOKEN may
// read only its own repository, not the organisation's .github.
func readFile(ctx context.Context, c *github.Client, owner, repo, path, ref string, forbiddenIsAbsent bool) ([]byte, int, error) {
	var opts *github.RepositoryContentGetOptions
	if ref != "" {
		opts = &github.RepositoryContentGetOptions{Ref: ref}
	}
	fc, _, _, err := c.Repositories.GetContents(ctx, owner, repo, path, opts)
	if err != nil {
		var er *github.ErrorResponse
		if errors.As(err, &er) && er.Response != nil {
			// go-github reports rate limits as their own types, never as a
			// plain ErrorResponse, so a 403 here is a permission.
			switch er.Response.StatusCode {
			case http.StatusNotFound:
				return nil, 0, nil
			case http.StatusForbidden:
				if forbiddenIsAbsent {
					return nil, 0, nil
				}
			}
		}
		return nil, 0, fmt.Errorf("read %s/%s:%s: %w", owner, repo, path, err)
	}
	if fc == nil {
		return nil, 0, nil
	}
	if fc.GetSize() > MaxSize {
		return nil, fc.GetSize(), nil
	}
	s, err := fc.GetContent()
	if err != nil {
		return nil, 0, fmt.Errorf("read %s/%s:%s: %w", owner, repo, path, err)
	}
	return []byte(s), len(s), nil
}
