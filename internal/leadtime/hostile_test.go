package leadtime_test

import (
	"math"
	"runtime"
	"testing"
	"time"

	"github.com/tasuki-sre/tasuki/internal/leadtime"
)

// TestHostileNumbersAndTimes: recorded events are partly written by users
// (author dates, titles) and partly by whatever filled the store; none of
// them may crash Compute or make it allocate by their value.
func TestHostileNumbersAndTimes(t *testing.T) {
	huge := pull(math.MaxInt32, 10, "h")
	negative := pull(-5, 11, "n")
	future := pull(3, 12, "f")
	future.FirstCommitAt = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC) // beyond UnixNano's range
	ancient := pull(4, 13, "o")
	ancient.FirstCommitAt = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	selfRevert := pull(5, 14, "s")
	selfRevert.Reverts = 5
	h := leadtime.History{
		Pulls: []leadtime.Pull{huge, negative, future, ancient, selfRevert},
		Reviews: []leadtime.Review{
			{Repo: repo, Number: math.MaxInt32, ID: 1, Reviewer: "bob", At: at(5)},
			{Repo: repo, Number: -5, ID: 2, Reviewer: "bob", At: at(5)},
			{Repo: "other/repo", Number: 1, ID: 3, Reviewer: "bob", At: at(5)},
		},
		Deployments: []leadtime.Deployment{
			deploy("deployment:0", 0, "z", []string{}),
			deploy("deployment:1", 20, "s", []string{"h", "n", "f", "o", "s", "h", "h"}),
			{Repo: repo, ID: "deployment:x", Source: "carrier_pigeon", FinishedAt: at(21)},
			{Repo: repo, ID: "deployment:y", Source: leadtime.SourceDeploymentStatus, Environment: "production"}, // never finished
		},
		Incidents: []leadtime.Incident{
			{Repo: repo, Number: 1, StartedAt: at(22), CausedBy: "#notanumber"},
			{Repo: repo, Number: 2, StartedAt: at(22), CausedBy: "deadbeef"},
			{Repo: repo, Number: 3, CausedBy: "#1"}, // no start
		},
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m := compute(t, h, leadtime.DefaultConfig(), wide())
	runtime.ReadMemStats(&after)
	// A dense array for numbers up to 2^31 would take 8 GiB.
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 8<<20 {
		t.Errorf("Compute allocated %d bytes for five pull requests", grew)
	}
	if r := row(t, m, math.MaxInt32); dur(r.Pickup) != "3h" { // ready at 10-8 = 2, reviewed at 5
		t.Errorf("#MaxInt32 pickup %s, want 3h", dur(r.Pickup))
	}
	// An author date in the year 3000 ends after the deployment: out of
	// order, zero. One in 1970 is before git existed: unknown.
	for n, want := range map[int]string{3: "0s", 4: "unknown"} {
		if got := dur(row(t, m, n).LeadTime); got != want {
			t.Errorf("#%d lead time %s, want %s", n, got, want)
		}
	}
	if m.Missing.OutOfOrder != 1 || m.Missing.NoFirstCommit != 1 {
		t.Errorf("out of order %d, no first commit %d; want 1, 1", m.Missing.OutOfOrder, m.Missing.NoFirstCommit)
	}
	// A pull request reverting itself does not fail its deployment; the
	// unresolvable causes fall back to the window (deployment:1, 2h before).
	if m.ChangeFailRate.Count != 1 || m.DeploymentFrequency.Deployments != 2 {
		t.Errorf("failed %d of %d deployments, want 1 of 2", m.ChangeFailRate.Count, m.DeploymentFrequency.Deployments)
	}
}

// TestForgedRevertTitle documents a limit: a merged pull request titled
// like GitHub's revert of another one marks that one reverted. Merging needs
// the repository's review rules, so it takes more than opening a pull
// request; the change fail rate is what it can move.
func TestForgedRevertTitle(t *testing.T) {
	forged := pull(2, 20, "b")
	forged.Title = `Revert "Change 1"`
	h := leadtime.History{
		Pulls:       []leadtime.Pull{pull(1, 10, "a"), forged},
		Deployments: []leadtime.Deployment{deploy("deployment:0", 0, "z", []string{}), deploy("deployment:1", 12, "a", []string{"a"})},
	}
	m := compute(t, h, leadtime.DefaultConfig(), wide())
	if m.ChangeFailRate.Count != 1 {
		t.Errorf("failed %d, want 1", m.ChangeFailRate.Count)
	}
	// Unmerged, the same title does nothing.
	h.Pulls[1].MergedAt = time.Time{}
	if m := compute(t, h, leadtime.DefaultConfig(), wide()); m.ChangeFailRate.Count != 0 {
		t.Errorf("an unmerged revert failed a deployment")
	}
}
