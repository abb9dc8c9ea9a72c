package postmortem

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Config is the postmortem section of .github/tasuki.yml.
type Config struct {
	// IncidentLabels are the labels that make an issue an incident; adding
	// any of them opens the postmortem.
	IncidentLabels []string `yaml:"incident_labels" json:"incident_labels"`
	// SeverityLabels names the severities, highest first. When an incident
	// carries several, the highest wins.
	SeverityLabels []string `yaml:"severity_labels" json:"severity_labels"`
	// Label marks postmortem issues; CompleteLabel is added when every
	// action item is done.
	Label         string `yaml:"label" json:"label"`
	CompleteLabel string `yaml:"complete_label" json:"complete_label"`
	// Repository is where postmortems are opened: "owner/name", or "name"
	// in the incident's owner. Empty means the incident's repository.
	Repository string `yaml:"repository" json:"repository,omitempty"`
	// FallbackTeam is the slug of the team (in the incident's organisation)
	// whose members are assigned when neither the ownership model nor the
	// incident names anyone.
	FallbackTeam string `yaml:"fallback_team" json:"fallback_team,omitempty"`
	// TimelineCommand starts a comment that belongs in the timeline.
	TimelineCommand string `yaml:"timeline_command" json:"timeline_command"`
	// Timezone is the IANA zone times are shown in beside UTC and in which
	// business days are counted.
	Timezone string `yaml:"timezone" json:"timezone"`
	// ChangeWindow is how far before the impact start merged pull requests
	// and deployments are listed, as a Go duration ("72h").
	ChangeWindow string `yaml:"change_window" json:"change_window"`
	// DueBusinessDays maps a severity label to the business days (Mon-Fri in
	// Timezone) after the incident closes by which the postmortem is due. A
	// severity without an entry, or with 0, has no due date.
	DueBusinessDays map[string]int `yaml:"due_business_days" json:"due_business_days"`
	// Template is the path of the template override, read from the
	// repository and then from the organisation's .github repository.
	Template string `yaml:"template" json:"template"`
	// RequiredSections are the headings a postmortem must have filled in
	// before it can complete: "Summary", or alternatives separated by "|"
	// ("Contributing factors|Root cause and trigger": either will do). A
	// section holding only the placeholder, prompts or tasuki's draft is not
	// filled; a missing heading is not filled either.
	RequiredSections []string `yaml:"required_sections" json:"required_sections"`
	// ReviewerTeam, when set, is the team ("slug" in the postmortem's
	// organisation, or "org/slug") whose members sign a postmortem off with
	// /tasuki approve; otherwise anyone with standing in the repository may.
	// The incident's and the postmortem's authors never approve their own.
	ReviewerTeam string `yaml:"reviewer_team" json:"reviewer_team,omitempty"`
	// ReminderEveryDays is the cadence of overdue reminders, in calendar
	// days: the first goes to the owner the day after the due date, the
	// next this many days later to the incident commander, the last to the
	// owning team. Each step is sent once.
	ReminderEveryDays int `yaml:"reminder_every_days" json:"reminder_every_days"`
	// ActionLabel marks the follow-up issues of action items (with the
	// item's priority as a second label, e.g. "P1").
	ActionLabel string `yaml:"action_label" json:"action_label"`
	// DigestRepo is the repository ("name", or "owner/name" in the same
	// organisation) where the weekly digest of overdue action items across
	// the organisation is opened; read from the organisation's .github
	// repository. Empty: no digest.
	DigestRepo string `yaml:"digest_repo" json:"digest_repo,omitempty"`
}

// DefaultConfig returns the postmortem defaults.
func DefaultConfig() Config {
	return Config{
		IncidentLabels:  []string{"incident"},
		SeverityLabels:  []string{"sev1", "sev2", "sev3", "sev4"},
		Label:           "postmortem",
		CompleteLabel:   "postmortem-complete",
		TimelineCommand: "/timeline",
		Timezone:        "UTC",
		ChangeWindow:    "72h",
		DueBusinessDays: map[string]int{"sev1": 5, "sev2": 10, "sev3": 20},
		Template:        ".github/tasuki/postmortem.md",
		RequiredSections: []string{"Summary", "Impact", "Timeline",
			"Contributing factors|Root cause and trigger", "Action items"},
		ReminderEveryDays: 7,
		ActionLabel:       "postmortem-action",
	}
}

