package ghread

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
)

// FoundIssue is an issue a search found.
type FoundIssue struct {
	Repo       string // owner/name, from its repository_url
	Number     int
	Title      string
	URL        string
	Body       string
	Author     string
	AuthorType string // "User", "Bot", ...
	Assignees  []string
	Labels     []string
	State      string
	CreatedAt  time.Time
}

// SearchLimit is the most results GitHub's search returns for one query.
const SearchLimit = 1000

// SearchIssues returns the issues and pull requests matching query
// (GitHub's search syntax, e.g. `org:acme is:issue is:open
// label:"postmortem-action"`), at most limit (SearchLimit when larger or
// <= 0). Search is rate limited apart from the rest of the API (30
// requests a minute) and lags writes by up to a minute: for digests, not
// for finding an artefact just written.
func SearchIssues(ctx context.Context, c *github.Client, query string, limit int) ([]FoundIssue, error) {
	if limit <= 0 || limit > SearchLimit {
		limit = SearchLimit
	}
	list := func(lo *github.ListOptions) ([]*github.Issue, *github.Response, error) {
		res, resp, err := c.Search.Issues(ctx, query, &github.SearchOptions{Sort: "created", Order: "asc", ListOptions: *lo})
		if res == nil {
			return nil, resp, err
		}
		return res.Issues, resp, err
	}
	var out []FoundIssue
	for is, err := range Items(ctx, list, limit) {
		if err != nil {
			return out, fmt.Errorf("search issues %q: %w", query, err)
		}
		f := FoundIssue{
			Number: is.GetNumber(), Title: is.GetTitle(), URL: is.GetHTMLURL(), Body: is.GetBody(),
			Author: is.GetUser().GetLogin(), AuthorType: is.GetUser().GetType(), State: is.GetState(),
			CreatedAt: is.GetCreatedAt().Time,
		}
		if _, rest, ok := strings.Cut(is.GetRepositoryURL(), "/repos/"); ok {
			f.Repo = rest
		}
		for _, a := range is.Assignees {
			f.Assignees = append(f.Assignees, a.GetLogin())
		}
		for _, l := range is.Labels {
			f.Labels = append(f.Labels, l.GetName())
		}
		out = append(out, f)
	}
	return out, nil
}
