package config

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tasuki-sre/tasuki/internal/golden"
)

func TestCheck(t *testing.T) {
	org := []byte("ownership:\n  default_team: platform\n")
	tests := []struct {
		name, golden   string
		org, repo      []byte
		wantConclusion string
		wantTitle      string
		wantAnn        []Annotation
	}{
		{
			name: "valid", golden: "check_valid", org: org, repo: []byte("ownership:\n  default_team: payments\n"),
			wantConclusion: "success", wantTitle: "Configuration is valid",
		},
		{
			name: "absent", golden: "check_absent",
			wantConclusion: "success", wantTitle: "No .github/tasuki.yml; defaults apply",
		},
		{
			name: "problems in the repository's file", golden: "check_failure", org: org,
			repo:           []byte("ownership:\n  teams:\n    \"`<b>@here</b>`\": {sres: [x]}\npostmortem:\n  timezon: UTC\nrevew: {}\n"),
			wantConclusion: "failure",
			wantTitle:      "Line 3: ownership.teams.`<b>@here</b>`: \"`<b>@here</b>`\" is not a team slug (and 2 more problems)",
			wantAnn: []Annotation{
				{Path: ".github/tasuki.yml", Line: 3, Column: 5, Message: "ownership.teams.`<b>@here</b>`: \"`<b>@here</b>`\" is not a team slug"},
				{Path: ".github/tasuki.yml", Line: 5, Column: 3, Message: `unknown field "timezon" in postmortem; did you mean "timezone"?`},
				{Path: ".github/tasuki.yml", Line: 6, Column: 1, Message: `unknown section "revew"; did you mean "review"?`},
			},
		},
		{
			name: "problems only in the organisation defaults", golden: "check_org", org: []byte("ownership:\n  default_team: [x]\n"),
			repo:           []byte("ownership:\n  core_sre_team: sre\n"),
			wantConclusion: "neutral", wantTitle: "Organisation defaults have problems: ownership.default_team: want a string, got a list",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Check(Parse("acme/api", tt.org, tt.repo), "acme/api")
			if r.Conclusion != tt.wantConclusion || r.Title != tt.wantTitle {
				t.Errorf("Check() = %q %q, want %q %q", r.Conclusion, r.Title, tt.wantConclusion, tt.wantTitle)
			}
			if diff := cmp.Diff(tt.wantAnn, r.Annotations); diff != "" {
				t.Errorf("annotations mismatch (-want +got):\n%s", diff)
			}
			golden.Assert(t, filepath.Join("testdata", tt.golden+".golden.md"), r.Summary)
		})
	}
}

func TestWorkflowCommands(t *testing.T) {
	tests := []struct {
		name string
		f    Fetched
		want []string
	}{
		{name: "valid", f: Parse("acme/api", nil, []byte("review: {}\n"))},
		{
			name: "repository file", f: Parse("acme/api", []byte("ownership: 3\n"), []byte("revew: {}\n")),
			want: []string{
				`::error file=.github/tasuki.yml,line=1,col=12::ownership: want a mapping, got an integer`,
				`::error file=.github/tasuki.yml,line=1,col=1::unknown section "revew"; did you mean "review"?`,
			},
		},
		{
			name: "local file, hostile key",
			f:    ParseLocal("ci/a,b.yml", []byte("ownership:\n  teams:\n    \"x\\n::warning::y%\": {}\n")),
			want: []string{`::error file=ci/a%2Cb.yml,line=3,col=5::ownership.teams.x%0A::warning::y%25: "x\n::warning::y%25" is not a team slug`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, WorkflowCommands(tt.f)); diff != "" {
				t.Errorf("WorkflowCommands mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
