package githubtest

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/tasuki-sre/tasuki/internal/testenv"
)

var updateCut = flag.Bool("update-cutspec", false, "regenerate cutspec.json from the shared OpenAPI description")

// TestCutSpec keeps cutspec.json, the description the fake validates
// against, equal to its cut of GitHub's full description: every path and
// method GitHub documents (so that a request is told apart as undocumented
// or merely unimplemented), and for the operations the fake implements
// their parameters, request bodies and responses with every component they
// refer to, transitively. Prose, examples and extensions are dropped.
// Regenerate with -update-cutspec.
func TestCutSpec(t *testing.T) {
	raw := fullSpec(t)
	routes := implementedRoutes()
	got, err := cutSpec(raw, routes)
	if err != nil {
		t.Fatal(err)
	}
	if *updateCut {
		if err := os.WriteFile("cutspec.json", got, 0o644); err != nil {
			t.Fatal(err)
		}
	} else if !bytes.Equal(got, cutSpecJSON) {
		t.Fatalf("cutspec.json is out of date with the fake's routes or the shared description; run: go test ./internal/githubtest -run TestCutSpec -update-cutspec")
	}

	// The cut is complete for validation: kin-openapi loads it (a $ref
	// to a component left out fails here), and every schema an implemented
	// operation reaches is resolved, at any depth.
	sp, err := parseSpec(got)
	if err != nil {
		t.Fatalf("load the cut with kin-openapi: %v", err)
	}
	for _, k := range routes {
		method, tmpl, _ := strings.Cut(k, " ")
		e, _ := sp.match(tmpl)
		if e == nil || e.template != tmpl || e.ops[method] == nil {
			t.Errorf("cut lacks %s", k)
			continue
		}
		op := e.ops[method]
		if op.Responses.Len() == 0 {
			t.Errorf("cut has no responses for %s", k)
		}
		for _, where := range unresolved(op) {
			t.Errorf("%s: unresolved schema at %s", k, where)
		}
	}
	// Every path of the full description is in the cut, so that the fake
	// matches a request to the template GitHub would.
	var full struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &full); err != nil {
		t.Fatal(err)
	}
	for tmpl, item := range full.Paths {
		cut := sp.doc.Paths.Value(tmpl)
		if cut == nil {
			t.Errorf("cut lacks path %s", tmpl)
			continue
		}
		for m := range item {
			if httpMethods[m] && cut.GetOperation(strings.ToUpper(m)) == nil {
				t.Errorf("cut lacks %s %s", strings.ToUpper(m), tmpl)
			}
		}
	}
}

// implementedRoutes lists the fake's routes as "METHOD template", sorted,
// without loading any description.
func implementedRoutes() []string {
	s := &Server{handlers: map[string]handlerFunc{}}
	s.routes()
	keys := make([]string, 0, len(s.handlers))
	for k := range s.handlers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var httpMethods = map[string]bool{"get": true, "put": true, "post": true, "delete": true, "options": true, "head": true, "patch": true, "trace": true}

// cutSpec cuts the full description raw down to what the fake needs for
// routes ("METHOD template").
func cutSpec(raw []byte, routes []string) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // numbers are copied as written
	var full map[string]any
	if err := dec.Decode(&full); err != nil {
		return nil, fmt.Errorf("decode the full description: %w", err)
	}
	paths, _ := full["paths"].(map[string]any)
	comps, _ := full["components"].(map[string]any)
	info, _ := full["info"].(map[string]any)
	want := map[string]bool{}
	for _, r := range routes {
		want[r] = true
	}

	var refs []string
	outPaths := map[string]any{}
	for tmpl, v := range paths {
		item, _ := v.(map[string]any)
		out := map[string]any{}
		implemented := false
		for m, v := range item {
			if !httpMethods[m] {
				continue
			}
			op, _ := v.(map[string]any)
			key := strings.ToUpper(m) + " " + tmpl
			if !want[key] {
				// Enough to route a request and name what the fake lacks.
				out[m] = map[string]any{"operationId": op["operationId"]}
				continue
			}
			delete(want, key)
			implemented = true
			kept := map[string]any{}
			for _, f := range []string{"operationId", "parameters", "requestBody", "responses"} {
				if v, ok := op[f]; ok {
					kept[f] = stripProse(v, &refs)
				}
			}
			out[m] = kept
		}
		if p, ok := item["parameters"]; ok && implemented {
			out["parameters"] = stripProse(p, &refs)
		}
		outPaths[tmpl] = out
	}
	if len(want) > 0 {
		var missing []string
		for k := range want {
			missing = append(missing, k)
		}
		sort.Strings(missing)
		return nil, fmt.Errorf("not in the full description: %s", strings.Join(missing, ", "))
	}

	outComps := map[string]any{}
	for len(refs) > 0 {
		r := refs[0]
		refs = refs[1:]
		kind, name, ok := strings.Cut(strings.TrimPrefix(r, "#/components/"), "/")
		if !ok || !strings.HasPrefix(r, "#/components/") {
			return nil, fmt.Errorf("unsupported $ref %q", r)
		}
		byName, _ := outComps[kind].(map[string]any)
		if byName == nil {
			byName = map[string]any{}
			outComps[kind] = byName
		}
		if _, done := byName[name]; done {
			continue
		}
		src, _ := comps[kind].(map[string]any)
		v, ok := src[name]
		if !ok {
			return nil, fmt.Errorf("$ref %q: no such component", r)
		}
		byName[name] = stripProse(v, &refs)
	}

	sum := sha256.Sum256(raw)
	doc := map[string]any{
		"openapi": full["openapi"],
		"info": map[string]any{
			"title":       "GitHub REST API, cut for internal/githubtest by TestCutSpec",
			"version":     info["version"],
			"description": "Cut from api.github.com.json with sha256 " + hex.EncodeToString(sum[:]),
		},
		"paths":      outPaths,
		"components": outComps,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// stripProse copies v without the keywords validation does not read
// (descriptions, examples, extensions), appending the $refs it meets to
// refs. Names are kept: the keys of namedMaps are names (of fields,
// headers, media types, statuses), and enum, default and const values are
// data.
func stripProse(v any, refs *[]string) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			switch {
			case k == "description" || k == "summary" || k == "title" || k == "example" || k == "examples" || k == "externalDocs" || strings.HasPrefix(k, "x-"):
			case k == "$ref":
				s, _ := e.(string)
				*refs = append(*refs, s)
				out[k] = e
			case k == "enum" || k == "default" || k == "const":
				out[k] = e
			case namedMaps[k]:
				props, _ := e.(map[string]any)
				kept := map[string]any{}
				for name, sc := range props {
					kept[name] = stripProse(sc, refs)
				}
				out[k] = kept
			default:
				out[k] = stripProse(e, refs)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = stripProse(e, refs)
		}
		return out
	}
	return v
}

