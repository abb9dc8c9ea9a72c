// Package mdtext escapes text taken from plans, pull requests and issues
// (addresses, values, titles, logins) for GitHub-flavoured markdown, so that
// nothing a user or a plan controls can ping people, inject HTML or links,
// close a <details> block, break out of a code span or block, or split a
// table cell.
//
// Every function returns markdown that renders as exactly the input text,
// apart from the zero-width joiner placed after each '@', the zero-width
// space that breaks every "<!--" (marker.Defang), the newline
// handling described per function, and bidirectional controls and NUL,
// which become U+FFFD.
package mdtext

import (
	"strings"
	"unicode/utf8"

	"github.com/tasuki-sre/tasuki/internal/marker"
)

// ZWJ is inserted after every '@' in Text, TableCell and HTML so that GitHub
// does not turn "@someone" or "@org/team" into a mention that pings.
const ZWJ = "\u200d"

// Text escapes s for use as inline markdown text (a paragraph, a list item, a
// heading). Every ASCII punctuation character is backslash-escaped (which
// CommonMark allows for all of them), so no emphasis, link, image, HTML tag,
// entity, code span, autolink or table pipe can start; newlines and other
// control characters become spaces so the text stays one line and cannot
// start a new block; leading and trailing spaces are dropped (indentation
// would start a code block).
func Text(s string) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/4)
	for _, r := range strings.Trim(sanitize(s), " ") {
		switch {
		case r == '@':
			b.WriteString("@" + ZWJ)
		case r < 0x80 && isPunct(byte(r)):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TableCell escapes s for a cell of a GFM table: like Text, which already
// escapes '|' (the only character GFM tables treat specially).
func TableCell(s string) string { return Text(s) }

// Code renders s as an inline code span, whatever it contains: the fence is
// one backtick longer than the longest backtick run in s, and a space pads
// content that starts or ends with a backtick. Newlines become spaces (a code
// span is one line). GitHub does not turn mentions or HTML inside code into
// pings or tags. The empty string renders as a code span holding one space.
func Code(s string) string {
	s = oneLine(s)
	if s == "" {
		return "` `"
	}
	fence := strings.Repeat("`", longestRun(s, '`')+1)
	pad := ""
	if s[0] == '`' || s[len(s)-1] == '`' || (s[0] == ' ' && s[len(s)-1] == ' ' && strings.Trim(s, " ") != "") {
		pad = " "
	}
	return fence + pad + s + pad + fence
}

// CodeCell is Code for use inside a GFM table cell: GFM splits cells on '|'
// even inside code spans, and turns "\|" back into "|" there.
func CodeCell(s string) string {
	c := Code(s)
	return strings.ReplaceAll(c, "|", `\|`)
}

// Block renders s as a fenced code block with the given info string (only
// letters, digits, '+', '-', '_' are kept of lang). The fence is longer than
// any backtick run in s, so s cannot close it. The result ends with a newline
// and must start on a line of its own, after a blank line when it sits
// inside HTML such as <details>.
func Block(s, lang string) string {
	s = marker.Defang(strings.ToValidUTF8(s, "\uFFFD"))
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.Map(func(r rune) rune {
		if r == 0 || isBidi(r) {
			return '\uFFFD'
		}
		return r
	}, s)
	n := longestRun(s, '`') + 1
	if n < 3 {
		n = 3
	}
	fence := strings.Repeat("`", n)
	var b strings.Builder
	b.Grow(len(s) + 2*n + len(lang) + 4)
	b.WriteString(fence)
	b.WriteString(infoString(lang))
	b.WriteByte('\n')
	b.WriteString(s)
	if s != "" && !strings.HasSuffix(s, "\n") {
		b.WriteByte('\n')
	}
	b.WriteString(fence)
	b.WriteByte('\n')
	return b.String()
}

// HTML escapes s for text inside raw HTML that GitHub renders without
// markdown processing, such as <summary>: '&', '<', '>', '"' and '\” become
// entities, '@' is followed by a zero-width joiner, newlines become spaces.
func HTML(s string) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/4)
	for _, r := range sanitize(s) {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&#39;")
		case '@':
			b.WriteString("@" + ZWJ)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Truncate shortens s to at most max bytes (on a rune boundary), ending
// with "…" when it cut something. Escape after truncating, not before, so an
// escape sequence is never cut in half.
func Truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	if max < len("…") {
		return ""
	}
	cut := max - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// sanitize makes s valid UTF-8 on one line without control characters.
func sanitize(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return oneLine(s)
}

// oneLine also defangs s (marker.Defang): every function here goes through
// it or through Block, so no text escaped here can open an HTML comment and
// pass for a tasuki marker, facts block or section.
func oneLine(s string) string {
	return marker.Defang(strings.Map(func(r rune) rune {
		switch {
		case r == 0:
			return '\uFFFD'
		case r < 0x20 || r == 0x7f:
			return ' '
		case r == '\u2028' || r == '\u2029' || r == '\u0085':
			return ' '
		case isBidi(r):
			return '\uFFFD'
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD")))
}

// isBidi reports bidirectional override and isolate controls, which can
// make text display in a different order than it reads ("Trojan Source").
func isBidi(r rune) bool {
	return r >= '\u202A' && r <= '\u202E' || r >= '\u2066' && r <= '\u2069'
}

func isPunct(c byte) bool {
	return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') || (c >= '{' && c <= '~')
}

func longestRun(s string, c byte) int {
	best, cur := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			cur++
			if cur > best {
				best = cur
			}
		} else {
			cur = 0
		}
	}
	return best
}

func infoString(lang string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '+' || r == '-' || r == '_') {
			return r
		}
		return -1
	}, lang)
}
