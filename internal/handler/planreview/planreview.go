// Package planreview is the GitHub shell of Terraform plan review, shared by
// the App (webhooks, Terraform Cloud run tasks) and the Action: it posts a
// plan's summary in one sticky comment on the pull request and sets the
// tasuki/plan-review check run, then re-evaluates the verdict from GitHub
// whenever reviews or commits change (pull_request_review, pull_request,
// check_run rerequested). The core is internal/review.
package planreview

import (
	"context"
	"fmt"
	"log/slog"
	"path"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/ghread"
	"github.com/tasuki-sre/tasuki/internal/handler"
	"github.com/tasuki-sre/tasuki/internal/marker"
	"github.com/tasuki-sre/tasuki/internal/review"
)

// Names users see for plan review.
const (
	// CheckName is the check run every plan review sets.
	CheckName = "tasuki/plan-review"
	// CommentKind is the marker kind of the sticky plan review comment.
	CommentKind = "plan-review"
)

// CommentMarker returns the marker of pull request number's sticky plan
// review comment: one comment per pull request, edited on every plan.
func CommentMarker(number int) marker.Marker {
	return marker.New(CommentKind, fmt.Sprintf("pr-%d", number))
}

// externalID identifies the check run of one pull request across
// commits; the head SHA tells the runs of different pushes apart.
func externalID(owner, repo string, number int) string {
	return fmt.Sprintf("plan-review:%s/%s#%d", owner, repo, number)
}

// Review is the plan review shell. PostPlan publishes a new plan;
// Reevaluate recomputes the verdict from GitHub whenever reviews or commits
// change.
type Review struct {
	base      *handler.Base
	ownership *handler.Ownership
	writer    func(c *github.Client) planWriter
	// adjust, when set, changes the loaded configuration; the Action uses
	// it for policy inputs such as `approvals`.
	adjust func(*config.Config)
	// teamsHint, when set, says why team membership cannot be read
	// (WithTeamsUnverifiable).
	teamsHint string
}

// Option configures a Review.
type Option func(*Review)

// WithConfigAdjust applies fn to every configuration Review loads, after the
// repository's file: the Action's policy overrides.
func WithConfigAdjust(fn func(*config.Config)) Option {
	return func(r *Review) { r.adjust = fn }
}

// WithOwnership sets the ownership shell used for team membership and
// CODEOWNERS (default handler.NewOwnership(b.Config, b.Log)).
func WithOwnership(o *handler.Ownership) Option {
	return func(r *Review) { r.ownership = o }
}

// New returns the plan review shell over b.
func New(b *handler.Base, opts ...Option) *Review {
	r := &Review{base: b}
	for _, o := range opts {
		o(r)
	}
	if r.ownership == nil {
		r.ownership = handler.NewOwnership(b.Config, b.Logger())
	}
	if r.writer == nil {
		r.writer = func(c *github.Client) planWriter { return b.Writer(c) }
	}
	if b.Memo != nil {
		inner := r.writer
		r.writer = func(c *github.Client) planWriter { return &checkMemo{planWriter: inner(c), memo: b.Memo} }
	}
	return r
}

// PostPlanInput is one plan (or several, one per workspace) to publish on a
// pull request.
type PostPlanInput struct {
	Owner, Repo string
	Number      int
	// HeadSHA is the commit the plans were made from; the check run is set
	// on it and approvals on other commits do not count.
	HeadSHA string
	Plans   []*review.Plan
	// Unreadable are the plan files that could not be read; when any is
	// present the comment says so (file and reason) and shows no summary,
	// since half a summary would hide what the missing plan changes.
	Unreadable []*review.PlanError
	// Meta says where the plan comes from (run URL, artifact); Repo, PR and
	// the SHAs are filled in by PostPlan.
	Meta review.Meta
	// Config, when set, is used instead of loading the repository's.
	Config *config.Config
	// Keep, when the plans were read through it (with Config), gives the
	// summary the changes it counted but did not keep.
	Keep *review.CommentKeep
}

// PostPlanResult is what PostPlan published.
type PostPlanResult struct {
	Summary    review.Summary
	Verdict    review.Verdict
	CommentID  int64
	CommentURL string
	CheckRunID int64
	// Conclusion is the check run's conclusion: success, action_required or
	// failure.
	Conclusion string
	// Body is the comment as posted; CheckTitle, CheckSummary and CheckText
	// the check run output.
	Body                                string
	CheckTitle, CheckSummary, CheckText string
}

