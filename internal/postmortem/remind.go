package postmortem

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/tasuki-sre/tasuki/internal/intent"
	"github.com/tasuki-sre/tasuki/internal/marker"
)

// Escalation steps of a reminder: each goes to the people of the steps
// before it too.
var stepNames = [...]string{"the owner", "the incident commander", "the owning team"}

// LastStep is the highest escalation step.
const LastStep = len(stepNames) - 1

// StepDue returns the escalation step reached at now for a subject due on
// day (a date; the whole day counts, in cfg's zone), and false while it is
// not overdue: step 0 from the day after, then one more every
// cfg.Cadence() days, up to LastStep.
func StepDue(day, now time.Time, cfg Config) (int, bool) {
	loc := cfg.Location()
	first := time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, loc)
	if now.Before(first) {
		return 0, false
	}
	n := now.In(loc)
	today := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, time.UTC)
	from := time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, time.UTC)
	days := int(today.Sub(from) / (24 * time.Hour))
	return min(days/cfg.Cadence(), LastStep), true
}

// FactValue reads back a value tasuki wrote into the facts section as code
// ("- **Incident commander:** `alice`"), "" when absent or unknown.
func FactValue(body, name string) string {
	facts, ok := GeneratedSection(body, SectionFacts)
	if !ok {
		return ""
	}
	for _, line := range strings.Split(facts, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "- **"+name+":** ")
		if !ok {
			continue
		}
		if name == "Service" {
			_, rest, _ = strings.Cut(rest, " · team ")
		}
		rest = strings.TrimSpace(rest)
		if !strings.HasPrefix(rest, "`") {
			return ""
		}
		v, _, _ := strings.Cut(strings.TrimLeft(rest, "`"), "`")
		v = strings.TrimSpace(v)
		if !loginRe.MatchString(v) {
			return ""
		}
		return v
	}
	return ""
}

var loginRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$`)

// OwningTeam is the team the facts section names ("· team `payments`").
func OwningTeam(body string) string { return FactValue(body, "Service") }

type subject struct {
	key      string // SubjectPostmortem or an item key
	due      time.Time
	step     int
	item     *ActionItem
	audience []string
	note     string
}

// Reminders decides the reminder due on s at now, if any: every subject
// (the postmortem past its due date, each undone action item past its own
// "due:") whose escalation step reached at now has not been sent yet, in
// one comment. A subject whose sweep missed a step gets the step it is at
// now, not the ones it skipped: each step is sent at most once, and the
// records of earlier reminders (their hidden state, or the marker of the
// single reminder older tasuki sent) say which were.
func Reminders(s State, p Progress, now time.Time, cfg Config) (intent.Intent, bool) {
	sent := map[string]int{}
	mark := func(subj, due string, step int) {
		k := subj + "@" + due
		if cur, ok := sent[k]; !ok || step > cur {
			sent[k] = step
		}
	}
	for _, r := range s.Records {
		for _, rm := range r.Reminders {
			mark(rm.Subject, rm.Due, rm.Step)
		}
	}
	prefix := s.Ref() + "@"
	for _, m := range s.Markers {
		if m.Kind == KindReminder && strings.HasPrefix(m.Key, prefix) && len(m.Key) == len(prefix)+10 {
			mark(SubjectPostmortem, m.Key[len(prefix):], 0)
		}
	}
	owners := dedupe(s.Assignees)
	commander, team := "", ""
	if !s.HandWritten {
		commander, team = FactValue(s.Body, "Incident commander"), OwningTeam(s.Body)
	}
	var subs []subject
	add := func(key string, due time.Time, it *ActionItem, owner []string) {
		step, ok := StepDue(due, now, cfg)
		if !ok {
			return
		}
		if cur, ok := sent[key+"@"+due.Format("2006-01-02")]; ok && cur >= step {
			return
		}
		sb := subject{key: key, due: due, step: step, item: it, audience: owner}
		if step >= 1 {
			if commander != "" {
				sb.audience = append(sb.audience, commander)
			} else {
				sb.note = "no incident commander is recorded"
			}
		}
		if step >= 2 {
			if team != "" {
				sb.audience = append(sb.audience, s.Owner+"/"+team)
			} else if sb.note == "" {
				sb.note = "no owning team is recorded"
			} else {
				sb.note = "no incident commander or owning team is recorded"
			}
		}
		sb.audience = dedupeTeams(sb.audience)
		subs = append(subs, sb)
	}
	if day, ok := DueOf(s.Body); ok && !s.HandWritten {
		add(SubjectPostmortem, day, nil, owners)
	}
	for i := range p.Items {
		it := p.Items[i]
		if it.Due.IsZero() || it.Done(s.Closed) {
			continue
		}
		owner := owners
		if it.Owner != "" {
			owner = []string{it.Owner}
		}
		add(it.Key, it.Due, &it, owner)
	}
	if len(subs) == 0 {
		return intent.Intent{}, false
	}
	rec := Record{}
	for _, sb := range subs {
		rec.Reminders = append(rec.Reminders, Reminded{Subject: sb.key, Due: sb.due.Format("2006-01-02"), Step: sb.step})
	}
	m := reminderMarker(s, rec.Reminders)
	return intent.Intent{Kind: intent.EnsureComment, Number: s.Number, Marker: m, Body: reminderBody(s, p, subs, rec, m, cfg)}, true
}

// reminderMarker keys a reminder by what it reminds of, so that a retry
// finds the comment an earlier attempt posted. The first step of the
// postmortem alone keeps the key older tasuki used.
func reminderMarker(s State, rs []Reminded) marker.Marker {
	if len(rs) == 1 && rs[0].Subject == SubjectPostmortem && rs[0].Step == 0 {
		return marker.New(KindReminder, s.Ref()+"@"+rs[0].Due)
	}
	var parts []string
	for _, r := range rs {
		parts = append(parts, fmt.Sprintf("%s/%s/%d", r.Subject, r.Due, r.Step))
	}
	slices.Sort(parts)
	sum := sha256.Sum256([]byte(strings.Join(parts, ",")))
	return marker.New(KindReminder, s.Ref()+"@"+hex.EncodeToString(sum[:6]))
}

func reminderBody(s State, p Progress, subs []subject, rec Record, m marker.Marker, cfg Config) string {
	var b strings.Builder
	b.WriteString("Overdue on this postmortem:\n\n")
	for _, sb := range subs {
		who := mentions(sb.audience)
		if who == "" {
			who = "Owners of this postmortem"
		}
		due := sb.due.Format("2006-01-02")
		if sb.item == nil {
			fmt.Fprintf(&b, "- %s: the postmortem was due on **%s**", who, due)
			if n := p.Needs(); n != "" {
				b.WriteString("; it still needs " + n)
			}
		} else {
			text := strings.Join(strings.Fields(stripMeta(sb.item.Text)), " ")
			if r := []rune(text); len(r) > 120 {
				text = string(r[:119]) + "…"
			}
			fmt.Fprintf(&b, "- %s: the action item “%s”", who, inline(text))
			if sb.item.Priority != "" {
				b.WriteString(" (" + sb.item.Priority + ")")
			}
			fmt.Fprintf(&b, " was due on **%s**", due)
		}
		fmt.Fprintf(&b, " — reminder %d of %d, to %s", sb.step+1, LastStep+1, stepNames[sb.step])
		if sb.note != "" {
			b.WriteString(" (" + sb.note + ")")
		}
		b.WriteString(".\n")
	}
	fmt.Fprintf(&b, "\nPlease finish them, or agree a new date and edit it in. _tasuki reminds each step once, %d days apart: the owner, then the incident commander, then the owning team._\n\n", cfg.Cadence())
	// The state block goes last, after all copied text: DecodeState
	// reads the last line that is exactly a block.
	b.WriteString(m.String() + "\n" + EncodeState(rec))
	return b.String()
}

// dedupeTeams is dedupe that keeps "org/team" mentions.
func dedupeTeams(ls []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range ls {
		l = strings.TrimPrefix(strings.TrimSpace(l), "@")
		k := strings.ToLower(l)
		if l == "" || IsBot(l) || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, l)
	}
	return out
}
