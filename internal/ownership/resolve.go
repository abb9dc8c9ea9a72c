package ownership

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/hmarr/codeowners"

	"github.com/tasuki-sre/tasuki/internal/yamlsafe"
)

// Facts are what the shell read about one repository (and, optionally, one
// change or incident in it).
type Facts struct {
	// Repo is "owner/name".
	Repo string
	// Labels of the pull request or incident; a "service:<name>" label (see
	// Config.ServiceLabelPrefix) names the service outright.
	Labels []string
	// CatalogInfo is the repository's Backstage catalog-info.yaml, nil when
	// absent.
	CatalogInfo []byte
	// CODEOWNERS is the repository's CODEOWNERS file, nil when absent.
	CODEOWNERS []byte
	// CODEOWNERSPath is where CODEOWNERS was found, for messages; empty
	// means "CODEOWNERS".
	CODEOWNERSPath string
	// Paths are the changed paths of a pull request, if any.
	Paths []string
	// Handoff is the repository's handoff in progress, nil when none.
	Handoff *Handoff
}

// Owners is the answer of Resolve.
type Owners struct {
	// Service is the service name; ServiceSource says where it came from
	// ("label service:payments", "config services.api.repos",
	// "catalog-info.yaml metadata.name", "repository name").
	Service       string `json:"service"`
	ServiceSource string `json:"service_source"`
	// Team is the owning team's slug (without the organisation), empty when
	// nothing names one. Source says why ("config services.api.team",
	// "catalog-info.yaml spec.owner", "CODEOWNERS *", "config default_team").
	Team   string `json:"team,omitempty"`
	Source string `json:"source,omitempty"`
	// SREs are the owning team's SRE logins from the config; SRETeam is the
	// slug of the GitHub team holding them, if configured.
	SREs    []string `json:"sres,omitempty"`
	SRETeam string   `json:"sre_team,omitempty"`
	// CoreSRETeam is the core SRE team's slug from the config.
	CoreSRETeam string `json:"core_sre_team,omitempty"`
	// PathOwners maps each of Facts.Paths that CODEOWNERS assigns to its
	// owners as written there ("@acme/payments", "@alice", an email).
	PathOwners map[string][]string `json:"path_owners,omitempty"`
	// Handoff, for a service in handoff, says who is primary and who is
	// secondary in its current phase (HandoffRoles).
	Handoff *Roles `json:"handoff,omitempty"`
	// Warnings are problems in catalog-info.yaml or CODEOWNERS, each
	// "file:line: message"; Resolve skipped what it could not read and
	// carried on with the rest.
	Warnings []string `json:"warnings,omitempty"`
}

// Label returns the label naming service s under cfg's prefix.
func (c Config) Label(service string) string {
	return c.prefix() + service
}

func (c Config) prefix() string {
	if c.ServiceLabelPrefix == "" {
		return DefaultConfig().ServiceLabelPrefix
	}
	return c.ServiceLabelPrefix
}

