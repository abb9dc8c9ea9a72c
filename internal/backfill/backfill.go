// Package backfill reads a repository's past delivery events from GitHub's
// GraphQL API into the lead-time store: pull requests (first commit,
// ready-for-review time, merge commit, base branch, labels, changed paths),
// their reviews, production deployments with their latest status, and
// optionally releases.
//
// It reads in pages of 100 with everything a pull request needs nested in
// the same query (query.go has the cost), records each page, then hands the
// caller a Cursor to keep: a run given that cursor back resumes after the
// last recorded page, so a killed backfill re-reads at most the page it was
// reading. Recording is an upsert, so re-reading a page makes no duplicate.
//
// GitHub's rate limits are respected through ghclient.Classify: an answer
// that says "rate limited" (primary or secondary) waits until GitHub says,
// and a rateLimit.remaining too low for the next page waits until its
// resetAt, through Options.Wait (which the River job turns into a snooze).
//
// The App runs it as a River job (Job, in job.go); the Action calls Run
// with a GraphQL client made from GITHUB_TOKEN and its own Recorder.
package backfill

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/shurcooL/githubv4"

	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/ghclient"
	"github.com/tasuki-sre/tasuki/internal/leadtime"
)

// Querier sends one GraphQL query; *githubv4.Client is one.
type Querier interface {
	Query(ctx context.Context, q any, variables map[string]any) error
}

// Recorder keeps what the backfill reads. Each call is an upsert keyed as
// package leadtime says, so a page recorded twice is recorded once.
type Recorder interface {
	RecordPulls(ctx context.Context, ps []leadtime.Pull) error
	RecordReviews(ctx context.Context, rs []leadtime.Review) error
	RecordDeployments(ctx context.Context, ds []leadtime.Deployment) error
}

// Phases of a backfill, in order.
const (
	PhasePulls       = "pulls"
	PhaseDeployments = "deployments"
	PhaseReleases    = "releases"
	PhaseDone        = "done"
)

// Cursor is where a backfill stands: the phase, GitHub's cursor after the
// last recorded page of it, and the counts so far. The zero Cursor starts
// from the beginning.
type Cursor struct {
	Phase string `json:"phase,omitempty"`
	After string `json:"after,omitempty"`
	Stats Stats  `json:"stats"`
}

// Stats counts a backfill's work, across resumes.
type Stats struct {
	Requests    int       `json:"requests"` // GraphQL requests sent, answered or not
	Points      int       `json:"points"`   // rate limit points GitHub charged (rateLimit.cost)
	Pages       int       `json:"pages"`    // pages recorded
	Pulls       int       `json:"pulls"`
	Reviews     int       `json:"reviews"`
	Deployments int       `json:"deployments"`
	Releases    int       `json:"releases"`
	Waits       int       `json:"waits"`               // times it waited for a rate limit
	Remaining   int       `json:"remaining,omitempty"` // rateLimit.remaining after the last answer
	ResetAt     time.Time `json:"reset_at,omitzero"`
	Phase       string    `json:"phase,omitempty"`
}

// String is the one line `app backfill` and the job's log print.
func (s Stats) String() string {
	return fmt.Sprintf("%d pull requests, %d reviews, %d deployments, %d releases; %d GraphQL requests, %d rate limit points",
		s.Pulls, s.Reviews, s.Deployments, s.Releases, s.Requests, s.Points)
}

// Options tune Run. The zero Options backfill pull requests and reviews
// only, sleeping through rate limits.
type Options struct {
	// Environments are the production environments whose deployments are
	// read; none skips deployments.
	Environments []string
	// Releases also reads published releases (not drafts or prereleases)
	// as deployments of SourceRelease.
	Releases bool
	// Resume continues a backfill from a Cursor its Checkpoint was given.
	Resume Cursor
	// Checkpoint is called after each page is recorded, with the cursor to
	// resume from; an error stops the run.
	Checkpoint func(ctx context.Context, c Cursor) error
	// Progress is called after each page.
	Progress func(Stats)
	// Wait waits until t, for a rate limit (reason says which). Nil sleeps
	// with ctx. The River job returns a dispatch.RetryLater error for long
	// waits instead, which snoozes the job.
	Wait func(ctx context.Context, t time.Time, reason string) error
	// Now is the clock (default time.Now).
	Now func() time.Time
	Log *slog.Logger
}

