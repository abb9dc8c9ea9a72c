// Package onboarding is the GitHub shell of the SRE handoff (internal/
// onboarding, imported here as core): it starts a handoff (/tasuki onboard,
// a new repository when the organisation asks, an ownership.handoff block
// added to .github/tasuki.yml), keeps the one handoff issue of a repository
// verified from the repository (on every push to the default branch and
// daily), records people's ticks (/tasuki done, /tasuki na), proposes the
// transfer pull request when the phases before it are done, closes the
// handoff when that pull request merges, and afterwards guards the
// handed-over repository daily and opens a reliability review when its
// incidents pass the threshold.
//
// The core decides and renders; this package reads GitHub (internal/ghread,
// the ownership shell) into the core's RepoFacts, decodes the handoff's
// state from the issue tasuki wrote, and carries out the core's intents
// through the writer. Every decision about one repository runs under the
// store's lock for that repository, so that two triggers racing each other
// (a comment and a push, two replicas) make one handoff issue.
package onboarding

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/ghread"
	"github.com/tasuki-sre/tasuki/internal/handler"
	"github.com/tasuki-sre/tasuki/internal/marker"
	core "github.com/tasuki-sre/tasuki/internal/onboarding"
	"github.com/tasuki-sre/tasuki/internal/ownership"
)

// Owners is what the shell needs of the ownership shell
// (*handler.Ownership provides it).
type Owners interface {
	Facts(ctx context.Context, c *github.Client, owner, repo string) (ownership.Facts, error)
	IsTeamMember(ctx context.Context, c *github.Client, org, team, login string) (bool, error)
	TeamMembers(ctx context.Context, c *github.Client, org, teamSlug string) ([]string, error)
}

// Handler is the onboarding shell: the webhook handler of push,
// pull_request and repository deliveries, the runner of /tasuki onboard,
// done and na (commands.go) and of the daily sweep (sweep.go).
type Handler struct {
	handler.Base
	Owners Owners
}

var _ handler.Feature = (*Handler)(nil)

// New returns the onboarding handler over a copy of b. owners nil uses a
// handler.Ownership over b. Without a Locker in b it uses an in-memory one
// (right for the Action, not for several App replicas).
func New(b *handler.Base, owners Owners) *Handler {
	h := &Handler{Base: *b, Owners: owners}
	if h.Locker == nil {
		h.Locker = &handler.MemLocker{}
	}
	if h.Owners == nil {
		h.Owners = handler.NewOwnership(b.Config, b.Logger())
	}
	return h
}

// Permissions onboarding needs beyond handler's named ones.
const (
	// PermAdministration read shows a branch's protection rule.
	PermAdministration = "administration"
	// PermActions read lists workflow runs.
	PermActions = "actions"
)

// Handles lists push (re-verify; a handoff block added to the
// configuration), pull_request (the transfer pull request merged) and
// repository (a repository created).
func (*Handler) Handles() []string { return []string{"push", "pull_request", "repository"} }

// Permissions are issues write (the handoff, guard and review issues),
// contents and pull requests write (the transfer pull request: a branch,
// a commit, the pull request and its reviewers), members read (teams,
// their members and their permission on the repository), administration
// read (branch protection) and actions read (workflow runs).
func (*Handler) Permissions() map[string]string {
	return handler.MergePermissions(handler.BasePermissions(), handler.WriterIssues(), handler.WriterPullRequestComments(),
		map[string]string{
			handler.PermContents:     handler.Write,
			handler.PermPullRequests: handler.Write,
			handler.PermMembers:      handler.Read,
			PermAdministration:       handler.Read,
			PermActions:              handler.Read,
		})
}

