package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// A webhook body has to be read before its signature can be checked, so
// until then a request is anyone's. What it may hold is bounded three ways:
//
//   - by what it has sent: its bytes are reserved from the body budget in
//     growing chunks as they arrive (64 KiB, then doubling up to the
//     declared length), never by the Content-Length it declares, so a
//     client holds at most about twice what it has sent;
//   - by its rate: after a grace period the sender must keep up a minimum
//     average rate (each byte received extends the read deadline by
//     1/minRate seconds), else it is cut off with 408;
//   - by time: the whole body must arrive within the body timeout.
//
// Holding memory therefore costs a client bandwidth or connections: keeping
// the default 256 MiB budget full takes about 13 MiB/s of sustained traffic
// (128 MiB sent per 10 s timeout), or 4,096 connections at once each holding
// its first 64 KiB and each cut off after 5 s, not a dozen idle
// connections declaring large bodies. A request whose
// next chunk does not fit waits for other requests to give bytes back,
// until its body timeout, instead of being refused at once: GitHub does
// not retry a refused delivery.
//
// Limits per source address are left out on purpose: behind a load
// balancer every request comes from the same address, GitHub's included.

// Defaults of the body limits (see WithBodyRate, WithBodyTimeout).
const (
	// DefaultMinBodyRate is the average rate, in bytes per second, a body
	// must keep up after DefaultBodyGrace. GitHub sends from data centres
	// at megabytes per second.
	DefaultMinBodyRate = 4 << 10
	// DefaultBodyGrace is how long a body may take before the minimum rate
	// applies.
	DefaultBodyGrace = 5 * time.Second
	// DefaultBodyTimeout bounds the time to receive a whole body. GitHub
	// gives up on a delivery after 10 s, so a body slower than that is
	// not GitHub's, or no longer awaited.
	DefaultBodyTimeout = 10 * time.Second
)

// firstChunk is the first reservation of a body (or its declared length if
// smaller). Most payloads (5-30 KB) are read into one buffer of their exact
// size.
const firstChunk = 64 << 10

// Errors of readBody.
var (
	errTooSlow     = errors.New("body arrives too slowly")
	errBodyTimeout = errors.New("body did not arrive in time")
	errBusy        = errors.New("too many webhook bytes in flight")
)

type bodyLimits struct {
	minRate int64 // bytes per second; 0: no minimum
	grace   time.Duration
	timeout time.Duration
}

// WithBodyRate sets the minimum average rate, in bytes per second, at which
// a webhook body must arrive once grace has passed (default
// DefaultMinBodyRate after DefaultBodyGrace). A sender below it is cut off
// with 408. bytesPerSecond 0 turns the minimum off.
func WithBodyRate(bytesPerSecond int64, grace time.Duration) Option {
	return func(s *Server) { s.limits.minRate, s.limits.grace = max(bytesPerSecond, 0), grace }
}

// WithBodyTimeout bounds the time to receive a whole webhook body, waits for
// the body budget included (default DefaultBodyTimeout).
func WithBodyTimeout(d time.Duration) Option {
	return func(s *Server) { s.limits.timeout = d }
}

// readBody reads r's body whole, reserving its bytes from the budget as they
// arrive and holding the sender to the body limits through the connection's
// read deadline. The capacity of the returned slice is what it holds of the
// budget, on error too: the caller gives back cap(body) when done with it.
//
// Errors: *http.MaxBytesError, errTooSlow, errBodyTimeout, errBusy, the
// request context's error, or the body's own read error.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) (body []byte, err error) {
	start := time.Now()
	end := start.Add(s.limits.timeout)
	// Without a declared length, room for one byte more than allowed is
	// enough for MaxBytesReader to tell an overlong body.
	limit := int64(MaxBodyBytes) + 1
	if r.ContentLength >= 0 {
		limit = min(r.ContentLength, limit)
	}
	src := http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	// httptest's recorder has no connection and no deadlines: the limits
	// then do not apply, the budget still does.
	rc := http.NewResponseController(w)
	deadlines := true
	defer func() {
		if deadlines {
			// The rest of the request (storing it) is not the sender's
			// business; net/http sets the next request's deadlines itself.
			rc.SetReadDeadline(time.Time{})
		}
	}()
	var waited time.Duration // for the budget, which is not the sender's fault
	var buf []byte
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) >= limit {
				return buf, nil // the declared length, all of it
			}
			next := min(limit, max(firstChunk, 2*int64(cap(buf))))
			t0 := time.Now()
			if err := s.budget.take(r.Context(), next, int64(cap(buf)), end); err != nil {
				return buf, err
			}
			waited += time.Since(t0)
			grown := make([]byte, len(buf), next)
			copy(grown, buf)
			s.budget.give(int64(cap(buf)))
			buf = grown
		}
		deadline := end
		if s.limits.minRate > 0 {
			credit := time.Duration(int64(len(buf)) * int64(time.Second) / s.limits.minRate)
			if d := start.Add(waited + s.limits.grace + credit); d.Before(end) {
				deadline = d
			}
		}
		if deadlines && rc.SetReadDeadline(deadline) != nil {
			deadlines = false
		}
		n, err := src.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case err == io.EOF:
			return buf, nil
		case errors.Is(err, os.ErrDeadlineExceeded) && deadline.Equal(end):
			return buf, errBodyTimeout
		case errors.Is(err, os.ErrDeadlineExceeded):
			return buf, errTooSlow
		case err != nil:
			return buf, err
		}
	}
}

// bodyBudget counts the bytes of request bodies the server may still hold.
type bodyBudget struct {
	mu      sync.Mutex
	total   int64
	free    int64
	waiters int
	freed   chan struct{} // closed, and replaced, when bytes are given back to waiters
	held    prometheus.Gauge
}

func newBodyBudget(bytes int64) *bodyBudget {
	return &bodyBudget{total: bytes, free: bytes, freed: make(chan struct{})}
}

// take reserves n more bytes for a request already holding holding bytes.
// When they are not free it waits for other requests to give bytes back,
// until deadline (then errBusy) or the end of ctx. What could never fit
// fails at once.
func (b *bodyBudget) take(ctx context.Context, n, holding int64, deadline time.Time) error {
	if n+holding > b.total {
		return errBusy
	}
	var timer *time.Timer
	for {
		b.mu.Lock()
		if n <= b.free {
			b.free -= n
			b.mu.Unlock()
			b.held.Add(float64(n))
			return nil
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			b.mu.Unlock()
			return errBusy
		}
		freed := b.freed
		b.waiters++
		b.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(wait)
			defer timer.Stop()
		} else {
			timer.Reset(wait)
		}
		var err error
		select {
		case <-freed:
		case <-timer.C:
			err = errBusy
		case <-ctx.Done():
			err = ctx.Err()
		}
		b.mu.Lock()
		b.waiters--
		b.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

// give returns n bytes to the budget and wakes those waiting for some.
func (b *bodyBudget) give(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.free += n
	if b.waiters > 0 {
		close(b.freed)
		b.freed = make(chan struct{})
	}
	b.mu.Unlock()
	b.held.Sub(float64(n))
}
