package onboarding

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/ghread"
	"github.com/tasuki-sre/tasuki/internal/handler"
	"github.com/tasuki-sre/tasuki/internal/marker"
	core "github.com/tasuki-sre/tasuki/internal/onboarding"
	"github.com/tasuki-sre/tasuki/internal/ownership"
)

// onPush re-verifies the open handoff after a push to the default branch,
// and starts one when the push added an ownership.handoff block to
// .github/tasuki.yml.
func (h *Handler) onPush(ctx context.Context, log *slog.Logger, inst int64, ev *github.PushEvent) error {
	r := ev.GetRepo()
	if r == nil || ev.GetDeleted() || ev.GetRef() != "refs/heads/"+r.GetDefaultBranch() {
		return nil
	}
	if id := ev.GetInstallation().GetID(); id != 0 {
		inst = id
	}
	owner, repo := r.GetOwner().GetLogin(), r.GetName()
	if owner == "" {
		owner, _, _ = strings.Cut(r.GetFullName(), "/")
	}
	log = log.With("repo", owner+"/"+repo)
	c, err := h.Client(ctx, inst)
	if err != nil {
		return err
	}
	e, err := h.loadEnv(ctx, log, c, owner, repo)
	if err != nil {
		return err
	}
	added, err := h.handoffAdded(ctx, c, ev, owner, repo)
	if err != nil {
		return err
	}
	if touchesOwners(ev) {
		e.movedBy = ev.GetSender().GetLogin()
	}
	return h.Locker.WithLock(ctx, lockKey(owner, repo), func(ctx context.Context) error {
		open, err := h.findHandoff(ctx, c, e.cfg, owner, repo, "open")
		if err != nil {
			return err
		}
		if open != nil {
			return h.verify(ctx, log, c, e, owner, repo, open)
		}
		if added == nil {
			return nil
		}
		// Anyone with write access can push the block, and in the same
		// push name any team as ownership.core_sre_team or as the owner
		// in CODEOWNERS: who hands the repository over, and so may tick
		// its items, is the organisation's configuration's to say alone.
		orgCfg, err := h.orgConfig(ctx, c, owner)
		if err != nil {
			return err
		}
		if orgCfg.Ownership.CoreSRETeam == "" {
			log.WarnContext(ctx, "ownership.handoff added, but the organisation's configuration names no ownership.core_sre_team; not starting")
			return nil
		}
		org, slug := splitTeam(orgCfg.Ownership.CoreSRETeam, owner)
		// The handoff records who pushed the block as who started it.
		actor := "config"
		if p := ev.GetSender().GetLogin(); loginRE.MatchString(p) {
			actor = p
		}
		_, _, err = h.start(ctx, log, c, e, owner, repo, core.StartRequest{
			Repo: owner + "/" + repo, Team: added.Team, Tier: added.Tier, Actor: actor, Trigger: "config",
			ActorIsCore: true, CoreTeam: teamRef(owner, org, slug),
		})
		return err
	})
}

