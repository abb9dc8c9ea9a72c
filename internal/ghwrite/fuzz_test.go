package ghwrite_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tasuki-sre/tasuki/internal/ghwrite"
)

func FuzzTruncate(f *testing.F) {
	f.Add("short", 100)
	f.Add(strings.Repeat("é", 100), 150)
	f.Add(strings.Repeat("🙂", 50), 120)
	f.Add(strings.Repeat("x", 70000), ghwrite.MaxOutputChars)
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max < len(ghwrite.TruncatedNote)+4 || max > 1<<20 {
			t.Skip()
		}
		got := ghwrite.Truncate(s, max)
		if len(got) > max {
			t.Fatalf("len %d > max %d", len(got), max)
		}
		if len(s) <= max {
			if got != s {
				t.Fatalf("changed a string within the limit")
			}
			return
		}
		body, ok := strings.CutSuffix(got, ghwrite.TruncatedNote)
		if !ok || !strings.HasPrefix(s, body) {
			t.Fatalf("not a prefix plus the note: %q", got)
		}
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("cut inside a character")
		}
	})
}
