package onboarding

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
	"github.com/hmarr/codeowners"

	"github.com/tasuki-sre/tasuki/internal/ownership"
	"github.com/tasuki-sre/tasuki/internal/yamlsafe"
)

// vctx is what a verifier knows besides the facts: the handoff's teams.
type vctx struct {
	Org      string
	Team     string // incoming team slug
	CoreTeam string // core SRE team slug
	Now      time.Time
}

// result is one verifier's finding.
type result struct {
	Status Status
	Reason string
}

func pass(format string, args ...any) result {
	return result{StatusPassed, fmt.Sprintf(format, args...)}
}
func fail(format string, args ...any) result {
	return result{StatusFailed, fmt.Sprintf(format, args...)}
}
func pending(format string, args ...any) result {
	return result{StatusPending, fmt.Sprintf(format, args...)}
}

// verifier is one automatic check: its parameters, the facts it reads and
// the check itself, a named Go function over RepoFacts.
type verifier struct {
	// params returns a pointer to a fresh parameters struct with defaults.
	params func() any
	facts  []Fact
	// files lists the paths of tree to read for p (nil: only exact files).
	files func(p any, tree []string) []string
	// exact are files read when present.
	exact []string
	run   func(p any, f RepoFacts, v vctx) result
}

func (v verifier) check(raw map[string]any) error {
	_, err := v.decode(raw)
	return err
}

