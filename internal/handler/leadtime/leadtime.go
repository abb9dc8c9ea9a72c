// Package leadtime is the GitHub shell of lead time: it records the delivery
// events the core (internal/leadtime, imported here as core) computes DORA's
// metrics from, as webhooks arrive: pull requests (with their first commit's
// authored time and changed paths, read from GitHub), reviews and review
// comments, production deployments (with the commit range each shipped,
// read through the compare API), CI jobs, and incidents (issues with the
// postmortem feature's incident label). It writes nothing to GitHub; the
// weekly report (report.go) does, through the writer.
//
// Recording is idempotent (the store merges), so a redelivered or
// out-of-order event does no harm. Which deployment source counts is the
// core's choice at compute time (leadtime.deploy_sources: the first that
// has deployments), so every source is recorded as it happens: a merge into
// the default branch is recorded as a SourceMerge deployment too.
package leadtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/ghread"
	"github.com/tasuki-sre/tasuki/internal/handler"
	core "github.com/tasuki-sre/tasuki/internal/leadtime"
)

// Store is where events are recorded (*store.Store provides it).
type Store interface {
	RecordPulls(ctx context.Context, ps []core.Pull) error
	RecordReviews(ctx context.Context, rs []core.Review) error
	RecordDeployments(ctx context.Context, ds []core.Deployment) error
	RecordJobs(ctx context.Context, js []core.Job) error
	RecordIncidents(ctx context.Context, is []core.Incident) error
	// PreviousDeployment returns the recorded deployment before d of the
	// same source, environment and service.
	PreviousDeployment(ctx context.Context, d core.Deployment) (core.Deployment, bool, error)
}

// Observer is told the pull requests a deployment shipped, with their
// stages, once it is recorded (*metrics.Metrics provides it, as
// Prometheus histograms). It may be nil.
type Observer interface {
	ObserveShipped(repo string, rows []core.PullRow)
}

// Shipped computes what a recorded deployment shipped (the Observer's
// input), reading the store's recent history; nil skips it.
type Shipped func(ctx context.Context, cfg core.Config, d core.Deployment) ([]core.PullRow, error)

// Bounds of the reads made per event.
const (
	// MaxPaths bounds the changed paths read per pull request (GitHub
	// lists at most 3000); service attribution needs only some.
	MaxPaths = 1000
	// MaxRange bounds the commits of a deployment's range read through
	// the compare API; past it the range is recorded as not read, and the
	// core links the deployment's pull requests by time.
	MaxRange = 2500
	// maxBody bounds the part of an incident's body searched for its cause.
	maxBody = 64 << 10
)

// Handler records lead-time events.
type Handler struct {
	handler.Base
	Store    Store
	Observer Observer // nil: no Prometheus observations
	Shipped  Shipped  // nil: no Prometheus observations
	// Owners reads a repository's handoff in progress, whose effective
	// team the repository's metrics are attributed to (RepoSettings.
	// HandoffTeam); nil: teams come from the configuration only.
	Owners Owners

	settings settingsCache
}

// New returns the lead-time recording handler over a copy of b.
func New(b *handler.Base, st Store) *Handler {
	return &Handler{Base: *b, Store: st}
}

var _ handler.Feature = (*Handler)(nil)

// Handles lists the events lead time is computed from.
func (*Handler) Handles() []string {
	return []string{"pull_request", "pull_request_review", "pull_request_review_comment",
		"deployment_status", "workflow_run", "workflow_job", "release", "issues"}
}

// PermActions is the GitHub App permission workflow_run and workflow_job
// events come with.
const PermActions = "actions"

// Permissions: pull requests read (their commits and files), deployments
// read (deployment_status events), actions read (workflow_run and
// workflow_job events), issues write (incidents; the weekly report
// issues), contents read (the configuration, and the compare API for a
// deployment's range).
func (*Handler) Permissions() map[string]string {
	return handler.MergePermissions(handler.BasePermissions(), handler.WriterIssues(), map[string]string{
		handler.PermPullRequests: handler.Read,
		handler.PermDeployments:  handler.Read,
		handler.PermIssues:       handler.Read,
		PermActions:              handler.Read,
	})
}

