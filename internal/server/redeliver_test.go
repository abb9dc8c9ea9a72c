package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/githubtest"
	"github.com/tasuki-sre/tasuki/internal/server"
)

// appClient returns a go-github client authenticated with the App's JWT, the
// way cmd/app builds it, against the fake GitHub.
func appClient(t *testing.T, gh *githubtest.Server) *github.Client {
	t.Helper()
	tr, err := ghinstallation.NewAppsTransport(gh.HTTPClient().Transport, 1, githubtest.AppKey())
	if err != nil {
		t.Fatal(err)
	}
	c := github.NewClient(&http.Client{Transport: tr})
	c.BaseURL, err = url.Parse(gh.URL())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRedeliverOnlyFailedUnknownDeliveries(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	gh := githubtest.New(t)
	add := func(guid string, status int, ago time.Duration, redelivery bool) int64 {
		d := gh.AddHookDelivery(&github.HookDelivery{
			GUID: github.String(guid), StatusCode: github.Int(status), Status: github.String(http.StatusText(status)),
			Event: github.String("issues"), Action: github.String("labeled"), Redelivery: github.Bool(redelivery),
			DeliveredAt: &github.Timestamp{Time: now.Add(-ago)}, Duration: float(0.1),
			InstallationID: github.Int64(1), RepositoryID: github.Int64(7),
		})
		return d.GetID()
	}
	// Seeded oldest first; GitHub lists newest first.
	for i := range 150 { // a page and a half GitHub still keeps but we need not read
		add(fmt.Sprintf("too-old-%03d", i), 502, 40*time.Hour-time.Duration(i)*time.Minute, false)
	}
	oldestInWindow := add("oldest-failed", 0, 23*time.Hour, false)
	add("stored-but-failed", 504, 22*time.Hour, false) // we stored it, then GitHub timed out
	add("failed-then-ok", 500, 21*time.Hour, false)
	add("failed-then-ok", 202, 20*time.Hour, true)
	add("failed-twice", 503, 19*time.Hour, false)
	latestOfTwice := add("failed-twice", 503, 18*time.Hour, true)
	for i := range 240 { // enough to need three pages of 100
		add(fmt.Sprintf("ok-%03d", i), 202, 17*time.Hour-time.Duration(i)*time.Minute, false)
	}
	add("ok-but-unknown", 202, time.Hour, false) // a success is never redelivered
	recent := add("recent-failed", 502, time.Minute, false)

	store := &server.MemQueue{}
	store.Enqueue(context.Background(), dispatch.Delivery{ID: "stored-but-failed", Event: "issues"})

	tests := []struct {
		name        string
		dryRun      bool
		wantGUIDs   []string
		redelivered []int64
	}{
		{"dry run asks for nothing", true, []string{"oldest-failed", "failed-twice", "recent-failed"}, nil},
		{"redeliver", false, []string{"oldest-failed", "failed-twice", "recent-failed"}, []int64{oldestInWindow, latestOfTwice, recent}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gh.ResetCalls()
			r := server.NewRedeliverer(appClient(t, gh).Apps, store, nil)
			missed, err := r.Run(context.Background(), now.Add(-24*time.Hour), tt.dryRun)
			if err != nil {
				t.Fatal(err)
			}
			var guids []string
			for _, m := range missed {
				guids = append(guids, m.GUID)
				if m.Err != "" {
					t.Errorf("%s: %s", m.GUID, m.Err)
				}
			}
			if diff := cmp.Diff(tt.wantGUIDs, guids); diff != "" {
				t.Errorf("missed deliveries (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.redelivered, gh.Redelivered()); diff != "" {
				t.Errorf("redelivery requests (-want +got):\n%s", diff)
			}
			// 247 deliveries in the window, then 150 older ones: three pages
			// of 100, and no fourth once a page reaches past the window.
			if n := gh.CallCount("GET", "/app/hook/deliveries"); n != 3 {
				t.Errorf("listed %d pages, want 3", n)
			}
			for _, c := range gh.Calls() {
				if c.Login != "app" {
					t.Errorf("%s %s authenticated as %q, want the App JWT", c.Method, c.Path, c.Login)
				}
			}
		})
	}
}

func TestRedeliverReportsGitHubErrors(t *testing.T) {
	gh := githubtest.New(t)
	gh.AddHookDelivery(&github.HookDelivery{GUID: github.String("a"), StatusCode: github.Int(502), Event: github.String("push")})
	gh.AddHookDelivery(&github.HookDelivery{GUID: github.String("b"), StatusCode: github.Int(502), Event: github.String("push")})
	gh.InjectTimes(1, "POST", "/app/hook/deliveries/{delivery_id}/attempts", 422, nil)
	r := server.NewRedeliverer(appClient(t, gh).Apps, &server.MemQueue{}, nil)
	missed, err := r.Run(context.Background(), time.Now().Add(-time.Hour), false)
	if err == nil {
		t.Fatal("no error although GitHub refused a redelivery")
	}
	if len(missed) != 2 || missed[0].Err == "" || missed[1].Err != "" {
		t.Errorf("want the first marked failed and the second asked for, got %+v", missed)
	}
	if got := len(gh.Redelivered()); got != 1 {
		t.Errorf("%d redeliveries recorded, want 1 (the one after the refused one)", got)
	}
}

func float(f float64) *float64 { return &f }
