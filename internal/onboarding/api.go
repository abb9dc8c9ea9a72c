// Package onboarding is the pure core of the SRE handoff: a service's move
// from the core SRE team to the product team's own SREs, tracked in one
// GitHub issue in phases, verified from the repository wherever possible,
// closed by the pull request that moves ownership, and guarded afterwards.
//
// The core does no I/O. The shell (internal/handler/onboarding) reads
// GitHub into RepoFacts (asking Needs which facts the checklist uses),
// decodes the handoff issue's State from its body (DecodeState), calls one
// of Start, Verify, Attest, TransferMerged, Guard or HandBack, and carries
// out the returned Decision's intents with the writer.
//
// This file holds every exported type and entry point; their behaviour is
// in the other files.
package onboarding

import (
	"time"

	"github.com/tasuki-sre/tasuki/internal/intent"
	"github.com/tasuki-sre/tasuki/internal/marker"
	"github.com/tasuki-sre/tasuki/internal/ownership"
)

// ---------------------------------------------------------------------------
// Phases

// Phase is one stage of a handoff, in order: PhaseKickoff, PhaseObserve,
// PhaseShadow, PhaseReverseShadow, PhaseTransfer, then PhaseGuard, which goes on after the transfer.
// It is an alias of ownership.Phase, so that the shared ownership model
// (ownership.HandoffRoles) and this package speak of the same phases.
type Phase = ownership.Phase

// Phases, as written in the checklist ("phase: shadow") and in labels
// ("handoff:shadow").
const (
	PhaseKickoff       = ownership.PhaseKickoff       // "kickoff"
	PhaseObserve       = ownership.PhaseObserve       // "observe": "Observe and prepare"
	PhaseShadow        = ownership.PhaseShadow        // "shadow"
	PhaseReverseShadow = ownership.PhaseReverseShadow // "reverse-shadow"
	PhaseTransfer      = ownership.PhaseTransfer      // "transfer"
	PhaseGuard         = ownership.PhaseGuard         // "guard"
)

// Phases lists the phases in order.
var Phases = []Phase{PhaseKickoff, PhaseObserve, PhaseShadow, PhaseReverseShadow, PhaseTransfer, PhaseGuard}

// PhaseLabel returns the label tasuki keeps on the handoff issue for its
// current phase: "handoff:shadow".
func PhaseLabel(p Phase) string { return LabelPrefix + string(p) }

// LabelPrefix starts every phase label.
const LabelPrefix = "handoff:"

// ---------------------------------------------------------------------------
// Checklist (checklist as code: templates/onboarding.yml, overridable per
// organisation and per repository)

// Kind says how an item is verified.
type Kind string

// Item kinds.
const (
	// KindAuto items are verified by tasuki from the repository and the API
	// only; a person cannot tick them.
	KindAuto Kind = "auto"
	// KindSemi items are verified by tasuki where it can (a verifier) and
	// may also be attested by a person with evidence: the item passes when
	// the verifier passes, else while an unexpired attestation stands.
	KindSemi Kind = "semi"
	// KindManual items are ticked by a person: /tasuki done ITEM-ID URL or
	// /tasuki na ITEM-ID REASON.
	KindManual Kind = "manual"
)

// Item is one entry of the checklist.
type Item struct {
	// ID is how people name the item in commands: lower-case letters,
	// digits and '-', e.g. "slo-as-code".
	ID    string `yaml:"id" json:"id"`
	Title string `yaml:"title" json:"title"`
	Phase Phase  `yaml:"phase" json:"phase"`
	Kind  Kind   `yaml:"kind" json:"kind"`
	// Verifier names one of the automatic checks (see Verifiers); required
	// for auto items, optional for semi, refused for manual.
	Verifier string `yaml:"verifier,omitempty" json:"verifier,omitempty"`
	// Params are the verifier's parameters, checked when the checklist is
	// parsed (e.g. file_exists: {any_of: [...]}).
	Params map[string]any `yaml:"params,omitempty" json:"params,omitempty"`
	// Tiers the item applies to ("A", "B", "C"); empty means every tier.
	Tiers []string `yaml:"tiers,omitempty" json:"tiers,omitempty"`
	// ExpiresAfter is how long an attestation stays valid ("90d", "12w",
	// "720h"); zero means it does not expire.
	ExpiresAfter Duration `yaml:"expires_after,omitempty" json:"expires_after,omitempty"`
	// EvidenceRequired refuses /tasuki done without an evidence URL.
	EvidenceRequired bool `yaml:"evidence_required,omitempty" json:"evidence_required,omitempty"`
	// NAAllowed are the tiers in which /tasuki na may mark the item not
	// applicable; empty means never. In YAML, true means every tier.
	NAAllowed []string `yaml:"na_allowed,omitempty" json:"na_allowed,omitempty"`
	// Remove, in an organisation or repository override, drops the item of
	// that ID from the checklist it overrides.
	Remove bool `yaml:"remove,omitempty" json:"remove,omitempty"`

	// Source and Line say where the item was defined, for messages.
	Source string `yaml:"-" json:"-"`
	Line   int    `yaml:"-" json:"-"`
	// set records which fields the file wrote (Merge overlays only those).
	set int
	// keyLines are the lines of the keys the file wrote, for messages.
	keyLines map[string]int
}

