package leadtime_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tasuki-sre/tasuki/internal/leadtime"
)

// doraHistory is two weeks, [Mon 2026-03-02, Mon 2026-03-16), of acme/api:
//
//	hour  -24  deployment:0 (before the period: first deployment, ships #1)
//	hour   10  deployment:1 ships #2
//	hour   30  deployment:2 ships #3; incident 1 names "#3", starts at 32,
//	           resolved at 35 (3h)
//	hour   50  deployment:3 ships #5; #6 (merged at 70) reverts #5
//	hour  100  deployment:4 ships #4; incident 2 names nothing, starts at 105
//	           (5h later, inside the 24h window), resolved at 106 (1h)
//	hour  105.5 deployment:5 from hotfix/fix-timeout ships #6 while incident
//	           2 is open: rework
//	hour  200  incident 3 starts, 94.5h after the last deployment: blamed on
//	           nothing; still open
func doraHistory() leadtime.History {
	p6 := pull(6, 70, "f")
	p6.Title, p6.Reverts = `Revert "Change 5"`, 5
	return leadtime.History{
		Pulls: []leadtime.Pull{pull(1, -30, "a"), pull(2, 5, "b"), pull(3, 25, "c"), pull(4, 90, "d"), pull(5, 45, "e"), p6},
		Deployments: []leadtime.Deployment{
			deploy("deployment:0", -24, "a", []string{"a"}),
			deploy("deployment:1", 10, "b", []string{"b"}),
			deploy("deployment:2", 30, "c", []string{"c"}),
			deploy("deployment:3", 50, "e", []string{"e"}),
			deploy("deployment:4", 100, "d", []string{"f", "d"}[1:]),
			func() leadtime.Deployment {
				d := deploy("deployment:5", 105.5, "f", []string{"f"})
				d.Ref = "hotfix/fix-timeout"
				return d
			}(),
		},
		Incidents: []leadtime.Incident{
			{Repo: repo, Number: 1, Title: "Errors", StartedAt: at(32), ResolvedAt: at(35), CausedBy: "#3"},
			{Repo: repo, Number: 2, Title: "Timeouts", StartedAt: at(105), ResolvedAt: at(106)},
			{Repo: repo, Number: 3, Title: "Slow", StartedAt: at(200)},
		},
	}
}

func TestDORA(t *testing.T) {
	q := leadtime.Query{From: t0, To: t0.AddDate(0, 0, 14)}
	m := compute(t, doraHistory(), leadtime.DefaultConfig(), q)

	// Deployment frequency: deployments 1..5 in 14 days = 5 / 14 * 7 = 2.5 a
	// week; days with a deployment: Mar 2 (h10), Mar 3 (h30), Mar 4 (h50),
	// Mar 6 (h100, h105.5) = 4. 2024 levels: at least once a week = high.
	wantFreq := leadtime.Frequency{Deployments: 5, Days: 14, PerWeek: 2.5, DeployDays: 4,
		Level: leadtime.Level{Name: "high", Year: 2024, Text: "Between once per day and once per week"}}
	if diff := cmp.Diff(wantFreq, m.DeploymentFrequency); diff != "" {
		t.Errorf("deployment frequency (-want +got):\n%s", diff)
	}
	// Change fail rate: deployment:2 (incident 1 names #3), deployment:3
	// (its #5 was reverted), deployment:4 (incident 2, by the window) = 3 of
	// 5 = 0.6; nearest 2024 value is 40%: low.
	wantCFR := leadtime.Rate{Count: 3, Deployments: 5, Rate: 0.6, Level: leadtime.Level{Name: "low", Year: 2024, Text: "40%"}}
	if diff := cmp.Diff(wantCFR, m.ChangeFailRate); diff != "" {
		t.Errorf("change fail rate (-want +got):\n%s", diff)
	}
	// Recovery: incident 1 3h, incident 2 1h; the lower median is 1h (rank
	// ceil(0.5*2) = 1), p75 rank ceil(1.5) = 2: 3h. 1h is not less than one
	// hour: high. Incident 3 is open and blamed on nothing.
	wantRec := leadtime.DurationMetric{Stats: leadtime.Stats{Count: 2, Median: hours(1), P75: hours(3), P90: hours(3)},
		Level: leadtime.Level{Name: "high", Year: 2024, Text: "Less than one day"}}
	if diff := cmp.Diff(wantRec, m.RecoveryTime); diff != "" {
		t.Errorf("recovery (-want +got):\n%s", diff)
	}
	if m.Missing.UnlinkedIncidents != 1 || m.Missing.OpenIncidents != 0 {
		t.Errorf("unlinked %d open %d incidents; want 1, 0 (an open incident blamed on nothing counts as unlinked)", m.Missing.UnlinkedIncidents, m.Missing.OpenIncidents)
	}
	// Rework: deployment:5 (hotfix ref, incident 2 open from 105 to 106) =
	// 1 of 5 = 0.2. The 2024 report has no levels for it.
	wantRework := leadtime.Rate{Count: 1, Deployments: 5, Rate: 0.2,
		Level: leadtime.Level{Year: 2024, Note: "the 2024 report has no levels for this metric"}}
	if diff := cmp.Diff(wantRework, m.ReworkRate); diff != "" {
		t.Errorf("rework (-want +got):\n%s", diff)
	}
	// Lead times (first commit = merge - 10h): #2 10-(5-10) = 15h, #3 15h,
	// #5 50-35 = 15h, #4 100-80 = 20h, #6 105.5-60 = 45.5h. Sorted 15, 15,
	// 15, 20, 45.5: median rank 3 = 15h, p75 rank 4 = 20h, p90 rank 5 = 45.5h.
	wantLead := leadtime.Stats{Count: 5, Median: hours(15), P75: hours(20), P90: hours(45.5)}
	if m.ChangeLeadTime.Stats != wantLead {
		t.Errorf("lead time %+v, want %+v", m.ChangeLeadTime.Stats, wantLead)
	}
	// The previous two weeks hold deployment:0 only: 1 deployment, 0.5 a
	// week, #1's lead time 24 + ... = -24 - (-40) = 16h.
	wantPrev := &leadtime.Summary{From: t0.AddDate(0, 0, -14), To: t0, Deployments: 1, PerWeek: 0.5,
		LeadTime: leadtime.Stats{Count: 1, Median: hours(16), P75: hours(16), P90: hours(16)}}
	if diff := cmp.Diff(wantPrev, m.Previous); diff != "" {
		t.Errorf("previous (-want +got):\n%s", diff)
	}
}

