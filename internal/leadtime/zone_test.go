package leadtime_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tasuki-sre/tasuki/internal/leadtime"
)

// TestWeekBuckets cuts weeks at Monday 00:00 in the configured zone,
// across a daylight saving change.
func TestWeekBuckets(t *testing.T) {
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// Europe/Berlin moves to summer time on Sunday 2026-03-29 at 02:00.
	// 21:30Z that Sunday is 23:30 CEST (week 13); 22:30Z is Monday 00:30
	// CEST (week 14). In UTC both are Sunday, week 13.
	// America/Los_Angeles: Monday 2026-03-23 05:00Z is Sunday 22:00 PDT,
	// still week 12 there, week 13 in UTC and Berlin.
	deps := []leadtime.Deployment{
		deploy("deployment:0", -24*30, "z", []string{}),
		{Repo: repo, ID: "deployment:la", Source: leadtime.SourceDeploymentStatus, Environment: "production", SHA: "x", FinishedAt: utc("2026-03-23T05:00:00Z"), Commits: []string{}},
		{Repo: repo, ID: "deployment:sun", Source: leadtime.SourceDeploymentStatus, Environment: "production", SHA: "a", FinishedAt: utc("2026-03-29T21:30:00Z"), Commits: []string{}},
		{Repo: repo, ID: "deployment:mon", Source: leadtime.SourceDeploymentStatus, Environment: "production", SHA: "b", FinishedAt: utc("2026-03-29T22:30:00Z"), Commits: []string{}},
	}
	h := leadtime.History{Deployments: deps}
	type week struct {
		Label string
		Start string
		N     int
	}
	tests := []struct {
		zone string
		want []week
	}{
		{"Europe/Berlin", []week{
			{"2026-W12", "2026-03-16T00:00:00+01:00", 0},
			{"2026-W13", "2026-03-23T00:00:00+01:00", 2},
			{"2026-W14", "2026-03-30T00:00:00+02:00", 1},
		}},
		{"UTC", []week{
			{"2026-W12", "2026-03-16T00:00:00Z", 0},
			{"2026-W13", "2026-03-23T00:00:00Z", 3},
			{"2026-W14", "2026-03-30T00:00:00Z", 0}, // the period ends Monday 12:00Z
		}},
		{"America/Los_Angeles", []week{
			{"2026-W12", "2026-03-16T00:00:00-07:00", 1},
			{"2026-W13", "2026-03-23T00:00:00-07:00", 2},
			{"2026-W14", "2026-03-30T00:00:00-07:00", 0}, // 12:00Z is Monday 05:00 PDT
		}},
	}
	for _, tt := range tests {
		t.Run(tt.zone, func(t *testing.T) {
			cfg := leadtime.DefaultConfig()
			cfg.Timezone = tt.zone
			// The period: Friday 2026-03-20 to Monday 2026-03-30 12:00Z.
			q := leadtime.Query{From: utc("2026-03-20T00:00:00Z"), To: utc("2026-03-30T12:00:00Z")}
			m := compute(t, h, cfg, q)
			var got []week
			for _, b := range m.Weekly {
				got = append(got, week{b.Label, b.Start.Format(time.RFC3339), b.Deployments})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("weeks (-want +got):\n%s", diff)
			}
			if m.Timezone != tt.zone {
				t.Errorf("timezone %q, want %q", m.Timezone, tt.zone)
			}
		})
	}
}

// TestMonthBuckets: 2026-03-31 16:00Z is already April 1 in Tokyo.
func TestMonthBuckets(t *testing.T) {
	d := deploy("deployment:1", 0, "a", []string{})
	d.FinishedAt = time.Date(2026, 3, 31, 16, 0, 0, 0, time.UTC)
	h := leadtime.History{Deployments: []leadtime.Deployment{deploy("deployment:0", -24*60, "z", []string{}), d}}
	for zone, want := range map[string][]string{
		"Asia/Tokyo": {"2026-03 0", "2026-04 1"},
		"UTC":        {"2026-03 1"},
	} {
		cfg := leadtime.DefaultConfig()
		cfg.Timezone = zone
		m := compute(t, h, cfg, leadtime.Query{From: time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 31, 20, 0, 0, 0, time.UTC)})
		var got []string
		for _, b := range m.Monthly {
			got = append(got, b.Label+" "+string(rune('0'+b.Deployments)))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s months (-want +got):\n%s", zone, diff)
		}
	}
}