// decode reads raw (as goccy decoded it) into the verifier's parameters
// struct, refusing unknown keys and wrong types.
func (v verifier) decode(raw map[string]any) (any, error) {
	p := v.params()
	if p == nil {
		if len(raw) > 0 {
			return nil, errors.New("takes no parameters")
		}
		return nil, nil
	}
	if len(raw) == 0 {
		return p, validateParams(p)
	}
	js, err := json.Marshal(raw)
	if err != nil {
		return nil, fmt.Errorf("bad parameters: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(p); err != nil {
		return nil, fmt.Errorf("bad parameters: %v", strings.TrimPrefix(err.Error(), "json: "))
	}
	return p, validateParams(p)
}

type validator interface{ validate() error }

func validateParams(p any) error {
	if v, ok := p.(validator); ok {
		return v.validate()
	}
	return nil
}

var verifiers = map[string]verifier{
	"file_exists": {
		params: func() any { return &fileExistsParams{} },
		facts:  []Fact{FactTree},
		run:    func(p any, f RepoFacts, _ vctx) result { return fileExists(*p.(*fileExistsParams), f) },
	},
	"catalog_entry": {
		params: func() any { return &catalogEntryParams{Require: []string{"owner", "lifecycle", "system"}} },
		facts:  []Fact{FactFiles},
		exact:  []string{CatalogPath},
		run:    func(p any, f RepoFacts, _ vctx) result { return catalogEntry(*p.(*catalogEntryParams), f) },
	},
	"catalog_annotation": {
		params: func() any {
			return &catalogAnnotationParams{
				AnyOf: []string{"pagerduty.com/service-id", "pagerduty.com/integration-key", "opsgenie.com/component-selector",
					"opsgenie.com/team", "splunk.com/on-call-routing-key", "grafana.com/oncall-schedule", "incident.io/schedule"},
				Links: []string{"on-call", "oncall", "rotation"},
			}
		},
		facts: []Fact{FactFiles},
		exact: []string{CatalogPath},
		run:   func(p any, f RepoFacts, _ vctx) result { return catalogAnnotation(*p.(*catalogAnnotationParams), f) },
	},
	"team_access": {
		params: func() any { return &teamAccessParams{MinPermission: "push", Visible: true} },
		facts:  []Fact{FactTeam},
		run:    func(p any, f RepoFacts, v vctx) result { return teamAccess(*p.(*teamAccessParams), f, v) },
	},
	"no_outside_admins": {
		params: func() any { return &noOutsideParams{MaxPermission: "triage"} },
		facts:  []Fact{FactCollaborators},
		run:    func(p any, f RepoFacts, _ vctx) result { return noOutsideAdmins(*p.(*noOutsideParams), f) },
	},
	"branch_protection": {
		params: func() any {
			return &branchProtectionParams{RequirePullRequest: true, MinApprovals: 1, CodeOwnerReview: true}
		},
		facts: []Fact{FactProtection},
		run:   func(p any, f RepoFacts, _ vctx) result { return branchProtection(*p.(*branchProtectionParams), f) },
	},
	"terraform_plan_review": {
		params: func() any { return &planReviewParams{Checks: []string{"tasuki/plan-review"}} },
		facts:  []Fact{FactTree, FactProtection},
		run:    func(p any, f RepoFacts, _ vctx) result { return terraformPlanReview(*p.(*planReviewParams), f) },
	},
	"slo_as_code": {
		params: func() any { return &sloParams{Paths: defaultSLOPaths} },
		facts:  []Fact{FactTree, FactFiles},
		files:  func(p any, tree []string) []string { return sloFirst(matching(tree, p.(*sloParams).Paths)) },
		run:    func(p any, f RepoFacts, _ vctx) result { return sloAsCode(*p.(*sloParams), f) },
	},
	"alerts_runbooks_resolve": {
		params: func() any { return &alertsParams{Paths: defaultAlertPaths} },
		facts:  []Fact{FactTree, FactFiles},
		files:  func(p any, tree []string) []string { return matching(tree, p.(*alertsParams).Paths) },
		run:    func(p any, f RepoFacts, _ vctx) result { return alertsRunbooksResolve(*p.(*alertsParams), f) },
	},
	"workflow_success_within": {
		params: func() any { return &workflowParams{} },
		facts:  []Fact{FactWorkflows},
		run:    func(p any, f RepoFacts, v vctx) result { return workflowSuccessWithin(*p.(*workflowParams), f, v.Now) },
	},
	"codeowners_owner_is": {
		params: func() any { return &ownerParams{Owner: "team"} },
		facts:  []Fact{FactFiles},
		exact:  CODEOWNERSPaths,
		run:    func(p any, f RepoFacts, v vctx) result { return codeownersOwnerIs(*p.(*ownerParams), f, v) },
	},
	"catalog_owner_is": {
		params: func() any { return &ownerParams{Owner: "team"} },
		facts:  []Fact{FactFiles},
		exact:  []string{CatalogPath},
		run:    func(p any, f RepoFacts, v vctx) result { return catalogOwnerIs(*p.(*ownerParams), f, v) },
	},
	"codeowners_valid": {
		params: func() any { return nil },
		facts:  []Fact{FactFiles, FactCODEOWNERSErrors},
		exact:  CODEOWNERSPaths,
		run:    func(_ any, f RepoFacts, _ vctx) result { return codeownersValid(f) },
	},
}

func verifierNames() []string {
	names := make([]string, 0, len(verifiers))
	for n := range verifiers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// runVerifier runs item it's verifier over f: "not yet verifiable" when a
// fact it reads could not be read.
func runVerifier(it Item, f RepoFacts, v vctx) result {
	vf, ok := verifiers[it.Verifier]
	if !ok {
		return pending("unknown verifier %s", it.Verifier)
	}
	for _, fact := range vf.facts {
		if why, missing := f.Unavailable[fact]; missing {
			return pending("not yet verifiable: %s unavailable (%s)", fact, oneLine(why, 80))
		}
	}
	p, err := vf.decode(it.Params)
	if err != nil {
		return pending("bad parameters: %v", err)
	}
	return vf.run(p, f, v)
}

// --- file_exists -----------------------------------------------------------

type fileExistsParams struct {
	AnyOf []string `json:"any_of"`
	AllOf []string `json:"all_of"`
}

func (p *fileExistsParams) validate() error {
	if len(p.AnyOf) == 0 && len(p.AllOf) == 0 {
		return errors.New("needs any_of or all_of: a list of path patterns")
	}
	return validGlobs(append(slices.Clone(p.AnyOf), p.AllOf...))
}

func fileExists(p fileExistsParams, f RepoFacts) result {
	if len(f.Paths) == 0 {
		return pending("not yet verifiable: the repository tree was not read")
	}
	for _, g := range p.AllOf {
		if m := matching(f.Paths, []string{g}); len(m) == 0 {
			return fail("no file matches %s", g)
		}
	}
	if len(p.AnyOf) > 0 {
		m := matching(f.Paths, p.AnyOf)
		if len(m) == 0 {
			return fail("no file matches %s", strings.Join(p.AnyOf, ", "))
		}
		return pass("%s present", m[0])
	}
	return pass("%s present", strings.Join(p.AllOf, ", "))
}

// --- catalog ---------------------------------------------------------------

// catalogDoc is what the verifiers read of a Backstage Component.
type catalogDoc struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name        string            `yaml:"name"`
		Annotations map[string]string `yaml:"annotations"`
		Links       []struct {
			URL   string `yaml:"url"`
			Title string `yaml:"title"`
			Type  string `yaml:"type"`
		} `yaml:"links"`
	} `yaml:"metadata"`
	Spec struct {
		Type      string `yaml:"type"`
		Owner     string `yaml:"owner"`
		Lifecycle string `yaml:"lifecycle"`
		System    string `yaml:"system"`
	} `yaml:"spec"`
}

