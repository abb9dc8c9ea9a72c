package mdtext

import (
	"bytes"
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	gmhtml "github.com/yuin/goldmark/renderer/html"
)

// gfm renders markdown the way GitHub does, as far as goldmark can: tables,
// autolinks, strikethrough, task lists.
// Raw HTML is rendered (unsafe), as GitHub renders <details>, so that an
// injected tag would show.
var gfm = goldmark.New(goldmark.WithExtensions(extension.GFM), goldmark.WithRendererOptions(gmhtml.WithUnsafe()))

func render(t testing.TB, md string) string {
	t.Helper()
	var b bytes.Buffer
	if err := gfm.Convert([]byte(md), &b); err != nil {
		t.Fatalf("goldmark: %v", err)
	}
	return b.String()
}

var (
	tagRe     = regexp.MustCompile(`<[^>]*>`)
	mentionRe = regexp.MustCompile(`@[A-Za-z0-9]`)
)

// asciiTrim trims what CommonMark strips around a paragraph.
func asciiTrim(s string) string { return strings.Trim(s, " \t\n") }

// checkText asserts that Text(s) renders as one paragraph of exactly the
// input text, with no tag other than <p> and no mention.
func checkText(t testing.TB, s string) {
	t.Helper()
	md := Text(s)
	out := render(t, md)
	for _, tag := range tagRe.FindAllString(out, -1) {
		if tag != "<p>" && tag != "</p>" {
			t.Fatalf("Text(%q) = %q renders tag %s: %q", s, md, tag, out)
		}
	}
	text := html.UnescapeString(tagRe.ReplaceAllString(out, ""))
	if m := mentionRe.FindString(text); m != "" {
		t.Fatalf("Text(%q) renders a mention %q: %q", s, m, out)
	}
	want := asciiTrim(strings.ReplaceAll(sanitize(s), "@", "@"+ZWJ))
	if got := asciiTrim(text); got != want {
		t.Fatalf("Text(%q) = %q renders as %q, want %q", s, md, got, want)
	}
}

func TestText(t *testing.T) {
	for _, s := range []string{
		"plain",
		"aws_iam_role.admin[\"prod\"]",
		"@octocat please look",
		"cc @acme/sre-core",
		"<script>alert(1)</script>",
		"</details><details open>",
		"[click](https://evil.example)",
		"![img](https://evil.example/x.png)",
		"**bold** _em_ ~~strike~~ `code`",
		"# heading",
		"- list item",
		"1. numbered",
		"> quote",
		"a | b | c",
		"line one\nline two\r\n## three",
		"&amp; &lt; &#64;",
		"back\\slash\\",
		"https://example.com and www.example.com",
		"<!-- comment -->",
		"***",
		"trailing spaces  ",
		"\x00nul",
		"ünïcödé @élodie",
		"admin\u202Egnp.exe",
	} {
		t.Run(s, func(t *testing.T) { checkText(t, s) })
	}
}

func TestBidiControlsRemoved(t *testing.T) {
	in := "invoice\u202Etxt.exe \u2066x\u2069"
	for name, out := range map[string]string{"Text": Text(in), "Code": Code(in), "Block": Block(in, ""), "HTML": HTML(in)} {
		if strings.ContainsAny(out, "\u202E\u2066\u2069") {
			t.Errorf("%s keeps a bidirectional control: %q", name, out)
		}
	}
}

func TestCode(t *testing.T) {
	for _, s := range []string{
		"plain", "a`b", "``x``", "`", " leading", "trailing ", " both ", "   ",
		"@octocat", "<b>x</b>", "</details>", "new\nline", "",
	} {
		t.Run(s, func(t *testing.T) {
			md := Code(s)
			out := render(t, md)
			if !strings.HasPrefix(out, "<p><code>") || !strings.HasSuffix(out, "</code></p>\n") || strings.Count(out, "<") != 4 {
				t.Fatalf("Code(%q) = %q renders %q, want one code span", s, md, out)
			}
			got := html.UnescapeString(strings.TrimSuffix(strings.TrimPrefix(out, "<p><code>"), "</code></p>\n"))
			want := oneLine(s)
			if s == "" {
				want = " "
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("Code(%q) = %q content mismatch (-want +got):\n%s", s, md, diff)
			}
		})
	}
}

