package dispatch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestDispatchRunsEveryHandlerAndJoinsErrors(t *testing.T) {
	r := NewRouter(nil)
	var ran []string
	boom := errors.New("boom")
	r.Register(HandlerFunc(func(_ context.Context, d Delivery) error { ran = append(ran, "a:"+d.ID); return boom }), "issues")
	r.Register(HandlerFunc(func(_ context.Context, d Delivery) error { ran = append(ran, "b:"+d.ID); return nil }), "issues", "push")

	err := r.Dispatch(context.Background(), Delivery{ID: "1", Event: "issues"})
	if !errors.Is(err, boom) {
		t.Fatalf("Dispatch error = %v, want it to wrap the failing handler's error", err)
	}
	if strings.Join(ran, ",") != "a:1,b:1" {
		t.Errorf("handlers ran %v, want both even though the first failed", ran)
	}

	ran = nil
	if err := r.Dispatch(context.Background(), Delivery{ID: "2", Event: "push"}); err != nil || strings.Join(ran, ",") != "b:2" {
		t.Errorf("push: err %v, ran %v", err, ran)
	}
	ran = nil
	if err := r.Dispatch(context.Background(), Delivery{ID: "3", Event: "star"}); err != nil || len(ran) != 0 {
		t.Errorf("unregistered event: err %v, ran %v; want nothing run and no error", err, ran)
	}
}

// permanentType is another package's own permanent error, recognised by its
// Permanent method alone.
type permanentType struct{}

func (permanentType) Error() string   { return "installation 42 not found" }
func (permanentType) Permanent() bool { return true }

func TestIsPermanent(t *testing.T) {
	gone := Permanent(errors.New("GET /app/installations/42/access_tokens: 404 Not Found"))
	passing := errors.New("502 Bad Gateway")
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain", passing, false},
		{"marked", gone, true},
		{"wrapped", fmt.Errorf("*handler.Review: load config: %w", gone), true},
		{"own type", fmt.Errorf("token: %w", permanentType{}), true},
		{"joined, all permanent", errors.Join(fmt.Errorf("a: %w", gone), fmt.Errorf("b: %w", permanentType{})), true},
		{"joined, one passing", errors.Join(fmt.Errorf("a: %w", gone), fmt.Errorf("b: %w", passing)), false},
		{"marked around a join", Permanent(errors.Join(passing)), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsPermanent(tt.err); got != tt.want {
				t.Errorf("IsPermanent(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
	if Permanent(nil) != nil {
		t.Error("Permanent(nil) != nil")
	}
	if !errors.Is(gone, errors.Unwrap(gone)) || gone.Error() != "GET /app/installations/42/access_tokens: 404 Not Found" {
		t.Errorf("Permanent changes the error it marks: %q", gone)
	}
}

// retryType is another package's own rate limit error, recognised by its
// RetryAt method alone.
type retryType struct{ at time.Time }

func (e retryType) Error() string      { return "API rate limit exceeded" }
func (e retryType) RetryAt() time.Time { return e.at }

func TestRetryAt(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	soon, later := now.Add(time.Minute), now.Add(time.Hour)
	limited := RetryLater(errors.New("403 API rate limit exceeded"), soon)
	passing := errors.New("502 Bad Gateway")
	tests := []struct {
		name   string
		err    error
		want   time.Time
		wantOK bool
	}{
		{"nil", nil, time.Time{}, false},
		{"plain", passing, time.Time{}, false},
		{"marked", limited, soon, true},
		{"wrapped", fmt.Errorf("*handler.Review: list reviews: %w", limited), soon, true},
		{"own type", fmt.Errorf("query: %w", retryType{later}), later, true},
		{"own type, zero time", retryType{}, time.Time{}, false},
		{"outer method decides", RetryLater(retryType{later}, soon), soon, true},
		{"joined, latest wins", errors.Join(fmt.Errorf("a: %w", limited), passing, fmt.Errorf("b: %w", retryType{later})), later, true},
		{"joined, none", errors.Join(passing, Permanent(passing)), time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := RetryAt(tt.err)
			if ok != tt.wantOK || !got.Equal(tt.want) {
				t.Errorf("RetryAt(%v) = %v, %v; want %v, %v", tt.err, got, ok, tt.want, tt.wantOK)
			}
		})
	}
	if RetryLater(nil, soon) != nil {
		t.Error("RetryLater(nil) != nil")
	}
	if limited.Error() != "403 API rate limit exceeded" {
		t.Errorf("RetryLater changes the error it marks: %q", limited)
	}
	if IsPermanent(limited) {
		t.Error("a rate limit is permanent")
	}
}

type typedHandler struct{}

func (typedHandler) Handle(context.Context, Delivery) error { return errors.New("boom") }

func TestErrorsNameTheFeature(t *testing.T) {
	for _, tt := range []struct {
		name string
		h    Handler
		want string
	}{
		{"named", Named("plan review", HandlerFunc(func(context.Context, Delivery) error { return errors.New("read plan: boom") })), "plan review: read plan: boom"},
		{"namer", Named("postmortem", typedHandler{}), "postmortem: boom"},
		{"unnamed falls back to the type", typedHandler{}, "dispatch.typedHandler: boom"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRouter(nil)
			r.Register(tt.h, "issues")
			err := r.Dispatch(context.Background(), Delivery{ID: "d", Event: "issues"})
			if err == nil || err.Error() != tt.want {
				t.Errorf("Dispatch error = %v, want %q", err, tt.want)
			}
		})
	}
}
