package planreview

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/ghwrite"
	"github.com/tasuki-sre/tasuki/internal/handler"
	"github.com/tasuki-sre/tasuki/internal/intent"
	"github.com/tasuki-sre/tasuki/internal/mdtext"
	"github.com/tasuki-sre/tasuki/internal/ownership"
	"github.com/tasuki-sre/tasuki/internal/review"
)

// MembersTokenHint is what the Action's check says when it cannot verify a
// team approver: its GITHUB_TOKEN cannot read team membership (GitHub
// answers 404 for a member and a non-member alike).
const MembersTokenHint = "the workflow token cannot read team membership; pass members-token " +
	"(a token with the members:read permission, e.g. from actions/create-github-app-token)"

// WithTeamsUnverifiable says the client cannot read team membership (the
// Action's GITHUB_TOKEN) and hint why: an approval by someone whose
// membership of an approver team cannot be confirmed does not count, and
// the check and comment say exactly that instead of "not eligible".
func WithTeamsUnverifiable(hint string) Option {
	return func(r *Review) { r.teamsHint = hint }
}

// approval is what Evaluate needs about a pull request's approvals, and
// the notes the check and comment add about who may approve (a handoff
// phase, a membership that cannot be verified).
type approval struct {
	af    review.ApprovalFacts
	notes []string
	// ask are the team slugs (of the repository's organisation) to ask for
	// a review besides those whose approval counts: a handoff's secondary.
	ask []string
}

// approvalFacts reads what Evaluate needs about the pull request: head,
// author, pushers, reviews, and who counts as an approver. pr, when it
// carries a head (a webhook's or the workflow event's payload), spares the
// read of the pull request; the reviews are always read afresh, since they
// are what decides. risky says whether the plan needs a second reviewer:
// only then can a handoff change who may approve, so only then is the
// handoff issue read.
func (r *Review) approvalFacts(ctx context.Context, c *github.Client, owner, repo string, number int, cfg config.Config, risky bool, pr *github.PullRequest) (approval, error) {
	var a approval
	pr, err := r.pullRequest(ctx, c, owner, repo, number, pr)
	if err != nil {
		return a, err
	}
	af := &a.af
	af.HeadSHA = pr.GetHead().GetSHA()
	af.Author = pr.GetUser().GetLogin()
	// Who the pull request already asks: part of the payload just read.
	for _, u := range pr.RequestedReviewers {
		if l := u.GetLogin(); l != "" {
			af.Requested = append(af.Requested, l)
		}
	}
	for _, t := range pr.RequestedTeams {
		if slug := t.GetSlug(); slug != "" {
			af.Requested = append(af.Requested, owner+"/"+slug)
		}
	}
	if cfg.Review.ExcludePushers {
		af.Pushers, err = prPushers(ctx, c, owner, repo, number)
		if err != nil {
			return a, err
		}
	}
	af.Reviews, err = prReviews(ctx, c, owner, repo, number)
	if err != nil {
		return a, err
	}
	el, err := r.eligibility(ctx, c, owner, repo, number, cfg, *af, risky)
	if err != nil {
		return a, err
	}
	af.Eligible, af.WhoMayApprove, a.notes, a.ask = el.eligible, el.who, el.notes, el.ask
	return a, nil
}

// pullRequest returns the pull request as of the delivery: the payload's
// when it has a head, unless tasuki has already seen a newer state of the
// pull request (a delivery retried or redelivered after a later push),
// else GitHub's. The newest state seen is remembered in the memo, so an
// old delivery cannot set the check on a head that has since moved on.
func (r *Review) pullRequest(ctx context.Context, c *github.Client, owner, repo string, number int, pr *github.PullRequest) (*github.PullRequest, error) {
	key := fmt.Sprintf("plan-review-head:%s/%s#%d", owner, repo, number)
	if pr.GetHead().GetSHA() != "" && pr.GetUser().GetLogin() != "" && !pr.GetUpdatedAt().IsZero() && r.base.Memo != nil {
		seen, ok, err := r.base.Memo.Get(ctx, key)
		if err == nil {
			at, _, _ := strings.Cut(seen, " ")
			n, perr := strconv.ParseInt(at, 10, 64)
			if !ok || perr != nil || !pr.GetUpdatedAt().Time.Before(time.Unix(0, n)) {
				r.rememberHead(ctx, key, pr)
				return pr, nil
			}
		}
	}
	fresh, _, err := c.PullRequests.Get(ctx, owner, repo, number)
	if err != nil {
		return nil, fmt.Errorf("read pull request %s/%s#%d: %w", owner, repo, number, err)
	}
	r.rememberHead(ctx, key, fresh)
	return fresh, nil
}

