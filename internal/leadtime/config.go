package leadtime

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"time"
)

// Config is the leadtime section of .github/tasuki.yml: the definitions the
// metrics are computed with. docs/metrics.md explains each choice.
type Config struct {
	// ProductionEnvironments are the deployment environments that count as
	// production (compared case-insensitively).
	ProductionEnvironments []string `yaml:"production_environments" json:"production_environments"`
	// DeploySources lists where deployments are learnt from, most trusted
	// first: deployment_status, workflow_run, release, merge. For each
	// repository (and service) the first source that has any deployment is
	// used and the others are ignored, so one change is never counted twice.
	// "merge" treats every merge into the default branch as a deployment
	// (deploy stage zero), for teams that deploy on merge without telling
	// GitHub.
	DeploySources []Source `yaml:"deploy_sources" json:"deploy_sources"`
	// DeployWorkflows names the workflows whose successful runs on the
	// default branch are deployments (source workflow_run).
	DeployWorkflows []string `yaml:"deploy_workflows" json:"deploy_workflows"`
	// Jobs classifies CI jobs by name (regular expressions, RE2 syntax) into
	// test, build and deploy; the first kind that matches wins, in that order.
	Jobs JobPatterns `yaml:"jobs" json:"jobs"`
	// Bots are logins whose reviews never count as a pickup, in addition to
	// accounts GitHub marks as bots and logins ending in "[bot]".
	Bots []string `yaml:"bots" json:"bots"`
	// Baseline bounds what a repository's first known deployment shipped:
	// either a duration ("336h": pull requests merged at most this long
	// before that deployment) or a date ("2026-01-31" or RFC 3339: pull
	// requests merged at or after it). Without it the first deployment would
	// claim the whole history of the repository.
	Baseline string `yaml:"baseline" json:"baseline"`
	// IncidentWindow is how long after a production deployment an incident
	// that names no cause is blamed on it ("24h"); "0s" blames only
	// incidents that name their cause.
	IncidentWindow string `yaml:"incident_window" json:"incident_window"`
	// Timezone is the IANA zone in which weeks (Monday to Sunday) and months
	// are cut.
	Timezone string `yaml:"timezone" json:"timezone"`
	// ReportYear selects the performance levels of that year's Accelerate
	// State of DevOps report (2023 or 2024).
	ReportYear int `yaml:"report_year" json:"report_year"`
	// Services splits a monorepo: a change belongs to the services whose
	// paths it touches, a deployment to the service whose workflow or
	// environment it names. Teams come from the ownership section.
	Services map[string]Service `yaml:"services" json:"services"`
	// HotfixRef is a regular expression matched against a deployment's ref
	// or a pull request's head branch to recognise a hotfix.
	HotfixRef string `yaml:"hotfix_ref" json:"hotfix_ref"`
	// HotfixLabels are pull request labels that mark a hotfix.
	HotfixLabels []string `yaml:"hotfix_labels" json:"hotfix_labels"`
	// RevertTitle is a regular expression matched against pull request
	// titles to recognise a revert (GitHub's revert button writes
	// `Revert "title"`), besides the recorded Reverts number.
	RevertTitle string `yaml:"revert_title" json:"revert_title"`
	// ReportRepo is where the weekly delivery report issues of the
	// organisation go: a repository of the organisation, "NAME" or
	// "OWNER/NAME"; empty for no report. Read from the organisation's
	// .github repository only, like the week's time zone of the report.
	ReportRepo string `yaml:"report_repo" json:"report_repo,omitempty"`
}

// JobPatterns are the name patterns of Config.Jobs.
type JobPatterns struct {
	// Test matches test, lint and check jobs.
	Test string `yaml:"test" json:"test"`
	// Build matches build and packaging jobs.
	Build string `yaml:"build" json:"build"`
	// Deploy matches deployment and release jobs.
	Deploy string `yaml:"deploy" json:"deploy"`
}

