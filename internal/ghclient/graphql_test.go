package ghclient_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/shurcooL/githubv4"

	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/ghclient"
	"github.com/tasuki-sre/tasuki/internal/githubtest"
)

func TestGraphQLURL(t *testing.T) {
	tests := []struct {
		base, want string
	}{
		{"", "https://api.github.com/graphql"},
		{"https://api.github.com/", "https://api.github.com/graphql"},
		{"https://api.github.com", "https://api.github.com/graphql"},
		{"https://ghe.example.com/api/v3/", "https://ghe.example.com/api/graphql"},
		{"https://ghe.example.com/api/v3", "https://ghe.example.com/api/graphql"},
		{"https://ghe.example.com/", "https://ghe.example.com/api/graphql"}, // go-github adds /api/v3/
		{"https://ghe.example.com", "https://ghe.example.com/api/graphql"},
		{"http://127.0.0.1:8080/api/v3/", "http://127.0.0.1:8080/api/graphql"},
		{"https://proxy.example.com/github/api/v3/", "https://proxy.example.com/github/api/graphql"},
		{"https://api.acme.ghe.com/", "https://api.acme.ghe.com/graphql"}, // GHE.com serves its API at the root
	}
	for _, tt := range tests {
		got, err := ghclient.GraphQLURL(tt.base)
		if err != nil || got != tt.want {
			t.Errorf("GraphQLURL(%q) = %q, %v; want %q", tt.base, got, err, tt.want)
		}
		// The REST client go-github makes of the same base leads there too.
		c, err := github.NewClient(nil).WithEnterpriseURLs(cmpBase(tt.base), cmpBase(tt.base))
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := ghclient.GraphQLURL(c.BaseURL.String()); got != tt.want {
			t.Errorf("from go-github's base %s: %q, want %q", c.BaseURL, got, tt.want)
		}
	}
	for _, bad := range []string{"ghe.example.com", "://x", "/api/v3/"} {
		if got, err := ghclient.GraphQLURL(bad); err == nil {
			t.Errorf("GraphQLURL(%q) = %q, want an error", bad, got)
		}
	}
}

func cmpBase(b string) string {
	if b == "" {
		return ghclient.DefaultBaseURL
	}
	return b
}

type viewerQuery struct {
	Viewer struct {
		Login string
	}
	RateLimit struct {
		Cost      int
		Remaining int
		ResetAt   githubv4.DateTime
	}
}

// The installation's GraphQL client shares the REST client's token (one
// token request for both) and finds the endpoint from either form of a
// GHES base URL.
func TestGraphQLInstallation(t *testing.T) {
	for _, tt := range []struct {
		name string
		base func(*githubtest.Server) string
	}{
		{"api base", (*githubtest.Server).URL},
		{"GHES host only", (*githubtest.Server).HostURL},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, _, _ := setup(t, "")
			cs, err := ghclient.New(ghclient.Config{AppID: 1, PrivateKeyPEM: githubtest.AppKey(), BaseURL: tt.base(srv)},
				ghclient.WithTransport(srv.HTTPClient().Transport), ghclient.WithLogger(quiet))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			rest, err := cs.Client(ctx, 7)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := rest.Repositories.Get(ctx, "acme", "api"); err != nil {
				t.Fatal(err)
			}
			gql, err := cs.GraphQL(ctx, 7)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 2 {
				var q viewerQuery
				if err := gql.Query(ctx, &q, nil); err != nil {
					t.Fatal(err)
				}
				if q.Viewer.Login != "tasuki[bot]" || q.RateLimit.Cost != 1 || q.RateLimit.Remaining != 4999-i || q.RateLimit.ResetAt.IsZero() {
					t.Errorf("query %d = %+v", i, q)
				}
			}
			if n := srv.CallCount("POST", githubtest.GraphQLTemplate); n != 2 {
				t.Errorf("%d GraphQL requests, want 2", n)
			}
			if n := srv.CallCount("POST", tmplTokens); n != 1 {
				t.Errorf("%d token requests, want 1 shared by REST and GraphQL", n)
			}
			if _, err := cs.GraphQL(ctx, 0); err == nil {
				t.Error("installation 0: want an error")
			}
		})
	}
}

