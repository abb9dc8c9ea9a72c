package onboarding

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"

	"github.com/tasuki-sre/tasuki/internal/ownership"
	"github.com/tasuki-sre/tasuki/internal/yamlsafe"
	"github.com/tasuki-sre/tasuki/templates"
)

// MaxChecklistSize is the largest checklist file tasuki reads; the
// built-in one is a few kilobytes.
const MaxChecklistSize = 64 << 10

// MaxItems bounds the items of a checklist: each becomes a line of the
// handoff issue and an entry of its hidden state, which must fit GitHub's
// 65,536 characters of an issue body.
const MaxItems = maxItems

var checklistLimits = yamlsafe.Limits{MaxBytes: MaxChecklistSize}

var idRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,47}$`)

// Tiers are the handoff tiers.
var Tiers = []string{"A", "B", "C"}

func (e *ChecklistError) Error() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.Source, e.Line, e.Column, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.Source, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Source, e.Msg)
}

// Field bits of Item.set: which fields a file wrote, for Merge.
const (
	setTitle = 1 << iota
	setPhase
	setKind
	setVerifier
	setParams
	setTiers
	setExpires
	setEvidence
	setNA
)

// itemYAML is an item as written: pointers tell a field left out from a
// field set to its zero value.
type itemYAML struct {
	ID               string         `yaml:"id"`
	Title            *string        `yaml:"title"`
	Phase            *string        `yaml:"phase"`
	Kind             *string        `yaml:"kind"`
	Verifier         *string        `yaml:"verifier"`
	Params           map[string]any `yaml:"params"`
	Tiers            *[]string      `yaml:"tiers"`
	ExpiresAfter     *string        `yaml:"expires_after"`
	EvidenceRequired *bool          `yaml:"evidence_required"`
	NAAllowed        any            `yaml:"na_allowed"`
	Remove           bool           `yaml:"remove"`
}

func parseChecklist(name string, b []byte) (Checklist, error) {
	c := Checklist{Sources: []string{name}}
	if len(bytes.TrimSpace(b)) == 0 {
		return c, nil
	}
	file, err := yamlsafe.Parse(name, b, checklistLimits)
	if err != nil {
		var ye *yamlsafe.Error
		if errors.As(err, &ye) {
			return c, &ChecklistError{Source: name, Line: ye.Line, Column: ye.Column, Msg: ye.Msg}
		}
		return c, &ChecklistError{Source: name, Msg: err.Error()}
	}
	var body ast.Node
	for _, d := range file.Docs {
		if d == nil || d.Body == nil {
			continue
		}
		if body != nil {
			return c, errAt(name, d.Body, "more than one YAML document; keep the checklist in one")
		}
		body = d.Body
	}
	if body == nil {
		return c, nil
	}
	root, ok := unwrap(body).(*ast.MappingNode)
	if !ok {
		return c, errAt(name, body, "the checklist must be a mapping with a list of items (items:)")
	}
	var itemsNode ast.Node
	var errs []error
	for _, mv := range root.Values {
		switch k := keyString(mv.Key); k {
		case "items":
			itemsNode = unwrap(mv.Value)
		case "allow_repo_relaxing":
			if err := decodeNode(unwrap(mv.Value), &c.AllowRepoRelaxing); err != nil {
				errs = append(errs, errAt(name, mv.Value, "allow_repo_relaxing is true or false"))
			}
			c.allowLine = posLine(mv.Key)
		default:
			errs = append(errs, errAt(name, mv.Key, fmt.Sprintf("unknown key %q; the checklist holds items: (and, in the organisation's, allow_repo_relaxing:)", k)))
		}
	}
	if itemsNode == nil {
		return c, errors.Join(errs...)
	}
	if _, null := itemsNode.(*ast.NullNode); null {
		return c, errors.Join(errs...)
	}
	seq, ok := itemsNode.(*ast.SequenceNode)
	if !ok {
		return c, errors.Join(append(errs, errAt(name, itemsNode, "items must be a list"))...)
	}
	seen := map[string]int{}
	for _, n := range seq.Values {
		it, err := parseItem(name, n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if prev, dup := seen[it.ID]; dup {
			errs = append(errs, &ChecklistError{Source: name, Line: it.Line, Msg: fmt.Sprintf("item %q is defined twice (first at line %d)", it.ID, prev)})
			continue
		}
		seen[it.ID] = it.Line
		c.Items = append(c.Items, it)
	}
	if len(c.Items) > MaxItems {
		errs = append(errs, &ChecklistError{Source: name, Msg: fmt.Sprintf("%d items, more than the %d tasuki tracks", len(c.Items), MaxItems)})
		c.Items = c.Items[:MaxItems]
	}
	return c, errors.Join(errs...)
}

// parseItem decodes one item strictly and checks each field it sets.
func parseItem(name string, n ast.Node) (Item, error) {
	m, ok := unwrap(n).(*ast.MappingNode)
	if !ok {
		return Item{}, errAt(name, n, "an item must be a mapping (id:, title:, phase:, kind:, ...)")
	}
	var y itemYAML
	if err := decodeNode(m, &y); err != nil {
		return Item{}, yamlErr(name, m, err)
	}
	line := posLine(m)
	at := func(key, msg string) error {
		if kn := keyNode(m, key); kn != nil {
			return errAt(name, kn, msg)
		}
		return &ChecklistError{Source: name, Line: line, Msg: msg}
	}
	it := Item{ID: y.ID, Source: name, Line: line, Remove: y.Remove, Params: y.Params, keyLines: map[string]int{}}
	for _, mv := range m.Values {
		it.keyLines[keyString(mv.Key)] = posLine(mv.Key)
	}
	var errs []error
	if !idRE.MatchString(y.ID) {
		errs = append(errs, at("id", fmt.Sprintf("item id %q must be lower-case letters, digits and '-', starting with a letter, at most 48", y.ID)))
	}
	if y.Title != nil {
		it.Title, it.set = strings.TrimSpace(*y.Title), it.set|setTitle
		if it.Title == "" || len(it.Title) > 120 || strings.ContainsAny(it.Title, "\r\n") {
			errs = append(errs, at("title", "title must be one line of 1 to 120 bytes"))
		}
	}
	if y.Phase != nil {
		p, err := ownership.ParsePhase(*y.Phase)
		if err == nil && p == PhaseGuard {
			err = errors.New("guard has no items: it checks what the transfer handed over")
		}
		if err != nil {
			errs = append(errs, at("phase", err.Error()))
		}
		it.Phase, it.set = p, it.set|setPhase
	}
	if y.Kind != nil {
		it.Kind, it.set = Kind(*y.Kind), it.set|setKind
		if !slices.Contains([]Kind{KindAuto, KindSemi, KindManual}, it.Kind) {
			errs = append(errs, at("kind", fmt.Sprintf("kind %q is not auto, semi or manual", *y.Kind)))
		}
	}
	if y.Verifier != nil {
		it.Verifier, it.set = *y.Verifier, it.set|setVerifier
		if _, ok := verifiers[it.Verifier]; !ok {
			errs = append(errs, at("verifier", fmt.Sprintf("unknown verifier %q (one of %s)", it.Verifier, strings.Join(verifierNames(), ", "))))
		}
	}
	if y.Params != nil {
		it.set |= setParams
	}
	if it.set&(setVerifier|setParams) != 0 && it.Verifier != "" {
		if v, ok := verifiers[it.Verifier]; ok {
			if err := v.check(it.Params); err != nil {
				key := "params"
				if y.Params == nil {
					key = "verifier"
				}
				errs = append(errs, at(key, fmt.Sprintf("%s: %v", it.Verifier, err)))
			}
		}
	}
	if y.Tiers != nil {
		it.Tiers, it.set = *y.Tiers, it.set|setTiers
		for _, t := range it.Tiers {
			if !slices.Contains(Tiers, t) {
				errs = append(errs, at("tiers", fmt.Sprintf("tier %q is not A, B or C", t)))
			}
		}
	}
	if y.ExpiresAfter != nil {
		d, err := parseDuration(*y.ExpiresAfter)
		if err != nil {
			errs = append(errs, at("expires_after", err.Error()))
		}
		it.ExpiresAfter, it.set = d, it.set|setExpires
	}
	if y.EvidenceRequired != nil {
		it.EvidenceRequired, it.set = *y.EvidenceRequired, it.set|setEvidence
	}
	if y.NAAllowed != nil {
		it.set |= setNA
		switch v := y.NAAllowed.(type) {
		case bool:
			if v {
				it.NAAllowed = slices.Clone(Tiers)
			}
		case []any:
			for _, t := range v {
				s, _ := t.(string)
				if !slices.Contains(Tiers, s) {
					errs = append(errs, at("na_allowed", fmt.Sprintf("tier %v is not A, B or C", t)))
					continue
				}
				it.NAAllowed = append(it.NAAllowed, s)
			}
		default:
			errs = append(errs, at("na_allowed", "na_allowed is true, false or a list of tiers"))
		}
	}
	return it, errors.Join(errs...)
}

// parseDuration reads "90d", "12w" or a Go duration.
func parseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	bad := fmt.Errorf("duration %q is not like 90d, 12w or 720h", s)
	if s == "" {
		return 0, bad
	}
	unit := s[len(s)-1]
	if unit == 'd' || unit == 'w' {
		n, err := strconv.Atoi(s[:len(s)-1])
		if err != nil || n <= 0 || n > 3650 {
			return 0, bad
		}
		day := 24 * time.Hour
		if unit == 'w' {
			day *= 7
		}
		return Duration(time.Duration(n) * day), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, bad
	}
	return Duration(d), nil
}

// String writes d as parseDuration reads it.
func (d Duration) String() string {
	t := time.Duration(d)
	switch {
	case t == 0:
		return "0"
	case t%(7*24*time.Hour) == 0:
		return fmt.Sprintf("%dw", t/(7*24*time.Hour))
	case t%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", t/(24*time.Hour))
	}
	return t.String()
}

func appliesTo(tiers []string, tier string) bool {
	return len(tiers) == 0 || slices.Contains(tiers, tier)
}

func (c Checklist) item(id string) (Item, bool) {
	for _, it := range c.Items {
		if strings.EqualFold(it.ID, id) {
			return it, true
		}
	}
	return Item{}, false
}

// ForTier returns the items of c that apply to tier, in order.
func (c Checklist) ForTier(tier string) []Item {
	var out []Item
	for _, it := range c.Items {
		if it.AppliesTo(tier) {
			out = append(out, it)
		}
	}
	return out
}

func merge(base Checklist, overrides ...Checklist) (Checklist, error) {
	out := Checklist{Sources: slices.Clone(base.Sources), Items: slices.Clone(base.Items), AllowRepoRelaxing: base.AllowRepoRelaxing}
	for _, o := range overrides {
		out.Sources = append(out.Sources, o.Sources...)
		out.AllowRepoRelaxing = out.AllowRepoRelaxing || o.AllowRepoRelaxing
		for _, it := range o.Items {
			i := slices.IndexFunc(out.Items, func(x Item) bool { return x.ID == it.ID })
			switch {
			case it.Remove && i >= 0:
				out.Items = slices.Delete(out.Items, i, i+1)
			case it.Remove:
			case i >= 0:
				out.Items[i] = overlay(out.Items[i], it)
			default:
				// A new item goes after the last item of its phase.
				j := len(out.Items)
				for k := len(out.Items) - 1; k >= 0; k-- {
					if out.Items[k].Phase.Index() <= it.Phase.Index() {
						j = k + 1
						break
					}
					j = k
				}
				out.Items = slices.Insert(out.Items, j, it)
			}
		}
	}
	var errs []error
	for _, it := range out.Items {
		errs = append(errs, validateItem(it)...)
	}
	if len(out.Items) > MaxItems {
		errs = append(errs, fmt.Errorf("%s: %d items, more than the %d tasuki tracks", strings.Join(out.Sources, ", "), len(out.Items), MaxItems))
	}
	return out, errors.Join(errs...)
}

// overlay sets the fields of base that o wrote.
func overlay(base, o Item) Item {
	if o.set&setTitle != 0 {
		base.Title = o.Title
	}
	if o.set&setPhase != 0 {
		base.Phase = o.Phase
	}
	if o.set&setKind != 0 {
		base.Kind = o.Kind
		if o.Kind == KindManual && o.set&setVerifier == 0 {
			// A manual item has no check: the one it had goes with it.
			base.Verifier, base.Params = "", nil
		}
	}
	if o.set&setVerifier != 0 {
		base.Verifier = o.Verifier
		if o.set&setParams == 0 {
			base.Params = nil // another verifier's parameters do not carry over
		}
	}
	if o.set&setParams != 0 {
		base.Params = o.Params
	}
	if o.set&setTiers != 0 {
		base.Tiers = o.Tiers
	}
	if o.set&setExpires != 0 {
		base.ExpiresAfter = o.ExpiresAfter
	}
	if o.set&setEvidence != 0 {
		base.EvidenceRequired = o.EvidenceRequired
	}
	if o.set&setNA != 0 {
		base.NAAllowed = o.NAAllowed
	}
	base.set |= o.set
	base.Source, base.Line = o.Source, o.Line
	return base
}

// validateItem checks that a merged item is complete and consistent.
func validateItem(it Item) []error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, &ChecklistError{Source: it.Source, Line: it.Line, Msg: fmt.Sprintf("item %q: ", it.ID) + fmt.Sprintf(format, args...)})
	}
	if it.Title == "" {
		bad("needs a title")
	}
	if !it.Phase.Valid() || it.Phase == PhaseGuard {
		bad("needs a phase (kickoff, observe, shadow, reverse-shadow, transfer)")
	}
	switch it.Kind {
	case KindAuto:
		if it.Verifier == "" {
			bad("an auto item needs a verifier")
		}
		if len(it.NAAllowed) > 0 {
			bad("an auto item cannot be marked not applicable; make it semi or manual")
		}
	case KindSemi:
	case KindManual:
		if it.Verifier != "" {
			bad("a manual item has no verifier; make it semi to verify it too")
		}
	default:
		bad("needs a kind (auto, semi or manual)")
	}
	if v, ok := verifiers[it.Verifier]; it.Verifier != "" && ok {
		if err := v.check(it.Params); err != nil {
			bad("%s: %v", it.Verifier, err)
		}
	} else if it.Verifier != "" {
		bad("unknown verifier %q", it.Verifier)
	}
	return errs
}

// DefaultPath is the built-in checklist's name in messages.
const DefaultPath = "templates/onboarding.yml"

var builtin = sync.OnceValue(parseBuiltin)

// defaultChecklist returns a copy of the built-in checklist, parsed once.
func defaultChecklist() Checklist {
	c := builtin()
	return Checklist{Sources: slices.Clone(c.Sources), Items: slices.Clone(c.Items)}
}

func parseBuiltin() Checklist {
	b, err := templates.FS.ReadFile(templates.Onboarding)
	if err != nil {
		panic(fmt.Sprintf("built-in checklist: %v", err))
	}
	c, err := parseChecklist(DefaultPath, b)
	if err == nil {
		c, err = merge(c)
	}
	if err != nil {
		// TestDefaultChecklist keeps the embedded file valid.
		panic(fmt.Sprintf("built-in checklist: %v", err))
	}
	return c
}

// --- YAML helpers --------------------------------------------------------

func unwrap(n ast.Node) ast.Node {
	for {
		switch t := n.(type) {
		case *ast.TagNode:
			n = t.Value
		case *ast.AnchorNode:
			n = t.Value
		case *ast.CommentGroupNode:
			return n
		default:
			return n
		}
	}
}

func keyString(k ast.MapKeyNode) string {
	if k == nil {
		return ""
	}
	if s, ok := k.(*ast.StringNode); ok {
		return s.Value
	}
	return strings.TrimSpace(k.String())
}

func keyNode(m *ast.MappingNode, key string) ast.Node {
	for _, mv := range m.Values {
		if keyString(mv.Key) == key {
			return mv.Key
		}
	}
	return nil
}

func posLine(n ast.Node) int {
	if n == nil {
		return 0
	}
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return tk.Position.Line
	}
	return 0
}

func posCol(n ast.Node) int {
	if n == nil {
		return 0
	}
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return tk.Position.Column
	}
	return 0
}

func errAt(name string, n ast.Node, msg string) *ChecklistError {
	return &ChecklistError{Source: name, Line: posLine(n), Column: posCol(n), Msg: msg}
}

// decodeNode decodes n strictly, turning a panic in the YAML library into
// an error: a repository's file must never take a worker down.
func decodeNode(n ast.Node, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cannot decode: %v", r)
		}
	}()
	return yaml.NodeToValue(n, v, yaml.Strict())
}

// yamlErr turns a goccy error into a ChecklistError without the source
// excerpt goccy adds.
func yamlErr(name string, n ast.Node, err error) *ChecklistError {
	var ye yaml.Error
	if errors.As(err, &ye) {
		ce := &ChecklistError{Source: name, Msg: ye.GetMessage()}
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			ce.Line, ce.Column = tk.Position.Line, tk.Position.Column
		}
		return ce
	}
	return &ChecklistError{Source: name, Line: posLine(n), Msg: err.Error()}
}

func yamlNodeToValue(n ast.Node, v any) error { return yaml.NodeToValue(n, v) }

func loadChecklist(orgName string, org []byte, repoName string, repo []byte) (Checklist, error) {
	c := Default()
	var errs []error
	for _, f := range []struct {
		name   string
		b      []byte
		isRepo bool
	}{{orgName, org, false}, {repoName, repo, true}} {
		if len(f.b) == 0 {
			continue
		}
		o, err := parseChecklist(f.name, f.b)
		if err == nil && f.isRepo {
			// The repository's own file may add and tighten, not relax.
			var refused error
			o, refused = restrict(c, o)
			errs = append(errs, refused)
		}
		if err == nil {
			var m Checklist
			if m, err = merge(c, o); err == nil {
				c = m
				continue
			}
		}
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}
