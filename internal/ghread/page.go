// Package ghread holds the GitHub reads the feature shells share: one pager
// for every list endpoint, and the history reads postmortem and lead time
// both need (merged pull requests and deployments in a window, a
// comparison of two commits, an issue's timeline and comments).
//
// Reads return plain types, not go-github's, so that the cores they feed do
// not depend on go-github. Their errors from GitHub are classified with
// ghclient.Wrap: a rate limit makes the job wait (dispatch.RetryAt), a
// repository tasuki cannot see makes it give up (dispatch.IsPermanent).
//
// Every listing is bounded: a read asks for at most limit items
// (DefaultMax when limit <= 0), and returns what it read with an error wrapping
// ErrTruncated when GitHub has more. Callers that can live with part of a
// listing check errors.Is(err, ErrTruncated) and keep the items.
package ghread

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/ghclient"
)

// PerPage is how many items the pager asks GitHub for per page: the most
// GitHub's REST API gives.
const PerPage = 100

// DefaultMax bounds a listing whose caller passes limit <= 0: 30 full
// pages.
const DefaultMax = 3000

// ErrTruncated means a listing had more items than its bound; the items
// read so far are returned with it.
var ErrTruncated = errors.New("listing truncated")

// Lister reads the page opts asks for. It copies opts into the endpoint's
// own options (most embed github.ListOptions) and calls go-github:
//
//	func(lo *github.ListOptions) ([]*github.IssueComment, *github.Response, error) {
//		opts := &github.IssueListCommentsOptions{ListOptions: *lo}
//		return c.Issues.ListComments(ctx, owner, repo, number, opts)
//	}
type Lister[T any] func(opts *github.ListOptions) ([]T, *github.Response, error)

// Items yields the items of every page list reads, following GitHub's
// Link header (go-github's Response.NextPage), until the listing ends or
// the loop stops. It reads no page the loop does not need.
//
// It yields at most limit items (DefaultMax when limit <= 0) and reads at
// most 2⌈limit/PerPage⌉+1 pages, so a server that keeps linking to short or empty
// pages cannot keep it going; beyond either bound it yields a final error
// wrapping ErrTruncated. An error from list is yielded, classified by
// ghclient.Wrap and naming the page, and ends the listing, as does a next
// page that does not follow the current one, or ctx ending.
func Items[T any](ctx context.Context, list Lister[T], limit int) iter.Seq2[T, error] {
	if limit <= 0 {
		limit = DefaultMax
	}
	per := min(PerPage, limit)
	maxPages := 2*((limit+per-1)/per) + 1
	return func(yield func(T, error) bool) {
		var zero T
		opts := &github.ListOptions{PerPage: per}
		n := 0
		for page := 1; ; page++ {
			if err := ctx.Err(); err != nil {
				yield(zero, err)
				return
			}
			items, resp, err := list(opts)
			if err != nil {
				yield(zero, ghclient.Wrap(fmt.Errorf("page %d: %w", page, err)))
				return
			}
			for _, it := range items {
				if n == limit {
					yield(zero, fmt.Errorf("%w: more than %d items", ErrTruncated, limit))
					return
				}
				n++
				if !yield(it, nil) {
					return
				}
			}
			next := 0
			if resp != nil {
				next = resp.NextPage
			}
			switch {
			case next == 0:
				return
			case next <= max(opts.Page, 1):
				yield(zero, fmt.Errorf("page %d links to page %d as the next one", max(opts.Page, 1), next))
				return
			case n == limit:
				yield(zero, fmt.Errorf("%w: more than %d items", ErrTruncated, limit))
				return
			case page >= maxPages:
				yield(zero, fmt.Errorf("%w: %d items in %d pages, and GitHub links to more", ErrTruncated, n, page))
				return
			}
			opts.Page = next
		}
	}
}

// All collects Items into a slice. On an error it returns the items read
// before it, so that a caller accepting ErrTruncated keeps them.
func All[T any](ctx context.Context, list Lister[T], limit int) ([]T, error) {
	var out []T
	for it, err := range Items(ctx, list, limit) {
		if err != nil {
			return out, err
		}
		out = append(out, it)
	}
	return out, nil
}
