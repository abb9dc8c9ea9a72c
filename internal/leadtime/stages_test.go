package leadtime_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tasuki-sre/tasuki/internal/leadtime"
)

// TestFirstDeploymentBaseline: the first deployment tasuki knows of ships
// only what was merged after the baseline, not the repository's history.
func TestFirstDeploymentBaseline(t *testing.T) {
	// The first deployment finishes at hour 100 without a commit list.
	// #1 merged at hour 10 and #2 at hour 40: more than 48 h before it.
	// #3 at hour 60 and #4 at hour 100 (with the deployment): inside.
	pulls := []leadtime.Pull{pull(1, 10, "a"), pull(2, 40, "b"), pull(3, 60, "c"), pull(4, 100, "d")}
	tests := []struct {
		name     string
		baseline string
		commits  []string
		previous string // the previous deployment's SHA, when the shell knew it
		want     map[string]string
		before   int
	}{
		{
			name: "a window before the first deployment, by time", baseline: "48h",
			// 100 - 48 = hour 52: #3 and #4 are at or after it.
			want:   map[string]string{"acme/api#3": "deployment:1", "acme/api#4": "deployment:1"},
			before: 2,
		},
		{
			name: "a window before the first deployment, by commit list", baseline: "48h",
			commits: []string{"a", "b", "c", "d"}, // compare from the repository's root
			want:    map[string]string{"acme/api#3": "deployment:1", "acme/api#4": "deployment:1"},
			before:  2,
		},
		{
			name: "not the repository's first: a range from a previous SHA needs no baseline", baseline: "48h",
			// The History was loaded from some point on; the shell read
			// x...d, which holds every change.
			commits: []string{"a", "b", "c", "d"}, previous: "x",
			want: map[string]string{"acme/api#1": "deployment:1", "acme/api#2": "deployment:1", "acme/api#3": "deployment:1", "acme/api#4": "deployment:1"},
		},
		{
			name: "a date", baseline: "2026-03-03", // hour 24: #2, #3, #4
			want:   map[string]string{"acme/api#2": "deployment:1", "acme/api#3": "deployment:1", "acme/api#4": "deployment:1"},
			before: 1,
		},
		{
			name: "zero: only what merged with it", baseline: "0s",
			want:   map[string]string{"acme/api#4": "deployment:1"},
			before: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := leadtime.DefaultConfig()
			cfg.Baseline = tt.baseline
			d := deploy("deployment:1", 100, "d", tt.commits)
			d.PreviousSHA = tt.previous
			h := leadtime.History{Pulls: pulls, Deployments: []leadtime.Deployment{d}}
			m := compute(t, h, cfg, wide())
			if diff := cmp.Diff(tt.want, shippedBy(m)); diff != "" {
				t.Errorf("shipped by (-want +got):\n%s", diff)
			}
			if m.Missing.BeforeBaseline != tt.before || m.Missing.Undeployed != 0 {
				t.Errorf("before baseline %d, undeployed %d; want %d, 0", m.Missing.BeforeBaseline, m.Missing.Undeployed, tt.before)
			}
		})
	}
}

