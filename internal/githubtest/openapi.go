package githubtest

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/tasuki-sre/tasuki/internal/testenv"
)

// schema is the part of an OpenAPI schema object the validator reads.
type schema struct {
	Ref        string             `json:"$ref"`
	Type       string             `json:"type"`
	Nullable   bool               `json:"nullable"`
	Required   []string           `json:"required"`
	Properties map[string]*schema `json:"properties"`
	Items      *schema            `json:"items"`
	OneOf      []*schema          `json:"oneOf"`
	AnyOf      []*schema          `json:"anyOf"`
	AllOf      []*schema          `json:"allOf"`
}

type parameter struct {
	Ref      string `json:"$ref"`
	Name     string `json:"name"`
	In       string `json:"in"`
	Required bool   `json:"required"`
}

type operation struct {
	OperationID string      `json:"operationId"`
	Parameters  []parameter `json:"parameters"`
	required    []string    // required query parameters, resolved
	RequestBody *struct {
		Ref      string `json:"$ref"`
		Required bool   `json:"required"`
		Content  map[string]struct {
			Schema *schema `json:"schema"`
		} `json:"content"`
	} `json:"requestBody"`
}

// spec is the indexed OpenAPI description: path templates split into
// segments, by segment count, with their operations.
type spec struct {
	schemas map[string]*schema
	byLen   map[int][]*pathEntry
	greedy  []*pathEntry // templates whose last parameter may span segments ({path}, {ref})
}

type pathEntry struct {
	template string
	segs     []string
	ops      map[string]*operation // upper-case method -> operation
}

var (
	specOnce sync.Once
	specVal  *spec
	specErr  error
)

// loadSpec reads and indexes GitHub's OpenAPI description once per test
// binary: it is 13 MB and takes a noticeable time to decode.
func loadSpec(t testing.TB) *spec {
	t.Helper()
	dir := testenv.Fixtures(t, "github-openapi")
	specOnce.Do(func() {
		specVal, specErr = parseSpec(filepath.Join(dir, "api.github.com.json"))
	})
	if specErr != nil {
		t.Fatalf("githubtest: %v", specErr)
	}
	return specVal
}

// specDoc is the part of an OpenAPI document the fake reads.
type specDoc struct {
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas    map[string]*schema   `json:"schemas"`
		Parameters map[string]parameter `json:"parameters"`
	} `json:"components"`
}

//go:embed cutspec.json
var cutSpecJSON []byte

var (
	cutOnce sync.Once
	cutVal  *spec
	cutErr  error
)

// embeddedSpec indexes the committed cut-down description.
func embeddedSpec() (*spec, error) {
	cutOnce.Do(func() {
		var doc specDoc
		if err := json.Unmarshal(cutSpecJSON, &doc); err != nil {
			cutErr = fmt.Errorf("decode embedded OpenAPI description: %w", err)
			return
		}
		cutVal, cutErr = indexSpec(&doc, "embedded cutspec.json")
	})
	return cutVal, cutErr
}

func parseSpec(file string) (*spec, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read OpenAPI description: %w", err)
	}
	var doc specDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("decode OpenAPI description %s: %w", file, err)
	}
	return indexSpec(&doc, file)
}

func indexSpec(doc *specDoc, _ string) (*spec, error) {
	s := &spec{schemas: doc.Components.Schemas, byLen: map[int][]*pathEntry{}}
	for tmpl, methods := range doc.Paths {
		e := &pathEntry{template: tmpl, segs: splitPath(tmpl), ops: map[string]*operation{}}
		for m, rawOp := range methods {
			switch m {
			case "get", "post", "put", "patch", "delete", "head":
			default:
				continue
			}
			var op operation
			if err := json.Unmarshal(rawOp, &op); err != nil {
				return nil, fmt.Errorf("decode OpenAPI operation %s %s: %w", m, tmpl, err)
			}
			for _, p := range op.Parameters {
				if p.Ref != "" {
					p = doc.Components.Parameters[strings.TrimPrefix(p.Ref, "#/components/parameters/")]
				}
				if p.In == "query" && p.Required {
					op.required = append(op.required, p.Name)
				}
			}
			e.ops[strings.ToUpper(m)] = &op
		}
		s.byLen[len(e.segs)] = append(s.byLen[len(e.segs)], e)
		if last := e.segs[len(e.segs)-1]; last == "{path}" || last == "{ref}" {
			s.greedy = append(s.greedy, e)
		}
	}
	for _, es := range s.byLen {
		sortEntries(es)
	}
	sortEntries(s.greedy)
	return s, nil
}

// sortEntries orders templates literal-first: at the first segment where two
// templates differ in kind, the literal one wins, so /repos/{o}/{r}/issues/comments
// is preferred to /repos/{o}/{r}/issues/{issue_number}.
func sortEntries(es []*pathEntry) {
	sort.Slice(es, func(i, j int) bool {
		a, b := es[i].segs, es[j].segs
		for k := 0; k < len(a) && k < len(b); k++ {
			pa, pb := isParam(a[k]), isParam(b[k])
			if pa != pb {
				return !pa
			}
		}
		if len(a) != len(b) {
			return len(a) > len(b)
		}
		return es[i].template < es[j].template
	})
}