// The Action's GraphQL client acts as the token's owner.
func TestGraphQLToken(t *testing.T) {
	srv := githubtest.New(t)
	ctx := context.Background()
	gql, err := ghclient.NewTokenGraphQL(srv.Token("github-actions[bot]"), srv.URL(), ghclient.WithTransport(srv.HTTPClient().Transport))
	if err != nil {
		t.Fatal(err)
	}
	var q viewerQuery
	if err := gql.Query(ctx, &q, nil); err != nil {
		t.Fatal(err)
	}
	if q.Viewer.Login != "github-actions[bot]" {
		t.Errorf("viewer = %q, want github-actions[bot]", q.Viewer.Login)
	}
	if _, err := ghclient.NewTokenGraphQL("", srv.URL()); err == nil {
		t.Error("empty token: want an error")
	}
	// A variable and an alias go through.
	var aliased struct {
		Me struct{ Login string } `graphql:"me: viewer"`
	}
	if err := gql.Query(ctx, &aliased, map[string]any{"unused": githubv4.Int(1)}); err != nil || aliased.Me.Login != "github-actions[bot]" {
		t.Errorf("aliased query: %+v, %v", aliased, err)
	}
}

// GitHub's GraphQL rate limit answers (200 with RATE_LIMITED, or 403/429)
// come back as errors the classifier and the job worker understand.
func TestGraphQLRateLimited(t *testing.T) {
	srv, cs, _ := setup(t, "")
	ctx := context.Background()
	gql, err := cs.GraphQL(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	reset := time.Now().Add(25 * time.Minute).Truncate(time.Second)
	srv.InjectGraphQLRateLimit(1, reset)
	var q viewerQuery
	err = gql.Query(ctx, &q, nil)
	if err == nil {
		t.Fatal("rate limited query succeeded")
	}
	if d := ghclient.Classify(err); d.Action != ghclient.Wait || !d.At.Equal(reset) {
		t.Errorf("Classify(%v) = %+v, want wait until %v", err, d, reset)
	}
	if at, ok := dispatch.RetryAt(fmt.Errorf("lead time: %w", ghclient.Wrap(err))); !ok || !at.Equal(reset) {
		t.Errorf("dispatch.RetryAt = %v, %v; want %v", at, ok, reset)
	}
	var ue *url.Error
	if !errors.As(err, &ue) {
		t.Errorf("err = %T %v, want it inside the HTTP client's *url.Error", err, err)
	}
	if err := gql.Query(ctx, &q, nil); err != nil || q.Viewer.Login != "tasuki[bot]" {
		t.Errorf("after the limit: %+v, %v", q, err)
	}

	srv.Inject("POST", githubtest.GraphQLTemplate, 403, map[string]string{"Retry-After": "30"})
	before := time.Now()
	err = gql.Query(ctx, &q, nil)
	if d := ghclient.Classify(err); d.Action != ghclient.Wait || d.At.Sub(before) < 29*time.Second || d.At.Sub(before) > 32*time.Second {
		t.Errorf("secondary limit: Classify(%v) = %+v, want a wait of 30s", err, d)
	}

	srv.Inject("POST", githubtest.GraphQLTemplate, 502, nil)
	err = gql.Query(ctx, &q, nil)
	if d := ghclient.Classify(err); err == nil || d.Action != ghclient.Retry {
		t.Errorf("502: Classify(%v) = %+v, want retry", err, d)
	}
	if n := srv.CallCount("POST", githubtest.GraphQLTemplate); n != 4 {
		t.Errorf("%d GraphQL requests, want 4 (a POST is not retried by the transport)", n)
	}
}