func (r *Review) rememberHead(ctx context.Context, key string, pr *github.PullRequest) {
	if r.base.Memo == nil || pr.GetUpdatedAt().IsZero() {
		return
	}
	v := strconv.FormatInt(pr.GetUpdatedAt().Time.UnixNano(), 10) + " " + pr.GetHead().GetSHA()
	if err := r.base.Memo.Put(ctx, key, v); err != nil {
		r.base.Logger().WarnContext(ctx, "memo write failed", "key", key, "err", err)
	}
}

// handoffRule applies a service's handoff phase to who may approve a
// risky plan: in Kickoff, Observe and Shadow only the core SRE team's
// approvals count (in Shadow the incoming team is asked as well); in
// Reverse shadow the incoming team's count and the core team is asked as
// secondary. Transfer and Guard leave the configured rule. ok is false
// when the phase leaves the rule as configured.
func handoffRule(owner string, h *ownership.Roles) (teams, ask []string, note string, ok bool) {
	if h == nil || h.Primary == "" {
		return nil, nil, "", false
	}
	switch h.Phase {
	case ownership.PhaseKickoff, ownership.PhaseObserve, ownership.PhaseShadow, ownership.PhaseReverseShadow:
	default:
		return nil, nil, "", false
	}
	approve, ask := h.Approvers()
	for _, t := range approve {
		teams = append(teams, owner+"/"+t)
	}
	names := func(ts []string) string {
		out := make([]string, len(ts))
		for i, t := range ts {
			out[i] = mdtext.Code("@" + owner + "/" + t)
		}
		return strings.Join(out, " and ")
	}
	note = fmt.Sprintf("This service is in the %s phase of its SRE handoff: only approvals by members of %s count on a risky plan",
		h.Phase.Title(), names(approve))
	if len(ask) > 0 {
		if h.Phase == ownership.PhaseReverseShadow {
			note += fmt.Sprintf("; %s is secondary: ask it to review too.", names(ask))
		} else {
			note += fmt.Sprintf("; %s is secondary: ask it to review too, though its approval alone does not count.", names(ask))
		}
	} else {
		note += "."
	}
	return teams, ask, note, true
}

// eligibility is who may approve (eligible: nil means anyone GitHub lets
// approve), as the comment names them (who), the notes the check and
// comment add, and the teams to ask besides.
type eligibility struct {
	eligible        func(string) bool
	who, notes, ask []string
}

