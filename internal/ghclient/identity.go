package ghclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/google/go-github/v60/github"
)

// Identity is who the App is on GitHub.
type Identity struct {
	Slug  string // "tasuki"
	Login string // the bot account its installations act as, "tasuki[bot]"
}

// FetchIdentity asks GitHub once who the App is (GET /app, with the App's
// JWT client). It also proves that the App ID and key work.
func FetchIdentity(ctx context.Context, app *github.Client) (Identity, error) {
	a, _, err := app.Apps.Get(ctx, "")
	if err != nil {
		return Identity{}, &identityError{err}
	}
	if a.GetSlug() == "" {
		return Identity{}, errors.New("GET /app: GitHub's answer has no slug")
	}
	return Identity{Slug: a.GetSlug(), Login: a.GetSlug() + "[bot]"}, nil
}

// identityError is a failed GET /app. Its message leaves out the API URL
// (which may carry credentials of a proxy) so that it can be shown on
// /readyz; the full error stays in the chain.
type identityError struct{ err error }

func (e *identityError) Unwrap() error { return e.err }

func (e *identityError) Error() string {
	var (
		er    *github.ErrorResponse
		rl    *github.RateLimitError
		abuse *github.AbuseRateLimitError
		ue    *url.Error
	)
	answer := func(resp *http.Response, msg string) string {
		if resp == nil {
			return "GET /app: " + msg
		}
		if msg != "" {
			msg = ": " + msg
		}
		return "GET /app: GitHub answered " + resp.Status + msg
	}
	switch {
	case errors.As(e.err, &er):
		return answer(er.Response, er.Message)
	case errors.As(e.err, &rl):
		return answer(rl.Response, rl.Message)
	case errors.As(e.err, &abuse):
		return answer(abuse.Response, abuse.Message)
	case errors.As(e.err, &ue):
		return "GET /app: " + ue.Err.Error()
	}
	return "GET /app: " + e.err.Error()
}

// ErrIdentityPending is returned while GitHub has not yet said who the App
// is. Errors that wrap it say why (the last attempt's error).
var ErrIdentityPending = errors.New("app identity not resolved yet")

// IdentityOption configures ResolveIdentity.
type IdentityOption func(*IdentityResolver)

// WithIdentityBackoff sets the wait after the first failed attempt (default
// 1s, doubled after each failure, with jitter) and its ceiling (default 1m).
func WithIdentityBackoff(first, ceiling time.Duration) IdentityOption {
	return func(r *IdentityResolver) { r.first, r.ceiling = first, ceiling }
}

// WithIdentityTimeout bounds one attempt (default 15s).
func WithIdentityTimeout(d time.Duration) IdentityOption {
	return func(r *IdentityResolver) { r.timeout = d }
}

// WithIdentityLogger sets where failed attempts are logged.
func WithIdentityLogger(l *slog.Logger) IdentityOption {
	return func(r *IdentityResolver) { r.log = l }
}

// IdentityResolver asks GitHub who the App is in the background and keeps
// asking, with exponential backoff, until GitHub answers: the App starts,
// and accepts webhooks, while GitHub is unreachable, and the work that needs
// the identity waits for it with Wait. Its methods are safe for concurrent
// use.
type IdentityResolver struct {
	first, ceiling, timeout time.Duration
	log                     *slog.Logger

	resolved chan struct{} // closed once id is set
	answered chan struct{} // closed once the first attempt is over
	stopped  chan struct{} // closed when the background goroutine returns
	cancel   context.CancelFunc
	id       Identity

	mu       sync.Mutex
	last     error // the last attempt's error
	attempts int
}

// ResolveIdentity starts asking GitHub who the App is, through app (the
// App's JWT client), until it answers, ctx ends or Stop is called.
func ResolveIdentity(ctx context.Context, app *github.Client, opts ...IdentityOption) *IdentityResolver {
	r := &IdentityResolver{
		first: time.Second, ceiling: time.Minute, timeout: 15 * time.Second,
		resolved: make(chan struct{}), answered: make(chan struct{}), stopped: make(chan struct{}),
	}
	for _, o := range opts {
		o(r)
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	ctx, r.cancel = context.WithCancel(ctx)
	go r.run(ctx, app)
	return r
}

func (r *IdentityResolver) run(ctx context.Context, app *github.Client) {
	defer close(r.stopped)
	defer r.cancel()
	answered := false
	wait := r.first
	for {
		actx, cancel := context.WithTimeout(ctx, r.timeout)
		id, err := FetchIdentity(actx, app)
		cancel()
		if ctx.Err() != nil {
			// Stopped mid-attempt: the attempt's error says nothing about
			// GitHub.
			if !answered {
				close(r.answered)
			}
			return
		}
		r.mu.Lock()
		r.attempts++
		n := r.attempts
		r.last = err
		if err == nil {
			r.id = id
			close(r.resolved)
		}
		r.mu.Unlock()
		if !answered {
			answered = true
			close(r.answered)
		}
		if err == nil {
			r.log.Info("app identity resolved", "app", id.Login, "attempts", n)
			return
		}
		// Half to all of the backoff: replicas restarted together do not ask
		// in step.
		d := wait/2 + rand.N(wait/2+1)
		if at, ok := RetryAt(err); ok {
			d = max(d, time.Until(at))
		}
		r.log.Warn("cannot ask GitHub who the App is; retrying", "attempt", n, "retry_in", d.Round(time.Millisecond).String(), "err", err)
		if sleep(ctx, d) != nil {
			return
		}
		wait = min(2*wait, r.ceiling)
	}
}

// Wait returns the App's identity, waiting for GitHub's answer until ctx
// ends or the resolver stops. Its error wraps ErrIdentityPending, the last
// attempt's error and, when ctx ended, ctx.Err().
func (r *IdentityResolver) Wait(ctx context.Context) (Identity, error) {
	select {
	case <-r.resolved:
		return r.id, nil
	default:
	}
	select {
	case <-r.resolved:
		return r.id, nil
	case <-ctx.Done():
		return Identity{}, fmt.Errorf("%w: %w", r.Err(), ctx.Err())
	case <-r.stopped:
		select {
		case <-r.resolved:
			return r.id, nil
		default:
		}
		return Identity{}, fmt.Errorf("%w (stopped asking)", r.Err())
	}
}

// Err returns nil once the identity is known, and otherwise an error
// wrapping ErrIdentityPending that says what the last attempt got. Its
// message names no URL or credential: /readyz shows it.
func (r *IdentityResolver) Err() error {
	select {
	case <-r.resolved:
		return nil
	default:
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last == nil {
		return fmt.Errorf("%w: GitHub has not answered GET /app yet", ErrIdentityPending)
	}
	return fmt.Errorf("%w: %w", ErrIdentityPending, r.last)
}

// FirstAnswer waits until GitHub answered a first time, or the resolver
// stopped, or ctx ends, and returns nil if the identity is known and
// otherwise Err. A server uses it to refuse to start when GitHub rejects
// the App's credentials, which no retry fixes.
func (r *IdentityResolver) FirstAnswer(ctx context.Context) error {
	select {
	case <-r.answered:
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", r.Err(), ctx.Err())
	}
	return r.Err()
}

// Stop stops asking and waits for the background goroutine to return.
func (r *IdentityResolver) Stop() {
	r.cancel()
	<-r.stopped
}
