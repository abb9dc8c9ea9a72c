package onboarding

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/ghread"
	"github.com/tasuki-sre/tasuki/internal/ghwrite"
	core "github.com/tasuki-sre/tasuki/internal/onboarding"
	"github.com/tasuki-sre/tasuki/internal/ownership"
)

// AppLister gives the App's own (JWT) client, which lists installations
// (*ghclient.Clients provides it).
type AppLister interface {
	App() *github.Client
}

// SweepInterval is how often the App runs the onboarding sweep (the
// store's periodic job named "onboarding-sweep").
const SweepInterval = 24 * time.Hour

// Bounds of the sweep's listings; past one, the sweep covers what it read
// and logs a warning.
const (
	maxInstallations = 10000
	maxRepos         = 10000
	maxIncidents     = 1000 // of one incident label in the window
)

// SweepInstallations runs the daily sweep on every repository of every
// installation. A failing repository is logged and the others still swept;
// the errors are returned joined so the job retries.
func (h *Handler) SweepInstallations(ctx context.Context, apps AppLister) error {
	log := h.Logger().With("job", "onboarding-sweep")
	return ghread.EachInstallation(ctx, log, apps.App(), maxInstallations, h.Client, func(in *github.Installation, c *github.Client) error {
		ilog := log.With("installation", in.GetID())
		err := ghread.EachIssueRepo(ctx, ilog, c, maxRepos, func(owner, repo string) error {
			if err := h.sweepRepo(ctx, ilog, c, owner, repo); err != nil {
				ilog.ErrorContext(ctx, "onboarding sweep of a repository failed", "repo", owner+"/"+repo, "err", err)
				return err
			}
			return nil
		})
		if err != nil {
			log.ErrorContext(ctx, "onboarding sweep failed", "installation", in.GetID(), "err", err)
		}
		return err
	})
}

// Sweep runs the daily sweep on one repository with the client of
// installation 0 (the Action's GITHUB_TOKEN client).
func (h *Handler) Sweep(ctx context.Context, owner, repo string) error {
	c, err := h.Client(ctx, 0)
	if err != nil {
		return err
	}
	return h.sweepRepo(ctx, h.Logger().With("job", "onboarding-sweep"), c, owner, repo)
}

// sweepRepo re-verifies the open handoff of owner/repo (expired
// attestations, overdue phases, files that changed), and for a repository
// handed over guards it and weighs its incidents for a hand-back review.
func (h *Handler) sweepRepo(ctx context.Context, log *slog.Logger, c *github.Client, owner, repo string) error {
	log = log.With("repo", owner+"/"+repo)
	e, err := h.loadEnv(ctx, log, c, owner, repo)
	if err != nil {
		return err
	}
	return h.Locker.WithLock(ctx, lockKey(owner, repo), func(ctx context.Context) error {
		open, err := h.findHandoff(ctx, c, e.cfg, owner, repo, "open")
		if err != nil {
			return err
		}
		if open != nil {
			return h.verify(ctx, log, c, e, owner, repo, open)
		}
		// The newest handoff that transferred: one closed without a
		// transfer (abandoned) guards nothing.
		done, err := h.findHandoffWhere(ctx, c, e.cfg, owner, repo, "closed", func(ho *handoff) bool { return !ho.state.Transferred.IsZero() })
		if err != nil || done == nil {
			return err
		}
		if err := h.guard(ctx, log, c, e, owner, repo, done); err != nil {
			return err
		}
		return h.handBack(ctx, log, c, e, owner, repo, done)
	})
}

// guard checks a handed-over repository and opens, updates or closes its
// one guard issue.
func (h *Handler) guard(ctx context.Context, log *slog.Logger, c *github.Client, e env, owner, repo string, done *handoff) error {
	full := owner + "/" + repo
	w := h.Writer(c)
	gi, err := w.FindIssue(ctx, owner, repo, core.GuardMarker(full), ghwrite.IssueLookup{Label: e.cfg.GuardLabel, NoSearch: true})
	if err != nil {
		return err
	}
	in := core.GuardInput{State: done.state}
	if gi != nil {
		in.GuardIssue, in.GuardOpen, in.GuardBody = gi.GetNumber(), gi.GetState() == "open", gi.GetBody()
	}
	facts, bs, err := h.readHead(ctx, c, owner, repo)
	if err != nil {
		return err
	}
	if err := h.readFacts(ctx, c, owner, repo, done.state, e.checklist, core.GuardNeeds(), &facts, bs); err != nil {
		return err
	}
	in.Facts = facts
	d := core.Guard(in, e.cfg, h.Clock())
	if len(d.Intents) > 0 {
		log.InfoContext(ctx, "handoff guard", "guard_issue", in.GuardIssue, "writes", len(d.Intents))
	}
	_, err = w.Execute(ctx, owner, repo, d.Intents)
	return err
}