func TestBlock(t *testing.T) {
	for _, s := range []string{
		"plain", "```\nnot the end\n```", "````", "</details>\n<script>", "@octocat", "", "a\r\nb", "rtl\u202Eoverride",
	} {
		t.Run(s, func(t *testing.T) {
			md := "<details><summary>x</summary>\n\n" + Block(s, "diff; rm -rf") + "\n</details>\n\nafter\n"
			out := render(t, md)
			if n := strings.Count(out, "<pre><code"); n != 1 {
				t.Fatalf("Block(%q): %d code blocks in %q", s, n, out)
			}
			if !strings.Contains(out, `class="language-diffrm-rf"`) {
				t.Fatalf("Block(%q): info string not sanitized: %q", s, out)
			}
			if !strings.HasSuffix(out, "</details>\n<p>after</p>\n") {
				t.Fatalf("Block(%q) broke out of its block: %q", s, out)
			}
			pre := strings.Index(out, "<pre><code")
			start := pre + strings.Index(out[pre:], `">`) + 2
			end := strings.Index(out, "</code></pre>")
			got := html.UnescapeString(out[start:end])
			want := strings.ReplaceAll(s, "\r\n", "\n")
			want = strings.ReplaceAll(want, "\u202E", "\uFFFD")
			if want != "" && !strings.HasSuffix(want, "\n") {
				want += "\n"
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("Block(%q) content mismatch (-want +got):\n%s", s, diff)
			}
		})
	}
}

func TestTableCell(t *testing.T) {
	for _, s := range []string{"a|b", "`a|b`", "x\ny", "@team", "<br>"} {
		t.Run(s, func(t *testing.T) {
			for _, cell := range []string{TableCell(s), CodeCell(s)} {
				md := "| a | b |\n|---|---|\n| " + cell + " | last |\n"
				out := render(t, md)
				if n := strings.Count(out, "<td>"); n != 2 {
					t.Fatalf("cell %q: %d cells in the body row: %q", cell, n, out)
				}
				if !strings.Contains(out, "<td>last</td>") {
					t.Fatalf("cell %q: last cell moved: %q", cell, out)
				}
			}
		})
	}
}

func TestHTML(t *testing.T) {
	got := HTML(`</summary><img src=x onerror="alert(1)"> @octocat & 'q'`)
	want := "&lt;/summary&gt;&lt;img src=x onerror=&quot;alert(1)&quot;&gt; @" + ZWJ + "octocat &amp; &#39;q&#39;"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("HTML (-want +got):\n%s", diff)
	}
	out := render(t, "<details><summary>"+got+"</summary>\n\nbody\n\n</details>\n")
	if strings.Contains(out, "<img") || strings.Count(out, "</summary>") != 1 || !strings.Contains(out, "<p>body</p>") {
		t.Fatalf("HTML escaping let a tag through: %q", out)
	}
}

func TestTruncate(t *testing.T) {
	for _, c := range []struct {
		s    string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"0123456789abc", 10, "0123456…"},
		{"ééééé", 6, "é…"}, // never cuts a rune
		{"abc", 2, ""},
	} {
		if got := Truncate(c.s, c.max); got != c.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", c.s, c.max, got, c.want)
		}
	}
}

func FuzzText(f *testing.F) {
	for _, s := range []string{"@a", "<b>", "[x](y)", "`x`", "a|b", "www.x.com", "&amp;", "\\", "\n# h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkText(t, s)
		out := render(t, Code(s))
		if strings.Count(out, "<code>") != 1 || strings.Count(out, "<") != 4 {
			t.Fatalf("Code(%q) renders %q", s, out)
		}
		out = render(t, Block(s, "text")+"\nafter\n")
		if strings.Count(out, "<pre>") != 1 || !strings.HasSuffix(out, "<p>after</p>\n") {
			t.Fatalf("Block(%q) renders %q", s, out)
		}
	})
}