// readCatalog parses catalog-info.yaml from f; found is false when absent.
func readCatalog(f RepoFacts) (d catalogDoc, found bool, err error) {
	b, ok := f.Files[CatalogPath]
	if !ok {
		return d, false, nil
	}
	file, err := yamlsafe.Parse(CatalogPath, b, yamlsafe.Limits{MaxBytes: ownership.MaxCatalogSize})
	if err != nil {
		return d, true, err
	}
	var docs []catalogDoc
	for _, doc := range file.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		var x catalogDoc
		if err := decodeLoose(doc.Body, &x); err != nil {
			return d, true, yamlErr(CatalogPath, doc.Body, err)
		}
		docs = append(docs, x)
	}
	for _, x := range docs {
		if strings.EqualFold(x.Kind, "Component") {
			return x, true, nil
		}
	}
	return d, true, errors.New("catalog-info.yaml has no Component")
}

type catalogEntryParams struct {
	Require []string `json:"require"`
}

func (p *catalogEntryParams) validate() error {
	for _, r := range p.Require {
		switch r {
		case "owner", "lifecycle", "system", "type":
		default:
			return fmt.Errorf("require: %q is not owner, lifecycle, system or type", r)
		}
	}
	return nil
}

func catalogEntry(p catalogEntryParams, f RepoFacts) result {
	d, found, err := readCatalog(f)
	switch {
	case !found:
		return fail("no %s", CatalogPath)
	case err != nil:
		return fail("%s", oneLine(err.Error(), 120))
	}
	var missing, have []string
	for _, r := range p.Require {
		v := map[string]string{"owner": d.Spec.Owner, "lifecycle": d.Spec.Lifecycle, "system": d.Spec.System, "type": d.Spec.Type}[r]
		if strings.TrimSpace(v) == "" {
			missing = append(missing, "spec."+r)
		} else {
			have = append(have, r+" "+oneLine(v, 40))
		}
	}
	if len(missing) > 0 {
		return fail("%s lacks %s", CatalogPath, strings.Join(missing, ", "))
	}
	return pass("%s: %s", CatalogPath, strings.Join(have, ", "))
}

type catalogAnnotationParams struct {
	AnyOf []string `json:"any_of"`
	Links []string `json:"links"`
}

func (p *catalogAnnotationParams) validate() error {
	if len(p.AnyOf) == 0 && len(p.Links) == 0 {
		return errors.New("needs any_of (annotations) or links (words in a link title)")
	}
	return nil
}

