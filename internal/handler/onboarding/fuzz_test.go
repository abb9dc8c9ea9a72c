package onboarding

import (
	"strings"
	"testing"
)

// FuzzParseOnboardArgs holds the parser of /tasuki onboard's arguments to
// an oracle: what it accepts is one team without spaces and a tier of A, B,
// C or none, and writing them back out parses to the same.
func FuzzParseOnboardArgs(f *testing.F) {
	for _, s := range []string{"@acme/payments-sre", "@acme/x --tier b", "--tier=C acme/y", "x --tier", "@a/b @c/d", "--force", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if len(line) > 1024 {
			return
		}
		team, tier, err := parseOnboardArgs(strings.Fields(line))
		if err != nil {
			return
		}
		if team == "" || strings.ContainsAny(team, " \t\n") || strings.HasPrefix(team, "-") {
			t.Fatalf("accepted team %q from %q", team, line)
		}
		switch tier {
		case "", "A", "B", "C":
		default:
			t.Fatalf("accepted tier %q from %q", tier, line)
		}
		args := []string{team}
		if tier != "" {
			args = append(args, "--tier", tier)
		}
		t2, tier2, err := parseOnboardArgs(args)
		if err != nil || t2 != team || tier2 != tier {
			t.Fatalf("%q parsed to %q %q, which parse to %q %q, %v", line, team, tier, t2, tier2, err)
		}
	})
}
