// Package yamlsafe is the one way tasuki parses YAML that others wrote: a
// repository's .github/tasuki.yml and catalog-info.yaml, read at a pull
// request's head, so that anyone who can open a pull request chooses their
// bytes. Whatever a file holds, parsing it must cost a worker a bounded
// amount of memory and time, and a file beyond the Limits is refused with
// an error naming the file and, where the parser can say, the line.
//
// tasuki decodes with goccy/go-yaml, whose AST gives strict decoding with
// line numbers; but goccy's parser is not linear. It allocates about 1.6
// bytes times the square of the nesting depth (a 40 KB line of "[" takes
// 2.5 GB and 0.5 s before anything could look at the depth), and grows
// with the square of the keys of one block mapping (16,000 keys: 850 MB)
// and of the number of documents (21,000: 1.9 GB) too. So Parse never lets goccy read more than smallInput bytes that a
// linear parser has not vetted first:
//
//  1. A larger input is parsed by go.yaml.in/yaml/v3 into a yaml.Node tree.
//     Its scanner stops at a depth of 10,000 and it allocates about 100
//     bytes per byte of input whatever the input (measured: under 20 MB for
//     128 KiB). Parsing into a yaml.Node expands no alias. The tree is then
//     checked against the Limits: nesting depth, values, keys of one
//     mapping, documents, and what aliases add (billion laughs).
//  2. Only then does goccy parse the bytes. Its AST is checked against the
//     same Limits before any caller decodes it, so the two parsers reading
//     the bytes differently cannot let a bomb through, and small inputs are
//     checked at all.
//
// Inputs of at most smallInput bytes skip step 1: goccy's worst case there
// is about 30 MB (4,096 "["), and its messages and positions for a typo are
// better than yaml.v3's (which names no column, and for its parser's
// errors the line where the enclosing construct began). A larger file
// that yaml.v3 finds invalid is refused with yaml.v3's message.
package yamlsafe

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	goyaml "github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	yamlv3 "go.yaml.in/yaml/v3"
)

// Limits bound what a document may hold. A zero field takes its default.
type Limits struct {
	// MaxBytes is the largest input (default 128 KiB).
	MaxBytes int
	// MaxDepth is how deeply mappings and sequences may nest, aliases
	// expanded (default 64).
	MaxDepth int
	// MaxValues is how many values (scalars, keys, mappings, sequences,
	// aliases) the input may write out (default 20,000).
	MaxValues int
	// MaxKeys is how many keys one mapping may hold (default 2,000).
	MaxKeys int
	// MaxDocuments is how many YAML documents the input may hold (default
	// 100).
	MaxDocuments int
	// MaxAliasExpansion is how many values aliases may add on top of those
	// written out (default 10,000). Anchors keep a file DRY; legitimate
	// files stay far below.
	MaxAliasExpansion int
}

// Defaults. A configuration file listing hundreds of services holds a few
// thousand values; at these limits goccy parses and decodes any input
// allowed through in well under 100 MB and half a second.
const (
	DefaultMaxBytes          = 128 << 10
	DefaultMaxDepth          = 64
	DefaultMaxValues         = 20000
	DefaultMaxKeys           = 2000
	DefaultMaxDocuments      = 100
	DefaultMaxAliasExpansion = 10000
)

// smallInput is the largest input goccy may parse without the yaml.v3
// pre-pass: measured, its worst case at this size (4,096 "[") allocates
// 29 MB; at 8 KiB it is 110 MB.
const smallInput = 4 << 10

func (l Limits) withDefaults() Limits {
	set := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	set(&l.MaxBytes, DefaultMaxBytes)
	set(&l.MaxDepth, DefaultMaxDepth)
	set(&l.MaxValues, DefaultMaxValues)
	set(&l.MaxKeys, DefaultMaxKeys)
	set(&l.MaxDocuments, DefaultMaxDocuments)
	set(&l.MaxAliasExpansion, DefaultMaxAliasExpansion)
	return l
}

// Error is an input Parse refused: invalid YAML, or beyond the Limits. Its
// message never quotes the input (goccy's own errors carry an excerpt), so
// a secret pasted into the wrong file does not end up in a check run or a
// log.
type Error struct {
	File   string
	Line   int // 1-based; 0 when unknown
	Column int // 1-based; 0 when unknown
	Msg    string
	// Limit is set when the input is refused for exceeding the Limits
	// rather than for being invalid YAML.
	Limit bool
}

