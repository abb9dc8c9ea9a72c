package onboarding

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/ghread"
	"github.com/tasuki-sre/tasuki/internal/handler"
	"github.com/tasuki-sre/tasuki/internal/intent"
	"github.com/tasuki-sre/tasuki/internal/mdtext"
	core "github.com/tasuki-sre/tasuki/internal/onboarding"
	"github.com/tasuki-sre/tasuki/internal/ownership"
)

// maxAssignees bounds the team SREs assigned to a new handoff issue (GitHub
// takes ten assignees; the one who started it is the tenth).
const maxAssignees = 9

// start decides a trigger under the repository's lock (the caller holds
// it): with the open handoff, if any, in the request, so that any number
// of triggers make one handoff. A new handoff is verified at once. It
// returns the decision (for its reply) and the new handoff, nil when none
// was opened.
func (h *Handler) start(ctx context.Context, log *slog.Logger, c *github.Client, e env, owner, repo string, req core.StartRequest) (core.Decision, *handoff, error) {
	open, foreign, err := h.findHandoffs(ctx, c, e.cfg, owner, repo, "open", func(*handoff) bool { return true })
	if err != nil {
		return core.Decision{}, nil, err
	}
	if open != nil {
		req.Open = &open.state
	} else if foreign != nil {
		// One open handoff per repository, whichever entrance opened it.
		log.InfoContext(ctx, "handoff not started: another entrance's is open", "issue", foreign.GetNumber(), "author", foreign.GetUser().GetLogin())
		return core.Decision{Reply: fmt.Sprintf("This repository already has an open SRE handoff: #%d, opened by %s. %s.",
			foreign.GetNumber(), mdtext.Code(foreign.GetUser().GetLogin()), upperFirst(otherEntranceNote(foreign, h.Identity.Logins)))}, nil, nil
	}
	if err := h.loadChecklist(ctx, log, c, owner, repo, &e, nil); err != nil {
		return core.Decision{}, nil, err
	}
	if req.TeamSREs == nil && open == nil {
		req.TeamSREs = h.teamSREs(ctx, log, c, e, owner, req.Team)
	}
	d := core.Start(req, e.cfg, e.checklist, h.Clock())
	res, err := h.execute(ctx, c, owner, repo, d.Intents)
	if err != nil {
		return d, nil, fmt.Errorf("start handoff of %s/%s: %w", owner, repo, err)
	}
	number := 0
	for i, in := range d.Intents {
		if in.Kind == intent.EnsureIssue && i < len(res) {
			number = int(res[i].ID)
		}
	}
	if number == 0 {
		return d, nil, nil
	}
	is, _, err := c.Issues.Get(ctx, owner, repo, number)
	if err != nil {
		return d, nil, fmt.Errorf("read handoff issue %s/%s#%d: %w", owner, repo, number, err)
	}
	ho := h.decode(ctx, is, owner, repo)
	if ho == nil {
		return d, nil, fmt.Errorf("handoff issue %s/%s#%d carries no handoff state", owner, repo, number)
	}
	log.InfoContext(ctx, "handoff started", "issue", number, "team", ho.state.Team, "trigger", req.Trigger)
	return d, ho, h.verify(ctx, log, c, e, owner, repo, ho)
}

