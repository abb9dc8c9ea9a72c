package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tasuki-sre/tasuki/internal/leadtime"
	"github.com/tasuki-sre/tasuki/internal/store"
)

// BenchmarkHistory1M reads the lead-time history of one repository with
// 1,000,000 merged pull requests (1.5 reviews each), 100,000 deployments
// (10 commits each), 20,000 CI jobs and 1,000 incidents over four years,
// from a SQLite file. History reports the heap its result holds (MB-held)
// and the highest heap seen while reading (MB-peak).
//
// HistoryAndCompute and PrepareHistoryAndCompute read and compute the last
// 28 days' metrics, the first through History, the second as the API
// does, through PrepareHistory (peak heap and CPU time reported alike).
//
// Seeding the database through RecordPulls etc. takes about seven minutes
// on a loaded 2 vCPU machine; set TASUKI_BENCH_HISTORY_DB to a path to
// keep the file between runs. Skipped under -short.
func BenchmarkHistory1M(b *testing.B) {
	if testing.Short() {
		b.Skip("seeding a million pull requests takes minutes")
	}
	path := os.Getenv("TASUKI_BENCH_HISTORY_DB")
	if path == "" {
		dir, err := os.MkdirTemp("", "tasuki-bench-history")
		if err != nil {
			b.Fatal(err)
		}
		defer os.RemoveAll(dir)
		path = filepath.Join(dir, "history.db")
	}
	url := "sqlite://" + path
	if _, err := os.Stat(path); err != nil {
		s := open(b, url)
		start := time.Now()
		seedHistory(b, s, 1_000_000, 100_000)
		b.Logf("seeded %s in %s", path, time.Since(start).Round(time.Second))
		s.Close()
	}
	s := open(b, url)
	ctx := context.Background()
	q := store.HistoryQuery{Repo: "acme/monolith"}
	b.Run("History", func(b *testing.B) {
		b.ReportAllocs()
		var h leadtime.History
		var peak uint64
		cpu0 := cpuTime()
		for b.Loop() {
			h = leadtime.History{}
			runtime.GC()
			var err error
			peak, err = peakHeap(func() error {
				h, err = s.History(ctx, q)
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		if len(h.Pulls) != 1_000_000 || len(h.Deployments) != 100_000 {
			b.Fatalf("History: %d pulls, %d deployments", len(h.Pulls), len(h.Deployments))
		}
		// CPU time per read: on a shared, loaded machine wall-clock time
		// varies a lot; this does not (it includes the GC's work).
		b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapAlloc)/1e6, "MB-held")
		b.ReportMetric(float64(peak)/1e6, "MB-peak")
		runtime.KeepAlive(h)
	})
	month := leadtime.Query{Repo: q.Repo, From: t0.AddDate(0, 0, -28), To: t0}
	cfg := leadtime.DefaultConfig()
	b.Run("HistoryAndCompute", func(b *testing.B) {
		benchCompute(b, func() (leadtime.Metrics, error) {
			// As the metrics API asked when no services are configured,
			// before PrepareHistory.
			q := q
			q.WithoutPaths = true
			h, err := s.History(ctx, q)
			if err != nil {
				return leadtime.Metrics{}, err
			}
			return leadtime.Compute(h, cfg, month)
		})
	})
	// What the metrics API and the weekly report do: rows streamed into
	// the core's compact form, no History.
	b.Run("PrepareHistoryAndCompute", func(b *testing.B) {
		benchCompute(b, func() (leadtime.Metrics, error) {
			p, err := s.PrepareHistory(ctx, q, cfg)
			if err != nil {
				return leadtime.Metrics{}, err
			}
			return p.Compute(month)
		})
	})
}

// benchCompute runs compute, which reads and measures the last 28 days, and
// reports its CPU time and peak heap.
func benchCompute(b *testing.B, compute func() (leadtime.Metrics, error)) {
	b.ReportAllocs()
	var peak uint64
	cpu0 := cpuTime()
	for b.Loop() {
		runtime.GC()
		var err error
		peak, err = peakHeap(func() error {
			m, err := compute()
			if err == nil && m.DeploymentFrequency.Deployments == 0 {
				err = fmt.Errorf("no deployments in the last 28 days")
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(peak)/1e6, "MB-peak")
}

// peakHeap runs fn and returns the most bytes of heap objects seen while it
// ran (sampled every 5ms), garbage not yet collected included.
func peakHeap(fn func() error) (uint64, error) {
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		// runtime/metrics reads without stopping the world, as
		// ReadMemStats would every 5ms.
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	err := fn()
	close(done)
	<-stopped
	return peak.Load(), err
}

// seedHistory records nPulls merged pull requests and nDeploys deployments,
// spread evenly over the four years before t0, as realistic in size as we
// can make them: 40-byte SHAs, titles of 30 to 70 characters, 500 authors,
// three changed paths.
func seedHistory(b *testing.B, s *store.Store, nPulls, nDeploys int) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	const repo = "acme/monolith"
	span := 4 * 365 * 24 * time.Hour
	start := t0.Add(-span)
	sha := func() string { return fmt.Sprintf("%016x%016x%08x", rng.Uint64(), rng.Uint64(), rng.Uint32()) }
	const chunk = 5000
	var ps []leadtime.Pull
	var rs []leadtime.Review
	shas := make([]string, 0, nPulls)
	for i := 1; i <= nPulls; i++ {
		merged := start.Add(time.Duration(float64(span) * float64(i) / float64(nPulls+1))).Truncate(time.Second)
		opened := merged.Add(-time.Duration(rng.IntN(72*3600)) * time.Second)
		first := opened.Add(-time.Duration(rng.IntN(48*3600)) * time.Second)
		m := sha()
		shas = append(shas, m)
		ps = append(ps, leadtime.Pull{
			Repo: repo, Number: i, Title: fmt.Sprintf("Change the thing number %d so that it works%s", i, "!!!!!!!!!!!!!!!!!!!!!!!!!"[:rng.IntN(25)]),
			Author: fmt.Sprintf("dev%d", rng.IntN(500)), FirstCommitAt: first, OpenedAt: opened, ReadyAt: opened,
			MergedAt: merged, ClosedAt: merged, MergeSHA: m, BaseRef: "main", HeadRef: fmt.Sprintf("dev/change-%d", i),
			Paths:  []string{"services/api/handler.go", "services/api/handler_test.go", fmt.Sprintf("docs/%d.md", i%100)},
			Labels: []string{"enhancement"},
		})
		for j := 0; j < 1+i%2; j++ {
			rs = append(rs, leadtime.Review{
				Repo: repo, Number: i, ID: int64(i*2 + j), Reviewer: fmt.Sprintf("dev%d", rng.IntN(500)),
				State: "APPROVED", At: opened.Add(merged.Sub(opened) / 2),
			})
		}
		if len(ps) == chunk || i == nPulls {
			if err := s.RecordPulls(ctx, ps); err != nil {
				b.Fatal(err)
			}
			if err := s.RecordReviews(ctx, rs); err != nil {
				b.Fatal(err)
			}
			ps, rs = ps[:0], rs[:0]
		}
	}
	var ds []leadtime.Deployment
	per := nPulls / nDeploys
	for i := 0; i < nDeploys; i++ {
		last := (i+1)*per - 1
		commits := shas[i*per : last+1]
		prev := ""
		if i > 0 {
			prev = shas[i*per-1]
		}
		ds = append(ds, leadtime.Deployment{
			Repo: repo, ID: fmt.Sprintf("deployment:%d", 100000+i), Source: leadtime.SourceDeploymentStatus,
			Environment: "production", SHA: shas[last], FinishedAt: ps0MergedAt(start, span, last+1, nPulls).Add(30 * time.Minute),
			PreviousSHA: prev, Commits: commits, Creator: "deploy-bot", Ref: "main",
		})
		if len(ds) == chunk || i == nDeploys-1 {
			if err := s.RecordDeployments(ctx, ds); err != nil {
				b.Fatal(err)
			}
			ds = ds[:0]
		}
	}
	var js []leadtime.Job
	for i := 1; i <= 20_000; i++ {
		q := start.Add(time.Duration(float64(span) * float64(i) / 20_001))
		js = append(js, leadtime.Job{
			Repo: repo, ID: int64(i), RunID: int64(i / 3), Workflow: "CI", Name: "test", Kind: leadtime.JobTest,
			HeadSHA: sha(), HeadBranch: "main", QueuedAt: q, StartedAt: q.Add(time.Minute), CompletedAt: q.Add(9 * time.Minute), Conclusion: "success",
		})
	}
	if err := s.RecordJobs(ctx, js); err != nil {
		b.Fatal(err)
	}
	var is []leadtime.Incident
	for i := 1; i <= 1000; i++ {
		st := start.Add(time.Duration(float64(span) * float64(i) / 1001))
		is = append(is, leadtime.Incident{Repo: repo, Number: i, Title: "Outage", Severity: "sev2", StartedAt: st, ResolvedAt: st.Add(2 * time.Hour)})
	}
	if err := s.RecordIncidents(ctx, is); err != nil {
		b.Fatal(err)
	}
}

func ps0MergedAt(start time.Time, span time.Duration, i, n int) time.Time {
	return start.Add(time.Duration(float64(span) * float64(i) / float64(n+1))).Truncate(time.Second)
}
