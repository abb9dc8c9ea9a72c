package main

import (
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tasuki-sre/tasuki/internal/githubtest"
)

// lead-time --backfill reads the history through GraphQL, a request for
// every 100 pull requests, and computes the same metrics as the REST path.
func TestLeadTimeBackfill(t *testing.T) {
	srv, _, _, _ := shopRepo(t)
	envv := map[string]string{"GITHUB_TOKEN": srv.Token("alice"), "TASUKI_GITHUB_API_URL": srv.URL()}
	args := []string{"lead-time", "--repo", "acme/shop", "--since", "2026-11-23", "--until", "2026-11-25", "--format", "json"}
	code, rest, stderr := runCLI(t, envv, args...)
	if code != 0 {
		t.Fatalf("REST: exit %d\n%s", code, stderr)
	}
	srv.ResetCalls()
	code, gql, stderr := runCLI(t, envv, append(args, "--backfill")...)
	if code != 0 {
		t.Fatalf("--backfill: exit %d\n%s", code, stderr)
	}
	if d := cmp.Diff(rest, gql); d != "" {
		t.Errorf("metrics from the GraphQL backfill differ from REST's (-rest +backfill):\n%s", d)
	}
	// Pull requests, deployments (production, prod), releases: a page each.
	if n := srv.CallCount("POST", githubtest.GraphQLTemplate); n != 3 {
		t.Errorf("%d GraphQL requests, want 3", n)
	}
	if !regexp.MustCompile(`lead-time: backfill of acme/shop since \S+: 2 pull requests, 0 reviews, 1 deployments, 0 releases; 3 GraphQL requests, 7 rate limit points\n`).MatchString(stderr) {
		t.Errorf("stderr %q", stderr)
	}
}