func catalogAnnotation(p catalogAnnotationParams, f RepoFacts) result {
	d, found, err := readCatalog(f)
	switch {
	case !found:
		return fail("no %s", CatalogPath)
	case err != nil:
		return fail("%s", oneLine(err.Error(), 120))
	}
	for _, a := range p.AnyOf {
		if strings.TrimSpace(d.Metadata.Annotations[a]) != "" {
			return pass("%s annotation %s", CatalogPath, a)
		}
	}
	for _, l := range d.Metadata.Links {
		text := strings.ToLower(l.Title + " " + l.Type)
		for _, w := range p.Links {
			if strings.Contains(text, strings.ToLower(w)) && l.URL != "" {
				return pass("%s links %q", CatalogPath, oneLine(l.Title, 40))
			}
		}
	}
	return fail("%s has none of the annotations %s nor a link titled %s", CatalogPath, strings.Join(p.AnyOf, ", "), strings.Join(p.Links, "/"))
}

// --- team and access -------------------------------------------------------

var permRank = map[string]int{"pull": 1, "read": 1, "triage": 2, "push": 3, "write": 3, "maintain": 4, "admin": 5}

type teamAccessParams struct {
	MinPermission string `json:"min_permission"`
	Visible       bool   `json:"visible"`
}

func (p *teamAccessParams) validate() error {
	if permRank[p.MinPermission] == 0 {
		return fmt.Errorf("min_permission %q is not pull, triage, push, maintain or admin", p.MinPermission)
	}
	return nil
}

func teamAccess(p teamAccessParams, f RepoFacts, v vctx) result {
	t := f.Team
	switch {
	case t.Slug == "":
		return pending("not yet verifiable: the team was not read")
	case !t.Exists:
		return fail("team @%s/%s does not exist", v.Org, t.Slug)
	case p.Visible && t.Privacy == "secret":
		return fail("team @%s/%s is secret; make it visible", v.Org, t.Slug)
	case permRank[t.Permission] < permRank[p.MinPermission]:
		have := t.Permission
		if have == "" {
			have = "no access"
		}
		return fail("team @%s/%s has %s on the repository, needs %s", v.Org, t.Slug, have, p.MinPermission)
	}
	return pass("team @%s/%s exists with %s", v.Org, t.Slug, t.Permission)
}

type noOutsideParams struct {
	MaxPermission string `json:"max_permission"`
}

func (p *noOutsideParams) validate() error {
	if permRank[p.MaxPermission] == 0 {
		return fmt.Errorf("max_permission %q is not pull, triage, push, maintain or admin", p.MaxPermission)
	}
	return nil
}

func noOutsideAdmins(p noOutsideParams, f RepoFacts) result {
	var over []string
	for _, c := range f.OutsideCollaborators {
		if permRank[c.Permission] > permRank[p.MaxPermission] {
			over = append(over, c.Login+" ("+c.Permission+")")
		}
	}
	sort.Strings(over)
	if len(over) > 0 {
		more := ""
		if len(over) > 3 {
			more = fmt.Sprintf(" and %d more", len(over)-3)
			over = over[:3]
		}
		return fail("outside collaborators with more than %s: %s%s", p.MaxPermission, strings.Join(over, ", "), more)
	}
	return pass("no outside collaborator has more than %s", p.MaxPermission)
}

// --- branch protection -----------------------------------------------------

type branchProtectionParams struct {
	RequirePullRequest bool     `json:"require_pull_request"`
	MinApprovals       int      `json:"min_approvals"`
	CodeOwnerReview    bool     `json:"code_owner_review"`
	RequiredChecks     []string `json:"required_checks"`
}

func (p *branchProtectionParams) validate() error {
	if p.MinApprovals < 0 || p.MinApprovals > 6 {
		return errors.New("min_approvals must be 0 to 6")
	}
	return nil
}

func branchProtection(p branchProtectionParams, f RepoFacts) result {
	pr := f.Protection
	var miss []string
	if !pr.Protected {
		return fail("the default branch is not protected")
	}
	if p.RequirePullRequest && !pr.RequirePullRequest {
		miss = append(miss, "pull requests are not required")
	}
	if pr.RequiredApprovals < p.MinApprovals {
		miss = append(miss, fmt.Sprintf("%d approvals required, want %d", pr.RequiredApprovals, p.MinApprovals))
	}
	if p.CodeOwnerReview && !pr.CodeOwnerReview {
		miss = append(miss, "code owner review is not required")
	}
	for _, c := range p.RequiredChecks {
		if !slices.Contains(pr.RequiredChecks, c) {
			miss = append(miss, "check "+c+" is not required")
		}
	}
	if len(miss) > 0 {
		return fail("%s", strings.Join(miss, "; "))
	}
	return pass("pull requests with %d approval(s)%s required", pr.RequiredApprovals, map[bool]string{true: " and code owner review", false: ""}[pr.CodeOwnerReview])
}

