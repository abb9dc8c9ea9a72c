package command

import (
	"bytes"
	"strings"
	"testing"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// oracleMaxBytes bounds the bodies the goldmark oracle reads: goldmark's
// time grows with nesting depth times length, which is why the scanner does
// not use it.
const oracleMaxBytes = 8 << 10

// goldmarkHidden parses src with goldmark (an independent CommonMark
// implementation) restricted to what the scanner models (block structure,
// code spans, autolinks, raw HTML; no links, no emphasis) and returns, for a
// byte offset, what hides it from the reader: "" when nothing does.
func goldmarkHidden(src []byte) func(pos int) string {
	p := parser.NewParser(
		parser.WithBlockParsers(parser.DefaultBlockParsers()...),
		parser.WithInlineParsers(
			util.Prioritized(parser.NewCodeSpanParser(), 100),
			util.Prioritized(parser.NewAutoLinkParser(), 300),
			util.Prioritized(parser.NewRawHTMLParser(), 400),
		),
	)
	// CommonMark (and GitHub's cmark-gfm) end a line at a lone "\r";
	// goldmark does not. Same length, so offsets hold.
	src = bytes.Clone(src)
	for i, c := range src {
		if c == '\r' && (i+1 == len(src) || src[i+1] != '\n') {
			src[i] = '\n'
		}
	}
	doc := p.Parse(text.NewReader(src))
	type rng struct {
		start, stop int
		what        string
	}
	var hidden []rng
	addLines := func(n ast.Node, what string) {
		lines := n.Lines()
		for i := 0; i < lines.Len(); i++ {
			s := lines.At(i)
			hidden = append(hidden, rng{s.Start, s.Stop, what})
		}
	}
	inQuote := func(n ast.Node) bool {
		for a := n.Parent(); a != nil; a = a.Parent() {
			if a.Kind() == ast.KindBlockquote {
				return true
			}
		}
		return false
	}
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.FencedCodeBlock:
			addLines(n, "fenced code")
		case *ast.CodeBlock:
			addLines(n, "indented code")
		case *ast.HTMLBlock:
			addLines(n, "HTML block")
			if n.HasClosure() {
				hidden = append(hidden, rng{n.ClosureLine.Start, n.ClosureLine.Stop, "HTML block"})
			}
		case *ast.CodeSpan:
			var first, last = -1, -1
			for c := n.FirstChild(); c != nil; c = c.NextSibling() {
				if t, ok := c.(*ast.Text); ok {
					if first < 0 {
						first = t.Segment.Start
					}
					last = t.Segment.Stop
				}
			}
			if first >= 0 {
				hidden = append(hidden, rng{first, last, "code span"})
			}
			return ast.WalkSkipChildren, nil
		case *ast.RawHTML:
			if n.Segments.Len() > 0 {
				hidden = append(hidden, rng{n.Segments.At(0).Start, n.Segments.At(n.Segments.Len() - 1).Stop, "raw HTML"})
			}
		}
		if n.Type() == ast.TypeBlock && inQuote(n) {
			addLines(n, "block quote")
		}
		return ast.WalkContinue, nil
	})
	return func(pos int) string {
		for _, r := range hidden {
			if r.start <= pos && pos < r.stop {
				return r.what
			}
		}
		return ""
	}
}

// lineStarts returns the offset of each line of body (lines end as the
// scanner ends them).
func lineStarts(body string) []int {
	starts := []int{0}
	for pos := 0; pos < len(body); {
		_, next := lineEnd(body, pos)
		if next < len(body) || (next == len(body) && next > 0 && (body[next-1] == '\n' || body[next-1] == '\r')) {
			starts = append(starts, next)
		}
		pos = next
	}
	return starts
}