// Service is one service of Config.Services.
type Service struct {
	// Paths are path patterns: a plain path matches itself and everything
	// below it ("services/api"); a pattern with *, ? or [ is matched with Go's
	// path.Match against the path and each of its parent directories
	// ("services/*/api").
	Paths []string `yaml:"paths" json:"paths"`
	// Workflows are the deploy workflows that deploy this service.
	Workflows []string `yaml:"workflows" json:"workflows"`
	// Environments are the deployment environments of this service
	// ("production-api").
	Environments []string `yaml:"environments" json:"environments"`
}

// Report years with level tables in levels.json.
const (
	minReportYear = 2023
	maxReportYear = 2024
)

// DefaultConfig returns the leadtime defaults.
func DefaultConfig() Config {
	return Config{
		ProductionEnvironments: []string{"production", "prod"},
		DeploySources:          []Source{SourceDeploymentStatus, SourceWorkflowRun, SourceRelease, SourceMerge},
		Jobs: JobPatterns{
			Test:   `(?i)test|lint|check|vet|spec|e2e`,
			Build:  `(?i)build|compile|package|docker|image`,
			Deploy: `(?i)deploy|release|publish|rollout`,
		},
		Baseline:       "336h",
		IncidentWindow: "24h",
		Timezone:       "UTC",
		ReportYear:     2024,
		HotfixRef:      `(?i)^(refs/heads/)?(hotfix|hot-fix)[/_-]`,
		HotfixLabels:   []string{"hotfix"},
		RevertTitle:    `^Revert "`,
	}
}

var sources = []Source{SourceDeploymentStatus, SourceWorkflowRun, SourceRelease, SourceMerge}

// Validate reports every problem of c at once, each starting with the key
// it is about ("leadtime.timezone: ..."), which the config loader uses to
// point at the line.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("leadtime.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	for i, e := range c.ProductionEnvironments {
		if strings.TrimSpace(e) == "" {
			bad(fmt.Sprintf("production_environments[%d]", i), "empty environment name")
		}
	}
	if len(c.DeploySources) == 0 {
		bad("deploy_sources", "at least one source is needed (deployment_status, workflow_run, release, merge)")
	}
	seen := map[Source]bool{}
	for i, s := range c.DeploySources {
		switch {
		case !slices.Contains(sources, s):
			bad(fmt.Sprintf("deploy_sources[%d]", i), "%q is not one of deployment_status, workflow_run, release, merge", string(s))
		case seen[s]:
			bad(fmt.Sprintf("deploy_sources[%d]", i), "%q listed twice", string(s))
		}
		seen[s] = true
	}
	for i, w := range c.DeployWorkflows {
		if strings.TrimSpace(w) == "" {
			bad(fmt.Sprintf("deploy_workflows[%d]", i), "empty workflow name")
		}
	}
	for _, p := range []struct{ key, re string }{{"jobs.test", c.Jobs.Test}, {"jobs.build", c.Jobs.Build}, {"jobs.deploy", c.Jobs.Deploy}, {"hotfix_ref", c.HotfixRef}, {"revert_title", c.RevertTitle}} {
		if _, err := regexp.Compile(p.re); err != nil {
			bad(p.key, "not a regular expression: %v", reErr(err))
		}
	}
	for i, b := range c.Bots {
		if strings.TrimSpace(b) == "" {
			bad(fmt.Sprintf("bots[%d]", i), "empty login")
		}
	}
	if _, _, err := parseBaseline(c.Baseline); err != nil {
		bad("baseline", "%v", err)
	}
	if d, err := time.ParseDuration(c.IncidentWindow); err != nil || d < 0 {
		bad("incident_window", "%q is not a duration of zero or more (for example 24h)", c.IncidentWindow)
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil || c.Timezone == "" || c.Timezone == "Local" {
		bad("timezone", "%q is not an IANA time zone (for example Europe/Berlin)", c.Timezone)
	}
	if c.ReportYear < minReportYear || c.ReportYear > maxReportYear {
		bad("report_year", "%d has no performance levels here; use %d to %d", c.ReportYear, minReportYear, maxReportYear)
	}
	for _, name := range sortedKeys(c.Services) {
		s := c.Services[name]
		if strings.TrimSpace(name) == "" {
			bad("services", "empty service name")
		}
		if len(s.Paths) == 0 && len(s.Workflows) == 0 && len(s.Environments) == 0 {
			bad("services."+name, "name paths, workflows or environments")
		}
		for i, p := range s.Paths {
			if err := checkPattern(p); err != nil {
				bad(fmt.Sprintf("services.%s.paths[%d]", name, i), "%v", err)
			}
		}
	}
	for i, l := range c.HotfixLabels {
		if strings.TrimSpace(l) == "" {
			bad(fmt.Sprintf("hotfix_labels[%d]", i), "empty label")
		}
	}
	if c.ReportRepo != "" && !reportRepoRE.MatchString(c.ReportRepo) {
		bad("report_repo", "%q is not a repository: use NAME or OWNER/NAME, e.g. engineering-metrics", c.ReportRepo)
	}
	return errors.Join(errs...)
}