// AppliesTo reports whether the item is part of a handoff of tier t.
func (it Item) AppliesTo(tier string) bool { return appliesTo(it.Tiers, tier) }

// Duration is a time.Duration written in YAML as "90d", "12w" or a Go
// duration ("720h").
type Duration time.Duration

// Checklist is the list of items of a handoff, in order.
type Checklist struct {
	// Sources are the files it was built from, in override order.
	Sources []string
	Items   []Item
	// AllowRepoRelaxing, set by allow_repo_relaxing: true in the
	// organisation's checklist, lets a repository's own override relax
	// the items it inherits (Restrict). A repository's file cannot set it.
	AllowRepoRelaxing bool `json:"allow_repo_relaxing,omitempty"`
	allowLine         int
}

// Item returns the item with the given ID (case-insensitive).
func (c Checklist) Item(id string) (Item, bool) { return c.item(id) }

// ParseChecklist parses one checklist file (the built-in
// templates/onboarding.yml, the organisation's or the repository's
// .github/tasuki/onboarding.yml) through internal/yamlsafe. name is used in
// messages ("acme/api:.github/tasuki/onboarding.yml"). Every problem (an
// unknown key, a duplicate ID, an unknown phase, kind or verifier, bad
// verifier parameters) is reported with its line: the error is a
// *ChecklistError or several joined with errors.Join. An override file may
// hold partial items (only id and the fields it changes); Merge completes
// them.
func ParseChecklist(name string, b []byte) (Checklist, error) { return parseChecklist(name, b) }

// ChecklistError is a problem in a checklist file, located to the line.
type ChecklistError struct {
	Source string
	Line   int
	Column int
	Msg    string
}

// Merge returns base overridden by each override in turn (organisation,
// then repository): an item whose ID is already there replaces the fields
// it sets; a new ID is appended in its phase; an item with remove: true is
// dropped. The result is validated as a whole (every item has a title,
// phase and kind; auto items a verifier) with errors naming the file and
// line of the item at fault.
func Merge(base Checklist, overrides ...Checklist) (Checklist, error) {
	return merge(base, overrides...)
}

// Restrict returns the repository's own checklist override repo without
// what would relax base (the built-in checklist merged with the
// organisation's): a repository may add items and tighten those it
// inherits (manual to semi or auto, evidence required, a shorter
// expires_after, fewer tiers where not applicable is allowed, an earlier
// phase), not remove them, make them weaker in kind (auto to semi or
// manual, semi to manual), drop evidence_required, lengthen or drop
// expires_after, allow not applicable in more tiers, apply them to fewer
// tiers, move them to a later phase, or change their verifier or its
// parameters (tasuki cannot tell a stricter check from a weaker one). The
// rest of the override is kept; each refusal is returned as a
// *ChecklistError at the file and line of the key at fault. With
// base.AllowRepoRelaxing (allow_repo_relaxing: true in the organisation's
// checklist) nothing is refused. The people a repository's file lets tick
// items are the incoming team, so a relaxing override would let them
// decide what they must show.
func Restrict(base, repo Checklist) (Checklist, error) { return restrict(base, repo) }

