package githubtest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
)

// Queries are costed by GitHub's formula, and what GitHub refuses the fake
// refuses too, failing the test.
func TestGraphQLCostAndLimits(t *testing.T) {
	for _, tt := range []struct {
		name, query string
		cost        int    // 0: refused
		wantErr     string // in the answer and the test error
	}{
		{"no connection", `{viewer{login},rateLimit{cost}}`, 1, ""},
		{"one page", `{repository(owner:"acme",name:"api"){pullRequests(first:100){nodes{number}}},rateLimit{cost}}`, 1, ""},
		{"nested", `{repository(owner:"acme",name:"api"){pullRequests(first:100){nodes{reviews(first:10){nodes{state}},commits(first:1){nodes{commit{oid}}}}}},rateLimit{cost}}`, 2, ""},
		// GitHub's documented example: 1 + 100 + 100×50 requests.
		{"deep", `{repository(owner:"acme",name:"api"){pullRequests(first:100){nodes{reviews(first:50){nodes{state}},files(first:1){nodes{path}}}}}}`, 2, ""},
		{"no first", `{repository(owner:"acme",name:"api"){pullRequests{nodes{number}}}}`, 0, "You must provide a `first` or `last` value"},
		{"first over 100", `{repository(owner:"acme",name:"api"){pullRequests(first:101){nodes{number}}}}`, 0, "exceeds the `first` limit of 100"},
		// 100 + 50 × 100 × 100 nodes.
		{"over the node limit", `{repository(owner:"acme",name:"api"){pullRequests(first:100){nodes{` + manyReviews(50) + `}}}}`,
			0, "This query requests up to 500100 possible nodes which exceeds the maximum limit of 500000"},
		{"bad cursor", `{repository(owner:"acme",name:"api"){pullRequests(first:1,after:"nope"){nodes{number}}}}`, 0, "does not appear to be a valid cursor"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recTB{TB: t}
			srv := New(rec)
			srv.AddRepo("acme/api", "main")
			srv.AddPull("acme/api", &github.PullRequest{Title: github.String("x")})
			status, _, out := gqlPost(t, srv, srv.Token("alice"), tt.query)
			if status != 200 {
				t.Fatalf("status %d", status)
			}
			if tt.cost == 0 {
				if !strings.Contains(fmt.Sprint(out["errors"]), tt.wantErr) || out["data"] != nil {
					t.Errorf("answer %v, want an error with %q", out, tt.wantErr)
				}
				if errs := rec.errors(); len(errs) != 1 || !strings.Contains(errs[0], tt.wantErr) {
					t.Errorf("test errors %q", errs)
				}
				if srv.GraphQLPoints() != 0 && tt.name != "bad cursor" { // refused before it runs
					t.Errorf("charged %d points for a refused query", srv.GraphQLPoints())
				}
				return
			}
			if errs := rec.errors(); len(errs) != 0 {
				t.Fatalf("test errors %q", errs)
			}
			if srv.GraphQLPoints() != tt.cost {
				t.Errorf("charged %d points, want %d", srv.GraphQLPoints(), tt.cost)
			}
			if data, _ := out["data"].(map[string]any); data["rateLimit"] != nil && fmt.Sprint(data["rateLimit"]) != fmt.Sprintf("map[cost:%d]", tt.cost) {
				t.Errorf("rateLimit = %v, want cost %d", data["rateLimit"], tt.cost)
			}
		})
	}
}

// A token's budget pays for whole queries: a query costing more than is
// left gets GitHub's RATE_LIMITED answer until the reset, an hour after
// the budget's first query on the server's clock, which refills it.
func TestGraphQLBudget(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	srv := New(t, WithClock(func() time.Time { return now }))
	srv.AddRepo("acme/api", "main")
	srv.SetGraphQLLimit(5)
	tok := srv.Token("alice")
	q := `{repository(owner:"acme",name:"api"){pullRequests(first:100){nodes{a:reviews(first:1){nodes{state}},b:reviews(first:1){nodes{state}}}}},rateLimit{remaining,resetAt}}` // 201 requests: 2 points
	for i, want := range []string{"3", "1"} {
		_, h, out := gqlPost(t, srv, tok, q)
		if h.Get("X-RateLimit-Remaining") != want || out["errors"] != nil {
			t.Fatalf("query %d: remaining %s, %v; want %s", i, h.Get("X-RateLimit-Remaining"), out, want)
		}
	}
	_, h, out := gqlPost(t, srv, tok, q)
	reset := now.Add(time.Hour)
	if !strings.Contains(fmt.Sprint(out["errors"]), "RATE_LIMITED") || h.Get("X-RateLimit-Reset") != fmt.Sprint(reset.Unix()) {
		t.Fatalf("over budget: headers %v, %v", h, out)
	}
	if _, _, out := gqlPost(t, srv, tok, `{viewer{login}}`); out["errors"] != nil {
		t.Errorf("a 1-point query with 1 point left: %v", out)
	}
	now = reset
	if _, h, out := gqlPost(t, srv, tok, q); h.Get("X-RateLimit-Remaining") != "3" || out["errors"] != nil {
		t.Errorf("after the reset: remaining %s, %v", h.Get("X-RateLimit-Remaining"), out)
	}
	if srv.GraphQLPoints() != 2+2+1+2 {
		t.Errorf("charged %d points, want 7", srv.GraphQLPoints())
	}
}

// Pull requests page by cursor in the order asked for; the pages together
// list each one once.
func TestGraphQLPullRequestPages(t *testing.T) {
	srv := New(t)
	srv.AddRepo("acme/api", "main")
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var hs []PullHistory
	for i := range 25 {
		hs = append(hs, PullHistory{Pull: &github.PullRequest{Title: github.String(fmt.Sprint(i)),
			UpdatedAt: &github.Timestamp{Time: base.Add(time.Duration(i%7) * time.Hour)}}})
	}
	srv.AddPullHistories("acme/api", hs)
	seen := map[string]int{}
	after := "null"
	var last time.Time
	for page := 0; ; page++ {
		q := fmt.Sprintf(`query($a:String){repository(owner:"acme",name:"api"){pullRequests(first:10,after:%s,orderBy:{field:UPDATED_AT,direction:DESC}){pageInfo{hasNextPage,endCursor},nodes{number,updatedAt}}}}`, after)
		_, _, out := gqlPost(t, srv, srv.Token("alice"), q)
		conn := out["data"].(map[string]any)["repository"].(map[string]any)["pullRequests"].(map[string]any)
		for _, n := range conn["nodes"].([]any) {
			m := n.(map[string]any)
			seen[fmt.Sprint(m["number"])]++
			at, _ := time.Parse(time.RFC3339, m["updatedAt"].(string))
			if !last.IsZero() && at.After(last) {
				t.Errorf("page %d: #%v updated %v after one updated %v", page, m["number"], at, last)
			}
			last = at
		}
		pi := conn["pageInfo"].(map[string]any)
		if pi["hasNextPage"] != true {
			break
		}
		after = fmt.Sprintf("%q", pi["endCursor"])
	}
	if len(seen) != 25 {
		t.Errorf("saw %d pull requests, want 25", len(seen))
	}
	for n, c := range seen {
		if c != 1 {
			t.Errorf("#%s listed %d times", n, c)
		}
	}
}

// manyReviews is n aliased reviews(first: 100) connections.
func manyReviews(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "r%d:reviews(first:100){nodes{state}},", i)
	}
	return b.String()
}
