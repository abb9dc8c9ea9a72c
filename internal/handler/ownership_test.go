package handler_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/ghwrite"
	"github.com/tasuki-sre/tasuki/internal/githubtest"
	"github.com/tasuki-sre/tasuki/internal/handler"
	"github.com/tasuki-sre/tasuki/internal/onboarding"
	"github.com/tasuki-sre/tasuki/internal/ownership"
)

func TestOwnershipResolve(t *testing.T) {
	ctx := context.Background()
	srv := githubtest.New(t)
	srv.AddRepo("acme/.github", "main")
	srv.AddRepo("acme/pay", "main")
	srv.AddRepo("acme/docs-owned", "trunk")
	srv.AddRepo("acme/bare", "main")
	srv.PutFile("acme/.github", "", config.Path, []byte(`ownership:
  core_sre_team: core-sre
  default_team: platform
  teams:
    payments: {sres: [alice], sre_team: payments-sre}
    docs: {sres: [dora]}
`))
	srv.PutFile("acme/pay", "", "catalog-info.yaml", []byte("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: payments-api\nspec:\n  owner: group:default/payments\n"))
	srv.PutFile("acme/pay", "", ".github/CODEOWNERS", []byte("* @acme/payments\n/terraform/ @acme/platform\n"))
	// A CODEOWNERS in a lower-priority place on a non-default branch must be ignored.
	srv.PutFile("acme/pay", "other", "CODEOWNERS", []byte("* @acme/nobody\n"))
	srv.PutFile("acme/docs-owned", "", "docs/CODEOWNERS", []byte("# team\n* @acme/docs\n"))

	o := handler.NewOwnership(config.NewLoader(), nil)
	tests := []struct {
		repo          string
		labels, paths []string
		want          ownership.Owners
		wantReads     int // content reads: 2 config files + catalog + CODEOWNERS lookups
	}{
		{
			repo: "pay", paths: []string{"terraform/main.tf", "cmd/main.go"},
			want: ownership.Owners{Service: "payments-api", ServiceSource: "catalog-info.yaml metadata.name",
				Team: "payments", Source: "catalog-info.yaml spec.owner", SREs: []string{"alice"}, SRETeam: "payments-sre",
				CoreSRETeam: "core-sre", PathOwners: map[string][]string{
					"terraform/main.tf": {"@acme/platform"},
					"cmd/main.go":       {"@acme/payments"},
				}},
			wantReads: 4,
		},
		{
			repo: "docs-owned",
			want: ownership.Owners{Service: "docs-owned", ServiceSource: "repository name",
				Team: "docs", Source: "CODEOWNERS *", SREs: []string{"dora"}, CoreSRETeam: "core-sre"},
			wantReads: 6,
		},
		{
			repo: "bare", labels: []string{"sev2", "service:payments-api"},
			want: ownership.Owners{Service: "payments-api", ServiceSource: "label service:payments-api",
				Team: "platform", Source: "config default_team", CoreSRETeam: "core-sre"},
			wantReads: 6,
		},
	}
	for _, tt := range tests {
		t.Run(tt.repo, func(t *testing.T) {
			srv.ResetCalls()
			got, err := o.Resolve(ctx, srv.Client(), "acme", tt.repo, tt.labels, tt.paths)
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("owners mismatch (-want +got):\n%s", diff)
			}
			if n := srv.CallCount("GET", "/repos/{owner}/{repo}/contents/{path}"); n != tt.wantReads {
				t.Errorf("%d content reads, want %d", n, tt.wantReads)
			}
			// The next evaluation of the same repository within the TTL reads nothing.
			srv.ResetCalls()
			again, err := o.Resolve(ctx, srv.Client(), "acme", tt.repo, tt.labels, tt.paths)
			if err != nil {
				t.Fatalf("Resolve again: %v", err)
			}
			if diff := cmp.Diff(tt.want, again); diff != "" {
				t.Errorf("cached owners mismatch (-want +got):\n%s", diff)
			}
			if calls := srv.Calls(); len(calls) != 0 {
				t.Errorf("second Resolve made %d API calls, want 0", len(calls))
			}
		})
	}
}

