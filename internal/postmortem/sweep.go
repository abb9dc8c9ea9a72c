package postmortem

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tasuki-sre/tasuki/internal/intent"
	"github.com/tasuki-sre/tasuki/internal/marker"
)

// State is a postmortem issue as the sweep sees it.
type State struct {
	Owner, Repo string
	Number      int
	Body        string
	Labels      []string
	Open        bool
	Assignees   []string
	// Markers are the markers found in comments tasuki itself wrote on the
	// postmortem (comments by others are not trusted).
	Markers []marker.Marker
	// Closed holds, for each linked issue of an unchecked action item, whether
	// it is closed; keyed by IssueRef.String() as written in the item.
	Closed map[string]bool
}

// Ref returns "owner/repo#n" of the postmortem.
func (s State) Ref() string { return ref(s.Owner, s.Repo, s.Number) }

// DueOf reads the due date tasuki wrote into the facts section, if any.
func DueOf(body string) (time.Time, bool) {
	facts, ok := GeneratedSection(body, SectionFacts)
	if !ok {
		return time.Time{}, false
	}
	for _, m := range marker.Find(facts) {
		if m.Kind == KindDue {
			t, err := time.Parse("2006-01-02", m.Key)
			if err == nil {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

// PostmortemOf returns the incident key ("owner/repo#n") the body's marker
// names, or "" if the body is not a tasuki postmortem.
func PostmortemOf(body string) string {
	for _, m := range marker.Find(body) {
		if m.Kind == KindPostmortem {
			return m.Key
		}
	}
	return ""
}

func hasMarker(ms []marker.Marker, want marker.Marker) bool {
	for _, m := range ms {
		if m.Kind == want.Kind && m.Key == want.Key {
			return true
		}
	}
	return false
}

func hasLabel(labels []string, l string) bool {
	for _, x := range labels {
		if strings.EqualFold(x, l) {
			return true
		}
	}
	return false
}

// Decide is the daily sweep of one postmortem: complete it when every action
// item is done (label, closing comment, close), else remind the owners once
// per due date when it is overdue. It returns no intents for a postmortem
// already complete, closed, or without due date and items.
//
// The intents are about s.Number: an EnsureComment (the completion note
// or the reminder, each keyed by its marker), AddLabels of the complete
// label, and Close as completed, in that order (the comment says why
// before the issue closes).
func Decide(s State, now time.Time, cfg Config) []intent.Intent {
	if !s.Open || hasLabel(s.Labels, cfg.CompleteLabel) {
		return nil
	}
	items := ParseActionItems(s.Body)
	if len(items) > 0 {
		done := true
		for _, it := range items {
			if !it.Done(s.Closed) {
				done = false
				break
			}
		}
		if done {
			m := marker.New(KindComplete, s.Ref())
			var out []intent.Intent
			if !hasMarker(s.Markers, m) {
				out = append(out, intent.Intent{Kind: intent.EnsureComment, Number: s.Number, Marker: m, Body: completeBody(items, m)})
			}
			return append(out,
				intent.Intent{Kind: intent.AddLabels, Number: s.Number, Labels: []string{cfg.CompleteLabel}},
				intent.Intent{Kind: intent.Close, Number: s.Number, Reason: intent.CloseCompleted})
		}
	}
	day, ok := DueOf(s.Body)
	if !ok {
		return nil
	}
	// The date was written in the configured zone; the whole day counts.
	due := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, cfg.Location())
	if !Overdue(due, now) {
		return nil
	}
	m := marker.New(KindReminder, s.Ref()+"@"+due.Format("2006-01-02"))
	if hasMarker(s.Markers, m) {
		return nil
	}
	open := 0
	for _, it := range items {
		if !it.Done(s.Closed) {
			open++
		}
	}
	return []intent.Intent{{Kind: intent.EnsureComment, Number: s.Number, Marker: m, Body: reminderBody(s, due, open, len(items), m)}}
}

func reminderBody(s State, due time.Time, open, total int, m marker.Marker) string {
	who := mentions(s.Assignees)
	if who == "" {
		who = "Owners of this postmortem"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: this postmortem was due on **%s**.", who, due.Format("2006-01-02"))
	switch {
	case total == 0:
		b.WriteString(" It has no action items yet.")
	default:
		fmt.Fprintf(&b, " %d of %d action items are still open.", open, total)
	}
	b.WriteString(" Please finish the write-up and the action items, or set a new date with the team.\n\n")
	b.WriteString("_tasuki reminds once per due date._\n\n")
	b.WriteString(m.String())
	return b.String()
}

func completeBody(items []ActionItem, m marker.Marker) string {
	var b strings.Builder
	fmt.Fprintf(&b, "All %d action items are done (checked or their issue closed), so this postmortem is complete. Closing it; reopen it if something is left.\n\n", len(items))
	b.WriteString(m.String())
	return b.String()
}

// Followup is an issue to open for an unchecked action item.
type Followup struct {
	Item     ActionItem
	Marker   marker.Marker
	Title    string
	Body     string
	Assignee string // "" if the item names no owner
}

// Followups returns the issues /tasuki followup opens: one per unchecked
// action item without a linked issue, each keyed by postmortem and item so
// a retried command finds the issue it already opened.
func Followups(s State, postmortemURL string) []Followup {
	var out []Followup
	for _, it := range ParseActionItems(s.Body) {
		if it.Checked || it.Issue.Number != 0 {
			continue
		}
		m := marker.New(KindItem, s.Ref()+"/"+it.Key)
		title := strings.Join(strings.Fields(stripMeta(it.Text)), " ")
		if r := []rune(title); len(r) > 240 {
			title = string(r[:239]) + "…"
		}
		var b strings.Builder
		fmt.Fprintf(&b, "Action item from the postmortem %s.\n\n", link(s.Ref(), postmortemURL))
		b.WriteString("> " + inline(it.Text) + "\n\n")
		if it.Type != "" {
			b.WriteString("- **Type:** " + it.Type + "\n")
		}
		if it.Owner != "" {
			b.WriteString("- **Owner:** " + login(it.Owner) + "\n")
		}
		b.WriteString("\nClose this issue when done; the postmortem counts it as done.\n\n")
		b.WriteString(m.String())
		out = append(out, Followup{Item: it, Marker: m, Title: "Action item: " + title, Body: b.String(), Assignee: it.Owner})
	}
	return out
}

// stripMeta drops the "— owner: …" and "— type: …" parts from an item for
// its issue title.
func stripMeta(text string) string {
	parts := strings.Split(text, " — ")
	var keep []string
	for _, p := range parts {
		lp := strings.ToLower(strings.TrimSpace(p))
		if strings.HasPrefix(lp, "owner:") || strings.HasPrefix(lp, "type:") {
			continue
		}
		keep = append(keep, p)
	}
	if len(keep) == 0 {
		return text
	}
	return strings.Join(keep, " — ")
}

// FollowupReply summarises what /tasuki followup did.
func FollowupReply(linked []IssueRef, commentID int64) string {
	m := marker.New(KindFollowup, strconv.FormatInt(commentID, 10))
	var b strings.Builder
	switch {
	case len(linked) == 0:
		b.WriteString("No unchecked action items without an issue; nothing to open.")
	default:
		refs := make([]string, len(linked))
		for i, r := range linked {
			refs[i] = r.String()
		}
		fmt.Fprintf(&b, "Linked %d action item(s) to issues: %s.", len(linked), strings.Join(refs, ", "))
	}
	b.WriteString("\n\n" + m.String())
	return b.String()
}
