package command

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestAllowed(t *testing.T) {
	core := Rule{Teams: []string{"@acme/core-sre"}}
	writers := Rule{Permission: PermWrite}
	insiders := Rule{Associations: Insiders}
	mixed := Rule{Associations: []string{Owner, Member}, Permission: PermWrite, Teams: []string{"acme/core-sre", "acme/platform"}, IssueAuthor: true}
	for _, tc := range []struct {
		name   string
		rule   Rule
		facts  Facts
		ok     bool
		reason string
	}{
		{"anyone", Rule{Anyone: true}, Facts{Association: NoAssociation}, true, "anyone may run it"},
		{"zero rule", Rule{}, Facts{Association: Owner, Permission: PermAdmin}, false, "no one may run this command here"},
		{"team member", core, Facts{Teams: map[string]bool{"acme/core-sre": true}}, true, "member of @acme/core-sre"},
		{"team non-member", core, Facts{Teams: map[string]bool{"acme/core-sre": false}}, false, "only members of @acme/core-sre may run this command"},
		{"team not fetched", core, Facts{}, false, "only members of @acme/core-sre may run this command"},
		{"team key case", Rule{Teams: []string{"ACME/Core-SRE"}}, Facts{Teams: map[string]bool{"acme/core-sre": true}}, true, "member of @acme/core-sre"},
		{"write is enough", writers, Facts{Permission: PermWrite}, true, "write permission on the repository"},
		{"admin is more", writers, Facts{Permission: PermAdmin}, true, "admin permission on the repository"},
		{"triage is less", writers, Facts{Permission: PermTriage}, false, "only people with write permission or more may run this command"},
		{"admins only", Rule{Permission: PermAdmin}, Facts{Permission: PermMaintain}, false, "only repository admins may run this command"},
		{"insider", insiders, Facts{Association: Contributor}, true, "author association CONTRIBUTOR"},
		{"association case", insiders, Facts{Association: "member"}, true, "author association MEMBER"},
		{"outsider", insiders, Facts{Association: FirstTimeContributor}, false,
			"only the repository owner, organisation members, collaborators or earlier contributors may run this command"},
		{"empty association is no one's", insiders, Facts{}, false,
			"only the repository owner, organisation members, collaborators or earlier contributors may run this command"},
		{"issue author", Rule{IssueAuthor: true}, Facts{Author: "Alice", IssueAuthor: "alice"}, true, "author of the issue"},
		{"not the issue author", Rule{IssueAuthor: true}, Facts{Author: "bob", IssueAuthor: "alice"}, false, "only the issue's author may run this command"},
		{"issue author unknown", Rule{IssueAuthor: true}, Facts{}, false, "only the issue's author may run this command"},
		{"mixed by team", mixed, Facts{Association: NoAssociation, Teams: map[string]bool{"acme/platform": true}}, true, "member of @acme/platform"},
		{"mixed refused", mixed, Facts{Association: Contributor, Author: "bob", IssueAuthor: "alice", Permission: PermRead},
			false, "only the repository owner, organisation members, people with write permission or more, members of @acme/core-sre or @acme/platform or the issue's author may run this command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, reason := Allowed(tc.rule, tc.facts)
			if ok != tc.ok || reason != tc.reason {
				t.Errorf("Allowed = %v, %q; want %v, %q", ok, reason, tc.ok, tc.reason)
			}
		})
	}
}

func TestNeeds(t *testing.T) {
	reg := NewRegistry[testConfig]()
	registerTestVerbs(t, reg)
	for _, tc := range []struct {
		name  string
		body  string
		cfg   testConfig
		facts Facts
		want  Needs
	}{
		{"help needs nothing", "/tasuki help", testConfig{}, Facts{}, Needs{}},
		{"unknown needs nothing", "/tasuki frobnicate", testConfig{}, Facts{}, Needs{}},
		{"insider association suffices", "/tasuki followup", testConfig{}, Facts{Association: Member}, Needs{}},
		{"outsider", "/tasuki followup", testConfig{}, Facts{Association: NoAssociation}, Needs{}},
		{"team from config", "/tasuki handoff svc", testConfig{CoreTeam: "@Acme/Core-SRE"}, Facts{Association: Member}, Needs{Teams: []string{"acme/core-sre"}}},
		{"permission", "/tasuki done A https://e", testConfig{}, Facts{Association: Member}, Needs{Permission: true}},
		{"issue author spares the permission", "/tasuki done A https://e", testConfig{}, Facts{Author: "a", IssueAuthor: "A"}, Needs{}},
		{"union, sorted, once", "/tasuki handoff x\n/tasuki done A https://e\n/tasuki handoff y\n/tasuki deploy",
			testConfig{CoreTeam: "acme/core-sre"}, Facts{}, Needs{Permission: true, Teams: []string{"acme/core-sre", "acme/platform"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := reg.Plan(Parse(tc.body), tc.cfg).Needs(tc.facts)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Needs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRepositoryPermission(t *testing.T) {
	for _, tc := range []struct {
		permission, role string
		want             Permission
	}{
		{"admin", "admin", PermAdmin},
		{"write", "maintain", PermMaintain},
		{"read", "triage", PermTriage},
		{"write", "write", PermWrite},
		{"write", "security-reviewer", PermWrite}, // a custom role: its base
		{"read", "", PermRead},
		{"none", "", PermNone},
		{"", "", PermNone},
		{"push", "", PermWrite},
		{"pull", "", PermRead},
	} {
		if got := RepositoryPermission(tc.permission, tc.role); got != tc.want {
			t.Errorf("RepositoryPermission(%q, %q) = %v; want %v", tc.permission, tc.role, got, tc.want)
		}
	}
}

func TestTeamKey(t *testing.T) {
	for in, want := range map[string]string{"@Acme/Core-SRE": "acme/core-sre", " core-sre ": "core-sre", "": ""} {
		if got := TeamKey(in); got != want {
			t.Errorf("TeamKey(%q) = %q; want %q", in, got, want)
		}
	}
}
