package main

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/githubtest"
)

// A --since past GitHub's 3 days says so, and looks at the 3 days GitHub
// has: a failure 4 days old is not offered, one 2 days old is.
func TestRedeliverSincePastRetention(t *testing.T) {
	gh := githubtest.New(t)
	env, _ := appEnv(t, gh)
	if code, _, errOut := runApp(t, env, "migrate"); code != 0 {
		t.Fatalf("migrate: %s", errOut)
	}
	now := time.Now().UTC().Truncate(time.Second)
	gh.AddHookDelivery(&github.HookDelivery{GUID: github.String("guid-2d"), StatusCode: github.Int(502),
		Event: github.String("push"), DeliveredAt: &github.Timestamp{Time: now.Add(-48 * time.Hour)}})
	gh.AddHookDelivery(&github.HookDelivery{GUID: github.String("guid-4d"), StatusCode: github.Int(502),
		Event: github.String("push"), DeliveredAt: &github.Timestamp{Time: now.Add(-96 * time.Hour)}})

	tests := []struct {
		since    string
		wantNote bool
		wantOut  []string
	}{
		{"168h", true, []string{"guid-2d"}},
		{"72h", false, []string{"guid-2d"}},
		{"24h", false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.since, func(t *testing.T) {
			code, out, errOut := runApp(t, env, "redeliver", "--dry-run", "--since", tc.since)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			note := "tasuki: --since 168h0m0s reaches past the 3 days GitHub keeps deliveries: looking at the last 72h only"
			if got := strings.Contains(errOut, note); got != tc.wantNote {
				t.Errorf("note shown %v, want %v; stderr %q", got, tc.wantNote, errOut)
			}
			for _, g := range []string{"guid-2d", "guid-4d"} {
				want := false
				for _, w := range tc.wantOut {
					want = want || w == g
				}
				if strings.Contains(out, g) != want {
					t.Errorf("%s offered: %v, want %v\n%s", g, !want, want, out)
				}
			}
		})
	}
}
