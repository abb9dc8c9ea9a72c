package leadtime

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/ghwrite"
	"github.com/tasuki-sre/tasuki/internal/handler"
	"github.com/tasuki-sre/tasuki/internal/ownership"
)

// Owners is what lead time needs of the ownership model
// (*handler.Ownership provides it): the repository's handoff in progress,
// read from the handoff issue only tasuki opened.
type Owners interface {
	ResolveHandoff(ctx context.Context, c *github.Client, owner, repo string, cfg ownership.Config, label string, trust ghwrite.Identity, labels, paths []string) (ownership.Owners, error)
}

// handoffTTL is how long a repository's handoff team, once read, serves the
// events that follow: a phase moves in days, a busy repository's CI sends
// hundreds of workflow_job events an hour.
const handoffTTL = 10 * time.Minute

// maxHandoffsCached bounds the repositories whose handoff team is held.
const maxHandoffsCached = 10_000

type handoffSeen struct {
	at   time.Time
	team string
}

// handoffTeam is the team owning owner/repo now while its handoff is in
// progress (handler.EffectiveTeam), "" when no handoff is.
func (h *Handler) handoffTeam(ctx context.Context, c *github.Client, owner, repo string, cfg config.Config) (string, error) {
	o, err := h.Owners.ResolveHandoff(ctx, c, owner, repo, cfg.Ownership, cfg.Onboarding.Label, h.Identity, nil, nil)
	if err != nil {
		return "", err
	}
	if o.Handoff == nil || o.Handoff.Primary == "" {
		return "", nil
	}
	return handler.EffectiveTeam(o), nil
}

// cachedHandoffTeam is handoffTeam read at most once per handoffTTL per
// repository. When GitHub does not answer, the team last remembered serves
// (a failed read must not move the repository's metrics to another team).
func (h *Handler) cachedHandoffTeam(ctx context.Context, log *slog.Logger, c *github.Client, owner, repo string, cfg config.Config) string {
	if h.Owners == nil {
		return ""
	}
	key := strings.ToLower(owner + "/" + repo)
	now := h.Clock()
	h.settings.mu.Lock()
	seen, ok := h.settings.handoffs[key]
	h.settings.mu.Unlock()
	if ok && now.Sub(seen.at) < handoffTTL {
		return seen.team
	}
	team, err := h.handoffTeam(ctx, c, owner, repo, cfg)
	if err != nil {
		log.WarnContext(ctx, "could not read the handoff in progress; keeping the team last known", "err", err)
		if ok {
			return seen.team
		}
		st, _ := LoadSettings(ctx, h.Memo, owner+"/"+repo)
		return st.HandoffTeam
	}
	h.settings.seenHandoff(key, now, team)
	return team
}

// refreshHandoff is st, remembered for repo, with its handoff team read
// now: the weekly report names the team owning the repository this week,
// whether or not an event came since the phase moved. Failures keep st.
func (h *Handler) refreshHandoff(ctx context.Context, log *slog.Logger, c *github.Client, repo string, st RepoSettings) RepoSettings {
	if h.Owners == nil || h.Config == nil {
		return st
	}
	owner, name, _ := strings.Cut(repo, "/")
	f := h.Config.Load(ctx, c, owner, name)
	if err := f.ReadError(); err != nil {
		log.WarnContext(ctx, "could not read the configuration; report teams as last remembered", "section", repo, "err", err)
		return st
	}
	team, err := h.handoffTeam(ctx, c, owner, name, f.Config)
	if err != nil {
		log.WarnContext(ctx, "could not read the handoff in progress; report teams as last remembered", "section", repo, "err", err)
		return st
	}
	h.settings.seenHandoff(strings.ToLower(repo), h.Clock(), team)
	if team == st.HandoffTeam {
		return st
	}
	st.HandoffTeam = team
	if err := h.settings.remember(ctx, h.Memo, repo, st); err != nil {
		log.WarnContext(ctx, "remember settings", "err", err)
	}
	return st
}

func (c *settingsCache) seenHandoff(key string, at time.Time, team string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.handoffs == nil || len(c.handoffs) >= maxHandoffsCached {
		c.handoffs = map[string]handoffSeen{}
	}
	c.handoffs[key] = handoffSeen{at: at, team: team}
}
