package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/google/go-github/v60/github"
)

// HookDeliveries is the part of the GitHub Apps API the Redeliverer uses.
// *github.AppsService satisfies it; it must be authenticated with the App's
// JWT (an installation token is refused by these endpoints).
type HookDeliveries interface {
	ListHookDeliveries(ctx context.Context, opts *github.ListCursorOptions) ([]*github.HookDelivery, *github.Response, error)
	RedeliverHookDelivery(ctx context.Context, deliveryID int64) (*github.HookDelivery, *github.Response, error)
}

// DeliveryLookup tells whether a delivery (by X-GitHub-Delivery GUID) is
// already stored.
type DeliveryLookup interface {
	HasDelivery(ctx context.Context, id string) (bool, error)
}

// Missed is a delivery GitHub failed to hand to tasuki and that is not in
// the store.
type Missed struct {
	HookID      int64     `json:"hook_delivery_id"` // GitHub's ID of the latest failed attempt
	GUID        string    `json:"guid"`             // X-GitHub-Delivery, kept by a redelivery
	Event       string    `json:"event"`
	Action      string    `json:"action,omitempty"`
	StatusCode  int       `json:"status_code"` // 0 when GitHub could not connect
	DeliveredAt time.Time `json:"delivered_at"`
	Err         string    `json:"error,omitempty"` // why asking for a redelivery failed
}

// Redeliverer finds deliveries GitHub failed to make and asks GitHub to
// make them again. GitHub does not retry failed deliveries by itself.
type Redeliverer struct {
	hooks HookDeliveries
	store DeliveryLookup
	log   *slog.Logger
	now   func() time.Time
}

// NewRedeliverer returns a Redeliverer listing through hooks (App JWT
// client) and checking store.
func NewRedeliverer(hooks HookDeliveries, store DeliveryLookup, log *slog.Logger) *Redeliverer {
	if log == nil {
		log = slog.Default()
	}
	return &Redeliverer{hooks: hooks, store: store, log: log, now: time.Now}
}

// failed reports whether an attempt did not reach a healthy tasuki: GitHub
// records status code 0 when it could not connect or timed out.
func failed(h *github.HookDelivery) bool {
	c := h.GetStatusCode()
	return c < 200 || c >= 300
}

// Find lists the App's deliveries made since the given time, newest first,
// following the cursor pagination, and returns those whose every attempt
// failed and whose GUID the store does not hold, oldest first.
func (r *Redeliverer) Find(ctx context.Context, since time.Time) ([]Missed, error) {
	type state struct {
		latest *github.HookDelivery // newest failed attempt
		ok     bool                 // some attempt succeeded
	}
	byGUID := map[string]*state{}
	var order []string
	opts := &github.ListCursorOptions{PerPage: 100}
	for page := 1; ; page++ {
		list, resp, err := r.hooks.ListHookDeliveries(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("list app hook deliveries (page %d): %w", page, err)
		}
		older := false
		for _, h := range list {
			if h.GetDeliveredAt().Time.Before(since) {
				older = true
				continue
			}
			g := h.GetGUID()
			if g == "" {
				continue
			}
			st, ok := byGUID[g]
			if !ok {
				st = &state{}
				byGUID[g] = st
				order = append(order, g)
			}
			if !failed(h) {
				st.ok = true
			} else if st.latest == nil || h.GetDeliveredAt().After(st.latest.GetDeliveredAt().Time) {
				st.latest = h
			}
		}
		// GitHub lists newest first, so once a page reaches past the window
		// the rest is older still.
		if older || resp == nil || resp.Cursor == "" || len(list) == 0 {
			break
		}
		opts.Cursor = resp.Cursor
	}
	var out []Missed
	for _, g := range order {
		st := byGUID[g]
		if st.ok || st.latest == nil {
			continue
		}
		have, err := r.store.HasDelivery(ctx, g)
		if err != nil {
			return nil, fmt.Errorf("look up delivery %s: %w", g, err)
		}
		if have {
			continue
		}
		h := st.latest
		out = append(out, Missed{
			HookID: h.GetID(), GUID: g, Event: h.GetEvent(), Action: h.GetAction(),
			StatusCode: h.GetStatusCode(), DeliveredAt: h.GetDeliveredAt().Time.UTC(),
		})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].DeliveredAt.Before(out[j].DeliveredAt) })
	return out, nil
}

// Run finds the missed deliveries since the given time and, unless dryRun,
// asks GitHub to redeliver each, one at a time (GitHub's secondary rate
// limits punish bursts of writes). A failed request is recorded in the
// Missed entry's Err and the others still go ahead; the returned error
// joins them.
func (r *Redeliverer) Run(ctx context.Context, since time.Time, dryRun bool) ([]Missed, error) {
	missed, err := r.Find(ctx, since)
	if err != nil || dryRun {
		return missed, err
	}
	var errs []error
	for i := range missed {
		m := &missed[i]
		if _, _, err := r.hooks.RedeliverHookDelivery(ctx, m.HookID); err != nil {
			// go-github returns *AcceptedError for 202, which is the
			// documented success answer of this endpoint.
			var accepted *github.AcceptedError
			if !errors.As(err, &accepted) {
				m.Err = err.Error()
				errs = append(errs, fmt.Errorf("redeliver %s (hook delivery %d): %w", m.GUID, m.HookID, err))
				r.log.WarnContext(ctx, "redelivery request failed", "delivery", m.GUID, "event", m.Event, "action", m.Action, "err", err)
				continue
			}
		}
		r.log.InfoContext(ctx, "asked GitHub to redeliver", "delivery", m.GUID, "event", m.Event,
			"action", m.Action, "status_code", m.StatusCode, "delivered_at", m.DeliveredAt)
	}
	return missed, errors.Join(errs...)
}
