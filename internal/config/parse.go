package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"

	"github.com/tasuki-sre/tasuki/internal/yamlsafe"
)

// MaxSize is the largest configuration file tasuki reads. A larger one is
// reported as an error rather than parsed, so that a runaway file cannot
// stall a worker. Real files are a few kilobytes; an organisation listing
// hundreds of services stays well below.
const MaxSize = 128 << 10

// limits bound what a configuration file may hold beyond its size (see
// yamlsafe.Parse): the file is read at a pull request's head, so whoever
// opens the pull request writes it.
var limits = yamlsafe.Limits{MaxBytes: MaxSize}

// ParseError is a problem in one configuration file, located to the line and
// column when the file says where.
type ParseError struct {
	Source string // "acme/api:.github/tasuki.yml"
	Line   int    // 1-based; 0 when the problem has no place in the file
	Column int    // 1-based; 0 when unknown
	Msg    string
}

// Error reads "acme/api:.github/tasuki.yml:12:5: unknown field "aprovals" in review".
func (e *ParseError) Error() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.Source, e.Line, e.Column, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.Source, e.Line, e.Msg)
	default:
		return fmt.Sprintf("%s: %s", e.Source, e.Msg)
	}
}

// ParseErrors returns every *ParseError in err (a single one, or several
// joined by errors.Join as Fetched.Err holds them), in order.
func ParseErrors(err error) []*ParseError {
	if err == nil {
		return nil
	}
	var out []*ParseError
	var pe *ParseError
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, ParseErrors(e)...)
		}
	} else if errors.As(err, &pe) {
		out = append(out, pe)
	}
	return out
}

// Validator is implemented by feature Config structs that check more than
// types. Errors should start with the key they are about, as
// "review.approvals[0].team: unknown team"; Parse then points at its line.
// Several problems may be joined with errors.Join.
type Validator interface {
	Validate() error
}

// Source names a configuration file in messages: "acme/api:.github/tasuki.yml".
func Source(ownerRepo string) string { return ownerRepo + ":" + Path }

// OrgSource is the Source of the organisation defaults of ownerRepo's owner.
func OrgSource(ownerRepo string) string {
	owner, _, _ := strings.Cut(ownerRepo, "/")
	return Source(owner + "/.github")
}

// Parse computes the effective configuration of repository source
// ("owner/name") from the organisation defaults orgYAML and the repository's
// own file repoYAML (either may be nil when absent). Repository values win
// over organisation values key by key, deeply for mappings; lists replace;
// null keeps the inherited value. tasuki's built-in defaults (Default) fill
// the keys neither file sets; a mapping set in a file replaces the built-in
// one. A section that fails to decode or validate falls back to what the
// other files give it, so a mistake in one section never disables another;
// Err then lists every problem.
func Parse(source string, orgYAML, repoYAML []byte) Fetched {
	return parseFiles(OrgSource(source), Source(source), orgYAML, repoYAML)
}

// ParseLocal is Parse for one file read from disk (the Action's checkout, a
// CLI flag): messages name it by path ("ci/tasuki.yml:3:5: ...") and there
// are no organisation defaults.
func ParseLocal(path string, data []byte) Fetched {
	return parseFiles("", path, nil, data)
}

