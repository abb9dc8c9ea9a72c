package ghwrite

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/google/go-github/v60/github"
)

// RequestReviewers asks reviewers (logins) and teamReviewers (team slugs
// of the repository's organisation, "org/slug" taken as its slug) for
// their review of pull request number, idempotently: it reads the pull
// request once and requests only who is not requested yet, so a retried
// job asks no one twice. The pull request's author is left out (GitHub
// refuses with 422 to ask authors to review their own pull request).
//
// Someone GitHub will not ask (422: not a collaborator, a team without
// access) does not fail the others: the request is then made one reviewer
// at a time and those refused are logged. Requesting runs under the lock
// of the pull request, so racing workers make one request.
func (w *Writer) RequestReviewers(ctx context.Context, owner, repo string, number int, reviewers, teamReviewers []string) error {
	if number <= 0 {
		return fmt.Errorf("request reviewers in %s/%s: no pull request number", owner, repo)
	}
	key := fmt.Sprintf("reviewers:%s/%s#%d", owner, repo, number)
	err := w.withLock(ctx, key, func(ctx context.Context) error {
		return w.requestReviewers(ctx, owner, repo, number, reviewers, teamReviewers)
	})
	if err != nil {
		return fmt.Errorf("request reviewers of %s/%s#%d: %w", owner, repo, number, err)
	}
	return nil
}

func (w *Writer) requestReviewers(ctx context.Context, owner, repo string, number int, reviewers, teamReviewers []string) error {
	pr, _, err := w.c.PullRequests.Get(ctx, owner, repo, number)
	if err != nil {
		return err
	}
	if pr.GetState() != "open" {
		return nil // a closed pull request is reviewed no more
	}
	var users, teams []string
	for _, l := range reviewers {
		l = strings.TrimPrefix(strings.TrimSpace(l), "@")
		if l == "" || strings.EqualFold(l, pr.GetUser().GetLogin()) || containsFold(users, l) ||
			slices.ContainsFunc(pr.RequestedReviewers, func(u *github.User) bool { return strings.EqualFold(u.GetLogin(), l) }) {
			continue
		}
		users = append(users, l)
	}
	for _, t := range teamReviewers {
		t = strings.TrimPrefix(strings.TrimSpace(t), "@")
		if i := strings.LastIndexByte(t, '/'); i >= 0 {
			t = t[i+1:]
		}
		if t == "" || containsFold(teams, t) ||
			slices.ContainsFunc(pr.RequestedTeams, func(x *github.Team) bool { return strings.EqualFold(x.GetSlug(), t) }) {
			continue
		}
		teams = append(teams, t)
	}
	if len(users)+len(teams) == 0 {
		return nil
	}
	_, _, err = w.c.PullRequests.RequestReviewers(ctx, owner, repo, number, github.ReviewersRequest{Reviewers: users, TeamReviewers: teams})
	if !isStatus(err, http.StatusUnprocessableEntity) || len(users)+len(teams) == 1 {
		if isStatus(err, http.StatusUnprocessableEntity) {
			w.log.WarnContext(ctx, "GitHub refused a review request", "repo", owner+"/"+repo, "pr", number,
				"reviewers", strings.Join(users, ","), "teams", strings.Join(teams, ","), "err", err)
			return nil
		}
		return err
	}
	// One of them GitHub will not ask: ask each alone, so the others are.
	one := func(req github.ReviewersRequest, who string) error {
		_, _, err := w.c.PullRequests.RequestReviewers(ctx, owner, repo, number, req)
		if isStatus(err, http.StatusUnprocessableEntity) {
			w.log.WarnContext(ctx, "GitHub refused a review request", "repo", owner+"/"+repo, "pr", number, "reviewer", who, "err", err)
			return nil
		}
		return err
	}
	for _, u := range users {
		if err := one(github.ReviewersRequest{Reviewers: []string{u}}, u); err != nil {
			return err
		}
	}
	for _, t := range teams {
		if err := one(github.ReviewersRequest{TeamReviewers: []string{t}}, t); err != nil {
			return err
		}
	}
	return nil
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}