// TestStages measures each stage of hand-built pull requests.
func TestStages(t *testing.T) {
	// #1: first commit at hour 0, ready at 6. Reviews that do not count: a
	// bot GitHub marks (7), a "[bot]" login (7.5), a configured bot (8),
	// the author's own review comment (8.5). Bob reviews at 10, Carol at 12.
	// Merged at 20 (squash), deployed at 26.
	//   coding = 6 - 0 = 6h; pickup = 10 - 6 = 4h; review = 20 - 10 = 10h;
	//   deploy = 26 - 20 = 6h; lead time = 26 - 0 = 26h.
	p1 := leadtime.Pull{Repo: repo, Number: 1, Title: "Add cache", Author: "alice",
		FirstCommitAt: at(0), OpenedAt: at(6), ReadyAt: at(6), MergedAt: at(20), ClosedAt: at(20), MergeSHA: "s1", BaseRef: "main"}
	// #2 was force-pushed: its early commits are gone from the branch, but
	// the recorded first commit time (hour -48) stays. Opened as a draft at
	// hour -10, ready at 2, Bob reviews at 3, merged at 22, deployed at 26.
	//   coding = 2 - (-48) = 50h; pickup = 3 - 2 = 1h; review = 22 - 3 = 19h;
	//   deploy = 26 - 22 = 4h; lead time = 26 - (-48) = 74h = 3d 2h.
	p2 := leadtime.Pull{Repo: repo, Number: 2, Title: "Rewrite", Author: "dave",
		FirstCommitAt: at(-48), OpenedAt: at(-10), ReadyAt: at(2), MergedAt: at(22), ClosedAt: at(22), MergeSHA: "s2", BaseRef: "main"}
	// #3 has no recorded first commit and no review: coding, pickup, review
	// and lead time unknown; deploy = 26 - 24 = 2h.
	p3 := leadtime.Pull{Repo: repo, Number: 3, Title: "Bump", Author: "erin",
		OpenedAt: at(23), ReadyAt: at(23), MergedAt: at(24), ClosedAt: at(24), MergeSHA: "s3", BaseRef: "main"}
	// #4 was reviewed while still a draft (hour 1), then marked ready at 4
	// and merged at 25: pickup 1 - 4 < 0 counts as zero, out of order.
	//   coding = 4 - 0 = 4h; pickup = 0; review = 25 - 1 = 24h; deploy = 1h;
	//   lead time = 26h.
	p4 := leadtime.Pull{Repo: repo, Number: 4, Title: "Draft reviewed", Author: "frank",
		FirstCommitAt: at(0), OpenedAt: at(0), ReadyAt: at(4), MergedAt: at(25), ClosedAt: at(25), MergeSHA: "s4", BaseRef: "main"}
	reviews := []leadtime.Review{
		{Repo: repo, Number: 1, ID: 1, Reviewer: "github-advanced-security", ReviewerIsBot: true, State: "COMMENTED", At: at(7)},
		{Repo: repo, Number: 1, ID: 2, Reviewer: "linter[bot]", State: "COMMENTED", At: at(7.5)},
		{Repo: repo, Number: 1, ID: 3, Reviewer: "ci-helper", State: "COMMENTED", At: at(8)},
		{Repo: repo, Number: 1, ID: 4, Reviewer: "Alice", State: "COMMENT", At: at(8.5)},
		{Repo: repo, Number: 1, ID: 5, Reviewer: "bob", State: "CHANGES_REQUESTED", At: at(10)},
		{Repo: repo, Number: 1, ID: 6, Reviewer: "carol", State: "APPROVED", At: at(12)},
		{Repo: repo, Number: 2, ID: 7, Reviewer: "bob", State: "APPROVED", At: at(3)},
		{Repo: repo, Number: 4, ID: 8, Reviewer: "bob", State: "COMMENT", At: at(1)},
		{Repo: repo, Number: 99, ID: 9, Reviewer: "bob", State: "APPROVED", At: at(1)}, // no such pull
	}
	h := leadtime.History{
		Pulls:       []leadtime.Pull{p1, p2, p3, p4},
		Reviews:     reviews,
		Deployments: []leadtime.Deployment{deploy("deployment:0", -60, "s0", []string{}), deploy("deployment:1", 26, "s4", []string{"s1", "s2", "s3", "s4"})},
	}
	cfg := leadtime.DefaultConfig()
	cfg.Bots = []string{"CI-Helper"}
	m := compute(t, h, cfg, wide())

	type stages struct{ Coding, Pickup, Review, Deploy, Lead string }
	want := map[int]stages{
		1: {"6h", "4h", "10h", "6h", "1d 2h"},
		2: {"2d 2h", "1h", "19h", "4h", "3d 2h"},
		3: {"unknown", "unknown", "unknown", "2h", "unknown"},
		4: {"4h", "0s", "1d", "1h", "1d 2h"},
	}
	for n, w := range want {
		r := row(t, m, n)
		got := stages{dur(r.Coding), dur(r.Pickup), dur(r.Review), dur(r.Deploy), dur(r.LeadTime)}
		if diff := cmp.Diff(w, got); diff != "" {
			t.Errorf("#%d stages (-want +got):\n%s", n, diff)
		}
	}
	// Lead times 26h, 74h, 26h: median (rank 2 of 3) 26h, p75 and p90
	// (rank 3) 74h; #3 is not counted.
	if got, want := m.ChangeLeadTime.Stats, (leadtime.Stats{Count: 3, Median: hours(26), P75: hours(74), P90: hours(74)}); got != want {
		t.Errorf("lead time %+v, want %+v", got, want)
	}
	want2 := leadtime.Missing{NoFirstCommit: 1, NoReview: 1, OutOfOrder: 1}
	if diff := cmp.Diff(want2, m.Missing); diff != "" {
		t.Errorf("missing (-want +got):\n%s", diff)
	}
	// Stages: coding {6, 50, 4} -> median 6h, p75 50h; pickup {4, 1, 0} ->
	// median 1h, p90 4h; review {10, 19, 24} -> median 19h; deploy
	// {6, 4, 2, 1} -> median rank 2 of 4 = 2h, p75 rank 3 = 4h, p90 rank 4 = 6h.
	wantStages := []leadtime.StageStats{
		{Stage: leadtime.StageCoding, Stats: leadtime.Stats{Count: 3, Median: hours(6), P75: hours(50), P90: hours(50)}, Missing: 1},
		{Stage: leadtime.StagePickup, Stats: leadtime.Stats{Count: 3, Median: hours(1), P75: hours(4), P90: hours(4)}, Missing: 1},
		{Stage: leadtime.StageReview, Stats: leadtime.Stats{Count: 3, Median: hours(19), P75: hours(24), P90: hours(24)}, Missing: 1},
		{Stage: leadtime.StageDeploy, Stats: leadtime.Stats{Count: 4, Median: hours(2), P75: hours(4), P90: hours(6)}, Missing: 0},
	}
	if diff := cmp.Diff(wantStages, m.Stages); diff != "" {
		t.Errorf("stages (-want +got):\n%s", diff)
	}
	if m.SlowestStage != leadtime.StageReview {
		t.Errorf("slowest stage %q, want review (median 19h)", m.SlowestStage)
	}
}