func parseFiles(orgSource, repoSource string, orgYAML, repoYAML []byte) Fetched {
	var out Fetched
	var errs []error
	files := []struct {
		source string
		data   []byte
	}{{orgSource, orgYAML}, {repoSource, repoYAML}}
	var layers []*layer
	for _, f := range files {
		if len(f.data) == 0 {
			continue
		}
		out.Sources = append(out.Sources, f.source)
		l, lerrs := readLayer(f.source, f.data)
		errs = append(errs, lerrs...)
		if l != nil {
			layers = append(layers, l)
		}
	}

	def := Default()
	cfg := reflect.ValueOf(&out.Config).Elem()
	defv := reflect.ValueOf(def)
	for _, sec := range configSections() {
		field := cfg.Field(sec.index)
		// Try all layers, then drop them from the top: the repository's
		// mistake should leave the organisation's choice in force.
		var firstErrs []error
		chosen := false
		for n := len(layers); n >= 0 && !chosen; n-- {
			merged := any(nil)
			present := false
			for _, l := range layers[:n] {
				if v, ok := l.sections[sec.name]; ok {
					merged = mergeValues(merged, v)
					present = true
				}
			}
			if !present && n > 0 {
				continue // these layers say nothing about this section
			}
			v, err := decodeSection(sec, defv.Field(sec.index), merged)
			if err != nil {
				if firstErrs == nil {
					firstErrs = []error{&ParseError{Source: topSource(layers[:n], files[1].source), Msg: fmt.Sprintf("%s: %v", sec.name, err)}}
				}
				continue
			}
			if verrs := validate(v); len(verrs) > 0 {
				if firstErrs == nil {
					for _, ve := range verrs {
						firstErrs = append(firstErrs, locate(layers[:n], files[1].source, ve))
					}
				}
				if n > 0 {
					continue
				}
				// The defaults themselves do not validate: a programming error in a
				// feature package. Keep them rather than crash; the error says so.
			}
			field.Set(v)
			chosen = true
		}
		if !chosen {
			field.Set(defv.Field(sec.index))
		}
		errs = append(errs, firstErrs...)
	}
	// Report in reading order: organisation file first, then top to bottom.
	rank := map[string]int{files[0].source: 0, files[1].source: 1}
	slices.SortStableFunc(errs, func(a, b error) int {
		pa, pb := ParseErrors(a), ParseErrors(b)
		if len(pa) == 0 || len(pb) == 0 {
			return 0
		}
		if d := rank[pa[0].Source] - rank[pb[0].Source]; d != 0 {
			return d
		}
		if d := pa[0].Line - pb[0].Line; d != 0 {
			return d
		}
		return pa[0].Column - pb[0].Column
	})
	out.Err = errors.Join(errs...)
	return out
}

// layer is one file that parsed: its sections as generic values for merging
// and its AST for locating keys.
type layer struct {
	source   string
	body     ast.Node
	sections map[string]any
}

// section is one top-level key of Config.
type section struct {
	name  string
	index int
	typ   reflect.Type
}

func configSections() []section {
	t := reflect.TypeOf(Config{})
	var out []section
	for i := range t.NumField() {
		f := t.Field(i)
		name := yamlName(f)
		if name == "" || name == "-" {
			continue
		}
		out = append(out, section{name: name, index: i, typ: f.Type})
	}
	return out
}

func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	tag, ok := f.Tag.Lookup("yaml")
	if !ok {
		return strings.ToLower(f.Name)
	}
	name, _, _ := strings.Cut(tag, ",")
	if name == "" {
		return strings.ToLower(f.Name)
	}
	return name
}

func sizeError(source string, size int) *ParseError {
	return &ParseError{Source: source, Msg: fmt.Sprintf("file is %d bytes, more than the %d tasuki reads; ignored", size, MaxSize)}
}

