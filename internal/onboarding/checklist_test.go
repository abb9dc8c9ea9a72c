package onboarding

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tasuki-sre/tasuki/templates"
)

// TestDefaultChecklist keeps templates/onboarding.yml valid and covering
// what issue #10 asks the default checklist to cover.
func TestDefaultChecklist(t *testing.T) {
	b, err := templates.FS.ReadFile(templates.Onboarding)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseChecklist(DefaultPath, b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Merge(c); err != nil {
		t.Fatal(err)
	}
	verifiersUsed := map[string]bool{}
	phases := map[Phase]int{}
	for _, it := range Default().Items {
		verifiersUsed[it.Verifier] = true
		phases[it.Phase]++
	}
	for _, v := range []string{"catalog_entry", "team_access", "slo_as_code", "alerts_runbooks_resolve", "branch_protection",
		"terraform_plan_review", "no_outside_admins", "workflow_success_within", "codeowners_owner_is", "catalog_owner_is", "file_exists"} {
		if !verifiersUsed[v] {
			t.Errorf("the default checklist does not use verifier %s", v)
		}
	}
	for _, p := range Phases[:5] {
		if phases[p] == 0 {
			t.Errorf("the default checklist has no item in phase %s", p)
		}
	}
	for _, id := range []string{"error-budget-policy", "runbooks", "oncall-linked", "shadowing", "reverse-shadowing", "postmortem-template",
		"postmortem-or-drill", "backups-restore", "capacity-plan", "access-review"} {
		if _, ok := Default().Item(id); !ok {
			t.Errorf("the default checklist has no item %s", id)
		}
	}
}

func TestParseChecklistErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // each error, "line: substring"
	}{
		{"unknown verifier", "items:\n  - id: a\n    title: A\n    phase: kickoff\n    kind: auto\n    verifier: file_exist\n",
			[]string{"6:5: unknown verifier \"file_exist\""}},
		{"unknown key in item", "items:\n  - id: a\n    titel: A\n", []string{"3:5: unknown field \"titel\""}},
		{"unknown top key", "itemz: []\n", []string{"1:1: unknown key \"itemz\""}},
		{"bad phase", "items:\n  - id: a\n    phase: handover\n", []string{"3:5: \"handover\" is not a handoff phase"}},
		{"guard phase", "items:\n  - id: a\n    phase: guard\n", []string{"3:5: guard has no items"}},
		{"bad kind", "items:\n  - id: a\n    kind: automatic\n", []string{"3:5: kind \"automatic\""}},
		{"bad params", "items:\n  - id: a\n    verifier: workflow_success_within\n    params: {name: restore, dayz: 3}\n",
			[]string{"4:5: workflow_success_within: bad parameters: unknown field \"dayz\""}},
		{"params out of range", "items:\n  - id: a\n    verifier: workflow_success_within\n    params: {name: restore, days: 0}\n",
			[]string{"4:5: workflow_success_within: days must be 1 to 400"}},
		{"missing params", "items:\n  - id: a\n    verifier: file_exists\n", []string{"3:5: file_exists: needs any_of or all_of"}},
		{"bad id", "items:\n  - id: Catalog Entry\n", []string{"2:5: item id \"Catalog Entry\""}},
		{"duplicate id", "items:\n  - id: a\n  - id: a\n", []string{"checklist.yml:3: item \"a\" is defined twice (first at line 2)"}},
		{"bad tier", "items:\n  - id: a\n    tiers: [A, D]\n", []string{"3:5: tier \"D\""}},
		{"bad duration", "items:\n  - id: a\n    expires_after: 3 months\n", []string{"3:5: duration \"3 months\""}},
		{"bad na_allowed", "items:\n  - id: a\n    na_allowed: [Z]\n", []string{"3:5: tier Z"}},
		{"not a list", "items: {a: 1}\n", []string{"1:8: items must be a list"}},
		{"not yaml", "items: [\n", []string{"checklist.yml:"}},
		{"two problems", "items:\n  - id: a\n    kind: x\n  - id: b\n    verifier: nope\n", []string{"3:5: kind", "5:5: unknown verifier"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseChecklist("checklist.yml", []byte(tt.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			var ce *ChecklistError
			if !errors.As(err, &ce) {
				t.Errorf("error %T is not a *ChecklistError", err)
			}
		})
	}
}

func TestParseChecklistHostile(t *testing.T) {
	for _, b := range [][]byte{
		[]byte(strings.Repeat("[", 10000)),
		[]byte("a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"),
		[]byte("items:\n" + strings.Repeat("  - id: a\n", 30000)),
	} {
		if _, err := ParseChecklist("x.yml", b); err == nil {
			t.Errorf("hostile checklist of %d bytes accepted", len(b))
		}
	}
}

func TestMerge(t *testing.T) {
	org := `items:
  - id: capacity-plan
    expires_after: 90d
  - id: access-review
    remove: true
  - id: chaos-drill
    title: Chaos drill run
    phase: shadow
    kind: manual
    evidence_required: true
`
	repo := `items:
  - id: capacity-plan
    title: Load test run this quarter
    na_allowed: true
  - id: backups-restore
    verifier: file_exists
    params: {any_of: [docs/restore-test.md]}
  - id: slo-as-code
    tiers: [A]
`
	oc, err := ParseChecklist("acme/.github:.github/tasuki/onboarding.yml", []byte(org))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := ParseChecklist("acme/api:.github/tasuki/onboarding.yml", []byte(repo))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Merge(Default(), oc, rc)
	if err != nil {
		t.Fatal(err)
	}
	cp, _ := c.Item("capacity-plan")
	if cp.Title != "Load test run this quarter" || time.Duration(cp.ExpiresAfter) != 90*24*time.Hour || !cp.EvidenceRequired || len(cp.NAAllowed) != 3 {
		t.Errorf("capacity-plan = %+v: want the repo's title, the org's expiry, the default's evidence, n/a in all tiers", cp)
	}
	if _, ok := c.Item("access-review"); ok {
		t.Error("access-review was removed by the org")
	}
	cd, ok := c.Item("chaos-drill")
	if !ok || cd.Phase != PhaseShadow {
		t.Fatalf("chaos-drill = %+v", cd)
	}
	// New items go after the last item of their phase.
	ids := make([]string, len(c.Items))
	for i, it := range c.Items {
		ids[i] = it.ID
	}
	if i, j := slices.Index(ids, "chaos-drill"), slices.Index(ids, "reverse-shadowing"); i < 0 || i > j || ids[i-1] != "postmortem-or-drill" {
		t.Errorf("order %v: chaos-drill should follow the shadow items", ids)
	}
	br, _ := c.Item("backups-restore")
	if br.Verifier != "file_exists" || br.Params["any_of"] == nil || br.Params["name"] != nil {
		t.Errorf("backups-restore = %+v: the new verifier's params only", br)
	}
	slo, _ := c.Item("slo-as-code")
	if slo.AppliesTo("B") || !slo.AppliesTo("A") {
		t.Errorf("slo-as-code tiers = %v", slo.Tiers)
	}
	if len(c.ForTier("C")) >= len(c.ForTier("A")) {
		t.Error("tier C should have fewer items than tier A")
	}

	// An override changing the verifier but not its params is checked
	// against the new verifier.
	bad, err := ParseChecklist("acme/api:.github/tasuki/onboarding.yml", []byte("items:\n  - id: runbooks\n    verifier: workflow_success_within\n"))
	if err == nil {
		_, err = Merge(Default(), bad)
	}
	if err == nil || !strings.Contains(err.Error(), "acme/api:.github/tasuki/onboarding.yml:3:5") {
		t.Errorf("verifier change without params: %v", err)
	}
	// A new item must be complete.
	partial, err := ParseChecklist("r.yml", []byte("items:\n  - id: new-thing\n    title: New\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Merge(Default(), partial); err == nil || !strings.Contains(err.Error(), "r.yml:2: item \"new-thing\": needs a phase") {
		t.Errorf("incomplete new item: %v", err)
	}
	// A manual item with a verifier is refused.
	man, _ := ParseChecklist("r.yml", []byte("items:\n  - id: shadowing\n    verifier: file_exists\n    params: {any_of: [x]}\n"))
	if _, err := Merge(Default(), man); err == nil || !strings.Contains(err.Error(), "manual item has no verifier") {
		t.Errorf("manual with verifier: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	c := DefaultConfig()
	c.DefaultTier = "D"
	c.PhaseDays = map[string]int{"shadow": 0, "guard": 3}
	c.Leads = map[string]string{"payments-sre": "not a login"}
	c.Checklist = "../x.yml"
	err := c.Validate()
	for _, want := range []string{"onboarding.default_tier:", "onboarding.phase_days.shadow:", "onboarding.phase_days.guard: not a phase",
		"onboarding.leads.payments-sre:", "onboarding.checklist:"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want %q", err, want)
		}
	}
}

func TestLoadChecklist(t *testing.T) {
	org := []byte("items:\n  - id: access-review\n    remove: true\n")
	repo := []byte("items:\n  - id: runbooks\n    verifier: nope\n")
	c, err := LoadChecklist("acme/.github:.github/tasuki/onboarding.yml", org, "acme/api:.github/tasuki/onboarding.yml", repo)
	if err == nil || !strings.Contains(err.Error(), "acme/api:.github/tasuki/onboarding.yml:3:5: unknown verifier") {
		t.Errorf("err = %v", err)
	}
	if _, ok := c.Item("access-review"); ok {
		t.Error("the organisation's good file was not applied")
	}
	if r, _ := c.Item("runbooks"); r.Verifier != "file_exists" {
		t.Error("the repository's bad file was applied")
	}
	if c, err := LoadChecklist("o", nil, "r", nil); err != nil || len(c.Items) != len(Default().Items) {
		t.Errorf("no overrides: %d items, %v", len(c.Items), err)
	}
}