// loginRE is a GitHub login (a bot's with its "[bot]" suffix).
var loginRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$`)

// touchesOwners reports whether a commit of the push changed CODEOWNERS
// or the catalog, the files that say who owns the repository.
func touchesOwners(ev *github.PushEvent) bool {
	for _, cm := range ev.Commits {
		for _, files := range [][]string{cm.Added, cm.Modified} {
			for _, f := range files {
				if f == core.CatalogPath || contains(core.CODEOWNERSPaths, f) {
					return true
				}
			}
		}
	}
	return false
}

// handoffAdded returns the ownership.handoff block the push added to the
// repository's .github/tasuki.yml (absent before, or naming another team),
// or nil. It reads the file, before and after, only when a commit of the
// push touched it.
func (h *Handler) handoffAdded(ctx context.Context, c *github.Client, ev *github.PushEvent, owner, repo string) (*ownership.HandoffConfig, error) {
	touched := false
	for _, cm := range ev.Commits {
		for _, files := range [][]string{cm.Added, cm.Modified} {
			for _, f := range files {
				touched = touched || f == config.Path
			}
		}
	}
	if !touched {
		return nil, nil
	}
	now, err := h.handoffAt(ctx, c, owner, repo, ev.GetAfter())
	if err != nil || now == nil {
		return nil, err
	}
	before := ev.GetBefore()
	if before == "" || strings.Trim(before, "0") == "" {
		return now, nil
	}
	was, err := h.handoffAt(ctx, c, owner, repo, before)
	if err != nil {
		return nil, err
	}
	if was != nil && strings.EqualFold(strings.TrimPrefix(was.Team, "@"), strings.TrimPrefix(now.Team, "@")) {
		return nil, nil
	}
	return now, nil
}

// handoffAt reads the ownership.handoff block of the repository's own
// .github/tasuki.yml at ref (the block belongs in the repository's file,
// not in the organisation's defaults). A file that does not parse has no
// block: the config check reports it.
func (h *Handler) handoffAt(ctx context.Context, c *github.Client, owner, repo, ref string) (*ownership.HandoffConfig, error) {
	b, ok, err := ghread.File(ctx, c, owner, repo, config.Path, ref, config.MaxSize)
	if errors.Is(err, ghread.ErrTooLarge) {
		return nil, nil
	}
	if err != nil || !ok {
		return nil, err
	}
	f := config.Parse(owner+"/"+repo, nil, b)
	hc := f.Config.Ownership.Handoff
	if hc == nil || strings.TrimSpace(hc.Team) == "" {
		return nil, nil
	}
	return hc, nil
}

// onPullMerged records the merge of a transfer pull request: one tasuki
// opened, carrying the transfer marker of the repository's open handoff.
func (h *Handler) onPullMerged(ctx context.Context, log *slog.Logger, inst int64, r *github.Repository, pr *github.PullRequest) error {
	owner, repo := r.GetOwner().GetLogin(), r.GetName()
	if !h.Identity.Trusts(pr.GetUser()) || !hasTransferMarker(pr.GetBody(), owner, repo) {
		return nil // most merges: no API call at all
	}
	log = log.With("repo", owner+"/"+repo, "pr", pr.GetNumber())
	c, err := h.Client(ctx, inst)
	if err != nil {
		return err
	}
	e, err := h.loadEnv(ctx, log, c, owner, repo)
	if err != nil {
		return err
	}
	return h.Locker.WithLock(ctx, lockKey(owner, repo), func(ctx context.Context) error {
		ho, err := h.findHandoff(ctx, c, e.cfg, owner, repo, "open")
		if err != nil || ho == nil {
			return err // a redelivery after the handoff closed: nothing to do
		}
		// The pull request's body as GitHub has it now, not as the event
		// carried it.
		cur, _, err := c.PullRequests.Get(ctx, owner, repo, pr.GetNumber())
		if err != nil {
			return fmt.Errorf("read pull request %s/%s#%d: %w", owner, repo, pr.GetNumber(), err)
		}
		if !h.Identity.Trusts(cur.GetUser()) || !cur.GetMerged() || !core.TransferMarker(ho.state).In(cur.GetBody()) {
			return nil
		}
		_, _, err = h.recordMerge(ctx, log, c, e, owner, repo, ho, cur)
		return err
	})
}

// hasTransferMarker reports whether body carries a transfer marker of
// owner/repo's handoffs.
func hasTransferMarker(body, owner, repo string) bool {
	kind := core.TransferMarker(core.State{Repo: owner + "/" + repo}).Kind
	for _, m := range marker.Find(body) {
		if m.Kind == kind {
			return true
		}
	}
	return false
}

// onRepositoryCreated starts the handoff of a new repository when its
// organisation's configuration asks (onboarding.new_repositories).
func (h *Handler) onRepositoryCreated(ctx context.Context, log *slog.Logger, inst int64, r *github.Repository) error {
	owner, repo := r.GetOwner().GetLogin(), r.GetName()
	log = log.With("repo", owner+"/"+repo)
	c, err := h.Client(ctx, inst)
	if err != nil {
		return err
	}
	// Only the organisation's defaults may ask: a new repository's own
	// file is its creator's, and a template could carry one.
	org, err := h.orgConfig(ctx, c, owner)
	if err != nil {
		return err
	}
	ocfg, err := onboardingConfig(org)
	if err != nil || !ocfg.NewRepositories.Enabled {
		return nil
	}
	nr := ocfg.NewRepositories
	e, err := h.loadEnv(ctx, log, c, owner, repo)
	if err != nil {
		return err
	}
	// Who hands it over, and so may tick its items, is the organisation's
	// to say: the new repository's file and CODEOWNERS are its creator's.
	coreOrg, slug := splitTeam(org.Ownership.CoreSRETeam, owner)
	if org.Ownership.CoreSRETeam == "" {
		log.WarnContext(ctx, "new repository: the organisation's configuration names no ownership.core_sre_team; not starting a handoff")
		return nil
	}
	team := nr.Team
	if team == "" {
		// The repository's owner named in its files (a template may carry
		// them); the core SRE team is then who hands it over.
		f, err := h.Owners.Facts(ctx, c, owner, repo)
		if err != nil {
			return err
		}
		if o := ownership.Resolve(f, ownership.DefaultConfig()); o.Team != "" && !strings.EqualFold(o.Team, slug) {
			team = o.Team
		}
	}
	if team == "" || slug == "" {
		log.WarnContext(ctx, "new repository: no incoming team or no core SRE team known; not starting a handoff",
			"team", team, "core_team", slug)
		return nil
	}
	return h.Locker.WithLock(ctx, lockKey(owner, repo), func(ctx context.Context) error {
		_, _, err := h.start(ctx, log, c, e, owner, repo, core.StartRequest{
			Repo: owner + "/" + repo, Team: team, Tier: nr.Tier, Actor: "repository.created", Trigger: "repository.created",
			ActorIsCore: true, CoreTeam: teamRef(owner, coreOrg, slug),
		})
		if errors.Is(err, ghread.ErrForbidden) {
			log.WarnContext(ctx, "new repository: GitHub refused a read; not starting a handoff", "err", err)
			return nil
		}
		return err
	})
}

// orgConfig reads the organisation's defaults alone (<owner>/.github's
// .github/tasuki.yml); none is the built-in defaults.
func (h *Handler) orgConfig(ctx context.Context, c *github.Client, owner string) (config.Config, error) {
	if h.Config != nil {
		// Through the loader, which the App's caches: the file is read
		// for every verification (loadChecklist) and seldom changes.
		f := h.Config.Load(ctx, c, owner, config.OrgRepo)
		if err := f.ReadError(); handler.IsStatus(err, http.StatusForbidden) || errors.Is(err, ghread.ErrForbidden) {
			return config.Default(), nil // as an absent file: the installation cannot see it
		} else if err != nil {
			return config.Config{}, fmt.Errorf("load config %s/%s: %w", owner, config.OrgRepo, err)
		}
		return f.Config, nil
	}
	b, ok, err := ghread.File(ctx, c, owner, config.OrgRepo, config.Path, "", config.MaxSize)
	if errors.Is(err, ghread.ErrTooLarge) || errors.Is(err, ghread.ErrForbidden) {
		return config.Default(), nil
	}
	if err != nil {
		return config.Config{}, err
	}
	if !ok {
		return config.Default(), nil
	}
	return config.Parse(owner+"/"+config.OrgRepo, b, nil).Config, nil
}