// Resolve works out the service, owning team and SREs from f under cfg. It
// never fails: unreadable files become Warnings and the next source is used.
//
// The service is taken from a service label, else from a config service
// listing the repository (and, in monorepos, the changed paths), else from
// catalog-info.yaml metadata.name, else from the repository name. The team is
// taken from the config's service mapping, else catalog-info.yaml spec.owner,
// else the CODEOWNERS owner of "*", else default_team. catalog-info.yaml and
// CODEOWNERS describe the repository, so they are only used when the service
// is the repository's own (not a label naming another service).
func Resolve(f Facts, cfg Config) Owners {
	var o Owners
	warn := func(format string, args ...any) { o.Warnings = append(o.Warnings, fmt.Sprintf(format, args...)) }

	cat, err := ParseCatalogInfo(f.CatalogInfo)
	if err != nil {
		warn("%v", err)
	}
	coPath := f.CODEOWNERSPath
	if coPath == "" {
		coPath = "CODEOWNERS"
	}
	rules, err := ParseCODEOWNERS(coPath, f.CODEOWNERS)
	if err != nil {
		for _, e := range unjoin(err) {
			warn("%v", e)
		}
	}
	repoName := f.Repo
	if i := strings.LastIndexByte(repoName, '/'); i >= 0 {
		repoName = repoName[i+1:]
	}

	// Service.
	if l, name := serviceLabel(f.Labels, cfg.prefix()); name != "" {
		o.Service, o.ServiceSource = name, "label "+l
	} else if name := configService(f, cfg, &o); name != "" {
		o.Service, o.ServiceSource = name, "config services."+name+".repos"
	} else if cat.Name != "" {
		o.Service, o.ServiceSource = cat.Name, "catalog-info.yaml metadata.name"
	} else {
		o.Service, o.ServiceSource = repoName, "repository name"
	}
	ownRepo := !strings.HasPrefix(o.ServiceSource, "label ") ||
		strings.EqualFold(o.Service, repoName) || (cat.Name != "" && strings.EqualFold(o.Service, cat.Name))

	// Team.
	if name, s, ok := lookupFold(cfg.Services, o.Service); ok && s.Team != "" {
		o.Team, o.Source = strings.TrimPrefix(s.Team, "@"), "config services."+name+".team"
	}
	if o.Team == "" && ownRepo && cat.Owner != "" {
		if team, err := groupRef(cat.Owner); err != nil {
			warn("catalog-info.yaml:%d: spec.owner: %v", cat.OwnerLine, err)
		} else {
			o.Team, o.Source = team, "catalog-info.yaml spec.owner"
		}
	}
	if o.Team == "" && ownRepo {
		if team := catchAllTeam(rules); team != "" {
			o.Team, o.Source = team, "CODEOWNERS *"
		}
	}
	if o.Team == "" && cfg.DefaultTeam != "" {
		o.Team, o.Source = strings.TrimPrefix(cfg.DefaultTeam, "@"), "config default_team"
	}

	if _, t, ok := lookupFold(cfg.Teams, o.Team); ok && o.Team != "" {
		o.SREs = slices.Clone(t.SREs)
		for i, l := range o.SREs {
			o.SREs[i] = strings.TrimPrefix(l, "@")
		}
		o.SRETeam = strings.TrimPrefix(t.SRETeam, "@")
	}
	o.CoreSRETeam = strings.TrimPrefix(cfg.CoreSRETeam, "@")
	if h := f.Handoff; h != nil && h.Phase.Valid() {
		core := h.CoreTeam
		if core == "" {
			core = o.CoreSRETeam
		}
		r := HandoffRoles(h.Phase, core, h.Team)
		o.Handoff = &r
	}

	budget := maxMatchWork
	fixed, perByte := matchWork(rules)
	for i, p := range f.Paths {
		// Charge the path as if every rule were tried: the answer must not
		// depend on which rules happen to match first.
		cost := fixed + perByte*(len(p)+1)
		if cost > budget {
			warn("%s: %d rules are too many to match all %d changed paths; owners of the last %d are not listed",
				coPath, len(rules), len(f.Paths), len(f.Paths)-i)
			break
		}
		budget -= cost
		r, err := matchRules(rules, strings.TrimPrefix(p, "/"))
		for _, e := range unjoin(err) {
			if w := fmt.Sprintf("%s:%v", coPath, e); !slices.Contains(o.Warnings, w) {
				o.Warnings = append(o.Warnings, w)
			}
		}
		if r == nil || len(r.Owners) == 0 {
			continue
		}
		if o.PathOwners == nil {
			o.PathOwners = map[string][]string{}
		}
		owners := make([]string, len(r.Owners))
		for i, ow := range r.Owners {
			owners[i] = ow.String()
		}
		o.PathOwners[p] = owners
	}
	return o
}

// maxMatchWork bounds the work of matching changed paths against CODEOWNERS
// rules in one Resolve (see matchWork; about a second): a huge CODEOWNERS
// times a huge pull request must not hold a worker for minutes. Counting
// matches is not enough: a rule's regular expression takes time in
// proportion to the path and to the pattern (measured: 10,000 rules of 12
// wildcards against 500 paths of 70 bytes took 80 s). A variable so tests
// can lower it.
var maxMatchWork = 150_000_000

// matchWork returns what matching a path of n bytes against every rule
// costs: fixed + perByte*(n+1), in units of a few nanoseconds. A regular
// expression costs (pattern length + 16) per byte of path, measured at up to
// 6 ns; a pattern hmarr/codeowners matches as an anchored literal (no
// wildcard or escape, a leading slash) costs a constant.
func matchWork(rules codeowners.Ruleset) (fixed, perByte int) {
	for _, r := range rules {
		p := r.RawPattern()
		if p != "" && p[0] == '/' && !strings.ContainsAny(p, "*?\\") {
			fixed += len(p) + 16
			continue
		}
		perByte += len(p) + 16
	}
	return fixed, perByte
}

