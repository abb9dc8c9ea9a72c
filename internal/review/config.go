package review

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Config is the review section of .github/tasuki.yml.
type Config struct {
	// RequireSecondReviewerFor lists what makes a plan risky.
	RequireSecondReviewerFor Triggers `yaml:"require_second_reviewer_for" json:"require_second_reviewer_for"`
	// Approvals is how many eligible approvals a risky plan needs.
	Approvals int `yaml:"approvals" json:"approvals"`
	// Approvers says who is eligible; empty means any reviewer with write
	// access (GitHub only lets those approve) other than the excluded.
	Approvers Approvers `yaml:"approvers" json:"approvers"`
	// ExcludeAuthor ignores the pull request author's approval (GitHub
	// already forbids self-approval; this also covers bots opening PRs
	// on someone's behalf).
	ExcludeAuthor bool `yaml:"exclude_author" json:"exclude_author"`
	// ExcludePushers ignores approvals from anyone who pushed commits to
	// the pull request: a co-author is not a second pair of eyes.
	ExcludePushers bool `yaml:"exclude_pushers" json:"exclude_pushers"`
}

// Triggers are the conditions that make a plan need a second reviewer. Any
// one match is enough.
type Triggers struct {
	// Actions are change actions that are risky wherever they happen:
	// create, update, delete, replace, read, forget, import, move.
	Actions []string `yaml:"actions" json:"actions"`
	// ResourceTypePatterns are regular expressions (RE2) matched against
	// the resource type of every change that is not a no-op or a read.
	ResourceTypePatterns []string `yaml:"resource_type_patterns" json:"resource_type_patterns"`
	// WorkspacePatterns match the workspace name of a plan with changes.
	WorkspacePatterns []string `yaml:"workspace_patterns" json:"workspace_patterns"`
	// DirectoryPatterns match the Terraform directory of a plan with changes.
	DirectoryPatterns []string `yaml:"directory_patterns" json:"directory_patterns"`
}

// Approvers names who may give the approvals a risky plan needs.
type Approvers struct {
	Teams      []string `yaml:"teams" json:"teams"`           // "org/slug"
	Users      []string `yaml:"users" json:"users"`           // logins
	Codeowners bool     `yaml:"codeowners" json:"codeowners"` // owners of the changed Terraform files
}

// DefaultConfig returns the review defaults: any delete or replace, any
// IAM, security group or database type, any production workspace or
// directory needs one approval from someone other than the author and the
// pushers.
func DefaultConfig() Config {
	return Config{
		RequireSecondReviewerFor: Triggers{
			Actions:              []string{"delete", "replace"},
			ResourceTypePatterns: []string{`(?i)iam`, `(?i)security_group`, `(?i)(^|_)(db|rds|sql|database)`},
			WorkspacePatterns:    []string{`(?i)prod`},
			DirectoryPatterns:    []string{`(?i)prod`},
		},
		Approvals:      1,
		ExcludeAuthor:  true,
		ExcludePushers: true,
	}
}

var validActions = map[string]bool{
	"create": true, "update": true, "delete": true, "replace": true, "read": true,
	"forget": true, "import": true, "move": true,
}

// Validate reports every problem of c in one error, naming the yaml key.
func (c Config) Validate() error {
	var errs []error
	for i, a := range c.RequireSecondReviewerFor.Actions {
		if !validActions[a] {
			errs = append(errs, fmt.Errorf("review.require_second_reviewer_for.actions[%d]: unknown action %q (want one of create, update, delete, replace, read, forget, import, move)", i, a))
		}
	}
	for _, f := range []struct {
		key  string
		pats []string
	}{
		{"resource_type_patterns", c.RequireSecondReviewerFor.ResourceTypePatterns},
		{"workspace_patterns", c.RequireSecondReviewerFor.WorkspacePatterns},
		{"directory_patterns", c.RequireSecondReviewerFor.DirectoryPatterns},
	} {
		for i, p := range f.pats {
			if _, err := regexp.Compile(p); err != nil {
				errs = append(errs, fmt.Errorf("review.require_second_reviewer_for.%s[%d]: %w", f.key, i, err))
			}
		}
	}
	if c.Approvals < 0 {
		errs = append(errs, fmt.Errorf("review.approvals: %d is negative", c.Approvals))
	}
	for i, t := range c.Approvers.Teams {
		org, slug, ok := strings.Cut(strings.TrimPrefix(t, "@"), "/")
		if !ok || org == "" || slug == "" || strings.Contains(slug, "/") {
			errs = append(errs, fmt.Errorf("review.approvers.teams[%d]: %q is not org/team-slug", i, t))
		}
	}
	for i, u := range c.Approvers.Users {
		if strings.TrimPrefix(u, "@") == "" || strings.ContainsAny(u, " /") {
			errs = append(errs, fmt.Errorf("review.approvers.users[%d]: %q is not a GitHub login", i, u))
		}
	}
	return errors.Join(errs...)
}

// policy is a Config with its patterns compiled.
type policy struct {
	typeCache  map[string]*regexp.Regexp // type -> first matching pattern (nil: none)
	actions    map[string]bool
	types      []*regexp.Regexp
	workspaces []*regexp.Regexp
	dirs       []*regexp.Regexp
}

// compile compiles c's patterns, skipping invalid ones: Validate reports
// them when the configuration is loaded; Summarize must still work.
func (c Config) compile() policy {
	p := policy{actions: map[string]bool{}, typeCache: map[string]*regexp.Regexp{}}
	for _, a := range c.RequireSecondReviewerFor.Actions {
		p.actions[a] = true
	}
	comp := func(ss []string) []*regexp.Regexp {
		var out []*regexp.Regexp
		for _, s := range ss {
			if re, err := regexp.Compile(s); err == nil {
				out = append(out, re)
			}
		}
		return out
	}
	p.types = comp(c.RequireSecondReviewerFor.ResourceTypePatterns)
	p.workspaces = comp(c.RequireSecondReviewerFor.WorkspacePatterns)
	p.dirs = comp(c.RequireSecondReviewerFor.DirectoryPatterns)
	return p
}

func matchAny(res []*regexp.Regexp, s string) *regexp.Regexp {
	for _, re := range res {
		if re.MatchString(s) {
			return re
		}
	}
	return nil
}

// matchType matches a resource type against the type patterns, once per
// type: a plan has thousands of resources of a few types.
func (p policy) matchType(typ string) *regexp.Regexp {
	if re, ok := p.typeCache[typ]; ok {
		return re
	}
	re := matchAny(p.types, typ)
	p.typeCache[typ] = re
	return re
}
