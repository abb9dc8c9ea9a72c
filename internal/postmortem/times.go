package postmortem

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// FormatTime shows t in UTC and, when loc is not UTC, in loc too:
// "2024-05-01 14:00 UTC (16:00 CEST)"; the local date is repeated when it
// differs from the UTC date.
func FormatTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return Unknown
	}
	u := t.UTC()
	s := u.Format("2006-01-02 15:04") + " UTC"
	if loc == nil || loc == time.UTC || loc.String() == "UTC" {
		return s
	}
	l := t.In(loc)
	if l.Format("2006-01-02") != u.Format("2006-01-02") {
		return s + " (" + l.Format("2006-01-02 15:04 MST") + ")"
	}
	return s + " (" + l.Format("15:04 MST") + ")"
}

// FormatDuration renders d as "2d 3h 4m", "3h 4m" or "4m".
func FormatDuration(d time.Duration) string {
	if d < 0 {
		return Unknown
	}
	d = d.Round(time.Minute)
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	h := d / time.Hour
	d -= h * time.Hour
	m := d / time.Minute
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh %dm", days, h, m)
	case h > 0:
		return fmt.Sprintf("%dh %dm", h, m)
	default:
		return fmt.Sprintf("%dm", m)
	}
}

var impactRe = regexp.MustCompile(`(?im)^[ \t]*(?:#{1,6}[ \t]*)?(?:\*\*)?impact started(?:\*\*)?[ \t]*:?(?:\*\*)?[ \t]*(.*)$`)

// ImpactStart finds the "Impact started: ..." line of an incident body (or
// the "### Impact started" field of the incident issue form). It returns
// the zero time and no error when there is none, and an error naming the
// text when there is one that cannot be read.
func ImpactStart(body string, loc *time.Location) (time.Time, error) {
	body = strings.ReplaceAll(body, "\r\n", "\n")
	m := impactRe.FindStringSubmatchIndex(body)
	if m == nil {
		return time.Time{}, nil
	}
	v := strings.TrimSpace(body[m[2]:m[3]])
	if v == "" {
		// Issue forms put the value in the paragraph after the heading.
		rest := body[m[1]:]
		for _, line := range strings.Split(rest, "\n") {
			if line = strings.TrimSpace(line); line != "" {
				if strings.HasPrefix(line, "#") {
					return time.Time{}, nil
				}
				v = line
				break
			}
		}
	}
	v = strings.Trim(v, "*_` ")
	if v == "" || strings.EqualFold(v, "No response") {
		return time.Time{}, nil
	}
	t, err := ParseTime(v, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("impact started %q: %w", v, err)
	}
	return t, nil
}

// ParseTime reads RFC 3339 ("2024-05-01T14:00:00Z") or
// "YYYY-MM-DD HH:MM[:SS] [ZONE]" (a 12-hour "2:00 pm" too) where ZONE is
// UTC, GMT, Z, an offset (+02:00), an IANA name (Europe/Berlin), the
// abbreviation loc uses at that time or one of a few
// unambiguous abbreviations (CET, CEST, EET, PDT, JST, ...); without a zone
// the time is in loc.
func ParseTime(v string, loc *time.Location) (time.Time, error) {
	v = strings.TrimSpace(v)
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	t, rest, err := leadingTime(v, time.Time{}, loc, true)
	switch {
	case err != nil:
		return time.Time{}, err
	case t.IsZero():
		return time.Time{}, errors.New(`want RFC 3339 or "YYYY-MM-DD HH:MM [zone]"`)
	case rest != "":
		return time.Time{}, fmt.Errorf("unexpected text %q after the time", rest)
	}
	return t, nil
}

// knownZones are the time zone abbreviations read in any repository, with
// their offsets from UTC in hours. Abbreviations that name several zones
// (see ambiguousZones) are refused; the configured zone's own abbreviation
// is always read.
var knownZones = map[string]int{
	"WET": 0, "WEST": 1, "CET": 1, "CEST": 2, "EET": 2, "EEST": 3, "MSK": 3,
	"JST": 9, "KST": 9, "AEST": 10, "AEDT": 11, "NZST": 12, "NZDT": 13,
	"HST": -10, "AKST": -9, "AKDT": -8, "PST": -8, "PDT": -7, "MDT": -6, "CDT": -5, "EDT": -4,
}