// serviceLabel returns the first label carrying prefix and the service name
// it names.
func serviceLabel(labels []string, prefix string) (label, name string) {
	for _, l := range labels {
		if len(l) > len(prefix) && strings.EqualFold(l[:len(prefix)], prefix) {
			if n := strings.TrimSpace(l[len(prefix):]); n != "" {
				return l, n
			}
		}
	}
	return "", ""
}

// configService picks the configured service of f.Repo. A service restricted
// to paths wins when it matches the most changed paths; a service covering
// the whole repository comes next; ties go to the first name in order, so
// the answer does not depend on map order.
func configService(f Facts, cfg Config, o *Owners) string {
	best, bestScore := "", 0
	for _, name := range sortedKeys(cfg.Services) {
		s := cfg.Services[name]
		if !slices.ContainsFunc(s.Repos, func(r string) bool { return repoMatches(r, f.Repo) }) {
			continue
		}
		score := 1 // whole repository
		if len(s.Paths) > 0 {
			m, err := pathMatcher(s.Paths)
			if err != nil {
				o.Warnings = append(o.Warnings, fmt.Sprintf("config services.%s.paths: %v", name, err))
				continue
			}
			n := 0
			for _, p := range f.Paths {
				if r, _ := matchRules(m, strings.TrimPrefix(p, "/")); r != nil {
					n++
				}
			}
			if n == 0 {
				continue
			}
			score = 1 + n
		}
		if score > bestScore {
			best, bestScore = name, score
		}
	}
	return best
}

// repoMatches reports whether a configured repository ("name" or
// "owner/name") is full ("owner/name").
func repoMatches(configured, full string) bool {
	if strings.Contains(configured, "/") {
		return strings.EqualFold(configured, full)
	}
	_, name, _ := strings.Cut(full, "/")
	return strings.EqualFold(configured, name)
}

// pathMatcher compiles service paths with CODEOWNERS (gitignore) pattern
// syntax, the syntax the same users already write for ownership.
func pathMatcher(paths []string) (codeowners.Ruleset, error) {
	var b strings.Builder
	for _, p := range paths {
		b.WriteString(strings.ReplaceAll(strings.TrimSpace(p), " ", `\ `))
		b.WriteString(" @tasuki\n")
	}
	rs, err := codeowners.ParseFile(strings.NewReader(b.String()))
	if err != nil {
		return nil, fmt.Errorf("bad path pattern: %w", err)
	}
	return rs, nil
}

// matchRules is codeowners.Ruleset.Match (the last matching rule wins)
// made safe: codeowners v1.2.1 panics matching the bare pattern "/", and a
// rule it cannot match is skipped with an error naming its line rather than
// taking the worker down.
func matchRules(rules codeowners.Ruleset, path string) (*codeowners.Rule, error) {
	var errs []error
	for i := len(rules) - 1; i >= 0; i-- {
		ok, err := safeMatch(rules[i], path)
		if err != nil {
			errs = append(errs, fmt.Errorf("%d: pattern %q: %v", rules[i].LineNumber, rules[i].RawPattern(), err))
			continue
		}
		if ok {
			return &rules[i], errors.Join(errs...)
		}
	}
	return nil, errors.Join(errs...)
}

func safeMatch(r codeowners.Rule, path string) (ok bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			ok, err = false, errors.New("cannot be matched")
		}
	}()
	return r.Match(path)
}

// validatePath reports whether p is a valid service path pattern.
func validatePath(p string) error {
	rs, err := pathMatcher([]string{p})
	if err != nil {
		return err
	}
	if _, err := matchRules(rs, "x"); err != nil {
		return fmt.Errorf("bad path pattern %q", p)
	}
	return nil
}

func lookupFold[V any](m map[string]V, key string) (string, V, bool) {
	if v, ok := m[key]; ok {
		return key, v, true
	}
	for _, k := range sortedKeys(m) {
		if strings.EqualFold(k, key) {
			return k, m[k], true
		}
	}
	var zero V
	return "", zero, false
}