// checkParse holds the properties every parse must have; it returns a
// description of the first one broken.
func checkParse(t *testing.T, body string) {
	t.Helper()
	p := Parse(body)
	if len(p.Commands) > MaxCommands {
		t.Fatalf("%d commands, more than %d", len(p.Commands), MaxCommands)
	}
	if len(body) <= MaxBodyBytes && p.Truncated {
		t.Fatalf("truncated a body of %d bytes", len(body))
	}
	starts := lineStarts(body)
	for _, c := range p.Commands {
		if len(c.Args) > MaxArgs || len(c.Text) > MaxLineBytes+len("…") || len(c.Verb) > MaxVerbBytes+len("…") {
			t.Fatalf("unbounded command %+v", c)
		}
		if c.Line < 1 || c.Line > len(starts) {
			t.Fatalf("command on line %d of %d", c.Line, len(starts))
		}
		ln := body[starts[c.Line-1]:]
		if end, _ := lineEnd(ln, 0); end < len(ln) {
			ln = ln[:end]
		}
		i := len(ln) - len(strings.TrimLeft(ln, " "))
		if i > 3 || !isCandidate(ln, i) {
			t.Fatalf("command %q: line %d %q does not start with %s", c.Text, c.Line, ln, Prefix)
		}
	}

	if len(body) > oracleMaxBytes {
		return
	}
	// Every command is text to goldmark.
	found, tooDeep := scan(body, false)
	hidden := goldmarkHidden([]byte(body))
	for _, f := range found {
		if what := hidden(f.at); what != "" {
			end, _ := lineEnd(body, f.at)
			t.Fatalf("line %d %q is a command, but goldmark puts it in a %s", f.line, body[f.at:end], what)
		}
	}
	if tooDeep {
		return
	}
	// Whatever the body, wrapping it in a code block, a quote or an HTML
	// comment leaves no command.
	lines := splitLines(body)
	fence := strings.Repeat("`", max(3, longestBacktickRun(body)+1))
	wrapped := map[string]string{
		"fenced":   fence + "\n" + body + "\n" + fence,
		"quoted":   "> " + strings.Join(lines, "\n> "),
		"indented": "    " + strings.Join(lines, "\n    "),
	}
	if !strings.Contains(body, "-->") {
		wrapped["comment"] = "<!--\n" + body + "\n-->"
	}
	for how, w := range wrapped {
		if q := Parse(w); len(q.Commands) > 0 {
			t.Fatalf("%s body still has command %q", how, q.Commands[0].Text)
		}
	}
}

func splitLines(body string) []string {
	var out []string
	for pos := 0; ; {
		end, next := lineEnd(body, pos)
		out = append(out, body[pos:end])
		if next >= len(body) {
			break
		}
		pos = next
	}
	return out
}

func longestBacktickRun(s string) int {
	best := 0
	for i := 0; i < len(s); i++ {
		if n := runOf(s[i:], '`'); n > best {
			best = n
		}
	}
	return best
}

func FuzzParse(f *testing.F) {
	for _, tc := range parseCases {
		f.Add(tc.body)
	}
	for _, s := range []string{
		"- ```\n```\n/tasuki help\n```\n/tasuki help",
		"> a\n/tasuki help",
		"> ```\n/tasuki help",
		"- a\n\n    ```\n  /tasuki help\n    ```\n",
		"<a title=\"\n/tasuki help\n\">",
		"`a`\n/tasuki done `x`\n`b`",
		"[a]:\n/tasuki help",
		"1. a\n\n   ~~~\n/tasuki help\n   ~~~",
		"<div>\n/tasuki help\n</div>\n\n/tasuki help",
		"| a |\n| - |\n/tasuki help",
		"\t- a\n\t\t```\n\t/tasuki help",
		"text\n<details>\n/tasuki help",
		"- a\n  > b\n\x01\n  - ```\n\x01 x\n   ```\n\x01",
		"1) a\n   1. b\n\t\t```\n\x01\n> ~~~\n\x01\n\n\x01",
		"* a\n\n      code\n  \x01\n<!-- x\n\x01 -->\n\x01",
		"`` a `\n\x01 ``\n\x01 <b\nc='\n\x01'>\n\x01",
		"[a]: /u\n\x01\n\n[b\n\x01]: /v\n\n\x01",
		"- \n\n  \x01\n-\n\x01\n10. <pre>\n\x01\n</pre>\n\x01",
		"a\n===\n\x01\n---\n\x01\n    \x01\n\x01",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		// Mutations rarely spell the prefix; a rare byte does it for them.
		checkParse(t, strings.ReplaceAll(body, "\x01", Prefix))
	})
}
