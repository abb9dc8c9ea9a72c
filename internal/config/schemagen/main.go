// Command schemagen writes schema/tasuki.schema.json, the JSON Schema of
// .github/tasuki.yml, from the Go structs the loader decodes into (yaml
// tags), their doc comments (descriptions) and config.Default() (defaults).
// Run it with `go generate ./internal/config` after changing any feature's
// Config; a test fails while the committed schema is stale.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"log"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/tasuki-sre/tasuki/internal/config"
)

// modulePath is the import path prefix whose packages' sources are read for
// descriptions.
const modulePath = "github.com/tasuki-sre/tasuki/"

func main() {
	root := flag.String("root", "../..", "module root")
	out := flag.String("out", "", "output file (default ROOT/schema/tasuki.schema.json)")
	flag.Parse()
	if *out == "" {
		*out = filepath.Join(*root, "schema", "tasuki.schema.json")
	}
	b, err := generate(*root)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		log.Fatal(err)
	}
}

// generate returns the schema as indented JSON ending in a newline.
func generate(root string) ([]byte, error) {
	g := &gen{root: root, docs: map[string]string{}, parsed: map[string]bool{}}
	t := reflect.TypeOf(config.Config{})
	s, err := g.schema(t, reflect.ValueOf(config.Default()), "")
	if err != nil {
		return nil, err
	}
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["$id"] = config.SchemaURL
	s["title"] = "tasuki configuration (.github/tasuki.yml)"
	s["description"] = "One section per feature. Values here are merged over the organisation's defaults in <org>/.github/.github/tasuki.yml; unknown keys are errors."
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

type gen struct {
	root   string
	docs   map[string]string // "pkgpath.Type.Field" and "pkgpath.Type" -> doc
	parsed map[string]bool
}

var durationType = reflect.TypeOf(time.Duration(0))

// unmarshalers are the interfaces through which a type decodes itself; the
// schema cannot know what such a type accepts, so it accepts anything.
var unmarshalers = []reflect.Type{
	reflect.TypeOf((*yaml.BytesUnmarshaler)(nil)).Elem(),
	reflect.TypeOf((*yaml.InterfaceUnmarshaler)(nil)).Elem(),
	reflect.TypeOf((*yaml.BytesUnmarshalerContext)(nil)).Elem(),
	reflect.TypeOf((*yaml.InterfaceUnmarshalerContext)(nil)).Elem(),
}

func customUnmarshal(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	for _, u := range unmarshalers {
		if t.Implements(u) || pt.Implements(u) {
			return true
		}
	}
	return false
}

// schema describes t; def is its default value (may be invalid); where is
// the key path, for messages.
func (g *gen) schema(t reflect.Type, def reflect.Value, where string) (map[string]any, error) {
	if customUnmarshal(t) {
		return map[string]any{}, nil
	}
	if t == durationType {
		return map[string]any{"type": "string", "pattern": `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`}, nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		var d reflect.Value
		if def.IsValid() && !def.IsNil() {
			d = def.Elem()
		}
		return g.schema(t.Elem(), d, where)
	case reflect.String:
		return map[string]any{"type": "string"}, nil
	case reflect.Bool:
		return map[string]any{"type": "boolean"}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return map[string]any{"type": "integer"}, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer", "minimum": 0}, nil
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}, nil
	case reflect.Interface:
		return map[string]any{}, nil
	case reflect.Slice, reflect.Array:
		items, err := g.schema(t.Elem(), reflect.Value{}, where+"[]")
		if err != nil {
			return nil, err
		}
		return map[string]any{"type": "array", "items": items}, nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, fmt.Errorf("%s: map key %s is not a string", where, t.Key())
		}
		s := map[string]any{"type": "object"}
		if t.Elem().Kind() != reflect.Interface {
			v, err := g.schema(t.Elem(), reflect.Value{}, where+".*")
			if err != nil {
				return nil, err
			}
			s["additionalProperties"] = v
		}
		return s, nil
	case reflect.Struct:
		return g.object(t, def, where)
	}
	return nil, fmt.Errorf("%s: no schema for %s", where, t)
}