// Retry policy for answers Classify says to retry (5xx, timeouts,
// network errors): a few tries with a doubling pause, halving the page
// each time, since GitHub's "timeout" answers come from pages too heavy
// to compute in its 10 seconds.
const (
	maxTries    = 5
	firstPause  = time.Second
	minPageSize = 10
	// lowWater is the rateLimit.remaining under which the next page waits
	// for the reset, in pages' worth of points: one page more than the
	// next one needs, so a concurrent user of the same installation does
	// not make the page fail.
	lowWater = 2
	// maxRateWaits bounds the rate limit waits for one page: GitHub that
	// keeps answering "limited" after its own reset is broken.
	maxRateWaits = 10
	// Follow-up reads of reviews (moreReviewsQuery): at most this many
	// pages for one pull request, and this many requests in one run, so
	// that pull requests flooded with reviews cannot spend the budget.
	maxReviewPages     = 5
	maxReviewFollowUps = 100
)

// Run backfills repo ("owner/name") from since to now into rec.
func Run(ctx context.Context, gql Querier, repo string, since time.Time, rec Recorder, opts Options) (Stats, error) {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return Stats{}, fmt.Errorf("backfill: repository %q is not owner/name", repo)
	}
	r := &run{gql: gql, rec: rec, opts: opts, repo: repo, owner: owner, name: name, since: since.UTC(), cur: opts.Resume}
	if r.opts.Now == nil {
		r.opts.Now = time.Now
	}
	if r.opts.Log == nil {
		r.opts.Log = slog.Default()
	}
	if r.opts.Wait == nil {
		r.opts.Wait = sleep
	}
	if r.cur.Phase == "" {
		r.cur.Phase = PhasePulls
	}
	for r.cur.Phase != PhaseDone {
		var err error
		switch r.cur.Phase {
		case PhasePulls:
			err = r.pulls(ctx)
		case PhaseDeployments:
			err = r.deployments(ctx)
		case PhaseReleases:
			err = r.releases(ctx)
		default:
			return r.cur.Stats, fmt.Errorf("backfill %s: cursor in unknown phase %q", repo, r.cur.Phase)
		}
		if err != nil {
			return r.cur.Stats, err
		}
	}
	r.cur.Stats.Phase = PhaseDone
	return r.cur.Stats, nil
}

type run struct {
	gql                Querier
	rec                Recorder
	opts               Options
	repo, owner, name  string
	since              time.Time
	cur                Cursor
	pageSize, lastCost int
	followUps          int // review follow-up requests so far
}

// next moves to the phase after the current one.
func (r *run) next() string {
	switch r.cur.Phase {
	case PhasePulls:
		if len(r.opts.Environments) > 0 {
			return PhaseDeployments
		}
		fallthrough
	case PhaseDeployments:
		if r.opts.Releases {
			return PhaseReleases
		}
	}
	return PhaseDone
}

// advance records that a page was recorded: the cursor moves to after
// (or to the next phase when done), and the caller keeps it.
func (r *run) advance(ctx context.Context, after string, done bool) error {
	r.cur.Stats.Pages++
	r.cur.After = after
	if done {
		r.cur.Phase, r.cur.After, r.pageSize = r.next(), "", 0
	}
	r.cur.Stats.Phase = r.cur.Phase
	if r.opts.Checkpoint != nil {
		if err := r.opts.Checkpoint(ctx, r.cur); err != nil {
			return fmt.Errorf("backfill %s: keep the cursor: %w", r.repo, err)
		}
	}
	if r.opts.Progress != nil {
		r.opts.Progress(r.cur.Stats)
	}
	return nil
}

// pageVars are the variables of the phase's page query: the page size and
// the cursor, and extra.
func (r *run) pageVars(extra map[string]any) func(int) map[string]any {
	return func(pageSize int) map[string]any {
		v := map[string]any{
			"owner": githubv4.String(r.owner),
			"name":  githubv4.String(r.name),
			"first": githubv4.Int(pageSize),
			"after": (*githubv4.String)(nil),
		}
		if r.cur.After != "" {
			v["after"] = githubv4.NewString(githubv4.String(r.cur.After))
		}
		for k, x := range extra {
			v[k] = x
		}
		return v
	}
}