func TestOwnershipResolveRetriesOnGitHubFailure(t *testing.T) {
	ctx := context.Background()
	srv := githubtest.New(t)
	srv.AddRepo("acme/pay", "main")
	o := handler.NewOwnership(config.NewLoader(), nil, handler.WithOwnershipTTL(0))
	const contents = "/repos/{owner}/{repo}/contents/{path}"

	// The configuration cannot be read: defaults could name the wrong owners.
	srv.Inject("GET", contents, 500, nil)
	if _, err := o.Resolve(ctx, srv.Client(), "acme", "pay", nil, nil); err == nil {
		t.Error("config read failure: no error")
	}
	// Now the configuration is cached; catalog-info.yaml cannot be read.
	if _, err := o.Resolve(ctx, srv.Client(), "acme", "pay", nil, nil); err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	srv.Inject("GET", contents, 502, nil)
	if _, err := o.Resolve(ctx, srv.Client(), "acme", "pay", nil, nil); err == nil {
		t.Error("catalog-info.yaml read failure: no error")
	}
}

func TestOwnershipTeams(t *testing.T) {
	ctx := context.Background()
	srv := githubtest.New(t)
	var many []string
	for i := range 130 {
		many = append(many, fmt.Sprintf("sre-%03d", i))
	}
	srv.AddTeam("acme", "big-sre", many...)
	srv.AddTeam("acme", "payments-sre", "zoe", "bob")
	o := handler.NewOwnership(nil, nil)

	got, err := o.TeamMembers(ctx, srv.Client(), "acme", "big-sre")
	if err != nil {
		t.Fatalf("TeamMembers: %v", err)
	}
	if diff := cmp.Diff(many, got); diff != "" {
		t.Errorf("members of a team over one page (-want +got):\n%s", diff)
	}
	if n := srv.CallCount("GET", "/orgs/{org}/teams/{team_slug}/members"); n != 2 {
		t.Errorf("%d member list calls for 130 members, want 2 pages", n)
	}

	_, err = o.TeamMembers(ctx, srv.Client(), "acme", "ghost")
	if err == nil || !strings.Contains(err.Error(), "members:read") {
		t.Errorf("unknown team: error %v, want one naming the members:read permission", err)
	}

	for _, tt := range []struct {
		team, login string
		want        bool
	}{
		{"payments-sre", "zoe", true},
		{"payments-sre", "Zoe", true},
		{"payments-sre", "mallory", false},
		{"ghost", "zoe", false},
	} {
		got, err := o.IsTeamMember(ctx, srv.Client(), "acme", tt.team, tt.login)
		if err != nil || got != tt.want {
			t.Errorf("IsTeamMember(%s, %s) = %v, %v; want %v", tt.team, tt.login, got, err, tt.want)
		}
	}

	sres, err := o.SREs(ctx, srv.Client(), "acme", ownership.Owners{SREs: []string{"alice", "bob"}, SRETeam: "payments-sre"})
	if err != nil {
		t.Fatalf("SREs: %v", err)
	}
	if diff := cmp.Diff([]string{"alice", "bob", "zoe"}, sres); diff != "" {
		t.Errorf("SREs (-want +got):\n%s", diff)
	}
}

