package onboarding_test

import (
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"
)

// The incoming team's SREs can push to the repository, and so write its
// own checklist override: an override that makes an automatic item manual
// (for them to tick) or removes one is ignored in that part unless the
// organisation's checklist allows repositories to relax theirs; the rest
// of the file still applies. Nor can the repository's configuration move
// the organisation's checklist to a path where there is none.
func TestRepoChecklistCannotRelax(t *testing.T) {
	override := "items:\n  - id: branch-protection\n    kind: manual\n  - id: slo-as-code\n    remove: true\n" +
		"  - id: chaos-drill\n    title: Chaos drill\n    phase: shadow\n    kind: manual\n"
	tests := []struct {
		name    string
		org     string // the organisation's checklist; "" for none
		repoCfg string // appended to the repository's .github/tasuki.yml
		relaxed bool
	}{
		{name: "no organisation checklist", relaxed: false},
		{name: "the organisation does not allow it", org: "items:\n  - id: capacity-plan\n    expires_after: 90d\n", relaxed: false},
		{name: "the organisation allows it", org: "allow_repo_relaxing: true\n", relaxed: true},
		{name: "the repository moves the organisation's checklist", org: "allow_repo_relaxing: false\nitems:\n  - id: org-item\n    title: Org item\n    phase: kickoff\n    kind: manual\n",
			repoCfg: "  checklist: .github/mine.yml\n", relaxed: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.org != "" {
				e.orgChecklist(tt.org)
			}
			path := ".github/tasuki/onboarding.yml"
			if tt.repoCfg != "" {
				path = ".github/mine.yml"
				e.srv.PutFile(full, "main", ".github/tasuki.yml", []byte("onboarding:\n  leads:\n    core-sre: core-carol\n    payments-sre: pat\n"+tt.repoCfg))
			}
			e.srv.PutFile(full, "main", path, []byte(override))
			talk := e.srv.AddIssue(full, &github.Issue{Title: github.String("Hand payments over")})
			e.comment(talk.GetNumber(), coreLead, "MEMBER", "/tasuki onboard @acme/payments-sre --tier B")
			h := e.handoffs()[0].GetNumber()
			e.comment(h, teamLead, "MEMBER", "/tasuki done branch-protection https://example.com/trust-me")
			it := e.item(h, "branch-protection")
			if ticked := it.By == teamLead; ticked != tt.relaxed {
				t.Errorf("the incoming team ticked branch-protection: %v, want %v (%+v)", ticked, tt.relaxed, it)
			}
			_, kept := e.state(h).Item("slo-as-code")
			if kept == tt.relaxed {
				t.Errorf("slo-as-code kept: %v, want %v", kept, !tt.relaxed)
			}
			// The part that relaxes nothing applies either way.
			if _, ok := e.state(h).Item("chaos-drill"); !ok {
				t.Error("the repository's new item is missing")
			}
			if strings.Contains(tt.org, "org-item") {
				if _, ok := e.state(h).Item("org-item"); !ok {
					t.Error("the organisation's item is missing: its checklist was read at the repository's path")
				}
			}
		})
	}
}
