package leadtime_test

import (
	"cmp"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tasuki-sre/tasuki/internal/leadtime"
	"github.com/tasuki-sre/tasuki/internal/leadtime/leadtimetest"
)

// checkInvariants: every merged pull request is shipped by at most one
// deployment, which finished at or after the merge; every merged pull
// request of the period is shipped, undeployed or before the baseline.
func checkInvariants(t *testing.T, h leadtime.History, m leadtime.Metrics) {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range m.Pulls {
		k := fmt.Sprintf("%s#%d", r.Repo, r.Number)
		if seen[k] {
			t.Fatalf("%s shipped twice", k)
		}
		seen[k] = true
		if r.DeployedAt.Before(r.MergedAt) {
			t.Fatalf("%s deployed at %v, before its merge at %v", k, r.DeployedAt, r.MergedAt)
		}
	}
	merged := 0
	for _, p := range h.Pulls {
		if !p.MergedAt.IsZero() && !p.MergedAt.Before(m.From) && p.MergedAt.Before(m.To) {
			merged++
		}
	}
	// Shipped rows are those deployed in the period; with a period wider
	// than the history, every merged pull is in exactly one count.
	if got := len(m.Pulls) + m.Missing.Undeployed + m.Missing.BeforeBaseline; got != merged {
		t.Fatalf("shipped %d + undeployed %d + before baseline %d = %d, want the %d merged",
			len(m.Pulls), m.Missing.Undeployed, m.Missing.BeforeBaseline, got, merged)
	}
}

func TestGeneratedInvariants(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		h := leadtimetest.Generate(leadtimetest.Options{Repos: 3, Pulls: 600, Deployments: 60, Seed: seed, NoCommits: 0.3})
		m := compute(t, h, leadtime.DefaultConfig(), leadtime.Query{From: at(-24 * 365 * 4), To: at(24 * 365 * 4), Rows: true})
		checkInvariants(t, h, m)
		if len(m.Pulls) == 0 || m.DeploymentFrequency.Deployments == 0 {
			t.Fatalf("seed %d: nothing measured", seed)
		}
	}
}

// naiveLink is the linking definition written as plainly as possible: for
// each merged pull, the first production deployment (by finish, then ID)
// that finished at or after its merge and whose range holds its merge SHA,
// or, without a range, that finished first after its merge and whose
// predecessor finished before it; the first deployment only for merges at or
// after its finish minus the baseline window.
func naiveLink(h leadtime.History, window time.Duration) map[int]string {
	deps := slices.Clone(h.Deployments)
	slices.SortFunc(deps, func(a, b leadtime.Deployment) int {
		return cmp.Or(a.FinishedAt.Compare(b.FinishedAt), cmp.Compare(a.ID, b.ID))
	})
	out := map[int]string{}
	for _, p := range h.Pulls {
		if p.MergedAt.IsZero() {
			continue
		}
		for k, d := range deps {
			if d.FinishedAt.Before(p.MergedAt) {
				continue
			}
			if k == 0 && p.MergedAt.Before(d.FinishedAt.Add(-window)) {
				continue
			}
			var holds bool
			if d.Commits != nil {
				holds = slices.Contains(d.Commits, p.MergeSHA) || d.SHA == p.MergeSHA
			} else {
				holds = k == 0 || p.MergedAt.After(deps[k-1].FinishedAt)
			}
			if holds && p.MergeSHA != "" || holds && d.Commits == nil {
				out[p.Number] = d.ID
				break
			}
		}
	}
	return out
}

// FuzzLink compares the linking with naiveLink on small histories built
// from the fuzzer's bytes: merges and deployments at hours 0..255, commit
// lists drawn from the pulls' SHAs, some missing.
func FuzzLink(f *testing.F) {
	f.Add([]byte{10, 1, 20, 2, 30, 3, 0, 15, 0x03, 40, 0x80, 25, 0x04})
	f.Add([]byte{5, 5, 5, 5, 6, 7, 0, 5, 0xff, 5, 0x00, 6, 0x80})
	f.Add([]byte{200, 1, 0, 100, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 200 {
			return
		}
		var h leadtime.History
		i := 0
		// Pulls until a zero byte: merge hour, SHA letter.
		for i+1 < len(data) && data[i] != 0 && len(h.Pulls) < 30 {
			n := len(h.Pulls) + 1
			h.Pulls = append(h.Pulls, pull(n, float64(data[i]), fmt.Sprintf("s%d", data[i+1]%16)))
			i += 2
		}
		i++
		// Deployments: finish hour, commit mask (bit 7 set: no list).
		for k := 0; i+1 < len(data) && k < 20; k++ {
			fin, mask := float64(data[i]), data[i+1]
			i += 2
			var commits []string
			if mask&0x80 == 0 {
				commits = []string{}
				for b := range 7 {
					if mask&(1<<b) != 0 {
						commits = append(commits, fmt.Sprintf("s%d", b))
					}
				}
			}
			h.Deployments = append(h.Deployments, deploy(fmt.Sprintf("deployment:%02d", k), fin, "", commits))
		}
		cfg := leadtime.DefaultConfig()
		cfg.DeploySources = []leadtime.Source{leadtime.SourceDeploymentStatus}
		cfg.Baseline = "48h"
		m, err := leadtime.Compute(h, cfg, leadtime.Query{From: at(-1000), To: at(1000), Rows: true})
		if err != nil {
			t.Fatal(err)
		}
		checkInvariants(t, h, m)
		got := map[int]string{}
		for _, r := range m.Pulls {
			got[r.Number] = r.Deployment
		}
		want := naiveLink(h, 48*time.Hour)
		for _, p := range h.Pulls {
			if got[p.Number] != want[p.Number] {
				t.Fatalf("#%d (merged %v, %s) shipped by %q, the definition says %q\nhistory: %+v",
					p.Number, p.MergedAt, p.MergeSHA, got[p.Number], want[p.Number], h.Deployments)
			}
		}
	})
}