// catchAllTeam returns the first team owner of the last CODEOWNERS rule
// covering every file, as a slug without the organisation.
func catchAllTeam(rules codeowners.Ruleset) string {
	for i := len(rules) - 1; i >= 0; i-- {
		switch rules[i].RawPattern() {
		case "*", "/*", "**", "/**":
		default:
			continue
		}
		for _, ow := range rules[i].Owners {
			if ow.Type == codeowners.TeamOwner {
				_, slug, _ := strings.Cut(ow.Value, "/")
				return slug
			}
		}
		return ""
	}
	return ""
}

// Catalog is what Resolve uses of a Backstage catalog-info.yaml.
type Catalog struct {
	Name      string // metadata.name
	Owner     string // spec.owner, an entity reference
	OwnerLine int
}

type catalogDoc struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		Owner string `yaml:"owner"`
	} `yaml:"spec"`
}

// MaxCatalogSize is the largest catalog-info.yaml Resolve reads; component
// descriptors are a few hundred bytes.
const MaxCatalogSize = 128 << 10

// ParseCatalogInfo reads the Component of a catalog-info.yaml (the first
// document of kind Component, else the first document). Empty input gives a
// zero Catalog. Errors name the file and line.
func ParseCatalogInfo(b []byte) (Catalog, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return Catalog{}, nil
	}
	if len(b) > MaxCatalogSize {
		return Catalog{}, fmt.Errorf("catalog-info.yaml: %d bytes, more than the %d tasuki reads; ignored", len(b), MaxCatalogSize)
	}
	// Anyone who can open a pull request may write this file: parse it
	// within bounds (yamlsafe.Error names the file and line).
	file, err := yamlsafe.Parse("catalog-info.yaml", b, yamlsafe.Limits{MaxBytes: MaxCatalogSize})
	if err != nil {
		return Catalog{}, err
	}
	var docs []catalogDoc
	for _, doc := range file.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		var d catalogDoc
		if err := decodeCatalog(doc.Body, &d); err != nil {
			return Catalog{}, yamlError("catalog-info.yaml", err)
		}
		docs = append(docs, d)
	}
	if len(docs) == 0 {
		return Catalog{}, nil
	}
	d := docs[0]
	for _, x := range docs {
		if strings.EqualFold(x.Kind, "Component") {
			d = x
			break
		}
	}
	c := Catalog{Name: strings.TrimSpace(d.Metadata.Name), Owner: strings.TrimSpace(d.Spec.Owner)}
	if c.Owner != "" {
		c.OwnerLine = ownerLine(b)
	}
	return c, nil
}

// decodeCatalog decodes one document, turning a panic inside the YAML
// library into an error: a repository's file must never take a worker down.
func decodeCatalog(n ast.Node, d *catalogDoc) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cannot decode: %v", r)
		}
	}()
	return yaml.NodeToValue(n, d)
}

// ownerLine finds the line of the first "owner:" key, for messages only.
func ownerLine(b []byte) int {
	for i, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "owner:") {
			return i + 1
		}
	}
	return 0
}

// groupRef turns a Backstage entity reference ("group:default/payments",
// "group:payments", "payments") into a team slug. Backstage's default kind
// for spec.owner is Group; a User owner is not a team.
func groupRef(ref string) (string, error) {
	kind, rest, ok := strings.Cut(ref, ":")
	if !ok {
		kind, rest = "group", ref
	}
	if !strings.EqualFold(kind, "group") {
		return "", fmt.Errorf("%q is a %s, not a group", ref, kind)
	}
	if i := strings.LastIndexByte(rest, '/'); i >= 0 {
		rest = rest[i+1:]
	}
	if !slugRE.MatchString(rest) {
		return "", fmt.Errorf("%q does not name a team", ref)
	}
	return rest, nil
}

