package onboarding_test

import (
	"strings"
	"testing"

	"github.com/tasuki-sre/tasuki/internal/config"
)

// The onboarding section and ownership.handoff go through the shared
// loader: strict, with defaults, problems pointing at their line.
func TestConfigSection(t *testing.T) {
	org := []byte("onboarding:\n  keep_core_secondary: true\n  leads: {core-sre: carol}\n")
	repo := []byte("ownership:\n  handoff:\n    team: acme/payments-sre\n    tier: A\nonboarding:\n  default_tier: C\n  phase_days: {shadow: 14}\n")
	f := config.Parse("acme/api", org, repo)
	if f.Err != nil {
		t.Fatal(f.Err)
	}
	c := f.Config
	if !c.Onboarding.KeepCoreSecondary || c.Onboarding.DefaultTier != "C" || c.Onboarding.Leads["core-sre"] != "carol" ||
		c.Onboarding.PhaseDays["shadow"] != 14 || c.Onboarding.Label != "sre-handoff" {
		t.Errorf("onboarding = %+v", c.Onboarding)
	}
	if h := c.Ownership.Handoff; h == nil || h.Team != "acme/payments-sre" || h.Tier != "A" {
		t.Errorf("ownership.handoff = %+v", h)
	}
	if def := config.Parse("acme/api", nil, nil).Config.Onboarding; def.DefaultTier != "B" || def.PhaseDays["observe"] != 21 {
		t.Errorf("defaults = %+v", def)
	}

	bad := config.Parse("acme/api", nil, []byte("review:\n  approvals: []\nonboarding:\n  default_tier: Z\n  tiers: [A]\n"))
	msg := ""
	if bad.Err != nil {
		msg = bad.Err.Error()
	}
	if !strings.Contains(msg, "acme/api:.github/tasuki.yml:5:3") {
		t.Errorf("errors %q: want the unknown key's line", msg)
	}
	bad = config.Parse("acme/api", nil, []byte("onboarding:\n  default_tier: Z\n"))
	if bad.Err == nil || !strings.Contains(bad.Err.Error(), ":2:") || !strings.Contains(bad.Err.Error(), "onboarding.default_tier") {
		t.Errorf("bad tier: %v", bad.Err)
	}
}
