package command

import (
	"sort"
	"strings"
)

// span is a range [start, end) of a paragraph's text that the reader does
// not see as text: a code span, an autolink or raw HTML (a tag, whose
// attributes may run over several lines, or a comment).
type span struct{ start, end int }

// covers reports whether pos lies strictly inside one of spans (sorted,
// non-overlapping). A line starting at pos is then part of that span.
func covers(spans []span, pos int) bool {
	i := sort.Search(len(spans), func(i int) bool { return spans[i].end > pos })
	return i < len(spans) && spans[i].start < pos
}

// inlineHidden returns the code spans, autolinks and raw HTML of a
// paragraph's text, in order, scanning left to right as CommonMark does:
// a backslash escapes the next punctuation character; a backtick run opens
// a code span closed by the next run of the same length, or is literal;
// '<' opens an autolink or raw HTML when one matches there. Each search for
// a closer remembers where an earlier search found none, so the scan stays
// linear however many openers the text holds.
func inlineHidden(t string) []span {
	var out []span
	runs := backtickRuns(t)
	var noClose [4]int // for "-->", "?>", ">", "]]>": no closer at or after this offset
	for i := range noClose {
		noClose[i] = -1
	}
	closeAfter := func(k int, closer string, from int) int {
		if noClose[k] >= 0 && from >= noClose[k] {
			return -1
		}
		j := strings.Index(t[from:], closer)
		if j < 0 {
			noClose[k] = from
			return -1
		}
		return from + j + len(closer)
	}
	for i := 0; i < len(t); {
		j := strings.IndexAny(t[i:], "\\`<")
		if j < 0 {
			break
		}
		i += j
		switch t[i] {
		case '\\':
			if i+1 < len(t) && isASCIIPunct(t[i+1]) {
				i += 2
			} else {
				i++
			}
		case '`':
			n := runOf(t[i:], '`')
			if end := runs.closer(n, i+n); end > 0 {
				out = append(out, span{i, end})
				i = end
			} else {
				i += n
			}
		case '<':
			if end := htmlAt(t, i, closeAfter); end > 0 {
				out = append(out, span{i, end})
				i = end
			} else {
				i++
			}
		}
	}
	return out
}

// htmlAt returns the end of the autolink or raw HTML starting at t[i]
// ('<'), or 0.
func htmlAt(t string, i int, closeAfter func(k int, closer string, from int) int) int {
	rest := t[i:]
	if end := autolinkAt(t, i); end > 0 {
		return end
	}
	switch {
	case strings.HasPrefix(rest, "<!-->"):
		return i + len("<!-->")
	case strings.HasPrefix(rest, "<!--->"):
		return i + len("<!--->")
	case strings.HasPrefix(rest, "<!--"):
		return max(closeAfter(0, "-->", i+len("<!--")), 0)
	case strings.HasPrefix(rest, "<?"):
		return max(closeAfter(1, "?>", i+len("<?")), 0)
	case strings.HasPrefix(rest, "<![CDATA["):
		return max(closeAfter(3, "]]>", i+len("<![CDATA[")), 0)
	case len(rest) > 2 && rest[1] == '!' && isLetter(rest[2]):
		return max(closeAfter(2, ">", i+2), 0)
	case len(rest) > 1 && (isLetter(rest[1]) || rest[1] == '/'):
		return max(tagAt(t, i), 0)
	}
	return 0
}

// runs indexes the maximal backtick runs of a text by length.
type runs map[int][]int // length -> starts, ascending

func backtickRuns(t string) runs {
	r := runs{}
	for i := 0; i < len(t); {
		j := strings.IndexByte(t[i:], '`')
		if j < 0 {
			break
		}
		i += j
		n := runOf(t[i:], '`')
		r[n] = append(r[n], i)
		i += n
	}
	return r
}

// closer returns the end of the first run of exactly n backticks starting
// at or after from, or 0. A run starting at or after from is maximal
// because from is the end of the opening run.
func (r runs) closer(n, from int) int {
	starts := r[n]
	k := sort.SearchInts(starts, from)
	if k == len(starts) {
		return 0
	}
	return starts[k] + n
}

func isASCIIPunct(c byte) bool {
	return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') || (c >= '{' && c <= '~')
}
