package command

import "strings"

// HTML as CommonMark 0.31 defines it, matched by hand: these run at every
// '<' of a paragraph and at every line starting with '<', and a regexp per
// attempt costs an allocation whenever its sync.Pool is empty (always under
// the race detector), which made a body of "<a " ten thousand times slower
// to read than the rest.

// tagAt returns the end of the open or closing tag starting at s[i] ('<'),
// or -1. White space inside a tag may include line ends (a paragraph's text
// has no blank line).
func tagAt(s string, i int) int {
	if i >= len(s) || s[i] != '<' {
		return -1
	}
	j := i + 1
	if j < len(s) && s[j] == '/' {
		j = tagName(s, j+1)
		if j < 0 {
			return -1
		}
		j = skipSpace(s, j)
		if j < len(s) && s[j] == '>' {
			return j + 1
		}
		return -1
	}
	j = tagName(s, j)
	if j < 0 {
		return -1
	}
	for {
		k := skipSpace(s, j)
		switch {
		case k < len(s) && s[k] == '>':
			return k + 1
		case k+1 < len(s) && s[k] == '/' && s[k+1] == '>':
			return k + 2
		case k == j || k >= len(s) || !attrNameStart(s[k]):
			return -1 // an attribute needs white space before it
		}
		j = k + 1
		for j < len(s) && attrNameChar(s[j]) {
			j++
		}
		if m := skipSpace(s, j); m < len(s) && s[m] == '=' {
			if j = attrValue(s, skipSpace(s, m+1)); j < 0 {
				return -1
			}
		}
	}
}

// tagName returns the end of the tag name at s[i], or -1.
func tagName(s string, i int) int {
	if i >= len(s) || !isLetter(s[i]) {
		return -1
	}
	i++
	for i < len(s) && (isLetter(s[i]) || isDigit(s[i]) || s[i] == '-') {
		i++
	}
	return i
}