// teamSREs are the logins assigned to a new handoff besides who started
// it: the incoming team's SREs from the ownership configuration, else the
// team's members, at most maxAssignees. A team tasuki cannot read gives
// none, logged: the handoff still starts.
func (h *Handler) teamSREs(ctx context.Context, log *slog.Logger, c *github.Client, e env, owner, team string) []string {
	org, slug := splitTeam(team, owner)
	var out []string
	for name, t := range e.all.Ownership.Teams {
		if strings.EqualFold(strings.TrimPrefix(name, "@"), slug) {
			for _, l := range t.SREs {
				out = append(out, strings.TrimPrefix(l, "@"))
			}
			if len(out) == 0 && t.SRETeam != "" {
				org, slug = splitTeam(t.SRETeam, owner)
			}
		}
	}
	if len(out) == 0 {
		ms, err := h.Owners.TeamMembers(ctx, c, org, slug)
		if err != nil {
			log.WarnContext(ctx, "could not list the incoming team's members", "team", org+"/"+slug, "err", err)
		}
		out = ms
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > maxAssignees {
		out = out[:maxAssignees]
	}
	return out
}

// verify re-verifies the open handoff ho from the repository and carries
// out the decision.
func (h *Handler) verify(ctx context.Context, log *slog.Logger, c *github.Client, e env, owner, repo string, ho *handoff) error {
	_, _, err := h.verifyFacts(ctx, log, c, e, owner, repo, ho)
	return err
}

// verifyFacts is verify, returning the decision and the facts it was made
// on. While the transfer pull request is open, it is left as people made
// it: only GitHub's check of the CODEOWNERS on its head is run again. A
// transfer pull request that merged unseen (the Action without
// pull_request events) is recorded as merged; one closed unmerged is
// proposed again.
func (h *Handler) verifyFacts(ctx context.Context, log *slog.Logger, c *github.Client, e env, owner, repo string, ho *handoff) (core.Decision, core.RepoFacts, error) {
	if err := h.restore(ctx, log, c, &e, owner, repo, ho); err != nil {
		return core.Decision{}, core.RepoFacts{}, err
	}
	st := ho.state
	var open *github.PullRequest
	if st.TransferPR != 0 && st.Transferred.IsZero() {
		pr, _, err := c.PullRequests.Get(ctx, owner, repo, st.TransferPR)
		switch {
		case err != nil && !handler.IsStatus(err, http.StatusNotFound):
			return core.Decision{}, core.RepoFacts{}, fmt.Errorf("read transfer pull request %s/%s#%d: %w", owner, repo, st.TransferPR, err)
		case err == nil && pr.GetMerged() && h.Identity.Trusts(pr.GetUser()) && core.TransferMarker(st).In(pr.GetBody()):
			d, facts, err := h.recordMerge(ctx, log, c, e, owner, repo, ho, pr)
			return d, facts, err
		case err != nil || pr.GetState() != "open":
			log.InfoContext(ctx, "transfer pull request closed unmerged; proposing it again", "pr", st.TransferPR)
			st.TransferPR = 0
		default:
			open = pr
		}
	}
	facts, bs, err := h.readHead(ctx, c, owner, repo)
	if err != nil {
		return core.Decision{}, facts, err
	}
	var tree []string
	if _, missing := facts.Unavailable[core.FactTree]; !missing {
		tree = facts.Paths
	}
	if err := h.loadChecklist(ctx, log, c, owner, repo, &e, tree); err != nil {
		return core.Decision{}, facts, err
	}
	if err := h.readFacts(ctx, c, owner, repo, st, e.checklist, core.NeedsOf(e.checklist, st.Tier), &facts, bs); err != nil {
		return core.Decision{}, facts, err
	}
	facts.MovedBy = e.movedBy
	d := core.Verify(st, ho.issue.GetBody(), e.checklist, facts, e.cfg, h.Clock())
	if d.State.Issue == 0 {
		d.State.Issue = st.Issue
	}
	if err := h.carryOut(ctx, log, c, e, owner, repo, st, d); err != nil {
		return d, facts, err
	}
	if open != nil {
		return d, facts, h.checkTransfer(ctx, c, owner, repo, st, open.GetNumber(), open.GetHead().GetRef())
	}
	return d, facts, nil
}

// recordMerge records the merge of the transfer pull request pr of the
// open handoff ho (the caller holds the repository's lock and checked that
// pr is tasuki's, merged, carrying ho's transfer marker): who approved it,
// the facts after it, and the core's TransferMerged.
func (h *Handler) recordMerge(ctx context.Context, log *slog.Logger, c *github.Client, e env, owner, repo string, ho *handoff, pr *github.PullRequest) (core.Decision, core.RepoFacts, error) {
	if err := h.restore(ctx, log, c, &e, owner, repo, ho); err != nil {
		return core.Decision{}, core.RepoFacts{}, err
	}
	approvers, err := ghread.Approvers(ctx, c, owner, repo, pr.GetNumber())
	if err != nil {
		return core.Decision{}, core.RepoFacts{}, err
	}
	facts, bs, err := h.readHead(ctx, c, owner, repo)
	if err != nil {
		return core.Decision{}, facts, err
	}
	if err := h.loadChecklist(ctx, log, c, owner, repo, &e, nil); err != nil {
		return core.Decision{}, facts, err
	}
	need := unionNeeds(core.NeedsOf(e.checklist, ho.state.Tier), core.GuardNeeds())
	if err := h.readFacts(ctx, c, owner, repo, ho.state, e.checklist, need, &facts, bs); err != nil {
		return core.Decision{}, facts, err
	}
	st := ho.state
	if st.TransferPR == 0 {
		st.TransferPR = pr.GetNumber()
	}
	d := core.TransferMerged(st, ho.issue.GetBody(), e.checklist, facts, approvers, pr.GetMergedAt().Time, e.cfg, h.Clock())
	log.InfoContext(ctx, "transfer pull request merged", "issue", st.Issue, "pr", pr.GetNumber(), "approvers", strings.Join(approvers, ","))
	return d, facts, h.carryOut(ctx, log, c, e, owner, repo, st, d)
}

// carryOut carries out d's intents on owner/repo; for a transfer pull
// request they opened (its review requests are among the intents) it
// records the number in the handoff's state and has GitHub check the
// CODEOWNERS it proposes.
func (h *Handler) carryOut(ctx context.Context, log *slog.Logger, c *github.Client, e env, owner, repo string, before core.State, d core.Decision) error {
	if len(d.Intents) == 0 {
		return nil
	}
	res, err := h.execute(ctx, c, owner, repo, d.Intents)
	if err != nil {
		return fmt.Errorf("handoff of %s/%s: %w", owner, repo, err)
	}
	st := d.State
	if st.Issue == 0 {
		st.Issue = before.Issue
	}
	for i, in := range d.Intents {
		if in.Kind != intent.OpenPullRequest || i >= len(res) || res[i].ID == 0 {
			continue
		}
		if err := h.recordTransferPR(ctx, log, c, e, owner, repo, st, int(res[i].ID)); err != nil {
			return err
		}
		if err := h.checkTransfer(ctx, c, owner, repo, st, int(res[i].ID), in.PullRequest.Head); err != nil {
			return err
		}
	}
	return nil
}

// recordTransferPR records the transfer pull request's number in the
// handoff's state, from which on verification proposes it no more.
func (h *Handler) recordTransferPR(ctx context.Context, log *slog.Logger, c *github.Client, e env, owner, repo string, st core.State, number int) error {
	if st.TransferPR == number {
		return nil
	}
	cur, _, err := c.Issues.Get(ctx, owner, repo, st.Issue)
	if err != nil {
		return fmt.Errorf("read handoff issue %s/%s#%d: %w", owner, repo, st.Issue, err)
	}
	ho := h.decode(ctx, cur, owner, repo)
	if ho == nil || ho.state.TransferPR == number {
		return nil
	}
	ns := ho.state
	ns.TransferPR = number
	body, fits := core.FitBody(cur.GetBody(), ns, e.checklist)
	if !fits {
		// The next verification finds the pull request by its marker.
		log.WarnContext(ctx, "transfer pull request not recorded: the handoff issue has no room", "pr", number)
		return nil
	}
	edit := intent.Intent{Kind: intent.EditIssue, Number: st.Issue,
		Edit: intent.IssueEdit{Body: &body, Marker: core.IssueMarker(ns.Repo, ns.Started)}}
	if _, err := h.execute(ctx, c, owner, repo, []intent.Intent{edit}); err != nil {
		return fmt.Errorf("record transfer pull request #%d: %w", number, err)
	}
	log.InfoContext(ctx, "transfer pull request proposed", "pr", number)
	return nil
}

// checkTransfer asks GitHub whether the CODEOWNERS the transfer pull
// request number proposes on its head branch is usable (GitHub reads it
// as it is on that ref for this check) and says so on the pull request:
// the errors, or, once a comment listed some, that they are gone.
func (h *Handler) checkTransfer(ctx context.Context, c *github.Client, owner, repo string, st core.State, number int, head string) error {
	w := h.Writer(c)
	errs, found, err := ghread.CodeownersErrors(ctx, c, owner, repo, head)
	if err != nil || (len(errs) == 0 && !found) {
		return err
	}
	check := core.TransferCheck(st, number, codeownersMessages(errs))
	if len(errs) == 0 {
		prev, err := w.FindComment(ctx, owner, repo, number, check.Marker)
		if err != nil || prev == nil {
			return err // nothing to take back
		}
	}
	_, err = w.Execute(ctx, owner, repo, []intent.Intent{check})
	return err
}

// coreTeam returns the core SRE team of owner/repo: the configuration's
// ownership.core_sre_team, else the team owning the repository today
// (CODEOWNERS' owner of *, else catalog-info.yaml's owner); source says
// which, for replies. An empty slug means none is known.
func (h *Handler) coreTeam(ctx context.Context, c *github.Client, e env, owner, repo string) (org, slug, source string, err error) {
	if t := e.all.Ownership.CoreSRETeam; t != "" {
		org, slug = splitTeam(t, owner)
		return org, slug, "ownership.core_sre_team", nil
	}
	f, err := h.Owners.Facts(ctx, c, owner, repo)
	if err != nil {
		return "", "", "", err
	}
	cfg := ownership.DefaultConfig()
	if o := ownership.Resolve(ownership.Facts{Repo: f.Repo, CODEOWNERS: f.CODEOWNERS, CODEOWNERSPath: f.CODEOWNERSPath}, cfg); o.Team != "" {
		path := f.CODEOWNERSPath
		if path == "" {
			path = "CODEOWNERS"
		}
		return owner, o.Team, path, nil
	}
	if o := ownership.Resolve(ownership.Facts{Repo: f.Repo, CatalogInfo: f.CatalogInfo}, cfg); o.Team != "" {
		return owner, o.Team, core.CatalogPath, nil
	}
	return "", "", "", nil
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// teamRef spells org/slug as the core's requests take a team: the slug
// alone in the repository owner's organisation.
func teamRef(owner, org, slug string) string {
	if strings.EqualFold(org, owner) {
		return slug
	}
	return org + "/" + slug
}

// unionNeeds is what either a or b needs.
func unionNeeds(a, b core.Needs) core.Needs {
	out := a
	out.Tree = a.Tree || b.Tree
	for _, f := range b.Files {
		if !contains(out.Files, f) {
			out.Files = append(out.Files, f)
		}
	}
	out.Team = a.Team || b.Team
	out.Collaborators = a.Collaborators || b.Collaborators
	out.Protection = a.Protection || b.Protection
	out.Workflows = a.Workflows || b.Workflows
	out.WorkflowsSince = max(a.WorkflowsSince, b.WorkflowsSince)
	out.CODEOWNERSErrors = a.CODEOWNERSErrors || b.CODEOWNERSErrors
	return out
}
