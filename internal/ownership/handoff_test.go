package ownership

import (
	"strings"
	"testing"
)

func TestHandoffRoles(t *testing.T) {
	tests := []struct {
		phase              Phase
		primary, secondary string
	}{
		{PhaseKickoff, "core-sre", ""},
		{PhaseObserve, "core-sre", ""},
		{PhaseShadow, "core-sre", "payments-sre"},
		{PhaseReverseShadow, "payments-sre", "core-sre"},
		{PhaseTransfer, "payments-sre", ""},
		{PhaseGuard, "payments-sre", ""},
	}
	for _, tt := range tests {
		r := HandoffRoles(tt.phase, "@core-sre", "payments-sre")
		if r.Primary != tt.primary || r.Secondary != tt.secondary {
			t.Errorf("%s: %+v, want primary %q secondary %q", tt.phase, r, tt.primary, tt.secondary)
		}
		approve, ask := r.Approvers()
		if len(approve) != 1 || approve[0] != tt.primary || (tt.secondary == "") != (len(ask) == 0) {
			t.Errorf("%s: approve %v ask %v", tt.phase, approve, ask)
		}
	}
}

func TestParsePhase(t *testing.T) {
	for in, want := range map[string]Phase{"shadow": PhaseShadow, "Reverse shadow": PhaseReverseShadow, "reverse_shadow": PhaseReverseShadow,
		"Observe and prepare": PhaseObserve, " GUARD ": PhaseGuard} {
		if got, err := ParsePhase(in); err != nil || got != want {
			t.Errorf("ParsePhase(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParsePhase("handover"); err == nil {
		t.Error("handover accepted")
	}
}

func TestResolveHandoff(t *testing.T) {
	cfg := Config{CoreSRETeam: "core-sre", ServiceLabelPrefix: "service:"}
	f := Facts{Repo: "acme/api", CODEOWNERS: []byte("* @acme/core-sre\n")}
	if o := Resolve(f, cfg); o.Handoff != nil {
		t.Errorf("no handoff: %+v", o.Handoff)
	}
	f.Handoff = &Handoff{Phase: PhaseReverseShadow, Team: "payments-sre"}
	o := Resolve(f, cfg)
	if o.Handoff == nil || o.Handoff.Primary != "payments-sre" || o.Handoff.Secondary != "core-sre" {
		t.Errorf("reverse shadow: %+v", o.Handoff)
	}
	// The owner the files name is unchanged until the transfer merges.
	if o.Team != "core-sre" {
		t.Errorf("team %q", o.Team)
	}
}

func TestHandoffConfigValidate(t *testing.T) {
	c := DefaultConfig()
	c.Handoff = &HandoffConfig{Team: "acme/payments-sre", Tier: "A"}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c.Handoff = &HandoffConfig{Tier: "Z"}
	err := c.Validate()
	for _, want := range []string{"ownership.handoff.team:", "ownership.handoff.tier:"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want %q", err, want)
		}
	}
}
