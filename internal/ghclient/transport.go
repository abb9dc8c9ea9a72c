package ghclient

import (
	"bytes"
	"container/list"
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tasuki-sre/tasuki/internal/metrics"
)

// transport is the RoundTripper under every tasuki GitHub client: it counts
// requests, records the rate limit left, retries 5xx answers to idempotent
// requests, turns repeated GETs into conditional requests served from a
// cache on 304, and paces content-creating requests by GitHub's secondary
// rate limit (see pacing.go): one at a time, at most 80 a minute, and a
// secondary limit answer to a write waited out and the write sent again.
// Other rate limit answers (the primary limit; a secondary limit on a read,
// or one that asks to wait past the request's deadline) pass through
// untouched so that go-github reports them as *RateLimitError /
// *AbuseRateLimitError and the job is rescheduled.
type transport struct {
	base    http.RoundTripper
	label   string // installation ID, "app" or "token", for the rate limit gauge
	m       *metrics.Metrics
	cache   *etagCache
	retries int
	backoff time.Duration
	log     *slog.Logger
	pace    *pacer // nil: the default pacer, made on first use

	paceOnce sync.Once
}

// pacer returns the transport's pacer, the default one if none was given.
func (t *transport) pacer() *pacer {
	t.paceOnce.Do(func() {
		if t.pace == nil {
			t.pace = newPacer(paceOptions{})
		}
	})
	return t.pace
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	endpoint := Endpoint(req.URL.Path)
	p := t.pacer()
	write := contentCreating(req)
	if write {
		// The slot is held until the answer is in, through the waits for
		// GitHub's secondary limit: the installation's other writes would
		// be refused meanwhile anyway.
		release, err := p.acquire(req, endpoint)
		if err != nil {
			return nil, err
		}
		defer release()
	}
	var cached *etagEntry
	key := ""
	if t.cache != nil && req.Method == http.MethodGet && req.Header.Get("If-None-Match") == "" {
		key = t.label + " " + req.Header.Get("Accept") + " " + req.URL.String()
		if cached = t.cache.get(key); cached != nil {
			req = req.Clone(req.Context())
			req.Header.Set("If-None-Match", cached.etag)
		}
	}

	var resp *http.Response
	var err error
	retried, limited := 0, 0 // retries after a 5xx or a failure; secondary limits waited out
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if req.Body != nil && req.GetBody != nil {
				body, gerr := req.GetBody()
				if gerr != nil {
					return nil, gerr
				}
				req = req.Clone(req.Context())
				req.Body = body
			}
			if write {
				// Every attempt is a write GitHub counts.
				if aerr := p.admit(req, endpoint); aerr != nil {
					return nil, aerr
				}
			}
		}
		resp, err = t.attempt(req, p.timeout)
		status := "error"
		if err == nil {
			status = strconv.Itoa(resp.StatusCode)
			t.observeRate(resp)
		}
		if t.m != nil {
			t.m.GitHubRequests.WithLabelValues(req.Method, endpoint, status).Inc()
		}
		if write && err == nil && limited < secondaryRetries && (req.Body == nil || req.GetBody != nil) {
			now := p.clock.Now()
			if wait, ok := secondaryLimit(resp, now); ok {
				// GitHub refused the write without doing it, so sending it
				// again is safe. A wait past the deadline, or too long to
				// sleep through, is the job's: the answer passes through.
				if wait > maxSecondaryWait || beyondDeadline(req.Context(), wait) {
					p.pause(now.Add(wait))
					break
				}
				limited++
				drain(resp)
				p.pause(now.Add(wait))
				t.log.WarnContext(req.Context(), "github secondary rate limit on a write, waiting", "method", req.Method, "endpoint", endpoint,
					"status", status, "label", t.label, "wait", wait)
				continue // admit waits for the pause
			}
		}
		if !t.retryable(req, resp, err) || retried >= t.retries {
			break
		}
		wait := t.backoff << retried
		wait += time.Duration(rand.Int64N(int64(wait)/2 + 1))
		retried++
		if err == nil {
			drain(resp)
		}
		t.log.WarnContext(req.Context(), "github request failed, retrying", "method", req.Method, "endpoint", endpoint,
			"status", status, "attempt", retried, "wait", wait)
		if serr := p.clock.Sleep(req.Context(), wait); serr != nil {
			return nil, serr
		}
	}
	if err != nil {
		return nil, err
	}

	if cached != nil && resp.StatusCode == http.StatusNotModified {
		resp.Body.Close()
		return cached.response(req, resp), nil
	}
	if key != "" && resp.StatusCode == http.StatusOK {
		if etag := resp.Header.Get("ETag"); etag != "" {
			body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxCachedBody+1))
			resp.Body.Close()
			if rerr != nil {
				return nil, rerr
			}
			if len(body) <= maxCachedBody {
				t.cache.put(key, &etagEntry{etag: etag, body: body, header: resp.Header.Clone()})
			}
			resp.Body = io.NopCloser(bytes.NewReader(body))
		}
	}
	return resp, nil
}