type planReviewParams struct {
	// Checks: one of them must be a required status check.
	Checks []string `json:"checks"`
	// Paths of Terraform files (default **/*.tf).
	Paths []string `json:"paths"`
}

func (p *planReviewParams) validate() error {
	if len(p.Checks) == 0 {
		return errors.New("checks: name at least one status check that reviews plans")
	}
	return validGlobs(p.Paths)
}

func terraformPlanReview(p planReviewParams, f RepoFacts) result {
	paths := p.Paths
	if len(paths) == 0 {
		paths = []string{"**/*.tf"}
	}
	if len(f.Paths) == 0 {
		return pending("not yet verifiable: the repository tree was not read")
	}
	tf := matching(f.Paths, paths)
	if len(tf) == 0 {
		return fail("no Terraform files (%s)", strings.Join(paths, ", "))
	}
	for _, c := range p.Checks {
		if slices.Contains(f.Protection.RequiredChecks, c) {
			return pass("%d Terraform files; %s is a required check", len(tf), c)
		}
	}
	return fail("%d Terraform files but none of %s is a required check on the default branch", len(tf), strings.Join(p.Checks, ", "))
}

// --- SLOs as code ----------------------------------------------------------

var defaultSLOPaths = []string{"**/*.tf", "**/*slo*.yaml", "**/*slo*.yml", "**/slo*/**/*.yaml", "**/slo*/**/*.yml", "**/*sloth*.yaml", "**/*sloth*.yml"}

type sloParams struct {
	Paths []string `json:"paths"`
}

func (p *sloParams) validate() error { return validGlobs(p.Paths) }

// sloSignatures recognise SLO definitions by their content: OpenSLO,
// Sloth, Pyrra and Terraform SLO resources of the common providers.
var sloSignatures = []struct {
	name, ext string
	all       []string
}{
	{"OpenSLO", "yaml", []string{"apiVersion: openslo/", "kind: SLO"}},
	{"Sloth", "yaml", []string{"sloth.slok.dev/"}},
	{"Sloth", "yaml", []string{"version: \"prometheus/v1\"", "slos:"}},
	{"Sloth", "yaml", []string{"version: prometheus/v1", "slos:"}},
	{"Pyrra", "yaml", []string{"pyrra.dev/", "ServiceLevelObjective"}},
	{"Terraform google_monitoring_slo", "tf", []string{`"google_monitoring_slo"`}},
	{"Terraform datadog_service_level_objective", "tf", []string{`"datadog_service_level_objective"`}},
	{"Terraform newrelic_service_level", "tf", []string{`"newrelic_service_level"`}},
	{"Terraform grafana_slo", "tf", []string{`"grafana_slo"`}},
	{"Terraform dynatrace_slo", "tf", []string{`"dynatrace_slo`}},
	{"Terraform honeycombio_slo", "tf", []string{`"honeycombio_slo"`}},
	{"Terraform aws_applicationsignals_service_level_objective", "tf", []string{`"aws_applicationsignals_service_level_objective"`}},
}

// sloFirst puts the paths naming SLOs first: FilesToRead reads at most
// MaxFiles, and a repository may hold hundreds of Terraform files.
func sloFirst(paths []string) []string {
	out := slices.Clone(paths)
	slices.SortStableFunc(out, func(a, b string) int {
		sa, sb := strings.Contains(strings.ToLower(a), "slo"), strings.Contains(strings.ToLower(b), "slo")
		switch {
		case sa && !sb:
			return -1
		case sb && !sa:
			return 1
		}
		return 0
	})
	return out
}

