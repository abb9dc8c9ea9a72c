package ghread

import (
	"context"
	"fmt"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/ghclient"
)

// Pull is a merged pull request.
type Pull struct {
	Repo           string // owner/name
	Number         int
	Title          string
	URL            string // the pull request's page
	Author         string
	MergedBy       string
	BaseRef        string // the branch it was merged into
	HeadSHA        string
	MergeCommitSHA string
	CreatedAt      time.Time
	MergedAt       time.Time
}

// MergedPulls lists the pull requests of owner/repo merged between from and
// to (both included), most recently updated first. It pages only as far as
// the window needs: closed pull requests sorted by update time, newest
// first, stop at the first one updated before from (merging updates a pull
// request, so none older was merged inside the window). limit bounds the
// closed pull requests read, not only the merged ones kept.
func MergedPulls(ctx context.Context, c *github.Client, owner, repo string, from, to time.Time, limit int) ([]Pull, error) {
	opt := &github.PullRequestListOptions{State: "closed", Sort: "updated", Direction: "desc"}
	list := func(lo *github.ListOptions) ([]*github.PullRequest, *github.Response, error) {
		opt.ListOptions = *lo
		return c.PullRequests.List(ctx, owner, repo, opt)
	}
	var out []Pull
	for pr, err := range Items(ctx, list, limit) {
		if err != nil {
			return out, fmt.Errorf("list pull requests of %s/%s: %w", owner, repo, err)
		}
		if pr.GetUpdatedAt().Before(from) {
			break
		}
		m := pr.GetMergedAt().Time
		if pr.MergedAt == nil || m.Before(from) || m.After(to) {
			continue
		}
		out = append(out, Pull{
			Repo: owner + "/" + repo, Number: pr.GetNumber(), Title: pr.GetTitle(), URL: pr.GetHTMLURL(),
			Author: pr.GetUser().GetLogin(), MergedBy: pr.GetMergedBy().GetLogin(),
			BaseRef: pr.GetBase().GetRef(), HeadSHA: pr.GetHead().GetSHA(), MergeCommitSHA: pr.GetMergeCommitSHA(),
			CreatedAt: pr.GetCreatedAt().Time, MergedAt: m,
		})
	}
	return out, nil
}

// Deployment is a deployment with its latest status.
type Deployment struct {
	ID          int64
	Repo        string // owner/name
	SHA         string
	Ref         string // the branch, tag or SHA deployed, as asked
	Task        string
	Environment string
	Creator     string
	CreatedAt   time.Time
	Status      string    // the latest status's state ("success", "failure", ...); "" if none
	StatusAt    time.Time // when that status was reported
}

// Deployments lists the deployments of owner/repo created between from
// and to (both included), newest first, each with its latest status;
// environment, if not empty, selects one environment (GitHub filters).
// GitHub lists deployments newest first, so paging stops at the first one
// created before from. It costs one request per page and one per
// deployment in the window (its latest status); limit bounds the
// deployments read.
func Deployments(ctx context.Context, c *github.Client, owner, repo, environment string, from, to time.Time, limit int) ([]Deployment, error) {
	opt := &github.DeploymentsListOptions{Environment: environment}
	list := func(lo *github.ListOptions) ([]*github.Deployment, *github.Response, error) {
		opt.ListOptions = *lo
		return c.Repositories.ListDeployments(ctx, owner, repo, opt)
	}
	var out []Deployment
	for d, err := range Items(ctx, list, limit) {
		if err != nil {
			return out, fmt.Errorf("list deployments of %s/%s: %w", owner, repo, err)
		}
		at := d.GetCreatedAt().Time
		if at.Before(from) {
			break
		}
		if at.After(to) {
			continue
		}
		dep := Deployment{ID: d.GetID(), Repo: owner + "/" + repo, SHA: d.GetSHA(), Ref: d.GetRef(), Task: d.GetTask(),
			Environment: d.GetEnvironment(), Creator: d.GetCreator().GetLogin(), CreatedAt: at}
		if dep.Status, dep.StatusAt, err = latestStatus(ctx, c, owner, repo, d.GetID()); err != nil {
			return out, err
		}
		out = append(out, dep)
	}
	return out, nil
}

// latestStatus returns the state and time of the newest status of
// deployment id (GitHub lists them newest first), or "" if it has none. It
// costs one request.
func latestStatus(ctx context.Context, c *github.Client, owner, repo string, id int64) (string, time.Time, error) {
	sts, _, err := c.Repositories.ListDeploymentStatuses(ctx, owner, repo, id, &github.ListOptions{PerPage: 1})
	if err != nil {
		return "", time.Time{}, ghclient.Wrap(fmt.Errorf("list statuses of deployment %d in %s/%s: %w", id, owner, repo, err))
	}
	if len(sts) == 0 {
		return "", time.Time{}, nil
	}
	return sts[0].GetState(), sts[0].GetCreatedAt().Time, nil
}

