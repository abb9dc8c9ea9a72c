package leadtime_test

import (
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"

	"github.com/tasuki-sre/tasuki/internal/leadtime"
	"github.com/tasuki-sre/tasuki/internal/leadtime/leadtimetest"
)

// micros is a time as a Builder takes it.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// A Builder fed pull by pull, its strings pointing into a buffer that the
// next pull overwrites (as a store's row does), with each pull's reviews
// right after it (ReviewLast), measures exactly what Prepare of the whole
// History does: it copies what it keeps.
func TestBuilderMatchesPrepare(t *testing.T) {
	h := leadtimetest.Generate(leadtimetest.Options{Repos: 3, Pulls: 2000, Jobs: 50, NoCommits: 0.2})
	cfg := leadtime.DefaultConfig()
	cfg.Services = map[string]leadtime.Service{"one": {Paths: []string{"services/svc-1"}}}
	q := leadtime.Query{From: at(-24 * 365 * 4), To: at(24 * 365 * 4), Rows: true, Longest: 100}
	// The Builder takes microseconds, as the store keeps them.
	for i := range h.Pulls {
		p := &h.Pulls[i]
		for _, t := range []*time.Time{&p.FirstCommitAt, &p.OpenedAt, &p.ReadyAt, &p.MergedAt, &p.ClosedAt} {
			*t = t.Truncate(time.Microsecond)
		}
	}
	for i := range h.Reviews {
		h.Reviews[i].At = h.Reviews[i].At.Truncate(time.Microsecond)
	}

	want, err := leadtime.Compute(h, cfg, q)
	if err != nil {
		t.Fatal(err)
	}
	b, err := leadtime.NewBuilder(cfg, h.DefaultBranches)
	if err != nil {
		t.Fatal(err)
	}
	byPull := map[[2]any][]leadtime.Review{}
	for _, r := range h.Reviews {
		k := [2]any{r.Repo, r.Number}
		byPull[k] = append(byPull[k], r)
	}
	buf := make([]byte, 0, 4096)
	// view is s as a string in buf, which the next pull overwrites.
	view := func(s string) string {
		if s == "" {
			return ""
		}
		start := len(buf)
		buf = append(buf, s...)
		return unsafe.String(&buf[start], len(s))
	}
	views := func(ss []string) []string {
		if ss == nil {
			return nil
		}
		out := make([]string, len(ss))
		for i, s := range ss {
			out[i] = view(s)
		}
		return out
	}
	for _, p := range h.Pulls {
		buf = buf[:0]
		b.AddPull(&leadtime.PullRecord{
			Repo: view(p.Repo), Number: p.Number, Title: view(p.Title), Author: view(p.Author), AuthorIsBot: p.AuthorIsBot,
			FirstCommitAt: micros(p.FirstCommitAt), OpenedAt: micros(p.OpenedAt),
			ReadyAt: micros(p.ReadyAt), MergedAt: micros(p.MergedAt),
			ClosedAt: micros(p.ClosedAt), MergeSHA: view(p.MergeSHA), BaseRef: view(p.BaseRef),
			HeadRef: view(p.HeadRef), Paths: views(p.Paths), Labels: views(p.Labels), Reverts: p.Reverts,
		})
		for _, r := range byPull[[2]any{p.Repo, p.Number}] {
			b.ReviewLast(view(r.Reviewer), r.ReviewerIsBot, micros(r.At))
		}
		for i := range buf {
			buf[i] = '#' // the row is gone
		}
	}
	b.AddDeployments(h.Deployments)
	b.AddJobs(h.Jobs)
	b.AddIncidents(h.Incidents)
	p, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Compute(q)
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Pulls) == 0 || want.ChangeLeadTime.Count == 0 || want.ChangeFailRate.Count == 0 {
		t.Fatalf("nothing measured: %d pulls, %+v; the test compares nothing", len(want.Pulls), want.ChangeFailRate)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Builder differs from Prepare (-Prepare +Builder):\n%s", d)
	}
}