// Handle records the event of one delivery.
func (h *Handler) Handle(ctx context.Context, d dispatch.Delivery) error {
	if h.Store == nil {
		return nil // nowhere to record (an App wired without a store)
	}
	log := h.Logger().With("delivery", d.ID, "event", d.Event, "action", d.Action, "installation", d.InstallationID)
	var err error
	switch d.Event {
	case "pull_request":
		err = h.onPull(ctx, log, d)
	case "pull_request_review":
		err = h.onReview(ctx, d)
	case "pull_request_review_comment":
		err = h.onReviewComment(ctx, d)
	case "deployment_status":
		err = h.onDeploymentStatus(ctx, log, d)
	case "workflow_run":
		err = h.onWorkflowRun(ctx, log, d)
	case "workflow_job":
		err = h.onWorkflowJob(ctx, log, d)
	case "release":
		err = h.onRelease(ctx, log, d)
	case "issues":
		err = h.onIssue(ctx, log, d)
	}
	return err
}

func decode(d dispatch.Delivery, v any) error {
	if err := json.Unmarshal(d.Payload, v); err != nil {
		// A payload that does not decode will not decode on a retry.
		return dispatch.Permanent(fmt.Errorf("decode %s %s: %w", d.Event, d.ID, err))
	}
	return nil
}

// loadConfig reads the repository's configuration, carrying on with what
// could be read (the config check reports problems on the repository).
func (h *Handler) loadConfig(ctx context.Context, log *slog.Logger, c *github.Client, owner, repo string) (config.Config, core.Config) {
	cfg := config.Default()
	if h.Config != nil {
		f := h.Config.Load(ctx, c, owner, repo)
		if f.Err != nil {
			log.WarnContext(ctx, "config problem, using what could be read", "err", f.Err)
		}
		cfg = f.Config
	}
	lt := LeadTimeConfig(cfg, log)
	st := SettingsOf(cfg, lt)
	st.HandoffTeam = h.cachedHandoffTeam(ctx, log, c, owner, repo, cfg)
	if err := h.settings.remember(ctx, h.Memo, owner+"/"+repo, st); err != nil {
		log.WarnContext(ctx, "remember settings", "err", err)
	}
	return cfg, lt
}

// LeadTimeConfig returns the leadtime section of cfg, or the defaults
// (logged) when it does not validate.
func LeadTimeConfig(cfg config.Config, log *slog.Logger) core.Config {
	lt := cfg.LeadTime
	if err := lt.Validate(); err != nil {
		if log != nil {
			log.Warn("invalid leadtime config, using defaults", "err", err)
		}
		return core.DefaultConfig()
	}
	return lt
}