func splitPath(p string) []string {
	return strings.Split(strings.Trim(p, "/"), "/")
}

func isParam(seg string) bool { return strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") }

// match finds the documented template for path (without the base path) and
// its parameters.
func (s *spec) match(path string) (*pathEntry, map[string]string) {
	segs := splitPath(path)
	for _, e := range s.byLen[len(segs)] {
		if params, ok := matchSegs(e.segs, segs, false); ok {
			return e, params
		}
	}
	for _, e := range s.greedy {
		if len(segs) < len(e.segs) {
			continue
		}
		if params, ok := matchSegs(e.segs, segs, true); ok {
			return e, params
		}
	}
	return nil, nil
}

func matchSegs(tmpl, segs []string, greedy bool) (map[string]string, bool) {
	params := map[string]string{}
	for i, ts := range tmpl {
		if i >= len(segs) {
			return nil, false
		}
		if isParam(ts) {
			if segs[i] == "" {
				return nil, false
			}
			name := ts[1 : len(ts)-1]
			if greedy && i == len(tmpl)-1 {
				params[name] = strings.Join(segs[i:], "/")
				return params, true
			}
			params[name] = segs[i]
			continue
		}
		if ts != segs[i] {
			return nil, false
		}
	}
	return params, len(tmpl) == len(segs)
}

// bodyException names a request go-github v60 sends that the description does
// not list, keyed by "METHOD template". Keep every such quirk here.
var bodyExceptions = map[string]string{
	// go-github's AddLabelsToIssue and ReplaceLabelsForIssue send a bare JSON
	// array of names; GitHub accepts it, older descriptions do not list it.
	"POST /repos/{owner}/{repo}/issues/{issue_number}/labels": "bare label array",
	"PUT /repos/{owner}/{repo}/issues/{issue_number}/labels":  "bare label array",
}

// checkQuery reports a required query parameter the request lacks.
func checkQuery(op *operation, q url.Values) error {
	for _, name := range op.required {
		if q.Get(name) == "" {
			return fmt.Errorf("query parameter %q is required", name)
		}
	}
	return nil
}

// checkBody validates a JSON request body against op's request schema:
// required top-level fields and the types of the top-level properties.
func (s *spec) checkBody(method, tmpl string, op *operation, body []byte) error {
	if op.RequestBody == nil {
		return nil
	}
	// go-github sends "null" for a nil options struct; GitHub reads it as no body.
	trimmed := strings.TrimSpace(string(body))
	empty := trimmed == "" || trimmed == "null"
	if empty {
		if op.RequestBody.Required {
			return fmt.Errorf("request body is required")
		}
		return nil
	}
	media, ok := op.RequestBody.Content["application/json"]
	if !ok || media.Schema == nil {
		return nil
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("request body is not JSON: %v", err)
	}
	if _, ok := bodyExceptions[method+" "+tmpl]; ok {
		if _, isArr := v.([]any); isArr {
			return nil
		}
	}
	return s.checkValue(media.Schema, v, "body", 0)
}

func (s *spec) resolve(sc *schema) *schema {
	for i := 0; sc != nil && sc.Ref != "" && i < 10; i++ {
		sc = s.schemas[strings.TrimPrefix(sc.Ref, "#/components/schemas/")]
	}
	return sc
}

// checkValue checks v against sc; depth 0 is the body itself (required and
// property types are checked), depth 1 its properties (type only).
func (s *spec) checkValue(sc *schema, v any, where string, depth int) error {
	sc = s.resolve(sc)
	if sc == nil {
		return nil
	}
	if len(sc.AllOf) > 0 {
		for _, sub := range sc.AllOf {
			if err := s.checkValue(sub, v, where, depth); err != nil {
				return err
			}
		}
	}
	if alts := append(append([]*schema{}, sc.OneOf...), sc.AnyOf...); len(alts) > 0 {
		var first error
		okAny := false
		for _, sub := range alts {
			err := s.checkValue(sub, v, where, depth)
			if err == nil {
				okAny = true
				break
			}
			if first == nil {
				first = err
			}
		}
		if !okAny {
			return first
		}
	}
	if v == nil {
		if sc.Nullable || sc.Type == "" {
			return nil
		}
		return fmt.Errorf("%s is null, want %s", where, sc.Type)
	}
	if sc.Type != "" && !typeMatches(sc.Type, v) {
		return fmt.Errorf("%s is %s, want %s", where, jsonType(v), sc.Type)
	}
	if depth > 0 {
		return nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	for _, r := range sc.Required {
		if _, ok := obj[r]; !ok {
			return fmt.Errorf("%s misses required field %q", where, r)
		}
	}
	for k, pv := range obj {
		if ps, ok := sc.Properties[k]; ok {
			if err := s.checkValue(ps, pv, where+"."+k, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

func typeMatches(want string, v any) bool {
	got := jsonType(v)
	switch want {
	case "number":
		return got == "integer" || got == "number"
	default:
		return got == want
	}
}

func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		if x == float64(int64(x)) {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}
