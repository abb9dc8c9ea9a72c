package handler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/ghread"
	"github.com/tasuki-sre/tasuki/internal/ghwrite"
	"github.com/tasuki-sre/tasuki/internal/onboarding"
	"github.com/tasuki-sre/tasuki/internal/ownership"
)

// CODEOWNERSPaths are where GitHub looks for CODEOWNERS, in its order: the
// first one found wins.
var CODEOWNERSPaths = []string{".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"}

// CatalogInfoPath is where a repository keeps its Backstage descriptor.
const CatalogInfoPath = "catalog-info.yaml"

// Ownership is the shell of the ownership model: it reads catalog-info.yaml,
// CODEOWNERS and team memberships from GitHub and resolves owners with
// ownership.Resolve. Review uses it for who may approve, postmortem for who
// owns the follow-up.
type Ownership struct {
	config ConfigLoader
	log    *slog.Logger
	ttl    time.Duration
	now    func() time.Time

	// members, when set, answers team membership instead of the caller's
	// client: the Action's GITHUB_TOKEN cannot read teams.
	members *github.Client
	// handoffMemo, when set, is where the onboarding shell remembers the
	// handoff state it wrote; ResolveHandoff checks the issue against it.
	handoffMemo ghwrite.Memo

	mu       sync.Mutex
	facts    map[string]factsEntry
	handoffs map[string]handoffEntry
}

type factsEntry struct {
	at    time.Time
	facts ownership.Facts
}

type handoffEntry struct {
	at time.Time
	h  *ownership.Handoff
}

// OwnershipOption configures an Ownership.
type OwnershipOption func(*Ownership)

// WithOwnershipTTL sets how long the files read for a repository are reused
// (default 30s, 0 turns caching off). Most repositories have no
// catalog-info.yaml and no CODEOWNERS, and a 404 is not cached by ETag, so
// without this every evaluation would spend four calls finding nothing.
func WithOwnershipTTL(d time.Duration) OwnershipOption { return func(o *Ownership) { o.ttl = d } }

// WithOwnershipClock sets the clock the cache uses.
func WithOwnershipClock(now func() time.Time) OwnershipOption {
	return func(o *Ownership) { o.now = now }
}

// WithMembersClient makes TeamMembers and IsTeamMember ask GitHub through c
// rather than the client they are given: the Action's GITHUB_TOKEN cannot
// read team membership, a token with members:read (members-token) can.
func WithMembersClient(c *github.Client) OwnershipOption {
	return func(o *Ownership) { o.members = c }
}

// WithHandoffMemo makes ResolveHandoff check a handoff issue's state
// against the state the onboarding shell last wrote (HandoffChecked), so
// that postmortem and lead time, like plan review, do not take a phase
// someone typed into the issue. The App passes its store; the Action's memo
// lives for one job and protects nothing.
func WithHandoffMemo(m ghwrite.Memo) OwnershipOption {
	return func(o *Ownership) { o.handoffMemo = m }
}