// PostPlan publishes in's plans on the pull request: it upserts the one
// sticky comment (summary plus the hidden plan-facts block that Reevaluate
// reads back), evaluates the approvals already given and sets the
// tasuki/plan-review check run on the planned commit.
func (r *Review) PostPlan(ctx context.Context, c *github.Client, in PostPlanInput) (PostPlanResult, error) {
	var res PostPlanResult
	if in.Owner == "" || in.Repo == "" || in.Number <= 0 || in.HeadSHA == "" {
		return res, fmt.Errorf("post plan: need owner, repo, pull request number and head SHA (got %q/%q#%d at %q)", in.Owner, in.Repo, in.Number, in.HeadSHA)
	}
	key := fmt.Sprintf("plan-review:%s/%s#%d", in.Owner, in.Repo, in.Number)
	err := r.lock(ctx, key, func(ctx context.Context) error {
		var err error
		res, err = r.postPlan(ctx, c, in)
		return err
	})
	return res, err
}

func (r *Review) postPlan(ctx context.Context, c *github.Client, in PostPlanInput) (PostPlanResult, error) {
	log := r.base.Logger().With("repo", in.Owner+"/"+in.Repo, "pr", in.Number)
	var cfg config.Config
	if in.Config != nil {
		cfg = *in.Config
	} else {
		var err error
		if cfg, err = r.loadConfig(ctx, c, in.Owner, in.Repo); err != nil {
			return PostPlanResult{}, err
		}
	}
	w := r.writer(c)
	meta := in.Meta
	meta.Repo, meta.PR, meta.PlannedSHA = in.Owner+"/"+in.Repo, in.Number, in.HeadSHA

	var (
		res   PostPlanResult
		facts review.Facts
		a     approval
	)
	if len(in.Unreadable) > 0 {
		// No facts of a half-read plan: Reevaluate must keep failing until
		// a readable plan is posted.
		facts = review.Facts{PlannedSHA: in.HeadSHA}
		for _, pe := range in.Unreadable {
			facts.Errored = append(facts.Errored, pe.Source)
		}
		res.Summary = facts.Summary()
		res.Verdict = review.Verdict{State: review.StateError}
		res.Body = renderUnreadable(in.Unreadable, meta, facts)
		res.CheckTitle, res.CheckSummary = unreadableCheck(in.Unreadable)
		res.Conclusion = "failure"
	} else {
		res.Summary = review.Summarize(in.Plans, cfg.Review)
		if in.Keep != nil {
			in.Keep.Apply(&res.Summary)
		}
		risky := len(res.Summary.Risky) > 0 || res.Summary.RiskyOmitted > 0
		var err error
		a, err = r.approvalFacts(ctx, c, in.Owner, in.Repo, in.Number, cfg, risky, nil)
		if err != nil {
			return res, err
		}
		af := a.af
		af.PlannedSHA = in.HeadSHA
		meta.HeadSHA = af.HeadSHA
		res.Verdict = review.Evaluate(res.Summary, cfg.Review, af)
		res.Body = commentNotes(review.RenderComment(res.Summary, res.Verdict, meta, review.CommentLimit), a.notes)
		res.CheckTitle, res.CheckSummary, res.CheckText = review.RenderCheck(res.Summary, res.Verdict, meta)
		res.CheckText = notesText(a.notes, res.CheckText)
		res.Conclusion = review.Conclusion(res.Verdict)
	}

	pub := review.Publication{
		PR: in.Number, Marker: CommentMarker(in.Number), HeadSHA: in.HeadSHA, ExternalID: externalID(in.Owner, in.Repo, in.Number),
		Body: res.Body, Conclusion: res.Conclusion, Title: res.CheckTitle, Summary: res.CheckSummary, Text: res.CheckText,
	}
	done, err := w.Execute(ctx, in.Owner, in.Repo, pub.Intents())
	if err != nil {
		return res, fmt.Errorf("publish plan review on %s/%s#%d@%s: %w", in.Owner, in.Repo, in.Number, in.HeadSHA, err)
	}
	res.CommentID, res.CommentURL = done[0].ID, done[0].URL
	res.CheckRunID = done[1].ID
	if err := r.askSecondary(ctx, w, in.Owner, in.Repo, in.Number, in.HeadSHA, a); err != nil {
		// A courtesy: the review and check are posted; the next plan asks again.
		log.WarnContext(ctx, "could not ask the handoff's secondary team to review", "err", err)
	}
	log.InfoContext(ctx, "plan review posted", "state", res.Verdict.State, "conclusion", res.Conclusion,
		"comment", res.CommentID, "check_run", res.CheckRunID)
	return res, nil
}

