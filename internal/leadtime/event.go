// Package leadtime computes DORA's delivery metrics and the stages of every
// change from recorded delivery events. It is pure: the events come in
// (History), definitions come from configuration (Config), metrics come out.
// The shell (internal/handler/leadtime) records events as webhooks arrive or
// as a backfill reads them, and the store keeps them for good.
//
// Times are UTC instants; a zero time means "not known" or "not yet".
//
// The pipeline: Prepare, or a Builder fed row by row by a store
// (builder.go), packs the pull requests into flat arrays; linking
// (link.go) keeps the production deployments of each repository's chosen
// source, gives every merged pull request the first deployment whose range
// holds its merge SHA (or, without a range, by time), finds first reviews,
// reverts and the deployment each incident is blamed on; Prepared.Compute (compute.go) measures one period and scope:
// stages, DORA's five with nearest-rank percentiles (stats.go), weekly and
// monthly buckets in the configured zone, levels (levels.go, levels.json);
// Render and RenderShipped (render.go) write Markdown. docs/metrics.md
// states every definition with a worked example from the tests.
package leadtime

import "time"

// Pull is what a pull request contributes. Recording is an upsert keyed by
// (Repo, Number): a later record replaces the fields it knows.
type Pull struct {
	Repo        string // "owner/name"
	Number      int
	Title       string
	Author      string
	AuthorIsBot bool
	// FirstCommitAt is the earliest authored time of the PR's commits.
	FirstCommitAt time.Time
	OpenedAt      time.Time
	// ReadyAt is when the PR became ready for review: OpenedAt unless it was
	// opened as a draft; zero while it is still a draft.
	ReadyAt  time.Time
	MergedAt time.Time // zero: not merged (closed or open)
	ClosedAt time.Time
	// MergeSHA is GitHub's merge_commit_sha once merged: the merge commit,
	// the squash commit, or the last rebased commit; the commit that lands
	// on the base branch in all three merge methods.
	MergeSHA string
	BaseRef  string
	HeadRef  string
	Paths    []string // changed paths, for service attribution
	Labels   []string
	// Reverts is the number of the PR this one reverts ("Revert "..."" PRs
	// made by GitHub's revert button, or "reverts #N"), 0 if none.
	Reverts int
}

// Review is one review or review comment on a pull request. Keyed by
// (Repo, Number, ID).
type Review struct {
	Repo     string
	Number   int
	ID       int64
	Reviewer string
	// ReviewerIsBot: user.type == "Bot" or a "[bot]" login; the configured
	// bot list is applied by the core.
	ReviewerIsBot bool
	State         string // "APPROVED", "CHANGES_REQUESTED", "COMMENTED", "COMMENT" (a review comment)
	At            time.Time
}

// Source says how a deployment was learnt.
type Source string

const (
	SourceDeploymentStatus Source = "deployment_status" // a successful deployment status in a production environment
	SourceWorkflowRun      Source = "workflow_run"      // a successful run of a configured deploy workflow on the default branch
	SourceRelease          Source = "release"           // a published release
	SourceMerge            Source = "merge"             // the merge itself, for teams with no deployments: deploy stage zero
)

// Deployment is one production deployment that finished successfully.
// Keyed by (Repo, ID).
type Deployment struct {
	Repo        string
	ID          string // stable external ID: "deployment:123", "workflow_run:456", "release:789", "merge:<sha>"
	Source      Source
	Environment string
	Service     string // from the deploy workflow or environment name, if configured
	SHA         string
	FinishedAt  time.Time
	// PreviousSHA and Commits are the commit range previous...SHA as the
	// shell read it (compare API) when it recorded the deployment; Commits
	// nil means the range was not read (the core then links by time).
	PreviousSHA string
	Commits     []string
	// Creator is who made the deployment (or merged, for SourceMerge).
	Creator string
	// Ref is the deployment's ref or the release's tag, to tell a hotfix
	// ("hotfix/...") from a planned deployment.
	Ref string
	// Workflow is the workflow's name for SourceWorkflowRun, checked against
	// Config.DeployWorkflows and the services' workflows when set.
	Workflow string
}

// JobKind classifies a CI job by the configured name patterns.
type JobKind string

const (
	JobTest   JobKind = "test"
	JobBuild  JobKind = "build"
	JobDeploy JobKind = "deploy"
	JobOther  JobKind = "other"
)

// Job is one CI job (workflow_job). Keyed by (Repo, ID).
type Job struct {
	Repo        string
	ID          int64
	RunID       int64
	Workflow    string
	Name        string
	Kind        JobKind
	HeadSHA     string
	HeadBranch  string
	QueuedAt    time.Time
	StartedAt   time.Time
	CompletedAt time.Time
	Conclusion  string // "success", "failure", ...; "" while running
}

// Incident is one incident, as the postmortem feature knows it (an issue
// with the incident label). Keyed by (Repo, Number).
type Incident struct {
	Repo       string
	Number     int
	Title      string
	Severity   string // "sev1".."sev4", "" if unknown
	Service    string
	StartedAt  time.Time
	ResolvedAt time.Time // zero while open
	// ReopenedAt is when the incident was last reopened, zero if never: a
	// ResolvedAt not after it is void (the incident is open again until it
	// is closed again).
	ReopenedAt time.Time
	// CausedBy is an explicit reference written on the incident: "#123"
	// (a pull request), a commit SHA, or "deployment:ID"; empty when none.
	CausedBy string
}

// History is everything the core computes from, for one repository or
// several.
type History struct {
	Pulls       []Pull
	Reviews     []Review
	Deployments []Deployment
	Jobs        []Job
	Incidents   []Incident
	// DefaultBranches maps a repository ("owner/name") to its default
	// branch. Only pull requests merged into it are changes that ship; a
	// repository missing here accepts every base branch.
	DefaultBranches map[string]string
}