// readLayer parses one file strictly. A syntax error loses the whole file; a
// type error or unknown key loses only its section.
func readLayer(source string, data []byte) (*layer, []error) {
	if len(data) > MaxSize {
		return nil, []error{sizeError(source, len(data))}
	}
	file, err := yamlsafe.Parse(source, data, limits)
	if err != nil {
		return nil, []error{safeError(source, err)}
	}
	var body ast.Node
	for i, d := range file.Docs {
		if d == nil || d.Body == nil {
			continue
		}
		if body != nil {
			return nil, []error{&ParseError{Source: source, Line: posLine(file.Docs[i].Body), Column: posCol(file.Docs[i].Body),
				Msg: "more than one YAML document; keep the configuration in one"}}
		}
		body = d.Body
	}
	if body == nil {
		return nil, nil // empty or only comments: same as absent
	}
	mapping, ok := unwrap(body).(*ast.MappingNode)
	if !ok {
		return nil, []error{&ParseError{Source: source, Line: posLine(body), Column: posCol(body),
			Msg: "the file must be a mapping of sections (review:, postmortem:, ownership:, ...)"}}
	}
	var errs []error
	// Unknown sections first: the strict decode below stops at the first
	// problem, and decoding the file again for each of 2,000 unknown keys
	// took 3.6 s and 880 MB. What is left are the few known sections.
	for i := 0; i < len(mapping.Values); {
		mv := mapping.Values[i]
		if mv.Key != nil && !mv.Key.IsMergeKey() {
			if key := keyString(mv.Key); !isSection(key) {
				errs = append(errs, &ParseError{Source: source, Line: posLine(mv.Key), Column: posCol(mv.Key), Msg: unknownSection(key)})
				mapping.Values = slices.Delete(mapping.Values, i, i+1)
				continue
			}
		}
		i++
	}
	for attempt := 0; attempt <= len(mapping.Values)+1; attempt++ {
		var c Config
		err := decodeNode(mapping, &c, true)
		if err == nil {
			break
		}
		pe := yamlParseError(source, mapping, err)
		errs = append(errs, pe)
		i := sectionAt(mapping, err)
		if i < 0 {
			return nil, errs // cannot tell which section: lose the file
		}
		mapping.Values = slices.Delete(mapping.Values, i, i+1)
	}
	// goccy's strict decoding of the whole file has holes (a mapping holding
	// an anchor can hide an unknown key or a scalar where a section should
	// be), so check each remaining section on its own too. A section using
	// aliases is left to the whole-file pass, since its anchor may live in
	// another section.
	for i := 0; i < len(mapping.Values); {
		mv := mapping.Values[i]
		key := keyString(mv.Key)
		sec, known := sectionByName(key)
		var pe *ParseError
		switch {
		case !known:
			pe = &ParseError{Source: source, Line: posLine(mv.Key), Column: posCol(mv.Key), Msg: unknownSection(key)}
		case isNull(mv.Value):
		default:
			if kp := checkKeys(mv.Value, sec.typ, []string{key}); kp != nil {
				pe = &ParseError{Source: source, Line: kp.line, Column: kp.col, Msg: kp.msg}
			} else if hasAlias(mv.Value) {
				// decoded with the whole file above
			} else if err := decodeNode(mv.Value, reflect.New(sec.typ).Interface(), true); err != nil {
				pe = yamlParseError(source, mapping, err)
			}
		}
		if pe != nil {
			errs = append(errs, pe)
			mapping.Values = slices.Delete(mapping.Values, i, i+1)
			continue
		}
		i++
	}
	var generic map[string]any
	if err := decodeNode(mapping, &generic, false); err != nil {
		return nil, append(errs, yamlParseError(source, mapping, err))
	}
	return &layer{source: source, body: mapping, sections: generic}, errs
}

// safeError turns a refusal of yamlsafe.Parse into a ParseError.
func safeError(source string, err error) *ParseError {
	var ye *yamlsafe.Error
	if errors.As(err, &ye) {
		return &ParseError{Source: source, Line: ye.Line, Column: ye.Column, Msg: ye.Msg}
	}
	return &ParseError{Source: source, Msg: err.Error()}
}

// decodeNode decodes n into v, turning a panic inside the YAML library into
// an error: a bad file must never take a worker down.
func decodeNode(n ast.Node, v any, strict bool) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cannot decode: %v", r)
		}
	}()
	if strict {
		return yaml.NodeToValue(n, v, yaml.Strict())
	}
	return yaml.NodeToValue(n, v)
}

// sectionAt returns the index of the top-level entry holding the position
// err points at, or -1.
func sectionAt(m *ast.MappingNode, err error) int {
	tk := errToken(err)
	if tk == nil || tk.Position == nil {
		return -1
	}
	for i, mv := range m.Values {
		if containsPos(mv, tk.Position) {
			return i
		}
	}
	return -1
}

