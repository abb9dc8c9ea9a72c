package metrics

import (
	"fmt"
	"testing"
	"time"

	"github.com/tasuki-sre/tasuki/internal/leadtime"
)

// Lead times are observed per repository and stage, unknown stages are
// not, and past maxLeadTimeRepos repositories the rest share "other", so
// that the series stay bounded.
func TestObserveShipped(t *testing.T) {
	m := New()
	d := func(h float64) *leadtime.Duration { x := leadtime.D(time.Duration(h * float64(time.Hour))); return &x }
	m.ObserveShipped("acme/api", []leadtime.PullRow{
		{LeadTime: d(22), Coding: d(10), Pickup: d(1), Review: d(2), Deploy: d(9)},
		{LeadTime: d(10), Coding: d(5), Deploy: d(5)}, // no review: no pickup nor review stage
	})
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]uint64{}
	for _, mf := range mfs {
		for _, met := range mf.GetMetric() {
			if h := met.GetHistogram(); h != nil {
				key := mf.GetName()
				for _, l := range met.GetLabel() {
					key += fmt.Sprintf(",%s=%s", l.GetName(), l.GetValue())
				}
				counts[key] = h.GetSampleCount()
			}
		}
	}
	for key, wantN := range map[string]uint64{
		"tasuki_leadtime_seconds,repo=acme/api":                    2,
		"tasuki_leadtime_stage_seconds,repo=acme/api,stage=coding": 2,
		"tasuki_leadtime_stage_seconds,repo=acme/api,stage=pickup": 1,
		"tasuki_leadtime_stage_seconds,repo=acme/api,stage=review": 1,
		"tasuki_leadtime_stage_seconds,repo=acme/api,stage=deploy": 2,
	} {
		if counts[key] != wantN {
			t.Errorf("%s: %d observations, want %d", key, counts[key], wantN)
		}
	}
	for i := 0; i < maxLeadTimeRepos+10; i++ {
		m.ObserveShipped(fmt.Sprintf("acme/r%d", i), []leadtime.PullRow{{LeadTime: d(1)}})
	}
	if n := series(t, m, "tasuki_leadtime_seconds"); n != maxLeadTimeRepos+1 {
		t.Errorf("lead time series after %d repositories: %d, want %d (the rest as \"other\")", maxLeadTimeRepos+11, n, maxLeadTimeRepos+1)
	}
}

// series counts the series of the metric named name.
func series(t *testing.T, m *Metrics, name string) int {
	t.Helper()
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return len(mf.GetMetric())
		}
	}
	return 0
}