// TestIncidentBlame checks each way an incident finds the deployment that
// caused it.
func TestIncidentBlame(t *testing.T) {
	tests := []struct {
		name     string
		incident leadtime.Incident
		window   string
		want     string // deployment ID counted as failed, "" for none
	}{
		{name: "a pull request", incident: leadtime.Incident{CausedBy: "#2", StartedAt: at(300)}, want: "deployment:1"},
		{name: "a pull request of another repository", incident: leadtime.Incident{Repo: "acme/incidents", CausedBy: "acme/api#3", StartedAt: at(300)}, want: "deployment:2"},
		{name: "a deployment ID", incident: leadtime.Incident{CausedBy: "deployment:3", StartedAt: at(300)}, want: "deployment:3"},
		{name: "a deployment number", incident: leadtime.Incident{CausedBy: "3", StartedAt: at(300)}, want: "deployment:3"},
		{name: "a merge SHA prefix", incident: leadtime.Incident{CausedBy: "dddddd0", StartedAt: at(300)}, want: "deployment:4"},
		{name: "the last deployment within the window", incident: leadtime.Incident{StartedAt: at(60)}, want: "deployment:3"},
		{name: "outside the window", incident: leadtime.Incident{StartedAt: at(75)}, want: ""},
		{name: "window zero: only named causes", window: "0s", incident: leadtime.Incident{StartedAt: at(51)}, want: ""},
		{name: "before any deployment", incident: leadtime.Incident{StartedAt: at(-100)}, want: ""},
		{name: "an unknown cause falls back to the window", incident: leadtime.Incident{CausedBy: "#404", StartedAt: at(31)}, want: "deployment:2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := leadtime.History{
				Pulls: []leadtime.Pull{pull(1, -30, "aaaaaa0"), pull(2, 5, "bbbbbb0"), pull(3, 25, "cccccc0"), pull(4, 90, "dddddd0123")},
				Deployments: []leadtime.Deployment{
					deploy("deployment:0", -24, "aaaaaa0", []string{"aaaaaa0"}),
					deploy("deployment:1", 10, "bbbbbb0", []string{"bbbbbb0"}),
					deploy("deployment:2", 30, "cccccc0", []string{"cccccc0"}),
					deploy("deployment:3", 50, "eeeeee0", []string{"eeeeee0"}),
					deploy("deployment:4", 100, "dddddd0123", []string{"dddddd0123"}),
				},
			}
			inc := tt.incident
			if inc.Repo == "" {
				inc.Repo = repo
			}
			h.Incidents = []leadtime.Incident{inc}
			cfg := leadtime.DefaultConfig()
			if tt.window != "" {
				cfg.IncidentWindow = tt.window
			}
			var got string
			for _, d := range h.Deployments {
				// A deployment failed when its period's change fail rate
				// counts it.
				m := compute(t, h, cfg, leadtime.Query{From: d.FinishedAt, To: d.FinishedAt.Add(time.Minute)})
				if m.ChangeFailRate.Count > 0 {
					got = d.ID
				}
			}
			if got != tt.want {
				t.Errorf("blamed %q, want %q", got, tt.want)
			}
		})
	}
}