// LoadChecklist is what the shell calls with the override files it read
// (Config.Checklist in the organisation's .github repository, then in the
// repository; nil when absent): the built-in checklist merged with each
// file that parses and merges cleanly; the repository's file through
// Restrict, whose refused parts are left out (and returned) while the rest
// applies. A file with other problems is left out
// whole and its problems returned (each with file and line) for the shell
// to report on the handoff issue; the checklist returned is always usable.
func LoadChecklist(orgName string, org []byte, repoName string, repo []byte) (Checklist, error) {
	return loadChecklist(orgName, org, repoName, repo)
}

// Default returns the built-in checklist (templates/onboarding.yml).
func Default() Checklist { return defaultChecklist() }

// Verifiers lists the names of the automatic checks an item may use.
func Verifiers() []string { return verifierNames() }

// ---------------------------------------------------------------------------
// Configuration (.github/tasuki.yml, section onboarding)

// Config is the onboarding section of .github/tasuki.yml.
type Config struct {
	// Label marks every handoff issue (default "sre-handoff"); the shell
	// finds the open handoff of a repository by it.
	Label string `yaml:"label" json:"label"`
	// Checklist is where an organisation (in its .github repository) or a
	// repository keeps its checklist override (default
	// ".github/tasuki/onboarding.yml").
	Checklist string `yaml:"checklist" json:"checklist"`
	// DefaultTier is the tier of a handoff started without --tier
	// (default "B").
	DefaultTier string `yaml:"default_tier" json:"default_tier"`
	// PhaseDays is how many days each phase lasts, from which the due dates
	// are set when a handoff starts (defaults: kickoff 7, observe 21,
	// shadow 28, reverse-shadow 28, transfer 14).
	PhaseDays map[string]int `yaml:"phase_days" json:"phase_days"`
	// KeepCoreSecondary keeps the core SRE team in CODEOWNERS as a
	// secondary owner after the transfer, next to the team.
	KeepCoreSecondary bool `yaml:"keep_core_secondary" json:"keep_core_secondary"`
	// NewRepositories starts a handoff when a repository is created
	// (organisation configuration).
	NewRepositories NewRepositories `yaml:"new_repositories" json:"new_repositories"`
	// Leads maps a team slug to the login of its lead, whose review the
	// transfer pull request requests and to whom hand-back is addressed.
	Leads map[string]string `yaml:"leads" json:"leads"`
	// HandBack is the threshold of the hand-back review.
	HandBack HandBackConfig `yaml:"hand_back" json:"hand_back"`
	// GuardLabel marks the one guard issue of a repository (default
	// "sre-handoff-guard").
	GuardLabel string `yaml:"guard_label" json:"guard_label"`
}

// NewRepositories is Config.NewRepositories.
type NewRepositories struct {
	Enabled bool `yaml:"enabled" json:"enabled"`
	// Team receives new repositories ("org/team-sre" or "team-sre"); empty
	// means the repository's owner from CODEOWNERS or catalog-info.yaml.
	Team string `yaml:"team" json:"team"`
	Tier string `yaml:"tier" json:"tier"`
}

// HandBackConfig is Config.HandBack.
type HandBackConfig struct {
	// MaxIncidents is how many incidents of Severities a handed-over
	// service may have in Window before tasuki opens a reliability review
	// (default 2: the third opens it; 0 takes the default).
	MaxIncidents int `yaml:"max_incidents" json:"max_incidents"`
	// WindowDays is the window (default 28).
	WindowDays int `yaml:"window_days" json:"window_days"`
	// Severities counted (default sev1, sev2).
	Severities []string `yaml:"severities" json:"severities"`
}

// DefaultConfig returns the onboarding defaults.
func DefaultConfig() Config { return defaultConfig() }

// Validate reports every problem of c; each error starts with the key it is
// about ("onboarding.default_tier: ...") so the config loader can point at
// its line.
func (c Config) Validate() error { return c.validate() }

// ---------------------------------------------------------------------------
// Repository facts (read by the shell, only what Needs asks for)