func sloAsCode(p sloParams, f RepoFacts) result {
	if len(f.Paths) == 0 {
		return pending("not yet verifiable: the repository tree was not read")
	}
	for _, name := range sortedKeys(f.Files) {
		if !matchAny(name, p.Paths) {
			continue
		}
		b := f.Files[name]
		ext := "yaml"
		if strings.HasSuffix(name, ".tf") {
			ext = "tf"
		}
		for _, s := range sloSignatures {
			if s.ext != ext {
				continue
			}
			ok := true
			for _, w := range s.all {
				if !bytes.Contains(b, []byte(w)) {
					ok = false
					break
				}
			}
			if ok && (ext != "tf" || bytes.Contains(b, []byte("resource"))) {
				return pass("%s SLO in %s", s.name, name)
			}
		}
	}
	return fail("no SLO definitions (OpenSLO, Sloth, Pyrra or Terraform SLO resources) in %s", strings.Join(p.Paths, ", "))
}

// --- alerts and runbooks ---------------------------------------------------

// maxAlertBytes bounds the rule files one verification parses: a
// repository holding hundreds of large YAML files under alert-like paths
// must not hold a worker for long.
const maxAlertBytes = 2 << 20

var defaultAlertPaths = []string{"**/*rules*.yaml", "**/*rules*.yml", "**/*alert*.yaml", "**/*alert*.yml", "**/alerts/**/*.yaml", "**/alerts/**/*.yml", "**/prometheus/**/*.yaml", "**/prometheus/**/*.yml"}

type alertsParams struct {
	Paths []string `json:"paths"`
	// AllowExternal counts a runbook link outside the repository as
	// resolving (tasuki cannot check it).
	AllowExternal bool `json:"allow_external"`
}

func (p *alertsParams) validate() error { return validGlobs(p.Paths) }

// promRules is a Prometheus rule file, or a PrometheusRule resource.
type promRules struct {
	Groups []promGroup `yaml:"groups"`
	Kind   string      `yaml:"kind"`
	Spec   struct {
		Groups []promGroup `yaml:"groups"`
	} `yaml:"spec"`
}

type promGroup struct {
	Rules []struct {
		Alert       string            `yaml:"alert"`
		Annotations map[string]string `yaml:"annotations"`
	} `yaml:"rules"`
}

func alertsRunbooksResolve(p alertsParams, f RepoFacts) result {
	if len(f.Paths) == 0 {
		return pending("not yet verifiable: the repository tree was not read")
	}
	tree := make(map[string]bool, len(f.Paths))
	for _, x := range f.Paths {
		tree[x] = true
	}
	alerts, budget := 0, maxAlertBytes
	var bad []string
	var unread []string
	for _, name := range sortedKeys(f.Files) {
		if !matchAny(name, p.Paths) {
			continue
		}
		b := f.Files[name]
		if budget -= len(b); budget < 0 {
			return pending("not yet verifiable: alert rule files of more than %d KiB in all; narrow params.paths", maxAlertBytes>>10)
		}
		file, err := yamlsafe.Parse(name, b, yamlsafe.Limits{MaxBytes: MaxFileBytes, MaxValues: 100000})
		if err != nil {
			// Not a rule file tasuki can read; other files may be.
			unread = append(unread, oneLine(err.Error(), 100))
			continue
		}
		for _, doc := range file.Docs {
			if doc == nil || doc.Body == nil {
				continue
			}
			if _, ok := unwrap(doc.Body).(*ast.MappingNode); !ok {
				continue
			}
			var r promRules
			if decodeLoose(doc.Body, &r) != nil {
				continue
			}
			groups := r.Groups
			if strings.EqualFold(r.Kind, "PrometheusRule") {
				groups = r.Spec.Groups
			}
			for _, g := range groups {
				for _, rule := range g.Rules {
					if rule.Alert == "" {
						continue
					}
					alerts++
					link := rule.Annotations["runbook_url"]
					if link == "" {
						link = rule.Annotations["runbook"]
					}
					if why := resolveRunbook(link, name, f.Repo, tree, p.AllowExternal); why != "" {
						bad = append(bad, oneLine(rule.Alert, 40)+" "+why)
					}
				}
			}
		}
	}
	switch {
	case alerts == 0 && len(unread) > 0:
		return fail("no Prometheus alert rules read; %d file(s) unreadable, first %s", len(unread), unread[0])
	case alerts == 0:
		return fail("no Prometheus alert rules in %s", strings.Join(p.Paths, ", "))
	case len(bad) > 0:
		more := ""
		if len(bad) > 2 {
			more = fmt.Sprintf(" and %d more", len(bad)-2)
			bad = bad[:2]
		}
		return fail("%s%s", strings.Join(bad, "; "), more)
	}
	return pass("%d alerts, every runbook link resolves to a file", alerts)
}