// NewOwnership returns an Ownership reading the ownership section of each
// repository's configuration through cfg (nil means defaults only) and
// logging problems in the repository's files to log (nil means the default
// logger).
func NewOwnership(cfg ConfigLoader, log *slog.Logger, opts ...OwnershipOption) *Ownership {
	if log == nil {
		log = slog.Default()
	}
	o := &Ownership{config: cfg, log: log, ttl: 30 * time.Second, now: time.Now, facts: map[string]factsEntry{},
		handoffs: map[string]handoffEntry{}}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// Resolve returns the owners of owner/repo, of the change touching paths (may
// be nil) or the incident carrying labels (may be nil), reading the
// repository's configuration, catalog-info.yaml and CODEOWNERS from its
// default branch. Problems in those files are logged and returned in
// Owners.Warnings; the error is for GitHub failing to answer.
func (o *Ownership) Resolve(ctx context.Context, c *github.Client, owner, repo string, labels, paths []string) (ownership.Owners, error) {
	cfg := ownership.DefaultConfig()
	if o.config != nil {
		f := o.config.Load(ctx, c, owner, repo)
		if err := f.ReadError(); err != nil {
			// Defaults could name the wrong owners; let the job retry.
			return ownership.Owners{}, fmt.Errorf("load config %s/%s: %w", owner, repo, err)
		}
		cfg = f.Config.Ownership
	}
	return o.ResolveWith(ctx, c, owner, repo, cfg, labels, paths)
}

// ResolveWith is Resolve for a caller that already holds the configuration.
func (o *Ownership) ResolveWith(ctx context.Context, c *github.Client, owner, repo string, cfg ownership.Config, labels, paths []string) (ownership.Owners, error) {
	facts, err := o.Facts(ctx, c, owner, repo)
	if err != nil {
		return ownership.Owners{}, err
	}
	facts.Labels, facts.Paths = labels, paths
	res := ownership.Resolve(facts, cfg)
	for _, w := range res.Warnings {
		o.log.WarnContext(ctx, "ownership file problem", "repo", owner+"/"+repo, "problem", w)
	}
	return res, nil
}

// Facts reads catalog-info.yaml and the first CODEOWNERS GitHub would use
// from the default branch of owner/repo. Absent files are left nil.
func (o *Ownership) Facts(ctx context.Context, c *github.Client, owner, repo string) (ownership.Facts, error) {
	key := strings.ToLower(owner + "/" + repo)
	if o.ttl > 0 {
		o.mu.Lock()
		e, ok := o.facts[key]
		o.mu.Unlock()
		if ok && o.now().Sub(e.at) < o.ttl {
			return e.facts, nil
		}
	}
	f, err := o.readFacts(ctx, c, owner, repo)
	if err != nil {
		return f, err
	}
	if o.ttl > 0 {
		o.mu.Lock()
		now := o.now()
		if len(o.facts) > 10000 {
			for k, e := range o.facts {
				if now.Sub(e.at) >= o.ttl {
					delete(o.facts, k)
				}
			}
		}
		o.facts[key] = factsEntry{at: now, facts: f}
		o.mu.Unlock()
	}
	return f, nil
}

// readFacts reads the files behind Facts. The byte slices are never changed
// afterwards (Resolve only reads them), so cached Facts can be shared.
func (o *Ownership) readFacts(ctx context.Context, c *github.Client, owner, repo string) (ownership.Facts, error) {
	f := ownership.Facts{Repo: owner + "/" + repo}
	b, ok, err := ownershipReadFile(ctx, c, owner, repo, CatalogInfoPath)
	if err != nil {
		return f, err
	}
	if ok {
		f.CatalogInfo = b
	}
	for _, p := range CODEOWNERSPaths {
		b, ok, err := ownershipReadFile(ctx, c, owner, repo, p)
		if err != nil {
			return f, err
		}
		if ok {
			f.CODEOWNERS, f.CODEOWNERSPath = b, p
			break
		}
	}
	return f, nil
}

// HasMembersClient reports whether membership is asked through a client
// of its own (WithMembersClient).
func (o *Ownership) HasMembersClient() bool { return o.members != nil }

// maxHandoffIssues bounds the open handoff issues read for one repository:
// tasuki opens one per handoff, so more are other people's.
const maxHandoffIssues = 100

// Handoff returns the handoff in progress of owner/repo, nil when none: the
// state of the newest open issue labelled label (onboarding.DefaultLabel
// when empty) that trust's logins opened. An issue with the label opened by
// anyone else is ignored whatever it says: a PR author must not be able to
// move approvals to a team of their choosing. One conditional list request
// (a 304 is free), remembered for the Ownership's TTL, so a delivery read
// by several handlers asks once.
func (o *Ownership) Handoff(ctx context.Context, c *github.Client, owner, repo, label string, trust ghwrite.Identity) (*ownership.Handoff, error) {
	return o.HandoffChecked(ctx, c, owner, repo, label, trust, nil)
}

// HandoffChecked is Handoff checking the issue's state against the one the
// onboarding shell last wrote there, remembered in memo (nil: not
// checked). Anyone with write access can edit the issue's body: a state
// that is not the one tasuki wrote gives the handoff with the teams tasuki
// wrote and onboarding.PhaseUnknown, which names no primary (plan review
// then requires the core SRE team's approval on a risky plan).
func (o *Ownership) HandoffChecked(ctx context.Context, c *github.Client, owner, repo, label string, trust ghwrite.Identity, memo ghwrite.Memo) (*ownership.Handoff, error) {
	if label == "" {
		label = onboarding.DefaultLabel
	}
	key := strings.ToLower(owner + "/" + repo + "\x00" + label)
	if memo != nil {
		key += "\x00checked"
	}
	if o.ttl > 0 {
		o.mu.Lock()
		e, ok := o.handoffs[key]
		o.mu.Unlock()
		if ok && o.now().Sub(e.at) < o.ttl {
			return e.h, nil
		}
	}
	opts := &github.IssueListByRepoOptions{State: "open", Labels: []string{label}}
	list := func(lo *github.ListOptions) ([]*github.Issue, *github.Response, error) {
		opts.ListOptions = *lo
		return c.Issues.ListByRepo(ctx, owner, repo, opts)
	}
	var h *ownership.Handoff
	for is, err := range ghread.Items(ctx, list, maxHandoffIssues) {
		if errors.Is(err, ghread.ErrTruncated) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("list open %q issues of %s/%s: %w", label, owner, repo, err)
		}
		if is.IsPullRequest() || !trust.Trusts(is.GetUser()) {
			continue
		}
		if memo != nil {
			v, ok, err := memo.Get(ctx, onboarding.StateMemoKey(owner+"/"+repo, is.GetNumber()))
			if err != nil {
				return nil, fmt.Errorf("read remembered handoff state of %s/%s#%d: %w", owner, repo, is.GetNumber(), err)
			}
			if ok && v != "" {
				if mem, edited, known := onboarding.CheckState(is.GetBody(), v); known && edited {
					o.log.WarnContext(ctx, "handoff state edited outside tasuki; its phase is not trusted", "repo", owner+"/"+repo, "issue", is.GetNumber())
					h, _ = onboarding.HandoffOfEdited(mem)
					break
				}
			}
		}
		if got, ok := onboarding.HandoffOf(is.GetBody()); ok {
			h = got
		}
		break // the newest of tasuki's handoff issues is the one in progress
	}
	if o.ttl > 0 {
		o.mu.Lock()
		now := o.now()
		if len(o.handoffs) > 10000 {
			for k, e := range o.handoffs {
				if now.Sub(e.at) >= o.ttl {
					delete(o.handoffs, k)
				}
			}
		}
		o.handoffs[key] = handoffEntry{at: now, h: h}
		o.mu.Unlock()
	}
	return h, nil
}