// eligibility works out who counts as an approver under cfg: the listed
// users, members of the listed teams and, with codeowners, the owners of the
// changed Terraform files; on a risky plan of a service in handoff, the
// phase's primary team instead (handoffRule). Membership is only asked for
// reviewers who approved (the only logins Evaluate asks about), once per
// evaluation, to spare API calls. No approvers configured, or codeowners
// alone naming nobody, means anyone GitHub lets approve (write access).
func (r *Review) eligibility(ctx context.Context, c *github.Client, owner, repo string, number int, cfg config.Config, af review.ApprovalFacts, risky bool) (eligibility, error) {
	var (
		el    eligibility
		teams []string // org/slug
	)
	none := eligibility{}
	users := map[string]bool{}
	ap := cfg.Review.Approvers
	handoff := false
	if risky {
		h, err := r.ownership.HandoffChecked(ctx, c, owner, repo, cfg.Onboarding.Label, r.base.Identity, r.base.Memo)
		if err != nil {
			return none, err
		}
		if h != nil && !h.Phase.Valid() && h.CoreTeam != "" {
			// The handoff issue's state was edited outside tasuki: its
			// phase is unknown, so the strictest rule, the core SRE team's.
			handoff = true
			core := owner + "/" + strings.TrimPrefix(h.CoreTeam, "@")
			teams = []string{core}
			el.who = append(el.who, "@"+core)
			el.notes = append(el.notes, fmt.Sprintf("The state of this service's SRE handoff issue was edited outside tasuki, so its phase is not trusted: only approvals by members of %s count on a risky plan.", mdtext.Code("@"+core)))
		} else if h != nil {
			// The ownership model says who is primary in the phase.
			o := ownership.Resolve(ownership.Facts{Repo: owner + "/" + repo, Handoff: h}, cfg.Ownership)
			if ts, ask, note, ok := handoffRule(owner, o.Handoff); ok {
				handoff = true
				teams, el.ask = ts, ask
				for _, t := range ts {
					el.who = append(el.who, "@"+t)
				}
				el.notes = append(el.notes, note)
			}
		}
	}
	if !handoff {
		if len(ap.Teams) == 0 && len(ap.Users) == 0 && !ap.Codeowners {
			return none, nil
		}
		for _, u := range ap.Users {
			u = strings.TrimPrefix(u, "@")
			users[strings.ToLower(u)] = true
			el.who = append(el.who, "@"+u)
		}
		for _, t := range ap.Teams {
			t = strings.TrimPrefix(t, "@")
			teams = append(teams, t)
			el.who = append(el.who, "@"+t)
		}
		if ap.Codeowners {
			paths, err := terraformPaths(ctx, c, owner, repo, number)
			if err != nil {
				return none, err
			}
			if len(paths) > 0 {
				o, err := r.ownership.ResolveWith(ctx, c, owner, repo, cfg.Ownership, nil, paths)
				if err != nil {
					return none, fmt.Errorf("resolve code owners of %s/%s#%d: %w", owner, repo, number, err)
				}
				for _, p := range slices.Sorted(maps.Keys(o.PathOwners)) {
					for _, ow := range o.PathOwners[p] {
						ow = strings.TrimPrefix(ow, "@")
						if strings.Contains(ow, "@") {
							continue // an e-mail address cannot be matched to a login
						}
						if strings.Contains(ow, "/") {
							if !slices.Contains(teams, ow) {
								teams = append(teams, ow)
								el.who = append(el.who, "@"+ow)
							}
						} else if !users[strings.ToLower(ow)] {
							users[strings.ToLower(ow)] = true
							el.who = append(el.who, "@"+ow)
						}
					}
				}
			}
		}
		if len(users) == 0 && len(teams) == 0 {
			// Only codeowners was asked for and no changed Terraform file
			// has an owner: nobody could ever approve, so fall back to
			// anyone GitHub lets approve rather than block the pull
			// request forever.
			return none, nil
		}
	}
	// Only approvals on the head by someone not excluded can count, so only
	// those approvers' memberships are worth an API call.
	eligible := map[string]bool{}
	unverified := map[string]string{} // team → why its members cannot be verified
	for _, rv := range af.Reviews {
		if !strings.EqualFold(rv.State, "APPROVED") {
			continue
		}
		l := strings.ToLower(rv.User)
		if _, done := eligible[l]; done {
			continue
		}
		if users[l] {
			eligible[l] = true
			continue
		}
		eligible[l] = false
		if cfg.Review.ExcludeAuthor && strings.EqualFold(rv.User, af.Author) {
			continue
		}
		why := map[string]string{} // teams whose answer about rv.User cannot be trusted
		for _, t := range teams {
			org, slug, _ := strings.Cut(t, "/")
			ok, err := r.ownership.IsTeamMember(ctx, c, org, slug, rv.User)
			switch {
			case err != nil && handler.IsStatus(err, http.StatusForbidden) && r.ownership.HasMembersClient():
				// The Action's members-token was refused: say so on the
				// check rather than fail the whole evaluation.
				why[t] = "members-token was refused (GitHub answered 403): it needs the members:read permission"
				continue
			case err != nil && handler.IsStatus(err, http.StatusForbidden) && r.teamsHint != "":
				why[t] = r.teamsHint
				continue
			case err != nil:
				return none, err
			}
			if ok {
				eligible[l] = true
				break
			}
			if r.teamsHint != "" && !r.ownership.HasMembersClient() {
				// GitHub answers 404 for a non-member and for a token that
				// cannot see the team alike: no telling which.
				why[t] = r.teamsHint
			}
		}
		if !eligible[l] {
			maps.Copy(unverified, why)
		}
	}
	for _, t := range slices.Sorted(maps.Keys(unverified)) {
		el.notes = append(el.notes, fmt.Sprintf("Cannot verify membership of %s: %s.", mdtext.Code("@"+t), unverified[t]))
	}
	el.eligible = func(login string) bool { return eligible[strings.ToLower(login)] }
	return el, nil
}

// withNotes returns the verdict section sec with notes added before its
// end line, or sec when there are none.
func withNotes(sec string, notes []string) string {
	if len(notes) == 0 {
		return sec
	}
	end := review.VerdictEnd + "\n"
	head, ok := strings.CutSuffix(sec, end)
	if !ok {
		return sec
	}
	return head + strings.Join(notes, " ") + "\n\n" + end
}

