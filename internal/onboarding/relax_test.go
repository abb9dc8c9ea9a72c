package onboarding

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// A repository's own checklist is written by people of the repository,
// the incoming team among them, who tick the manual items: it may add
// items and tighten the ones it inherits, never relax them, unless the
// organisation's checklist says allow_repo_relaxing: true. Each refusal
// names the file and line of the key at fault; the rest of the file
// applies.
func TestRepoOverrideCannotRelax(t *testing.T) {
	const repoName = "acme/api:.github/tasuki/onboarding.yml"
	tests := []struct {
		name   string
		repo   string
		refuse []string // "line: text" of each refusal; none: the file applies whole
		check  func(t *testing.T, c Checklist)
	}{
		{name: "auto to manual", repo: "items:\n  - id: branch-protection\n    kind: manual\n",
			refuse: []string{":3: item \"branch-protection\": cannot make a auto item manual"},
			check: func(t *testing.T, c Checklist) {
				if it, _ := c.Item("branch-protection"); it.Kind != KindAuto || it.Verifier != "branch_protection" {
					t.Errorf("branch-protection = %s %q, want auto branch_protection", it.Kind, it.Verifier)
				}
			}},
		{name: "semi to manual", repo: "items:\n  - id: oncall-linked\n    kind: manual\n",
			refuse: []string{":3: item \"oncall-linked\": cannot make a semi item manual"}},
		{name: "auto to semi", repo: "items:\n  - id: runbooks\n    kind: semi\n",
			refuse: []string{":3: item \"runbooks\": cannot make a auto item semi"}},
		{name: "remove", repo: "items:\n  - id: slo-as-code\n    remove: true\n",
			refuse: []string{":3: item \"slo-as-code\": cannot remove"},
			check: func(t *testing.T, c Checklist) {
				if _, ok := c.Item("slo-as-code"); !ok {
					t.Error("slo-as-code removed")
				}
			}},
		{name: "evidence dropped", repo: "items:\n  - id: capacity-plan\n    title: Capacity, roughly\n    evidence_required: false\n",
			refuse: []string{":4: item \"capacity-plan\": cannot drop evidence_required"},
			check: func(t *testing.T, c Checklist) {
				// The rest of the item's override applies.
				if it, _ := c.Item("capacity-plan"); !it.EvidenceRequired || it.Title != "Capacity, roughly" {
					t.Errorf("capacity-plan = evidence %v title %q", it.EvidenceRequired, it.Title)
				}
			}},
		{name: "longer expiry", repo: "items:\n  - id: capacity-plan\n    expires_after: 365d\n",
			refuse: []string{":3: item \"capacity-plan\": cannot lengthen expires_after"}},
		{name: "not applicable in more tiers", repo: "items:\n  - id: capacity-plan\n    na_allowed: [B, C]\n",
			refuse: []string{":3: item \"capacity-plan\": cannot allow not applicable in tier [B]"},
			check: func(t *testing.T, c Checklist) {
				if it, _ := c.Item("capacity-plan"); !slices.Equal(it.NAAllowed, []string{"C"}) {
					t.Errorf("na_allowed = %v, want [C]", it.NAAllowed)
				}
			}},
		{name: "fewer tiers", repo: "items:\n  - id: slo-as-code\n    tiers: [A]\n",
			refuse: []string{":3: item \"slo-as-code\": cannot leave out tiers"}},
		{name: "a weaker check", repo: "items:\n  - id: runbooks\n    params: {any_of: [README.md]}\n",
			refuse: []string{":3: item \"runbooks\": cannot change the check"}},
		{name: "a later phase", repo: "items:\n  - id: runbooks\n    phase: transfer\n",
			refuse: []string{":3: item \"runbooks\": cannot move it to a later phase"}},
		{name: "the repository allows itself", repo: "allow_repo_relaxing: true\nitems:\n  - id: capacity-plan\n    kind: auto\n    verifier: file_exists\n    params: {any_of: [docs/capacity.md]}\n    na_allowed: []\n",
			refuse: []string{":1: allow_repo_relaxing belongs in the organisation's checklist"}},
		{name: "tightening and adding", repo: "items:\n  - id: capacity-plan\n    kind: semi\n    verifier: file_exists\n    params: {any_of: [docs/capacity.md]}\n    expires_after: 30d\n    na_allowed: []\n" +
			"  - id: oncall-linked\n    kind: auto\n  - id: chaos-drill\n    title: Chaos drill\n    phase: shadow\n    kind: manual\n  - id: runbooks\n    phase: kickoff\n    title: Runbooks, first\n",
			check: func(t *testing.T, c Checklist) {
				it, _ := c.Item("capacity-plan")
				if it.Kind != KindSemi || it.ExpiresAfter != Duration(30*24*3600*1e9) || len(it.NAAllowed) != 0 {
					t.Errorf("capacity-plan = %+v", it)
				}
				if it, _ := c.Item("oncall-linked"); it.Kind != KindAuto {
					t.Errorf("oncall-linked = %s, want auto", it.Kind)
				}
				if _, ok := c.Item("chaos-drill"); !ok {
					t.Error("the new item is missing")
				}
				if it, _ := c.Item("runbooks"); it.Phase != PhaseKickoff {
					t.Errorf("runbooks phase %s, want kickoff", it.Phase)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadChecklist("acme/.github:.github/tasuki/onboarding.yml", nil, repoName, []byte(tt.repo))
			var got []string
			for _, e := range flatten(err) {
				var ce *ChecklistError
				if !errors.As(e, &ce) || ce.Source != repoName {
					t.Errorf("refusal without its file: %v", e)
					continue
				}
				got = append(got, e.Error())
			}
			if len(got) != len(tt.refuse) {
				t.Fatalf("refusals:\n%s\nwant %d: %q", strings.Join(got, "\n"), len(tt.refuse), tt.refuse)
			}
			for i, w := range tt.refuse {
				if !strings.Contains(got[i], repoName+w) {
					t.Errorf("refusal %d = %q, want it to hold %q", i, got[i], repoName+w)
				}
			}
			if tt.check != nil {
				tt.check(t, c)
			}
			// Whatever was refused, the merged checklist relaxes nothing
			// of the built-in one.
			for _, b := range Default().Items {
				it, ok := c.Item(b.ID)
				if !ok || kindRank(it.Kind) < kindRank(b.Kind) || b.EvidenceRequired && !it.EvidenceRequired ||
					b.ExpiresAfter > 0 && (it.ExpiresAfter <= 0 || it.ExpiresAfter > b.ExpiresAfter) || !coversTiers(it.Tiers, b.Tiers) {
					t.Errorf("item %s relaxed: %+v", b.ID, it)
				}
				for _, na := range it.NAAllowed {
					if !slices.Contains(b.NAAllowed, na) {
						t.Errorf("item %s: not applicable in tier %s", b.ID, na)
					}
				}
			}
		})
	}
}

// The organisation may relax the built-in checklist, and with
// allow_repo_relaxing: true let repositories relax theirs.
func TestOrgAllowsRepoRelaxing(t *testing.T) {
	repo := []byte("items:\n  - id: branch-protection\n    kind: manual\n  - id: capacity-plan\n    remove: true\n")
	for _, tt := range []struct {
		org   string
		allow bool
	}{
		{"items: []\n", false},
		{"allow_repo_relaxing: false\n", false},
		{"allow_repo_relaxing: true\n", true},
	} {
		c, err := LoadChecklist("acme/.github:onboarding.yml", []byte(tt.org), "acme/api:onboarding.yml", repo)
		it, _ := c.Item("branch-protection")
		_, kept := c.Item("capacity-plan")
		relaxed := it.Kind == KindManual && !kept
		if relaxed != tt.allow || (err == nil) != tt.allow {
			t.Errorf("org %q: relaxed %v (err %v), want %v", tt.org, relaxed, err, tt.allow)
		}
	}
	// The organisation's own file relaxes the built-in one freely.
	c, err := LoadChecklist("acme/.github:onboarding.yml", []byte("items:\n  - id: capacity-plan\n    remove: true\n"), "", nil)
	if _, ok := c.Item("capacity-plan"); ok || err != nil {
		t.Errorf("the organisation's removal: kept %v, err %v", ok, err)
	}
}

// flatten unwraps errors.Join.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// FuzzRepoOverrideNeverRelaxes: whatever a repository's checklist file
// says, the checklist tasuki builds from it relaxes no item of the
// built-in one, and every refusal names the file.
func FuzzRepoOverrideNeverRelaxes(f *testing.F) {
	for _, s := range []string{
		"items:\n  - id: branch-protection\n    kind: manual\n",
		"items:\n  - id: capacity-plan\n    remove: true\n",
		"items:\n  - id: capacity-plan\n    expires_after: 365d\n    evidence_required: false\n    na_allowed: true\n",
		"items:\n  - id: slo-as-code\n    tiers: [A]\n    phase: transfer\n",
		"items:\n  - id: runbooks\n    params: {any_of: [README.md]}\n",
		"allow_repo_relaxing: true\nitems:\n  - id: oncall-linked\n    kind: manual\n",
		"items:\n  - id: new-one\n    title: New\n    phase: shadow\n    kind: manual\n",
	} {
		f.Add([]byte(s))
	}
	const name = "acme/api:onboarding.yml"
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 64<<10 {
			return
		}
		c, err := LoadChecklist("", nil, name, b)
		for _, e := range flatten(err) {
			if !strings.HasPrefix(e.Error(), name) {
				t.Errorf("a problem without its file: %v", e)
			}
		}
		for _, base := range Default().Items {
			it, ok := c.Item(base.ID)
			if !ok {
				t.Fatalf("item %s removed", base.ID)
			}
			if kindRank(it.Kind) < kindRank(base.Kind) || base.EvidenceRequired && !it.EvidenceRequired ||
				base.ExpiresAfter > 0 && (it.ExpiresAfter <= 0 || it.ExpiresAfter > base.ExpiresAfter) ||
				!coversTiers(it.Tiers, base.Tiers) || it.Phase.Index() > base.Phase.Index() ||
				base.Verifier != "" && (it.Verifier != base.Verifier || !reflect.DeepEqual(it.Params, base.Params)) {
				t.Fatalf("item %s relaxed:\n got %+v\nfrom %+v", base.ID, it, base)
			}
			for _, na := range it.NAAllowed {
				if !slices.Contains(base.NAAllowed, na) {
					t.Fatalf("item %s: not applicable in tier %s", base.ID, na)
				}
			}
		}
	})
}