// Needs says which facts a checklist's verifiers use, so that the shell
// reads only those.
type Needs struct {
	// Tree: the paths of every file of the default branch (a recursive git
	// tree) in RepoFacts.Paths.
	Tree bool
	// Files are exact paths whose content the verifiers read when present
	// (catalog-info.yaml, CODEOWNERS candidates, ...). Call FilesToRead
	// after reading the tree for the full list.
	Files []string
	// Team: RepoFacts.Team (the incoming team).
	Team bool
	// Collaborators: RepoFacts.OutsideCollaborators.
	Collaborators bool
	// Protection: RepoFacts.Protection of the default branch (branch
	// protection and rulesets together).
	Protection bool
	// Workflows: RepoFacts.WorkflowRuns of the default branch since
	// WorkflowsSince (completed runs, newest first).
	Workflows      bool
	WorkflowsSince time.Duration
	// CODEOWNERSErrors: RepoFacts.CODEOWNERSErrors
	// (GET /repos/{owner}/{repo}/codeowners/errors on the default branch).
	CODEOWNERSErrors bool
}

// NeedsOf returns what the items of c that apply to tier use. Guard and
// transfer verification always need CODEOWNERS, the catalog and the team.
func NeedsOf(c Checklist, tier string) Needs { return needsOf(c, tier) }

// FilesToRead returns the paths whose contents the verifiers of c read,
// given the tree the shell read (RepoFacts.Paths): the exact files of
// Needs.Files that are present, plus files found by pattern (alert rule
// files, SLO files, ...), at most MaxFiles of them. The shell reads each
// (at most MaxFileBytes, CODEOWNERS up to ownership.MaxCODEOWNERSSize; a
// larger one is passed cut to that size and listed in RepoFacts.TooLarge)
// into RepoFacts.Files. The transfer pull request is not proposed from a
// CODEOWNERS or catalog-info.yaml listed in TooLarge.
func FilesToRead(c Checklist, tier string, tree []string) []string { return filesToRead(c, tier, tree) }

// Bounds on what the shell reads for the verifiers.
// MaxFiles also bounds the API calls of one verification.
const (
	MaxFiles     = 100
	MaxFileBytes = 256 << 10
)

// RepoFacts is what the shell read about the repository. A zero field
// means "not read"; what the shell tried to read and could not (no
// permission, an API error) goes in Unavailable, so that the items using
// it become "not yet verifiable" rather than failed.
type RepoFacts struct {
	// Repo is "owner/name"; DefaultBranch and HeadSHA its default branch
	// and the commit read.
	Repo          string
	DefaultBranch string
	HeadSHA       string
	// Paths are every file of the tree at HeadSHA, repository-relative
	// without a leading slash. TreeTruncated is GitHub's truncated flag.
	Paths         []string
	TreeTruncated bool
	// Files holds the contents of the files FilesToRead listed that exist.
	Files map[string][]byte
	// TooLarge lists the files of Files cut at MaxFileBytes.
	TooLarge []string
	// Team is the incoming team. (Nothing the core checks is about the
	// core SRE team's own access, so it is not read.)
	Team TeamFacts
	// OutsideCollaborators are the repository's outside collaborators
	// (affiliation=outside) with their permission.
	OutsideCollaborators []Collaborator
	// Protection is the default branch's protection and rulesets together.
	Protection Protection
	// WorkflowRuns are completed runs on the default branch, newest first.
	WorkflowRuns []WorkflowRun
	// CODEOWNERSErrors are the messages of the codeowners errors API, each
	// "path:line: kind: message"; empty means none.
	CODEOWNERSErrors []string
	// MovedBy is the login who pushed the commit verified, when that push
	// changed CODEOWNERS or catalog-info.yaml (the shell knows it on a
	// push, not on a daily run): if Verify finds the ownership already
	// moved, the summary names them.
	MovedBy string
	// Unavailable maps a fact (FactTree, FactTeam, ...) to why it could not
	// be read.
	Unavailable map[Fact]string
}

// Fact names one kind of fact, for RepoFacts.Unavailable.
type Fact string

// Facts.
const (
	FactTree             Fact = "tree"
	FactFiles            Fact = "files"
	FactTeam             Fact = "team"
	FactCollaborators    Fact = "collaborators"
	FactProtection       Fact = "protection"
	FactWorkflows        Fact = "workflows"
	FactCODEOWNERSErrors Fact = "codeowners-errors"
)