func errToken(err error) *token.Token {
	var ye yaml.Error
	if errors.As(err, &ye) {
		return ye.GetToken()
	}
	return nil
}

// containsPos reports whether the subtree n holds a token at p.
func containsPos(n ast.Node, p *token.Position) bool {
	found := false
	ast.Walk(visitor(func(n ast.Node) bool {
		if found {
			return false
		}
		if tk := n.GetToken(); tk != nil && tk.Position != nil && tk.Position.Offset == p.Offset && tk.Position.Line == p.Line {
			found = true
		}
		return !found
	}), n)
	return found
}

type visitor func(ast.Node) bool

func (v visitor) Visit(n ast.Node) ast.Visitor {
	if v(n) {
		return v
	}
	return nil
}

// yamlParseError turns a goccy error into a ParseError naming the key. The
// message never quotes the offending value (goccy's own excerpt would), so a
// secret pasted into the wrong key does not end up in a check run or a log.
func yamlParseError(source string, root ast.Node, err error) *ParseError {
	var ye yaml.Error
	if !errors.As(err, &ye) {
		return &ParseError{Source: source, Msg: err.Error()}
	}
	pe := &ParseError{Source: source, Msg: ye.GetMessage()}
	tk := ye.GetToken()
	if tk != nil && tk.Position != nil {
		pe.Line, pe.Column = tk.Position.Line, tk.Position.Column
	}
	var path []string
	var isKey bool
	if root != nil && tk != nil && tk.Position != nil {
		path, isKey = pathAt(root, tk.Position, nil)
	}
	where := strings.Join(path, ".")
	var (
		unknown  *yaml.UnknownFieldError
		typeErr  *yaml.TypeError
		nodeType *yaml.UnexpectedNodeTypeError
	)
	switch {
	case errors.As(err, &unknown):
		key := ""
		if tk != nil {
			key = tk.Value
		}
		switch {
		case len(path) == 0 || (len(path) == 1 && isKey):
			pe.Msg = unknownSection(key)
		default:
			parent := path[:len(path)-1]
			pe.Msg = fmt.Sprintf("unknown field %q in %s", key, strings.Join(parent, "."))
			if s := suggest(key, fieldNames(parent)); s != "" {
				pe.Msg += fmt.Sprintf("; did you mean %q?", s)
			}
		}
	case errors.As(err, &typeErr):
		pe.Msg = fmt.Sprintf("%s: want %s", where, describeType(typeErr.DstType))
		if typeErr.SrcType != nil {
			pe.Msg += ", got " + describeType(typeErr.SrcType)
		}
	case errors.As(err, &nodeType):
		pe.Msg = fmt.Sprintf("%s: want %s, got %s", where, describeNode(nodeType.Expected), describeNode(nodeType.Actual))
	default:
		if where != "" && !strings.Contains(pe.Msg, where) {
			pe.Msg = where + ": " + pe.Msg
		}
	}
	pe.Msg = strings.TrimPrefix(pe.Msg, ": ")
	return pe
}

// pathAt returns the key path to the node holding the token at p, and
// whether that token is the key itself.
func pathAt(n ast.Node, p *token.Position, prefix []string) ([]string, bool) {
	n = unwrap(n)
	switch n := n.(type) {
	case *ast.MappingNode:
		for _, mv := range n.Values {
			if path, isKey := pathAt(mv, p, prefix); path != nil {
				return path, isKey
			}
		}
	case *ast.MappingValueNode:
		key := keyString(n.Key)
		here := append(slices.Clone(prefix), key)
		if tk := n.Key.GetToken(); tk != nil && samePos(tk.Position, p) {
			return here, true
		}
		if containsPos(n.Value, p) {
			if path, isKey := pathAt(n.Value, p, here); path != nil {
				return path, isKey
			}
			return here, false
		}
	case *ast.SequenceNode:
		for i, v := range n.Values {
			here := slices.Clone(prefix)
			if len(here) > 0 {
				here[len(here)-1] += "[" + strconv.Itoa(i) + "]"
			}
			if containsPos(v, p) {
				if path, isKey := pathAt(v, p, here); path != nil {
					return path, isKey
				}
				return here, false
			}
		}
	}
	return nil, false
}

