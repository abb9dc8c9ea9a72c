package command

import (
	"regexp"
	"testing"
)

// The regular expressions of CommonMark 0.31 (as commonmark.js spells
// them) that html.go matches by hand; they are the reference here.
const (
	refTagName  = `[A-Za-z][A-Za-z0-9-]*`
	refAttrName = `[a-zA-Z_:][a-zA-Z0-9:._-]*`
	refAttrVal  = "(?:[^\"'=<>`\\x00-\\x20]+|'[^']*'|\"[^\"]*\")"
	refSpace    = `[ \t\r\n]`
	refAttr     = `(?:` + refSpace + `+` + refAttrName + `(?:` + refSpace + `*=` + refSpace + `*` + refAttrVal + `)?)`
	refOpenTag  = `<` + refTagName + refAttr + `*` + refSpace + `*/?>`
	refCloseTag = `</` + refTagName + refSpace + `*>`
)

var (
	refTag      = regexp.MustCompile(`^(?:` + refOpenTag + `|` + refCloseTag + `)`)
	refURIAuto  = regexp.MustCompile(`^<[A-Za-z][A-Za-z0-9.+-]{1,31}:[^<>\x00-\x20]*>`)
	refMailAuto = regexp.MustCompile("^<[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*>")
	refBlock1   = regexp.MustCompile(`(?i)^<(?:script|pre|textarea|style)(?:[ \t>]|$)`)
	refBlock6   = regexp.MustCompile(`(?i)^</?(?:address|article|aside|base|basefont|blockquote|body|caption|center|col|colgroup|dd|details|dialog|dir|div|dl|dt|fieldset|figcaption|figure|footer|form|frame|frameset|h[1-6]|head|header|hr|html|iframe|legend|li|link|main|menu|menuitem|nav|noframes|ol|optgroup|option|p|param|search|section|summary|table|tbody|td|tfoot|th|thead|title|tr|track|ul)(?:[ \t]|/?>|$)`)
	refBlock7   = regexp.MustCompile(`^(?:` + refOpenTag + `|` + refCloseTag + `)[ \t]*$`)
	refClose1   = regexp.MustCompile(`(?i)</(?:script|pre|textarea|style)>`)
	refDelim    = regexp.MustCompile(`^[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$`)
)

func refEnd(re *regexp.Regexp, s string) int {
	if loc := re.FindStringIndex(s); loc != nil {
		return loc[1]
	}
	return -1
}

func checkHTML(t *testing.T, s string) {
	t.Helper()
	if got, want := tagAt(s, 0), refEnd(refTag, s); got != want {
		t.Errorf("tagAt(%q) = %d; want %d", s, got, want)
	}
	want := refEnd(refURIAuto, s)
	if want < 0 {
		want = refEnd(refMailAuto, s)
	}
	if got := autolinkAt(s, 0); got != want {
		t.Errorf("autolinkAt(%q) = %d; want %d", s, got, want)
	}
	for typ, re := range map[int]*regexp.Regexp{1: refBlock1, 6: refBlock6, 7: refBlock7} {
		if ln := firstLine(s); htmlBlockOpens(typ, ln) != re.MatchString(ln) {
			t.Errorf("htmlBlockOpens(%d, %q) = %v", typ, ln, !re.MatchString(ln))
		}
	}
	if got, want := htmlBlockCloses(1, s), refClose1.MatchString(s); got != want {
		t.Errorf("htmlBlockCloses(1, %q) = %v; want %v", s, got, want)
	}
	if ln := firstLine(s); delimiterRow(ln) != (refDelim.MatchString(ln) && containsByte(ln, '|')) {
		t.Errorf("delimiterRow(%q) = %v", ln, delimiterRow(ln))
	}
}

func firstLine(s string) string {
	end, _ := lineEnd(s, 0)
	return s[:end]
}

func containsByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}

var htmlCases = []string{
	"<a>", "<a/>", "<a />", "<A HREF=x>", "<a href='x'>", `<a href="x">`, "<a href=x/>", "<a b c d>",
	"<a b = 'x' >", "<a\nb='\n'>", "<a b='>", "<a b=>", "<a b=`x`>", "<1a>", "<a-1>", "<a_b>", "</a>", "</a >",
	"</a b>", "</ a>", "<a b=c d=\"e\" f>", "<a :x.y-z_=1>", "<a\t/>", "<", "<a", "<a ", "<a b", "<a b='x'",
	"<http://x>", "<http://x y>", "<a:b>", "<ab:c>", "<made-up-scheme+1.x:y>", "<x@y>", "<a.b+c@d-e.f>",
	"<a@-b>", "<a@b->", "<a@b.>", "<a@>", "<a@bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb>",
	"<script>", "<script", "<SCRIPT type=x>", "<scripts>", "<pre-x>", "<textarea\t>", "</pre>",
	"<div>", "</div>", "<DIV/>", "<div/ >", "<h1>", "<h7>", "<details open>", "<summary>x", "<divx>",
	"x </pre> y", "</PRE>", "</pre >", "</ pre>",
	"|-|", "| - | :-: |", "---|---", "|", "||", ":-", "|:|", "| --- | x |", "-|-", "  |-|  ",
}

func TestHTMLMatchers(t *testing.T) {
	for _, s := range htmlCases {
		checkHTML(t, s)
	}
}

func FuzzHTMLMatchers(f *testing.F) {
	for _, s := range htmlCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkHTML(t, s)
	})
}