// Handle processes push, pull_request and repository deliveries.
func (h *Handler) Handle(ctx context.Context, d dispatch.Delivery) error {
	log := h.Logger().With("delivery", d.ID, "event", d.Event, "action", d.Action, "installation", d.InstallationID)
	switch d.Event {
	case "push":
		var ev github.PushEvent
		if err := json.Unmarshal(d.Payload, &ev); err != nil {
			return fmt.Errorf("decode %s %s: %w", d.Event, d.ID, err)
		}
		return h.onPush(ctx, log, d.InstallationID, &ev)
	case "pull_request":
		var ev github.PullRequestEvent
		if err := json.Unmarshal(d.Payload, &ev); err != nil {
			return fmt.Errorf("decode %s %s: %w", d.Event, d.ID, err)
		}
		if ev.GetAction() != "closed" || !ev.GetPullRequest().GetMerged() || ev.Repo == nil {
			return nil
		}
		return h.onPullMerged(ctx, log, installation(ev.GetInstallation(), d.InstallationID), ev.Repo, ev.PullRequest)
	case "repository":
		var ev github.RepositoryEvent
		if err := json.Unmarshal(d.Payload, &ev); err != nil {
			return fmt.Errorf("decode %s %s: %w", d.Event, d.ID, err)
		}
		if ev.GetAction() != "created" || ev.Repo == nil {
			return nil
		}
		return h.onRepositoryCreated(ctx, log, installation(ev.GetInstallation(), d.InstallationID), ev.Repo)
	}
	return nil
}

func installation(in *github.Installation, fallback int64) int64 {
	if id := in.GetID(); id != 0 {
		return id
	}
	return fallback
}

// env is what one repository's decisions are made under: its
// configuration, the onboarding section, and the checklist (the built-in
// one until loadChecklist reads the overrides).
type env struct {
	all       config.Config
	cfg       core.Config
	checklist core.Checklist
	overrides bool // loadChecklist ran
	// movedBy is who pushed the commit verified, when the push changed
	// CODEOWNERS or the catalog (core.RepoFacts.MovedBy).
	movedBy string
}

// maxChecklistBytes bounds a checklist override file.
const maxChecklistBytes = 256 << 10

// loadEnv reads the repository's configuration. GitHub failing to answer
// is an error, so that the job retries rather than decide on defaults.
func (h *Handler) loadEnv(ctx context.Context, log *slog.Logger, c *github.Client, owner, repo string) (env, error) {
	e := env{all: config.Default(), cfg: core.DefaultConfig(), checklist: core.Default()}
	if h.Config != nil {
		f := h.Config.Load(ctx, c, owner, repo)
		if err := f.ReadError(); err != nil {
			return e, fmt.Errorf("load config %s/%s: %w", owner, repo, err)
		}
		if f.Err != nil {
			log.WarnContext(ctx, "configuration problem; using defaults where unreadable", "err", f.Err)
		}
		e.all = f.Config
	}
	cfg, err := onboardingConfig(e.all)
	if err != nil {
		log.WarnContext(ctx, "onboarding configuration unusable; using defaults", "err", err)
		cfg = core.DefaultConfig()
	}
	e.cfg = cfg
	return e, nil
}

