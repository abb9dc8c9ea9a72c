package githubtest

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-github/v60/github"
)

// TestListETag: like GitHub, every GET answer carries an ETag; asking again
// with it gets 304 without spending the rate limit while nothing changed,
// and the fresh list once something did.
func TestListETag(t *testing.T) {
	srv := New(t)
	srv.AddRepo("acme/api", "main")
	srv.AddPull("acme/api", &github.PullRequest{Title: github.String("x")})
	c := srv.Client()
	ctx := context.Background()
	get := func(etag string) *github.Response {
		t.Helper()
		req, _ := c.NewRequest("GET", "repos/acme/api/pulls/1/reviews", nil)
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		var out []*github.PullRequestReview
		resp, err := c.Do(ctx, req, &out)
		if err != nil && (resp == nil || resp.StatusCode != http.StatusNotModified) {
			t.Fatal(err)
		}
		return resp
	}
	first := get("")
	etag := first.Header.Get("ETag")
	if first.StatusCode != 200 || etag == "" {
		t.Fatalf("first read: status %d, ETag %q", first.StatusCode, etag)
	}
	again := get(etag)
	if again.StatusCode != http.StatusNotModified {
		t.Errorf("unchanged list: status %d, want 304", again.StatusCode)
	}
	if again.Rate.Remaining != first.Rate.Remaining {
		t.Errorf("304 spent rate limit: remaining %d, was %d", again.Rate.Remaining, first.Rate.Remaining)
	}
	srv.AddReview("acme/api", 1, "bob", "APPROVED", "")
	changed := get(etag)
	if changed.StatusCode != 200 || changed.Header.Get("ETag") == etag {
		t.Errorf("changed list: status %d, ETag %q (was %q)", changed.StatusCode, changed.Header.Get("ETag"), etag)
	}
	if changed.Rate.Remaining != first.Rate.Remaining-1 {
		t.Errorf("fresh answer: remaining %d, want %d", changed.Rate.Remaining, first.Rate.Remaining-1)
	}
}

// TestTeamAccess: GitHub answers a team read by a token that cannot see
// teams with 404, member or not, and one lacking the permission with 403.
func TestTeamAccess(t *testing.T) {
	srv := New(t)
	srv.AddTeam("acme", "sre", "bob")
	ctx := context.Background()
	for _, tt := range []struct {
		access TeamAccess
		login  string
		want   int
	}{
		{TeamsReadable, "bob", 200},
		{TeamsReadable, "dave", 404},
		{TeamsHidden, "bob", 404},
		{TeamsHidden, "dave", 404},
		{TeamsForbidden, "bob", 403},
	} {
		tok := srv.Token("reader")
		srv.SetTeamAccess(tok, tt.access)
		_, resp, _ := srv.clientWith(tok).Teams.GetTeamMembershipBySlug(ctx, "acme", "sre", tt.login)
		if resp == nil || resp.StatusCode != tt.want {
			t.Errorf("access %d, %s: %v, want %d", tt.access, tt.login, resp, tt.want)
		}
	}
}
