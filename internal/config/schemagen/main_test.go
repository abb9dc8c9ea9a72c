package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/google/go-cmp/cmp"

	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/testenv"
)

func schemaFile() string {
	return filepath.Join(testenv.ModuleRoot(), "schema", "tasuki.schema.json")
}

func loadSchema(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(schemaFile())
	if err != nil {
		t.Fatalf("read schema: %v", err)
	}
	var s map[string]any
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	return s
}

func TestSchemaUpToDate(t *testing.T) {
	want, err := generate(testenv.ModuleRoot())
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	got, err := os.ReadFile(schemaFile())
	if err != nil {
		t.Fatalf("read schema: %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("schema/tasuki.schema.json is stale; run `go generate ./internal/config` (-generated +committed):\n%s", diff)
	}
}

// configKeys walks the Go structs the loader decodes into, by their yaml
// tags, independently of the generator.
func configKeys(t reflect.Type, prefix string, out map[string]bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			name := yamlKey(f)
			if name == "" {
				continue
			}
			p := strings.TrimPrefix(prefix+"."+name, ".")
			out[p] = true
			configKeys(f.Type, p, out)
		}
	case reflect.Map:
		if t.Elem().Kind() != reflect.Interface {
			configKeys(t.Elem(), prefix+".*", out)
		}
	case reflect.Slice, reflect.Array:
		configKeys(t.Elem(), prefix+"[]", out)
	}
}

// schemaKeys walks the committed schema the way an editor would.
func schemaKeys(s map[string]any, prefix string, out map[string]bool) {
	if props, ok := s["properties"].(map[string]any); ok {
		for k, v := range props {
			p := strings.TrimPrefix(prefix+"."+k, ".")
			out[p] = true
			schemaKeys(v.(map[string]any), p, out)
		}
	}
	if ap, ok := s["additionalProperties"].(map[string]any); ok {
		schemaKeys(ap, prefix+".*", out)
	}
	if items, ok := s["items"].(map[string]any); ok {
		schemaKeys(items, prefix+"[]", out)
	}
}

func TestSchemaKeysMatchConfig(t *testing.T) {
	fromGo := map[string]bool{}
	configKeys(reflect.TypeOf(config.Config{}), "", fromGo)
	fromSchema := map[string]bool{}
	schemaKeys(loadSchema(t), "", fromSchema)
	var missing, extra []string
	for k := range fromGo {
		if !fromSchema[k] {
			missing = append(missing, k)
		}
	}
	for k := range fromSchema {
		if !fromGo[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("keys the loader accepts but the schema lacks (run `go generate ./internal/config`): %v", missing)
	}
	if len(extra) > 0 {
		t.Errorf("keys in the schema the loader rejects: %v", extra)
	}
	if len(fromGo) < 10 {
		t.Errorf("only %d keys found; the walk is broken", len(fromGo))
	}
}

// TestSchemaAgreesWithLoader checks documents against both the schema (with
// a validator for the keywords the generator emits) and config.Parse: what
// one accepts the other must accept.
func TestSchemaAgreesWithLoader(t *testing.T) {
	s := loadSchema(t)
	defaults, err := yaml.Marshal(config.Default())
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(), "schema", "example.tasuki.yml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		doc    string
		accept bool
	}{
		{name: "the defaults written out", doc: string(defaults), accept: true},
		{name: "schema/example.tasuki.yml", doc: string(example), accept: true},
		{name: "empty sections", doc: "review:\npostmortem:\nownership:\n", accept: true},
		{name: "ownership example", accept: true, doc: `ownership:
  core_sre_team: core-sre
  default_team: platform
  service_label_prefix: "service:"
  teams:
    payments: {sres: [alice, bob], sre_team: payments-sre}
  services:
    api: {repos: [acme/api], paths: [cmd/, internal/], team: payments}
leadtime:
  timezone: Europe/Berlin
  services:
    api: {paths: [services/api], environments: [production-api]}
`},
		{name: "unknown leadtime key", doc: "leadtime:\n  whatever: [1, 2]\n"},
		{name: "unknown section", doc: "revew: {}\n"},
		{name: "unknown key", doc: "ownership:\n  default_tem: x\n"},
		{name: "unknown nested key", doc: "ownership:\n  teams:\n    a: {srez: [x]}\n"},
		{name: "wrong type", doc: "ownership:\n  teams:\n    a: {sres: x}\n"},
		{name: "section not a mapping", doc: "postmortem: [x]\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var doc any
			if err := yaml.Unmarshal([]byte(tt.doc), &doc); err != nil {
				t.Fatalf("test document: %v", err)
			}
			schemaErr := validate(s, doc, "$")
			parsed := config.Parse("acme/api", nil, []byte(tt.doc))
			if (schemaErr == nil) != tt.accept {
				t.Errorf("schema: accept=%v, want %v (%v)", schemaErr == nil, tt.accept, schemaErr)
			}
			if (parsed.Err == nil) != tt.accept {
				t.Errorf("loader: accept=%v, want %v (%v)", parsed.Err == nil, tt.accept, parsed.Err)
			}
		})
	}
}

// validate checks v against the subset of JSON Schema the generator emits:
// type, properties, additionalProperties, items, minimum, pattern.
func validate(s map[string]any, v any, where string) error {
	if types := typesOf(s["type"]); len(types) > 0 && !slices.ContainsFunc(types, func(ty string) bool { return isType(ty, v) }) {
		return fmt.Errorf("%s: want %v, got %T", where, types, v)
	}
	switch v := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		for k, x := range v {
			if ps, ok := props[k].(map[string]any); ok {
				if err := validate(ps, x, where+"."+k); err != nil {
					return err
				}
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					return fmt.Errorf("%s: unknown key %q", where, k)
				}
			case map[string]any:
				if err := validate(ap, x, where+"."+k); err != nil {
					return err
				}
			}
		}
	case []any:
		if items, ok := s["items"].(map[string]any); ok {
			for i, x := range v {
				if err := validate(items, x, fmt.Sprintf("%s[%d]", where, i)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func typesOf(t any) []string {
	switch t := t.(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, x := range t {
			out = append(out, x.(string))
		}
		return out
	}
	return nil
}

func isType(ty string, v any) bool {
	switch ty {
	case "null":
		return v == nil
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "integer":
		switch v.(type) {
		case int, int64, uint64:
			return true
		}
	case "number":
		switch v.(type) {
		case int, int64, uint64, float64:
			return true
		}
	}
	return false
}
