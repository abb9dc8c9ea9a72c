package postmortem

import (
	"sort"
	"strings"
)

// Generated section names. Each lives between
// <!-- tasuki:begin NAME --> and <!-- tasuki:end NAME --> in the body; tasuki
// rewrites only what is between the two.
const (
	SectionFacts    = "facts"
	SectionDuration = "duration"
	SectionChanges  = "changes"
	SectionTimeline = "timeline"
)

func beginMarker(name string) string { return "<!-- tasuki:begin " + name + " -->" }
func endMarker(name string) string   { return "<!-- tasuki:end " + name + " -->" }

// block wraps content in a section's markers on lines of their own.
func block(name, content string) string {
	return beginMarker(name) + "\n" + content + "\n" + endMarker(name)
}

// span wraps content in a section's markers within a line.
func span(name, content string) string {
	return beginMarker(name) + content + endMarker(name)
}

// UpdateGenerated replaces the content of each named generated section of
// body and leaves every other byte alone. A section keeps its shape: one
// whose begin marker is followed by a newline stays a block, one inside a
// line stays inline (newlines in content are then folded into spaces). A
// section whose markers a person deleted, reordered or duplicated is
// skipped: tasuki neither re-adds it nor guesses where the person's text
// ends. Sections are applied in name order so the result is deterministic.
func UpdateGenerated(body string, sections map[string]string) string {
	names := make([]string, 0, len(sections))
	for n := range sections {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		begin, end := beginMarker(name), endMarker(name)
		if strings.Count(body, begin) != 1 || strings.Count(body, end) != 1 {
			continue
		}
		i := strings.Index(body, begin) + len(begin)
		j := strings.Index(body, end)
		if j < i {
			continue
		}
		inner := body[i:j]
		content := sections[name]
		// Content must not be able to close or open a section itself.
		content = strings.ReplaceAll(content, "<!-- tasuki:begin", "&lt;!-- tasuki:begin")
		content = strings.ReplaceAll(content, "<!-- tasuki:end", "&lt;!-- tasuki:end")
		var repl string
		if strings.HasPrefix(inner, "\n") || strings.HasPrefix(inner, "\r\n") {
			repl = "\n" + content + "\n"
		} else {
			repl = strings.Join(strings.Fields(content), " ")
		}
		body = body[:i] + repl + body[j:]
	}
	return body
}

// GeneratedSection returns the current content of a generated section and
// whether it is present exactly once.
func GeneratedSection(body, name string) (string, bool) {
	begin, end := beginMarker(name), endMarker(name)
	if strings.Count(body, begin) != 1 || strings.Count(body, end) != 1 {
		return "", false
	}
	i := strings.Index(body, begin) + len(begin)
	j := strings.Index(body, end)
	if j < i {
		return "", false
	}
	return strings.Trim(body[i:j], "\r\n"), true
}
