package yamlsafe_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	goyaml "github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	yamlv3 "go.yaml.in/yaml/v3"

	"github.com/tasuki-sre/tasuki/internal/yamlsafe"
	"github.com/tasuki-sre/tasuki/internal/yamlsafe/yamlsafetest"
)

// Every hostile document is refused, naming the file and the line, and
// refusing it stays within the memory budget (the pre-pass runs before
// goccy sees the bytes).
func TestParseRefusesHostileDocuments(t *testing.T) {
	for _, c := range yamlsafetest.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			var err error
			alloc := yamlsafetest.Allocated(func() {
				_, err = yamlsafe.Parse(".github/tasuki.yml", c.Data, yamlsafe.Limits{})
			})
			var ye *yamlsafe.Error
			if !errors.As(err, &ye) {
				t.Fatalf("Parse(%d bytes) = %v, want a *yamlsafe.Error", len(c.Data), err)
			}
			if !ye.Limit || ye.File != ".github/tasuki.yml" || !strings.Contains(ye.Msg, c.Msg) || !strings.HasSuffix(ye.Msg, "; tasuki refuses it") {
				t.Errorf("error %#v, want a limit on .github/tasuki.yml saying %q", ye, c.Msg)
			}
			if c.Line != 0 && ye.Line != c.Line {
				t.Errorf("error at line %d, want %d: %v", ye.Line, c.Line, err)
			}
			if !strings.HasPrefix(err.Error(), ".github/tasuki.yml:") {
				t.Errorf("Error() = %q does not start with the file", err)
			}
			if alloc > yamlsafetest.Budget {
				t.Errorf("refusing %d bytes allocated %d MB, budget %d MB", len(c.Data), alloc>>20, yamlsafetest.Budget>>20)
			}
			t.Logf("%d bytes, %.1f MB allocated: %v", len(c.Data), float64(alloc)/(1<<20), err)
		})
	}
}

func TestParseErrors(t *testing.T) {
	big := strings.Repeat("# padding\n", 500) // past smallInput: yaml.v3 reads first
	tests := []struct {
		name   string
		data   string
		limits yamlsafe.Limits
		want   string
	}{
		{name: "goccy's message and position for a small file", data: "ownership:\n  teams: [\n",
			want: `t.yml:2:10: sequence end token ']' not found`},
		{name: "yaml.v3's for a large one", data: big + "ownership:\n  teams: [\n",
			want: `t.yml:503: invalid YAML: did not find expected node content`},
		{name: "yaml.v3 parser errors name the 1-based line", data: big + "metadata:\n  name: [oops\n",
			want: `t.yml:502: invalid YAML: did not find expected ',' or ']'`},
		{name: "yaml.v3 scanner errors on line 1", data: "a: b: c\n" + big,
			want: `t.yml:1: invalid YAML: mapping values are not allowed in this context`},
		{name: "too large", data: strings.Repeat("a", 200), limits: yamlsafe.Limits{MaxBytes: 100},
			want: `t.yml: file is 200 bytes, more than the 100 tasuki reads; tasuki refuses it`},
		{name: "a limit set by the caller", data: "a: [[[x]]]\n", limits: yamlsafe.Limits{MaxDepth: 3},
			want: `t.yml:1:6: nesting deeper than 3 levels; tasuki refuses it`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := yamlsafe.Parse("t.yml", []byte(tt.data), tt.limits)
			if err == nil || err.Error() != tt.want {
				t.Errorf("Parse() error = %v, want %s", err, tt.want)
			}
		})
	}
}

// What the limits let through is what files use: anchors and merge keys
// within reason, 64 levels, thousands of values.
func TestParseAcceptsWithinLimits(t *testing.T) {
	pad := strings.Repeat("# padding\n", 500)
	tests := []struct{ name, data string }{
		{"anchors and merge keys", "base: &b {team: payments, sres: [a, b]}\napi: {<<: *b, repos: [x]}\nweb: *b\n"},
		{"anchors and merge keys past 4 KiB", pad + "base: &b {team: payments, sres: [a, b]}\napi: {<<: *b, repos: [x]}\nweb: *b\n"},
		{"64 levels", "a: " + strings.Repeat("[", 63) + strings.Repeat("]", 63) + "\n"},
		{"64 levels past 4 KiB", pad + "a: " + strings.Repeat("[", 63) + strings.Repeat("]", 63) + "\n"},
		{"2,000 keys", string(keys(2000))},
		{"19,000 values", "a: [" + strings.Repeat("x,", 18997) + "]\n"},
		{"aliases adding 10,000 values", "a: &a [" + strings.Repeat("x,", 999) + "]\nb: [" + strings.Repeat("*a,", 10) + "]\n"},
		{"100 documents", strings.Repeat("---\na: 1\n", 100)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := yamlsafe.Parse("t.yml", []byte(tt.data), yamlsafe.Limits{})
			if err != nil {
				t.Fatalf("Parse() = %v", err)
			}
			var v any
			if err := goyaml.NodeToValue(f.Docs[len(f.Docs)-1].Body, &v); err != nil {
				t.Errorf("decode: %v", err)
			}
		})
	}
}