// loadChecklist completes e's checklist, once: the built-in one overridden
// by the organisation's (in its .github repository) and then the
// repository's. It is read only where a handoff is, so that the pushes
// and daily runs of the many repositories without one cost no reads of
// it. tree, when not nil, lists the repository's files: an override it
// does not list is not asked for. An override that does not parse is left
// out and logged; the handoff goes on with the rest.
func (h *Handler) loadChecklist(ctx context.Context, log *slog.Logger, c *github.Client, owner, repo string, e *env, tree []string) error {
	if e.overrides {
		return nil
	}
	cfg := e.cfg
	// The organisation's file is where the organisation's configuration
	// says: a repository's own configuration must not point it elsewhere
	// (and so drop the organisation's items).
	orgPath := core.DefaultChecklistPath
	if !strings.EqualFold(repo, config.OrgRepo) {
		org, err := h.orgConfig(ctx, c, owner)
		if err != nil {
			return err
		}
		if oc, err := onboardingConfig(org); err == nil && oc.Checklist != "" {
			orgPath = oc.Checklist
		}
	}
	e.checklist = core.Default()
	for _, r := range []string{config.OrgRepo, repo} {
		if r == config.OrgRepo && strings.EqualFold(repo, config.OrgRepo) {
			continue
		}
		path := cfg.Checklist
		if r == config.OrgRepo {
			path = orgPath
		}
		if r == repo && tree != nil && !contains(tree, path) {
			continue
		}
		b, ok, err := ghread.File(ctx, c, owner, r, path, "", maxChecklistBytes)
		if err != nil && !errors.Is(err, ghread.ErrTooLarge) {
			if errors.Is(err, ghread.ErrForbidden) {
				log.WarnContext(ctx, "checklist override unreadable", "repo", owner+"/"+r, "err", err)
				continue
			}
			return err
		}
		if err != nil || !ok {
			if err != nil {
				log.WarnContext(ctx, "checklist override too large; left out", "repo", owner+"/"+r, "err", err)
			}
			continue
		}
		cl, err := core.ParseChecklist(owner+"/"+r+":"+path, b)
		if err != nil {
			log.WarnContext(ctx, "checklist override does not parse; left out", "repo", owner+"/"+r, "err", err)
			continue
		}
		if r == repo {
			// The repository's own file may add and tighten, not relax
			// what the built-in and organisation's checklists say.
			var refused error
			if cl, refused = core.Restrict(e.checklist, cl); refused != nil {
				log.WarnContext(ctx, "checklist override relaxes inherited items; those parts ignored", "repo", owner+"/"+r, "err", refused)
			}
		}
		merged, err := core.Merge(e.checklist, cl)
		if err != nil {
			log.WarnContext(ctx, "checklist override does not merge; left out", "repo", owner+"/"+r, "err", err)
			continue
		}
		e.checklist = merged
	}
	e.overrides = true
	return nil
}

// onboardingConfig returns the onboarding section of cfg (decoded over the
// core's defaults by the configuration loader), or the defaults when it
// does not validate: a section the loader reported is not half used.
func onboardingConfig(cfg config.Config) (core.Config, error) {
	if err := cfg.Onboarding.Validate(); err != nil {
		return core.DefaultConfig(), err
	}
	return cfg.Onboarding, nil
}

// handoff is an open (or, for the guard, closed) handoff issue and the
// state decoded from it.
type handoff struct {
	issue *github.Issue
	state core.State
	// edited: the issue's state is not the one tasuki last wrote (memo.go);
	// state is the one it wrote, and restore puts it back.
	edited bool
}

// maxHandoffIssues bounds the handoff issues listed in one repository.
const maxHandoffIssues = 300

// findHandoff returns the handoff of owner/repo in state ("open" or
// "closed"), newest first the first one whose state decodes: an issue
// tasuki opened (a person's issue carrying the label is not a handoff),
// carrying the handoff label, whose generated block names this repository.
// nil when there is none.
func (h *Handler) findHandoff(ctx context.Context, c *github.Client, cfg core.Config, owner, repo, state string) (*handoff, error) {
	ho, _, err := h.findHandoffs(ctx, c, cfg, owner, repo, state, func(*handoff) bool { return true })
	return ho, err
}

// findHandoffWhere is findHandoff for the newest handoff ok accepts.
func (h *Handler) findHandoffWhere(ctx context.Context, c *github.Client, cfg core.Config, owner, repo, state string, ok func(*handoff) bool) (*handoff, error) {
	ho, _, err := h.findHandoffs(ctx, c, cfg, owner, repo, state, ok)
	return ho, err
}