// Commit is a commit of a comparison.
type Commit struct {
	SHA         string
	Message     string
	Author      string // the GitHub login of its author; "" when git's author is no GitHub user
	AuthorName  string // git's author name
	Committer   string // the GitHub login of its committer, or ""
	AuthoredAt  time.Time
	CommittedAt time.Time
}

// Comparison is what head has that base has not.
type Comparison struct {
	Status       string // "ahead", "behind", "diverged" or "identical"
	AheadBy      int
	BehindBy     int
	TotalCommits int
	MergeBaseSHA string
	Commits      []Commit // oldest first
}

// Compare compares base with head (branch names or SHAs) in owner/repo:
// the commits reachable from head and not from base, oldest first. limit
// bounds the commits read, PerPage to a request.
func Compare(ctx context.Context, c *github.Client, owner, repo, base, head string, limit int) (Comparison, error) {
	var cmp Comparison
	first := true
	list := func(lo *github.ListOptions) ([]*github.RepositoryCommit, *github.Response, error) {
		res, resp, err := c.Repositories.CompareCommits(ctx, owner, repo, base, head, lo)
		if err != nil || res == nil {
			return nil, resp, err
		}
		if first {
			first = false
			cmp = Comparison{Status: res.GetStatus(), AheadBy: res.GetAheadBy(), BehindBy: res.GetBehindBy(),
				TotalCommits: res.GetTotalCommits(), MergeBaseSHA: res.GetMergeBaseCommit().GetSHA()}
		}
		return res.Commits, resp, nil
	}
	for rc, err := range Items(ctx, list, limit) {
		if err != nil {
			return cmp, fmt.Errorf("compare %s...%s in %s/%s: %w", base, head, owner, repo, err)
		}
		gc := rc.GetCommit()
		cmp.Commits = append(cmp.Commits, Commit{
			SHA: rc.GetSHA(), Message: gc.GetMessage(), Author: rc.GetAuthor().GetLogin(), AuthorName: gc.GetAuthor().GetName(),
			Committer: rc.GetCommitter().GetLogin(), AuthoredAt: gc.GetAuthor().GetDate().Time, CommittedAt: gc.GetCommitter().GetDate().Time,
		})
	}
	return cmp, nil
}

// Event is one event of an issue's or pull request's timeline.
type Event struct {
	Kind     string // GitHub's event: labeled, unlabeled, assigned, unassigned, closed, reopened, renamed, commented, ...
	At       time.Time
	Actor    string
	Label    string // labeled, unlabeled
	Assignee string // assigned, unassigned
	From, To string // renamed: the old and the new title
	CommitID string // closed, referenced, committed: the commit, if any
}

// Timeline lists the timeline of issue or pull request number, oldest
// first, as GitHub lists it.
func Timeline(ctx context.Context, c *github.Client, owner, repo string, number, limit int) ([]Event, error) {
	list := func(lo *github.ListOptions) ([]*github.Timeline, *github.Response, error) {
		return c.Issues.ListIssueTimeline(ctx, owner, repo, number, lo)
	}
	var out []Event
	for t, err := range Items(ctx, list, limit) {
		if err != nil {
			return out, fmt.Errorf("list timeline of %s/%s#%d: %w", owner, repo, number, err)
		}
		e := Event{Kind: t.GetEvent(), At: t.GetCreatedAt().Time, Actor: t.GetActor().GetLogin(),
			Label: t.GetLabel().GetName(), Assignee: t.GetAssignee().GetLogin(), CommitID: t.GetCommitID()}
		if t.Rename != nil {
			e.From, e.To = t.Rename.GetFrom(), t.Rename.GetTo()
		}
		if e.At.IsZero() {
			e.At = t.GetSubmittedAt().Time // reviews carry submitted_at
		}
		out = append(out, e)
	}
	return out, nil
}

// Comment is a comment on an issue or pull request.
type Comment struct {
	ID          int64
	Author      string
	AuthorType  string // "User", "Bot", "Organization"
	Association string // the author's association with the repository: OWNER, MEMBER, COLLABORATOR, CONTRIBUTOR, NONE, ...
	Body        string
	URL         string // the comment's page
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Comments lists the comments on issue or pull request number, oldest
// first.
func Comments(ctx context.Context, c *github.Client, owner, repo string, number, limit int) ([]Comment, error) {
	opt := &github.IssueListCommentsOptions{}
	list := func(lo *github.ListOptions) ([]*github.IssueComment, *github.Response, error) {
		opt.ListOptions = *lo
		return c.Issues.ListComments(ctx, owner, repo, number, opt)
	}
	var out []Comment
	for cm, err := range Items(ctx, list, limit) {
		if err != nil {
			return out, fmt.Errorf("list comments of %s/%s#%d: %w", owner, repo, number, err)
		}
		out = append(out, Comment{ID: cm.GetID(), Author: cm.GetUser().GetLogin(), AuthorType: cm.GetUser().GetType(),
			Association: cm.GetAuthorAssociation(), Body: cm.GetBody(), URL: cm.GetHTMLURL(),
			CreatedAt: cm.GetCreatedAt().Time, UpdatedAt: cm.GetUpdatedAt().Time})
	}
	return out, nil
}