// TestOwnershipHandoff: the handoff in progress is read from the newest
// open issue with the handoff label that tasuki opened; the same label on
// an issue anyone else opened (however it is worded), on a pull request,
// or a closed handoff's state, says nothing.
func TestOwnershipHandoff(t *testing.T) {
	ctx := context.Background()
	c := onboarding.Default()
	d := onboarding.Start(onboarding.StartRequest{Repo: "acme/pay", Team: "@acme/payments-sre", Actor: "carl", Trigger: "command",
		ActorIsCore: true, CoreTeam: "core-sre"}, onboarding.DefaultConfig(), c, time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	body := func(p ownership.Phase, closed bool) string {
		s := d.State
		s.Phase = p
		if closed {
			s.Closed = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
		}
		return onboarding.RenderBody(d.Intents[0].Issue.Body, s, c)
	}
	label := []*github.Label{{Name: github.String(onboarding.DefaultLabel)}}
	trust := ghwrite.Identity{Logins: []string{"tasuki[bot]"}}
	tests := []struct {
		name   string
		issues []*github.Issue // oldest first
		want   *ownership.Handoff
	}{
		{name: "none"},
		{name: "tasuki's", issues: []*github.Issue{{Body: github.String(body(ownership.PhaseShadow, false)), User: &github.User{Login: github.String("tasuki[bot]")}, Labels: label}},
			want: &ownership.Handoff{Phase: ownership.PhaseShadow, Team: "payments-sre", CoreTeam: "core-sre"}},
		{name: "forged, newer than tasuki's", issues: []*github.Issue{
			{Body: github.String(body(ownership.PhaseShadow, false)), User: &github.User{Login: github.String("tasuki[bot]")}, Labels: label},
			{Body: github.String(body(ownership.PhaseGuard, false)), User: &github.User{Login: github.String("mallory")}, Labels: label}},
			want: &ownership.Handoff{Phase: ownership.PhaseShadow, Team: "payments-sre", CoreTeam: "core-sre"}},
		{name: "forged only", issues: []*github.Issue{{Body: github.String(body(ownership.PhaseReverseShadow, false)), User: &github.User{Login: github.String("mallory")}, Labels: label}}},
		{name: "closed handoff", issues: []*github.Issue{{Body: github.String(body(ownership.PhaseGuard, true)), User: &github.User{Login: github.String("tasuki[bot]")}, Labels: label}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := githubtest.New(t)
			srv.AddRepo("acme/pay", "main")
			for _, is := range tt.issues {
				is.Title = github.String("SRE handoff")
				srv.AddIssue("acme/pay", is)
			}
			o := handler.NewOwnership(nil, nil)
			got, err := o.Handoff(ctx, srv.Client(), "acme", "pay", "", trust)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("handoff (-want +got):\n%s", diff)
			}
			owners, err := o.ResolveHandoff(ctx, srv.Client(), "acme", "pay", ownership.Config{DefaultTeam: "payments"}, "", trust, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			wantTeam := "payments"
			if tt.want != nil {
				wantTeam = "core-sre" // primary until Reverse shadow
			}
			if got := handler.EffectiveTeam(owners); got != wantTeam {
				t.Errorf("EffectiveTeam = %q, want %q (owners %+v)", got, wantTeam, owners)
			}
			// Read once per TTL: the second ask is answered from memory.
			srv.ResetCalls()
			if _, err := o.Handoff(ctx, srv.Client(), "acme", "pay", "", trust); err != nil {
				t.Fatal(err)
			}
			if n := len(srv.Calls()); n != 0 {
				t.Errorf("second ask made %d requests, want 0", n)
			}
		})
	}
}

// TestResolveHandoffEditedState: with the handoff memo (the App's store),
// a phase someone with write access typed into tasuki's handoff issue does
// not move the owning team postmortem and lead time name: an edit from
// Shadow to Reverse shadow would hand the follow-ups to the incoming team;
// the edited state is not believed, so the owning team stays the
// configured one. The state tasuki wrote is believed as before.
func TestResolveHandoffEditedState(t *testing.T) {
	ctx := context.Background()
	c := onboarding.Default()
	d := onboarding.Start(onboarding.StartRequest{Repo: "acme/pay", Team: "@acme/payments-sre", Actor: "carl", Trigger: "command",
		ActorIsCore: true, CoreTeam: "core-sre"}, onboarding.DefaultConfig(), c, time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	body := func(p ownership.Phase) string {
		s := d.State
		s.Phase = p
		return onboarding.RenderBody(d.Intents[0].Issue.Body, s, c)
	}
	trust := ghwrite.Identity{Logins: []string{"tasuki[bot]"}}
	tests := []struct {
		name             string
		written, current ownership.Phase
		want             string
	}{
		{"unedited Reverse shadow", ownership.PhaseReverseShadow, ownership.PhaseReverseShadow, "payments-sre"},
		{"unedited Shadow", ownership.PhaseShadow, ownership.PhaseShadow, "core-sre"},
		{"edited Shadow to Reverse shadow", ownership.PhaseShadow, ownership.PhaseReverseShadow, "payments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := githubtest.New(t)
			srv.AddRepo("acme/pay", "main")
			is := srv.AddIssue("acme/pay", &github.Issue{Title: github.String("SRE handoff"), Body: github.String(body(tt.current)),
				User: &github.User{Login: github.String("tasuki[bot]")}, Labels: []*github.Label{{Name: github.String(onboarding.DefaultLabel)}}})
			memo := &handler.MemMemo{}
			if err := memo.Put(ctx, onboarding.StateMemoKey("acme/pay", is.GetNumber()), onboarding.StateMemoValue(body(tt.written))); err != nil {
				t.Fatal(err)
			}
			o := handler.NewOwnership(nil, nil, handler.WithHandoffMemo(memo))
			owners, err := o.ResolveHandoff(ctx, srv.Client(), "acme", "pay", ownership.Config{DefaultTeam: "payments"}, "", trust, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := handler.EffectiveTeam(owners); got != tt.want {
				t.Errorf("EffectiveTeam = %q, want %q (handoff %+v)", got, tt.want, owners.Handoff)
			}
		})
	}
}
