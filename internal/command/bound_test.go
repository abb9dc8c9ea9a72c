package command

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// hostile are bodies of MaxBodyBytes built to make a Markdown parser slow or
// big: deep nesting (which makes goldmark quadratic), lazy lines under deep
// nesting, openers without closers, many candidates.
func hostile() map[string]string {
	// Each holds a command, or Parse would not scan it at all.
	fill := func(unit string) string {
		return "/tasuki help\n" + strings.Repeat(unit, (MaxBodyBytes-20)/len(unit))
	}
	var nested strings.Builder
	nested.WriteString("/tasuki help\n")
	for i := 0; nested.Len() < MaxBodyBytes-200; i++ {
		nested.WriteString(strings.Repeat(" ", 2*(i%(MaxDepth-2))) + "- a\n")
	}
	return map[string]string{
		"quote markers":          fill(">"),
		"quotes and lists":       fill("> - 1. "),
		"lazy lines under depth": strings.Repeat("> ", MaxDepth-2) + "a" + fill("\n/tasuki x"),
		"nested lists":           nested.String(),
		"blank lines in depth":   strings.Repeat("- ", MaxDepth-2) + "a" + fill("\n"),
		"backticks":              fill("`"),
		"backtick runs":          fill("`a``b```c````d"),
		"escaped backticks":      fill("\\`"),
		"comment openers":        fill("<!--"),
		"tag openers":            fill("<a "),
		"open attribute values":  fill("<a b='"),
		"nested attribute":       fill(`<a x="<a x='`),
		"many attributes":        fill("<a" + strings.Repeat(" b", 1<<16)),
		"autolink openers":       fill("<a:"),
		"declarations":           fill("<!A"),
		"candidates":             fill("/tasuki x\n"),
		"candidates in code":     fill("/tasuki `x\n"),
		"fences":                 fill("```\n"),
		"html blocks":            fill("<div>\n"),
		"tables":                 fill("|-|\n"),
		"setext under a bracket": "[" + fill("\n=")[len("/tasuki help\n"):] + "\n\n/tasuki help",
		"ref defs":               "[a]:" + fill("\n/tasuki")[len("/tasuki help\n"):],
		"quotes in arguments":    fill("/tasuki x " + strings.Repeat(`"a" `, 1000) + "\n"),
		"open quotes":            fill("/tasuki x " + strings.Repeat(`"`, 1000) + "\n"),
		"curly quotes":           fill("/tasuki x " + strings.Repeat("“", 300) + "\n"),
		"tabs":                   fill("\t>\t-\t"),
		"carriage returns":       fill("\r"),
	}
}

// TestParseBounds holds Parse to linear time and memory on hostile bodies.
// The limits are loose (a slow CI machine, the race detector) but far below
// what a quadratic parse of MaxBodyBytes takes: seconds and gigabytes.
func TestParseBounds(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	for name, body := range hostile() {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			p := Parse(body)
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%s %d bytes: %v, %d KiB allocated, %d commands, %d dropped", name, len(body), took, alloc>>10, len(p.Commands), p.Dropped)
			if took > raceSlowdown*time.Second {
				t.Errorf("Parse took %v", took)
			}
			if alloc > 64<<20 {
				t.Errorf("Parse allocated %d MiB", alloc>>20)
			}
			if len(p.Commands) > MaxCommands {
				t.Errorf("%d commands", len(p.Commands))
			}
		})
	}
}
