package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tasuki-sre/tasuki/internal/leadtime"
)

// Lead-time buckets: 5 minutes to about 85 days, doubling.
var leadTimeBuckets = prometheus.ExponentialBuckets(300, 2, 15)

// maxLeadTimeRepos bounds the repositories the lead-time histograms are
// labelled with (each costs about 40 series); past it, further
// repositories are counted under repo="other". Lead time is observed only
// for production deployments of installed repositories, so the bound is
// rarely reached.
const maxLeadTimeRepos = 500

func leadTimeHistograms() (*prometheus.HistogramVec, *prometheus.HistogramVec) {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tasuki_leadtime_seconds", Help: "Lead time for changes (first commit to production deployment) of shipped pull requests, by repository.",
			Buckets: leadTimeBuckets,
		}, []string{"repo"}),
		prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tasuki_leadtime_stage_seconds", Help: "Time of each stage (coding, pickup, review, deploy) of shipped pull requests, by repository and stage.",
			Buckets: leadTimeBuckets,
		}, []string{"repo", "stage"})
}

// leadTimeRepos are the repository labels in use.
type leadTimeRepos struct {
	mu   sync.Mutex
	seen map[string]bool
}

// repoLabel returns repo, or "other" once maxLeadTimeRepos others are in
// use.
func (m *Metrics) repoLabel(repo string) string {
	l := &m.ltRepos
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen[repo] {
		return repo
	}
	if len(l.seen) >= maxLeadTimeRepos {
		return "other"
	}
	if l.seen == nil {
		l.seen = map[string]bool{}
	}
	l.seen[repo] = true
	return repo
}

// ObserveShipped records the lead time and stages of the pull requests a
// deployment of repo shipped. Unknown durations (nil) are not observed.
func (m *Metrics) ObserveShipped(repo string, rows []leadtime.PullRow) {
	if m == nil || len(rows) == 0 {
		return
	}
	label := m.repoLabel(repo)
	for _, r := range rows {
		if r.LeadTime != nil {
			m.LeadTime.WithLabelValues(label).Observe(r.LeadTime.Seconds())
		}
		for _, st := range []struct {
			name string
			d    *leadtime.Duration
		}{{"coding", r.Coding}, {"pickup", r.Pickup}, {"review", r.Review}, {"deploy", r.Deploy}} {
			if st.d != nil {
				m.LeadTimeStage.WithLabelValues(label, st.name).Observe(st.d.Seconds())
			}
		}
	}
}