// ReevaluateResult is what Reevaluate decided.
type ReevaluateResult struct {
	// Found is false when the pull request has no plan review comment by
	// tasuki: nothing was evaluated or written.
	Found      bool
	HeadSHA    string
	Verdict    review.Verdict
	Conclusion string
	CheckRunID int64
	CheckTitle string
	// CommentEdited is true when the verdict section of the plan review
	// comment changed and the comment was edited.
	CommentEdited bool
}

// Reevaluate recomputes the plan review of a pull request from GitHub alone:
// the current head and author, the commits' pushers, the reviews, and the
// plan facts in tasuki's own comment (a copy of the block in anyone else's
// comment is ignored). It sets the check run on the current head: stale
// when the head moved since the plan, action_required until enough eligible
// approvals on the head, success after; and it rewrites the verdict section
// of the comment to say the same, editing the comment only when that text
// changed. Level-triggered: running it twice, or for an old event, gives the
// same result and writes nothing the second time.
func (r *Review) Reevaluate(ctx context.Context, c *github.Client, owner, repo string, number int) (ReevaluateResult, error) {
	log := r.base.Logger().With("repo", owner+"/"+repo, "pr", number)
	return r.reevaluateLocked(ctx, log, c, owner, repo, number, nil)
}

// ReevaluatePR is Reevaluate for the pull request pr as an event's payload
// carries it (the Action's pull_request_review event): its head, author
// and requested reviewers are taken from pr rather than read again.
func (r *Review) ReevaluatePR(ctx context.Context, c *github.Client, owner, repo string, pr *github.PullRequest) (ReevaluateResult, error) {
	log := r.base.Logger().With("repo", owner+"/"+repo, "pr", pr.GetNumber())
	return r.reevaluateLocked(ctx, log, c, owner, repo, pr.GetNumber(), pr)
}

func (r *Review) reevaluateLocked(ctx context.Context, log *slog.Logger, c *github.Client, owner, repo string, number int, pr *github.PullRequest) (ReevaluateResult, error) {
	var res ReevaluateResult
	key := fmt.Sprintf("plan-review:%s/%s#%d", owner, repo, number)
	err := r.lock(ctx, key, func(ctx context.Context) error {
		var err error
		res, err = r.reevaluate(ctx, log, c, owner, repo, number, pr)
		return err
	})
	return res, err
}

