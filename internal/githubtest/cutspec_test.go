package githubtest

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tasuki-sre/tasuki/internal/testenv"
)

var updateCut = flag.Bool("update-cutspec", false, "regenerate cutspec.json from the shared OpenAPI description")

// TestCutSpec keeps cutspec.json, the description NewStandalone embeds, equal
// to the operations the fake implements as GitHub's full description states
// them: their parameters and request bodies, with every schema they refer to.
// Responses and prose are dropped. Regenerate with -update-cutspec.
func TestCutSpec(t *testing.T) {
	dir := testenv.Fixtures(t, "github-openapi")
	raw, err := os.ReadFile(filepath.Join(dir, "api.github.com.json"))
	if err != nil {
		t.Fatal(err)
	}
	var full struct {
		Paths      map[string]map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas    map[string]json.RawMessage `json:"schemas"`
			Parameters map[string]json.RawMessage `json:"parameters"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &full); err != nil {
		t.Fatal(err)
	}
	s := New(t)
	type cutDoc struct {
		Paths      map[string]map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas    map[string]json.RawMessage `json:"schemas"`
			Parameters map[string]json.RawMessage `json:"parameters"`
		} `json:"components"`
	}
	var out cutDoc
	out.Paths = map[string]map[string]map[string]json.RawMessage{}
	out.Components.Schemas = map[string]json.RawMessage{}
	out.Components.Parameters = map[string]json.RawMessage{}
	var refs []string
	collect := func(b json.RawMessage) {
		var walk func(v any)
		walk = func(v any) {
			switch x := v.(type) {
			case map[string]any:
				if r, ok := x["$ref"].(string); ok {
					refs = append(refs, r)
				}
				for _, e := range x {
					walk(e)
				}
			case []any:
				for _, e := range x {
					walk(e)
				}
			}
		}
		var v any
		_ = json.Unmarshal(b, &v)
		walk(v)
	}
	keys := make([]string, 0, len(s.handlers))
	for k := range s.handlers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		method, tmpl, _ := strings.Cut(k, " ")
		m := strings.ToLower(method)
		op := full.Paths[tmpl][m]
		if op == nil {
			t.Fatalf("%s not in the full description", k)
		}
		kept := map[string]json.RawMessage{}
		for _, f := range []string{"operationId", "parameters", "requestBody"} {
			if v, ok := op[f]; ok {
				kept[f] = v
				collect(v)
			}
		}
		if out.Paths[tmpl] == nil {
			out.Paths[tmpl] = map[string]map[string]json.RawMessage{}
		}
		out.Paths[tmpl][m] = kept
	}
	for len(refs) > 0 {
		r := refs[0]
		refs = refs[1:]
		switch {
		case strings.HasPrefix(r, "#/components/schemas/"):
			name := strings.TrimPrefix(r, "#/components/schemas/")
			if _, done := out.Components.Schemas[name]; !done {
				out.Components.Schemas[name] = full.Components.Schemas[name]
				collect(full.Components.Schemas[name])
			}
		case strings.HasPrefix(r, "#/components/parameters/"):
			name := strings.TrimPrefix(r, "#/components/parameters/")
			if _, done := out.Components.Parameters[name]; !done {
				out.Components.Parameters[name] = full.Components.Parameters[name]
				collect(full.Components.Parameters[name])
			}
		}
	}
	got, err := json.MarshalIndent(out, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *updateCut {
		if err := os.WriteFile("cutspec.json", got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(got, cutSpecJSON) {
		t.Fatalf("cutspec.json is out of date with the fake's routes or the shared description; run: go test ./internal/githubtest -run TestCutSpec -update-cutspec")
	}
	// The embedded description routes every request the fake implements.
	sp, err := embeddedSpec()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		method, tmpl, _ := strings.Cut(k, " ")
		e, _ := sp.match(tmpl)
		if e == nil || e.template != tmpl || e.ops[method] == nil {
			t.Errorf("embedded description lacks %s", k)
		}
	}
}