func samePos(a, b *token.Position) bool {
	return a != nil && b != nil && a.Line == b.Line && a.Column == b.Column
}

func unwrap(n ast.Node) ast.Node {
	for {
		switch x := n.(type) {
		case *ast.AnchorNode:
			n = x.Value
		case *ast.TagNode:
			n = x.Value
		default:
			return n
		}
	}
}

func keyString(k ast.MapKeyNode) string {
	if k == nil {
		return ""
	}
	if tk := k.GetToken(); tk != nil {
		return tk.Value
	}
	return k.String()
}

func posLine(n ast.Node) int {
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return tk.Position.Line
	}
	return 0
}

func posCol(n ast.Node) int {
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return tk.Position.Column
	}
	return 0
}

func describeType(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if t.String() == "time.Duration" {
			return "a duration such as 72h"
		}
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping"
	case reflect.Pointer:
		return describeType(t.Elem())
	}
	return t.String()
}

func describeNode(t ast.NodeType) string {
	switch t {
	case ast.MappingType, ast.MappingValueType:
		return "a mapping"
	case ast.SequenceType:
		return "a list"
	case ast.StringType, ast.LiteralType:
		return "a string"
	case ast.IntegerType:
		return "an integer"
	case ast.FloatType:
		return "a number"
	case ast.BoolType:
		return "true or false"
	case ast.NullType:
		return "nothing"
	}
	return strings.ToLower(t.String())
}

// keyProblem is a key that the Go type at its place does not have.
type keyProblem struct {
	line, col int
	msg       string
}

var (
	bytesUnmarshaler     = reflect.TypeOf((*yaml.BytesUnmarshaler)(nil)).Elem()
	interfaceUnmarshaler = reflect.TypeOf((*yaml.InterfaceUnmarshaler)(nil)).Elem()
)

// checkKeys walks n beside the Go type t and reports the first key t has no
// field for. goccy's own strict mode misses some (a non-string key, a key
// without a value); this walk sees every key the file holds.
func checkKeys(n ast.Node, t reflect.Type, path []string) *keyProblem {
	n = unwrap(n)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Implements(bytesUnmarshaler) || t.Implements(interfaceUnmarshaler) ||
		reflect.PointerTo(t).Implements(bytesUnmarshaler) || reflect.PointerTo(t).Implements(interfaceUnmarshaler) {
		return nil // the type decides what it accepts
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := n.(*ast.MappingNode)
		if !ok {
			return nil // a type error, reported by the decoder
		}
		for _, mv := range m.Values {
			if mv.Key != nil && mv.Key.IsMergeKey() {
				continue
			}
			key := keyString(mv.Key)
			var field *reflect.StructField
			for i := range t.NumField() {
				if f := t.Field(i); yamlName(f) == key && key != "-" {
					field = &f
					break
				}
			}
			if field == nil {
				msg := fmt.Sprintf("unknown field %q in %s", key, strings.Join(path, "."))
				var names []string
				for i := range t.NumField() {
					if n := yamlName(t.Field(i)); n != "" && n != "-" {
						names = append(names, n)
					}
				}
				if s := suggest(key, names); s != "" {
					msg += fmt.Sprintf("; did you mean %q?", s)
				}
				return &keyProblem{line: posLine(mv.Key), col: posCol(mv.Key), msg: msg}
			}
			if kp := checkKeys(mv.Value, field.Type, append(slices.Clone(path), key)); kp != nil {
				return kp
			}
		}
	case reflect.Map:
		m, ok := n.(*ast.MappingNode)
		if !ok {
			return nil
		}
		for _, mv := range m.Values {
			if kp := checkKeys(mv.Value, t.Elem(), append(slices.Clone(path), keyString(mv.Key))); kp != nil {
				return kp
			}
		}
	case reflect.Slice, reflect.Array:
		sq, ok := n.(*ast.SequenceNode)
		if !ok {
			return nil
		}
		for i, v := range sq.Values {
			p := slices.Clone(path)
			p[len(p)-1] += "[" + strconv.Itoa(i) + "]"
			if kp := checkKeys(v, t.Elem(), p); kp != nil {
				return kp
			}
		}
	}
	return nil
}

