// Package ownership is the shared ownership model: which service a
// repository (or a change, or an incident) belongs to, which team owns that
// service, who that team's SREs are and which team is the core SRE team that
// hands production ownership over. It is pure: the shell
// (internal/handler/ownership.go) reads CODEOWNERS, catalog-info.yaml and team
// memberships from GitHub and passes them in as Facts.
package ownership

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Config is the ownership section of .github/tasuki.yml.
type Config struct {
	// Teams describes the product teams by GitHub team slug: the logins of
	// their SREs and the slug of the GitHub team holding those SREs.
	Teams map[string]Team `yaml:"teams" json:"teams"`
	// CoreSRETeam is the slug of the organisation team of the core SRE team,
	// the one handing production ownership over to the product teams.
	CoreSRETeam string `yaml:"core_sre_team" json:"core_sre_team"`
	// Services maps a service name to the repositories and paths that make it
	// up and to the team owning it.
	Services map[string]Service `yaml:"services" json:"services"`
	// DefaultTeam owns whatever nothing else names an owner for.
	DefaultTeam string `yaml:"default_team" json:"default_team"`
	// ServiceLabelPrefix marks labels naming a service ("service:payments")
	// on pull requests and incidents.
	ServiceLabelPrefix string `yaml:"service_label_prefix" json:"service_label_prefix"`
	// Handoff, in a repository's file, starts the handoff of the repository
	// to a product team (internal/onboarding).
	Handoff *HandoffConfig `yaml:"handoff,omitempty" json:"handoff,omitempty"`
}

// Team is one product team of Config.Teams.
type Team struct {
	// SREs are the GitHub logins of the team's SREs.
	SREs []string `yaml:"sres" json:"sres"`
	// SRETeam is the slug of a GitHub team holding the team's SREs, for
	// organisations that keep them in a team rather than listing logins.
	SRETeam string `yaml:"sre_team" json:"sre_team"`
}

// Service is one service of Config.Services.
type Service struct {
	// Repos are the repositories of the service, "name" or "owner/name".
	Repos []string `yaml:"repos" json:"repos"`
	// Paths restrict the service to these path prefixes or globs within its
	// repositories (monorepos); empty means the whole repository.
	Paths []string `yaml:"paths" json:"paths"`
	// Team is the slug of the owning team.
	Team string `yaml:"team" json:"team"`
}

// DefaultConfig returns the ownership defaults.
func DefaultConfig() Config {
	return Config{ServiceLabelPrefix: "service:"}
}

// slugRE is what GitHub accepts as a team slug (and, loosely, a login).
var slugRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$`)

// Validate reports every problem of c at once. Each error starts with the
// key it is about ("ownership.services.api.team: ..."), which the config
// loader uses to point at the line.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("ownership.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	slug := func(key, v string, required bool) {
		switch {
		case v == "" && required:
			bad(key, "a team slug is needed")
		case v != "" && !slugRE.MatchString(strings.TrimPrefix(v, "@")):
			bad(key, "%q is not a team slug", v)
		}
	}
	slug("core_sre_team", c.CoreSRETeam, false)
	slug("default_team", c.DefaultTeam, false)
	if strings.TrimSpace(c.ServiceLabelPrefix) == "" {
		bad("service_label_prefix", "must not be empty")
	}
	c.Handoff.validate(bad)
	for _, name := range sortedKeys(c.Teams) {
		t := c.Teams[name]
		slug("teams."+name, name, true)
		slug("teams."+name+".sre_team", t.SRETeam, false)
		for i, l := range t.SREs {
			if !slugRE.MatchString(strings.TrimPrefix(l, "@")) {
				bad(fmt.Sprintf("teams.%s.sres[%d]", name, i), "%q is not a GitHub login", l)
			}
		}
	}
	for _, name := range sortedKeys(c.Services) {
		s := c.Services[name]
		if strings.TrimSpace(name) == "" {
			bad("services", "a service needs a name")
		}
		slug("services."+name+".team", s.Team, true)
		for i, r := range s.Repos {
			if r == "" || strings.Count(r, "/") > 1 || strings.HasPrefix(r, "/") || strings.HasSuffix(r, "/") {
				bad(fmt.Sprintf("services.%s.repos[%d]", name, i), "%q is not \"name\" or \"owner/name\"", r)
			}
		}
		for i, p := range s.Paths {
			if strings.TrimSpace(p) == "" {
				bad(fmt.Sprintf("services.%s.paths[%d]", name, i), "empty path")
			} else if err := validatePath(p); err != nil {
				bad(fmt.Sprintf("services.%s.paths[%d]", name, i), "%v", err)
			}
		}
	}
	return errors.Join(errs...)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
