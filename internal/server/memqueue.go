package server

import (
	"context"
	"sync"

	"github.com/tasuki-sre/tasuki/internal/dispatch"
)

// MemQueue is a Queue that keeps deliveries in memory: nothing survives the
// process. It is the baseline the ingest benchmark compares the durable
// stores with, and a stand-in for tests that do not care about durability.
type MemQueue struct {
	mu    sync.Mutex
	seen  map[string]struct{}
	items []dispatch.Delivery
}

// Enqueue appends d unless a delivery with its ID was already queued.
func (q *MemQueue) Enqueue(_ context.Context, d dispatch.Delivery) (bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.seen == nil {
		q.seen = map[string]struct{}{}
	}
	if _, ok := q.seen[d.ID]; ok {
		return false, nil
	}
	q.seen[d.ID] = struct{}{}
	q.items = append(q.items, d)
	return true, nil
}

// HasDelivery reports whether a delivery with id was queued.
func (q *MemQueue) HasDelivery(_ context.Context, id string) (bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	_, ok := q.seen[id]
	return ok, nil
}

// Ping always succeeds.
func (q *MemQueue) Ping(context.Context) error { return nil }

// Deliveries returns a copy of what was queued, in order.
func (q *MemQueue) Deliveries() []dispatch.Delivery {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]dispatch.Delivery(nil), q.items...)
}
