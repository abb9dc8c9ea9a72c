package postmortem

import (
	"sort"
	"strings"
	"time"
)

// Entry is one line of the postmortem timeline.
type Entry struct {
	At     time.Time
	Actor  string
	Text   string // already safe markdown
	Source string // "event" or "comment"
	URL    string // comment link, if any
}

// Timeline merges the incident's timeline events and its timeline comments
// (those starting with cfg.TimelineCommand, optionally followed by a time;
// see LeadingTime) in time order. Identical events (same kind, label or
// assignee, actor and time) appear once, and a label event that changes
// nothing (a label added while the events already have it on the incident,
// or removed while off) is left out. Severity labels read as severity
// changes: the severity is the highest severity label on the incident, so
// a lower one added beside it says the severity stays, and no entry ever
// reads "changed from sev2 to sev2". A comment listed twice (same ID)
// appears once. Bot comments are ignored; bot events are kept
// because a bot closing the incident is still part of the story.
func Timeline(events []Event, comments []Comment, cfg Config) []Entry {
	loc := cfg.Location()
	var out []Entry
	// Severity changes depend on order, so walk events in time order.
	evs := append([]Event(nil), events...)
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].At.Before(evs[j].At) })
	seen := map[eventKey]bool{}
	// labels holds what the events so far say about each label (by lower
	// case name): true while on the incident, false once removed. A label
	// the events never mentioned is unknown, so its removal is still told.
	labels := map[string]bool{}
	severity := func() string {
		var on []string
		for l, present := range labels {
			if present {
				on = append(on, l)
			}
		}
		return cfg.Severity(on)
	}
	for _, e := range evs {
		k := keyOf(e)
		if seen[k] {
			continue
		}
		seen[k] = true
		by := ""
		if e.Actor != "" {
			by = " by " + login(e.Actor)
		}
		var text string
		switch e.Kind {
		case "opened":
			text = "incident opened" + by
		case "labeled":
			l := strings.ToLower(e.Label)
			if labels[l] {
				// Already on the incident: GitHub adds a label once, so
				// this is a replay and changes nothing.
				continue
			}
			before := severity()
			labels[l] = true
			after := severity()
			switch {
			case cfg.IsIncidentLabel(e.Label):
				text = "declared an incident (label " + login(e.Label) + ")" + by
			case cfg.IsSeverityLabel(e.Label) && before == "":
				text = "severity set to " + login(after) + by
			case cfg.IsSeverityLabel(e.Label) && !strings.EqualFold(before, after):
				text = "severity changed from " + login(before) + " to " + login(after) + by
			case cfg.IsSeverityLabel(e.Label):
				text = "severity label " + login(e.Label) + " added" + by + "; severity stays " + login(before) + ", the highest"
			default:
				text = "labeled " + login(e.Label) + by
			}
		case "unlabeled":
			l := strings.ToLower(e.Label)
			if present, known := labels[l]; known && !present {
				continue // already removed: a replay
			}
			before := severity()
			labels[l] = false
			after := severity()
			switch {
			case cfg.IsSeverityLabel(e.Label):
				text = "severity " + login(e.Label) + " removed" + by
				if after != "" && !strings.EqualFold(before, after) {
					text += "; severity now " + login(after)
				}
			case cfg.IsIncidentLabel(e.Label):
				text = "incident label " + login(e.Label) + " removed" + by
			default:
				text = "unlabeled " + login(e.Label) + by
			}
		case "assigned":
			text = "assigned to " + login(e.Assignee) + by
		case "unassigned":
			text = "unassigned " + login(e.Assignee) + by
		case "closed":
			text = "incident closed (resolved)" + by
		case "reopened":
			text = "incident reopened" + by
		default:
			continue
		}
		out = append(out, Entry{At: e.At, Actor: e.Actor, Text: text, Source: "event"})
	}
	cmd := strings.TrimSpace(cfg.TimelineCommand)
	seenComments := map[int64]bool{}
	for _, c := range comments {
		if c.Bot || IsBot(c.Author) || cmd == "" {
			continue
		}
		if c.ID != 0 {
			if seenComments[c.ID] {
				continue // listed twice
			}
			seenComments[c.ID] = true
		}
		text, ok := strings.CutPrefix(strings.TrimSpace(c.Body), cmd)
		if !ok || (text != "" && !strings.ContainsAny(text[:1], " \t\r\n:")) {
			continue
		}
		text = strings.TrimLeft(text, ": \t")
		// Only the first line belongs in the timeline; the rest of the
		// comment is discussion.
		text, _, _ = strings.Cut(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
		at, rest, err := LeadingTime(text, c.At, loc)
		note := ""
		switch {
		case err != nil:
			// The entry keeps the comment's time and its whole text, and
			// says why, so the responder can fix the comment.
			at, note = c.At, " — _time not read: "+prose(err.Error())+"_"
		case at.IsZero():
			at = c.At
		default:
			text = rest
		}
		text = clipText(strings.TrimSpace(text), maxEntryRunes)
		if text == "" {
			continue
		}
		out = append(out, Entry{At: at, Actor: c.Author, Text: prose(text) + " (" + link("by "+login(c.Author), c.URL) + ")" + note, Source: "comment", URL: c.URL})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

// eventKey identifies an event for de-duplication: GitHub's names and
// logins are case-insensitive.
type eventKey struct {
	kind, label, assignee, actor string
	at                           int64
}

func keyOf(e Event) eventKey {
	return eventKey{e.Kind, strings.ToLower(e.Label), strings.ToLower(e.Assignee), strings.ToLower(e.Actor), e.At.UnixNano()}
}

// RenderTimeline renders entries as a markdown list.
func RenderTimeline(entries []Entry, cfg Config) string {
	if len(entries) == 0 {
		return "_No events yet._"
	}
	loc := cfg.Location()
	var b strings.Builder
	for i, e := range entries {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("- **" + FormatTime(e.At, loc) + "** — " + e.Text)
	}
	return b.String()
}

// Responders are the incident's assignees and commenters, bots excluded, in
// order of first appearance.
func Responders(inc Incident, comments []Comment) []string {
	all := append([]string(nil), inc.Assignees...)
	for _, c := range comments {
		if !c.Bot {
			all = append(all, c.Author)
		}
	}
	return dedupe(all)
}

// maxEntryRunes bounds the text of one /timeline entry: anyone who may
// comment on the incident writes one, and a line as long as GitHub allows
// would not leave the postmortem room for anything else.
const maxEntryRunes = 500

// clipText cuts s to at most n runes, marking the cut with "…".
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return strings.TrimSpace(string(r[:n-1])) + "…"
}