// ResolveHandoff is ResolveWith for a service that may be in handoff: it
// also reads the repository's handoff issue (Handoff), so that
// Owners.Handoff says who is primary and who secondary in its phase.
func (o *Ownership) ResolveHandoff(ctx context.Context, c *github.Client, owner, repo string, cfg ownership.Config, label string, trust ghwrite.Identity, labels, paths []string) (ownership.Owners, error) {
	facts, err := o.Facts(ctx, c, owner, repo)
	if err != nil {
		return ownership.Owners{}, err
	}
	h, err := o.HandoffChecked(ctx, c, owner, repo, label, trust, o.handoffMemo)
	if err != nil {
		return ownership.Owners{}, err
	}
	facts.Labels, facts.Paths, facts.Handoff = labels, paths, h
	res := ownership.Resolve(facts, cfg)
	for _, w := range res.Warnings {
		o.log.WarnContext(ctx, "ownership file problem", "repo", owner+"/"+repo, "problem", w)
	}
	return res, nil
}

// EffectiveTeam is the team that owns the service now, as postmortem (who
// owns the follow-up) and lead time (which team) should name it: the
// handoff's primary while a handoff is in progress (the core SRE team until
// Reverse shadow), else the owning team.
func EffectiveTeam(o ownership.Owners) string {
	if o.Handoff != nil && o.Handoff.Primary != "" {
		return o.Handoff.Primary
	}
	return o.Team
}

