package backfill_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tasuki-sre/tasuki/internal/backfill"
)

var durationForm = regexp.MustCompile(`^([0-9]+)([dwh])$`)

// FuzzParseSince checks ParseSince against an oracle: an accepted start is
// in the past and at most two years back; a duration means exactly that
// long before now, and a date its midnight UTC.
func FuzzParseSince(f *testing.F) {
	for _, s := range []string{"90d", "2w", "36h", "2026-01-31", "", "0d", "1.5d", "800d", "2027-13-01", "+5d", "5 d"} {
		f.Add(s)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := backfill.ParseSince(s, now)
		if err != nil {
			if !strings.Contains(err.Error(), "--since") {
				t.Errorf("ParseSince(%q) error %q does not name --since", s, err)
			}
			return
		}
		if !got.Before(now) || now.Sub(got) > 2*366*24*time.Hour || got.Location() != time.UTC {
			t.Fatalf("ParseSince(%q) = %v: not within two years before %v in UTC", s, got, now)
		}
		in := strings.TrimSpace(s)
		if m := durationForm.FindStringSubmatch(in); m != nil {
			n, _ := strconv.Atoi(m[1])
			unit := map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour, "h": time.Hour}[m[2]]
			if want := now.Add(-time.Duration(n) * unit); !got.Equal(want) {
				t.Fatalf("ParseSince(%q) = %v, want %v", s, got, want)
			}
			return
		}
		if d, err := time.Parse(time.DateOnly, in); err != nil || !got.Equal(d) {
			t.Fatalf("ParseSince(%q) = %v, accepted as neither a duration nor a date", s, got)
		}
	})
}