func (t *transport) retryable(req *http.Request, resp *http.Response, err error) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
	default:
		return false // a POST or PATCH may have taken effect before the failure
	}
	if req.Body != nil && req.GetBody == nil {
		return false
	}
	if err != nil {
		return req.Context().Err() == nil
	}
	return resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented
}

func (t *transport) observeRate(resp *http.Response) {
	if t.m == nil {
		return
	}
	if v := resp.Header.Get("X-RateLimit-Remaining"); v != "" {
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			t.m.RateLimitRemaining.WithLabelValues(t.label).Set(n)
		}
	}
}

// attempt sends req once, bounded by timeout until its answer's body is
// closed (as an http.Client's Timeout would bound it, were it not for the
// waits between attempts).
func (t *transport) attempt(req *http.Request, timeout time.Duration) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), timeout)
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelBody ends an attempt's context when its body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// drain reads and closes a discarded answer so the connection is reused.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
}

func sleep(ctx context.Context, d time.Duration) error {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}

// maxCachedBody bounds one cached answer; bigger ones are not cached.
const maxCachedBody = 1 << 20

type etagEntry struct {
	key    string
	etag   string
	body   []byte
	header http.Header
}

// response rebuilds the cached 200 for a 304, keeping the fresh answer's
// rate limit headers.
func (e *etagEntry) response(req *http.Request, notModified *http.Response) *http.Response {
	h := e.header.Clone()
	for k, v := range notModified.Header {
		if strings.HasPrefix(strings.ToLower(k), "x-ratelimit") {
			h[k] = v
		}
	}
	h.Set("X-Tasuki-Cache", "revalidated")
	return &http.Response{
		Status: "200 OK", StatusCode: http.StatusOK, Proto: notModified.Proto, ProtoMajor: notModified.ProtoMajor, ProtoMinor: notModified.ProtoMinor,
		Header: h, Body: io.NopCloser(bytes.NewReader(e.body)), ContentLength: int64(len(e.body)), Request: req,
	}
}

// etagCache is a bounded LRU of answers by request key.
type etagCache struct {
	mu    sync.Mutex
	max   int
	ll    *list.List
	items map[string]*list.Element
}

func newETagCache(max int) *etagCache {
	return &etagCache{max: max, ll: list.New(), items: map[string]*list.Element{}}
}

func (c *etagCache) get(key string) *etagEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil
	}
	c.ll.MoveToFront(el)
	return el.Value.(*etagEntry)
}

func (c *etagCache) put(key string, e *etagEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.key = key
	if el, ok := c.items[key]; ok {
		el.Value = e
		c.ll.MoveToFront(el)
		return
	}
	c.items[key] = c.ll.PushFront(e)
	for c.ll.Len() > c.max {
		last := c.ll.Back()
		c.ll.Remove(last)
		delete(c.items, last.Value.(*etagEntry).key)
	}
}

var (
	reSHA    = regexp.MustCompile(`^[0-9a-f]{40}$`)
	reNumber = regexp.MustCompile(`^[0-9]+$`)
)

// Endpoint turns a request path into a low-cardinality template for metrics:
// /api/v3/repos/acme/api/issues/12/comments becomes
// /repos/{owner}/{repo}/issues/{n}/comments.
func Endpoint(path string) string {
	if i := strings.Index(path, "/api/v3/"); i >= 0 {
		path = path[i+len("/api/v3"):]
	}
	segs := strings.Split(strings.Trim(path, "/"), "/")
	named := map[string]string{"orgs": "{org}", "users": "{user}", "teams": "{team}", "memberships": "{user}",
		"collaborators": "{user}", "labels": "{name}", "commits": "{ref}", "branches": "{branch}", "installations": "{n}"}
	for i := 0; i < len(segs); i++ {
		s := segs[i]
		switch {
		case i == 0 && s == "repos" && len(segs) >= 3:
			segs[1], segs[2] = "{owner}", "{repo}"
			i = 2
		case (s == "contents" || s == "ref" || s == "refs") && i+1 < len(segs) && i > 0:
			name := "{path}"
			if s != "contents" {
				name = "{ref}"
			}
			segs = append(segs[:i+1], name)
			i = len(segs)
		case reNumber.MatchString(s) || reSHA.MatchString(s):
			segs[i] = "{n}"
			if reSHA.MatchString(s) {
				segs[i] = "{sha}"
			}
		case i > 0 && named[segs[i-1]] != "":
			segs[i] = named[segs[i-1]]
		}
	}
	return "/" + strings.Join(segs, "/")
}
