package ghclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// GitHub's secondary rate limits on content-creating requests (POST, PATCH,
// PUT, DELETE): at most 80 a minute, and one at a time for each
// installation or token. Every client made by New, Client and
// NewTokenClient paces its writes by them in its transport, so the App and
// the Action do so alike and no caller has to.
//
// Pacing is per client: the App's clients pace each installation on its
// own (Client caches one client per installation), the JWT client and each
// NewTokenClient have their own pacer. Several replicas of the App each pace
// their own writes; GitHub's answer (403 or 429 with Retry-After) covers
// what the replicas together send too much of, and the transport waits
// that out as well.
const (
	// DefaultWritesPerMinute is GitHub's documented limit on content-creating
	// requests per minute.
	DefaultWritesPerMinute = 80
	// secondaryRetries bounds how many secondary rate limit answers to one
	// write the transport waits out before it hands the answer to the caller.
	secondaryRetries = 2
	// maxSecondaryWait is the longest wait for a secondary rate limit done
	// inside a request; a longer Retry-After is the job's to wait out
	// (it is rescheduled), not a worker's to sleep through.
	maxSecondaryWait = 5 * time.Minute
	// secondaryDefaultWait is GitHub's advice when a secondary limit answer
	// carries no Retry-After: wait at least a minute.
	secondaryDefaultWait = time.Minute
)

// Clock is the time the transport paces writes and backs off by. The wall
// clock is the default; tests pass one whose Sleep advances it, so that a
// minute of pacing takes no real minute.
type Clock interface {
	Now() time.Time
	// Sleep waits d, or until ctx ends (returning ctx.Err()).
	Sleep(ctx context.Context, d time.Duration) error
}

type wallClock struct{}

func (wallClock) Now() time.Time                                   { return time.Now() }
func (wallClock) Sleep(ctx context.Context, d time.Duration) error { return sleep(ctx, d) }

// WithClock sets the clock the transport paces writes, waits out secondary
// rate limits and backs off retries by (default the wall clock).
func WithClock(c Clock) Option { return func(o *options) { o.pace.clock = c } }

// WithWriteLimit sets how many content-creating requests one installation
// or token sends per sliding minute (default DefaultWritesPerMinute). n < 0
// turns pacing off: writes are then neither serialised nor counted, but
// secondary rate limit answers are still waited out.
func WithWriteLimit(n int) Option { return func(o *options) { o.pace.perMinute = n } }

// paceOptions is what WithClock and WithWriteLimit set, and the timeout of
// one attempt (Config.Timeout).
type paceOptions struct {
	perMinute int // 0: DefaultWritesPerMinute; < 0: no pacing
	clock     Clock
	timeout   time.Duration // 0: defaultAttemptTimeout
}

// defaultAttemptTimeout bounds one HTTP attempt when Config.Timeout does not.
const defaultAttemptTimeout = 30 * time.Second

// WaitError is a write the transport did not send because GitHub's
// secondary rate limit makes it wait until Until (tasuki's own pacing of
// writes, or a Retry-After GitHub sent), later than the request's context
// allows. Nothing was written: the job should run again after Until. Its
// RetryAt method is what Classify and dispatch.RetryAt read, so the job
// worker snoozes the job until then. (A Retry-After GitHub sent that is too
// long to wait out passes through as GitHub's answer instead, which
// go-github reports as *github.AbuseRateLimitError.)
type WaitError struct {
	Until    time.Time
	Method   string
	Endpoint string // the low-cardinality template, as in metrics
}

func (e *WaitError) Error() string {
	return fmt.Sprintf("%s %s: GitHub's secondary rate limit on writes asks to wait until %s, beyond the request's deadline",
		e.Method, e.Endpoint, e.Until.UTC().Format(time.RFC3339))
}

// RetryAt returns when the write may be sent.
func (e *WaitError) RetryAt() time.Time { return e.Until }

func newWaitError(req *http.Request, endpoint string, until time.Time) *WaitError {
	return &WaitError{Until: until, Method: req.Method, Endpoint: endpoint}
}

// pacer paces the writes of one installation or token: one at a time, at
// most perMinute in any sliding minute, none before a Retry-After GitHub
// sent has passed.
type pacer struct {
	perMinute int // <= 0: writes are not serialised nor counted
	clock     Clock
	slot      chan struct{} // holds a token while a write is in flight
	// timeout bounds each attempt the transport sends (not the waits
	// between them, which the caller's context bounds).
	timeout time.Duration

	mu     sync.Mutex
	sent   []time.Time // when the last perMinute writes were sent, oldest first
	paused time.Time   // no write before then (GitHub's Retry-After)
}

func newPacer(o paceOptions) *pacer {
	p := &pacer{perMinute: o.perMinute, clock: o.clock, timeout: o.timeout}
	if p.timeout <= 0 {
		p.timeout = defaultAttemptTimeout
	}
	if p.perMinute == 0 {
		p.perMinute = DefaultWritesPerMinute
	}
	if p.clock == nil {
		p.clock = wallClock{}
	}
	p.slot = make(chan struct{}, 1)
	return p
}

