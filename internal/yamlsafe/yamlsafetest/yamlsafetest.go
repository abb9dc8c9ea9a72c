// Package yamlsafetest holds YAML documents built to exhaust a parser, and
// a way to measure what handling one allocates, for the tests of every
// package that reads YAML from repositories.
package yamlsafetest

import (
	"fmt"
	"runtime"
	"strings"
)

// Budget is the most a test lets one hostile document allocate on its way
// to being refused: generous for the linear pre-pass (under 20 MB for any
// 128 KiB input), far below what goccy/go-yaml alone allocates for the
// worst of them (2.5 GB for 40,000 "[").
const Budget = 64 << 20

// Case is one hostile document.
type Case struct {
	Name string
	Data []byte
	// Line is where the refusal should point (1-based), 0 when the test
	// should not insist on one.
	Line int
	// Msg is a part of the refusal's message.
	Msg string
}

// Cases returns the hostile documents, each a valid start of a tasuki.yml
// (the first key is "review"), each under 128 KiB.
func Cases() []Case {
	return []Case{
		{Name: "flow sequence 40,000 deep", Data: []byte("review: " + strings.Repeat("[", 40000) + "\n"),
			Line: 1, Msg: "nesting deeper than 64 levels"},
		{Name: "flow mapping 40,000 deep", Data: []byte("review: " + strings.Repeat("{", 40000) + "\n"),
			Line: 1, Msg: "nesting deeper than 64 levels"},
		{Name: "flow mapping with keys 30,000 deep", Data: []byte("review: " + strings.Repeat("{a: ", 30000) + "\n"),
			Line: 1, Msg: "nesting deeper than 64 levels"},
		{Name: "block mappings 500 deep by indentation", Data: indented(500),
			Line: 65, Msg: "nesting deeper than 64 levels"},
		{Name: "block sequences 40,000 deep on one line", Data: []byte("review:\n" + strings.Repeat("- ", 40000) + "x\n"),
			Line: 2, Msg: "nesting deeper than 64 levels"},
		{Name: "block sequences 9,000 deep on one line", Data: []byte("review:\n" + strings.Repeat("- ", 9000) + "x\n"),
			Line: 2, Msg: "nesting deeper than 64 levels"},
		{Name: "block sequences 300 deep by indentation", Data: dashes(300),
			Line: 65, Msg: "nesting deeper than 64 levels"},
		{Name: "alias bomb", Data: []byte(laughs),
			Line: 5, Msg: "aliases expand the file by more than 10000 values"},
		{Name: "alias bomb past 4 KiB", Data: []byte(laughs + strings.Repeat("# padding\n", 500)),
			Line: 5, Msg: "aliases expand the file by more than 10000 values"},
		{Name: "alias nesting an anchor 60 deep 60 deeper", Data: []byte("review:\n  a: &a " + strings.Repeat("[", 60) + strings.Repeat("]", 60) +
			"\n  b: " + strings.Repeat("[", 60) + "*a" + strings.Repeat("]", 60) + "\n"),
			Line: 3, Msg: "alias *a nests values deeper than 64 levels"},
		{Name: "alias to the value that holds it", Data: []byte("review: &x [*x]\n" + strings.Repeat("# padding\n", 500)),
			Line: 1, Msg: "alias *x refers to the value that contains it"},
		{Name: "5,000 keys in one mapping", Data: keys(5000),
			Line: 2, Msg: "a mapping of more than 2000 keys"},
		{Name: "60,000 values", Data: []byte("review: [" + strings.Repeat("a,", 60000) + "]\n"),
			Line: 1, Msg: "more than 20000 values"},
		{Name: "9,000 documents", Data: []byte(strings.Repeat("---\nreview: a\n", 9000)),
			Line: 201, Msg: "more than 100 YAML documents"},
	}
}

// laughs is a billion laughs: 81 values written, 10^9 once expanded.
const laughs = `review:
  a: &a [x, x, x, x, x, x, x, x, x, x]
  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
  e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
  f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
  g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
  h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]
  i: [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]
`

// indented nests depth block mappings by indentation, one level a line.
func indented(depth int) []byte {
	var b strings.Builder
	b.WriteString("review:\n")
	for i := 1; i < depth; i++ {
		b.WriteString(strings.Repeat(" ", i))
		b.WriteString("a:\n")
	}
	return []byte(b.String())
}

// dashes nests depth block sequences by indentation, one level a line.
func dashes(depth int) []byte {
	var b strings.Builder
	b.WriteString("review:\n")
	for i := 1; i < depth; i++ {
		b.WriteString(strings.Repeat(" ", i))
		b.WriteString("-\n")
	}
	return []byte(b.String())
}

// keys writes a mapping of n keys under review.
func keys(n int) []byte {
	var b strings.Builder
	b.WriteString("review:\n")
	for i := range n {
		fmt.Fprintf(&b, "  k%d: v\n", i)
	}
	return []byte(b.String())
}

// Allocated returns how many bytes f allocated on the heap, whether or not
// they were freed since. Tests using it must not run in parallel with
// others that allocate.
func Allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