// notesText is the notes as a paragraph for the check run's text.
func notesText(notes []string, text string) string {
	if len(notes) == 0 {
		return text
	}
	p := strings.Join(notes, "\n\n")
	if text == "" {
		return p
	}
	return p + "\n\n" + text
}

// commentNotes adds notes to the verdict section of a whole plan review
// comment body, leaving body as is when it has none or would grow past
// GitHub's limit.
func commentNotes(body string, notes []string) string {
	sec := currentVerdict(body)
	if len(notes) == 0 || sec == "" {
		return body
	}
	out, ok := review.ReplaceVerdict(body, withNotes(sec, notes))
	if !ok || len(out) > review.CommentLimit {
		return body
	}
	return out
}

// currentVerdict returns the verdict section of body (from its begin line
// through its end line), or "".
func currentVerdict(body string) string {
	i := strings.Index(body, review.VerdictBegin+"\n")
	if i < 0 {
		return ""
	}
	j := strings.Index(body[i:], "\n"+review.VerdictEnd+"\n")
	if j < 0 {
		return ""
	}
	return body[i : i+j+len("\n"+review.VerdictEnd+"\n")]
}

// commentMemoKey is where the ID of a pull request's plan review comment
// is remembered, so that finding it again is one conditional read (free
// while the comment is unchanged) rather than a listing of the thread.
func commentMemoKey(owner, repo string, number int) string {
	return fmt.Sprintf("plan-review-comment:%s/%s#%d", owner, repo, number)
}

// findComment returns tasuki's plan review comment on the pull request:
// the remembered one when it is still tasuki's and still carries the
// marker, else the one the thread holds (remembered for next time).
func (r *Review) findComment(ctx context.Context, c *github.Client, w planWriter, owner, repo string, number int) (*github.IssueComment, error) {
	m := CommentMarker(number)
	key := commentMemoKey(owner, repo, number)
	if r.base.Memo != nil {
		if v, ok, err := r.base.Memo.Get(ctx, key); err == nil && ok {
			if id, err := strconv.ParseInt(v, 10, 64); err == nil && id > 0 {
				cm, _, err := c.Issues.GetComment(ctx, owner, repo, id)
				switch {
				case err == nil && r.base.Identity.Trusts(cm.GetUser()) && m.In(cm.GetBody()):
					return cm, nil
				case err != nil && !handler.IsStatus(err, http.StatusNotFound):
					return nil, err
				}
			}
		}
	}
	cm, err := w.FindComment(ctx, owner, repo, number, m)
	if err != nil || cm == nil || r.base.Memo == nil {
		return cm, err
	}
	if err := r.base.Memo.Put(ctx, key, strconv.FormatInt(cm.GetID(), 10)); err != nil {
		r.base.Logger().WarnContext(ctx, "memo write failed", "key", key, "err", err)
	}
	return cm, nil
}

// askSecondary asks the handoff's secondary team (a.ask) to review the pull
// request, unless it is already asked or was asked for this plan before
// (remembered, so that a team whose member has reviewed, which GitHub
// takes off the requested list, is not asked again for the same plan).
func (r *Review) askSecondary(ctx context.Context, w planWriter, owner, repo string, number int, plannedSHA string, a approval) error {
	for _, t := range a.ask {
		if slices.ContainsFunc(a.af.Requested, func(q string) bool { return strings.EqualFold(q, owner+"/"+t) }) {
			continue
		}
		key := fmt.Sprintf("plan-review-asked:%s/%s#%d@%s:%s", owner, repo, number, plannedSHA, strings.ToLower(t))
		if r.base.Memo != nil {
			if _, ok, err := r.base.Memo.Get(ctx, key); err == nil && ok {
				continue
			}
		}
		if _, err := w.Execute(ctx, owner, repo, []ghwrite.Intent{{Kind: intent.RequestReviewers, Number: number, TeamReviewers: []string{t}}}); err != nil {
			return fmt.Errorf("ask %s/%s to review %s/%s#%d: %w", owner, t, owner, repo, number, err)
		}
		if r.base.Memo != nil {
			if err := r.base.Memo.Put(ctx, key, "1"); err != nil {
				r.base.Logger().WarnContext(ctx, "memo write failed", "key", key, "err", err)
			}
		}
	}
	return nil
}
