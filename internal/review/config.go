package review

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
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
	// Names give patterns the plain words the verdict uses for them
	// (pattern: name, e.g. "(?i)kms": encryption keys). The default
	// patterns are named already (IAM, security group, database,
	// production); an unnamed pattern is named by its words when it is a
	// list of words (`(?i)(kms|acm)` is "kms or acm"), else by the pattern.
	Names map[string]string `yaml:"names" json:"names"`
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
	pats := map[string]bool{}
	for _, ps := range [][]string{c.RequireSecondReviewerFor.ResourceTypePatterns, c.RequireSecondReviewerFor.WorkspacePatterns, c.RequireSecondReviewerFor.DirectoryPatterns} {
		for _, p := range ps {
			pats[p] = true
		}
	}
	for _, p := range sortedKeys(c.RequireSecondReviewerFor.Names) {
		name := c.RequireSecondReviewerFor.Names[p]
		switch {
		case !pats[p]:
			errs = append(errs, fmt.Errorf("review.require_second_reviewer_for.names: %q is not one of the patterns", p))
		case strings.TrimSpace(name) == "" || len(name) > maxRuleName || strings.ContainsAny(name, ",\r\n`"):
			errs = append(errs, fmt.Errorf("review.require_second_reviewer_for.names[%q]: %q is not a name (want words, at most %d bytes, without commas or backquotes)", p, name, maxRuleName))
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

// maxRuleName bounds a rule's name: it is repeated in the verdict.
const maxRuleName = 40

// defaultNames name the default patterns. They apply wherever the
// patterns appear, so a configuration written before rules had names
// still reads "database", not the pattern.
var defaultNames = map[string]string{
	`(?i)iam`:                        "IAM",
	`(?i)security_group`:             "security group",
	`(?i)(^|_)(db|rds|sql|database)`: "database",
	`(?i)prod`:                       "production",
}

// ruleName is the name the verdict gives pattern pat: the configured one,
// the default one, or pat in words.
func (c Config) ruleName(pat string) string {
	if n := strings.TrimSpace(c.RequireSecondReviewerFor.Names[pat]); n != "" {
		return n
	}
	if n, ok := defaultNames[pat]; ok {
		return n
	}
	return patternWords(pat)
}

// wordList matches a pattern that is one word or a group of alternative
// words, once flags and anchors are taken off.
var wordList = regexp.MustCompile(`^\(?([A-Za-z0-9]+(?:[_ -][A-Za-z0-9]+)*(?:\|[A-Za-z0-9]+(?:[_ -][A-Za-z0-9]+)*)*)\)?$`)

// patternWords names an unnamed pattern: `(?i)(^|_)(kms|acm)` is
// "kms or acm", `(?i)secret` is "secret"; anything else is named
// "pattern PAT".
func patternWords(pat string) string {
	w := strings.TrimPrefix(pat, "(?i)")
	for _, a := range []string{"(^|_)", "(_|$)", "^", "$", `\b`} {
		w = strings.ReplaceAll(w, a, "")
	}
	m := wordList.FindStringSubmatch(w)
	if m == nil || len(m[1]) > maxRuleName {
		return "pattern " + pat
	}
	words := strings.Split(strings.ReplaceAll(m[1], "_", " "), "|")
	if len(words) == 1 {
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// rule is a compiled pattern and its name.
type rule struct {
	re   *regexp.Regexp
	name string
}

// policy is a Config with its patterns compiled.
type policy struct {
	typeCache  map[string]*rule // type -> first matching rule (nil: none)
	actions    map[string]bool
	types      []*rule
	workspaces []*rule
	dirs       []*rule
}

// compile compiles c's patterns, skipping invalid ones: Validate reports
// them when the configuration is loaded; Summarize must still work.
func (c Config) compile() policy {
	p := policy{actions: map[string]bool{}, typeCache: map[string]*rule{}}
	for _, a := range c.RequireSecondReviewerFor.Actions {
		p.actions[a] = true
	}
	comp := func(ss []string) []*rule {
		var out []*rule
		for _, s := range ss {
			if re, err := regexp.Compile(s); err == nil {
				out = append(out, &rule{re: re, name: c.ruleName(s)})
			}
		}
		return out
	}
	p.types = comp(c.RequireSecondReviewerFor.ResourceTypePatterns)
	p.workspaces = comp(c.RequireSecondReviewerFor.WorkspacePatterns)
	p.dirs = comp(c.RequireSecondReviewerFor.DirectoryPatterns)
	return p
}

func matchAny(rs []*rule, s string) *rule {
	for _, r := range rs {
		if r.re.MatchString(s) {
			return r
		}
	}
	return nil
}

// matchType matches a resource type against the type patterns, once per
// type: a plan has thousands of resources of a few types.
func (p policy) matchType(typ string) *rule {
	if re, ok := p.typeCache[typ]; ok {
		return re
	}
	re := matchAny(p.types, typ)
	p.typeCache[typ] = re
	return re
}