func keys(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "k%d: v\n", i)
	}
	return b.String()
}

// The figures behind the choice of parsers: goccy's parser alone, yaml.v3
// into a yaml.Node, and Parse, on the hostile documents. goccy alone runs
// on a tenth of the depth (4,000 "["): at full depth it allocates 2.5 GB
// a run.
//
//	go test ./internal/yamlsafe -run XXX -bench Hostile -benchmem
func BenchmarkHostile(b *testing.B) {
	tenth := []byte("review: " + strings.Repeat("[", 4000) + "\n")
	b.Run("goccy/flow sequence 4,000 deep", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			parser.ParseBytes(tenth, 0)
		}
	})
	b.Run("yaml.v3/flow sequence 4,000 deep", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var n yamlv3.Node
			yamlv3.Unmarshal(tenth, &n)
		}
	})
	for _, c := range yamlsafetest.Cases() {
		b.Run("Parse/"+c.Name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				yamlsafe.Parse("t.yml", c.Data, yamlsafe.Limits{})
			}
		})
	}
}

// FuzzParse: whatever the bytes, Parse returns quickly within the memory
// budget, and what it accepts goccy decodes without going past the limits.
func FuzzParse(f *testing.F) {
	for _, c := range yamlsafetest.Cases() {
		if len(c.Data) < 4096 {
			f.Add(c.Data)
		}
	}
	f.Add([]byte("a: &x {b: *x}\n"))
	f.Add([]byte("base: &b {team: payments}\napi: {<<: *b, repos: [x]}\n"))
	f.Add([]byte("- - - - - x\n"))
	f.Add([]byte("? [a]\n: b\n"))
	f.Add([]byte("---\n---\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var (
			file *ast.File
			err  error
		)
		alloc := yamlsafetest.Allocated(func() {
			file, err = yamlsafe.Parse("f.yml", data, yamlsafe.Limits{})
		})
		if alloc > yamlsafetest.Budget {
			t.Fatalf("Parse(%q) allocated %d MB", data, alloc>>20)
		}
		if err != nil {
			var ye *yamlsafe.Error
			if !errors.As(err, &ye) || ye.File != "f.yml" || ye.Msg == "" || ye.Line < 0 || ye.Column < 0 {
				t.Fatalf("error %#v is not a usable *yamlsafe.Error", err)
			}
			return
		}
		// Accepted: decoding all of it creates at most the values written out
		// plus the alias allowance, nested at most 64 deep.
		for _, d := range file.Docs {
			if d == nil || d.Body == nil {
				continue
			}
			var v any
			alloc := yamlsafetest.Allocated(func() {
				func() {
					defer func() { recover() }()
					goyaml.NodeToValue(d.Body, &v)
				}()
			})
			if alloc > yamlsafetest.Budget {
				t.Fatalf("decoding %q allocated %d MB", data, alloc>>20)
			}
			values, depth := measure(v)
			if values > yamlsafe.DefaultMaxValues+yamlsafe.DefaultMaxAliasExpansion || depth > yamlsafe.DefaultMaxDepth {
				t.Fatalf("%q decoded to %d values %d deep", data, values, depth)
			}
		}
	})
}

// measure counts the values of a decoded document (keys included) and how
// deeply its mappings and sequences nest.
func measure(v any) (values, depth int) {
	switch v := v.(type) {
	case map[string]any:
		n, d := 1, 0
		for _, x := range v {
			xn, xd := measure(x)
			n, d = n+1+xn, max(d, xd)
		}
		return n, d + 1
	case map[any]any:
		n, d := 1, 0
		for k, x := range v {
			kn, kd := measure(k)
			xn, xd := measure(x)
			n, d = n+kn+xn, max(d, kd, xd)
		}
		return n, d + 1
	case []any:
		n, d := 1, 0
		for _, x := range v {
			xn, xd := measure(x)
			n, d = n+xn, max(d, xd)
		}
		return n, d + 1
	}
	return 1, 0
}
