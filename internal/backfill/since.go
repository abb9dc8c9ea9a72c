package backfill

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxSince bounds how far back a backfill may reach: GitHub keeps
// everything, but a typo ("900d") should not read a repository's whole
// history at the installation's expense.
const maxSince = 2 * 366 * 24 * time.Hour

// ParseSince reads a backfill's start: a duration back from now in days,
// weeks or hours ("90d", "2w", "36h"), or a UTC date ("2026-01-31"). The
// result is an instant before now and at most two years back.
func ParseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("--since is empty: give a duration such as 90d, 2w or 36h, or a date such as 2026-01-31")
	}
	var at time.Time
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		at = t.UTC()
	} else {
		unit := s[len(s)-1]
		var step time.Duration
		switch unit {
		case 'd':
			step = 24 * time.Hour
		case 'w':
			step = 7 * 24 * time.Hour
		case 'h':
			step = time.Hour
		default:
			return time.Time{}, fmt.Errorf("--since %q: want a duration in days, weeks or hours (90d, 2w, 36h) or a date (2026-01-31)", s)
		}
		digits := s[:len(s)-1]
		n, err := strconv.Atoi(digits)
		if err != nil || strings.Trim(digits, "0123456789") != "" || n <= 0 || n > int(maxSince/step)+1 {
			return time.Time{}, fmt.Errorf("--since %q: want a positive whole number of %s, at most two years", s, unitName(unit))
		}
		at = now.Add(-time.Duration(n) * step)
	}
	switch {
	case !at.Before(now):
		return time.Time{}, fmt.Errorf("--since %q is not in the past", s)
	case now.Sub(at) > maxSince:
		return time.Time{}, fmt.Errorf("--since %q reaches back more than two years", s)
	}
	return at.UTC(), nil
}

func unitName(u byte) string {
	switch u {
	case 'd':
		return "days"
	case 'w':
		return "weeks"
	}
	return "hours"
}
