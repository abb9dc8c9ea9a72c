package ghread

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"

	"github.com/google/go-github/v60/github"
)

// Installations yields the installations of the App whose JWT client app
// is, those with an account login only (the organisation or user a
// periodic job works in), at most limit of them; past it, a final error
// wrapping ErrTruncated.
func Installations(ctx context.Context, app *github.Client, limit int) iter.Seq2[*github.Installation, error] {
	list := func(lo *github.ListOptions) ([]*github.Installation, *github.Response, error) {
		return app.Apps.ListInstallations(ctx, lo)
	}
	return func(yield func(*github.Installation, error) bool) {
		for in, err := range Items(ctx, list, limit) {
			if err != nil {
				yield(nil, err)
				return
			}
			if in.GetAccount().GetLogin() == "" {
				continue
			}
			if !yield(in, nil) {
				return
			}
		}
	}
}

// InstallationRepos yields the repositories the installation client c can
// read, at most limit of them; past it, a final error wrapping
// ErrTruncated.
func InstallationRepos(ctx context.Context, c *github.Client, limit int) iter.Seq2[*github.Repository, error] {
	list := func(lo *github.ListOptions) ([]*github.Repository, *github.Response, error) {
		repos, resp, err := c.Apps.ListRepos(ctx, lo)
		if repos == nil {
			return nil, resp, err
		}
		return repos.Repositories, resp, err
	}
	return Items(ctx, list, limit)
}

// EachInstallation runs do on each of the App's installations
// (Installations) with the installation's client (client, e.g.
// handler.ClientSource's Client), as the periodic jobs do. A listing past
// limit runs on those read and logs a warning to log: running again would
// read the same part. An installation whose client or do fails does not
// stop the others; the errors are returned joined so the job retries.
func EachInstallation(ctx context.Context, log *slog.Logger, app *github.Client, limit int,
	client func(ctx context.Context, id int64) (*github.Client, error),
	do func(in *github.Installation, c *github.Client) error) error {
	var errs []error
	for in, err := range Installations(ctx, app, limit) {
		if errors.Is(err, ErrTruncated) {
			log.WarnContext(ctx, "installation listing truncated; ran on those read", "err", err)
			break
		}
		if err != nil {
			return errors.Join(append(errs, fmt.Errorf("list installations: %w", err))...)
		}
		c, err := client(ctx, in.GetID())
		if err != nil {
			errs = append(errs, fmt.Errorf("client for installation %d: %w", in.GetID(), err))
			continue
		}
		if err := do(in, c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// EachIssueRepo runs do on each repository of an installation (through c,
// its client) that can hold tasuki's issues: not archived, issues not
// turned off. The sweeps of postmortems and handoffs walk them this way. A
// listing past limit runs on those read and logs a warning to log; a
// repository whose do fails does not stop the others, and the errors are
// returned joined so the job retries.
func EachIssueRepo(ctx context.Context, log *slog.Logger, c *github.Client, limit int, do func(owner, repo string) error) error {
	var errs []error
	for r, err := range InstallationRepos(ctx, c, limit) {
		if errors.Is(err, ErrTruncated) {
			log.WarnContext(ctx, "repository listing truncated; ran on those read", "err", err)
			break
		}
		if err != nil {
			return errors.Join(append(errs, fmt.Errorf("list the installation's repositories: %w", err))...)
		}
		if r.GetArchived() || r.HasIssues != nil && !r.GetHasIssues() {
			continue
		}
		if err := do(r.GetOwner().GetLogin(), r.GetName()); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