// MaxTeamMembers bounds the members TeamMembers reads.
const MaxTeamMembers = 3000

// TeamMembers returns the logins of the members of org/teamSlug (including
// members of child teams, as GitHub lists them), sorted. A team larger
// than MaxTeamMembers gives the first MaxTeamMembers and a logged warning:
// the members are people to notify or assign, not to trust.
func (o *Ownership) TeamMembers(ctx context.Context, c *github.Client, org, teamSlug string) ([]string, error) {
	if o.members != nil {
		c = o.members
	}
	opts := &github.TeamListTeamMembersOptions{}
	list := func(lo *github.ListOptions) ([]*github.User, *github.Response, error) {
		opts.ListOptions = *lo
		return c.Teams.ListTeamMembersBySlug(ctx, org, teamSlug, opts)
	}
	var logins []string
	for u, err := range ghread.Items(ctx, list, MaxTeamMembers) {
		if errors.Is(err, ghread.ErrTruncated) {
			log := o.log
			if log == nil {
				log = slog.Default()
			}
			log.WarnContext(ctx, "team member listing truncated", "team", org+"/"+teamSlug, "err", err)
			break
		}
		if err != nil {
			if IsStatus(err, http.StatusNotFound) {
				return nil, fmt.Errorf("list members of team %s/%s: team not found or not visible to tasuki (it needs the members:read permission): %w", org, teamSlug, err)
			}
			return nil, fmt.Errorf("list members of team %s/%s: %w", org, teamSlug, err)
		}
		logins = append(logins, u.GetLogin())
	}
	slices.Sort(logins)
	return slices.Compact(logins), nil
}

// IsTeamMember reports whether login is an active member of org/team. A
// pending invitation is not membership; an unknown team or user is not an
// error but false.
func (o *Ownership) IsTeamMember(ctx context.Context, c *github.Client, org, team, login string) (bool, error) {
	if o.members != nil {
		c = o.members
	}
	m, _, err := c.Teams.GetTeamMembershipBySlug(ctx, org, team, login)
	if err != nil {
		if IsStatus(err, http.StatusNotFound) {
			return false, nil
		}
		return false, fmt.Errorf("check membership of %s in team %s/%s: %w", login, org, team, err)
	}
	return m.GetState() == "active", nil
}

// SREs returns the owning team's SREs: the logins listed in the config plus
// the members of the configured SRE team, sorted and without duplicates.
func (o *Ownership) SREs(ctx context.Context, c *github.Client, org string, owners ownership.Owners) ([]string, error) {
	out := slices.Clone(owners.SREs)
	if owners.SRETeam != "" {
		ms, err := o.TeamMembers(ctx, c, org, owners.SRETeam)
		if err != nil {
			return nil, err
		}
		out = append(out, ms...)
	}
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return slices.CompactFunc(out, strings.EqualFold), nil
}

// ownershipReadFile reads path from the default branch of owner/repo. A missing
// file (or a directory at that path) is (nil, false, nil).
func ownershipReadFile(ctx context.Context, c *github.Client, owner, repo, path string) ([]byte, bool, error) {
	fc, _, _, err := c.Repositories.GetContents(ctx, owner, repo, path, nil)
	if err != nil {
		if IsStatus(err, http.StatusNotFound) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("read %s/%s:%s: %w", owner, repo, path, err)
	}
	if fc == nil {
		return nil, false, nil // a directory
	}
	s, err := fc.GetContent()
	if err != nil {
		// Over 1 MB the Contents API sends no content ("encoding": "none").
		return nil, false, fmt.Errorf("read %s/%s:%s (%d bytes): %w", owner, repo, path, fc.GetSize(), err)
	}
	return []byte(s), true, nil
}