func unknownSection(key string) string {
	msg := fmt.Sprintf("unknown section %q", key)
	if s := suggest(key, sectionNames()); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return msg
}

func sectionByName(name string) (section, bool) {
	for _, s := range configSections() {
		if s.name == name {
			return s, true
		}
	}
	return section{}, false
}

func isSection(name string) bool {
	_, ok := sectionByName(name)
	return ok
}

func isNull(n ast.Node) bool {
	if n == nil {
		return true
	}
	_, ok := unwrap(n).(*ast.NullNode)
	return ok
}

func hasAlias(n ast.Node) bool {
	found := false
	ast.Walk(visitor(func(n ast.Node) bool {
		if _, ok := n.(*ast.AliasNode); ok {
			found = true
		}
		return !found
	}), n)
	return found
}

func sectionNames() []string {
	var out []string
	for _, s := range configSections() {
		out = append(out, s.name)
	}
	return out
}

// fieldNames lists the keys the struct at path accepts, for suggestions.
func fieldNames(path []string) []string {
	t := reflect.TypeOf(Config{})
	for _, seg := range path {
		seg, _, _ = strings.Cut(seg, "[")
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		switch t.Kind() {
		case reflect.Map:
			t = t.Elem()
		case reflect.Struct:
			found := false
			for i := range t.NumField() {
				if yamlName(t.Field(i)) == seg {
					t, found = t.Field(i).Type, true
					break
				}
			}
			if !found {
				return nil
			}
		default:
			return nil
		}
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var out []string
	for i := range t.NumField() {
		if n := yamlName(t.Field(i)); n != "" && n != "-" {
			out = append(out, n)
		}
	}
	return out
}

// suggest returns the candidate within edit distance 2 of s, if one is
// clearly closest.
func suggest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// mergeValues lays over on top of base: mappings merge key by key, deeply;
// anything else (lists, scalars) replaces; null keeps base.
func mergeValues(base, over any) any {
	if over == nil {
		return base
	}
	om, ok1 := over.(map[string]any)
	bm, ok2 := base.(map[string]any)
	if !ok1 || !ok2 {
		return over
	}
	out := make(map[string]any, len(bm)+len(om))
	for k, v := range bm {
		out[k] = v
	}
	for k, v := range om {
		out[k] = mergeValues(bm[k], v)
	}
	return out
}

// dropNulls removes null mapping values, which mean "inherit" and so are
// the same as absent keys (strict decoding already lets a null unknown key
// through; a null left in would be reported after the merge, without a line).
func dropNulls(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			if x != nil {
				out[k] = dropNulls(x)
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = dropNulls(x)
		}
		return out
	}
	return v
}

// decodeSection builds one section: its defaults, with merged (the files'
// generic values) decoded over them. Over the defaults a file's mapping
// replaces the default mapping rather than merging into it: a repository that
// renames its severity labels must not inherit due dates keyed by the
// default names.
func decodeSection(sec section, def reflect.Value, merged any) (reflect.Value, error) {
	if merged == nil {
		return def, nil
	}
	// JSON, which is YAML, carries any key and string exactly; goccy's own
	// encoder writes some keys (a newline followed by "::") as YAML it
	// cannot read back. NaN and infinities are not JSON: those use YAML.
	all, err := json.Marshal(dropNulls(merged))
	if err != nil {
		if all, err = yaml.Marshal(merged); err != nil {
			return reflect.Value{}, fmt.Errorf("encode merged: %w", err)
		}
	}
	v := reflect.New(sec.typ)
	v.Elem().Set(def)
	if err := yaml.UnmarshalWithOptions(all, v.Interface(), yaml.Strict()); err != nil {
		return reflect.Value{}, fmt.Errorf("decode merged: %s", yamlMessage(err))
	}
	return v.Elem(), nil
}