// Error reads "catalog-info.yaml:1:9: nesting deeper than 64 levels; tasuki
// refuses it".
func (e *Error) Error() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Parse parses data, named file in errors, with goccy/go-yaml once it is
// known to be within l (see the package comment). Every error is an
// *Error. The returned AST is safe to decode: its aliases expand to at most
// l.MaxAliasExpansion more values and nothing in it nests deeper than
// l.MaxDepth.
func Parse(file string, data []byte, l Limits) (*ast.File, error) {
	l = l.withDefaults()
	if len(data) > l.MaxBytes {
		return nil, &Error{File: file, Limit: true,
			Msg: fmt.Sprintf("file is %d bytes, more than the %d tasuki reads; tasuki refuses it", len(data), l.MaxBytes)}
	}
	if len(data) > smallInput {
		if err := precheck(file, data, l); err != nil {
			return nil, err
		}
	}
	f, err := parseGoccy(data)
	if err != nil {
		return nil, goccyError(file, err)
	}
	if err := checkAST(file, f, l); err != nil {
		return nil, err
	}
	return f, nil
}

// precheck is Parse's linear pre-pass: it parses data with
// go.yaml.in/yaml/v3 and checks the tree against l (with its defaults set).
func precheck(file string, data []byte, l Limits) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &Error{File: file, Msg: fmt.Sprintf("invalid YAML: cannot parse (%v)", r)}
		}
	}()
	w := &walker{file: file, l: l, sizes: map[*yamlv3.Node]size{}, open: map[*yamlv3.Node]bool{}}
	dec := yamlv3.NewDecoder(bytes.NewReader(data))
	for docs := 0; ; docs++ {
		var doc yamlv3.Node
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return v3Error(file, data, l, err)
		}
		if docs == l.MaxDocuments {
			return &Error{File: file, Line: doc.Line, Limit: true,
				Msg: fmt.Sprintf("more than %d YAML documents; tasuki refuses it", l.MaxDocuments)}
		}
		if _, err := w.walk(&doc, 0); err != nil {
			return err
		}
	}
}

// size is what a value holds once its aliases are expanded: how many
// values, and how many levels of mappings and sequences.
type size struct{ values, height int }

// walker checks a yaml.v3 tree in document order, as a decoder would
// expand it.
type walker struct {
	file   string
	l      Limits
	values int // written out
	extra  int // added by aliases
	sizes  map[*yamlv3.Node]size
	open   map[*yamlv3.Node]bool // anchored values being walked
}

// walk checks n, which sits inside depth mappings and sequences. It stops
// at the first problem, so it never recurses deeper than MaxDepth.
func (w *walker) walk(n *yamlv3.Node, depth int) (size, *Error) {
	if n == nil {
		return size{}, nil
	}
	fail := func(msg string, args ...any) (size, *Error) {
		return size{}, &Error{File: w.file, Line: n.Line, Column: n.Column, Limit: true, Msg: fmt.Sprintf(msg, args...)}
	}
	if n.Kind == yamlv3.DocumentNode {
		var s size
		for _, c := range n.Content {
			cs, err := w.walk(c, depth)
			if err != nil {
				return size{}, err
			}
			s.values += cs.values
			s.height = max(s.height, cs.height)
		}
		return s, nil
	}
	if w.values++; w.values > w.l.MaxValues {
		return fail("more than %d values; tasuki refuses it", w.l.MaxValues)
	}
	switch n.Kind {
	case yamlv3.AliasNode:
		t := n.Alias
		if t == nil {
			return size{values: 1}, nil
		}
		if w.open[t] {
			return fail("alias *%s refers to the value that contains it; tasuki refuses it", n.Value)
		}
		s, ok := w.sizes[t]
		if !ok {
			s = size{values: 1}
		}
		if depth+s.height > w.l.MaxDepth {
			return fail("alias *%s nests values deeper than %d levels; tasuki refuses it", n.Value, w.l.MaxDepth)
		}
		if w.extra += s.values - 1; w.extra > w.l.MaxAliasExpansion {
			return fail(aliasMsg, w.l.MaxAliasExpansion)
		}
		return s, nil
	case yamlv3.MappingNode, yamlv3.SequenceNode:
		level := depth + 1
		if level > w.l.MaxDepth {
			return fail("nesting deeper than %d levels; tasuki refuses it", w.l.MaxDepth)
		}
		if n.Kind == yamlv3.MappingNode && len(n.Content)/2 > w.l.MaxKeys {
			return fail("a mapping of more than %d keys; tasuki refuses it", w.l.MaxKeys)
		}
		if n.Anchor != "" {
			w.open[n] = true
			defer delete(w.open, n)
		}
		s := size{values: 1}
		for _, c := range n.Content {
			cs, err := w.walk(c, level)
			if err != nil {
				return size{}, err
			}
			s.values += cs.values
			s.height = max(s.height, cs.height)
		}
		s.height++
		if n.Anchor != "" {
			w.sizes[n] = s
		}
		return s, nil
	}
	s := size{values: 1}
	if n.Anchor != "" {
		w.sizes[n] = s
	}
	return s, nil
}