// attrValue returns the end of the attribute value at s[i], or -1.
func attrValue(s string, i int) int {
	if i >= len(s) {
		return -1
	}
	if q := s[i]; q == '"' || q == '\'' {
		if k := strings.IndexByte(s[i+1:], q); k >= 0 {
			return i + 1 + k + 1
		}
		return -1
	}
	j := i
	for j < len(s) && !strings.ContainsRune("\"'=<>`", rune(s[j])) && s[j] > ' ' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

func attrNameStart(c byte) bool { return isLetter(c) || c == '_' || c == ':' }
func attrNameChar(c byte) bool {
	return attrNameStart(c) || isDigit(c) || c == '.' || c == '-'
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// autolinkAt returns the end of the URI or e-mail autolink starting at s[i]
// ('<'), or -1.
func autolinkAt(s string, i int) int {
	if i >= len(s) || s[i] != '<' {
		return -1
	}
	j := i + 1
	// <scheme:rest>: a scheme of 2 to 32 characters.
	if j < len(s) && isLetter(s[j]) {
		k := j + 1
		for k < len(s) && k-j < 33 && (isLetter(s[k]) || isDigit(s[k]) || s[k] == '.' || s[k] == '+' || s[k] == '-') {
			k++
		}
		if n := k - j; n >= 2 && n <= 32 && k < len(s) && s[k] == ':' {
			for k++; k < len(s) && s[k] > ' ' && s[k] != '<' && s[k] != '>'; k++ {
			}
			if k < len(s) && s[k] == '>' {
				return k + 1
			}
		}
	}
	// <local@domain>
	k := j
	for k < len(s) && (isLetter(s[k]) || isDigit(s[k]) || strings.IndexByte(".!#$%&'*+/=?^_`{|}~-", s[k]) >= 0) {
		k++
	}
	if k == j || k >= len(s) || s[k] != '@' {
		return -1
	}
	k++
	for {
		// a label: alphanumeric at both ends, up to 63 long
		start := k
		for k < len(s) && k-start < 63 && (isLetter(s[k]) || isDigit(s[k]) || s[k] == '-') {
			k++
		}
		if k == start || s[start] == '-' || s[k-1] == '-' {
			return -1
		}
		if k < len(s) && s[k] == '.' {
			k++
			continue
		}
		if k < len(s) && s[k] == '>' {
			return k + 1
		}
		return -1
	}
}

var htmlBlock1Names = map[string]bool{"script": true, "pre": true, "textarea": true, "style": true}

var htmlBlock6Names = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range strings.Fields(`address article aside base basefont blockquote body caption center col colgroup dd
		details dialog dir div dl dt fieldset figcaption figure footer form frame frameset h1 h2 h3 h4 h5 h6 head header hr
		html iframe legend li link main menu menuitem nav noframes ol optgroup option p param search section summary table
		tbody td tfoot th thead title tr track ul`) {
		m[n] = true
	}
	return m
}()

// namedTag reads "<name" or, when closing is allowed, "</name" at the
// start of rest: the name lower-cased (letters and digits) and what follows.
func namedTag(rest string, closing bool) (name, after string, ok bool) {
	if rest == "" || rest[0] != '<' {
		return "", "", false
	}
	j := 1
	if closing && len(rest) > 1 && rest[1] == '/' {
		j = 2
	}
	k := j
	for k < len(rest) && (isLetter(rest[k]) || isDigit(rest[k])) {
		k++
	}
	if k == j {
		return "", "", false
	}
	return strings.ToLower(rest[j:k]), rest[k:], true
}

// htmlBlockOpens reports whether rest (a line from its first non-space
// character, starting with '<') opens an HTML block of type t (1 to 7).
func htmlBlockOpens(t int, rest string) bool {
	switch t {
	case 1:
		name, after, ok := namedTag(rest, false)
		return ok && htmlBlock1Names[name] && (after == "" || after[0] == ' ' || after[0] == '\t' || after[0] == '>')
	case 2:
		return strings.HasPrefix(rest, "<!--")
	case 3:
		return strings.HasPrefix(rest, "<?")
	case 4:
		return len(rest) > 2 && rest[1] == '!' && isLetter(rest[2])
	case 5:
		return strings.HasPrefix(rest, "<![CDATA[")
	case 6:
		name, after, ok := namedTag(rest, true)
		return ok && htmlBlock6Names[name] &&
			(after == "" || after[0] == ' ' || after[0] == '\t' || after[0] == '>' || strings.HasPrefix(after, "/>"))
	case 7:
		end := tagAt(rest, 0)
		return end > 0 && strings.Trim(rest[end:], " \t") == ""
	}
	return false
}

// htmlBlockCloses reports whether a line (from where the block's content
// starts) ends an HTML block of type t (1 to 5; 6 and 7 end at a blank line).
func htmlBlockCloses(t int, rest string) bool {
	switch t {
	case 1:
		for i := strings.Index(rest, "</"); i >= 0; {
			name, after, ok := namedTag(rest[i:], true)
			if ok && htmlBlock1Names[name] && strings.HasPrefix(after, ">") {
				return true
			}
			j := strings.Index(rest[i+2:], "</")
			if j < 0 {
				break
			}
			i += 2 + j
		}
		return false
	case 2:
		return strings.Contains(rest, "-->")
	case 3:
		return strings.Contains(rest, "?>")
	case 4:
		return strings.Contains(rest, ">")
	case 5:
		return strings.Contains(rest, "]]>")
	}
	return false
}

// delimiterRow reports whether a line is a GitHub table delimiter row
// (| --- | :-: |). It must hold a pipe: without one it is a setext heading
// or a thematic break. The header's cell count is not compared, which can
// only hide a line that GitHub shows as text.
func delimiterRow(s string) bool {
	s = strings.Trim(s, " \t")
	if strings.IndexByte(s, '|') < 0 {
		return false
	}
	s = strings.TrimPrefix(s, "|")
	s = strings.TrimSuffix(s, "|")
	for _, cell := range strings.Split(s, "|") {
		cell = strings.Trim(cell, " \t")
		cell = strings.TrimPrefix(cell, ":")
		cell = strings.TrimSuffix(cell, ":")
		if cell == "" || strings.Trim(cell, "-") != "" {
			return false
		}
	}
	return true
}