// resolveRunbook says why link does not resolve to a file of the
// repository ("" when it does). link is a path (relative to the rule file,
// or to the repository root with a leading slash) or a GitHub URL of this
// repository (https://github.com/OWNER/REPO/blob/REF/PATH).
func resolveRunbook(link, ruleFile, repo string, tree map[string]bool, allowExternal bool) string {
	link = strings.TrimSpace(link)
	if link == "" {
		return "has no runbook_url"
	}
	var p string
	switch {
	case strings.HasPrefix(link, "https://") || strings.HasPrefix(link, "http://"):
		prefix := "https://github.com/" + repo + "/"
		rest, ok := cutPrefixFold(link, prefix)
		if !ok {
			if allowExternal {
				return ""
			}
			return "links outside the repository"
		}
		// blob/REF/PATH or tree/REF/PATH; REF is taken to be one segment.
		parts := strings.SplitN(rest, "/", 3)
		if len(parts) < 3 || (parts[0] != "blob" && parts[0] != "tree") {
			return "does not link a file of the repository"
		}
		p = parts[2]
	case strings.Contains(link, "://"):
		if allowExternal {
			return ""
		}
		return "links outside the repository"
	case strings.HasPrefix(link, "/"):
		p = link[1:]
	default:
		p = path.Join(path.Dir(ruleFile), link)
	}
	if i := strings.IndexAny(p, "#?"); i >= 0 {
		p = p[:i]
	}
	p = path.Clean(p)
	if tree[p] {
		return ""
	}
	// A directory of runbooks counts when it holds files.
	for x := range tree {
		if strings.HasPrefix(x, p+"/") {
			return ""
		}
	}
	return "runbook " + oneLine(p, 60) + " is not in the repository"
}

// --- workflows -------------------------------------------------------------

type workflowParams struct {
	// Name is the workflow's name or its file name (restore-test.yml).
	Name string `json:"name"`
	Days int    `json:"days"`
}

func (p *workflowParams) validate() error {
	if strings.TrimSpace(p.Name) == "" {
		return errors.New("name: the workflow's name or file is needed")
	}
	if p.Days <= 0 || p.Days > 400 {
		return errors.New("days must be 1 to 400")
	}
	return nil
}

func workflowSuccessWithin(p workflowParams, f RepoFacts, now time.Time) result {
	since := now.Add(-time.Duration(p.Days) * 24 * time.Hour)
	var last *WorkflowRun
	for i, r := range f.WorkflowRuns {
		if !strings.EqualFold(r.Name, p.Name) && !strings.EqualFold(path.Base(r.Path), p.Name) {
			continue
		}
		if r.Conclusion == "success" && (last == nil || r.At.After(last.At)) {
			last = &f.WorkflowRuns[i]
		}
	}
	switch {
	case last == nil:
		return fail("no successful run of workflow %s", p.Name)
	case last.At.Before(since):
		return fail("last successful run of %s on %s, more than %d days ago", p.Name, last.At.UTC().Format(time.DateOnly), p.Days)
	}
	return pass("%s succeeded on %s", p.Name, last.At.UTC().Format(time.DateOnly))
}

// --- ownership moved -------------------------------------------------------

type ownerParams struct {
	// Owner is "team" (the incoming team) or "core".
	Owner string `json:"owner"`
}

func (p *ownerParams) validate() error {
	if p.Owner != "team" && p.Owner != "core" {
		return fmt.Errorf("owner %q is not team or core", p.Owner)
	}
	return nil
}