const aliasMsg = "aliases expand the file by more than %d values; tasuki refuses it"

// v3LineRe splits yaml.v3's "yaml: line 3: did not find expected key".
var v3LineRe = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// v3ParserProblems are the messages of yaml.v3's parser (as opposed to its
// scanner). For those it reports the 0-based line of the construct it was
// in; for scanner errors, the 1-based line. Neither names line 1.
var v3ParserProblems = []string{
	"did not find expected ',' or ']'", "did not find expected ',' or '}'",
	"did not find expected '-' indicator", "did not find expected <document start>",
	"did not find expected <stream-start>", "did not find expected key",
	"did not find expected node content", "found duplicate %TAG directive",
	"found duplicate %YAML directive", "found incompatible YAML document",
	"found undefined tag handle",
}

// v3Error turns a yaml.v3 error into an *Error.
func v3Error(file string, data []byte, l Limits, err error) *Error {
	m := v3LineRe.FindStringSubmatch(err.Error())
	if m == nil {
		return &Error{File: file, Msg: "invalid YAML: " + err.Error()}
	}
	line, _ := strconv.Atoi(m[1])
	msg := m[2]
	if strings.HasPrefix(msg, "exceeded max depth of") {
		// yaml.v3's own cap (10,000). Say where the depth first passed ours.
		e := &Error{File: file, Limit: true, Msg: fmt.Sprintf("nesting deeper than %d levels; tasuki refuses it", l.MaxDepth)}
		e.Line, e.Column = flowDepthPos(data, l.MaxDepth)
		if e.Line == 0 {
			e.Line = max(line, 1)
		}
		return e
	}
	for _, p := range v3ParserProblems {
		if msg == p {
			line++
			break
		}
	}
	switch {
	case line == 0 && strings.HasPrefix(msg, "unknown anchor"):
		// The composer's error names no line at all.
	case line == 0:
		line = 1
	}
	return &Error{File: file, Line: line, Msg: "invalid YAML: " + msg}
}

// flowDepthPos returns the line and column at which unclosed "[" and "{"
// outside quotes and comments first nest deeper than limit, or 0, 0. It
// only locates an error yaml.v3 reported without a position; it decides
// nothing.
func flowDepthPos(data []byte, limit int) (line, col int) {
	depth, line, col := 0, 1, 0
	var quote byte
	comment := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		col++
		switch {
		case c == '\n':
			line, col, comment = line+1, 0, false
			if quote == 0 {
				continue
			}
		case comment:
		case quote != 0:
			if c == quote {
				quote = 0
			} else if c == '\\' && quote == '"' {
				i++
				col++
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#' && (i == 0 || data[i-1] == ' ' || data[i-1] == '\t'):
			comment = true
		case c == '[' || c == '{':
			if depth++; depth > limit {
				return line, col
			}
		case c == ']' || c == '}':
			depth = max(depth-1, 0)
		}
	}
	return 0, 0
}

// parseGoccy parses data with goccy, turning a panic inside the library
// into an error: a repository's file must never take a worker down.
func parseGoccy(data []byte) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("cannot parse: %v", r)
		}
	}()
	return parser.ParseBytes(data, 0)
}

// goccyError turns a goccy error into an *Error at its position, without
// the source excerpt goccy adds.
func goccyError(file string, err error) *Error {
	var ye goyaml.Error
	if !errors.As(err, &ye) {
		return &Error{File: file, Msg: err.Error()}
	}
	e := &Error{File: file, Msg: ye.GetMessage()}
	if tk := ye.GetToken(); tk != nil && tk.Position != nil {
		e.Line, e.Column = tk.Position.Line, tk.Position.Column
	}
	return e
}

// checkAST checks goccy's tree against l, expanding aliases as goccy's
// decoder does: by name, to the last anchor of that name completed before
// the alias. (goccy decodes an alias to the anchor being defined as null;
// counting the older anchor instead can only overestimate.)
func checkAST(file string, f *ast.File, l Limits) error {
	c := &astChecker{file: file, l: l}
	docs := 0
	for _, d := range f.Docs {
		if d == nil || d.Body == nil {
			continue
		}
		if docs++; docs > l.MaxDocuments {
			return c.fail(d.Body, "more than %d YAML documents; tasuki refuses it", l.MaxDocuments)
		}
		c.anchors = map[string]size{}
		if _, err := c.walk(d.Body, 0); err != nil {
			return err
		}
	}
	return nil
}

