package ghread

import (
	"context"
	"fmt"
	"time"

	"github.com/google/go-github/v60/github"
)

// The reads in this file describe one open or merged pull request beyond
// its webhook payload, for lead time: when its work began (its commits'
// authored times) and which paths it changes (which services it belongs to).

// PullCommitsMax is the most commits GitHub lists for a pull request.
const PullCommitsMax = 250

// FirstAuthored returns the earliest authored time among the commits of
// pull request number (GitHub lists at most 250; a longer pull request's
// earliest listed commits are its oldest, so the bound loses nothing of
// what it is used for), and the number of commits read. It costs one
// request per 100 commits.
func FirstAuthored(ctx context.Context, c *github.Client, owner, repo string, number int) (time.Time, int, error) {
	list := func(lo *github.ListOptions) ([]*github.RepositoryCommit, *github.Response, error) {
		return c.PullRequests.ListCommits(ctx, owner, repo, number, lo)
	}
	var first time.Time
	n := 0
	for rc, err := range Items(ctx, list, PullCommitsMax) {
		if err != nil {
			return first, n, fmt.Errorf("list commits of %s/%s#%d: %w", owner, repo, number, err)
		}
		n++
		at := rc.GetCommit().GetAuthor().GetDate().Time
		if !at.IsZero() && (first.IsZero() || at.Before(first)) {
			first = at
		}
	}
	return first.UTC(), n, nil
}

// ChangedPaths returns the paths pull request number changes (a renamed
// file's new and old path), at most limit files; past it the error wraps
// ErrTruncated and the paths read are returned. It costs one request per
// 100 files.
func ChangedPaths(ctx context.Context, c *github.Client, owner, repo string, number, limit int) ([]string, error) {
	list := func(lo *github.ListOptions) ([]*github.CommitFile, *github.Response, error) {
		return c.PullRequests.ListFiles(ctx, owner, repo, number, lo)
	}
	out := []string{}
	for f, err := range Items(ctx, list, limit) {
		if err != nil {
			return out, fmt.Errorf("list files of %s/%s#%d: %w", owner, repo, number, err)
		}
		out = append(out, f.GetFilename())
		if prev := f.GetPreviousFilename(); prev != "" {
			out = append(out, prev)
		}
	}
	return out, nil
}

// Review is one review of a pull request.
type Review struct {
	ID          int64
	Reviewer    string
	ReviewerBot bool // GitHub marks the account a bot
	State       string
	At          time.Time
}

// PullReviews lists the reviews of pull request number, oldest first, at
// most limit. It costs one request per 100 reviews.
func PullReviews(ctx context.Context, c *github.Client, owner, repo string, number, limit int) ([]Review, error) {
	list := func(lo *github.ListOptions) ([]*github.PullRequestReview, *github.Response, error) {
		return c.PullRequests.ListReviews(ctx, owner, repo, number, lo)
	}
	var out []Review
	for r, err := range Items(ctx, list, limit) {
		if err != nil {
			return out, fmt.Errorf("list reviews of %s/%s#%d: %w", owner, repo, number, err)
		}
		out = append(out, Review{ID: r.GetID(), Reviewer: r.GetUser().GetLogin(), ReviewerBot: r.GetUser().GetType() == "Bot",
			State: r.GetState(), At: r.GetSubmittedAt().Time.UTC()})
	}
	return out, nil
}
