package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/store"
)

// A handler error marked permanent (an installation that no longer exists)
// fails the delivery on its first attempt with that error, even when the
// router joined it with another permanent one; a passing error beside it
// keeps the retries.
func TestPermanentErrorFailsAtOnce(t *testing.T) {
	gone := dispatch.Permanent(errors.New("get installation token: 404 Not Found"))
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t, be.url(t))
			rec := newRecorder(func(d dispatch.Delivery, call int) error {
				switch d.ID {
				case "gone":
					return errors.Join(fmt.Errorf("*handler.Review: %w", gone), fmt.Errorf("*handler.Config: %w", gone))
				case "mixed":
					if call == 1 {
						return errors.Join(fmt.Errorf("*handler.Review: %w", gone), errors.New("*handler.Config: 502 Bad Gateway"))
					}
				}
				return nil
			})
			runWorkers(t, s, rec, store.WorkerOptions{Backoff: func(int) time.Duration { return 10 * time.Millisecond }})
			for _, id := range []string{"gone", "mixed"} {
				if _, err := s.Enqueue(ctx, dispatch.Delivery{ID: id, Event: "pull_request", Payload: json.RawMessage(`{}`)}); err != nil {
					t.Fatal(err)
				}
			}
			row := waitState(t, s, "gone", "failed")
			want := "permanent error, not retried: *handler.Review: get installation token: 404 Not Found"
			if row.Attempts != 1 || !strings.HasPrefix(row.LastError, want) || rec.count("gone") != 1 {
				t.Errorf("gone: %d attempts, dispatched %d times, last error %q; want 1, 1 and %q", row.Attempts, rec.count("gone"), row.LastError, want)
			}
			if row := waitState(t, s, "mixed", "done"); row.Attempts != 2 {
				t.Errorf("mixed: %d attempts, want 2 (a passing error beside a permanent one is retried)", row.Attempts)
			}
		})
	}
}

// syncBuffer is a log destination written by River's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// A panicking handler is recovered into an error: its log record names the
// delivery and carries the stack of the panic, down to the handler.
func TestPanicIsLoggedWithItsStack(t *testing.T) {
	ctx := context.Background()
	var logs syncBuffer
	s, err := store.Open(ctx, backends[0].url(t), slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	runWorkers(t, s, dispatchFunc(panickingHandler), store.WorkerOptions{MaxAttempts: 1})
	if _, err := s.Enqueue(ctx, dispatch.Delivery{ID: "boom", Event: "issues", Payload: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}
	row := waitState(t, s, "boom", "failed")
	if !strings.Contains(row.LastError, "assignment to entry in nil map") {
		t.Errorf("last error %q, want the panic", row.LastError)
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil || rec["msg"] != "handler panicked" {
			continue
		}
		trace, _ := rec["trace"].(string)
		if rec["level"] != "ERROR" || rec["delivery"] != "boom" || !strings.Contains(trace, "panickingHandler") {
			t.Errorf("panic log record %v; want level ERROR, the delivery and a trace through panickingHandler", rec)
		}
		return
	}
	t.Errorf("no \"handler panicked\" record in the log:\n%s", logs.String())
}

func panickingHandler(ctx context.Context, d dispatch.Delivery) error {
	var m map[string]int
	//lint:ignore SA5000 the handler must panic with a runtime error, as a bug in one would
	m[d.ID]++
	return nil
}

// A periodic job runs under its own timeout, which may exceed JobTimeout (a
// backfill).
func TestPeriodicJobOwnTimeout(t *testing.T) {
	s := open(t, backends[0].url(t))
	got := make(chan time.Duration, 1)
	runWorkers(t, s, newRecorder(nil), store.WorkerOptions{
		JobTimeout: time.Minute,
		Periodic: []store.PeriodicJob{{Name: "backfill", Interval: time.Hour, Timeout: 2 * time.Hour, Run: func(ctx context.Context) error {
			dl, ok := ctx.Deadline()
			if !ok {
				dl = time.Now()
			}
			select {
			case got <- time.Until(dl):
			default:
			}
			return nil
		}}},
	})
	select {
	case left := <-got:
		if left < 119*time.Minute || left > 2*time.Hour {
			t.Errorf("periodic job's deadline in %v, want its own timeout (2h)", left)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("periodic job did not run")
	}
}
