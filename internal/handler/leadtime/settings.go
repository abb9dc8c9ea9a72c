package leadtime

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/ghwrite"
	core "github.com/tasuki-sre/tasuki/internal/leadtime"
)

// RepoSettings is what computing a repository's metrics needs of its
// configuration: the leadtime section and which team owns each service.
// The handler remembers it (in the memo) each time it reads the
// configuration, so that the metrics API and the weekly report compute
// without calling GitHub; a repository never seen uses the defaults.
type RepoSettings struct {
	LeadTime    core.Config       `json:"leadtime"`
	Teams       map[string]string `json:"teams,omitempty"` // service -> owning team slug
	DefaultTeam string            `json:"default_team,omitempty"`
	// HandoffTeam, while the repository's SRE handoff is in progress, is
	// the team that owns it now (handler.EffectiveTeam: the core SRE team
	// until Reverse shadow, the incoming team from then on). It is
	// resolved when events are recorded and when the weekly report runs,
	// never in a metrics API request, which reads only the store.
	HandoffTeam string `json:"handoff_team,omitempty"`
}

// TeamOf returns the team owning service ("" for changes with no service:
// the default team). While a handoff is in progress every service of the
// repository is the handoff's primary team's: the handoff moves the
// repository, not one of its services.
func (s RepoSettings) TeamOf(service string) string {
	if s.HandoffTeam != "" {
		return s.HandoffTeam
	}
	if t, ok := s.Teams[service]; ok && t != "" {
		return t
	}
	return s.DefaultTeam
}

// HasTeams reports whether any team is known.
func (s RepoSettings) HasTeams() bool {
	return len(s.Teams) > 0 || s.DefaultTeam != "" || s.HandoffTeam != ""
}

// ReportTeams lists the teams whose weekly reports show the repository:
// the handoff's team alone while a handoff is in progress, else every team
// owning one of its services and the default team; none when no team is
// known.
func (s RepoSettings) ReportTeams() []string {
	if s.HandoffTeam != "" {
		return []string{s.HandoffTeam}
	}
	seen := map[string]bool{}
	var out []string
	for _, t := range s.Teams {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	if s.DefaultTeam != "" && !seen[s.DefaultTeam] {
		out = append(out, s.DefaultTeam)
	}
	return out
}

// SettingsOf derives the RepoSettings of a repository's configuration.
func SettingsOf(cfg config.Config, lt core.Config) RepoSettings {
	s := RepoSettings{LeadTime: lt, DefaultTeam: cfg.Ownership.DefaultTeam}
	for name, svc := range cfg.Ownership.Services {
		if svc.Team != "" {
			if s.Teams == nil {
				s.Teams = map[string]string{}
			}
			s.Teams[name] = svc.Team
		}
	}
	return s
}

func settingsKey(repo string) string { return "leadtime:settings:" + strings.ToLower(repo) }

// settingsCache spares a memo write per event when nothing changed.
type settingsCache struct {
	mu   sync.Mutex
	last map[string]string
	// handoffs holds each repository's handoff team as last read
	// (cachedHandoffTeam).
	handoffs map[string]handoffSeen
}

// remember stores s for repo in memo, unless it is what was stored last.
func (c *settingsCache) remember(ctx context.Context, memo ghwrite.Memo, repo string, s RepoSettings) error {
	if memo == nil {
		return nil
	}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	c.mu.Lock()
	same := c.last[repo] == string(b)
	c.mu.Unlock()
	if same {
		return nil
	}
	if err := memo.Put(ctx, settingsKey(repo), string(b)); err != nil {
		return fmt.Errorf("remember the lead-time settings of %s: %w", repo, err)
	}
	c.mu.Lock()
	if c.last == nil {
		c.last = map[string]string{}
	}
	c.last[repo] = string(b)
	c.mu.Unlock()
	return nil
}

// LoadSettings returns the settings remembered for repo, or the defaults.
func LoadSettings(ctx context.Context, memo ghwrite.Memo, repo string) (RepoSettings, error) {
	def := RepoSettings{LeadTime: core.DefaultConfig()}
	if memo == nil {
		return def, nil
	}
	v, ok, err := memo.Get(ctx, settingsKey(repo))
	if err != nil {
		return def, fmt.Errorf("read the lead-time settings of %s: %w", repo, err)
	}
	if !ok {
		return def, nil
	}
	s := RepoSettings{LeadTime: core.DefaultConfig()}
	if err := json.Unmarshal([]byte(v), &s); err != nil || s.LeadTime.Validate() != nil {
		return def, nil // written by another version: the defaults serve
	}
	return s, nil
}
