package leadtime

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/ghread"
	core "github.com/tasuki-sre/tasuki/internal/leadtime"
)

// The reads in this file build a History from GitHub's REST API alone, for
// the Action, which has no store: the merged pull requests of a window
// (with their first commit's authored time and their reviews) and the
// production deployments (with the commit range each shipped). They cost
// about two requests per pull request and two per deployment, bounded by
// RESTLimits. What the REST listing cannot tell is approximated and said
// so: a pull request's ready-for-review time is its opening (a draft's
// ready time needs its timeline), and it has no changed paths.

// RESTLimits bounds the Action's reads.
type RESTLimits struct {
	Pulls       int // merged pull requests read (default 300)
	Deployments int // deployments read per environment (default 200)
}

func (l RESTLimits) orDefault() RESTLimits {
	if l.Pulls <= 0 {
		l.Pulls = 300
	}
	if l.Deployments <= 0 {
		l.Deployments = 200
	}
	return l
}

// maxReviewsRead bounds the reviews read per pull request.
const maxReviewsRead = 100

// ReadHistory reads owner/repo's pull requests merged and production
// deployments made between from and to.
func ReadHistory(ctx context.Context, c *github.Client, owner, repo string, from, to time.Time, cfg core.Config, lim RESTLimits) (core.History, error) {
	lim = lim.orDefault()
	var h core.History
	rp, _, err := c.Repositories.Get(ctx, owner, repo)
	if err != nil {
		return h, fmt.Errorf("read %s/%s: %w", owner, repo, err)
	}
	prs, err := ghread.MergedPulls(ctx, c, owner, repo, from, to, 3*lim.Pulls)
	if err != nil && !errors.Is(err, ghread.ErrTruncated) {
		return h, err
	}
	if len(prs) > lim.Pulls {
		prs = prs[:lim.Pulls] // the most recently updated
	}
	h.Pulls, h.Reviews, err = PullFacts(ctx, c, owner, repo, prs)
	if err != nil {
		return h, err
	}
	for _, p := range prs {
		if p.BaseRef == rp.GetDefaultBranch() && p.MergeCommitSHA != "" {
			h.Deployments = append(h.Deployments, core.Deployment{
				Repo: owner + "/" + repo, ID: "merge:" + p.MergeCommitSHA, Source: core.SourceMerge, SHA: p.MergeCommitSHA,
				FinishedAt: p.MergedAt, Commits: []string{p.MergeCommitSHA}, Creator: p.MergedBy, Ref: p.BaseRef,
			})
		}
	}
	for _, env := range cfg.ProductionEnvironments {
		ds, err := ProductionDeployments(ctx, c, owner, repo, env, from, to, lim.Deployments)
		if err != nil {
			return h, err
		}
		h.Deployments = append(h.Deployments, ds...)
	}
	return h, nil
}

// PullFacts reads what the listing of merged pull requests lacks: each
// one's first commit's authored time and its reviews.
func PullFacts(ctx context.Context, c *github.Client, owner, repo string, prs []ghread.Pull) ([]core.Pull, []core.Review, error) {
	var pulls []core.Pull
	var reviews []core.Review
	full := owner + "/" + repo
	for _, p := range prs {
		first, _, err := ghread.FirstAuthored(ctx, c, owner, repo, p.Number)
		if err != nil && !errors.Is(err, ghread.ErrTruncated) {
			return nil, nil, err
		}
		pulls = append(pulls, core.Pull{
			Repo: full, Number: p.Number, Title: p.Title, Author: p.Author,
			AuthorIsBot:   strings.HasSuffix(strings.ToLower(p.Author), "[bot]"),
			FirstCommitAt: first, OpenedAt: p.CreatedAt, ReadyAt: p.CreatedAt,
			MergedAt: p.MergedAt, ClosedAt: p.MergedAt, MergeSHA: p.MergeCommitSHA, BaseRef: p.BaseRef,
		})
		rs, err := ghread.PullReviews(ctx, c, owner, repo, p.Number, maxReviewsRead)
		if err != nil && !errors.Is(err, ghread.ErrTruncated) {
			return nil, nil, err
		}
		for _, r := range rs {
			reviews = append(reviews, core.Review{Repo: full, Number: p.Number, ID: r.ID, Reviewer: r.Reviewer,
				ReviewerIsBot: r.ReviewerBot || strings.HasSuffix(strings.ToLower(r.Reviewer), "[bot]"), State: r.State, At: r.At})
		}
	}
	return pulls, reviews, nil
}

// ProductionDeployments lists the successful deployments of owner/repo to
// env finished between from and to, oldest first, each with the commit
// range from the one before (the first one's range is not read: the core
// links it by time).
func ProductionDeployments(ctx context.Context, c *github.Client, owner, repo, env string, from, to time.Time, limit int) ([]core.Deployment, error) {
	ds, err := ghread.Deployments(ctx, c, owner, repo, env, from, to, limit)
	if err != nil && !errors.Is(err, ghread.ErrTruncated) {
		return nil, err
	}
	var ok []ghread.Deployment
	for _, d := range ds {
		if d.Status == "success" {
			ok = append(ok, d)
		}
	}
	sort.Slice(ok, func(i, j int) bool { return ok[i].StatusAt.Before(ok[j].StatusAt) })
	out := make([]core.Deployment, 0, len(ok))
	for i, d := range ok {
		dep := core.Deployment{
			Repo: owner + "/" + repo, ID: fmt.Sprintf("deployment:%d", d.ID), Source: core.SourceDeploymentStatus,
			Environment: d.Environment, SHA: d.SHA, FinishedAt: d.StatusAt.UTC(), Creator: d.Creator, Ref: d.Ref,
		}
		if i > 0 {
			if dep.Commits, err = commitRange(ctx, c, owner, repo, ok[i-1].SHA, d.SHA); err != nil {
				return nil, err
			}
			dep.PreviousSHA = ok[i-1].SHA
		}
		out = append(out, dep)
	}
	return out, nil
}

// commitRange returns the commits base...head, nil when they cannot be
// read (too many, or a base that is gone): the core then links by time.
func commitRange(ctx context.Context, c *github.Client, owner, repo, base, head string) ([]string, error) {
	if base == head {
		return []string{}, nil
	}
	cmp, err := ghread.Compare(ctx, c, owner, repo, base, head, MaxRange)
	switch {
	case errors.Is(err, ghread.ErrTruncated), isNotFound(err):
		return nil, nil
	case err != nil:
		return nil, err
	}
	out := make([]string, 0, len(cmp.Commits))
	for _, cm := range cmp.Commits {
		out = append(out, cm.SHA)
	}
	return out, nil
}

// CommitRange is commitRange for the Action's record-deployment.
func CommitRange(ctx context.Context, c *github.Client, owner, repo, base, head string) ([]string, error) {
	return commitRange(ctx, c, owner, repo, base, head)
}