// TeamFacts is what the shell read of one team.
type TeamFacts struct {
	// Slug is the team's slug (without the organisation).
	Slug string
	// Exists is false when GET /orgs/{org}/teams/{slug} is 404.
	Exists bool
	// Privacy is "closed" (visible) or "secret".
	Privacy string
	// Permission is the team's permission on the repository (admin,
	// maintain, push, triage, pull), empty when it has none
	// (GET /orgs/{org}/teams/{slug}/repos/{owner}/{repo}).
	Permission string
}

// Collaborator is one outside collaborator.
type Collaborator struct {
	Login string
	// Permission is admin, maintain, push, triage or pull.
	Permission string
}

// Protection is what the default branch requires before a merge, from
// branch protection and active rulesets together.
type Protection struct {
	// Protected is true when anything protects the branch.
	Protected bool
	// RequirePullRequest: changes must go through a pull request.
	RequirePullRequest bool
	// RequiredApprovals is the number of approving reviews required.
	RequiredApprovals int
	// CodeOwnerReview: a code owner's review is required.
	CodeOwnerReview bool
	// RequiredChecks are the names (contexts) of required status checks.
	RequiredChecks []string
}

// WorkflowRun is one completed workflow run.
type WorkflowRun struct {
	// Name is the workflow's name; Path its file (.github/workflows/x.yml).
	Name string
	Path string
	// Conclusion is success, failure, cancelled, ...
	Conclusion string
	At         time.Time
	URL        string
}

// ---------------------------------------------------------------------------
// State (kept hidden in the handoff issue's generated block)

// Status is an item's state.
type Status string

// Statuses.
const (
	StatusPassed  Status = "passed"
	StatusFailed  Status = "failed"
	StatusNA      Status = "na"      // not applicable, with a reason
	StatusPending Status = "pending" // not yet verifiable
)

// ItemState is the state of one item.
type ItemState struct {
	ID     string `json:"id"`
	Status Status `json:"s"`
	// Reason is one line saying why (a verifier's finding, an n/a reason).
	Reason string `json:"r,omitempty"`
	// By, At and Evidence record a person's attestation (done or n/a);
	// Expires is when it lapses (zero: never).
	By       string    `json:"by,omitempty"`
	At       time.Time `json:"at,omitzero"`
	Evidence string    `json:"ev,omitempty"`
	Expires  time.Time `json:"exp,omitzero"`
	// Checked is when tasuki last verified the item.
	Checked time.Time `json:"chk,omitzero"`
}

// PhaseState is one phase's dates.
type PhaseState struct {
	Phase Phase     `json:"p"`
	Due   time.Time `json:"due,omitzero"`
	// Done is when every item of the phase first passed (or was n/a).
	Done time.Time `json:"done,omitzero"`
	// Reminded is when the one overdue reminder was posted.
	Reminded time.Time `json:"rem,omitzero"`
}

// State is the handoff's state. It lives in the issue body (EncodeState /
// DecodeState / RenderBody); the shell never keeps it elsewhere.
type State struct {
	V int `json:"v"`
	// Repo is "owner/name"; Issue the handoff issue's number (0 until
	// created: the shell sets it from the issue it decoded the state of).
	Repo  string `json:"repo"`
	Issue int    `json:"-"`
	// Team is the incoming team, "org/slug"; CoreTeam the outgoing core
	// SRE team, "org/slug".
	Team     string `json:"team"`
	CoreTeam string `json:"core"`
	Tier     string `json:"tier"`
	// StartedBy is the login (or "config", "repository.created") that
	// started the handoff; Started when.
	StartedBy string    `json:"by"`
	Started   time.Time `json:"at"`
	// Assignees are the logins assigned to the issue (team SREs and the
	// core SRE who started it).
	Assignees []string `json:"asg,omitempty"`
	// Phase is the current phase.
	Phase  Phase        `json:"phase"`
	Phases []PhaseState `json:"phases"`
	Items  []ItemState  `json:"items"`
	// TransferPR is the transfer pull request's number, which the shell
	// records in the state once the writer has opened it (the
	// OpenPullRequest intent's result). From then on Verify proposes the
	// pull request no more: its branch is the people's to amend.
	TransferPR int `json:"pr,omitempty"`
	// Transferred is when the transfer PR merged; SignedOff the logins who
	// approved it.
	Transferred time.Time `json:"xfer,omitzero"`
	SignedOff   []string  `json:"signed,omitempty"`
	// AlreadyMoved records a handoff that found CODEOWNERS and the catalog
	// already naming the team when the transfer came (no pull request was
	// needed); MovedBy is who pushed that change, when known.
	AlreadyMoved bool   `json:"moved,omitempty"`
	MovedBy      string `json:"movedby,omitempty"`
	// Closed is when the issue was closed with its summary.
	Closed time.Time `json:"closed,omitzero"`
}