func (r *Review) reevaluate(ctx context.Context, log *slog.Logger, c *github.Client, owner, repo string, number int, pr *github.PullRequest) (ReevaluateResult, error) {
	var res ReevaluateResult
	w := r.writer(c)
	cm, err := r.findComment(ctx, c, w, owner, repo, number)
	if err != nil {
		return res, fmt.Errorf("find plan review comment on %s/%s#%d: %w", owner, repo, number, err)
	}
	if cm == nil {
		log.DebugContext(ctx, "no plan review on this pull request")
		return res, nil
	}
	res.Found = true
	facts, found, ferr := review.DecodeFacts(cm.GetBody())
	cfg, err := r.loadConfig(ctx, c, owner, repo)
	if err != nil {
		return res, err
	}
	s := facts.Summary()
	a, err := r.approvalFacts(ctx, c, owner, repo, number, cfg, ferr == nil && found && (len(s.Risky) > 0 || s.RiskyOmitted > 0), pr)
	if err != nil {
		return res, err
	}
	af := a.af
	res.HeadSHA = af.HeadSHA
	meta := review.Meta{Repo: owner + "/" + repo, PR: number, HeadSHA: af.HeadSHA, PlannedSHA: facts.PlannedSHA}
	var title, summary, text, body string
	switch {
	case found && ferr == nil && r.factsEdited(ctx, owner, repo, number, cm):
		// Someone edited the facts tasuki wrote: believing them could pass
		// a risky plan without its second reviewer.
		log.WarnContext(ctx, "plan facts in tasuki's comment were edited by someone else", "comment", cm.GetID())
		res.Verdict = review.Verdict{State: review.StateError}
		res.Conclusion = "failure"
		title = "Plan review record was edited: post the plan again"
		summary = "The plan facts in tasuki's comment are not the ones tasuki wrote (someone edited the comment), so it cannot tell what the plan changes. Run the plan again to post a fresh review."
	case ferr != nil || !found:
		// tasuki wrote the comment, so an unreadable block means it was
		// edited by hand or written by an incompatible version.
		log.WarnContext(ctx, "plan facts unreadable", "err", ferr)
		res.Verdict = review.Verdict{State: review.StateError}
		res.Conclusion = "failure"
		title = "Plan review record unreadable: post the plan again"
		summary = "tasuki could not read the plan facts in its comment, so it cannot tell what the plan changes. Run the plan again to post a fresh review."
	default:
		af.PlannedSHA = facts.PlannedSHA
		res.Verdict = review.Evaluate(s, cfg.Review, af)
		res.Conclusion = review.Conclusion(res.Verdict)
		title, summary, text = review.RenderCheck(s, res.Verdict, meta)
		text = notesText(a.notes, text)
		body = newVerdictBody(ctx, log, cm, withNotes(review.RenderVerdict(facts, res.Verdict, af.HeadSHA), a.notes))
	}
	res.CheckTitle = title
	pub := review.Publication{
		PR: number, Marker: CommentMarker(number), HeadSHA: af.HeadSHA, ExternalID: externalID(owner, repo, number),
		Body: body, CommentURL: cm.GetHTMLURL(), Conclusion: res.Conclusion, Title: title, Summary: summary, Text: text,
	}
	done, err := w.Execute(ctx, owner, repo, pub.Intents())
	if err != nil {
		return res, fmt.Errorf("publish plan review on %s/%s#%d@%s: %w", owner, repo, number, af.HeadSHA, err)
	}
	res.CommentEdited = body != ""
	res.CheckRunID = done[len(done)-1].ID
	log.InfoContext(ctx, "plan review re-evaluated", "state", res.Verdict.State, "conclusion", res.Conclusion,
		"approvals", res.Verdict.Approvals, "required", res.Verdict.Required)
	return res, nil
}

// newVerdictBody returns tasuki's comment cm with its verdict section
// replaced by sec, or "" when the comment is to be left alone: one without
// a section (an unreadable plan's, or one posted before sections existed),
// one whose section already says sec (no PATCH for an unchanged verdict),
// or one that would grow past GitHub's limit.
func newVerdictBody(ctx context.Context, log *slog.Logger, cm *github.IssueComment, sec string) string {
	body, ok := review.ReplaceVerdict(cm.GetBody(), sec)
	switch {
	case !ok:
		log.DebugContext(ctx, "plan review comment has no verdict section; left as is", "comment", cm.GetID())
		return ""
	case body == cm.GetBody():
		return ""
	case len(body) > review.CommentLimit:
		// RenderComment leaves room for the largest section, so only a
		// comment edited by hand gets here; cutting it would lose the facts.
		log.WarnContext(ctx, "plan review comment would exceed GitHub's size limit; verdict not updated",
			"comment", cm.GetID(), "bytes", len(body))
		return ""
	}
	return body
}

func (r *Review) lock(ctx context.Context, key string, fn func(context.Context) error) error {
	if r.base.Locker == nil {
		return fn(ctx)
	}
	return r.base.Locker.WithLock(ctx, key, fn)
}

// Config returns the repository's effective configuration, as PostPlan
// would load it: for reading plans through a review.CommentKeep, then
// passing both in PostPlanInput.
func (r *Review) Config(ctx context.Context, c *github.Client, owner, repo string) (config.Config, error) {
	return r.loadConfig(ctx, c, owner, repo)
}