// Validate reports every problem of c at once, naming the key.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("postmortem.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if len(c.IncidentLabels) == 0 {
		bad("incident_labels", "at least one label is needed")
	}
	for i, l := range c.IncidentLabels {
		if strings.TrimSpace(l) == "" {
			bad(fmt.Sprintf("incident_labels[%d]", i), "empty label")
		}
	}
	seen := map[string]bool{}
	for i, l := range c.SeverityLabels {
		k := strings.ToLower(strings.TrimSpace(l))
		switch {
		case k == "":
			bad(fmt.Sprintf("severity_labels[%d]", i), "empty label")
		case seen[k]:
			bad(fmt.Sprintf("severity_labels[%d]", i), "%q listed twice", l)
		}
		seen[k] = true
	}
	if strings.TrimSpace(c.Label) == "" {
		bad("label", "empty label")
	}
	if strings.TrimSpace(c.CompleteLabel) == "" {
		bad("complete_label", "empty label")
	}
	if r := c.Repository; r != "" {
		parts := strings.Split(r, "/")
		if len(parts) > 2 || slices.ContainsFunc(parts, func(p string) bool { return p == "" || strings.ContainsAny(p, " \t") }) {
			bad("repository", "%q is not \"owner/name\" or \"name\"", r)
		}
	}
	if strings.TrimSpace(c.TimelineCommand) == "" {
		bad("timeline_command", "empty command")
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil || c.Timezone == "" {
		bad("timezone", "%q is not an IANA time zone (for example Europe/Berlin)", c.Timezone)
	}
	if d, err := time.ParseDuration(c.ChangeWindow); err != nil || d < 0 {
		bad("change_window", "%q is not a positive duration (for example 72h)", c.ChangeWindow)
	}
	for sev, n := range c.DueBusinessDays {
		if n < 0 {
			bad("due_business_days."+sev, "%d is negative", n)
		}
		if !seen[strings.ToLower(sev)] {
			bad("due_business_days."+sev, "%q is not one of severity_labels", sev)
		}
	}
	if strings.TrimSpace(c.Template) == "" {
		bad("template", "empty path")
	}
	for i, r := range c.RequiredSections {
		for _, alt := range strings.Split(r, "|") {
			if strings.TrimSpace(alt) == "" {
				bad(fmt.Sprintf("required_sections[%d]", i), "%q names an empty heading", r)
				break
			}
		}
	}
	if t := strings.TrimPrefix(strings.TrimSpace(c.ReviewerTeam), "@"); t != "" && !teamRe.MatchString(t) {
		bad("reviewer_team", "%q is not a team slug or \"org/slug\"", c.ReviewerTeam)
	}
	if c.ReminderEveryDays < 1 || c.ReminderEveryDays > 365 {
		bad("reminder_every_days", "%d is not between 1 and 365", c.ReminderEveryDays)
	}
	if strings.TrimSpace(c.ActionLabel) == "" {
		bad("action_label", "empty label")
	}
	if r := c.DigestRepo; r != "" {
		parts := strings.Split(r, "/")
		if len(parts) > 2 || slices.ContainsFunc(parts, func(p string) bool { return p == "" || strings.ContainsAny(p, " \t") }) {
			bad("digest_repo", "%q is not \"owner/name\" or \"name\"", r)
		}
	}
	return errors.Join(errs...)
}

var teamRe = regexp.MustCompile(`^(?:[A-Za-z0-9][A-Za-z0-9-]{0,38}/)?[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$`)

// Reviewers returns the reviewer team as the command rule names it
// ("org/slug" or "slug"), "" when none is configured.
func (c Config) Reviewers() string {
	return strings.TrimPrefix(strings.TrimSpace(c.ReviewerTeam), "@")
}

// Cadence is the reminder cadence, 7 days when it is invalid.
func (c Config) Cadence() int {
	if c.ReminderEveryDays < 1 || c.ReminderEveryDays > 365 {
		return 7
	}
	return c.ReminderEveryDays
}

// Location returns the configured time zone, or UTC when it is invalid
// (Validate reports that).
func (c Config) Location() *time.Location {
	if c.Timezone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// Window returns the change window, 72h when it is invalid.
func (c Config) Window() time.Duration {
	d, err := time.ParseDuration(c.ChangeWindow)
	if err != nil || d < 0 {
		return 72 * time.Hour
	}
	return d
}

// IsIncidentLabel reports whether name is one of the incident labels.
func (c Config) IsIncidentLabel(name string) bool {
	for _, l := range c.IncidentLabels {
		if strings.EqualFold(l, name) {
			return true
		}
	}
	return false
}

// Severity returns the highest severity among labels, or "" if none.
func (c Config) Severity(labels []string) string {
	best := -1
	for _, l := range labels {
		for i, s := range c.SeverityLabels {
			if strings.EqualFold(l, s) && (best < 0 || i < best) {
				best = i
			}
		}
	}
	if best < 0 {
		return ""
	}
	return c.SeverityLabels[best]
}

// IsSeverityLabel reports whether name is one of the severity labels.
func (c Config) IsSeverityLabel(name string) bool {
	for _, s := range c.SeverityLabels {
		if strings.EqualFold(s, name) {
			return true
		}
	}
	return false
}

// TargetRepo returns where the postmortem of an incident in owner/repo is
// opened.
func (c Config) TargetRepo(owner, repo string) (string, string) {
	r := strings.TrimSpace(c.Repository)
	if r == "" {
		return owner, repo
	}
	if o, n, ok := strings.Cut(r, "/"); ok {
		return o, n
	}
	return owner, r
}
