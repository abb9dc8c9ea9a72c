package backfill

import (
	"context"
	"sort"
	"sync"

	"github.com/tasuki-sre/tasuki/internal/leadtime"
)

// MemoryRecorder keeps what a backfill reads in memory, upserting by the
// keys package leadtime defines: for the Action, which computes its report
// from one run, and for tests. It is safe for concurrent use.
type MemoryRecorder struct {
	mu          sync.Mutex
	pulls       map[pullKey]leadtime.Pull
	reviews     map[reviewKey]leadtime.Review
	deployments map[deployKey]leadtime.Deployment
	writes      int
}

type pullKey struct {
	repo   string
	number int
}

type reviewKey struct {
	repo   string
	number int
	id     int64
}

type deployKey struct{ repo, id string }

// NewMemoryRecorder returns an empty MemoryRecorder.
func NewMemoryRecorder() *MemoryRecorder {
	return &MemoryRecorder{pulls: map[pullKey]leadtime.Pull{}, reviews: map[reviewKey]leadtime.Review{},
		deployments: map[deployKey]leadtime.Deployment{}}
}

// RecordPulls implements Recorder.
func (m *MemoryRecorder) RecordPulls(_ context.Context, ps []leadtime.Pull) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range ps {
		m.pulls[pullKey{p.Repo, p.Number}] = p
	}
	m.writes += len(ps)
	return nil
}

// RecordReviews implements Recorder.
func (m *MemoryRecorder) RecordReviews(_ context.Context, rs []leadtime.Review) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range rs {
		m.reviews[reviewKey{r.Repo, r.Number, r.ID}] = r
	}
	m.writes += len(rs)
	return nil
}

// RecordDeployments implements Recorder.
func (m *MemoryRecorder) RecordDeployments(_ context.Context, ds []leadtime.Deployment) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, d := range ds {
		m.deployments[deployKey{d.Repo, d.ID}] = d
	}
	m.writes += len(ds)
	return nil
}

// Writes is how many records were written, counting each rewrite.
func (m *MemoryRecorder) Writes() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.writes
}

// History returns what was recorded, pull requests and reviews by number,
// deployments by time.
func (m *MemoryRecorder) History() leadtime.History {
	m.mu.Lock()
	defer m.mu.Unlock()
	var h leadtime.History
	for _, p := range m.pulls {
		h.Pulls = append(h.Pulls, p)
	}
	for _, r := range m.reviews {
		h.Reviews = append(h.Reviews, r)
	}
	for _, d := range m.deployments {
		h.Deployments = append(h.Deployments, d)
	}
	sort.Slice(h.Pulls, func(i, j int) bool {
		a, b := h.Pulls[i], h.Pulls[j]
		return a.Repo < b.Repo || a.Repo == b.Repo && a.Number < b.Number
	})
	sort.Slice(h.Reviews, func(i, j int) bool {
		a, b := h.Reviews[i], h.Reviews[j]
		if a.Repo != b.Repo || a.Number != b.Number {
			return a.Repo < b.Repo || a.Repo == b.Repo && a.Number < b.Number
		}
		return a.ID < b.ID
	})
	sort.Slice(h.Deployments, func(i, j int) bool {
		a, b := h.Deployments[i], h.Deployments[j]
		if !a.FinishedAt.Equal(b.FinishedAt) {
			return a.FinishedAt.Before(b.FinishedAt)
		}
		return a.ID < b.ID
	})
	return h
}