// Item returns the state of item id.
func (s State) Item(id string) (ItemState, bool) { return s.item(id) }

// DecodeState reads the state from a handoff issue body. It reads only the
// generated block at the writer's position (the body's start), and only the
// state line that closes it: text a person added around the block, and
// anything tasuki copied into it (escaped through internal/mdtext), cannot
// stand in for it. found is false when the body has no block.
func DecodeState(body string) (s State, found bool, err error) { return decodeState(body) }

// HandoffOf returns the shared ownership model's view of the handoff whose
// issue body is body (ownership.Facts.Handoff): its current phase and the
// two teams' slugs. ok is false when body holds no readable state or the
// handoff is closed (the team owns the service outright then). The shell
// of internal/handler/ownership.go fills Facts.Handoff with it from the
// repository's open issue labelled Config.Label, written by tasuki.
func HandoffOf(body string) (h *ownership.Handoff, ok bool) { return handoffOf(body) }

// RenderBody returns the issue body for s under checklist c: the generated
// block (title line, phases with due dates and progress, one checkbox per
// item with its status and reason, the hidden state) replacing the one at
// the start of old, and every byte of old after the block (a person's
// notes, the writer's marker) kept as it was. old is "" for a new issue.
func RenderBody(old string, s State, c Checklist) string { return renderBody(old, s, c) }

// FitBody is RenderBody with the block shortened (compact, then without
// the items) to keep the body within MaxBodyBytes; ok is false when even
// that does not fit: the edit must not be made, for GitHub's writer would
// cut the people's text at the body's end.
func FitBody(old string, s State, c Checklist) (body string, ok bool) { return fitBody(old, s, c) }

// IssueMarker is the writer's marker of the handoff issue of repo started
// on day started: one issue per start, found again across retries.
func IssueMarker(repo string, started time.Time) marker.Marker { return issueMarker(repo, started) }

// TransferMarker is the writer's marker of the transfer pull request of the
// handoff s (its body carries it): the shell recognises the transfer PR's
// merge by it, on a PR opened by tasuki.
func TransferMarker(s State) marker.Marker { return transferMarker(s) }

// GuardMarker is the writer's marker of the one guard issue of repo.
func GuardMarker(repo string) marker.Marker { return guardMarker(repo) }

// IssueTitle is the handoff issue's title: "SRE handoff: api → @acme/payments-sre".
func IssueTitle(repo, team string) string { return issueTitle(repo, team) }

// ---------------------------------------------------------------------------
// Decisions

// Decision is what a core entry point decided: the writes to carry out, in
// order, and the state to keep.
type Decision struct {
	// Intents are carried out in order by ghwrite.Writer.Execute. Issue
	// intents target State.Issue; EnsureIssue opens the handoff (Start).
	Intents []intent.Intent
	// Reply, when not empty, answers the comment that ran a command (a
	// refusal says why).
	Reply string
	// State is the state after the decision (already rendered into the
	// issue body by the intents); Changed reports whether it differs.
	State   State
	Changed bool
	// Reverify is set by Attest when the tick completed every item before
	// Transfer: the shell should run Verify (which reads the facts and
	// proposes the transfer pull request) rather than wait for the next
	// push or day.
	Reverify bool
}

// StartRequest is a request to start a handoff.
type StartRequest struct {
	// Repo is "owner/name"; Issue/PR number the command was on (0 for
	// other triggers).
	Repo string
	// Team is the incoming team as given ("@acme/payments-sre",
	// "acme/payments-sre" or "payments-sre").
	Team string
	// Tier is "A", "B" or "C"; empty takes the config's default.
	Tier string
	// Actor is the login that commented, or "config" / "repository.created".
	Actor string
	// Trigger is "command", "config" or "repository.created".
	Trigger string
	// ActorIsCore: the shell checked that Actor is a member of the core SRE
	// team (CoreTeam); only then does a command start a handoff.
	ActorIsCore bool
	// CoreTeam is the core SRE team's slug: ownership.core_sre_team, else
	// the team owning the repository today (ownership.Resolve: CODEOWNERS'
	// owner of *, else the catalog owner).
	CoreTeam string
	// Open is the state of the repository's open handoff, nil when none:
	// one open handoff per repository.
	Open *State
	// TeamSREs are the logins to assign besides Actor (the incoming team's
	// SREs from ownership config or the team's members, at most 9).
	TeamSREs []string
}

