package postmortem

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tasuki-sre/tasuki/internal/intent"
	"github.com/tasuki-sre/tasuki/internal/marker"
)

// OpenItem is an open follow-up issue of an action item, as the weekly
// digest lists it.
type OpenItem struct {
	Repo      string // owner/name
	Number    int
	Title     string
	URL       string
	Assignees []string
	Labels    []string
	Due       time.Time // zero: no due date
}

// maxDigestItems bounds the rows of one digest, to stay under GitHub's
// issue body limit.
const maxDigestItems = 300

// ItemDueOf reads the due date tasuki wrote into a follow-up issue's body
// (the last KindItemDue marker), false when there is none.
func ItemDueOf(body string) (time.Time, bool) {
	var due time.Time
	ok := false
	for _, m := range marker.Find(body) {
		if m.Kind != KindItemDue {
			continue
		}
		if t, err := time.Parse("2006-01-02", m.Key); err == nil {
			due, ok = t, true
		}
	}
	return due, ok
}

// ISOWeek names the ISO week of t in loc: "2026-W49".
func ISOWeek(t time.Time, loc *time.Location) string {
	y, w := t.In(loc).ISOWeek()
	return fmt.Sprintf("%d-W%02d", y, w)
}

// WeekStart is the Monday 00:00 in loc of t's ISO week.
func WeekStart(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	off := (int(l.Weekday()) + 6) % 7 // Monday 0
	return time.Date(l.Year(), l.Month(), l.Day()-off, 0, 0, 0, 0, loc)
}

// DigestMarker identifies the digest of org for week.
func DigestMarker(org, week string) marker.Marker {
	return marker.New(KindDigest, strings.ToLower(org)+"@"+week)
}

var priorityLabelRe = regexp.MustCompile(`^(?i)P[0-4]$`)

// Overdue returns the items past their whole due day at now (in cfg's
// zone), most overdue first, then by priority and repository.
func OverdueItems(items []OpenItem, now time.Time, cfg Config) []OpenItem {
	loc := cfg.Location()
	var out []OpenItem
	for _, it := range items {
		if it.Due.IsZero() {
			continue
		}
		due := time.Date(it.Due.Year(), it.Due.Month(), it.Due.Day(), 0, 0, 0, 0, loc)
		if Overdue(due, now) {
			out = append(out, it)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.Due.Equal(b.Due) {
			return a.Due.Before(b.Due)
		}
		if pa, pb := priorityOf(a.Labels), priorityOf(b.Labels); pa != pb {
			return pa < pb
		}
		if a.Repo != b.Repo {
			return a.Repo < b.Repo
		}
		return a.Number < b.Number
	})
	return out
}

// priorityOf returns the item's priority label ("P1"), "P9" when none so
// that items without one sort last.
func priorityOf(labels []string) string {
	for _, l := range labels {
		if priorityLabelRe.MatchString(l) {
			return strings.ToUpper(l)
		}
	}
	return "P9"
}

// DigestIntent returns the issue of org's weekly digest of overdue action
// items, to open in the digest repository, found again by its marker among
// tasuki's issues created since the week began; false when nothing is
// overdue (no issue that week, unless a later run finds some).
func DigestIntent(org string, items []OpenItem, now time.Time, cfg Config) (intent.Intent, bool) {
	over := OverdueItems(items, now, cfg)
	if len(over) == 0 {
		return intent.Intent{}, false
	}
	loc := cfg.Location()
	week := ISOWeek(now, loc)
	m := DigestMarker(org, week)
	var b strings.Builder
	fmt.Fprintf(&b, "Action items from postmortems across %s that are past their due date, as of %s.\n\n", login(org), FormatTime(now, loc))
	b.WriteString("| Due | Days over | Priority | Action item | Owner |\n|---|---|---|---|---|\n")
	shown := over
	if len(shown) > maxDigestItems {
		shown = shown[:maxDigestItems]
	}
	for _, it := range shown {
		due := time.Date(it.Due.Year(), it.Due.Month(), it.Due.Day(), 0, 0, 0, 0, loc)
		days := int(now.Sub(due.AddDate(0, 0, 1)).Hours()/24) + 1
		pr := priorityOf(it.Labels)
		if pr == "P9" {
			pr = "—"
		}
		title := strings.TrimPrefix(it.Title, "Action item: ")
		if r := []rune(title); len(r) > 120 {
			title = string(r[:119]) + "…"
		}
		ref := it.Repo + "#" + strconv.Itoa(it.Number)
		fmt.Fprintf(&b, "| %s | %d | %s | %s %s | %s |\n", it.Due.Format("2006-01-02"), days, pr,
			link(ref, it.URL), inline(title), loginsOrNone(it.Assignees))
	}
	if len(over) > len(shown) {
		fmt.Fprintf(&b, "\n_… %d more not shown._\n", len(over)-len(shown))
	}
	b.WriteString("\nClose an item's issue when it is done, or agree a new date in its postmortem. tasuki opens one digest a week.\n")
	in := intent.Intent{Kind: intent.EnsureIssue, Marker: m,
		Issue:  intent.NewIssue{Title: fmt.Sprintf("Overdue postmortem action items, %s (%d)", week, len(over)), Body: b.String()},
		Lookup: intent.IssueLookup{CreatedSince: WeekStart(now, loc), NoSearch: true}}
	return in, true
}

func loginsOrNone(ls []string) string {
	if len(ls) == 0 {
		return "—"
	}
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = login(l)
	}
	return strings.Join(out, ", ")
}
