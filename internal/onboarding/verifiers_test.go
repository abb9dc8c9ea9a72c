package onboarding

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)

const catalogFull = `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: api
  annotations:
    pagerduty.com/service-id: PABC123
spec:
  type: service
  owner: group:default/core-sre
  lifecycle: production
  system: payments
`

func files(kv ...string) map[string][]byte {
	m := map[string][]byte{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = []byte(kv[i+1])
	}
	return m
}

func TestVerifiers(t *testing.T) {
	v := vctx{Org: "acme", Team: "payments-sre", CoreTeam: "core-sre", Now: now}
	tree := []string{"README.md", "docs/runbooks/db.md", "deploy/main.tf", "catalog-info.yaml"}
	rules := `groups:
  - name: api
    rules:
      - alert: HighErrorRate
        expr: rate(errors[5m]) > 0.1
        annotations:
          runbook_url: https://github.com/acme/api/blob/main/docs/runbooks/db.md
      - alert: DiskFull
        expr: disk > 0.9
        annotations:
          runbook: ../docs/runbooks/db.md#disk
      - record: job:rate
        expr: rate(x[5m])
`
	tests := []struct {
		name     string
		verifier string
		params   map[string]any
		facts    RepoFacts
		want     Status
		reason   string // a substring of the reason
	}{
		{"file present", "file_exists", map[string]any{"any_of": []any{"**/runbooks/**"}}, RepoFacts{Paths: tree}, StatusPassed, "docs/runbooks/db.md"},
		{"file absent", "file_exists", map[string]any{"any_of": []any{"**/*error-budget*.md"}}, RepoFacts{Paths: tree}, StatusFailed, "no file matches"},
		{"all_of one missing", "file_exists", map[string]any{"all_of": []any{"README.md", "SECURITY.md"}}, RepoFacts{Paths: tree}, StatusFailed, "SECURITY.md"},
		{"tree not read", "file_exists", map[string]any{"any_of": []any{"x"}}, RepoFacts{}, StatusPending, "not yet verifiable"},
		{"tree unavailable", "file_exists", map[string]any{"any_of": []any{"x"}}, RepoFacts{Paths: tree, Unavailable: map[Fact]string{FactTree: "403"}}, StatusPending, "403"},

		{"catalog complete", "catalog_entry", nil, RepoFacts{Files: files(CatalogPath, catalogFull)}, StatusPassed, "lifecycle production"},
		{"catalog lacks system", "catalog_entry", nil, RepoFacts{Files: files(CatalogPath, strings.Replace(catalogFull, "  system: payments\n", "", 1))}, StatusFailed, "spec.system"},
		{"catalog absent", "catalog_entry", nil, RepoFacts{Files: files()}, StatusFailed, "no catalog-info.yaml"},
		{"catalog not yaml", "catalog_entry", nil, RepoFacts{Files: files(CatalogPath, "kind: [\n")}, StatusFailed, "catalog-info.yaml"},
		{"catalog no component", "catalog_entry", nil, RepoFacts{Files: files(CatalogPath, "kind: System\n")}, StatusFailed, "no Component"},

		{"oncall annotation", "catalog_annotation", nil, RepoFacts{Files: files(CatalogPath, catalogFull)}, StatusPassed, "pagerduty.com/service-id"},
		{"oncall link", "catalog_annotation", nil, RepoFacts{Files: files(CatalogPath, "kind: Component\nmetadata:\n  links:\n    - url: https://oncall.example/x\n      title: On-call rotation\nspec: {owner: x}\n")}, StatusPassed, "On-call rotation"},
		{"oncall none", "catalog_annotation", nil, RepoFacts{Files: files(CatalogPath, "kind: Component\nspec: {owner: x}\n")}, StatusFailed, "none of the annotations"},

		{"team ok", "team_access", nil, RepoFacts{Team: TeamFacts{Slug: "payments-sre", Exists: true, Privacy: "closed", Permission: "push"}}, StatusPassed, "exists with push"},
		{"team missing", "team_access", nil, RepoFacts{Team: TeamFacts{Slug: "payments-sre"}}, StatusFailed, "does not exist"},
		{"team secret", "team_access", nil, RepoFacts{Team: TeamFacts{Slug: "payments-sre", Exists: true, Privacy: "secret", Permission: "admin"}}, StatusFailed, "secret"},
		{"team read only", "team_access", nil, RepoFacts{Team: TeamFacts{Slug: "payments-sre", Exists: true, Privacy: "closed", Permission: "pull"}}, StatusFailed, "has pull on the repository, needs push"},
		{"team no access", "team_access", nil, RepoFacts{Team: TeamFacts{Slug: "payments-sre", Exists: true, Privacy: "closed"}}, StatusFailed, "no access"},
		{"team not read", "team_access", nil, RepoFacts{}, StatusPending, "not read"},

		{"no outside", "no_outside_admins", nil, RepoFacts{OutsideCollaborators: []Collaborator{{"vendor", "triage"}}}, StatusPassed, "no outside"},
		{"outside push", "no_outside_admins", nil, RepoFacts{OutsideCollaborators: []Collaborator{{"vendor", "push"}, {"ex", "admin"}, {"ok", "pull"}}}, StatusFailed, "ex (admin), vendor (push)"},

		{"protected", "branch_protection", nil, RepoFacts{Protection: Protection{Protected: true, RequirePullRequest: true, RequiredApprovals: 1, CodeOwnerReview: true}}, StatusPassed, "code owner review"},
		{"unprotected", "branch_protection", nil, RepoFacts{}, StatusFailed, "not protected"},
		{"no code owner review", "branch_protection", nil, RepoFacts{Protection: Protection{Protected: true, RequirePullRequest: true, RequiredApprovals: 2}}, StatusFailed, "code owner review is not required"},
		{"check missing", "branch_protection", map[string]any{"required_checks": []any{"ci"}}, RepoFacts{Protection: Protection{Protected: true, RequirePullRequest: true, RequiredApprovals: 1, CodeOwnerReview: true}}, StatusFailed, "check ci is not required"},

		{"plan review required", "terraform_plan_review", nil, RepoFacts{Paths: tree, Protection: Protection{Protected: true, RequiredChecks: []string{"ci", "tasuki/plan-review"}}}, StatusPassed, "tasuki/plan-review is a required check"},
		{"equivalent check", "terraform_plan_review", map[string]any{"checks": []any{"atlantis/plan"}}, RepoFacts{Paths: tree, Protection: Protection{Protected: true, RequiredChecks: []string{"atlantis/plan"}}}, StatusPassed, "atlantis/plan"},
		{"plan review not required", "terraform_plan_review", nil, RepoFacts{Paths: tree, Protection: Protection{Protected: true, RequiredChecks: []string{"ci"}}}, StatusFailed, "none of tasuki/plan-review"},
		{"no terraform", "terraform_plan_review", nil, RepoFacts{Paths: []string{"main.go"}}, StatusFailed, "no Terraform files"},

		{"openslo", "slo_as_code", nil, RepoFacts{Paths: []string{"slo/api.yaml"}, Files: files("slo/api.yaml", "apiVersion: openslo/v1\nkind: SLO\n")}, StatusPassed, "OpenSLO SLO in slo/api.yaml"},
		{"sloth", "slo_as_code", nil, RepoFacts{Paths: []string{"ops/api-slos.yml"}, Files: files("ops/api-slos.yml", "version: \"prometheus/v1\"\nservice: api\nslos:\n  - name: x\n")}, StatusPassed, "Sloth"},
		{"pyrra", "slo_as_code", nil, RepoFacts{Paths: []string{"k8s/slo.yaml"}, Files: files("k8s/slo.yaml", "apiVersion: pyrra.dev/v1alpha1\nkind: ServiceLevelObjective\n")}, StatusPassed, "Pyrra"},
		{"terraform slo", "slo_as_code", nil, RepoFacts{Paths: []string{"deploy/main.tf"}, Files: files("deploy/main.tf", `resource "google_monitoring_slo" "api" {}`)}, StatusPassed, "google_monitoring_slo"},
		{"terraform without slo", "slo_as_code", nil, RepoFacts{Paths: []string{"deploy/main.tf"}, Files: files("deploy/main.tf", `resource "google_sql_database" "db" {}`)}, StatusFailed, "no SLO definitions"},
		{"slo word in a readme only", "slo_as_code", nil, RepoFacts{Paths: []string{"docs/slo.md"}, Files: files("docs/slo.md", "apiVersion: openslo/v1\nkind: SLO")}, StatusFailed, "no SLO"},

		{"runbooks resolve", "alerts_runbooks_resolve", nil, RepoFacts{Repo: "acme/api", Paths: append(tree, "alerts/api-rules.yaml"), Files: files("alerts/api-rules.yaml", rules)}, StatusPassed, "2 alerts"},
		{"runbook missing", "alerts_runbooks_resolve", nil, RepoFacts{Repo: "acme/api", Paths: []string{"alerts/api-rules.yaml"}, Files: files("alerts/api-rules.yaml", rules)}, StatusFailed, "HighErrorRate runbook docs/runbooks/db.md is not in the repository"},
		{"runbook of another repo", "alerts_runbooks_resolve", nil, RepoFacts{Repo: "acme/api", Paths: []string{"alerts/r.yaml"}, Files: files("alerts/r.yaml", "groups: [{name: g, rules: [{alert: A, annotations: {runbook_url: 'https://github.com/acme/other/blob/main/x.md'}}]}]\n")}, StatusFailed, "links outside"},
		{"external allowed", "alerts_runbooks_resolve", map[string]any{"allow_external": true}, RepoFacts{Repo: "acme/api", Paths: []string{"alerts/r.yaml"}, Files: files("alerts/r.yaml", "groups: [{name: g, rules: [{alert: A, annotations: {runbook_url: 'https://wiki.example/x'}}]}]\n")}, StatusPassed, "1 alerts"},
		{"alert without runbook", "alerts_runbooks_resolve", nil, RepoFacts{Repo: "acme/api", Paths: []string{"alerts/r.yaml"}, Files: files("alerts/r.yaml", "groups: [{name: g, rules: [{alert: A}]}]\n")}, StatusFailed, "A has no runbook_url"},
		{"prometheusrule crd", "alerts_runbooks_resolve", nil, RepoFacts{Repo: "acme/api", Paths: []string{"k8s/alerts.yaml", "RUNBOOK.md"}, Files: files("k8s/alerts.yaml", "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nspec:\n  groups:\n    - name: g\n      rules:\n        - alert: A\n          annotations: {runbook_url: /RUNBOOK.md}\n")}, StatusPassed, "1 alerts"},
		{"no alerts", "alerts_runbooks_resolve", nil, RepoFacts{Repo: "acme/api", Paths: tree}, StatusFailed, "no Prometheus alert rules"},
		{"hostile rule file", "alerts_runbooks_resolve", nil, RepoFacts{Repo: "acme/api", Paths: []string{"alerts/r.yaml"}, Files: files("alerts/r.yaml", strings.Repeat("[", 5000))}, StatusFailed, "1 file(s) unreadable, first alerts/r.yaml:"},
		{"too many rule bytes", "alerts_runbooks_resolve", nil, RepoFacts{Repo: "acme/api", Paths: []string{"alerts/a.yaml", "alerts/b.yaml"}, Files: files("alerts/a.yaml", strings.Repeat("#", maxAlertBytes/2+1), "alerts/b.yaml", strings.Repeat("#", maxAlertBytes/2+1))}, StatusPending, "narrow params.paths"},

		{"restore recent", "workflow_success_within", map[string]any{"name": "restore-test", "days": 30}, RepoFacts{WorkflowRuns: []WorkflowRun{{Name: "restore-test", Conclusion: "failure", At: now.Add(-time.Hour)}, {Name: "Restore-Test", Conclusion: "success", At: now.Add(-10 * 24 * time.Hour)}}}, StatusPassed, "2026-11-22"},
		{"restore by file", "workflow_success_within", map[string]any{"name": "restore.yml", "days": 30}, RepoFacts{WorkflowRuns: []WorkflowRun{{Name: "Nightly restore", Path: ".github/workflows/restore.yml", Conclusion: "success", At: now.Add(-24 * time.Hour)}}}, StatusPassed, "succeeded"},
		{"restore too old", "workflow_success_within", map[string]any{"name": "restore-test", "days": 30}, RepoFacts{WorkflowRuns: []WorkflowRun{{Name: "restore-test", Conclusion: "success", At: now.Add(-40 * 24 * time.Hour)}}}, StatusFailed, "more than 30 days ago"},
		{"restore only failures", "workflow_success_within", map[string]any{"name": "restore-test", "days": 30}, RepoFacts{WorkflowRuns: []WorkflowRun{{Name: "restore-test", Conclusion: "failure", At: now}}}, StatusFailed, "no successful run"},

		{"codeowners team", "codeowners_owner_is", nil, RepoFacts{Files: files(".github/CODEOWNERS", "* @acme/payments-sre\n/docs/ @acme/docs\n")}, StatusPassed, "@acme/payments-sre"},
		{"codeowners still core", "codeowners_owner_is", nil, RepoFacts{Files: files("CODEOWNERS", "* @acme/core-sre\n")}, StatusFailed, "not @acme/payments-sre"},
		{"codeowners last star wins", "codeowners_owner_is", nil, RepoFacts{Files: files("CODEOWNERS", "* @acme/payments-sre\n* @acme/core-sre\n")}, StatusFailed, "@acme/core-sre"},
		{"github uses .github first", "codeowners_owner_is", nil, RepoFacts{Files: files(".github/CODEOWNERS", "* @acme/core-sre\n", "CODEOWNERS", "* @acme/payments-sre\n")}, StatusFailed, ".github/CODEOWNERS"},
		{"codeowners core param", "codeowners_owner_is", map[string]any{"owner": "core"}, RepoFacts{Files: files("CODEOWNERS", "* @acme/core-sre\n")}, StatusPassed, "core-sre"},
		{"no codeowners", "codeowners_owner_is", nil, RepoFacts{Files: files()}, StatusFailed, "no CODEOWNERS"},

		{"catalog owner moved", "catalog_owner_is", nil, RepoFacts{Files: files(CatalogPath, strings.Replace(catalogFull, "core-sre", "payments-sre", 1))}, StatusPassed, "payments-sre"},
		{"catalog owner not moved", "catalog_owner_is", nil, RepoFacts{Files: files(CatalogPath, catalogFull)}, StatusFailed, "not payments-sre"},

		{"codeowners valid", "codeowners_valid", nil, RepoFacts{Files: files("CODEOWNERS", "* @acme/x\n")}, StatusPassed, "no errors"},
		{"codeowners errors", "codeowners_valid", nil, RepoFacts{Files: files("CODEOWNERS", "* @acme/x\n"), CODEOWNERSErrors: []string{"CODEOWNERS:1: Unknown owner: @acme/x"}}, StatusFailed, "1 error(s): CODEOWNERS:1: Unknown owner"},
		{"codeowners errors unreadable", "codeowners_valid", nil, RepoFacts{Files: files("CODEOWNERS", "* @acme/x\n"), Unavailable: map[Fact]string{FactCODEOWNERSErrors: "404"}}, StatusPending, "not yet verifiable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := Item{ID: "x", Verifier: tt.verifier, Params: tt.params}
			if err := verifiers[tt.verifier].check(tt.params); err != nil {
				t.Fatalf("params: %v", err)
			}
			r := runVerifier(it, tt.facts, v)
			if r.Status != tt.want || !strings.Contains(r.Reason, tt.reason) {
				t.Errorf("got %s %q, want %s containing %q", r.Status, r.Reason, tt.want, tt.reason)
			}
		})
	}
}

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"**/*.tf", "main.tf", true},
		{"**/*.tf", "a/b/main.tf", true},
		{"*.tf", "a/main.tf", true}, // no slash: any directory
		{"/main.tf", "a/main.tf", false},
		{"docs/**", "docs/a/b.md", true},
		{"docs/**", "src/docs", false},
		{"**/runbooks/**", "runbooks/x.md", true},
		{"**/runbooks/**", "ops/runbooks/db/x.md", true},
		{"**/runbooks/**", "runbooks", false},
		{"a/*/c", "a/b/c", true},
		{"a/*/c", "a/b/x/c", false},
	}
	for _, tt := range tests {
		if got := globMatch(tt.pattern, tt.name); got != tt.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

func TestFilesToRead(t *testing.T) {
	c := Default()
	tree := []string{"catalog-info.yaml", ".github/CODEOWNERS", "alerts/api-rules.yaml", "slo/api.yaml", "main.go", "deploy/main.tf"}
	got := FilesToRead(c, "B", tree)
	for _, want := range []string{"catalog-info.yaml", ".github/CODEOWNERS", "alerts/api-rules.yaml", "slo/api.yaml", "deploy/main.tf"} {
		if !contains(got, want) {
			t.Errorf("FilesToRead misses %s: %v", want, got)
		}
	}
	if contains(got, "main.go") {
		t.Errorf("FilesToRead reads main.go: %v", got)
	}
	// SLO-named files come before other Terraform files.
	many := []string{"alerts/r.yaml"}
	for i := range 300 {
		many = append(many, fmt.Sprintf("tf/m%03d.tf", i))
	}
	many = append(many, "tf/slo.tf")
	got = FilesToRead(c, "B", many)
	if len(got) != MaxFiles || !contains(got, "tf/slo.tf") || !contains(got, "alerts/r.yaml") {
		t.Errorf("FilesToRead of a large tree: %d files, slo.tf %v, alerts %v", len(got), contains(got, "tf/slo.tf"), contains(got, "alerts/r.yaml"))
	}
	// Bounded whatever the tree.
	var big []string
	for i := range 5000 {
		big = append(big, "tf/"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+"/"+"m.tf")
	}
	if n := len(FilesToRead(c, "B", big)); n > MaxFiles {
		t.Errorf("FilesToRead returned %d files, more than %d", n, MaxFiles)
	}
	n := NeedsOf(c, "B")
	if !n.Tree || !n.Team || !n.Collaborators || !n.Protection || !n.Workflows || !n.CODEOWNERSErrors || n.WorkflowsSince != 90*24*time.Hour {
		t.Errorf("NeedsOf(default) = %+v", n)
	}
	// A checklist of one file check needs no API reads beyond the tree and
	// the files transfer and guard use.
	one, err := Merge(Checklist{Items: []Item{{ID: "a", Title: "A", Phase: PhaseKickoff, Kind: KindAuto, Verifier: "file_exists", Params: map[string]any{"any_of": []any{"x"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if n := NeedsOf(one, "B"); n.Collaborators || n.Protection || n.Workflows {
		t.Errorf("NeedsOf(one file check) = %+v", n)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
