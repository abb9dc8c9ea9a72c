package postmortem

import (
	"strings"

	"github.com/tasuki-sre/tasuki/internal/mdtext"
)

// inline makes user-written text safe inside a line of markdown (see
// mdtext.Text): no HTML, links or headings from copied text, and no @mention
// pings.
func inline(s string) string { return mdtext.Text(s) }

// prose is inline for text people read in the raw body too (the incident
// title, timeline entries): mdtext.Readable escapes only what would change
// the rendering, so "payments-api to v2.14.1" stays as written.
func prose(s string) string { return mdtext.Readable(s) }

// login shows a GitHub login (or a label, a team) as code, which never pings.
func login(l string) string {
	l = strings.TrimPrefix(strings.TrimSpace(l), "@")
	if l == "" {
		return Unknown
	}
	return mdtext.Code(l)
}

// logins shows several logins, or Unknown when there are none.
func logins(ls []string) string {
	if len(ls) == 0 {
		return Unknown
	}
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = login(l)
	}
	return strings.Join(out, ", ")
}

// mentions pings logins on purpose (reminders name the owners).
func mentions(ls []string) string {
	out := make([]string, 0, len(ls))
	for _, l := range ls {
		l = strings.TrimPrefix(strings.TrimSpace(l), "@")
		if l != "" && !strings.ContainsAny(l, " \t\n`<>") {
			out = append(out, "@"+l)
		}
	}
	return strings.Join(out, " ")
}

// safeURL keeps only https GitHub-style links; anything else is dropped so
// a crafted payload cannot smuggle a javascript: or markdown-breaking URL.
func safeURL(u string) string {
	if !strings.HasPrefix(u, "https://") || strings.ContainsAny(u, " \t\n()<>[]\"'`") {
		return ""
	}
	return u
}

// link renders [text](url), or only the text when url is unsafe.
func link(text, url string) string {
	if u := safeURL(url); u != "" {
		return "[" + text + "](" + u + ")"
	}
	return text
}

// mdLines follows a Markdown body line by line and tells the lines people
// read as the document (headings, items) from those inside a fenced code
// block or an HTML comment, which hold examples and prompts: tasuki reads
// neither as a section or an action item.
type mdLines struct {
	inComment bool
	fence     string // the fence that opened the code block, "" outside one
}

// skip reports whether line is inside, opens or closes a code block or a
// comment.
func (p *mdLines) skip(line string) bool {
	trimmed := strings.TrimSpace(line)
	switch {
	case p.fence != "":
		if strings.HasPrefix(trimmed, p.fence) {
			p.fence = ""
		}
		return true
	case p.inComment:
		if strings.Contains(line, "-->") {
			p.inComment = false
		}
		return true
	case strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~"):
		p.fence = trimmed[:3]
		return true
	case strings.HasPrefix(trimmed, "<!--"):
		if !strings.Contains(trimmed[4:], "-->") {
			p.inComment = true
		}
		return true
	}
	return false
}
