package postmortem

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ActionItem is one checkbox of the postmortem's "Action items" section:
//
//   - [ ] Alert on queue depth — owner: @alice — type: prevent — due: 2024-06-01 — priority: P1 — #123
type ActionItem struct {
	Line     int    // 0-based line index in the body
	Checked  bool   // [x]
	Text     string // the line after the checkbox, as written
	Owner    string // login after "owner:" (or the first @mention), "" if none
	Type     string // mitigate, prevent or process, "" if none
	Priority string // "P0" to "P4" after "priority:", "" if none
	// Due is the day after "due: YYYY-MM-DD" (midnight UTC; the shell
	// reads it in the configured zone), zero if none or not a date.
	Due   time.Time
	Issue IssueRef
	Key   string // stable key of the item (hash of its text without links)
}

// IssueRef points at a linked issue; Number is 0 when there is none.
type IssueRef struct {
	Owner, Repo string // empty: the postmortem's repository
	Number      int
}

// String renders "#12" or "owner/repo#12".
func (r IssueRef) String() string {
	if r.Number == 0 {
		return ""
	}
	if r.Owner == "" {
		return "#" + strconv.Itoa(r.Number)
	}
	return r.Owner + "/" + r.Repo + "#" + strconv.Itoa(r.Number)
}

var (
	headingRe  = regexp.MustCompile(`^ {0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$`)
	checkboxRe = regexp.MustCompile(`^[ \t]*[-*+][ \t]+\[([ xX])\][ \t]+(.*)$`)
	ownerRe    = regexp.MustCompile(`(?i)owner[ \t]*:[ \t]*@?([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))`)
	mentionRe  = regexp.MustCompile(`(?:^|[^\w/])@([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))\b`)
	typeRe     = regexp.MustCompile(`(?i)(?:type[ \t]*:[ \t]*|\[)(mitigate|prevent|process)\b`)
	dueRe      = regexp.MustCompile(`(?i)\bdue[ \t]*:[ \t]*(\d{4}-\d{2}-\d{2})\b`)
	priorityRe = regexp.MustCompile(`(?i)\bpriority[ \t]*:[ \t]*(P[0-4])\b`)
	issueURLRe = regexp.MustCompile(`https://github\.com/([A-Za-z0-9-]+)/([A-Za-z0-9._-]+)/issues/(\d+)`)
	issueRefRe = regexp.MustCompile(`(?:^|[^\w/&])(?:([A-Za-z0-9-]+)/([A-Za-z0-9._-]+))?#(\d+)\b`)
)

// ParseActionItems returns the checkboxes under the first heading named
// "Action items" (up to the next heading of the same or a higher level).
// Checkboxes inside HTML comments and fenced code blocks are examples, not
// items.
func ParseActionItems(body string) []ActionItem {
	lines := strings.Split(body, "\n")
	var items []ActionItem
	level := 0 // heading level of the action items section, 0 outside
	var md mdLines
	for i, raw := range lines {
		line := strings.TrimRight(raw, "\r")
		if md.skip(line) {
			continue
		}
		if m := headingRe.FindStringSubmatch(line); m != nil {
			l := len(m[1])
			switch {
			case level > 0 && l <= level:
				return items
			case level == 0 && strings.EqualFold(strings.TrimSpace(m[2]), "action items"):
				level = l
			}
			continue
		}
		if level == 0 {
			continue
		}
		m := checkboxRe.FindStringSubmatch(line)
		if m == nil || strings.TrimSpace(m[2]) == "" {
			continue
		}
		items = append(items, parseItem(i, m[1] != " ", m[2]))
	}
	return items
}

func parseItem(line int, checked bool, text string) ActionItem {
	it := ActionItem{Line: line, Checked: checked, Text: strings.TrimSpace(text)}
	if m := ownerRe.FindStringSubmatch(text); m != nil {
		it.Owner = m[1]
	} else if m := mentionRe.FindStringSubmatch(text); m != nil {
		it.Owner = m[1]
	}
	if m := typeRe.FindStringSubmatch(text); m != nil {
		it.Type = strings.ToLower(m[1])
	}
	if m := dueRe.FindStringSubmatch(text); m != nil {
		if d, err := time.Parse("2006-01-02", m[1]); err == nil {
			it.Due = d
		}
	}
	if m := priorityRe.FindStringSubmatch(text); m != nil {
		it.Priority = strings.ToUpper(m[1])
	}
	stripped := text
	if m := issueURLRe.FindStringSubmatch(text); m != nil {
		n, _ := strconv.Atoi(m[3])
		it.Issue = IssueRef{Owner: m[1], Repo: m[2], Number: n}
	} else if m := issueRefRe.FindStringSubmatch(text); m != nil {
		n, _ := strconv.Atoi(m[3])
		it.Issue = IssueRef{Owner: m[1], Repo: m[2], Number: n}
	}
	if it.Issue.Number <= 0 {
		it.Issue = IssueRef{}
	}
	stripped = issueURLRe.ReplaceAllString(stripped, "")
	stripped = issueRefRe.ReplaceAllString(stripped, "")
	it.Key = itemKey(stripped)
	return it
}

// itemKey hashes an item's words (links and case aside) so that the key
// survives the link tasuki appends and re-wrapping by an editor.
func itemKey(text string) string {
	norm := strings.ToLower(strings.Join(strings.Fields(strings.Trim(text, " —-")), " "))
	norm = strings.TrimRight(norm, " —-")
	sum := sha256.Sum256([]byte(norm))
	return hex.EncodeToString(sum[:6])
}

// Done reports whether an item needs no more work: it is checked, or its
// linked issue is closed according to closed (keyed by IssueRef.String()
// resolved against the postmortem repository).
func (it ActionItem) Done(closed map[string]bool) bool {
	return it.Checked || (it.Issue.Number > 0 && closed[it.Issue.String()])
}

// LinkItem appends " — ref" to the line of the item with key in body and
// returns the new body, or body unchanged (false) when no unlinked item with
// that key is left (a person removed or already linked it).
func LinkItem(body, key string, issue IssueRef) (string, bool) {
	lines := strings.Split(body, "\n")
	for _, it := range ParseActionItems(body) {
		if it.Key != key || it.Issue.Number != 0 {
			continue
		}
		l := lines[it.Line]
		cr := strings.HasSuffix(l, "\r")
		l = strings.TrimRight(l, "\r \t") + " — " + issue.String()
		if cr {
			l += "\r"
		}
		lines[it.Line] = l
		return strings.Join(lines, "\n"), true
	}
	return body, false
}