func (h *Handler) client(ctx context.Context, inst int64) (*github.Client, error) {
	c, err := h.Client(ctx, inst)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func isBot(u *github.User) bool {
	return u != nil && (u.GetType() == "Bot" || strings.HasSuffix(strings.ToLower(u.GetLogin()), "[bot]"))
}

func ts(t *github.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.Time.UTC()
}

// onPull records a pull request. The payload says almost everything; on
// the events that can change them it reads the first commit's authored
// time and the changed paths.
func (h *Handler) onPull(ctx context.Context, log *slog.Logger, d dispatch.Delivery) error {
	var ev github.PullRequestEvent
	if err := decode(d, &ev); err != nil {
		return err
	}
	pr, rp := ev.GetPullRequest(), ev.GetRepo()
	if pr == nil || rp == nil {
		return nil
	}
	action := ev.GetAction()
	switch action {
	case "opened", "reopened", "ready_for_review", "converted_to_draft", "closed", "synchronize", "edited", "labeled", "unlabeled":
	default:
		return nil
	}
	owner, name := rp.GetOwner().GetLogin(), rp.GetName()
	repo := owner + "/" + name
	log = log.With("repo", repo, "pr", pr.GetNumber())
	p := PullFromAPI(repo, pr)
	switch {
	case action == "opened" && !pr.GetDraft():
		p.ReadyAt = ts(pr.CreatedAt)
	case action == "ready_for_review":
		// The event's time: the pull request was updated by it.
		p.ReadyAt = ts(pr.UpdatedAt)
	}
	switch action {
	case "opened", "reopened", "ready_for_review", "synchronize":
		c, err := h.client(ctx, d.InstallationID)
		if err != nil {
			return err
		}
		first, _, err := ghread.FirstAuthored(ctx, c, owner, name, pr.GetNumber())
		if err != nil && !errors.Is(err, ghread.ErrTruncated) {
			return err
		}
		p.FirstCommitAt = first
		paths, err := ghread.ChangedPaths(ctx, c, owner, name, pr.GetNumber(), MaxPaths)
		switch {
		case errors.Is(err, ghread.ErrTruncated):
			log.InfoContext(ctx, "changed paths truncated", "read", len(paths))
			p.Paths = paths
		case err != nil:
			return err
		default:
			p.Paths = paths
		}
	}
	if err := h.Store.RecordPulls(ctx, []core.Pull{p}); err != nil {
		return err
	}
	// A merge into the default branch is a deployment for teams that
	// deploy on merge (deploy_sources: merge); the core ignores it where
	// another source has deployments.
	if action == "closed" && pr.GetMerged() && pr.GetMergeCommitSHA() != "" && pr.GetBase().GetRef() == rp.GetDefaultBranch() {
		dep := MergeDeployment(repo, pr)
		if err := h.Store.RecordDeployments(ctx, []core.Deployment{dep}); err != nil {
			return err
		}
		h.observe(ctx, log, core.DefaultConfig(), dep)
	}
	return nil
}

// PullFromAPI is what a pull request's REST representation (or webhook
// payload) says of it: everything but FirstCommitAt, ReadyAt and Paths,
// which need other reads or the event's action.
func PullFromAPI(repo string, pr *github.PullRequest) core.Pull {
	p := core.Pull{
		Repo: repo, Number: pr.GetNumber(), Title: pr.GetTitle(),
		Author: pr.GetUser().GetLogin(), AuthorIsBot: isBot(pr.GetUser()),
		OpenedAt: ts(pr.CreatedAt), MergedAt: ts(pr.MergedAt), ClosedAt: ts(pr.ClosedAt),
		BaseRef: pr.GetBase().GetRef(), HeadRef: pr.GetHead().GetRef(),
		Labels:  []string{},
		Reverts: Reverts(repo, pr.GetTitle(), pr.GetBody()),
	}
	if pr.GetMerged() || pr.MergedAt != nil {
		p.MergeSHA = pr.GetMergeCommitSHA()
	}
	for _, l := range pr.Labels {
		p.Labels = append(p.Labels, l.GetName())
	}
	return p
}

// MergeDeployment is the SourceMerge deployment of a merged pull request.
func MergeDeployment(repo string, pr *github.PullRequest) core.Deployment {
	sha := pr.GetMergeCommitSHA()
	return core.Deployment{
		Repo: repo, ID: "merge:" + sha, Source: core.SourceMerge, SHA: sha,
		FinishedAt: ts(pr.MergedAt), Commits: []string{sha},
		Creator: pr.GetMergedBy().GetLogin(), Ref: pr.GetBase().GetRef(),
	}
}

func (h *Handler) onReview(ctx context.Context, d dispatch.Delivery) error {
	var ev github.PullRequestReviewEvent
	if err := decode(d, &ev); err != nil {
		return err
	}
	switch ev.GetAction() {
	case "submitted", "edited", "dismissed":
	default:
		return nil
	}
	rv, pr, rp := ev.GetReview(), ev.GetPullRequest(), ev.GetRepo()
	if rv == nil || pr == nil || rp == nil || rv.GetID() == 0 {
		return nil
	}
	r := core.Review{
		Repo: rp.GetFullName(), Number: pr.GetNumber(), ID: rv.GetID(),
		Reviewer: rv.GetUser().GetLogin(), ReviewerIsBot: isBot(rv.GetUser()),
		State: strings.ToUpper(rv.GetState()), At: ts(rv.SubmittedAt),
	}
	return h.Store.RecordReviews(ctx, []core.Review{r})
}

func (h *Handler) onReviewComment(ctx context.Context, d dispatch.Delivery) error {
	var ev github.PullRequestReviewCommentEvent
	if err := decode(d, &ev); err != nil {
		return err
	}
	if ev.GetAction() != "created" {
		return nil
	}
	cm, pr, rp := ev.GetComment(), ev.GetPullRequest(), ev.GetRepo()
	if cm == nil || pr == nil || rp == nil || cm.GetID() == 0 {
		return nil
	}
	r := core.Review{
		Repo: rp.GetFullName(), Number: pr.GetNumber(), ID: cm.GetID(),
		Reviewer: cm.GetUser().GetLogin(), ReviewerIsBot: isBot(cm.GetUser()),
		State: "COMMENT", At: ts(cm.CreatedAt),
	}
	return h.Store.RecordReviews(ctx, []core.Review{r})
}

// isProduction reports whether env is one of cfg's production
// environments, or the environment of a configured service.
func isProduction(cfg core.Config, env string) bool {
	for _, e := range cfg.ProductionEnvironments {
		if strings.EqualFold(e, env) {
			return true
		}
	}
	for _, s := range cfg.Services {
		for _, e := range s.Environments {
			if strings.EqualFold(e, env) {
				return true
			}
		}
	}
	return false
}

// serviceOf returns the configured service that deploys through workflow
// or environment, "" if none.
func serviceOf(cfg core.Config, workflow, env string) string {
	for name, s := range cfg.Services {
		for _, w := range s.Workflows {
			if workflow != "" && strings.EqualFold(w, workflow) {
				return name
			}
		}
		for _, e := range s.Environments {
			if env != "" && strings.EqualFold(e, env) {
				return name
			}
		}
	}
	return ""
}

func (h *Handler) onDeploymentStatus(ctx context.Context, log *slog.Logger, d dispatch.Delivery) error {
	var ev github.DeploymentStatusEvent
	if err := decode(d, &ev); err != nil {
		return err
	}
	st, dp, rp := ev.GetDeploymentStatus(), ev.GetDeployment(), ev.GetRepo()
	if st == nil || dp == nil || rp == nil || st.GetState() != "success" {
		return nil
	}
	env := dp.GetEnvironment()
	if st.GetEnvironment() != "" {
		env = st.GetEnvironment()
	}
	owner, name := rp.GetOwner().GetLogin(), rp.GetName()
	log = log.With("repo", owner+"/"+name, "deployment", dp.GetID())
	c, err := h.client(ctx, d.InstallationID)
	if err != nil {
		return err
	}
	_, cfg := h.loadConfig(ctx, log, c, owner, name)
	if !isProduction(cfg, env) {
		return nil
	}
	dep := core.Deployment{
		Repo: owner + "/" + name, ID: fmt.Sprintf("deployment:%d", dp.GetID()), Source: core.SourceDeploymentStatus,
		Environment: env, Service: serviceOf(cfg, "", env), SHA: dp.GetSHA(), FinishedAt: ts(st.CreatedAt),
		Creator: dp.GetCreator().GetLogin(), Ref: dp.GetRef(),
	}
	return h.recordDeployment(ctx, log, c, cfg, dep)
}

func (h *Handler) onWorkflowRun(ctx context.Context, log *slog.Logger, d dispatch.Delivery) error {
	var ev github.WorkflowRunEvent
	if err := decode(d, &ev); err != nil {
		return err
	}
	run, rp := ev.GetWorkflowRun(), ev.GetRepo()
	// A fork's pull request may name its branch after the default branch:
	// only runs of the repository's own default branch deploy.
	if ev.GetAction() != "completed" || run == nil || rp == nil || run.GetConclusion() != "success" ||
		run.GetHeadBranch() != rp.GetDefaultBranch() || strings.HasPrefix(run.GetEvent(), "pull_request") ||
		run.HeadRepository != nil && !strings.EqualFold(run.GetHeadRepository().GetFullName(), rp.GetFullName()) {
		return nil
	}
	owner, name := rp.GetOwner().GetLogin(), rp.GetName()
	log = log.With("repo", owner+"/"+name, "run", run.GetID())
	c, err := h.client(ctx, d.InstallationID)
	if err != nil {
		return err
	}
	_, cfg := h.loadConfig(ctx, log, c, owner, name)
	wf := run.GetName()
	svc := serviceOf(cfg, wf, "")
	if !containsFold(cfg.DeployWorkflows, wf) && svc == "" {
		return nil
	}
	dep := core.Deployment{
		Repo: owner + "/" + name, ID: fmt.Sprintf("workflow_run:%d", run.GetID()), Source: core.SourceWorkflowRun,
		Environment: wf, Service: svc, SHA: run.GetHeadSHA(), FinishedAt: ts(run.UpdatedAt),
		Creator: run.GetActor().GetLogin(), Ref: run.GetHeadBranch(),
	}
	return h.recordDeployment(ctx, log, c, cfg, dep)
}

func containsFold(ss []string, s string) bool {
	for _, x := range ss {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func (h *Handler) onRelease(ctx context.Context, log *slog.Logger, d dispatch.Delivery) error {
	var ev github.ReleaseEvent
	if err := decode(d, &ev); err != nil {
		return err
	}
	rel, rp := ev.GetRelease(), ev.GetRepo()
	if ev.GetAction() != "published" || rel == nil || rp == nil || rel.GetDraft() || rel.GetPrerelease() {
		return nil
	}
	owner, name := rp.GetOwner().GetLogin(), rp.GetName()
	log = log.With("repo", owner+"/"+name, "release", rel.GetID())
	c, err := h.client(ctx, d.InstallationID)
	if err != nil {
		return err
	}
	_, cfg := h.loadConfig(ctx, log, c, owner, name)
	at := ts(rel.PublishedAt)
	if at.IsZero() {
		at = ts(rel.CreatedAt)
	}
	// A tag names the commit; the compare with the previous release's tag
	// gives the range and, as its last commit, the release's SHA.
	dep := core.Deployment{
		Repo: owner + "/" + name, ID: fmt.Sprintf("release:%d", rel.GetID()), Source: core.SourceRelease,
		SHA: rel.GetTagName(), FinishedAt: at, Creator: rel.GetAuthor().GetLogin(), Ref: rel.GetTagName(),
	}
	return h.recordDeployment(ctx, log, c, cfg, dep)
}

// recordDeployment records dep with the commit range it shipped, from the
// previous recorded deployment of its stream, then tells the Observer what
// it shipped.
func (h *Handler) recordDeployment(ctx context.Context, log *slog.Logger, c *github.Client, cfg core.Config, dep core.Deployment) error {
	prev, ok, err := h.Store.PreviousDeployment(ctx, dep)
	if err != nil {
		return err
	}
	if ok {
		base := prev.SHA
		if prev.Source == core.SourceRelease {
			base = prev.Ref // the tag
		}
		dep.PreviousSHA = prev.SHA
		cmp, err := ghread.Compare(ctx, c, strings.Split(dep.Repo, "/")[0], strings.Split(dep.Repo, "/")[1], base, dep.SHA, MaxRange)
		switch {
		case errors.Is(err, ghread.ErrTruncated):
			// A range longer than the bound is recorded as not read.
			log.InfoContext(ctx, "deployment range too long to read; linked by time", "base", base, "commits", cmp.TotalCommits)
		case isNotFound(err):
			// A previous SHA that is gone (force-pushed away) or a tag
			// deleted: link by time.
			log.InfoContext(ctx, "deployment range not found; linked by time", "base", base, "err", err)
		case err != nil:
			return err
		default:
			dep.Commits = make([]string, 0, len(cmp.Commits))
			for _, cm := range cmp.Commits {
				dep.Commits = append(dep.Commits, cm.SHA)
			}
			if dep.Source == core.SourceRelease && len(cmp.Commits) > 0 {
				dep.SHA = cmp.Commits[len(cmp.Commits)-1].SHA
			}
		}
	}
	if err := h.Store.RecordDeployments(ctx, []core.Deployment{dep}); err != nil {
		return err
	}
	h.observe(ctx, log, cfg, dep)
	return nil
}

func isNotFound(err error) bool {
	var er *github.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && (er.Response.StatusCode == 404 || er.Response.StatusCode == 422)
}

// observe tells the Observer what dep shipped. A failure only loses the
// observation: it is logged, the event stays recorded.
func (h *Handler) observe(ctx context.Context, log *slog.Logger, cfg core.Config, dep core.Deployment) {
	if h.Observer == nil || h.Shipped == nil {
		return
	}
	rows, err := h.Shipped(ctx, cfg, dep)
	if err != nil {
		log.WarnContext(ctx, "compute what a deployment shipped", "err", err)
		return
	}
	h.Observer.ObserveShipped(dep.Repo, rows)
}

func (h *Handler) onWorkflowJob(ctx context.Context, log *slog.Logger, d dispatch.Delivery) error {
	var ev github.WorkflowJobEvent
	if err := decode(d, &ev); err != nil {
		return err
	}
	switch ev.GetAction() {
	case "queued", "in_progress", "completed", "waiting":
	default:
		return nil
	}
	j, rp := ev.GetWorkflowJob(), ev.GetRepo()
	if j == nil || rp == nil || j.GetID() == 0 {
		return nil
	}
	owner, name := rp.GetOwner().GetLogin(), rp.GetName()
	c, err := h.client(ctx, d.InstallationID)
	if err != nil {
		return err
	}
	_, cfg := h.loadConfig(ctx, log.With("repo", owner+"/"+name), c, owner, name)
	job := core.Job{
		Repo: owner + "/" + name, ID: j.GetID(), RunID: j.GetRunID(), Workflow: j.GetWorkflowName(), Name: j.GetName(),
		Kind: core.ClassifyJob(cfg, j.GetName()), HeadSHA: j.GetHeadSHA(), HeadBranch: j.GetHeadBranch(),
		QueuedAt: ts(j.CreatedAt), StartedAt: ts(j.StartedAt), CompletedAt: ts(j.CompletedAt), Conclusion: j.GetConclusion(),
	}
	switch ev.GetAction() {
	case "queued", "waiting":
		// GitHub sets started_at to the queued time until the job starts.
		job.StartedAt, job.CompletedAt, job.Conclusion = time.Time{}, time.Time{}, ""
	case "in_progress":
		job.CompletedAt, job.Conclusion = time.Time{}, ""
	}
	return h.Store.RecordJobs(ctx, []core.Job{job})
}

func (h *Handler) onIssue(ctx context.Context, log *slog.Logger, d dispatch.Delivery) error {
	var ev github.IssuesEvent
	if err := decode(d, &ev); err != nil {
		return err
	}
	switch ev.GetAction() {
	case "opened", "labeled", "unlabeled", "closed", "reopened", "edited":
	default:
		return nil
	}
	is, rp := ev.GetIssue(), ev.GetRepo()
	// An issue without labels is no incident: decided before any API call.
	if is == nil || rp == nil || is.IsPullRequest() || len(is.Labels) == 0 {
		return nil
	}
	owner, name := rp.GetOwner().GetLogin(), rp.GetName()
	log = log.With("repo", owner+"/"+name, "issue", is.GetNumber())
	c, err := h.client(ctx, d.InstallationID)
	if err != nil {
		return err
	}
	full, _ := h.loadConfig(ctx, log, c, owner, name)
	inc, ok := IncidentFromIssue(owner+"/"+name, is, full)
	if !ok {
		return nil
	}
	if ev.GetAction() == "reopened" {
		// Open again: the store clears the earlier resolve time. The
		// payload's updated_at is the moment of reopening.
		inc.ResolvedAt = time.Time{}
		if inc.ReopenedAt = ts(is.UpdatedAt); inc.ReopenedAt.IsZero() {
			inc.ReopenedAt = h.Clock().UTC()
		}
	}
	return h.Store.RecordIncidents(ctx, []core.Incident{inc})
}

// IncidentFromIssue is the incident an issue is, under the postmortem
// feature's labels; ok is false when it carries no incident label.
func IncidentFromIssue(repo string, is *github.Issue, cfg config.Config) (core.Incident, bool) {
	var labels []string
	incident := false
	for _, l := range is.Labels {
		labels = append(labels, l.GetName())
		if cfg.Postmortem.IsIncidentLabel(l.GetName()) {
			incident = true
		}
	}
	if !incident {
		return core.Incident{}, false
	}
	body := is.GetBody()
	if len(body) > maxBody {
		body = body[:maxBody]
	}
	inc := core.Incident{
		Repo: repo, Number: is.GetNumber(), Title: is.GetTitle(),
		Severity:  cfg.Postmortem.Severity(labels),
		StartedAt: ts(is.CreatedAt), CausedBy: CausedBy(repo, body),
	}
	if is.GetState() == "closed" {
		inc.ResolvedAt = ts(is.ClosedAt)
	}
	return inc, true
}
