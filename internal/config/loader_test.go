package config_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/githubtest"
	"github.com/tasuki-sre/tasuki/internal/ownership"
)

const contents = "/repos/{owner}/{repo}/contents/{path}"

func TestLoaderMergesOrgAndRepo(t *testing.T) {
	srv := githubtest.New(t)
	srv.AddRepo("acme/.github", "main")
	srv.AddRepo("acme/api", "main")
	srv.PutFile("acme/.github", "", config.Path, []byte("ownership:\n  core_sre_team: core-sre\n  default_team: platform\n"))
	srv.PutFile("acme/api", "", config.Path, []byte("ownership:\n  default_team: payments\n"))
	srv.ResetCalls()

	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	l := config.NewLoader(config.WithTTL(time.Minute), config.WithClock(func() time.Time { return now }))
	got := l.Load(context.Background(), srv.Client(), "acme", "api")
	if got.Err != nil {
		t.Fatalf("Load: %v", got.Err)
	}
	want := config.Default()
	want.Ownership.CoreSRETeam, want.Ownership.DefaultTeam = "core-sre", "payments"
	if diff := cmp.Diff(want, got.Config); diff != "" {
		t.Errorf("config mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"acme/.github:.github/tasuki.yml", "acme/api:.github/tasuki.yml"}, got.Sources); diff != "" {
		t.Errorf("sources mismatch (-want +got):\n%s", diff)
	}
	if n := srv.CallCount("GET", contents); n != 2 {
		t.Errorf("first load read %d files, want 2", n)
	}

	// Within the TTL the second handler of the same delivery reads nothing,
	// and does not see what the first one changed in its copy.
	got.Config.Ownership.Teams = map[string]ownership.Team{"x": {}}
	got.Config.Postmortem.DueBusinessDays["sev1"] = 99
	now = now.Add(10 * time.Second)
	again := l.Load(context.Background(), srv.Client(), "acme", "api")
	if diff := cmp.Diff(want, again.Config); diff != "" {
		t.Errorf("cached config changed by an earlier caller (-want +got):\n%s", diff)
	}
	if n := srv.CallCount("GET", contents); n != 2 {
		t.Errorf("cached load made %d content reads in total, want 2", n)
	}

	// A push to the org defaults forgets every repository of the org.
	srv.PutFile("acme/.github", "", config.Path, []byte("ownership:\n  core_sre_team: sre\n"))
	l.Forget("acme", ".github")
	got = l.Load(context.Background(), srv.Client(), "acme", "api")
	if got.Config.Ownership.CoreSRETeam != "sre" {
		t.Errorf("after Forget: core_sre_team %q, want the new org value", got.Config.Ownership.CoreSRETeam)
	}
	if n := srv.CallCount("GET", contents); n != 4 {
		t.Errorf("load after Forget: %d content reads in total, want 4", n)
	}

	// After the TTL it reads again.
	now = now.Add(2 * time.Minute)
	l.Load(context.Background(), srv.Client(), "acme", "api")
	if n := srv.CallCount("GET", contents); n != 6 {
		t.Errorf("load after TTL: %d content reads in total, want 6", n)
	}
}

func TestLoaderMissingFilesGiveDefaults(t *testing.T) {
	srv := githubtest.New(t)
	srv.AddRepo("acme/api", "main") // and no acme/.github at all
	got := config.NewLoader().Load(context.Background(), srv.Client(), "acme", "api")
	if got.Err != nil {
		t.Fatalf("Load: %v", got.Err)
	}
	if diff := cmp.Diff(config.Default(), got.Config); diff != "" {
		t.Errorf("config mismatch (-want +got):\n%s", diff)
	}
	if len(got.Sources) != 0 {
		t.Errorf("sources %v, want none", got.Sources)
	}
}

func TestLoaderBadFile(t *testing.T) {
	srv := githubtest.New(t)
	srv.AddRepo("acme/.github", "main")
	srv.AddRepo("acme/api", "main")
	srv.PutFile("acme/.github", "", config.Path, []byte("ownership:\n  default_team: platform\n"))
	srv.PutFile("acme/api", "", config.Path, []byte("# tasuki\nownership:\n  default_team: payments\n  teams:\n    payments:\n      sre: [alice]\n"))
	got := config.NewLoader().Load(context.Background(), srv.Client(), "acme", "api")
	var pe *config.ParseError
	if !errors.As(got.Err, &pe) {
		t.Fatalf("Err = %v, want a *ParseError", got.Err)
	}
	want := &config.ParseError{Source: "acme/api:.github/tasuki.yml", Line: 6, Column: 7,
		Msg: `unknown field "sre" in ownership.teams.payments; did you mean "sres"?`}
	if diff := cmp.Diff(want, pe); diff != "" {
		t.Errorf("ParseError mismatch (-want +got):\n%s", diff)
	}
	if got.ReadError() != nil {
		t.Errorf("a bad file reported as a read failure: %v", got.ReadError())
	}
	// The broken section falls back to the organisation's.
	if got.Config.Ownership.DefaultTeam != "platform" {
		t.Errorf("default_team %q, want the organisation's", got.Config.Ownership.DefaultTeam)
	}
}

func TestLoaderAtRef(t *testing.T) {
	srv := githubtest.New(t)
	srv.AddRepo("acme/api", "main")
	srv.PutFile("acme/api", "", config.Path, []byte("ownership:\n  default_team: payments\n"))
	head := srv.PutFile("acme/api", "feature", config.Path, []byte("ownership:\n  default_team: search\n"))
	l := config.NewLoader()
	for _, tt := range []struct{ ref, want string }{{"", "payments"}, {"feature", "search"}, {head, "search"}} {
		got := l.LoadAt(context.Background(), srv.Client(), "acme", "api", tt.ref)
		if got.Err != nil || got.Config.Ownership.DefaultTeam != tt.want {
			t.Errorf("LoadAt(%q): default_team %q, err %v; want %q", tt.ref, got.Config.Ownership.DefaultTeam, got.Err, tt.want)
		}
	}
}

func TestLoaderGitHubFailureIsNotCached(t *testing.T) {
	srv := githubtest.New(t)
	srv.AddRepo("acme/api", "main")
	srv.PutFile("acme/api", "", config.Path, []byte("ownership:\n  default_team: payments\n"))
	srv.Inject("GET", contents, 502, nil)
	l := config.NewLoader()
	got := l.Load(context.Background(), srv.Client(), "acme", "api")
	if got.Err == nil {
		t.Fatal("no error for a 502")
	}
	var pe *config.ParseError
	if errors.As(got.Err, &pe) {
		t.Errorf("a GitHub failure reported as a bad file: %v", got.Err)
	}
	var er *github.ErrorResponse
	if !errors.As(got.ReadError(), &er) || er.Response.StatusCode != 502 {
		t.Errorf("ReadError() = %v, want the GitHub 502", got.ReadError())
	}
	if diff := cmp.Diff(config.Default(), got.Config); diff != "" {
		t.Errorf("config on failure should be the defaults (-want +got):\n%s", diff)
	}
	got = l.Load(context.Background(), srv.Client(), "acme", "api")
	if got.ReadError() != nil || got.Config.Ownership.DefaultTeam != "payments" {
		t.Errorf("retry: default_team %q, err %v", got.Config.Ownership.DefaultTeam, got.Err)
	}
}

func TestLoaderOrgFileForbidden(t *testing.T) {
	// The Action's GITHUB_TOKEN cannot read <org>/.github: the repository's
	// own file still applies.
	srv := githubtest.New(t)
	srv.AddRepo("acme/.github", "main")
	srv.AddRepo("acme/api", "main")
	srv.PutFile("acme/api", "", config.Path, []byte("ownership:\n  default_team: payments\n"))
	srv.Inject("GET", contents, 403, nil)
	got := config.NewLoader().Load(context.Background(), srv.Client(), "acme", "api")
	if got.Err != nil || got.Config.Ownership.DefaultTeam != "payments" {
		t.Errorf("Load: default_team %q, err %v", got.Config.Ownership.DefaultTeam, got.Err)
	}
	// A rate limit is not a permission: it must reach the caller for a retry.
	srv.Inject("GET", contents, 403, map[string]string{"X-RateLimit-Remaining": "0"})
	got = config.NewLoader().Load(context.Background(), srv.Client(), "acme", "api")
	var rl *github.RateLimitError
	if !errors.As(got.ReadError(), &rl) {
		t.Errorf("rate limited: ReadError() = %v, want a *github.RateLimitError", got.ReadError())
	}
}

func TestLoaderOversizedFileIsNotFetched(t *testing.T) {
	srv := githubtest.New(t)
	srv.AddRepo("acme/api", "main")
	big := append([]byte("ownership:\n  default_team: payments\n#"), make([]byte, config.MaxSize)...)
	for i := len(big) - config.MaxSize; i < len(big); i++ {
		big[i] = 'x'
	}
	srv.PutFile("acme/api", "", config.Path, big)
	got := config.NewLoader().Load(context.Background(), srv.Client(), "acme", "api")
	pes := config.ParseErrors(got.Err)
	if len(pes) != 1 || pes[0].Source != "acme/api:.github/tasuki.yml" || pes[0].Line != 0 {
		t.Fatalf("errors %v, want one about the size of the repository file", got.Err)
	}
	if got.ReadError() != nil {
		t.Errorf("an oversized file reported as a read failure: %v", got.ReadError())
	}
	if diff := cmp.Diff(config.Default(), got.Config); diff != "" {
		t.Errorf("config should be the defaults (-want +got):\n%s", diff)
	}
}

func TestLoaderDirectoryAtPathIsAbsent(t *testing.T) {
	srv := githubtest.New(t)
	srv.AddRepo("acme/api", "main")
	srv.PutFile("acme/api", "", config.Path+"/oops.yml", []byte("x: 1\n"))
	got := config.NewLoader().Load(context.Background(), srv.Client(), "acme", "api")
	if got.Err != nil || len(got.Sources) != 0 {
		t.Errorf("Load: sources %v, err %v; want defaults without error", got.Sources, got.Err)
	}
}