// handBack counts the service's incidents (the postmortem feature's
// incident issues) and lets the core decide on a reliability review.
func (h *Handler) handBack(ctx context.Context, log *slog.Logger, c *github.Client, e env, owner, repo string, done *handoff) error {
	days := e.cfg.HandBack.WindowDays
	if days <= 0 {
		days = 28
	}
	since := h.Clock().Add(-time.Duration(days) * 24 * time.Hour)
	pc := e.all.Postmortem
	var incidents []core.Incident
	seen := map[int]bool{}
	for _, label := range pc.IncidentLabels {
		list, err := ghread.IssuesLabeled(ctx, c, owner, repo, []string{label}, since, maxIncidents)
		if err != nil && !errors.Is(err, ghread.ErrTruncated) {
			return err
		}
		for _, is := range list {
			if seen[is.Number] || is.CreatedAt.Before(since) {
				continue
			}
			seen[is.Number] = true
			incidents = append(incidents, core.Incident{Ref: owner + "/" + repo + "#" + strconv.Itoa(is.Number), URL: is.URL,
				Severity: pc.Severity(is.Labels), Started: is.CreatedAt})
		}
	}
	service := repo
	if f, err := h.Owners.Facts(ctx, c, owner, repo); err == nil {
		service = ownership.Resolve(f, e.all.Ownership).Service
	}
	open, err := h.openIssue(ctx, c, owner, repo, core.DefaultHandBackLabel)
	if err != nil {
		return err
	}
	d := core.HandBack(core.HandBackInput{Repo: owner + "/" + repo, Service: service, Team: done.state.Team,
		CoreTeam: done.state.CoreTeam, Incidents: incidents, Open: open}, e.cfg, h.Clock())
	if len(d.Intents) > 0 {
		log.InfoContext(ctx, "hand-back review", "incidents", len(incidents))
	}
	_, err = h.Writer(c).Execute(ctx, owner, repo, d.Intents)
	return err
}

// maxReviewIssues bounds the open reliability review issues listed.
const maxReviewIssues = 100

// openIssue returns the number of tasuki's newest open issue carrying
// label, 0 when none: a person's issue with the label does not count.
func (h *Handler) openIssue(ctx context.Context, c *github.Client, owner, repo, label string) (int, error) {
	opt := &github.IssueListByRepoOptions{State: "open", Labels: []string{label}, Sort: "created", Direction: "desc"}
	list := func(lo *github.ListOptions) ([]*github.Issue, *github.Response, error) {
		opt.ListOptions = *lo
		return c.Issues.ListByRepo(ctx, owner, repo, opt)
	}
	for is, err := range ghread.Items(ctx, list, maxReviewIssues) {
		if errors.Is(err, ghread.ErrTruncated) {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("list %s issues of %s/%s: %w", label, owner, repo, err)
		}
		if !is.IsPullRequest() && h.Identity.Trusts(is.GetUser()) {
			return is.GetNumber(), nil
		}
	}
	return 0, nil
}

// Report is what a verification found, for the Action's output.
type Report struct {
	Repo string `json:"repo"`
	// Open is whether the repository has an open handoff; the rest is
	// about it.
	Open     bool             `json:"open"`
	Issue    int              `json:"issue,omitempty"`
	URL      string           `json:"url,omitempty"`
	Team     string           `json:"team,omitempty"`
	CoreTeam string           `json:"core_team,omitempty"`
	Tier     string           `json:"tier,omitempty"`
	Phase    core.Phase       `json:"phase,omitempty"`
	Items    []core.ItemState `json:"items,omitempty"`
	// Unavailable says which facts could not be read and why (a token
	// without a permission): the items using them stay pending.
	Unavailable map[core.Fact]string `json:"unavailable,omitempty"`
	// OtherEntrance, when there is no open handoff of this identity's,
	// is the open handoff issue another of tasuki's entrances opened (the
	// App's, seen from the Action), which this one leaves alone; Note says
	// so in words.
	OtherEntrance int    `json:"other_entrance_issue,omitempty"`
	Note          string `json:"note,omitempty"`
}

// VerifyRepo re-verifies the open handoff of owner/repo with the client of
// installation 0 (the Action's GITHUB_TOKEN client), updating its issue,
// and reports what it found.
func (h *Handler) VerifyRepo(ctx context.Context, owner, repo string) (Report, error) {
	rep := Report{Repo: owner + "/" + repo}
	c, err := h.Client(ctx, 0)
	if err != nil {
		return rep, err
	}
	log := h.Logger().With("repo", owner+"/"+repo)
	e, err := h.loadEnv(ctx, log, c, owner, repo)
	if err != nil {
		return rep, err
	}
	err = h.Locker.WithLock(ctx, lockKey(owner, repo), func(ctx context.Context) error {
		open, foreign, err := h.findHandoffs(ctx, c, e.cfg, owner, repo, "open", func(*handoff) bool { return true })
		if err != nil {
			return err
		}
		if open == nil {
			if foreign != nil {
				rep.OtherEntrance, rep.URL, rep.Note = foreign.GetNumber(), foreign.GetHTMLURL(), otherEntranceNote(foreign, h.Identity.Logins)
			}
			return nil
		}
		d, facts, err := h.verifyFacts(ctx, log, c, e, owner, repo, open)
		st := d.State
		if st.Repo == "" {
			st = open.state
		}
		rep.Open, rep.Issue, rep.URL = true, open.state.Issue, open.issue.GetHTMLURL()
		rep.Team, rep.CoreTeam, rep.Tier, rep.Phase, rep.Items = st.Team, st.CoreTeam, st.Tier, st.Phase, st.Items
		if len(facts.Unavailable) > 0 {
			rep.Unavailable = facts.Unavailable
		}
		return err
	})
	return rep, err
}
