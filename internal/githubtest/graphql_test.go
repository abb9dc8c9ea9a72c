package githubtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/shurcooL/githubv4"
)

// gqlPost sends a GraphQL document as token and returns the status, the
// headers and the decoded body.
func gqlPost(t *testing.T, srv *Server, token, query string) (int, http.Header, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query})
	req, _ := http.NewRequest(http.MethodPost, srv.GraphQLURL(), bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := srv.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("answer is not JSON: %s", raw)
	}
	return resp.StatusCode, resp.Header, out
}

func TestGraphQLEndpoint(t *testing.T) {
	srv := New(t)
	tok := srv.Token("alice")
	if !strings.HasSuffix(srv.GraphQLURL(), "/api/graphql") || !strings.HasPrefix(srv.GraphQLURL(), srv.HostURL()) {
		t.Errorf("GraphQLURL = %s, want the host's /api/graphql", srv.GraphQLURL())
	}

	// Through githubv4, as tasuki sends it.
	hc := &http.Client{Transport: bearer{tok, srv.HTTPClient().Transport}}
	gql := githubv4.NewEnterpriseClient(srv.GraphQLURL(), hc)
	var q struct {
		Viewer    struct{ Login string }
		RateLimit struct {
			Cost, Limit, Remaining, Used int
			ResetAt                      githubv4.DateTime
		}
	}
	if err := gql.Query(context.Background(), &q, nil); err != nil {
		t.Fatal(err)
	}
	if q.Viewer.Login != "alice" || q.RateLimit.Cost != 1 || q.RateLimit.Limit != 5000 || q.RateLimit.Remaining != 4999 || q.RateLimit.Used != 1 ||
		q.RateLimit.ResetAt.Before(time.Now()) {
		t.Errorf("answer = %+v", q)
	}

	// GraphQL has its own rate limit, counted apart from REST's.
	status, h, out := gqlPost(t, srv, tok, `query { me: viewer { login } }`)
	if status != 200 || h.Get("X-RateLimit-Resource") != "graphql" || h.Get("X-RateLimit-Remaining") != "4998" {
		t.Errorf("status %d, headers %v", status, h)
	}
	if got := fmt.Sprint(out["data"]); got != "map[me:map[login:alice]]" {
		t.Errorf("aliased data = %s", got)
	}
	if n := srv.RateLimitRemaining(tok); n != 5000 {
		t.Errorf("REST rate limit = %d after GraphQL queries, want 5000", n)
	}
	if n := srv.CallCount("POST", GraphQLTemplate); n != 2 {
		t.Errorf("%d GraphQL calls recorded, want 2", n)
	}
	if c := srv.Calls()[1]; c.Login != "alice" || c.Status != 200 || !strings.Contains(string(c.Body), "viewer") {
		t.Errorf("call = %+v", c)
	}

	// Told to, it answers as GitHub does when the limit is spent.
	reset := time.Now().Add(30 * time.Minute).Truncate(time.Second)
	srv.InjectGraphQLRateLimit(1, reset)
	status, h, out = gqlPost(t, srv, tok, `{viewer{login}}`)
	errs, _ := out["errors"].([]any)
	if status != 200 || len(errs) != 1 || out["data"] != nil || h.Get("X-RateLimit-Remaining") != "0" || h.Get("X-RateLimit-Reset") != fmt.Sprint(reset.Unix()) {
		t.Fatalf("rate limited: status %d, headers %v, body %v", status, h, out)
	}
	e := errs[0].(map[string]any)
	if e["type"] != "RATE_LIMITED" || !strings.HasPrefix(fmt.Sprint(e["message"]), "API rate limit exceeded for user ID ") {
		t.Errorf("rate limited error = %v", e)
	}
	if status, _, _ := gqlPost(t, srv, tok, `{viewer{login}}`); status != 200 {
		t.Errorf("after the injected limit: status %d", status)
	}
	// An installation's token names the installation.
	srv.mu.Lock()
	itok, _ := srv.mintInstallationToken(1)
	srv.mu.Unlock()
	srv.InjectGraphQLRateLimit(1, time.Time{})
	_, _, out = gqlPost(t, srv, itok, `{viewer{login}}`)
	if got := fmt.Sprint(out["errors"]); !strings.Contains(got, "API rate limit exceeded for installation ID 1.") {
		t.Errorf("installation rate limited: %s", got)
	}

	// Other injected failures answer as on REST.
	srv.Inject("POST", GraphQLTemplate, 502, nil)
	if status, _, _ := gqlPost(t, srv, tok, `{viewer{login}}`); status != 502 {
		t.Errorf("injected 502: status %d", status)
	}
	if status, _, out := gqlPost(t, srv, "", `{viewer{login}}`); status != 401 || !strings.Contains(fmt.Sprint(out["message"]), "requires you to be authenticated") {
		t.Errorf("no token: %d %v", status, out)
	}
}

