package leadtime_test

import (
	"testing"
	"time"

	"github.com/tasuki-sre/tasuki/internal/leadtime"
	"github.com/tasuki-sre/tasuki/internal/leadtime/leadtimetest"
)

var benchSizes = []struct {
	name        string
	pulls, deps int
}{{"10k", 10_000, 1_000}, {"1M", 1_000_000, 100_000}}

// benchQuery is a quarter of the generated year.
var benchQuery = leadtime.Query{
	From: time.Date(2025, 4, 7, 0, 0, 0, 0, time.UTC),
	To:   time.Date(2025, 7, 7, 0, 0, 0, 0, time.UTC),
}

// BenchmarkCompute measures a quarter's metrics of an organisation's year
// (leadtimetest.Generate over 200 repositories): linking every change and
// measuring. cpu-ms/op is the process's CPU time per operation, which a
// busy shared machine inflates less than the wall time.
func BenchmarkCompute(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) {
			h := leadtimetest.Generate(leadtimetest.Options{Repos: 200, Pulls: size.pulls, Deployments: size.deps, Jobs: size.pulls / 10})
			cfg := leadtime.DefaultConfig()
			b.ReportAllocs()
			b.ResetTimer()
			start := cpuTime()
			for b.Loop() {
				m, err := leadtime.Compute(h, cfg, benchQuery)
				if err != nil {
					b.Fatal(err)
				}
				if m.DeploymentFrequency.Deployments == 0 || m.ChangeLeadTime.Count == 0 {
					b.Fatal("nothing measured")
				}
			}
			b.ReportMetric(float64((cpuTime()-start).Milliseconds())/float64(b.N), "cpu-ms/op")
		})
	}
}

// BenchmarkPreparedCompute measures one more scope (a team, a service) of
// an already linked History, as the weekly report does for each team.
func BenchmarkPreparedCompute(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) {
			h := leadtimetest.Generate(leadtimetest.Options{Repos: 200, Pulls: size.pulls, Deployments: size.deps, Jobs: size.pulls / 10})
			p, err := leadtime.Prepare(h, leadtime.DefaultConfig())
			if err != nil {
				b.Fatal(err)
			}
			q := benchQuery
			q.Repo = "acme/repo-007"
			b.ReportAllocs()
			b.ResetTimer()
			start := cpuTime()
			for b.Loop() {
				if _, err := p.Compute(q); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cpuTime()-start).Milliseconds())/float64(b.N), "cpu-ms/op")
		})
	}
}
