package postmortem

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// allocated returns how many bytes f allocated on the heap.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// budget is what rendering one hostile template may allocate.
const budget = 64 << 20

// A postmortem template is read from the repository. Those that could run
// long or render without bound are refused when parsed, with the line;
// text/template itself would render them (five levels of 30 nested
// {{template}} calls: 810 MB in 4.5 s).
func TestParseTemplateRefusesUnboundedTemplates(t *testing.T) {
	var nested strings.Builder
	nested.WriteString(`{{define "t0"}}` + strings.Repeat("x", 1000) + `{{end}}`)
	for i := 1; i <= 4; i++ {
		fmt.Fprintf(&nested, `{{define "t%d"}}%s{{end}}`, i, strings.Repeat(fmt.Sprintf(`{{template "t%d"}}`, i-1), 30))
	}
	nested.WriteString(`{{template "t4"}}`)
	tests := []struct {
		name, text string
		line       int
		msg        string
	}{
		{"nested template calls", nested.String(), 1, `{{define "t0"}} is not available`},
		{"recursion", "# x\n{{define \"r\"}}{{template \"r\" .}}{{end}}{{template \"r\" .}}", 2, `{{define "r"}} is not available`},
		{"block", "# x\n\n{{block \"b\" .}}{{.Title}}{{end}}", 3, `{{define "b"}} is not available`},
		{"template call", "# x\n{{template \"postmortem\" .}}", 2, `{{template "postmortem"}} is not available`},
		{"range over a number", "# x\n\n{{range 100000000}}{{end}}", 3, "{{range}} is not available"},
		{"range inside if", "{{if .Title}}\n{{range $i, $c := .Title}}{{$c}}{{end}}{{end}}", 2, "{{range}} is not available"},
		{"printf width", "{{printf \"%999999999d\" 1}}", 1, `function "printf" is not available`},
		{"print doubling a variable", "{{$a := .Title}}\n{{$a = print $a $a}}{{$a = print $a $a}}", 2, `function "print" is not available`},
		{"chained escapes", "{{with .Title}}{{. | html | html | html}}{{end}}", 1, `function "html" is not available`},
		{"call", "{{call .Title}}", 1, `function "call" is not available`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inc, facts := closedIncident()
			var err error
			alloc := allocated(func() {
				var tmpl *Template
				if tmpl, err = ParseTemplate("acme/payments:.github/tasuki/postmortem.md", tt.text); err == nil {
					_, err = Scaffold(inc, facts, tmpl, DefaultConfig())
				}
			})
			te, ok := err.(*TemplateError)
			if !ok {
				t.Fatalf("err = %v, want *TemplateError", err)
			}
			if te.Line != tt.line || !strings.HasPrefix(te.Msg, tt.msg) || te.Source != "acme/payments:.github/tasuki/postmortem.md" {
				t.Errorf("err = %+v, want line %d saying %q", te, tt.line, tt.msg)
			}
			if alloc > budget {
				t.Errorf("allocated %d MB, budget %d MB", alloc>>20, budget>>20)
			}
		})
	}
}

// What is left renders each action once; the output is cut off as soon as
// it passes GitHub's limit instead of being built first.
func TestScaffoldBoundsOutput(t *testing.T) {
	inc, facts := closedIncident()
	for i := range 2000 {
		facts.Owners = append(facts.Owners, fmt.Sprintf("owner-%04d", i))
	}
	text := strings.Repeat("{{.Owners}}", MaxBody/len("{{.Owners}}"))
	tmpl, err := ParseTemplate("org", text)
	if err != nil {
		t.Fatal(err)
	}
	var doc Document
	alloc := allocated(func() { doc, err = Scaffold(inc, facts, tmpl, DefaultConfig()) })
	te, ok := err.(*TemplateError)
	if !ok || !strings.Contains(te.Msg, "more than GitHub's 65536 characters") {
		t.Fatalf("Scaffold = %d bytes, %v; want the length refused", len(doc.Body), err)
	}
	if alloc > budget {
		t.Errorf("allocated %d MB, budget %d MB", alloc>>20, budget>>20)
	}

	// Conditions and comparisons remain.
	tmpl, err = ParseTemplate("org", "{{if and (ne .Severity .Unknown) (gt (len .Team) 0)}}Severity {{.Severity}}{{else}}none{{end}}\n"+
		"{{with .Service}}{{.}}{{end}} {{- /* a comment */ -}}\n{{$t := .Title}}{{if not (eq $t \"\")}}{{$t}}{{end}}\n{{generated \"facts\"}}\n")
	if err != nil {
		t.Fatal(err)
	}
	doc, err = Scaffold(inc, facts, tmpl, DefaultConfig())
	if err != nil || !strings.Contains(doc.Body, "Severity `sev2`") || !strings.Contains(doc.Body, "`checkout`") {
		t.Errorf("Scaffold = %v\n%s", err, doc.Body)
	}
}