// A field the fake does not know fails the test, as an undocumented REST
// request does, and is answered as GitHub answers an invalid query.
func TestGraphQLUnknownFieldFails(t *testing.T) {
	rec := &recTB{TB: t}
	srv := New(rec)
	status, _, out := gqlPost(t, srv, srv.Token("alice"), `query($o:String!){organization(login:$o){name}}`)
	if status != 200 || out["data"] != nil || !strings.Contains(fmt.Sprint(out["errors"]), "Field 'organization' doesn't exist") {
		t.Errorf("answer: %d %v", status, out)
	}
	if errs := rec.errors(); len(errs) != 1 || !strings.Contains(errs[0], "organization") {
		t.Errorf("test errors = %q, want one naming the field", errs)
	}
	rec.errs = nil
	if status, _, _ := gqlPost(t, srv, srv.Token("alice"), `mutation{addComment(input:{}){clientMutationId}}`); status != 200 {
		t.Errorf("mutation: status %d", status)
	}
	if errs := rec.errors(); len(errs) != 1 || !strings.Contains(errs[0], "queries only") {
		t.Errorf("test errors = %q, want one refusing the mutation", errs)
	}
}

// The compare endpoint answers from the commit graph, oldest first, paged.
func TestCompareCommits(t *testing.T) {
	srv := New(t)
	srv.AddRepo("acme/api", "main")
	base, _ := srv.Ref("acme/api", "heads/main")
	var shas []string
	for i := range 5 {
		shas = append(shas, srv.PutFile("acme/api", "main", fmt.Sprintf("f%d", i), []byte("x")))
	}
	ctx := context.Background()
	c := srv.Client()
	cmp, resp, err := c.Repositories.CompareCommits(ctx, "acme", "api", base, "main", &github.ListOptions{PerPage: 2})
	if err != nil {
		t.Fatal(err)
	}
	if cmp.GetStatus() != "ahead" || cmp.GetAheadBy() != 5 || cmp.GetTotalCommits() != 5 || cmp.GetMergeBaseCommit().GetSHA() != base ||
		len(cmp.Commits) != 2 || cmp.Commits[0].GetSHA() != shas[0] || resp.NextPage != 2 {
		t.Errorf("first page: status %s, ahead %d, %d commits, next %d", cmp.GetStatus(), cmp.GetAheadBy(), len(cmp.Commits), resp.NextPage)
	}
	back, _, err := c.Repositories.CompareCommits(ctx, "acme", "api", "main", base, nil)
	if err != nil || back.GetStatus() != "behind" || back.GetBehindBy() != 5 || len(back.Commits) != 0 {
		t.Errorf("reversed: %s behind %d, %d commits, %v", back.GetStatus(), back.GetBehindBy(), len(back.Commits), err)
	}
	if _, _, err := c.Repositories.CompareCommits(ctx, "acme", "api", base, "nope", nil); err == nil {
		t.Error("unknown head: want 404")
	}
}

type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}
