package leadtime_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/leadtime"
)

func TestDefaultConfigValidates(t *testing.T) {
	if err := leadtime.DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	if got := config.Default().LeadTime; !cmp.Equal(got, leadtime.DefaultConfig()) {
		t.Errorf("config.Default().LeadTime = %+v", got)
	}
}

// TestConfigErrors: each mistake in the leadtime section is reported at its
// line, and the section falls back to the defaults.
func TestConfigErrors(t *testing.T) {
	file := `leadtime:
  timezone: Mars/Olympus
  report_year: 2019
  baseline: last week
  incident_window: -1h
  deploy_sources: [deployment_status, carrier_pigeon, deployment_status]
  jobs:
    test: "(unclosed"
  services:
    api:
      paths: ["["]
    empty: {}
  report_repo: a/b/c
`
	got := config.ParseLocal("tasuki.yml", []byte(file))
	var msgs []string
	for _, pe := range config.ParseErrors(got.Err) {
		msgs = append(msgs, pe.Error())
	}
	want := []string{
		`tasuki.yml:2:3: leadtime.timezone: "Mars/Olympus" is not an IANA time zone (for example Europe/Berlin)`,
		`tasuki.yml:3:3: leadtime.report_year: 2019 has no performance levels here; use 2023 to 2024`,
		`tasuki.yml:4:3: leadtime.baseline: "last week" is neither a duration ("336h") nor a date ("2026-01-31")`,
		`tasuki.yml:5:3: leadtime.incident_window: "-1h" is not a duration of zero or more (for example 24h)`,
		`tasuki.yml:6:39: leadtime.deploy_sources[1]: "carrier_pigeon" is not one of deployment_status, workflow_run, release, merge`,
		`tasuki.yml:6:55: leadtime.deploy_sources[2]: "deployment_status" listed twice`,
		`tasuki.yml:8:5: leadtime.jobs.test: not a regular expression: missing closing )`,
		`tasuki.yml:11:15: leadtime.services.api.paths[0]: bad path pattern "["`,
		`tasuki.yml:12:5: leadtime.services.empty: name paths, workflows or environments`,
		`tasuki.yml:13:3: leadtime.report_repo: "a/b/c" is not a repository: use NAME or OWNER/NAME, e.g. engineering-metrics`,
	}
	if diff := cmp.Diff(want, msgs); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if !cmp.Equal(got.Config.LeadTime, leadtime.DefaultConfig()) {
		t.Errorf("a bad section should fall back to the defaults, got %+v", got.Config.LeadTime)
	}
	if _, err := leadtime.Compute(leadtime.History{}, leadtime.Config{}, leadtime.Query{}); err == nil || !strings.Contains(err.Error(), "leadtime config") {
		t.Errorf("Compute with an empty config: %v, want a config error", err)
	}
}

func TestClassifyJob(t *testing.T) {
	cfg := leadtime.DefaultConfig()
	for name, want := range map[string]leadtime.JobKind{
		"unit-tests": leadtime.JobTest, "golangci-lint": leadtime.JobTest, "Build image": leadtime.JobBuild,
		"deploy-prod": leadtime.JobDeploy, "notify": leadtime.JobOther,
	} {
		if got := leadtime.ClassifyJob(cfg, name); got != want {
			t.Errorf("ClassifyJob(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestServicePaths(t *testing.T) {
	h, cfg := monorepo()
	cfg.Services["glob"] = leadtime.Service{Paths: []string{"services/*/main.go"}}
	h.Pulls[2].Paths = []string{"services/api2/main.go"} // not services/api, but the glob
	m := compute(t, h, cfg, leadtime.Query{From: at(1), To: at(100), Rows: true})
	for _, r := range m.Pulls {
		want := map[int][]string{1: {"api", "glob"}, 2: {"web"}, 3: {"glob"}}[r.Number]
		if !cmp.Equal(want, r.Services) {
			t.Errorf("#%d services %v, want %v", r.Number, r.Services, want)
		}
	}
}

// The weekly report goes to a repository of the organisation whose
// .github configuration names it, never elsewhere.
func TestReportRepoOf(t *testing.T) {
	for _, tc := range []struct {
		repo, org, owner, name string
		ok                     bool
	}{
		{"", "acme", "", "", false},
		{"metrics", "acme", "acme", "metrics", true},
		{"acme/metrics", "acme", "acme", "metrics", true},
		{"ACME/metrics", "acme", "ACME", "metrics", true},
		{"evil/metrics", "acme", "evil", "metrics", false},
	} {
		cfg := leadtime.DefaultConfig()
		cfg.ReportRepo = tc.repo
		if err := cfg.Validate(); err != nil {
			t.Fatalf("%q: %v", tc.repo, err)
		}
		owner, name, ok := cfg.ReportRepoOf(tc.org)
		if ok != tc.ok || ok && (owner != tc.owner || name != tc.name) {
			t.Errorf("ReportRepoOf(%q) of %q = %q, %q, %v; want %q, %q, %v", tc.org, tc.repo, owner, name, ok, tc.owner, tc.name, tc.ok)
		}
	}
}