// page sends the phase's page query (pageVars), with the phase's page
// size, which shrinks after a failure and grows back after a success.
func (r *run) page(ctx context.Context, q any, size int, extra map[string]any, rl func() rateLimit) error {
	if r.pageSize == 0 {
		r.pageSize = size
	}
	return r.query(ctx, q, &r.pageSize, size, r.pageVars(extra), rl)
}

// query sends one query, waiting out rate limits and retrying failures as
// Classify decides. vars makes the variables for the page size *size
// (at most full), which a failure halves; rl reads the answer's rateLimit.
func (r *run) query(ctx context.Context, q any, size *int, full int, vars func(int) map[string]any, rl func() rateLimit) error {
	if err := r.pace(ctx); err != nil {
		return err
	}
	waits, tries := 0, 0
	for {
		v := vars(*size)
		r.cur.Stats.Requests++
		err := r.gql.Query(ctx, q, v)
		if err == nil {
			got := rl()
			r.cur.Stats.Points += got.Cost
			r.cur.Stats.Remaining, r.cur.Stats.ResetAt = got.Remaining, got.ResetAt.UTC()
			r.lastCost = got.Cost
			// A page that went through after a smaller retry lets the
			// next one grow back.
			*size = min(full, *size*2)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d := ghclient.Classify(err)
		switch d.Action {
		case ghclient.GiveUp:
			return dispatch.Permanent(fmt.Errorf("backfill %s: %s: %w", r.repo, d.Reason, err))
		case ghclient.Wait:
			if waits++; waits > maxRateWaits {
				return fmt.Errorf("backfill %s: still rate limited after %d waits: %w", r.repo, maxRateWaits, err)
			}
			r.cur.Stats.Waits++
			r.opts.Log.Info("backfill rate limited; waiting", "repo", r.repo, "until", d.At, "reason", d.Reason)
			if err := r.opts.Wait(ctx, d.At, d.Reason); err != nil {
				return err
			}
		default:
			if tries++; tries >= maxTries {
				return fmt.Errorf("backfill %s: %d tries: %w", r.repo, tries, err)
			}
			*size = max(minPageSize, *size/2)
			pause := firstPause << (tries - 1)
			r.opts.Log.Warn("backfill query failed; retrying with a smaller page", "repo", r.repo, "page_size", *size, "err", err)
			if err := r.opts.Wait(ctx, r.opts.Now().Add(pause), d.Reason); err != nil {
				return err
			}
		}
	}
}

// pace waits for the reset when the points left would not cover the next
// page with room to spare.
func (r *run) pace(ctx context.Context) error {
	s := r.cur.Stats
	if r.lastCost == 0 || s.ResetAt.IsZero() || s.Remaining >= lowWater*r.lastCost {
		return nil
	}
	if !s.ResetAt.After(r.opts.Now()) {
		return nil
	}
	r.cur.Stats.Waits++
	r.opts.Log.Info("backfill waiting for the rate limit reset", "repo", r.repo, "remaining", s.Remaining, "until", s.ResetAt)
	if err := r.opts.Wait(ctx, s.ResetAt, "rate limit nearly spent"); err != nil {
		return err
	}
	r.lastCost = 0
	return nil
}

func (r *run) pulls(ctx context.Context) error {
	var q pullsQuery
	if err := r.page(ctx, &q, pullsPerPage, nil, func() rateLimit { return q.RateLimit }); err != nil {
		return fmt.Errorf("backfill %s: read pull requests: %w", r.repo, err)
	}
	page := q.Repository.PullRequests
	var ps []leadtime.Pull
	var rs []leadtime.Review
	done := !page.PageInfo.HasNextPage
	for _, n := range page.Nodes {
		if n.UpdatedAt.Before(r.since) {
			done = true // ordered by updatedAt: the rest are older still
			break
		}
		p, revs := r.pull(n)
		if n.Reviews.TotalCount > len(n.Reviews.Nodes) && !pickedUp(p, revs) {
			more, err := r.moreReviews(ctx, p, string(n.Reviews.PageInfo.EndCursor))
			if err != nil {
				return err
			}
			revs = append(revs, more...)
		}
		ps = append(ps, p)
		rs = append(rs, revs...)
	}
	if len(ps) > 0 {
		if err := r.rec.RecordPulls(ctx, ps); err != nil {
			return fmt.Errorf("backfill %s: record pull requests: %w", r.repo, err)
		}
	}
	if len(rs) > 0 {
		if err := r.rec.RecordReviews(ctx, rs); err != nil {
			return fmt.Errorf("backfill %s: record reviews: %w", r.repo, err)
		}
	}
	r.cur.Stats.Pulls += len(ps)
	r.cur.Stats.Reviews += len(rs)
	return r.advance(ctx, string(page.PageInfo.EndCursor), done)
}

func (r *run) pull(n pullNode) (leadtime.Pull, []leadtime.Review) {
	p := leadtime.Pull{
		Repo: r.repo, Number: n.Number, Title: n.Title,
		OpenedAt: n.CreatedAt.UTC(), MergedAt: utc(n.MergedAt), ClosedAt: utc(n.ClosedAt),
		BaseRef: n.BaseRefName, HeadRef: n.HeadRefName,
	}
	if n.Author != nil {
		p.Author, p.AuthorIsBot = n.Author.Login, isBot(n.Author)
	}
	if n.MergeCommit != nil && !p.MergedAt.IsZero() {
		p.MergeSHA = n.MergeCommit.Oid
	}
	for _, c := range n.Commits.Nodes {
		if t := c.Commit.AuthoredDate.UTC(); p.FirstCommitAt.IsZero() || t.Before(p.FirstCommitAt) {
			p.FirstCommitAt = t
		}
	}
	switch {
	case n.IsDraft:
		// Zero while it is a draft, as package leadtime defines it.
	case len(n.TimelineItems.Nodes) > 0 && n.TimelineItems.Nodes[0].Typename == "ReadyForReviewEvent":
		p.ReadyAt = n.TimelineItems.Nodes[0].ReadyForReview.CreatedAt.UTC()
	default:
		// Converted to a draft first (so opened ready), or never a draft.
		p.ReadyAt = p.OpenedAt
	}
	for _, l := range n.Labels.Nodes {
		p.Labels = append(p.Labels, l.Name)
	}
	for _, f := range n.Files.Nodes {
		p.Paths = append(p.Paths, f.Path)
	}
	return p, r.reviews(n.Number, n.Reviews.Nodes)
}

// reviews turns submitted reviews of pull request number into records.
func (r *run) reviews(number int, nodes []reviewNode) []leadtime.Review {
	var rs []leadtime.Review
	for _, rv := range nodes {
		if rv.SubmittedAt == nil || rv.State == "PENDING" {
			continue
		}
		out := leadtime.Review{Repo: r.repo, Number: number, ID: rv.DatabaseID, State: rv.State, At: rv.SubmittedAt.UTC()}
		if rv.Author != nil {
			out.Reviewer, out.ReviewerIsBot = rv.Author.Login, isBot(rv.Author)
		}
		rs = append(rs, out)
	}
	return rs
}

func (r *run) deployments(ctx context.Context) error {
	envs := make([]githubv4.String, len(r.opts.Environments))
	for i, e := range r.opts.Environments {
		envs[i] = githubv4.String(e)
	}
	var q deploymentsQuery
	if err := r.page(ctx, &q, deploysPerPage, map[string]any{"environments": envs}, func() rateLimit { return q.RateLimit }); err != nil {
		return fmt.Errorf("backfill %s: read deployments: %w", r.repo, err)
	}
	page := q.Repository.Deployments
	done := !page.PageInfo.HasNextPage
	var ds []leadtime.Deployment
	for _, n := range page.Nodes {
		if n.CreatedAt.Before(r.since) {
			done = true
			break
		}
		// Only deployments that finished: their latest status is a
		// success (a later inactive status means a newer one replaced it,
		// which it did after succeeding).
		if n.LatestStatus == nil || (n.LatestStatus.State != "SUCCESS" && n.LatestStatus.State != "INACTIVE") {
			continue
		}
		d := leadtime.Deployment{Repo: r.repo, ID: fmt.Sprintf("deployment:%d", n.DatabaseID), Source: leadtime.SourceDeploymentStatus,
			Environment: n.Environment, SHA: n.CommitOid, FinishedAt: n.LatestStatus.CreatedAt.UTC()}
		if n.LatestStatus.State == "INACTIVE" {
			// The inactive status's time is when it was superseded; when it
			// succeeded is not in the latest status. The creation time is
			// the closest bound a one-point query gives.
			d.FinishedAt = n.CreatedAt.UTC()
		}
		if n.Ref != nil {
			d.Ref = n.Ref.Name
		}
		if n.Creator != nil {
			d.Creator = n.Creator.Login
		}
		ds = append(ds, d)
	}
	if len(ds) > 0 {
		if err := r.rec.RecordDeployments(ctx, ds); err != nil {
			return fmt.Errorf("backfill %s: record deployments: %w", r.repo, err)
		}
	}
	r.cur.Stats.Deployments += len(ds)
	return r.advance(ctx, string(page.PageInfo.EndCursor), done)
}

func (r *run) releases(ctx context.Context) error {
	var q releasesQuery
	if err := r.page(ctx, &q, deploysPerPage, nil, func() rateLimit { return q.RateLimit }); err != nil {
		return fmt.Errorf("backfill %s: read releases: %w", r.repo, err)
	}
	page := q.Repository.Releases
	done := !page.PageInfo.HasNextPage
	var ds []leadtime.Deployment
	for _, n := range page.Nodes {
		if n.CreatedAt.Before(r.since) {
			done = true
			break
		}
		if n.IsDraft || n.IsPrerelease || n.PublishedAt == nil || n.TagCommit == nil {
			continue
		}
		d := leadtime.Deployment{Repo: r.repo, ID: fmt.Sprintf("release:%d", n.DatabaseID), Source: leadtime.SourceRelease,
			SHA: n.TagCommit.Oid, FinishedAt: n.PublishedAt.UTC(), Ref: n.TagName}
		if n.Author != nil {
			d.Creator = n.Author.Login
		}
		ds = append(ds, d)
	}
	if len(ds) > 0 {
		if err := r.rec.RecordDeployments(ctx, ds); err != nil {
			return fmt.Errorf("backfill %s: record releases: %w", r.repo, err)
		}
	}
	r.cur.Stats.Releases += len(ds)
	return r.advance(ctx, string(page.PageInfo.EndCursor), done)
}

// pickedUp reports whether revs hold a review by someone other than the
// pull request's author and bots: the review the core takes as the pickup
// is then among them.
func pickedUp(p leadtime.Pull, revs []leadtime.Review) bool {
	for _, rv := range revs {
		if rv.Reviewer != p.Author && !rv.ReviewerIsBot {
			return true
		}
	}
	return false
}

// moreReviews reads the reviews of p after the cursor until one picks it
// up, within maxReviewPages and the run's maxReviewFollowUps.
func (r *run) moreReviews(ctx context.Context, p leadtime.Pull, after string) ([]leadtime.Review, error) {
	var out []leadtime.Review
	for range maxReviewPages {
		if r.followUps >= maxReviewFollowUps {
			r.opts.Log.Warn("backfill: too many pull requests flooded with reviews; the pickup of the rest may be missing",
				"repo", r.repo, "pr", p.Number)
			return out, nil
		}
		r.followUps++
		var q moreReviewsQuery
		size := 100
		vars := func(int) map[string]any {
			return map[string]any{"owner": githubv4.String(r.owner), "name": githubv4.String(r.name),
				"number": githubv4.Int(p.Number), "after": githubv4.String(after)}
		}
		if err := r.query(ctx, &q, &size, size, vars, func() rateLimit { return q.RateLimit }); err != nil {
			return nil, fmt.Errorf("backfill %s: read more reviews of #%d: %w", r.repo, p.Number, err)
		}
		if q.Repository.PullRequest == nil {
			return out, nil
		}
		page := q.Repository.PullRequest.Reviews
		revs := r.reviews(p.Number, page.Nodes)
		out = append(out, revs...)
		if pickedUp(p, revs) || !page.PageInfo.HasNextPage {
			return out, nil
		}
		after = string(page.PageInfo.EndCursor)
	}
	return out, nil
}

func isBot(a *actor) bool {
	return a.Typename == "Bot" || strings.HasSuffix(a.Login, "[bot]")
}

func utc(t *githubv4.DateTime) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// sleep waits until t or until ctx ends.
func sleep(ctx context.Context, t time.Time, _ string) error {
	d := time.Until(t)
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