// Start decides what a trigger does: a reply saying who may start a
// handoff (a command by someone outside the core SRE team), a reply
// pointing at the open handoff, or a new handoff issue (EnsureIssue with
// the body and phase label) whose state Decision.State holds. The new
// issue's items are all pending until the first Verify.
func Start(req StartRequest, cfg Config, c Checklist, now time.Time) Decision {
	return start(req, cfg, c, now)
}

// Verify re-verifies every automatic item of s from facts (on push to the
// default branch, daily, and after Start and TransferMerged), re-opens
// attestations that expired, advances the phase when every item of the
// current phase and those before it passed, posts one reminder per phase
// past its due date, and, when every item before Transfer passes, proposes
// the transfer pull request (OpenPullRequest, then RequestReviewers of
// both leads; facts must then hold the CODEOWNERS and catalog-info.yaml
// contents). It proposes it until the shell records its number in
// State.TransferPR, and never again after: a person may amend the
// branch, and the shell only has GitHub re-check the CODEOWNERS on its
// head (TransferCheck). When CODEOWNERS and the catalog already name the
// team, nothing is proposed: the transfer items pass on the repository's
// own facts, and the handoff closes with a summary saying ownership was
// already moved (by facts.MovedBy when known). A handoff whose transfer
// items pass after its merge closes too. The intents edit only the issue's
// generated block (EditIssue of RenderBody(body, ...)), its phase label,
// post reminders (EnsureComment) and, at the end, the summary and Close.
// When the body has no room for even the minimal block (FitBody), Verify
// and TransferMerged change nothing and post one notice saying why.
func Verify(s State, body string, c Checklist, facts RepoFacts, cfg Config, now time.Time) Decision {
	return verify(s, body, c, facts, cfg, now)
}

// Command is a parsed /tasuki done or /tasuki na.
type Command struct {
	// Verb is "done" or "na".
	Verb string
	// ItemID is the item named; Arg the rest (the evidence URL for done,
	// the reason for na).
	ItemID string
	Arg    string
}

// Attest records a person's tick (/tasuki done ITEM-ID URL) or n/a
// (/tasuki na ITEM-ID REASON) by actor on the handoff issue. Refused with a
// reply saying why: an unknown item, an item of another tier, an automatic
// item, evidence required but missing or not an https URL, n/a not allowed
// in the handoff's tier, n/a without a reason, a closed handoff, or an
// issue body with no room for the block (people's notes below it fill it
// to MaxBodyBytes: their text is never cut).
func Attest(s State, body string, c Checklist, cmd Command, actor string, now time.Time) Decision {
	return attest(s, body, c, cmd, actor, now)
}

// TransferMerged records the merge of the transfer pull request (merged by
// mergedAt, approved by approvers), re-verifies the transfer items from
// facts read after the merge, and when they pass closes the issue with a
// summary comment (dates of each phase, who signed off) and moves it to
// Guard.
func TransferMerged(s State, body string, c Checklist, facts RepoFacts, approvers []string, mergedAt time.Time, cfg Config, now time.Time) Decision {
	return transferMerged(s, body, c, facts, approvers, mergedAt, cfg, now)
}

// GuardInput is what Guard checks for one handed-over repository.
type GuardInput struct {
	// State is the closed handoff's state (its attestations and teams).
	State State
	// Facts must hold CODEOWNERS, catalog-info.yaml, the team and the
	// codeowners errors (NeedsOf with Guard items, or GuardNeeds).
	Facts RepoFacts
	// GuardIssue is the number of the repository's guard issue (found by
	// GuardMarker under Config.GuardLabel, open or closed), 0 when none;
	// GuardOpen says whether it is open and GuardBody is its body.
	GuardIssue int
	GuardOpen  bool
	GuardBody  string
}

