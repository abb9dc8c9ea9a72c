package mdtext

import "strings"

// Readable escapes s for use as inline markdown text, like Text, but keeps
// the raw markdown readable ("payments-api to v2.14.1; 502s stopped" stays
// as it is): it escapes only what can change how the text renders.
//
//   - Everywhere: '\', '`', '*', '_', '~', '[', ']', '<', '>', '|' and '$'
//     (escapes, code spans, emphasis, strikethrough, links and images,
//     HTML and autolinks, table cells, GitHub's math); the '&' of an
//     entity ("&amp;", "&#64;"; "AT&T" stays); the ':' of "://" and the '.'
//     of "www." (GFM's bare URL autolinks); '@' gets a zero-width joiner
//     after it (no mention, no e-mail autolink).
//   - At the start: '#', '-', '+' or '=' followed by a space, the end or
//     the same character, and the '.' or ')' after leading digits followed
//     by a space or the end, which would start a heading, a list, a
//     thematic break or a setext underline if the text began a line.
//
// GitHub links issue references ("#123") and commit SHAs after rendering,
// whatever the escaping; those are left as they are, as with Text.
//
// Like Text, newlines and other control characters become spaces, leading
// and trailing spaces are dropped, and bidirectional controls and NUL become
// U+FFFD. Every other character, including all non-ASCII text, is kept as
// written.
func Readable(s string) string {
	s = strings.Trim(sanitize(s), " ")
	lead := leadingMarker(s)
	var b strings.Builder
	b.Grow(len(s) + len(s)/8)
	// Every character that matters is ASCII, and UTF-8 never uses ASCII
	// bytes inside a multi-byte character, so a byte loop is exact.
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case i == lead:
			b.WriteByte('\\')
		case c == '@':
			b.WriteString("@" + ZWJ)
			continue
		case strings.IndexByte("\\`*_~[]<>|$", c) >= 0:
			b.WriteByte('\\')
		case c == '&' && isEntity(s[i:]):
			b.WriteByte('\\')
		case c == ':' && strings.HasPrefix(s[i+1:], "//"):
			b.WriteByte('\\')
		case c == '.' && i >= 3 && strings.EqualFold(s[i-3:i], "www"):
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}

// leadingMarker returns the index of the byte that would make s start a
// block (heading, list item, thematic break, setext underline) at the start
// of a line, or -1. Markers Readable escapes everywhere ('*', '>', '`', '~',
// '_', '|', '<', '[') are not its concern.
func leadingMarker(s string) int {
	if s == "" {
		return -1
	}
	// Each of these needs a space, the end of the line or a repeat of the
	// marker after it ("-1" and "#1" stay as written).
	ends := func(i int) bool { return i >= len(s) || s[i] == ' ' }
	switch s[0] {
	case '#', '-', '+', '=':
		if ends(1) || s[1] == s[0] {
			return 0
		}
		return -1
	}
	// An ordered list marker is one to nine digits and '.' or ')'
	// ("1.5s" stays as written).
	n := 0
	for n < len(s) && n < 10 && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	if n > 0 && n <= 9 && n < len(s) && (s[n] == '.' || s[n] == ')') && ends(n+1) {
		return n
	}
	return -1
}

// isEntity reports whether s starts with what CommonMark reads as an entity
// or numeric character reference: "&name;", "&#123;" or "&#x1F;". Unknown
// names are not entities, but escaping them too is harmless and keeps this
// free of the entity table.
func isEntity(s string) bool {
	i, max := 1, 32
	digits := isAlnum
	if strings.HasPrefix(s, "&#x") || strings.HasPrefix(s, "&#X") {
		i, max, digits = 3, 6, isHex
	} else if strings.HasPrefix(s, "&#") {
		i, max, digits = 2, 7, isDigit
	}
	j := i
	for j < len(s) && j-i < max && digits(s[j]) {
		j++
	}
	return j > i && j < len(s) && s[j] == ';'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHex(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