// findHandoffs is findHandoffWhere, also returning the newest handoff
// issue of another of tasuki's entrances seen in the listing (an App's
// "[bot]" login this identity does not trust: the App's issue as the
// Action sees it, or the Action's as the App sees it), for saying so. It
// is not decoded as a handoff, edited or verified: each entrance trusts
// only its own artefacts.
func (h *Handler) findHandoffs(ctx context.Context, c *github.Client, cfg core.Config, owner, repo, state string, ok func(*handoff) bool) (*handoff, *github.Issue, error) {
	var foreign *github.Issue
	opt := &github.IssueListByRepoOptions{State: state, Labels: []string{cfg.Label}, Sort: "created", Direction: "desc"}
	list := func(lo *github.ListOptions) ([]*github.Issue, *github.Response, error) {
		opt.ListOptions = *lo
		return c.Issues.ListByRepo(ctx, owner, repo, opt)
	}
	for is, err := range ghread.Items(ctx, list, maxHandoffIssues) {
		if errors.Is(err, ghread.ErrTruncated) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("list handoff issues of %s/%s: %w", owner, repo, err)
		}
		if ho := h.decode(ctx, is, owner, repo); ho != nil && ok(ho) {
			return ho, foreign, nil
		}
		if foreign == nil && h.otherEntrance(is, owner, repo) {
			foreign = is
		}
	}
	return nil, foreign, nil
}

// otherEntrance reports whether is is a handoff issue of owner/repo opened
// by a bot this identity does not trust: another of tasuki's entrances (a
// person cannot act as a "[bot]" login).
func (h *Handler) otherEntrance(is *github.Issue, owner, repo string) bool {
	if is == nil || is.IsPullRequest() || h.Identity.Trusts(is.GetUser()) || !strings.HasSuffix(is.GetUser().GetLogin(), "[bot]") {
		return false
	}
	st, found, err := core.DecodeState(is.GetBody())
	return err == nil && found && strings.EqualFold(st.Repo, owner+"/"+repo)
}

// otherEntranceNote says why this entrance (logged in as self) leaves the
// handoff issue is alone.
func otherEntranceNote(is *github.Issue, self []string) string {
	login := is.GetUser().GetLogin()
	note := fmt.Sprintf("handoff issue #%d was opened by %s; ", is.GetNumber(), login)
	action := func(l string) bool { return strings.EqualFold(l, "github-actions[bot]") }
	switch {
	case action(login):
		return note + "the App does not edit the Action's artefacts: run verification from the Action's workflow"
	case slices.ContainsFunc(self, action):
		return note + "the Action does not edit the App's artefacts: run verification from the App"
	}
	return note + "tasuki edits only the artefacts of its own identity: run verification where it was opened"
}

// decode returns the handoff is holds, or nil when is is not tasuki's
// handoff issue of owner/repo.
func (h *Handler) decode(ctx context.Context, is *github.Issue, owner, repo string) *handoff {
	if is == nil || is.IsPullRequest() || !h.Identity.Trusts(is.GetUser()) {
		return nil
	}
	if mem, edited, known := h.remembered(ctx, owner, repo, is); known && strings.EqualFold(mem.Repo, owner+"/"+repo) {
		if !core.IssueMarker(mem.Repo, mem.Started).In(is.GetBody()) {
			// A person removed tasuki's marker with the block: the writer
			// edits no issue without it, so this is no handoff tasuki can
			// keep (plan review reads its phase as unknown).
			return nil
		}
		// What tasuki wrote, whatever a person made of the body since.
		mem.Issue = is.GetNumber()
		return &handoff{issue: is, state: mem, edited: edited}
	}
	st, found, err := core.DecodeState(is.GetBody())
	if err != nil || !found || !strings.EqualFold(st.Repo, owner+"/"+repo) {
		return nil
	}
	st.Issue = is.GetNumber()
	return &handoff{issue: is, state: st}
}

// lockKey is the lock every decision about owner/repo's handoff runs under.
func lockKey(owner, repo string) string {
	return "onboarding:" + strings.ToLower(owner+"/"+repo)
}

// replyMarker keys the one reply to a comment's verb, apart from the
// command shell's own reply to the comment.
func replyMarker(verb string, commentID int64) marker.Marker {
	return marker.New("sre-handoff-reply", fmt.Sprintf("%s-%d", verb, commentID))
}

// splitTeam reads "@org/slug", "org/slug" or "slug" (of defaultOrg).
func splitTeam(team, defaultOrg string) (org, slug string) {
	t := strings.TrimPrefix(strings.TrimSpace(team), "@")
	if o, s, ok := strings.Cut(t, "/"); ok {
		return o, s
	}
	return defaultOrg, t
}
