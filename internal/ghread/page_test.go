package ghread_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/ghread"
	"github.com/tasuki-sre/tasuki/internal/githubtest"
)

const tmplComments = "/repos/{owner}/{repo}/issues/{issue_number}/comments"

// commentsLister lists the comments of acme/api#1.
func commentsLister(ctx context.Context, c *github.Client) ghread.Lister[*github.IssueComment] {
	return func(lo *github.ListOptions) ([]*github.IssueComment, *github.Response, error) {
		return c.Issues.ListComments(ctx, "acme", "api", 1, &github.IssueListCommentsOptions{ListOptions: *lo})
	}
}

func seedComments(t *testing.T, n int) *githubtest.Server {
	t.Helper()
	srv := githubtest.New(t)
	srv.AddRepo("acme/api", "main")
	srv.AddIssue("acme/api", &github.Issue{Title: github.String("incident")})
	for i := range n {
		srv.AddComment("acme/api", 1, "alice", fmt.Sprint("comment ", i))
	}
	return srv
}

// All reads every page, asks for full pages, and stops at its bound
// without reading a page it does not need.
func TestAll(t *testing.T) {
	tests := []struct {
		name      string
		comments  int
		limit     int
		want      int
		truncated bool
		calls     int
		perPage   string
	}{
		{"no comments", 0, 0, 0, false, 1, "100"},
		{"one page", 42, 0, 42, false, 1, "100"},
		{"three pages", 250, 0, 250, false, 3, "100"},
		{"exactly the limit", 250, 250, 250, false, 3, "100"},
		{"limit at a page end", 250, 100, 100, true, 1, "100"},
		{"limit inside a page", 250, 120, 120, true, 2, "100"},
		{"small limit asks for small pages", 5, 2, 2, true, 1, "2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := seedComments(t, tt.comments)
			ctx := context.Background()
			got, err := ghread.All(ctx, commentsLister(ctx, srv.Client()), tt.limit)
			if tt.truncated != errors.Is(err, ghread.ErrTruncated) || (!tt.truncated && err != nil) {
				t.Fatalf("err = %v, want truncated %v", err, tt.truncated)
			}
			if len(got) != tt.want {
				t.Errorf("%d comments, want %d", len(got), tt.want)
			}
			for i, c := range got {
				if c.GetBody() != fmt.Sprint("comment ", i) {
					t.Fatalf("comment %d = %q: out of order", i, c.GetBody())
				}
			}
			if n := srv.CallCount("GET", tmplComments); n != tt.calls {
				t.Errorf("%d requests, want %d", n, tt.calls)
			}
			if pp := srv.Calls()[0].Query.Get("per_page"); pp != tt.perPage {
				t.Errorf("per_page = %q, want %q", pp, tt.perPage)
			}
		})
	}
}

// A loop that stops reads no further page.
func TestItemsStopsWithTheLoop(t *testing.T) {
	srv := seedComments(t, 250)
	ctx := context.Background()
	n := 0
	for c, err := range ghread.Items(ctx, commentsLister(ctx, srv.Client()), 0) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; c.GetBody() == "comment 150" {
			break
		}
	}
	if n != 151 {
		t.Errorf("saw %d comments, want 151", n)
	}
	if calls := srv.CallCount("GET", tmplComments); calls != 2 {
		t.Errorf("%d requests, want 2", calls)
	}
}

// The pager does not trust the server to end the listing.
func TestItemsBoundsAServer(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		limit int
		page  func(page int) ([]int, int) // items and next page
		want  string
		calls int
	}{
		{"endless empty pages", 100, func(p int) ([]int, int) { return nil, p + 1 }, "listing truncated: 0 items in 3 pages", 3},
		{"endless short pages", 200, func(p int) ([]int, int) { return []int{p}, p + 1 }, "listing truncated: 5 items in 5 pages", 5},
		{"next page goes back", 0, func(p int) ([]int, int) { return []int{p}, 1 }, "page 1 links to page 1 as the next one", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			list := func(lo *github.ListOptions) ([]int, *github.Response, error) {
				calls++
				items, next := tt.page(max(lo.Page, 1))
				return items, &github.Response{NextPage: next}, nil
			}
			_, err := ghread.All(ctx, list, tt.limit)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
			if calls != tt.calls {
				t.Errorf("%d calls, want %d", calls, tt.calls)
			}
		})
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	calls := 0
	_, err := ghread.All(cctx, func(*github.ListOptions) ([]int, *github.Response, error) { calls++; return nil, nil, nil }, 0)
	if !errors.Is(err, context.Canceled) || calls != 0 {
		t.Errorf("cancelled: err = %v after %d calls, want context.Canceled and none", err, calls)
	}
}

// An error names its page, keeps go-github's type and carries the
// decision the job worker needs.
func TestItemsErrorIsClassified(t *testing.T) {
	srv := seedComments(t, 150)
	ctx := context.Background()
	c := srv.Client()
	reset := time.Now().Add(20 * time.Minute).Truncate(time.Second)
	calls := 0
	list := func(lo *github.ListOptions) ([]*github.IssueComment, *github.Response, error) {
		if calls++; calls == 2 {
			// Page 2 is refused: the primary rate limit is spent.
			srv.Inject("GET", tmplComments, 403, map[string]string{"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0",
				"X-RateLimit-Used": "5000", "X-RateLimit-Reset": fmt.Sprint(reset.Unix()), "X-RateLimit-Resource": "core"})
		}
		return commentsLister(ctx, c)(lo)
	}
	got, err := ghread.All(ctx, list, 0)
	if len(got) != 100 {
		t.Errorf("%d comments before the error, want the first page's 100", len(got))
	}
	if err == nil || !strings.Contains(err.Error(), "page 2") {
		t.Fatalf("err = %v, want it to name page 2", err)
	}
	var rl *github.RateLimitError
	if !errors.As(err, &rl) {
		t.Errorf("err = %v, want a *github.RateLimitError inside", err)
	}
	if at, ok := dispatch.RetryAt(fmt.Errorf("handler: %w", err)); !ok || !at.Equal(reset) {
		t.Errorf("dispatch.RetryAt = %v, %v; want %v", at, ok, reset)
	}
	if dispatch.IsPermanent(err) {
		t.Error("a rate limit is permanent")
	}
	if n := srv.CallCount("GET", tmplComments); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}
