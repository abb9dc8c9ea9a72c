package leadtime_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tasuki-sre/tasuki/internal/leadtime"
)

func TestPercentiles(t *testing.T) {
	h := func(v ...float64) []int64 {
		out := make([]int64, len(v))
		for i, x := range v {
			out[i] = int64(x * float64(time.Hour))
		}
		return out
	}
	tests := []struct {
		name string
		vals []int64
		want leadtime.Stats
	}{
		{name: "none", vals: nil, want: leadtime.Stats{}},
		// n=1: every rank is 1.
		{name: "one", vals: h(5), want: leadtime.Stats{Count: 1, Median: hours(5), P75: hours(5), P90: hours(5)}},
		// n=2: median rank ceil(1) = 1 (the lower), p75 ceil(1.5) = 2, p90 ceil(1.8) = 2.
		{name: "two", vals: h(20, 10), want: leadtime.Stats{Count: 2, Median: hours(10), P75: hours(20), P90: hours(20)}},
		// n=3: median ceil(1.5) = 2, p75 ceil(2.25) = 3, p90 ceil(2.7) = 3.
		{name: "three", vals: h(30, 10, 20), want: leadtime.Stats{Count: 3, Median: hours(20), P75: hours(30), P90: hours(30)}},
		// n=10 (1..10 h shuffled): median ceil(5) = 5, p75 ceil(7.5) = 8, p90 ceil(9) = 9.
		{name: "ten", vals: h(7, 3, 10, 1, 9, 2, 8, 5, 4, 6), want: leadtime.Stats{Count: 10, Median: hours(5), P75: hours(8), P90: hours(9)}},
		// Ties: 1,1,1,1,2,2,2,2,2,9: median rank 5 = 2, p75 rank 8 = 2, p90 rank 9 = 2.
		{name: "ties", vals: h(2, 1, 2, 1, 9, 2, 1, 2, 1, 2), want: leadtime.Stats{Count: 10, Median: hours(2), P75: hours(2), P90: hours(2)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, leadtime.Percentiles(tt.vals)); diff != "" {
				t.Errorf("Percentiles (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPercentilesAgainstSorting compares selection with the definition:
// sort, take the value at the nearest rank.
func TestPercentilesAgainstSorting(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		n := 1 + r.IntN(200)
		vals := make([]int64, n)
		for i := range vals {
			vals[i] = r.Int64N(50) // many ties
		}
		sorted := slices.Clone(vals)
		slices.Sort(sorted)
		want := leadtime.Stats{Count: n,
			Median: leadtime.Duration(sorted[leadtime.Rank(50, n)-1]),
			P75:    leadtime.Duration(sorted[leadtime.Rank(75, n)-1]),
			P90:    leadtime.Duration(sorted[leadtime.Rank(90, n)-1])}
		if got := leadtime.Percentiles(vals); got != want {
			t.Fatalf("n=%d: got %+v, want %+v (sorted %v)", n, got, want, sorted)
		}
	}
}

func TestRank(t *testing.T) {
	for _, tt := range []struct{ p, n, want int }{
		{50, 1, 1}, {50, 2, 1}, {50, 3, 2}, {50, 4, 2}, {50, 10, 5}, {50, 11, 6},
		{75, 2, 2}, {75, 4, 3}, {75, 10, 8}, {90, 10, 9}, {90, 11, 10}, {90, 100, 90}, {100, 7, 7}, {50, 0, 0},
	} {
		if got := leadtime.Rank(tt.p, tt.n); got != tt.want {
			t.Errorf("Rank(%d, %d) = %d, want %d", tt.p, tt.n, got, tt.want)
		}
	}
}

func TestLevels(t *testing.T) {
	day := 86400.0
	tests := []struct {
		metric string
		year   int
		value  float64
		ok     bool
		want   string // level name or note
	}{
		{leadtime.MetricDeploymentFrequency, 2024, 7, true, "elite"},    // 7 a week: daily on average
		{leadtime.MetricDeploymentFrequency, 2024, 6.9, true, "high"},   // less than daily
		{leadtime.MetricDeploymentFrequency, 2024, 1, true, "high"},     // once a week
		{leadtime.MetricDeploymentFrequency, 2024, 0.5, true, "medium"}, // twice a month
		{leadtime.MetricDeploymentFrequency, 2024, 0.1, true, "low"},    // less than monthly
		{leadtime.MetricDeploymentFrequency, 2024, 0, true, "low"},      // none at all
		{leadtime.MetricChangeLeadTime, 2024, day - 1, true, "elite"},   // under a day
		{leadtime.MetricChangeLeadTime, 2024, day, true, "high"},        // one day is not less than one day
		{leadtime.MetricChangeLeadTime, 2023, 40 * day, true, "low"},    // the 2023 low range repeats medium's
		{leadtime.MetricChangeLeadTime, 2024, 0, false, "no data"},      // no changes shipped
		{leadtime.MetricChangeFailRate, 2024, 0, true, "elite"},         // nearest 5%
		{leadtime.MetricChangeFailRate, 2024, 0.08, true, "medium"},     // nearest 10% (medium in 2024)
		{leadtime.MetricChangeFailRate, 2024, 0.17, true, "high"},       // nearest 20%
		{leadtime.MetricChangeFailRate, 2023, 0.17, true, "medium"},     // nearest 15%
		{leadtime.MetricChangeFailRate, 2024, 0.075, true, "elite"},     // a tie goes to the better level
		{leadtime.MetricRecoveryTime, 2024, 3599, true, "elite"},        // under an hour
		{leadtime.MetricRecoveryTime, 2024, 2 * day, true, "low"},       // 2024 has no level between a day and a week
		{leadtime.MetricRecoveryTime, 2023, 2 * day, true, "medium"},    // 2023 does
		{leadtime.MetricReworkRate, 2024, 0.1, true, "the 2024 report has no levels for this metric"},
		{leadtime.MetricChangeLeadTime, 2019, 1, true, "no level table for 2019"},
	}
	for _, tt := range tests {
		l := leadtime.Classify(tt.metric, tt.year, tt.value, tt.ok)
		got := l.Name
		if got == "" {
			got = l.Note
		}
		if got != tt.want || l.Year != tt.year {
			t.Errorf("Classify(%s, %d, %v) = %+v, want %q", tt.metric, tt.year, tt.value, l, tt.want)
		}
	}
	if got := leadtime.ReportYears(); !slices.Equal(got, []int{2023, 2024}) {
		t.Errorf("ReportYears() = %v", got)
	}
}