// acquire takes the write slot, then admits the first attempt. The caller
// calls release when the write's answer is in.
func (p *pacer) acquire(req *http.Request, endpoint string) (release func(), err error) {
	ctx := req.Context()
	if p.perMinute > 0 {
		// A waiter whose deadline falls before GitHub's pause ends need not
		// queue for the slot to learn so.
		if until := p.pausedUntil(); !until.IsZero() {
			if now := p.clock.Now(); beyondDeadline(ctx, until.Sub(now)) {
				return nil, newWaitError(req, endpoint, until)
			}
		}
		select {
		case p.slot <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		release = func() { <-p.slot }
	} else {
		release = func() {}
	}
	if err := p.admit(req, endpoint); err != nil {
		release()
		return nil, err
	}
	return release, nil
}

// admit waits, holding the slot, until one more write fits: the sliding
// minute has room and GitHub's pause is over. It counts the write as sent.
func (p *pacer) admit(req *http.Request, endpoint string) error {
	ctx := req.Context()
	for {
		now := p.clock.Now()
		p.mu.Lock()
		until := p.paused
		if p.perMinute > 0 && len(p.sent) >= p.perMinute {
			// The oldest of the last perMinute writes leaves the window a
			// minute after it was sent.
			if next := p.sent[len(p.sent)-p.perMinute].Add(time.Minute); next.After(until) {
				until = next
			}
		}
		if !until.After(now) {
			if p.perMinute > 0 {
				p.sent = append(p.sent, now)
				if len(p.sent) > p.perMinute {
					p.sent = append(p.sent[:0], p.sent[len(p.sent)-p.perMinute:]...)
				}
			}
			p.mu.Unlock()
			return nil
		}
		p.mu.Unlock()
		wait := until.Sub(now)
		if beyondDeadline(ctx, wait) {
			return newWaitError(req, endpoint, until)
		}
		if err := p.clock.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// pause holds back this client's writes until t.
func (p *pacer) pause(t time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t.After(p.paused) {
		p.paused = t
	}
}

func (p *pacer) pausedUntil() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.paused
}

// beyondDeadline reports whether waiting d would end after ctx's deadline.
// The deadline is on the wall clock, and d is measured on the pacer's
// clock: a test's clock may run fast, the deadline never does.
func beyondDeadline(ctx context.Context, d time.Duration) bool {
	dl, ok := ctx.Deadline()
	return ok && d > time.Until(dl)
}

// contentCreating reports whether req counts against GitHub's limit on
// content-creating requests: a POST, PATCH, PUT or DELETE, except minting
// an installation token (which the App's own transport does before the
// installation's write) and a GraphQL query (a POST that reads).
func contentCreating(req *http.Request) bool {
	switch req.Method {
	case http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete:
	default:
		return false
	}
	switch {
	case Endpoint(req.URL.Path) == "/app/installations/{n}/access_tokens":
		return false
	case strings.HasSuffix(strings.TrimRight(req.URL.Path, "/"), "/graphql"):
		return graphQLMutation(req)
	}
	return true
}

// graphQLMutation reports whether the GraphQL request's document is a
// mutation. A body it cannot read counts as one: pacing a read costs time,
// not pacing a write can cost the installation its access for a while.
func graphQLMutation(req *http.Request) bool {
	if req.Body == nil || req.GetBody == nil {
		return true
	}
	rc, err := req.GetBody()
	if err != nil {
		return true
	}
	defer rc.Close()
	var body struct {
		Query string `json:"query"`
	}
	if err := json.NewDecoder(io.LimitReader(rc, 1<<20)).Decode(&body); err != nil {
		return true
	}
	q := strings.TrimSpace(body.Query)
	for strings.HasPrefix(q, "#") { // comments before the operation
		if i := strings.IndexByte(q, '\n'); i >= 0 {
			q = strings.TrimSpace(q[i+1:])
		} else {
			q = ""
		}
	}
	return strings.HasPrefix(q, "mutation")
}

// secondaryLimit reports whether resp is one of GitHub's secondary rate
// limit answers and how long it asks to wait: a 403 or 429 that is not the
// primary limit (X-RateLimit-Remaining: 0, which lasts until the hourly
// reset) and carries Retry-After or says "secondary rate limit". It leaves
// resp's body readable.
func secondaryLimit(resp *http.Response, now time.Time) (time.Duration, bool) {
	if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusTooManyRequests {
		return 0, false
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		return 0, false
	}
	if v := resp.Header.Get("Retry-After"); v != "" {
		if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
			return time.Duration(s) * time.Second, true
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0), true
		}
		return secondaryDefaultWait, true
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		return secondaryDefaultWait, true
	}
	// A 403 is a secondary limit only if GitHub says so; other 403s
	// (permissions, a suspended installation) are final.
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return 0, false
	}
	if strings.Contains(strings.ToLower(string(body)), "secondary rate limit") {
		return secondaryDefaultWait, true
	}
	return 0, false
}
