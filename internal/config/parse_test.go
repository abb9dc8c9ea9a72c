package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tasuki-sre/tasuki/internal/ownership"
	"github.com/tasuki-sre/tasuki/internal/postmortem"
)

func TestParseMerge(t *testing.T) {
	org := []byte(`# acme-wide defaults
ownership:
  core_sre_team: core-sre
  default_team: platform
  teams:
    payments:
      sres: [alice]
      sre_team: payments-sre
postmortem:
  timezone: Europe/Berlin
  due_business_days: {sev1: 3}
leadtime:
  timezone: Asia/Tokyo
  report_year: 2023
`)
	repo := []byte(`ownership:
  default_team: payments
  teams:
    payments:
      sres: [bob, carol]
    search:
      sres: [dave]
  services:
    api:
      repos: [acme/api]
      team: payments
postmortem:
  timezone: ~
  incident_labels: [outage]
`)
	tests := []struct {
		name        string
		org, repo   []byte
		want        func() Config
		wantSources []string
	}{
		{name: "no files: defaults", want: Default},
		{name: "empty and comment-only files: defaults", org: []byte("\n"), repo: []byte("# nothing yet\n"), want: Default,
			wantSources: []string{"acme/.github:.github/tasuki.yml", "acme/api:.github/tasuki.yml"}},
		{
			name: "organisation only", org: org,
			wantSources: []string{"acme/.github:.github/tasuki.yml"},
			want: func() Config {
				c := Default()
				c.Ownership.CoreSRETeam, c.Ownership.DefaultTeam = "core-sre", "platform"
				c.Ownership.Teams = map[string]ownership.Team{"payments": {SREs: []string{"alice"}, SRETeam: "payments-sre"}}
				c.Postmortem.Timezone = "Europe/Berlin"
				c.Postmortem.DueBusinessDays = map[string]int{"sev1": 3}
				c.LeadTime.Timezone, c.LeadTime.ReportYear = "Asia/Tokyo", 2023
				return c
			},
		},
		{
			name: "repository over organisation: deep for mappings, lists replace, null inherits", org: org, repo: repo,
			wantSources: []string{"acme/.github:.github/tasuki.yml", "acme/api:.github/tasuki.yml"},
			want: func() Config {
				c := Default()
				c.Ownership.CoreSRETeam, c.Ownership.DefaultTeam = "core-sre", "payments"
				c.Ownership.Teams = map[string]ownership.Team{
					"payments": {SREs: []string{"bob", "carol"}, SRETeam: "payments-sre"},
					"search":   {SREs: []string{"dave"}},
				}
				c.Ownership.Services = map[string]ownership.Service{"api": {Repos: []string{"acme/api"}, Team: "payments"}}
				c.Postmortem.Timezone = "Europe/Berlin"
				c.Postmortem.IncidentLabels = []string{"outage"}
				c.Postmortem.DueBusinessDays = map[string]int{"sev1": 3}
				c.LeadTime.Timezone, c.LeadTime.ReportYear = "Asia/Tokyo", 2023
				return c
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Parse("acme/api", tt.org, tt.repo)
			if got.Err != nil {
				t.Fatalf("Parse() error: %v", got.Err)
			}
			if diff := cmp.Diff(tt.want(), got.Config); diff != "" {
				t.Errorf("config mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantSources, got.Sources); diff != "" {
				t.Errorf("sources mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	validOrg := []byte("ownership:\n  default_team: platform\npostmortem:\n  timezone: Europe/Berlin\n")
	tests := []struct {
		name      string
		org, repo string
		wantErrs  []string
		// check inspects the fallback configuration.
		check func(t *testing.T, c Config)
	}{
		{
			name:     "the typo of the documentation",
			repo:     "# tasuki\n\n\nreview:\n  aprovals: 2\n",
			wantErrs: []string{`acme/api:.github/tasuki.yml:5:3: unknown field "aprovals" in review; did you mean "approvals"?`},
		},
		{
			name: "unknown field in a section, with a suggestion; other sections still apply",
			repo: "ownership:\n  default_tem: payments\npostmortem:\n  label: pm\n",
			wantErrs: []string{
				`acme/api:.github/tasuki.yml:2:3: unknown field "default_tem" in ownership; did you mean "default_team"?`,
			},
			check: func(t *testing.T, c Config) {
				if c.Postmortem.Label != "pm" {
					t.Errorf("postmortem section lost: label %q", c.Postmortem.Label)
				}
				if c.Ownership.DefaultTeam != "platform" {
					t.Errorf("ownership should fall back to the organisation's: default_team %q", c.Ownership.DefaultTeam)
				}
			},
		},
		{
			name: "unknown field deep inside",
			repo: "# ownership\nownership:\n  teams:\n    payments:\n      srez: [alice]\n",
			wantErrs: []string{
				`acme/api:.github/tasuki.yml:5:7: unknown field "srez" in ownership.teams.payments; did you mean "sres"?`,
			},
		},
		{
			name: "an anchor does not hide mistakes from strict decoding",
			repo: "x: &o 000\npostmortem: 00\n",
			wantErrs: []string{
				`acme/api:.github/tasuki.yml:1:1: unknown section "x"`,
				`acme/api:.github/tasuki.yml:2:13: postmortem: want a mapping, got an integer`,
			},
		},
		{
			name:     "a number as a key is still a key",
			repo:     "ownership:\n  7: x\n",
			wantErrs: []string{`acme/api:.github/tasuki.yml:2:3: unknown field "7" in ownership`},
		},
		{
			name:     "a key without a value is still a key",
			repo:     "ownership:\n  teams:\n    payments: {srez}\n",
			wantErrs: []string{`acme/api:.github/tasuki.yml:3:16: unknown field "srez" in ownership.teams.payments; did you mean "sres"?`},
		},
		{
			name:     "unknown section",
			repo:     "revew:\n  x: 1\n",
			wantErrs: []string{`acme/api:.github/tasuki.yml:1:1: unknown section "revew"; did you mean "review"?`},
		},
		{
			name:     "wrong type: string for a list",
			repo:     "ownership:\n  teams:\n    payments:\n      sres: alice\n",
			wantErrs: []string{`acme/api:.github/tasuki.yml:4:13: ownership.teams.payments.sres: want a list, got a string`},
		},
		{
			name:     "wrong type: scalar for a section",
			repo:     "ownership: 3\n",
			wantErrs: []string{`acme/api:.github/tasuki.yml:1:12: ownership: want a mapping, got an integer`},
		},
		{
			name:     "wrong type: list for an integer map value",
			repo:     "postmortem:\n  due_business_days:\n    sev1: [1]\n",
			wantErrs: []string{`acme/api:.github/tasuki.yml:3:11: postmortem.due_business_days.sev1: want an integer, got a list`},
		},
		{
			name:     "syntax error loses the file, organisation applies",
			repo:     "ownership:\n  teams: [\n",
			wantErrs: []string{`acme/api:.github/tasuki.yml:2:10: sequence end token ']' not found`},
			check: func(t *testing.T, c Config) {
				if c.Ownership.DefaultTeam != "platform" {
					t.Errorf("organisation value lost: default_team %q", c.Ownership.DefaultTeam)
				}
			},
		},
		{
			name:     "duplicate key",
			repo:     "ownership:\n  default_team: a\n  default_team: b\n",
			wantErrs: []string{`acme/api:.github/tasuki.yml:3:3: mapping key "default_team" already defined at [2:3]`},
		},
		{
			name:     "top level must be a mapping",
			repo:     "- review\n",
			wantErrs: []string{`acme/api:.github/tasuki.yml:1:1: the file must be a mapping of sections (review:, postmortem:, ownership:, ...)`},
		},
		{
			name:     "two documents",
			repo:     "ownership: {}\n---\npostmortem: {}\n",
			wantErrs: []string{`acme/api:.github/tasuki.yml:3:11: more than one YAML document; keep the configuration in one`},
		},
		{
			name: "validation errors point at the key's line, in the file that set it",
			repo: "postmortem:\n  label: pm\n  timezone: Mars/Olympus\nownership:\n  services:\n    api:\n      repos: [api]\n",
			wantErrs: []string{
				`acme/api:.github/tasuki.yml:3:3: postmortem.timezone: "Mars/Olympus" is not an IANA time zone (for example Europe/Berlin)`,
				`acme/api:.github/tasuki.yml:6:5: ownership.services.api.team: a team slug is needed`,
			},
			check: func(t *testing.T, c Config) {
				// The invalid section falls back to the organisation's, whole.
				if c.Postmortem.Timezone != "Europe/Berlin" || c.Postmortem.Label != "postmortem" {
					t.Errorf("postmortem fallback: timezone %q label %q", c.Postmortem.Timezone, c.Postmortem.Label)
				}
				if len(c.Ownership.Services) != 0 || c.Ownership.DefaultTeam != "platform" {
					t.Errorf("ownership fallback: %+v", c.Ownership)
				}
			},
		},
		{
			name: "validation error in the organisation file is reported there",
			org:  "postmortem:\n  change_window: soon\n",
			repo: "postmortem:\n  label: pm\n",
			wantErrs: []string{
				`acme/.github:.github/tasuki.yml:2:3: postmortem.change_window: "soon" is not a positive duration (for example 72h)`,
			},
			check: func(t *testing.T, c Config) {
				if diff := cmp.Diff(postmortem.DefaultConfig(), c.Postmortem); diff != "" {
					t.Errorf("postmortem should be the defaults (-want +got):\n%s", diff)
				}
			},
		},
		{
			name:     "file too large",
			repo:     "# " + strings.Repeat("x", MaxSize) + "\n",
			wantErrs: []string{`acme/api:.github/tasuki.yml: file is 131075 bytes, more than the 131072 tasuki reads; ignored`},
		},
		{
			name: "alias bomb",
			repo: "leadtime:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n" +
				"  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n" +
				"  e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n  f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
			wantErrs: []string{`acme/api:.github/tasuki.yml:5:38: aliases expand the file by more than 10000 values; tasuki refuses it`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			org := []byte(tt.org)
			if tt.org == "" {
				org = validOrg
			}
			got := Parse("acme/api", org, []byte(tt.repo))
			var msgs []string
			for _, pe := range ParseErrors(got.Err) {
				msgs = append(msgs, pe.Error())
			}
			if diff := cmp.Diff(tt.wantErrs, msgs); diff != "" {
				t.Errorf("errors mismatch (-want +got):\n%s\nfull error: %v", diff, got.Err)
			}
			var pe *ParseError
			if !errors.As(got.Err, &pe) {
				t.Errorf("Err %v is not a *ParseError", got.Err)
			}
			if tt.check != nil {
				tt.check(t, got.Config)
			}
		})
	}
}

// A secret pasted into the wrong place must not be echoed back in the error
// that ends up in a check run.
func TestParseErrorDoesNotQuoteValues(t *testing.T) {
	const secret = "ghp_s3cr3tT0k3nValue"
	for _, repo := range []string{
		"ownership:\n  teams:\n    a:\n      sres: " + secret + "\n",
		"ownership:\n  core_sre_team: [" + secret + "]\n",
		"ownership:\n  teams: {a: " + secret + "}\n",
		"ownership: [" + secret + "\n",
	} {
		got := Parse("acme/api", nil, []byte(repo))
		if got.Err == nil {
			t.Errorf("no error for %q", repo)
			continue
		}
		if strings.Contains(got.Err.Error(), secret) {
			t.Errorf("error quotes the value: %v", got.Err)
		}
	}
}

func TestParseAliasesWithinLimits(t *testing.T) {
	repo := []byte(`ownership:
  teams:
    payments: &sres {sres: [alice, bob]}
    checkout: *sres
`)
	got := Parse("acme/api", nil, repo)
	if got.Err != nil {
		t.Fatalf("Parse: %v", got.Err)
	}
	if diff := cmp.Diff([]string{"alice", "bob"}, got.Config.Ownership.Teams["checkout"].SREs); diff != "" {
		t.Errorf("alias not expanded (-want +got):\n%s", diff)
	}
}

func TestParseLocal(t *testing.T) {
	got := ParseLocal("ci/tasuki.yml", []byte("ownership:\n  default_team: [x]\n"))
	want := []string{"ci/tasuki.yml:2:17: ownership.default_team: want a string, got a list"}
	var msgs []string
	for _, pe := range ParseErrors(got.Err) {
		msgs = append(msgs, pe.Error())
	}
	if diff := cmp.Diff(want, msgs); diff != "" {
		t.Errorf("errors mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ci/tasuki.yml"}, ParseLocal("ci/tasuki.yml", []byte("review: {}\n")).Sources); diff != "" {
		t.Errorf("sources mismatch (-want +got):\n%s", diff)
	}
}

// Setting one key of a nested struct keeps the built-in defaults of its
// siblings: a repository asking for two approvals still gets the default
// triggers, not none.
func TestParseNestedStructKeepsDefaults(t *testing.T) {
	got := Parse("acme/api", nil, []byte("review:\n  approvals: 2\n  require_second_reviewer_for:\n    actions: [delete]\n"))
	if got.Err != nil {
		t.Fatalf("Parse: %v", got.Err)
	}
	want := Default().Review
	want.Approvals = 2
	want.RequireSecondReviewerFor.Actions = []string{"delete"}
	if diff := cmp.Diff(want, got.Config.Review); diff != "" {
		t.Errorf("review mismatch (-want +got):\n%s", diff)
	}
}
