package onboarding

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Default values of Config.
const (
	DefaultLabel         = "sre-handoff"
	DefaultGuardLabel    = "sre-handoff-guard"
	DefaultHandBackLabel = "reliability-review"
	DefaultChecklistPath = ".github/tasuki/onboarding.yml"
	DefaultTier          = "B"
)

// defaultPhaseDays are the lengths of the phases before Guard.
var defaultPhaseDays = map[string]int{
	string(PhaseKickoff): 7, string(PhaseObserve): 21, string(PhaseShadow): 28,
	string(PhaseReverseShadow): 28, string(PhaseTransfer): 14,
}

func defaultConfig() Config {
	return Config{
		Label:       DefaultLabel,
		Checklist:   DefaultChecklistPath,
		DefaultTier: DefaultTier,
		PhaseDays:   copyDays(defaultPhaseDays),
		GuardLabel:  DefaultGuardLabel,
		HandBack:    HandBackConfig{MaxIncidents: 2, WindowDays: 28, Severities: []string{"sev1", "sev2"}},
	}
}

func copyDays(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// withDefaults fills what c leaves empty, so the core works with a Config
// that did not come from the loader.
func (c Config) withDefaults() Config {
	d := defaultConfig()
	if c.Label == "" {
		c.Label = d.Label
	}
	if c.Checklist == "" {
		c.Checklist = d.Checklist
	}
	if c.DefaultTier == "" {
		c.DefaultTier = d.DefaultTier
	}
	days := copyDays(d.PhaseDays)
	for k, v := range c.PhaseDays {
		days[k] = v
	}
	c.PhaseDays = days
	if c.GuardLabel == "" {
		c.GuardLabel = d.GuardLabel
	}
	if c.HandBack.WindowDays == 0 {
		c.HandBack.WindowDays = d.HandBack.WindowDays
	}
	if c.HandBack.MaxIncidents == 0 {
		c.HandBack.MaxIncidents = d.HandBack.MaxIncidents
	}
	if len(c.HandBack.Severities) == 0 {
		c.HandBack.Severities = d.HandBack.Severities
	}
	return c
}

var (
	labelRE = regexp.MustCompile(`^[^,\s][^,]{0,48}[^,\s]$`)
	loginRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`)
	teamRE  = regexp.MustCompile(`^@?(?:[A-Za-z0-9][A-Za-z0-9-]*/)?[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$`)
)

func (c Config) validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("onboarding.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	for key, v := range map[string]string{"label": c.Label, "guard_label": c.GuardLabel} {
		if v != "" && !labelRE.MatchString(v) {
			bad(key, "%q is not a label (2 to 50 characters, no comma)", v)
		}
	}
	if c.Checklist != "" && (strings.HasPrefix(c.Checklist, "/") || strings.Contains(c.Checklist, "..") || !strings.HasSuffix(c.Checklist, ".yml") && !strings.HasSuffix(c.Checklist, ".yaml")) {
		bad("checklist", "%q must be a relative path of a .yml file", c.Checklist)
	}
	if c.DefaultTier != "" && !slices.Contains(Tiers, c.DefaultTier) {
		bad("default_tier", "%q is not A, B or C", c.DefaultTier)
	}
	for _, k := range sortedKeys(c.PhaseDays) {
		if _, ok := defaultPhaseDays[k]; !ok {
			bad("phase_days."+k, "not a phase (kickoff, observe, shadow, reverse-shadow, transfer)")
		} else if v := c.PhaseDays[k]; v < 1 || v > 365 {
			bad("phase_days."+k, "%d days: must be 1 to 365", v)
		}
	}
	if t := c.NewRepositories.Team; t != "" && !teamRE.MatchString(t) {
		bad("new_repositories.team", "%q is not a team", t)
	}
	if t := c.NewRepositories.Tier; t != "" && !slices.Contains(Tiers, t) {
		bad("new_repositories.tier", "%q is not A, B or C", t)
	}
	for _, k := range sortedKeys(c.Leads) {
		if !teamRE.MatchString(k) {
			bad("leads."+k, "not a team slug")
		}
		if l := strings.TrimPrefix(c.Leads[k], "@"); !loginRE.MatchString(l) {
			bad("leads."+k, "%q is not a GitHub login", c.Leads[k])
		}
	}
	if c.HandBack.MaxIncidents < 0 || c.HandBack.MaxIncidents > 100 {
		bad("hand_back.max_incidents", "must be 0 to 100")
	}
	if c.HandBack.WindowDays < 0 || c.HandBack.WindowDays > 365 {
		bad("hand_back.window_days", "must be 1 to 365")
	}
	for i, s := range c.HandBack.Severities {
		if strings.TrimSpace(s) == "" {
			bad(fmt.Sprintf("hand_back.severities[%d]", i), "empty severity")
		}
	}
	return errors.Join(errs...)
}