// ambiguousZones are abbreviations in common use for more than one offset
// (EST: US and Australian Eastern; CST: US Central, China, Cuba; IST: India,
// Ireland, Israel; BST: British Summer, Bangladesh; MST: US Mountain,
// Malaysia; AST: Atlantic, Arabia).
var ambiguousZones = map[string]bool{"EST": true, "CST": true, "IST": true, "BST": true, "MST": true, "AST": true}

var (
	dateRe   = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})$`)
	clockRe  = regexp.MustCompile(`^(\d{1,2}):(\d{2})(?::(\d{2}))?((?i)[ap]\.?m\.?)?$`)
	meridiem = regexp.MustCompile(`^(?i)[ap]\.?m\.?$`)
	offsetRe = regexp.MustCompile(`^[+-](\d{2})(?::?(\d{2}))?$`)
	ianaRe   = regexp.MustCompile(`^[A-Z][A-Za-z_]*(?:/[A-Za-z0-9][A-Za-z0-9_+-]*)+$`)
)

// LeadingTime reads the time a /timeline comment starts with, written at
// written, and returns it in UTC with the rest of s. The forms are
//
//	2024-05-01T14:05:00Z         RFC 3339
//	2024-05-01 14:05[:SS] [zone]
//	14:05[:SS] [zone]            on the day the comment was written, or the
//	                             day before when that would be after it
//
// with 12-hour times ("2:05 pm", "2:05pm") too. zone is as for ParseTime;
// without one the time is in loc, and a time of day takes the comment's
// date in the zone it is read in. A word after the time that is no zone
// ("14:05 DNS failover") is text. The zero time and a nil error mean s does
// not start with a time; an error means it does but the time cannot be used
// ("25:00", an unknown IANA name, an ambiguous abbreviation).
func LeadingTime(s string, written time.Time, loc *time.Location) (time.Time, string, error) {
	first, rest := nextWord(s)
	if t, err := time.Parse(time.RFC3339, first); err == nil {
		return t.UTC(), rest, nil
	}
	return leadingTime(s, written, loc, false)
}

// leadingTime reads "[YYYY-MM-DD] HH:MM[:SS] [am|pm] [zone]" from the start
// of s. strict (ParseTime) needs the date and refuses a word after the time
// that is no zone.
func leadingTime(s string, written time.Time, loc *time.Location, strict bool) (time.Time, string, error) {
	if loc == nil {
		loc = time.UTC
	}
	tok, rest := nextWord(s)
	var date time.Time
	if dateRe.MatchString(tok) {
		d, err := time.Parse("2006-01-02", tok)
		clock, _ := nextWord(rest)
		if !clockRe.MatchString(clock) {
			return time.Time{}, s, nil // a date alone is no time
		}
		if err != nil {
			return time.Time{}, s, fmt.Errorf("%s is not a date", tok)
		}
		date = d
		tok, rest = nextWord(rest)
	} else if strict {
		return time.Time{}, s, nil
	}
	m := clockRe.FindStringSubmatch(tok)
	if m == nil {
		return time.Time{}, s, nil
	}
	shown := tok
	ampm := m[4]
	if w, r := nextWord(rest); ampm == "" && meridiem.MatchString(w) {
		ampm, rest, shown = w, r, tok+" "+w
	}
	h, _ := strconv.Atoi(m[1])
	mi, _ := strconv.Atoi(m[2])
	sec := 0
	if m[3] != "" {
		sec, _ = strconv.Atoi(m[3])
	}
	if ampm != "" {
		if h < 1 || h > 12 {
			return time.Time{}, s, fmt.Errorf("%s is not a time of day", shown)
		}
		h %= 12
		if strings.EqualFold(ampm[:1], "p") {
			h += 12
		}
	}
	if h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, s, fmt.Errorf("%s is not a time of day", shown)
	}
	if date.IsZero() && written.IsZero() {
		return time.Time{}, s, fmt.Errorf("%s has no date and the comment's time is unknown", shown)
	}
	at := func(z *time.Location) time.Time {
		if !date.IsZero() {
			return time.Date(date.Year(), date.Month(), date.Day(), h, mi, sec, 0, z)
		}
		w := written.In(z)
		t := time.Date(w.Year(), w.Month(), w.Day(), h, mi, sec, 0, z)
		if t.After(written) {
			t = time.Date(w.Year(), w.Month(), w.Day()-1, h, mi, sec, 0, z)
		}
		return t
	}
	zone, after := nextWord(rest)
	t, ok, err := inZone(zone, loc, at)
	switch {
	case err != nil:
		return time.Time{}, s, err
	case ok:
		rest = after
	case strict && zone != "":
		return time.Time{}, s, fmt.Errorf("unknown time zone %q; use UTC, an offset like +02:00 or an IANA name like Europe/Berlin", zone)
	default:
		t = at(loc)
	}
	return t.UTC(), rest, nil
}

// inZone returns at(the zone z names). ok is false when z names no zone
// (it is ordinary text); err is set when z looks like a zone that cannot be
// used.
func inZone(z string, loc *time.Location, at func(*time.Location) time.Time) (t time.Time, ok bool, err error) {
	switch {
	case z == "":
		return time.Time{}, false, nil
	case z == "Z" || strings.EqualFold(z, "UTC") || strings.EqualFold(z, "GMT"):
		return at(time.UTC), true, nil
	case offsetRe.MatchString(z):
		m := offsetRe.FindStringSubmatch(z)
		h, _ := strconv.Atoi(m[1])
		mi := 0
		if m[2] != "" {
			mi, _ = strconv.Atoi(m[2])
		}
		if h > 14 || mi > 59 {
			return time.Time{}, false, fmt.Errorf("zone offset %q: want +HH:MM", z)
		}
		secs := h*3600 + mi*60
		if z[0] == '-' {
			secs = -secs
		}
		return at(time.FixedZone(z, secs)), true, nil
	case len(z) > 1 && (z[0] == '+' || z[0] == '-') && z[1] >= '0' && z[1] <= '9':
		return time.Time{}, false, fmt.Errorf("zone offset %q: want +HH:MM", z)
	case ianaRe.MatchString(z):
		l, err := time.LoadLocation(z)
		if err != nil {
			return time.Time{}, false, fmt.Errorf("unknown time zone %q", z)
		}
		return at(l), true, nil
	}
	if t := at(loc); zoneName(t) == z {
		return t, true, nil
	}
	if h, known := knownZones[z]; known {
		return at(time.FixedZone(z, h*3600)), true, nil
	}
	if ambiguousZones[z] {
		return time.Time{}, false, fmt.Errorf("zone %q is ambiguous; use UTC, an offset like +02:00 or an IANA name", z)
	}
	return time.Time{}, false, nil
}

func zoneName(t time.Time) string {
	n, _ := t.Zone()
	return n
}

// nextWord splits s into its first word and the rest, both trimmed.
func nextWord(s string) (string, string) {
	s = strings.TrimLeft(s, " \t")
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimLeft(s[i:], " \t")
}

// DueDate returns the day the postmortem of an incident of severity closed
// at closedAt is due: closedAt plus the configured business days (Monday
// to Friday in cfg's zone), as midnight of that day in the zone. ok is
// false when the incident is open or the severity has no due date.
func DueDate(severity string, closedAt time.Time, cfg Config) (due time.Time, ok bool) {
	if closedAt.IsZero() || severity == "" {
		return time.Time{}, false
	}
	n := 0
	for k, v := range cfg.DueBusinessDays {
		if strings.EqualFold(k, severity) {
			n = v
		}
	}
	if n <= 0 {
		return time.Time{}, false
	}
	loc := cfg.Location()
	c := closedAt.In(loc)
	d := time.Date(c.Year(), c.Month(), c.Day(), 0, 0, 0, 0, loc)
	for n > 0 {
		d = d.AddDate(0, 0, 1)
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
			n--
		}
	}
	return d, true
}

// Overdue reports whether now is past the whole due day.
func Overdue(due, now time.Time) bool {
	if due.IsZero() {
		return false
	}
	return !now.Before(due.AddDate(0, 0, 1))
}

// FormField returns the value an issue form wrote under "### name" (the
// first non-empty line of the paragraph after the heading), or "" when the
// field is absent or was left empty ("_No response_").
func FormField(body, name string) string {
	lines := strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n")
	for i, l := range lines {
		h, ok := strings.CutPrefix(strings.TrimSpace(l), "### ")
		if !ok || !strings.EqualFold(strings.TrimSpace(h), name) {
			continue
		}
		for _, v := range lines[i+1:] {
			v = strings.TrimSpace(v)
			switch {
			case v == "":
				continue
			case strings.HasPrefix(v, "#"), v == "_No response_":
				return ""
			}
			return v
		}
	}
	return ""
}
