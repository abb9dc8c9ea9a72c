// Package dispatch routes a stored webhook delivery to the feature handlers
// registered for its event. The store's River worker calls Router.Dispatch;
// handlers are level-triggered and idempotent, so a retried delivery is safe.
package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
)

// Delivery is one webhook delivery as stored by the intake.
type Delivery struct {
	ID             string          `json:"id"`              // X-GitHub-Delivery
	Event          string          `json:"event"`           // X-GitHub-Event
	Action         string          `json:"action"`          // payload "action", may be empty
	InstallationID int64           `json:"installation_id"` // payload installation.id, 0 if absent
	Repository     string          `json:"repository"`      // "owner/name", may be empty
	Payload        json.RawMessage `json:"payload"`
}

// Handler processes deliveries of the events it was registered for.
// Returning an error makes the job retry with backoff; an error with a
// RetryAt time (RetryLater, or GitHub errors passed through ghclient.Wrap)
// makes it wait until then instead, and an error marked with Permanent fails
// the delivery at once.
type Handler interface {
	Handle(ctx context.Context, d Delivery) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, d Delivery) error

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, d Delivery) error { return f(ctx, d) }

// Namer is implemented by handlers that name their feature ("plan review",
// "postmortem"); the router starts a handler's error with its name, which
// operators read in `app deliveries list`. A handler without one is named
// by its Go type.
type Namer interface {
	Name() string
}

// Named returns h named name (see Namer).
func Named(name string, h Handler) Handler { return named{name, h} }

type named struct {
	name string
	Handler
}

func (n named) Name() string { return n.name }

// NameOf returns h's name: its Name, else its Go type.
func NameOf(h Handler) string {
	if n, ok := h.(Namer); ok {
		return n.Name()
	}
	return fmt.Sprintf("%T", h)
}

// Router holds the handlers per event name.
type Router struct {
	handlers map[string][]Handler
	log      *slog.Logger
}

// NewRouter returns an empty router logging to log.
func NewRouter(log *slog.Logger) *Router {
	if log == nil {
		log = slog.Default()
	}
	return &Router{handlers: map[string][]Handler{}, log: log}
}

// Register adds h for each event name.
func (r *Router) Register(h Handler, events ...string) {
	for _, e := range events {
		r.handlers[e] = append(r.handlers[e], h)
	}
}

// Events lists the event names that have at least one handler.
func (r *Router) Events() []string {
	out := make([]string, 0, len(r.handlers))
	for e := range r.handlers {
		out = append(out, e)
	}
	return out
}

// Dispatch runs every handler registered for d.Event. All handlers run even
// if one fails; the errors are joined so the job retries (handlers are
// idempotent, so the ones that succeeded do no harm when run again).
func (r *Router) Dispatch(ctx context.Context, d Delivery) error {
	hs := r.handlers[d.Event]
	if len(hs) == 0 {
		r.log.DebugContext(ctx, "no handler", "delivery", d.ID, "event", d.Event, "action", d.Action)
		return nil
	}
	var errs []error
	for _, h := range hs {
		if err := h.Handle(ctx, d); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", NameOf(h), err))
		}
	}
	return errors.Join(errs...)
}