func (g *gen) object(t reflect.Type, def reflect.Value, where string) (map[string]any, error) {
	props := map[string]any{}
	for i := range t.NumField() {
		f := t.Field(i)
		name := yamlKey(f)
		if name == "" {
			continue
		}
		var fd reflect.Value
		if def.IsValid() {
			fd = def.Field(i)
		}
		path := strings.TrimPrefix(where+"."+name, ".")
		if f.Anonymous && strings.Contains(f.Tag.Get("yaml"), "inline") {
			inner, err := g.schema(f.Type, fd, where)
			if err != nil {
				return nil, err
			}
			for k, v := range inner["properties"].(map[string]any) {
				props[k] = v
			}
			continue
		}
		s, err := g.schema(f.Type, fd, path)
		if err != nil {
			return nil, err
		}
		if d := g.doc(t, f.Name); d != "" {
			s["description"] = userDoc(d, f.Name, "`"+name+"`")
		} else if d := g.typeDoc(f.Type); d != "" {
			s["description"] = userDoc(d, typeName(f.Type), "")
		}
		if fd.IsValid() && f.Type.Kind() != reflect.Struct && !fd.IsZero() {
			v, err := generic(fd.Interface())
			if err != nil {
				return nil, fmt.Errorf("%s: default: %w", path, err)
			}
			s["default"] = v
		}
		props[name] = nullable(s)
	}
	return map[string]any{"type": "object", "additionalProperties": false, "properties": props}, nil
}

// nullable lets a key be present with no value, which tasuki reads as
// "inherit": `review:` with nothing under it is common while editing.
func nullable(s map[string]any) map[string]any {
	if t, ok := s["type"].(string); ok {
		s["type"] = []string{t, "null"}
	}
	return s
}

// generic turns a Go value into what its YAML form decodes to, so that
// defaults use the yaml keys.
func generic(v any) (any, error) {
	b, err := yaml.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	if err := yaml.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// yamlKey is the key the loader decodes field f from, "" if none.
func yamlKey(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	tag, ok := f.Tag.Lookup("yaml")
	name, _, _ := strings.Cut(tag, ",")
	if name == "-" {
		return ""
	}
	if !ok || name == "" {
		return strings.ToLower(f.Name)
	}
	return name
}

func (g *gen) doc(t reflect.Type, field string) string {
	g.load(t.PkgPath())
	return g.docs[t.PkgPath()+"."+t.Name()+"."+field]
}

func (g *gen) typeDoc(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Name() == "" || t.PkgPath() == "" {
		return ""
	}
	g.load(t.PkgPath())
	return g.docs[t.PkgPath()+"."+t.Name()]
}

// load reads the doc comments of a tasuki package's struct types.
func (g *gen) load(pkg string) {
	if g.parsed[pkg] || !strings.HasPrefix(pkg, modulePath) {
		return
	}
	g.parsed[pkg] = true
	dir := filepath.Join(g.root, strings.TrimPrefix(pkg, modulePath))
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	fset := token.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, parser.ParseComments)
		if err != nil {
			continue
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				ts := spec.(*ast.TypeSpec)
				doc := ts.Doc
				if doc == nil && len(gd.Specs) == 1 {
					doc = gd.Doc
				}
				if d := clean(doc); d != "" {
					g.docs[pkg+"."+ts.Name.Name] = d
				}
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					continue
				}
				for _, fld := range st.Fields.List {
					d := clean(fld.Doc)
					if d == "" {
						d = clean(fld.Comment)
					}
					for _, n := range fld.Names {
						g.docs[pkg+"."+ts.Name.Name+"."+n.Name] = d
					}
				}
			}
		}
	}
}

// userDoc rewrites a Go doc comment for users, who know the yaml key, not
// the Go name: "CoreSRETeam is the slug" becomes "`core_sre_team` is the
// slug"; with an empty key, "Config is the ownership section" becomes "The
// ownership section".
func userDoc(d, goName, key string) string {
	rest, ok := strings.CutPrefix(d, goName+" ")
	if !ok || goName == "" {
		return d
	}
	if key != "" {
		return key + " " + rest
	}
	for _, verb := range []string{"is ", "are "} {
		if r, ok := strings.CutPrefix(rest, verb); ok {
			rest = r
			break
		}
	}
	if rest == "" {
		return d
	}
	return strings.ToUpper(rest[:1]) + rest[1:]
}

func typeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

func clean(cg *ast.CommentGroup) string {
	if cg == nil {
		return ""
	}
	lines := strings.Fields(cg.Text())
	return strings.Join(slices.Clip(lines), " ")
}
