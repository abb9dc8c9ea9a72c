package onboarding

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"
	"github.com/hmarr/codeowners"

	"github.com/tasuki-sre/tasuki/internal/intent"
	"github.com/tasuki-sre/tasuki/internal/mdtext"
	"github.com/tasuki-sre/tasuki/internal/ownership"
	"github.com/tasuki-sre/tasuki/internal/yamlsafe"
)

// validOwner reports whether o is a CODEOWNERS owner hmarr/codeowners (and
// GitHub) read: @user, @org/team or an email address.
func validOwner(o string) error {
	if o == "" || strings.ContainsAny(o, " \t\r\n#") {
		return fmt.Errorf("owner %q is not one word", o)
	}
	rs, err := codeowners.ParseFile(strings.NewReader("* " + o))
	if err != nil || len(rs) != 1 || len(rs[0].Owners) != 1 {
		return fmt.Errorf("owner %q is not @user, @org/team or an email address", o)
	}
	return nil
}

func rewriteCODEOWNERS(b []byte, from, to []string, keepSecondary bool) ([]byte, error) {
	if len(from) == 0 || len(to) == 0 {
		return nil, errors.New("rewrite CODEOWNERS: name the outgoing and the incoming owners")
	}
	for _, o := range append(slices.Clone(from), to...) {
		if err := validOwner(o); err != nil {
			return nil, fmt.Errorf("rewrite CODEOWNERS: %w", err)
		}
	}
	// The same bounds as every other read of the file (ownership's): a
	// file GitHub or tasuki would ignore is not edited either. Counted
	// without compiling: only the lines that are edited are parsed.
	if len(b) > ownership.MaxCODEOWNERSSize {
		return nil, errors.New("rewrite CODEOWNERS: larger than GitHub's 3 MB limit")
	}
	rules := 0
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && l[0] != '#' {
			if rules++; rules > ownership.MaxCODEOWNERSRules {
				return nil, fmt.Errorf("rewrite CODEOWNERS: more than %d rules", ownership.MaxCODEOWNERSRules)
			}
		}
	}
	lines := strings.SplitAfter(string(b), "\n")
	var out strings.Builder
	out.Grow(len(b) + 64)
	for _, line := range lines {
		out.WriteString(rewriteLine(line, from, to, keepSecondary))
	}
	return []byte(out.String()), nil
}

// rewriteLine rewrites the owners of one CODEOWNERS line (with its line
// ending) when they name an outgoing owner; any other line comes back as
// it was.
func rewriteLine(line string, from, to []string, keepSecondary bool) string {
	body := strings.TrimRight(line, "\r\n")
	trimmed := strings.TrimSpace(body)
	if trimmed == "" || trimmed[0] == '#' {
		return line
	}
	// hmarr/codeowners starts a comment at the first '#' anywhere.
	rule := body
	if i := strings.IndexByte(body, '#'); i >= 0 {
		rule = body[:i]
	}
	// Skip leading white space and the pattern (up to unescaped white
	// space).
	i := 0
	for i < len(rule) && (rule[i] == ' ' || rule[i] == '\t') {
		i++
	}
	for i < len(rule) {
		if rule[i] == '\\' {
			i += 2
			continue
		}
		if rule[i] == ' ' || rule[i] == '\t' {
			break
		}
		i++
	}
	type span struct{ start, end int }
	var toks []span
	for i < len(rule) {
		for i < len(rule) && (rule[i] == ' ' || rule[i] == '\t') {
			i++
		}
		j := i
		for j < len(rule) && rule[j] != ' ' && rule[j] != '\t' {
			j++
		}
		if j > i {
			toks = append(toks, span{i, min(j, len(rule))})
		}
		i = j
	}
	owners := make([]string, len(toks))
	hit := false
	for k, t := range toks {
		owners[k] = rule[t.start:t.end]
		if containsFold(from, owners[k]) {
			hit = true
		}
	}
	if !hit {
		return line
	}
	// GitHub skips a line it cannot read; so does the rewrite. Parsed only
	// now: compiling every rule of a large file costs a second.
	if rs, err := codeowners.ParseFile(strings.NewReader(trimmed)); err != nil || len(rs) != 1 {
		return line
	}
	newOwners := rewriteOwners(owners, from, to, keepSecondary)
	start, end := toks[0].start, toks[len(toks)-1].end
	return body[:start] + strings.Join(newOwners, " ") + body[end:] + line[len(body):]
}