func yamlMessage(err error) string {
	var ye yaml.Error
	if errors.As(err, &ye) {
		return ye.GetMessage()
	}
	return err.Error()
}

// validate calls Validate on a section value if its type has one and splits
// joined errors.
func validate(v reflect.Value) []error {
	var val Validator
	if x, ok := v.Interface().(Validator); ok {
		val = x
	} else if v.CanAddr() {
		if x, ok := v.Addr().Interface().(Validator); ok {
			val = x
		}
	} else {
		p := reflect.New(v.Type())
		p.Elem().Set(v)
		if x, ok := p.Interface().(Validator); ok {
			val = x
		}
	}
	if val == nil {
		return nil
	}
	err := val.Validate()
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// locate points a validation error at the key it names ("section.a.b[1]: ...")
// in the topmost layer that has it, falling back to the deepest part of the
// key found. Keys may hold dots, spaces or anything else, so the key is
// matched against the file's own keys rather than split up front.
func locate(layers []*layer, fallback string, err error) *ParseError {
	msg := err.Error()
	best, bestDepth := (*ParseError)(nil), 0
	for i := 0; i < len(msg); i++ {
		j := strings.Index(msg[i:], ": ")
		if j < 0 {
			break
		}
		i += j
		key := msg[:i]
		for l := len(layers) - 1; l >= 0; l-- {
			n, depth := findKey(layers[l].body, key)
			if n != nil && depth > bestDepth {
				best, bestDepth = &ParseError{Source: layers[l].source, Line: posLine(n), Column: posCol(n), Msg: msg}, depth
			}
		}
	}
	if best == nil {
		return &ParseError{Source: topSource(layers, fallback), Msg: msg}
	}
	return best
}

func topSource(layers []*layer, fallback string) string {
	if len(layers) == 0 {
		return fallback
	}
	return layers[len(layers)-1].source
}

// findKey follows key ("a.b[1].c") from n and returns the node of the
// deepest part found (a mapping key, or a list element) and how many parts
// matched. At each mapping the longest key that fits wins, so "api.v2" can
// be one service name.
func findKey(n ast.Node, key string) (ast.Node, int) {
	n = unwrap(n)
	if strings.HasPrefix(key, "[") {
		idxStr, rest, ok := strings.Cut(key[1:], "]")
		idx, err := strconv.Atoi(idxStr)
		sq, isSeq := n.(*ast.SequenceNode)
		if !ok || err != nil || !isSeq || idx < 0 || idx >= len(sq.Values) {
			return nil, 0
		}
		el := sq.Values[idx]
		if rest = strings.TrimPrefix(rest, "."); rest != "" {
			if deeper, d := findKey(el, rest); deeper != nil {
				return deeper, d + 1
			}
		}
		return el, 1
	}
	mn, ok := n.(*ast.MappingNode)
	if !ok {
		return nil, 0
	}
	var best *ast.MappingValueNode
	for _, mv := range mn.Values {
		k := keyString(mv.Key)
		if k == "" || !strings.HasPrefix(key, k) {
			continue
		}
		if rest := key[len(k):]; rest == "" || rest[0] == '.' || rest[0] == '[' {
			if best == nil || len(k) > len(keyString(best.Key)) {
				best = mv
			}
		}
	}
	if best == nil {
		return nil, 0
	}
	rest := strings.TrimPrefix(key[len(keyString(best.Key)):], ".")
	if rest != "" {
		if deeper, d := findKey(best.Value, rest); deeper != nil {
			return deeper, d + 1
		}
	}
	return best.Key, 1
}