// GuardNeeds are the facts Guard reads.
func GuardNeeds() Needs { return guardNeeds() }

// Guard is the daily check after the transfer: CODEOWNERS errors empty;
// the owner team still exists with write access; the catalog owner equals
// the CODEOWNERS owner; attestations not expired. A violation opens (or
// updates) one guard issue per repository (EnsureIssue keyed by the
// repository, then EditIssue); a guard issue whose problems are gone is
// closed.
func Guard(in GuardInput, cfg Config, now time.Time) Decision { return guard(in, cfg, now) }

// Incident is one incident of a handed-over service, from the postmortem
// feature.
type Incident struct {
	Ref      string // "owner/repo#12"
	URL      string
	Severity string // "sev1"
	Started  time.Time
}

// HandBackInput is what HandBack judges.
type HandBackInput struct {
	Repo     string
	Service  string
	Team     string // incoming team, "org/slug"
	CoreTeam string // "org/slug"
	// Incidents of the service (any window; HandBack counts those in it).
	Incidents []Incident
	// Open is the number of the repository's open reliability review
	// issue (label DefaultHandBackLabel), 0 when none: while one is open
	// HandBack opens no other.
	Open int
}

// HandBack opens one reliability review issue, addressed to both leads,
// when the service had more incidents of the counted severities in the
// window than the config allows, proposing that core SRE re-engage as
// secondary and that releases freeze per the error-budget policy. The
// decision stays with people: tasuki only opens the issue.
func HandBack(in HandBackInput, cfg Config, now time.Time) Decision { return handBack(in, cfg, now) }

// ---------------------------------------------------------------------------
// Transfer edits

// RewriteCODEOWNERS returns the CODEOWNERS file b with every owner entry
// naming one of the outgoing owners (from, e.g. "@acme/core-sre") replaced
// by the incoming owners (to); with keepSecondary the outgoing owner stays
// after the incoming ones. Rules not naming an outgoing owner, comments,
// blank lines and order are kept byte for byte. With hmarr/codeowners
// semantics (the last matching rule wins) this moves exactly the paths the
// outgoing team owned. b is bounded as ownership.ParseCODEOWNERS bounds it.
func RewriteCODEOWNERS(b []byte, from, to []string, keepSecondary bool) ([]byte, error) {
	return rewriteCODEOWNERS(b, from, to, keepSecondary)
}

// RewriteCatalogOwner returns catalog-info.yaml b with spec.owner of its
// Component set to newOwner (e.g. "group:default/payments-sre"), every
// other byte kept. It refuses a file yamlsafe refuses or one without a
// Component with a spec mapping.
func RewriteCatalogOwner(b []byte, newOwner string) ([]byte, error) {
	return rewriteCatalogOwner(b, newOwner)
}

// CODEOWNERSPaths are where GitHub looks for CODEOWNERS, in the order it
// uses them: the first that exists is the file GitHub uses.
var CODEOWNERSPaths = []string{".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"}

// CatalogPath is the Backstage descriptor's path.
const CatalogPath = "catalog-info.yaml"

// ---------------------------------------------------------------------------
// Command arguments (for the shell's verbs; no I/O, usable as Verb.Check)

// ParseOnboardArgs reads the arguments of /tasuki onboard:
// "@org/team-sre [--tier A|B|C]" (also "--tier=B", "-t B").
func ParseOnboardArgs(args []string) (team, tier string, err error) { return parseOnboardArgs(args) }

// ParseAttestArgs reads the arguments of /tasuki done ITEM-ID URL and
// /tasuki na ITEM-ID REASON into a Command (verb "done" or "na").
func ParseAttestArgs(verb string, args []string) (Command, error) { return parseAttestArgs(verb, args) }

// TransferCheck is the comment the shell puts on the transfer pull request
// after asking GitHub for the codeowners errors of its head branch
// (GET /repos/{owner}/{repo}/codeowners/errors?ref=HEAD), on every
// verification while it is open: errs lists them; errs empty says GitHub
// now reads the branch's CODEOWNERS without error (the shell posts that
// only to take back an earlier list).
func TransferCheck(s State, pr int, errs []string) intent.Intent { return transferCheck(s, pr, errs) }
