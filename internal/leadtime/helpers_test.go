package leadtime_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tasuki-sre/tasuki/internal/leadtime"
)

// t0 is Monday 2026-03-02 00:00 UTC; at(h) is h hours later.
var t0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

func at(h float64) time.Time { return t0.Add(time.Duration(h * float64(time.Hour))) }

func hours(h float64) leadtime.Duration { return leadtime.D(time.Duration(h * float64(time.Hour))) }

const repo = "acme/api"

// pull is a pull request of acme/api into main, first commit 10 h and
// ready 8 h before its merge at hour merged, unreviewed.
func pull(n int, merged float64, sha string) leadtime.Pull {
	return leadtime.Pull{
		Repo: repo, Number: n, Title: fmt.Sprintf("Change %d", n), Author: "alice",
		FirstCommitAt: at(merged - 10), OpenedAt: at(merged - 8), ReadyAt: at(merged - 8),
		MergedAt: at(merged), ClosedAt: at(merged), MergeSHA: sha, BaseRef: "main", HeadRef: fmt.Sprintf("alice/%d", n),
	}
}

// deploy is a successful production deployment of acme/api finishing at
// hour fin; commits nil means the range was not read.
func deploy(id string, fin float64, sha string, commits []string) leadtime.Deployment {
	return leadtime.Deployment{
		Repo: repo, ID: id, Source: leadtime.SourceDeploymentStatus, Environment: "production",
		SHA: sha, FinishedAt: at(fin), Commits: commits, Ref: "main",
	}
}

// wide is a period holding every test event.
func wide() leadtime.Query {
	return leadtime.Query{From: at(-60 * 24), To: at(60 * 24), Rows: true}
}

func compute(t *testing.T, h leadtime.History, cfg leadtime.Config, q leadtime.Query) leadtime.Metrics {
	t.Helper()
	m, err := leadtime.Compute(h, cfg, q)
	if err != nil {
		t.Fatalf("Compute: %v", err)
	}
	return m
}

// shippedBy maps "repo#number" to the ID of the deployment that shipped it.
func shippedBy(m leadtime.Metrics) map[string]string {
	out := map[string]string{}
	for _, r := range m.Pulls {
		out[fmt.Sprintf("%s#%d", r.Repo, r.Number)] = r.Deployment
	}
	return out
}

func row(t *testing.T, m leadtime.Metrics, n int) leadtime.PullRow {
	t.Helper()
	i := slices.IndexFunc(m.Pulls, func(r leadtime.PullRow) bool { return r.Number == n })
	if i < 0 {
		t.Fatalf("#%d not among the shipped pull requests", n)
	}
	return m.Pulls[i]
}

func dur(d *leadtime.Duration) string {
	if d == nil {
		return "unknown"
	}
	return d.String()
}