var namedMaps = map[string]bool{"properties": true, "headers": true, "content": true, "responses": true, "encoding": true}

// unresolved lists where op reaches a reference kin-openapi left unresolved.
func unresolved(op *openapi3.Operation) []string {
	var out []string
	seen := map[*openapi3.Schema]bool{}
	var walk func(ref *openapi3.SchemaRef, where string)
	walk = func(ref *openapi3.SchemaRef, where string) {
		if ref == nil {
			return
		}
		if ref.Value == nil {
			out = append(out, where+" ("+ref.Ref+")")
			return
		}
		sc := ref.Value
		if seen[sc] {
			return
		}
		seen[sc] = true
		for name, p := range sc.Properties {
			walk(p, where+"."+name)
		}
		walk(sc.Items, where+"[]")
		walk(sc.AdditionalProperties.Schema, where+".*")
		walk(sc.Not, where+".not")
		for i, sub := range sc.OneOf {
			walk(sub, fmt.Sprintf("%s.oneOf[%d]", where, i))
		}
		for i, sub := range sc.AnyOf {
			walk(sub, fmt.Sprintf("%s.anyOf[%d]", where, i))
		}
		for i, sub := range sc.AllOf {
			walk(sub, fmt.Sprintf("%s.allOf[%d]", where, i))
		}
	}
	for _, p := range op.Parameters {
		if p.Value == nil {
			out = append(out, "parameter "+p.Ref)
			continue
		}
		walk(p.Value.Schema, "parameter "+p.Value.Name)
	}
	if rb := op.RequestBody; rb != nil {
		if rb.Value == nil {
			out = append(out, "request body "+rb.Ref)
		} else {
			for mt, c := range rb.Value.Content {
				walk(c.Schema, "request body "+mt)
			}
		}
	}
	for status, r := range op.Responses.Map() {
		if r.Value == nil {
			out = append(out, "response "+status+" "+r.Ref)
			continue
		}
		for mt, c := range r.Value.Content {
			walk(c.Schema, "response "+status+" "+mt)
		}
		for name, h := range r.Value.Headers {
			if h.Value == nil {
				out = append(out, "response "+status+" header "+name+" "+h.Ref)
				continue
			}
			walk(h.Value.Schema, "response "+status+" header "+name)
		}
	}
	return out
}

// fullSpec returns GitHub's whole REST description, kept gzipped among the
// test fixtures (13 MB as JSON).
func fullSpec(tb testing.TB) []byte {
	tb.Helper()
	f, err := os.Open(filepath.Join(testenv.Fixtures(tb, "github-openapi"), "api.github.com.json.gz"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatalf("read the description: %v", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatalf("read the description: %v", err)
	}
	return raw
}