func (p ownerParams) slug(v vctx) string {
	if p.Owner == "core" {
		return v.CoreTeam
	}
	return v.Team
}

// codeownersFile returns the CODEOWNERS GitHub uses and its path.
func codeownersFile(f RepoFacts) (string, []byte) {
	for _, p := range CODEOWNERSPaths {
		if b, ok := f.Files[p]; ok {
			return p, b
		}
	}
	return "", nil
}

// catchAllOwners returns the owners of the last rule of CODEOWNERS b that
// covers every file ("*", "/*", "**", "/**"), as GitHub reads it (the last
// match wins, unreadable lines are skipped). Only those lines are parsed:
// compiling every rule of a large file costs most of a second.
func catchAllOwners(b []byte) []string {
	lines := strings.Split(string(b), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" || l[0] == '#' {
			continue
		}
		rule, _, _ := strings.Cut(l, "#") // hmarr/codeowners: '#' starts a comment anywhere
		switch p, _, _ := strings.Cut(strings.ReplaceAll(rule, "\t", " "), " "); p {
		case "*", "/*", "**", "/**":
		default:
			continue
		}
		rs, err := codeowners.ParseFile(strings.NewReader(l))
		if err != nil || len(rs) != 1 {
			continue
		}
		var out []string
		for _, o := range rs[0].Owners {
			out = append(out, o.String())
		}
		return out
	}
	return nil
}

func codeownersOwnerIs(p ownerParams, f RepoFacts, v vctx) result {
	name, b := codeownersFile(f)
	if name == "" {
		return fail("no CODEOWNERS file")
	}
	if len(b) > ownership.MaxCODEOWNERSSize {
		return fail("%s is larger than GitHub's 3 MB limit; GitHub ignores it", name)
	}
	owners := catchAllOwners(b)
	want := "@" + v.Org + "/" + p.slug(v)
	if len(owners) == 0 {
		return fail("%s has no rule for * naming an owner", name)
	}
	if !strings.EqualFold(owners[0], want) {
		return fail("%s: * is owned by %s, not %s", name, strings.Join(owners, " "), want)
	}
	return pass("%s: * is owned by %s", name, strings.Join(owners, " "))
}

func catalogOwnerIs(p ownerParams, f RepoFacts, v vctx) result {
	d, found, err := readCatalog(f)
	switch {
	case !found:
		return fail("no %s", CatalogPath)
	case err != nil:
		return fail("%s", oneLine(err.Error(), 120))
	}
	if slug := groupSlug(d.Spec.Owner); !strings.EqualFold(slug, p.slug(v)) {
		return fail("%s spec.owner is %q, not %s", CatalogPath, oneLine(d.Spec.Owner, 60), p.slug(v))
	}
	return pass("%s spec.owner is %s", CatalogPath, oneLine(d.Spec.Owner, 60))
}

func codeownersValid(f RepoFacts) result {
	name, _ := codeownersFile(f)
	if name == "" {
		return fail("no CODEOWNERS file")
	}
	if n := len(f.CODEOWNERSErrors); n > 0 {
		return fail("%s has %d error(s): %s", name, n, oneLine(f.CODEOWNERSErrors[0], 100))
	}
	return pass("%s has no errors", name)
}

// groupSlug turns a Backstage owner reference ("group:default/payments",
// "payments") into its name.
func groupSlug(ref string) string {
	ref = strings.TrimSpace(ref)
	if _, rest, ok := strings.Cut(ref, ":"); ok {
		ref = rest
	}
	if i := strings.LastIndexByte(ref, '/'); i >= 0 {
		ref = ref[i+1:]
	}
	return ref
}

// --- helpers ---------------------------------------------------------------

// decodeLoose decodes a node of a file others wrote, ignoring keys tasuki
// does not read and turning a panic into an error.
func decodeLoose(n ast.Node, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cannot decode: %v", r)
		}
	}()
	return yamlNodeToValue(n, v)
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// oneLine makes s one line of at most max bytes.
func oneLine(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= max {
		return s
	}
	cut := max - len("…")
	for cut > 0 && (s[cut]&0xC0) == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}
