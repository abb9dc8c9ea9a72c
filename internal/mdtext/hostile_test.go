package mdtext

import (
	"runtime"
	"strings"
	"testing"
)

// Text from issues and comments may be built to make a markdown processor
// recurse or go quadratic (deeply nested quotes, lists, brackets, emphasis,
// backtick runs). mdtext parses no markdown: every function is one pass
// over its input, so 256 KiB of any of these costs a bounded multiple of
// 256 KiB.
func TestHostileTextIsLinear(t *testing.T) {
	const n = 256 << 10
	inputs := map[string]string{
		"nested quotes":    strings.Repeat("> ", n/2),
		"nested lists":     strings.Repeat("- ", n/2),
		"nested brackets":  strings.Repeat("[", n),
		"emphasis":         strings.Repeat("*_", n/2),
		"backtick runs":    strings.Repeat("`", n/2) + "x" + strings.Repeat("``", n/4),
		"comment openers":  strings.Repeat("<!--", n/4),
		"entities":         strings.Repeat("&#1;", n/4),
		"mentions":         strings.Repeat("@a", n/2),
		"lines of markers": strings.Repeat("> - 1. # \n", n/10),
	}
	funcs := map[string]func(string) string{
		"Text": Text, "TableCell": TableCell, "Code": Code, "CodeCell": CodeCell,
		"Block": func(s string) string { return Block(s, "diff") }, "HTML": HTML, "Readable": Readable,
	}
	for name, in := range inputs {
		for fname, f := range funcs {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			out := f(in)
			runtime.ReadMemStats(&after)
			// The longest expansion is '@' to '@' and a zero-width joiner
			// (4 bytes), and strings.Builder may double its buffer once more.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 40*uint64(len(in)) {
				t.Errorf("%s(%s): %d bytes in, %d allocated", fname, name, len(in), alloc)
			}
			if len(out) > 5*len(in)+64 {
				t.Errorf("%s(%s): %d bytes in, %d out", fname, name, len(in), len(out))
			}
		}
	}
}