// TestMergeSource: with deployments learnt from merges, the deploy stage is
// zero and the result says which source it used.
func TestMergeSource(t *testing.T) {
	h := leadtime.History{Pulls: []leadtime.Pull{pull(1, 10, "a")}}
	m := compute(t, h, leadtime.DefaultConfig(), wide())
	r := row(t, m, 1)
	if dur(r.Deploy) != "0s" || r.Source != leadtime.SourceMerge || r.Deployment != "merge:a" {
		t.Errorf("deploy %s source %q deployment %q; want 0s, merge, merge:a", dur(r.Deploy), r.Source, r.Deployment)
	}
	if want := []leadtime.StreamSource{{Repo: repo, Source: leadtime.SourceMerge}}; !cmp.Equal(want, m.Sources) {
		t.Errorf("sources %+v, want %+v", m.Sources, want)
	}
	// Lead time = merge - first commit = 10h.
	if m.ChangeLeadTime.Median != hours(10) {
		t.Errorf("lead time %s, want 10h", m.ChangeLeadTime.Median)
	}
}

// TestLongestPickup lists who waited longest for a first review, still
// waiting ones measured to Now, bots' pull requests left out.
func TestLongestPickup(t *testing.T) {
	open := func(n int, ready float64, author string) leadtime.Pull {
		return leadtime.Pull{Repo: repo, Number: n, Title: "Open", Author: author, OpenedAt: at(ready), ReadyAt: at(ready)}
	}
	p1 := pull(1, 30, "a") // ready at 22, reviewed at 23: 1h
	p2 := open(2, 10, "bob")
	p3 := open(3, 0, "dependabot[bot]")
	p4 := open(4, 5, "carol")
	p4.ClosedAt = at(6) // closed unreviewed: never waited
	p5 := open(5, 20, "dave")
	h := leadtime.History{
		Pulls:   []leadtime.Pull{p1, p2, p3, p4, p5},
		Reviews: []leadtime.Review{{Repo: repo, Number: 1, ID: 1, Reviewer: "bob", State: "APPROVED", At: at(23)}, {Repo: repo, Number: 5, ID: 2, Reviewer: "erin", At: at(29)}},
	}
	q := leadtime.Query{From: at(0), To: at(7 * 24), Now: at(34)}
	m := compute(t, h, leadtime.DefaultConfig(), q)
	// #2 waits 34 - 10 = 24h and counting; #5 waited 29 - 20 = 9h; #1 1h.
	var got []string
	for _, r := range m.LongestPickup {
		got = append(got, r.URL+" "+dur(r.Pickup)+map[bool]string{true: " waiting"}[r.Waiting])
	}
	want := []string{"https://github.com/acme/api/pull/2 1d waiting", "https://github.com/acme/api/pull/5 9h", "https://github.com/acme/api/pull/1 1h"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("longest pickup (-want +got):\n%s", diff)
	}
}