// loadConfig returns the repository's effective configuration. A file that
// does not parse falls back to defaults section by section (the config
// check tells the owner); GitHub failing to answer is an error, since
// evaluating with defaults could pass a plan that the repository's policy
// would hold (approvals: 2 read as 1).
func (r *Review) loadConfig(ctx context.Context, c *github.Client, owner, repo string) (config.Config, error) {
	cfg := config.Default()
	if r.base.Config != nil {
		f := r.base.Config.Load(ctx, c, owner, repo)
		cfg = f.Config
		if f.Err != nil {
			if len(config.ParseErrors(f.Err)) == 0 {
				return cfg, fmt.Errorf("load configuration of %s/%s: %w", owner, repo, f.Err)
			}
			r.base.Logger().WarnContext(ctx, "configuration problem; using defaults where unreadable",
				"repo", owner+"/"+repo, "sources", f.Sources, "err", f.Err)
		}
	}
	if r.adjust != nil {
		r.adjust(&cfg)
	}
	return cfg, nil
}

// Bounds of the reads that decide who may approve a plan. Past one, the
// read fails: approving on part of the reviews or pushers could count an
// approval that a later review withdrew, or a pusher's own.
const (
	maxPRCommits = 250  // GitHub lists no more for one pull request
	maxPRReviews = 3000 // reviews of one pull request
	maxPRFiles   = 3000 // GitHub lists no more for one pull request
)

// prPushers lists the logins that authored or committed the pull request's
// commits. GitHub lists at most 250 commits per pull request; a larger pull
// request is rare and its earlier pushers usually push again.
func prPushers(ctx context.Context, c *github.Client, owner, repo string, number int) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	add := func(u *github.User) {
		l := u.GetLogin()
		if l == "" || seen[strings.ToLower(l)] {
			return
		}
		seen[strings.ToLower(l)] = true
		out = append(out, l)
	}
	list := func(lo *github.ListOptions) ([]*github.RepositoryCommit, *github.Response, error) {
		return c.PullRequests.ListCommits(ctx, owner, repo, number, lo)
	}
	for rc, err := range ghread.Items(ctx, list, maxPRCommits) {
		if err != nil {
			return nil, fmt.Errorf("list commits of %s/%s#%d: %w", owner, repo, number, err)
		}
		add(rc.GetAuthor())
		add(rc.GetCommitter())
	}
	return out, nil
}

func prReviews(ctx context.Context, c *github.Client, owner, repo string, number int) ([]review.Review, error) {
	list := func(lo *github.ListOptions) ([]*github.PullRequestReview, *github.Response, error) {
		return c.PullRequests.ListReviews(ctx, owner, repo, number, lo)
	}
	var out []review.Review
	for rv, err := range ghread.Items(ctx, list, maxPRReviews) {
		if err != nil {
			return nil, fmt.Errorf("list reviews of %s/%s#%d: %w", owner, repo, number, err)
		}
		out = append(out, review.Review{
			User:        rv.GetUser().GetLogin(),
			State:       rv.GetState(),
			CommitID:    rv.GetCommitID(),
			SubmittedAt: rv.GetSubmittedAt().Time,
		})
	}
	return out, nil
}

// terraformFile reports whether p is a file whose change changes a plan.
func terraformFile(p string) bool {
	base := path.Base(p)
	switch {
	case strings.HasSuffix(base, ".tf"), strings.HasSuffix(base, ".tf.json"),
		strings.HasSuffix(base, ".tfvars"), strings.HasSuffix(base, ".tfvars.json"),
		strings.HasSuffix(base, ".hcl"):
		return true
	}
	return false
}

// terraformPaths lists the pull request's changed Terraform files (GitHub
// lists at most 3000 files per pull request).
func terraformPaths(ctx context.Context, c *github.Client, owner, repo string, number int) ([]string, error) {
	list := func(lo *github.ListOptions) ([]*github.CommitFile, *github.Response, error) {
		return c.PullRequests.ListFiles(ctx, owner, repo, number, lo)
	}
	var out []string
	for f, err := range ghread.Items(ctx, list, maxPRFiles) {
		if err != nil {
			return nil, fmt.Errorf("list files of %s/%s#%d: %w", owner, repo, number, err)
		}
		if terraformFile(f.GetFilename()) {
			out = append(out, f.GetFilename())
		}
		if prev := f.GetPreviousFilename(); prev != "" && terraformFile(prev) {
			out = append(out, prev)
		}
	}
	return out, nil
}