// TestRevertByTitle: GitHub's revert button titles the pull request
// `Revert "title"`; without a recorded number the title finds the original.
func TestRevertByTitle(t *testing.T) {
	p2 := pull(2, 20, "b")
	p2.Title = `Revert "Change 1"`
	h := leadtime.History{
		Pulls: []leadtime.Pull{pull(1, 10, "a"), p2},
		Deployments: []leadtime.Deployment{
			deploy("deployment:0", 0, "z", []string{}),
			deploy("deployment:1", 12, "a", []string{"a"}),
			deploy("deployment:2", 22, "b", []string{"b"}),
		},
	}
	m := compute(t, h, leadtime.DefaultConfig(), leadtime.Query{From: at(1), To: at(30)})
	// deployment:1 shipped the reverted #1: 1 failed of 2.
	if m.ChangeFailRate.Count != 1 || m.ChangeFailRate.Deployments != 2 {
		t.Errorf("change fail rate %d of %d, want 1 of 2", m.ChangeFailRate.Count, m.ChangeFailRate.Deployments)
	}
	// No incident was open: the revert is not rework.
	if m.ReworkRate.Count != 0 {
		t.Errorf("rework %d, want 0 without an open incident", m.ReworkRate.Count)
	}
}

// TestReworkNeedsItsIncident: in a monorepo, a hotfix of one service made
// while another service's incident is open is not rework.
func TestReworkNeedsItsIncident(t *testing.T) {
	h, cfg := monorepo()
	hotfix := func(id string, fin float64, env string) leadtime.Deployment {
		d := deploy(id, fin, id, []string{id})
		d.Environment, d.Ref = env, "hotfix/"+id
		return d
	}
	h.Deployments = append(h.Deployments, hotfix("api-hotfix", 42, "production-api"))
	h.Incidents = []leadtime.Incident{{Repo: repo, Number: 1, Service: "web", StartedAt: at(40), ResolvedAt: at(50)}}
	m := compute(t, h, cfg, leadtime.Query{From: at(1), To: at(100)})
	if m.ReworkRate.Count != 0 {
		t.Errorf("rework %d, want 0: the open incident is web's", m.ReworkRate.Count)
	}
	h.Incidents[0].Service = "api"
	m = compute(t, h, cfg, leadtime.Query{From: at(1), To: at(100)})
	// Deployments in the period: api at 20, web at 30, the hotfix at 42.
	if m.ReworkRate.Count != 1 || m.ReworkRate.Deployments != 3 {
		t.Errorf("rework %d of %d, want 1 of 3", m.ReworkRate.Count, m.ReworkRate.Deployments)
	}
	// After the incident resolved, a hotfix is planned work again.
	h.Deployments[len(h.Deployments)-1].FinishedAt = at(50)
	if m := compute(t, h, cfg, leadtime.Query{From: at(1), To: at(100)}); m.ReworkRate.Count != 0 {
		t.Errorf("rework %d at the resolution, want 0", m.ReworkRate.Count)
	}
}

// TestJobs measures CI queue and run times by kind.
func TestJobs(t *testing.T) {
	job := func(id int64, name, kind string, queued, started, done float64, concl string) leadtime.Job {
		return leadtime.Job{Repo: repo, ID: id, Name: name, Kind: leadtime.JobKind(kind), QueuedAt: at(queued), StartedAt: at(started), CompletedAt: at(done), Conclusion: concl}
	}
	h := leadtime.History{Jobs: []leadtime.Job{
		// test: queued 0.5h and 1.5h, run 1h and 2h; one failed.
		job(1, "unit tests", "", 0, 0.5, 1.5, "success"),
		job(2, "lint", "", 0, 1.5, 3.5, "failure"),
		// build, recorded as such by the shell: queue 0, run 0.25h.
		job(3, "compile", "build", 1, 1, 1.25, "success"),
		// completed outside the period: not counted.
		job(4, "deploy", "", 200, 201, 202, "success"),
		{Repo: repo, ID: 5, Name: "still running", QueuedAt: at(1)},
		{Repo: "acme/other", ID: 6, Name: "test", QueuedAt: at(1), StartedAt: at(1), CompletedAt: at(2), Conclusion: "success"},
	}}
	m := compute(t, h, leadtime.DefaultConfig(), leadtime.Query{Repo: repo, From: at(0), To: at(100)})
	want := []leadtime.JobStats{
		{Kind: leadtime.JobTest, Queue: leadtime.Stats{Count: 2, Median: hours(0.5), P75: hours(1.5), P90: hours(1.5)},
			Run: leadtime.Stats{Count: 2, Median: hours(1), P75: hours(2), P90: hours(2)}, Failed: 1},
		{Kind: leadtime.JobBuild, Queue: leadtime.Stats{Count: 1}, Run: leadtime.Stats{Count: 1, Median: hours(0.25), P75: hours(0.25), P90: hours(0.25)}},
		{Kind: leadtime.JobDeploy},
		{Kind: leadtime.JobOther},
	}
	if diff := cmp.Diff(want, m.Jobs); diff != "" {
		t.Errorf("jobs (-want +got):\n%s", diff)
	}
}
