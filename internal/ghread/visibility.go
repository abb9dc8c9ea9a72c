package ghread

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-github/v60/github"
)

// VisibleIn returns a function that reports whether what is read from a
// repository ("owner/name") may be copied into the repository owner/repo,
// where everyone who can read owner/repo sees it: always when owner/repo
// is not public; when it is, only from public repositories (internal ones
// are not for everyone; one that answers 404 counts as not public). Each
// repository is read once (one request), the destination at once.
func VisibleIn(ctx context.Context, c *github.Client, owner, repo string) (func(full string) (bool, error), error) {
	public := func(o, r string) (bool, error) {
		got, _, err := c.Repositories.Get(ctx, o, r)
		if err != nil {
			return false, fmt.Errorf("read visibility of %s/%s: %w", o, r, err)
		}
		return !got.GetPrivate() && got.GetVisibility() != "internal" && got.GetVisibility() != "private", nil
	}
	destPublic, err := public(owner, repo)
	if err != nil {
		return nil, err
	}
	if !destPublic {
		return func(string) (bool, error) { return true, nil }, nil
	}
	seen := map[string]bool{}
	return func(full string) (bool, error) {
		k := strings.ToLower(full)
		if v, ok := seen[k]; ok {
			return v, nil
		}
		o, r, ok := strings.Cut(full, "/")
		if !ok {
			return false, nil
		}
		v, err := public(o, r)
		if err != nil {
			var er *github.ErrorResponse
			if !errors.As(err, &er) || er.Response == nil || er.Response.StatusCode != http.StatusNotFound {
				return false, err
			}
			v = false
		}
		seen[k] = v
		return v, nil
	}, nil
}