// Bounds on a CODEOWNERS file, checked before any pattern is compiled:
// hmarr/codeowners compiles every pattern into a regular expression, which
// costs about 9 KB per rule plus 200 to 600 bytes per pattern character
// (wildcards cost the most). A 3 MB file of three-character rules would
// allocate 7 GB. Large monorepos' files hold a few thousand rules.
const (
	// MaxCODEOWNERSSize is GitHub's own limit: it ignores larger files.
	MaxCODEOWNERSSize = 3 << 20
	// MaxCODEOWNERSRules is how many rule lines (neither blank nor
	// comments) tasuki reads; a file with more is ignored.
	MaxCODEOWNERSRules = 10000
	// MaxCODEOWNERSLine is the longest line tasuki reads; a longer line is
	// skipped, with a warning.
	MaxCODEOWNERSLine = 4096
	// MaxCODEOWNERSPatterns bounds the patterns of all rules together, in
	// bytes with each wildcard ('*', '?') counted three times (a wildcard
	// costs about three times as much to compile); a file with more is
	// ignored.
	MaxCODEOWNERSPatterns = 256 << 10
	// maxLineErrors is how many unreadable lines are reported one by one.
	maxLineErrors = 20
)

// ParseCODEOWNERS parses a CODEOWNERS file. Like GitHub, it skips a line it
// cannot read and keeps the others; the error joins one "path:line: message"
// per skipped line (the first maxLineErrors of them, then a count). A file
// beyond the bounds above is ignored whole, with one error saying why, so
// that a hostile file costs a bounded amount of memory and time.
func ParseCODEOWNERS(path string, b []byte) (codeowners.Ruleset, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if len(b) > MaxCODEOWNERSSize {
		return nil, fmt.Errorf("%s: larger than GitHub's 3 MB limit; ignored", path)
	}
	var errs []error
	skipped := 0
	skip := func(err error) {
		if skipped++; skipped <= maxLineErrors {
			errs = append(errs, err)
		}
	}
	type ruleLine struct {
		no   int
		text string
	}
	// Measure first, compile after: nothing is compiled for a file that is
	// refused.
	var lines []ruleLine
	patternBytes := 0
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if len(lines) == MaxCODEOWNERSRules {
			return nil, fmt.Errorf("%s:%d: more than %d rules; tasuki ignores the file", path, i+1, MaxCODEOWNERSRules)
		}
		// codeowners.ParseFile silently drops a line over 64 KiB; long
		// lines also cost the most to compile.
		if len(line) > MaxCODEOWNERSLine {
			skip(fmt.Errorf("%s:%d: line longer than %d bytes; skipped", path, i+1, MaxCODEOWNERSLine))
			continue
		}
		pat := rawPattern(line)
		if patternBytes += len(pat) + 2*strings.Count(pat, "*") + 2*strings.Count(pat, "?"); patternBytes > MaxCODEOWNERSPatterns {
			return nil, fmt.Errorf("%s:%d: patterns longer than %d bytes in total (wildcards count three); tasuki ignores the file", path, i+1, MaxCODEOWNERSPatterns)
		}
		lines = append(lines, ruleLine{i + 1, line})
	}
	var rules codeowners.Ruleset
	// Line by line rather than codeowners.ParseFile on the whole file: that
	// stops at the first bad line.
	for _, l := range lines {
		rs, err := codeowners.ParseFile(strings.NewReader(l.text))
		if err != nil {
			msg := err.Error()
			if _, rest, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(msg, "line ") {
				msg = rest
			}
			skip(fmt.Errorf("%s:%d: %s", path, l.no, msg))
			continue
		}
		for _, r := range rs {
			r.LineNumber = l.no
			rules = append(rules, r)
		}
	}
	if skipped > maxLineErrors {
		errs = append(errs, fmt.Errorf("%s: %d more lines skipped", path, skipped-maxLineErrors))
	}
	return rules, errors.Join(errs...)
}

// rawPattern returns the pattern of a CODEOWNERS rule line: up to the first
// whitespace not escaped by a backslash.
func rawPattern(line string) string {
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '\\':
			i++
		case ' ', '\t':
			return line[:i]
		}
	}
	return line
}

// yamlError turns a goccy error into "file:line:col: message" without the
// source excerpt goccy adds, which could quote secrets into logs.
func yamlError(file string, err error) error {
	var ye yaml.Error
	if errors.As(err, &ye) {
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			return fmt.Errorf("%s:%d:%d: %s", file, tk.Position.Line, tk.Position.Column, ye.GetMessage())
		}
		return fmt.Errorf("%s: %s", file, ye.GetMessage())
	}
	return fmt.Errorf("%s: %v", file, err)
}

// unjoin splits an errors.Join result into its errors.
func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