// reportRepoRE is a repository as GitHub allows its names: "NAME" or
// "OWNER/NAME".
var reportRepoRE = regexp.MustCompile(`^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/)?[A-Za-z0-9._-]{1,100}$`)

// ReportRepoOf returns the repository (owner, name) of ReportRepo for
// organisation org; ok is false when none is set or it names another
// owner.
func (c Config) ReportRepoOf(org string) (owner, name string, ok bool) {
	if c.ReportRepo == "" {
		return "", "", false
	}
	owner, name = org, c.ReportRepo
	if o, n, found := strings.Cut(c.ReportRepo, "/"); found {
		owner, name = o, n
	}
	return owner, name, strings.EqualFold(owner, org) && name != "." && name != ".."
}

// reErr is the regexp error without the expression it quotes, which can be
// long.
func reErr(err error) string {
	var re *syntax.Error
	if errors.As(err, &re) {
		return string(re.Code)
	}
	return err.Error()
}

// parseBaseline reads Config.Baseline: a window before the first deployment
// or an absolute instant (exactly one of the two is set).
func parseBaseline(s string) (window time.Duration, at time.Time, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, time.Time{}, errors.New(`empty; give a duration ("336h") or a date ("2026-01-31")`)
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return 0, time.Time{}, fmt.Errorf("%q is negative", s)
		}
		return d, time.Time{}, nil
	}
	for _, layout := range []string{time.DateOnly, time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return 0, t.UTC(), nil
		}
	}
	return 0, time.Time{}, fmt.Errorf(`%q is neither a duration ("336h") nor a date ("2026-01-31")`, s)
}

// checkPattern reports whether p is a usable service path pattern.
func checkPattern(p string) error {
	p = strings.Trim(strings.TrimSpace(p), "/")
	if p == "" {
		return errors.New("empty path pattern")
	}
	if _, err := path.Match(p, ""); err != nil {
		return fmt.Errorf("bad path pattern %q", p)
	}
	return nil
}

// matchPath reports whether file (a repository path) is matched by pattern p
// (see Service.Paths).
func matchPath(p, file string) bool {
	p = strings.Trim(p, "/")
	file = strings.TrimPrefix(file, "/")
	if !strings.ContainsAny(p, "*?[\\") {
		return file == p || strings.HasPrefix(file, p) && file[len(p)] == '/'
	}
	for cur := file; ; {
		if ok, _ := path.Match(p, cur); ok {
			return true
		}
		i := strings.LastIndexByte(cur, '/')
		if i < 0 {
			return false
		}
		cur = cur[:i]
	}
}

// Location returns the configured time zone, UTC when it is invalid
// (Validate reports that).
func (c Config) Location() *time.Location {
	if c.Timezone == "" || c.Timezone == "Local" {
		return time.UTC
	}
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