// rewriteOwners replaces each owner of from by the owners of to (once),
// keeping the others; with keepSecondary the outgoing owners follow.
func rewriteOwners(owners, from, to []string, keepSecondary bool) []string {
	var out, kept []string
	add := func(o string) {
		if !containsFold(out, o) {
			out = append(out, o)
		}
	}
	for _, o := range owners {
		if containsFold(from, o) {
			for _, t := range to {
				add(t)
			}
			if keepSecondary && !containsFold(kept, o) {
				kept = append(kept, o)
			}
			continue
		}
		add(o)
	}
	for _, o := range kept {
		add(o)
	}
	return out
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}

var ownerRefRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9:/_.-]{0,127}$`)

func rewriteCatalogOwner(b []byte, newOwner string) ([]byte, error) {
	if !ownerRefRE.MatchString(newOwner) {
		return nil, fmt.Errorf("rewrite %s: %q is not an entity reference", CatalogPath, newOwner)
	}
	file, err := yamlsafe.Parse(CatalogPath, b, yamlsafe.Limits{MaxBytes: ownership.MaxCatalogSize})
	if err != nil {
		return nil, fmt.Errorf("rewrite %s: %w", CatalogPath, err)
	}
	var spec *ast.MappingNode
	var specKey ast.Node
	for _, doc := range file.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		m, ok := unwrap(doc.Body).(*ast.MappingNode)
		if !ok {
			continue
		}
		var kind string
		var sp *ast.MappingNode
		var sk ast.Node
		for _, mv := range m.Values {
			switch keyString(mv.Key) {
			case "kind":
				if s, ok := unwrap(mv.Value).(*ast.StringNode); ok {
					kind = s.Value
				}
			case "spec":
				sp, _ = unwrap(mv.Value).(*ast.MappingNode)
				sk = mv.Key
			}
		}
		if strings.EqualFold(kind, "Component") {
			spec, specKey = sp, sk
			break
		}
	}
	if spec == nil {
		return nil, fmt.Errorf("rewrite %s: no Component with a spec mapping", CatalogPath)
	}
	if spec.IsFlowStyle {
		return nil, fmt.Errorf("rewrite %s: spec is a flow mapping; edit spec.owner by hand", CatalogPath)
	}
	var out []byte
	var ownerNode ast.Node
	for _, mv := range spec.Values {
		if keyString(mv.Key) == "owner" {
			ownerNode = mv.Value
		}
	}
	if ownerNode != nil {
		out, err = replaceScalar(b, ownerNode, newOwner)
	} else {
		// Add the key as the first entry of spec, at its indentation.
		col := posCol(spec.Values[0].Key)
		at := lineStart(b, posLine(spec.Values[0].Key))
		if at < 0 || col < 1 || posLine(spec.Values[0].Key) <= posLine(specKey) {
			return nil, fmt.Errorf("rewrite %s: cannot place spec.owner; edit it by hand", CatalogPath)
		}
		nl := "\n"
		if bytes.Contains(b, []byte("\r\n")) {
			nl = "\r\n"
		}
		ins := strings.Repeat(" ", col-1) + "owner: " + newOwner + nl
		out = append(append(append([]byte{}, b[:at]...), ins...), b[at:]...)
	}
	if err != nil {
		return nil, err
	}
	if err := sameButOwner(b, out, newOwner); err != nil {
		return nil, fmt.Errorf("rewrite %s: %w; edit spec.owner by hand", CatalogPath, err)
	}
	return out, nil
}

// lineStart returns the offset of the start of 1-based line n of b.
func lineStart(b []byte, n int) int {
	off := 0
	for l := 1; l < n; l++ {
		i := bytes.IndexByte(b[off:], '\n')
		if i < 0 {
			return -1
		}
		off += i + 1
	}
	return off
}

// replaceScalar replaces the one-line scalar n of b by v.
func replaceScalar(b []byte, n ast.Node, v string) ([]byte, error) {
	n = unwrap(n)
	line, col := posLine(n), posCol(n)
	start := lineStart(b, line)
	if start < 0 || col < 1 {
		return nil, fmt.Errorf("rewrite %s: cannot find spec.owner", CatalogPath)
	}
	end := bytes.IndexByte(b[start:], '\n')
	if end < 0 {
		end = len(b)
	} else {
		end += start
	}
	text := string(b[start:end])
	// col counts characters.
	off := 0
	for c := 1; c < col && off < len(text); c++ {
		_, size := utf8.DecodeRuneInString(text[off:])
		off += size
	}
	rest := text[off:]
	var vlen int
	switch {
	case rest == "":
		return nil, fmt.Errorf("rewrite %s: spec.owner is empty", CatalogPath)
	case rest[0] == '"':
		i := 1
		for i < len(rest) && rest[i] != '"' {
			if rest[i] == '\\' {
				i++
			}
			i++
		}
		if i >= len(rest) {
			return nil, fmt.Errorf("rewrite %s: spec.owner spans lines", CatalogPath)
		}
		vlen = i + 1
	case rest[0] == '\'':
		i := 1
		for i < len(rest) {
			if rest[i] == '\'' {
				if i+1 < len(rest) && rest[i+1] == '\'' {
					i += 2
					continue
				}
				break
			}
			i++
		}
		if i >= len(rest) {
			return nil, fmt.Errorf("rewrite %s: spec.owner spans lines", CatalogPath)
		}
		vlen = i + 1
	case strings.ContainsRune("|>&*!{[", rune(rest[0])):
		return nil, fmt.Errorf("rewrite %s: spec.owner is not a plain value", CatalogPath)
	default:
		vlen = len(rest)
		if i := strings.Index(rest, " #"); i >= 0 {
			vlen = i
		}
		if i := strings.Index(rest, "\t#"); i >= 0 && i < vlen {
			vlen = i
		}
		vlen = len(strings.TrimRight(rest[:vlen], " \t\r"))
	}
	abs := start + off
	out := make([]byte, 0, len(b)+len(v))
	out = append(out, b[:abs]...)
	out = append(out, v...)
	out = append(out, b[abs+vlen:]...)
	return out, nil
}

// sameButOwner checks that after differs from before only in the
// Component's spec.owner, which is now owner: the edit must not touch
// anything else, whatever the file looks like.
func sameButOwner(before, after []byte, owner string) error {
	decode := func(b []byte) ([]any, error) {
		f, err := yamlsafe.Parse(CatalogPath, b, yamlsafe.Limits{MaxBytes: ownership.MaxCatalogSize + 256})
		if err != nil {
			return nil, err
		}
		var docs []any
		for _, d := range f.Docs {
			if d == nil || d.Body == nil {
				continue
			}
			var v any
			if err := decodeLoose(d.Body, &v); err != nil {
				return nil, err
			}
			docs = append(docs, v)
		}
		return docs, nil
	}
	a, err := decode(before)
	if err != nil {
		return err
	}
	z, err := decode(after)
	if err != nil {
		return fmt.Errorf("the edit does not parse: %v", err)
	}
	if len(a) != len(z) {
		return errors.New("the edit changed the documents")
	}
	done := false
	for i := range a {
		am, _ := a[i].(map[string]any)
		zm, _ := z[i].(map[string]any)
		if !done && am != nil && zm != nil && strings.EqualFold(fmt.Sprint(am["kind"]), "Component") {
			as, _ := am["spec"].(map[string]any)
			zs, _ := zm["spec"].(map[string]any)
			if as == nil || zs == nil || fmt.Sprint(zs["owner"]) != owner {
				return errors.New("spec.owner did not change as asked")
			}
			done = true
			as2 := cloneMap(as)
			as2["owner"] = owner
			am2 := cloneMap(am)
			am2["spec"] = as2
			if !reflect.DeepEqual(am2, zm) {
				return errors.New("the edit changed more than spec.owner")
			}
			continue
		}
		if !reflect.DeepEqual(a[i], z[i]) {
			return errors.New("the edit changed another document")
		}
	}
	if !done {
		return errors.New("no Component")
	}
	return nil
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// ownerRef returns the catalog reference of team in the form old uses:
// "group:default/core-sre" becomes "group:default/payments-sre", "core-sre"
// becomes "payments-sre".
func ownerRef(old, team string) string {
	old = strings.TrimSpace(old)
	if i := strings.LastIndexAny(old, ":/"); i >= 0 && ownerRefRE.MatchString(old) {
		return old[:i+1] + team
	}
	return team
}

// transferPR builds the pull request that moves ownership from the core
// SRE team to the team, and the reviews to request.
func transferPR(s State, f RepoFacts, cfg Config) (intent.PullRequest, []string, []string) {
	org := repoOwner(s.Repo)
	_, team := splitTeam(s.Team, org)
	_, core := splitTeam(s.CoreTeam, org)
	from, to := "@"+org+"/"+core, "@"+org+"/"+team
	var notes []string
	var files []intent.FileChange

	path, b := codeownersFile(f)
	var co []byte
	if path == "" {
		path = CODEOWNERSPaths[0]
		co = []byte("* " + to + "\n")
		if cfg.KeepCoreSecondary {
			co = []byte("* " + to + " " + from + "\n")
		}
		notes = append(notes, "There was no CODEOWNERS file: this adds "+mdtext.Code(path)+" making "+mdtext.Code(to)+" the owner of every file.")
	} else {
		var err error
		co, err = rewriteCODEOWNERS(b, []string{from}, []string{to}, cfg.KeepCoreSecondary)
		if err != nil {
			notes = append(notes, "CODEOWNERS could not be edited ("+mdtext.Text(err.Error())+"); change it by hand in this branch.")
			co = nil
		} else {
			if owners := catchAllOwners(co); len(owners) == 0 {
				// Put a catch-all first: the last match wins, so it only
				// covers what no other rule names.
				co = append([]byte("* "+to+"\n"), co...)
				notes = append(notes, "CODEOWNERS had no rule for `*`: this adds one at the top for "+mdtext.Code(to)+", which covers only the files no other rule names.")
			} else if !strings.EqualFold(owners[0], to) {
				notes = append(notes, "The `*` rule of CODEOWNERS names "+mdtext.Text(strings.Join(owners, " "))+", not "+mdtext.Code(from)+"; it is left as it is.")
			}
		}
	}
	if co != nil && !bytes.Equal(co, b) {
		files = append(files, intent.FileChange{Path: path, Content: co})
	}
	if cat, ok := f.Files[CatalogPath]; ok {
		d, _, err := readCatalog(f)
		if err == nil {
			var out []byte
			out, err = rewriteCatalogOwner(cat, ownerRef(d.Spec.Owner, team))
			if err == nil && !bytes.Equal(out, cat) {
				files = append(files, intent.FileChange{Path: CatalogPath, Content: out})
			}
		}
		if err != nil {
			notes = append(notes, mdtext.Code(CatalogPath)+" could not be edited ("+mdtext.Text(oneLine(err.Error(), 160))+"); set spec.owner by hand in this branch.")
		}
	} else {
		notes = append(notes, "There is no "+mdtext.Code(CatalogPath)+" to update.")
	}

	var body strings.Builder
	fmt.Fprintf(&body, "Moves ownership of %s from %s to %s, closing the SRE handoff", mdtext.Code(s.Repo), mdtext.Code(from), mdtext.Code(to))
	if s.Issue > 0 {
		fmt.Fprintf(&body, " #%d", s.Issue)
	}
	body.WriteString(".\n\n")
	fmt.Fprintf(&body, "- CODEOWNERS: every rule owned by %s is owned by %s", mdtext.Code(from), mdtext.Code(to))
	if cfg.KeepCoreSecondary {
		fmt.Fprintf(&body, ", with %s kept as a secondary owner", mdtext.Code(from))
	}
	body.WriteString("; every other rule, comment and the order are unchanged.\n")
	fmt.Fprintf(&body, "- %s: spec.owner names %s.\n", mdtext.Code(CatalogPath), mdtext.Code(team))
	for _, n := range notes {
		body.WriteString("- " + n + "\n")
	}
	var reviewers, teams, asked []string
	for _, slug := range []string{core, team} {
		if l := leadOf(cfg, org, slug); l != "" && loginRE.MatchString(l) {
			reviewers = append(reviewers, l)
			asked = append(asked, mdtext.Code("@"+l)+" (lead of "+mdtext.Code("@"+org+"/"+slug)+")")
		} else {
			teams = append(teams, slug)
			asked = append(asked, mdtext.Code("@"+org+"/"+slug)+" (no lead configured in `onboarding.leads`)")
		}
	}
	fmt.Fprintf(&body, "\n**Two-sided sign-off.** Review is requested from the outgoing side, %s, and the incoming side, %s. "+
		"GitHub reads CODEOWNERS from the base branch, so until this merges the outgoing owners (%s) are the code owners of these files: "+
		"their approval is required, and the incoming side's approval is asked for too. Merging it is the handoff.\n",
		asked[0], asked[1], mdtext.Code(from))
	repoName := s.Repo[strings.IndexByte(s.Repo, '/')+1:]
	return intent.PullRequest{
		Marker:  transferMarker(s),
		Head:    "tasuki/sre-handoff-" + branchSafe(repoName),
		Title:   "SRE handoff: move ownership of " + repoName + " to @" + org + "/" + team,
		Body:    body.String(),
		Message: "Move ownership of " + repoName + " to @" + org + "/" + team,
		Files:   files,
	}, reviewers, teams
}

func leadOf(cfg Config, org, slug string) string {
	for k, v := range cfg.Leads {
		if strings.EqualFold(strings.TrimPrefix(strings.TrimPrefix(k, "@"), org+"/"), slug) {
			return strings.TrimPrefix(v, "@")
		}
	}
	return ""
}

func branchSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return r
		}
		return '-'
	}, s)
}