type astChecker struct {
	file          string
	l             Limits
	values, extra int
	anchors       map[string]size
}

func (c *astChecker) fail(n ast.Node, msg string, args ...any) *Error {
	e := &Error{File: c.file, Limit: true, Msg: fmt.Sprintf(msg, args...)}
	if n != nil {
		if tk := n.GetToken(); tk != nil && tk.Position != nil {
			e.Line, e.Column = tk.Position.Line, tk.Position.Column
		}
	}
	return e
}

// collection checks one level of nesting at n, inside depth others.
func (c *astChecker) collection(n ast.Node, depth int) *Error {
	if depth+1 > c.l.MaxDepth {
		return c.fail(n, "nesting deeper than %d levels; tasuki refuses it", c.l.MaxDepth)
	}
	return nil
}

func (c *astChecker) count(n ast.Node) *Error {
	if c.values++; c.values > c.l.MaxValues {
		return c.fail(n, "more than %d values; tasuki refuses it", c.l.MaxValues)
	}
	return nil
}

func (c *astChecker) walk(n ast.Node, depth int) (size, *Error) {
	switch n := n.(type) {
	case nil:
		return size{}, nil
	case *ast.DocumentNode:
		return c.walk(n.Body, depth)
	case *ast.TagNode:
		return c.walk(n.Value, depth)
	case *ast.MappingKeyNode:
		return c.walk(n.Value, depth)
	case *ast.AnchorNode:
		s, err := c.walk(n.Value, depth)
		if err != nil {
			return size{}, err
		}
		if n.Name != nil {
			if tk := n.Name.GetToken(); tk != nil {
				c.anchors[tk.Value] = s
			}
		}
		return s, nil
	case *ast.AliasNode:
		if err := c.count(n); err != nil {
			return size{}, err
		}
		s := size{values: 1}
		name := ""
		if n.Value != nil {
			if tk := n.Value.GetToken(); tk != nil {
				name = tk.Value
				if a, ok := c.anchors[name]; ok {
					s = a
				}
			}
		}
		if depth+s.height > c.l.MaxDepth {
			return size{}, c.fail(n, "alias *%s nests values deeper than %d levels; tasuki refuses it", name, c.l.MaxDepth)
		}
		if c.extra += s.values - 1; c.extra > c.l.MaxAliasExpansion {
			return size{}, c.fail(n, aliasMsg, c.l.MaxAliasExpansion)
		}
		return s, nil
	case *ast.MappingNode:
		if err := c.collection(n, depth); err != nil {
			return size{}, err
		}
		if len(n.Values) > c.l.MaxKeys {
			return size{}, c.fail(n, "a mapping of more than %d keys; tasuki refuses it", c.l.MaxKeys)
		}
		if err := c.count(n); err != nil {
			return size{}, err
		}
		s := size{values: 1}
		for _, mv := range n.Values {
			vs, err := c.pair(mv, depth+1)
			if err != nil {
				return size{}, err
			}
			s.values += vs.values
			s.height = max(s.height, vs.height)
		}
		s.height++
		return s, nil
	case *ast.MappingValueNode:
		// A key and value outside a MappingNode: a mapping of its own.
		if err := c.collection(n, depth); err != nil {
			return size{}, err
		}
		if err := c.count(n); err != nil {
			return size{}, err
		}
		s, err := c.pair(n, depth+1)
		if err != nil {
			return size{}, err
		}
		return size{values: s.values + 1, height: s.height + 1}, nil
	case *ast.SequenceNode:
		if err := c.collection(n, depth); err != nil {
			return size{}, err
		}
		if err := c.count(n); err != nil {
			return size{}, err
		}
		s := size{values: 1}
		for _, v := range n.Values {
			vs, err := c.walk(v, depth+1)
			if err != nil {
				return size{}, err
			}
			s.values += vs.values
			s.height = max(s.height, vs.height)
		}
		s.height++
		return s, nil
	}
	if err := c.count(n); err != nil {
		return size{}, err
	}
	return size{values: 1}, nil
}

// pair walks the key and the value of one mapping entry, inside depth
// levels (the mapping's included).
func (c *astChecker) pair(mv *ast.MappingValueNode, depth int) (size, *Error) {
	if mv == nil {
		return size{}, nil
	}
	ks, err := c.walk(mv.Key, depth)
	if err != nil {
		return size{}, err
	}
	vs, err := c.walk(mv.Value, depth)
	if err != nil {
		return size{}, err
	}
	return size{values: ks.values + vs.values, height: max(ks.height, vs.height)}, nil
}
