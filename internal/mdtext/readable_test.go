package mdtext

import (
	"html"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// readablePositions are the places Readable's output goes: alone on a line
// (where block markers count), on the line after a paragraph line (where
// "===" or "---" would be a setext underline), after a list item's bold
// time as in a postmortem timeline, and in a table cell. wrap builds the
// markdown; want is the only HTML it may render, with %s for the text.
var readablePositions = []struct {
	name       string
	wrap, want string
}{
	{"line", "%s", "<p>%s</p>\n"},
	{"after a paragraph line", "x\n%s", "<p>x\n%s</p>\n"},
	{"list item", "- **t** — %s (end)", "<ul>\n<li><strong>t</strong> — %s (end)</li>\n</ul>\n"},
	{"table cell", "| a | b |\n|---|---|\n| %s | last |", "<table>\n<thead>\n<tr>\n<th>a</th>\n<th>b</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n<td>%s</td>\n<td>last</td>\n</tr>\n</tbody>\n</table>\n"},
}

// checkReadable asserts that Readable(s) renders, in every position, as
// exactly the input text (with a zero-width joiner after '@'): no tag, link,
// image, mention, entity or emphasis survives from s.
func checkReadable(t testing.TB, s string) {
	t.Helper()
	md := Readable(s)
	want := strings.ReplaceAll(strings.Trim(sanitize(s), " "), "@", "@"+ZWJ)
	for _, p := range readablePositions {
		out := render(t, strings.Replace(p.wrap, "%s", md, 1))
		before, after, _ := strings.Cut(p.want, "%s")
		// An empty text leaves only the wrapper (goldmark drops the
		// trailing newline of "x\n" and the space in an empty cell).
		if md == "" {
			continue
		}
		if !strings.HasPrefix(out, before) || !strings.HasSuffix(out, after) || len(out) < len(before)+len(after) {
			t.Fatalf("%s: Readable(%q) = %q renders %q, want %q", p.name, s, md, out, strings.Replace(p.want, "%s", "TEXT", 1))
		}
		inner := out[len(before) : len(out)-len(after)]
		if tag := tagRe.FindString(inner); tag != "" {
			t.Fatalf("%s: Readable(%q) = %q renders tag %s: %q", p.name, s, md, tag, out)
		}
		text := html.UnescapeString(inner)
		if m := mentionRe.FindString(text); m != "" {
			t.Fatalf("%s: Readable(%q) renders a mention %q: %q", p.name, s, m, out)
		}
		if text != want {
			t.Fatalf("%s: Readable(%q) = %q renders as %q, want %q", p.name, s, md, text, want)
		}
	}
}

func TestReadable(t *testing.T) {
	tests := []struct {
		in, want string // want "" = only check the rendering
	}{
		// What people write stays readable.
		{"rolled back payments-api to v2.14.1; 502s stopped", "rolled back payments-api to v2.14.1; 502s stopped"},
		{"p99 latency 1.5s (was 300ms), error rate 12% / 4xx+5xx", "p99 latency 1.5s (was 300ms), error rate 12% / 4xx+5xx"},
		{"#123 reverted: \"quotes\" and 'single', 10:02-10:30 = 28m!", "#123 reverted: \"quotes\" and 'single', 10:02-10:30 = 28m!"},
		{"-1 replicas, +2 nodes", "-1 replicas, +2 nodes"},
		{"1.5s p50", "1.5s p50"},
		{"AT&T and R&D & co", "AT&T and R&D & co"},
		{"ünïcödé — 障害", "ünïcödé — 障害"},
		// What would render differently is escaped.
		{"@octocat please look", "@" + ZWJ + "octocat please look"},
		{"cc @acme/sre-core", "cc @" + ZWJ + "acme/sre-core"},
		{"<script>alert(1)</script>", `\<script\>alert(1)\</script\>`},
		{"[click](https://evil.example)", `\[click\](https\://evil.example)`},
		{"![img](x.png)", `!\[img\](x.png)`},
		{"**bold** _em_ ~~strike~~ `code`", `\*\*bold\*\* \_em\_ \~\~strike\~\~ \` + "`code\\`"},
		{"# heading", `\# heading`},
		{"- item", `\- item`},
		{"---", `\---`},
		{"===", `\===`},
		{"+ item", `\+ item`},
		{"1. numbered", `1\. numbered`},
		{"2024) numbered", `2024\) numbered`},
		{"> quote", `\> quote`},
		{"a | b", `a \| b`},
		{"&amp; &#64; &#x41; &x;", `\&amp; \&#64; \&#x41; \&x;`},
		{`back\slash\`, `back\\slash\\`},
		{"see https://example.com and www.example.com", `see https\://example.com and www\.example.com`},
		{"mail ops@example.com", "mail ops@" + ZWJ + "example.com"},
		{"cost $x$ and $5", `cost \$x\$ and \$5`},
		{"<!-- comment -->", "\\<!\u200b-- comment --\\>"}, // the zero-width space of marker.Defang
		{"  line one\nline two\r\n## three  ", "line one line two  ## three"},
		{"admin\u202Egnp.exe", "admin\uFFFDgnp.exe"},
		{"\x00nul", "\uFFFDnul"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := Readable(tt.in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Readable(%q) (-want +got):\n%s", tt.in, diff)
			}
			checkReadable(t, tt.in)
		})
	}
}

// Readable leaves Text's behaviour alone: Text still escapes every ASCII
// punctuation character.
func TestReadableLeavesTextAlone(t *testing.T) {
	if got := Text("v2.14.1;"); got != `v2\.14\.1\;` {
		t.Errorf("Text changed: %q", got)
	}
}

func FuzzReadable(f *testing.F) {
	for _, s := range []string{"@a", "<b>", "[x](y)", "![x](y)", "`x`", "a|b", "www.x.com", "http://x.com", "a@b.co", "&amp;", "&#x41;",
		"\\", "\n# h", "- x", "1) x", "===", "***", "~~x~~", "$x$", "<http://x.com>", "<!-- x -->", "x\\\n y", "*a*", "_a_", "__a__",
		"[a]: http://x", "[^1]", "www.x.com/a_b_c", "foo_bar_baz", "a\u00a0*b*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkReadable(t, s)
	})
}

func BenchmarkReadable(b *testing.B) {
	s := strings.Repeat("rolled back payments-api to v2.14.1; 502s stopped @alice <b>x</b> ", 4)
	b.ReportAllocs()
	b.SetBytes(int64(len(s)))
	for i := 0; i < b.N; i++ {
		_ = Readable(s)
	}
}
