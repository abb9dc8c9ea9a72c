package review

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Verdict states.
const (
	StatePass           = "pass"
	StateActionRequired = "action_required"
	StateStale          = "stale"
	StateError          = "error"
)

// Review is one pull request review as GitHub reports it.
type Review struct {
	User        string
	State       string // APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED, PENDING
	CommitID    string // the head commit the review was submitted on
	SubmittedAt time.Time
}

// ApprovalFacts are what the shell reads from GitHub for Evaluate.
type ApprovalFacts struct {
	HeadSHA string   // the pull request's current head
	Author  string   // the pull request's author
	Pushers []string // logins that authored or pushed commits to the PR
	Reviews []Review // in the order GitHub lists them (oldest first)
	// Eligible reports whether login may give a counted approval (member
	// of an approver team, listed user, code owner). Nil means everyone.
	Eligible func(login string) bool
	// WhoMayApprove describes the eligible approvers for the comment,
	// e.g. "acme/sre-core", "alice", "code owners of infra/prod".
	WhoMayApprove []string
	// PlannedSHA is the commit the plan was made from; when it differs
	// from HeadSHA the plan is stale.
	PlannedSHA string
	// Requested are the reviewers the pull request requested (logins and
	// org/slug teams), from its requested_reviewers and requested_teams.
	Requested []string
}

// IgnoredApproval is an approval that did not count, and why.
type IgnoredApproval struct {
	User string `json:"user"`
	Why  string `json:"why"` // "author", "pushed commits", "stale: approved abc1234, head is def5678", "not eligible", "dismissed", "changes requested after approving"
}

// Verdict is the outcome of Evaluate.
type Verdict struct {
	State               string // StatePass, StateActionRequired, StateStale, StateError
	NeedsSecondReviewer bool
	// Reasons say why a second reviewer is needed (or why the state is
	// stale or error), one line each, most important first.
	Reasons       []string
	Approvals     int
	Required      int
	ApprovedBy    []string
	Ignored       []IgnoredApproval
	Stale         bool // the head moved since the plan was made
	WhoMayApprove []string
	// Excluded, set when a second reviewer is needed and no approvers
	// are configured (anyone with write access may approve), says whom
	// the policy excludes: "the author", "anyone who pushed commits".
	Excluded []string
	// Requested are the requested reviewers who could approve: not the
	// author or a pusher when those are excluded.
	Requested []string
}

// shortSHA abbreviates a commit id for messages.
func shortSHA(s string) string {
	if s == "" {
		return "unknown commit" // a plan record without its commit is stale
	}
	if len(s) > 7 {
		return s[:7]
	}
	return s
}

// Evaluate decides whether the plans summarized in s may be applied under
// cfg given the pull request's reviews. It is level-triggered: call it with
// the current facts on every event.
func Evaluate(s Summary, cfg Config, f ApprovalFacts) Verdict {
	v := Verdict{WhoMayApprove: f.WhoMayApprove}
	v.NeedsSecondReviewer = len(s.Risky) > 0 || s.RiskyOmitted > 0
	if v.NeedsSecondReviewer {
		v.Required = cfg.Approvals
		v.Reasons = riskReasons(s)
		v.Excluded, v.Requested = whoElse(cfg, f)
	}
	// A plan that does not say which commit it was made from cannot be
	// shown to be of the head: tasuki always records it, so its absence
	// means the record was damaged or forged.
	v.Stale = f.HeadSHA != "" && (f.PlannedSHA == "" || !sameSHA(f.PlannedSHA, f.HeadSHA))

	// The latest review per user wins, as on GitHub; a comment after an
	// approval does not withdraw it.
	latest := map[string]Review{}
	var order []string
	reviews := append([]Review(nil), f.Reviews...)
	sort.SliceStable(reviews, func(i, j int) bool {
		if reviews[i].SubmittedAt.IsZero() || reviews[j].SubmittedAt.IsZero() {
			return false
		}
		return reviews[i].SubmittedAt.Before(reviews[j].SubmittedAt)
	})
	approvedOnce := map[string]bool{}
	for _, r := range reviews {
		st := strings.ToUpper(r.State)
		if st == "COMMENTED" || st == "PENDING" || r.User == "" {
			continue
		}
		key := strings.ToLower(r.User)
		if _, ok := latest[key]; !ok {
			order = append(order, key)
		}
		if st == "APPROVED" {
			approvedOnce[key] = true
		}
		latest[key] = r
	}
	pushers := map[string]bool{}
	for _, p := range f.Pushers {
		pushers[strings.ToLower(p)] = true
	}
	for _, key := range order {
		r := latest[key]
		switch strings.ToUpper(r.State) {
		case "APPROVED":
		case "DISMISSED":
			if approvedOnce[key] {
				v.Ignored = append(v.Ignored, IgnoredApproval{User: r.User, Why: "dismissed"})
			}
			continue
		case "CHANGES_REQUESTED":
			if approvedOnce[key] {
				v.Ignored = append(v.Ignored, IgnoredApproval{User: r.User, Why: "changes requested after approving"})
			}
			continue
		default:
			continue
		}
		var why string
		switch {
		case cfg.ExcludeAuthor && strings.EqualFold(r.User, f.Author):
			why = "author"
		case cfg.ExcludePushers && pushers[key]:
			why = "pushed commits"
		case f.HeadSHA != "" && r.CommitID != "" && !sameSHA(r.CommitID, f.HeadSHA):
			why = fmt.Sprintf("stale: approved %s, head is %s", shortSHA(r.CommitID), shortSHA(f.HeadSHA))
		case f.Eligible != nil && !f.Eligible(r.User):
			why = "not eligible"
		}
		if why != "" {
			v.Ignored = append(v.Ignored, IgnoredApproval{User: r.User, Why: why})
			continue
		}
		v.Approvals++
		v.ApprovedBy = append(v.ApprovedBy, r.User)
	}

	switch {
	case len(s.Errored) > 0:
		v.State = StateError
		v.Reasons = append([]string{"plan errored: " + strings.Join(s.Errored, ", ") + " (fix the error and plan again)"}, v.Reasons...)
	case v.Stale:
		v.State = StateStale
		v.Reasons = append([]string{fmt.Sprintf("plan is of %s but the head is %s: plan again", shortSHA(f.PlannedSHA), shortSHA(f.HeadSHA))}, v.Reasons...)
	case !v.NeedsSecondReviewer || v.Approvals >= v.Required:
		v.State = StatePass
	default:
		v.State = StateActionRequired
	}
	return v
}

// whoElse says, beyond the configured approvers, who may approve: whom
// the policy excludes when anyone with write access may approve, and
// which requested reviewers could give a counted approval.
func whoElse(cfg Config, f ApprovalFacts) (excluded, requested []string) {
	if len(f.WhoMayApprove) == 0 {
		if cfg.ExcludeAuthor {
			excluded = append(excluded, "the author")
		}
		if cfg.ExcludePushers {
			excluded = append(excluded, "anyone who pushed commits to the pull request")
		}
		if excluded == nil {
			excluded = []string{} // nobody excluded: still the default
		}
	}
	pushers := map[string]bool{}
	for _, p := range f.Pushers {
		pushers[strings.ToLower(p)] = true
	}
	listed := map[string]bool{}
	for _, w := range f.WhoMayApprove {
		listed[strings.ToLower(strings.TrimPrefix(w, "@"))] = true
	}
	for _, r := range f.Requested {
		l := strings.ToLower(strings.TrimPrefix(r, "@"))
		switch {
		case cfg.ExcludeAuthor && l == strings.ToLower(f.Author), cfg.ExcludePushers && pushers[l]:
		case len(f.WhoMayApprove) > 0 && !listed[l]:
			// Approvers are configured: only a requested reviewer they
			// name is known to count (team members are asked about
			// when they approve).
		default:
			requested = append(requested, r)
		}
	}
	return excluded, requested
}

func sameSHA(a, b string) bool {
	a, b = strings.ToLower(a), strings.ToLower(b)
	if len(a) == len(b) {
		return a == b
	}
	// An abbreviated id matches its full form (at least 7 characters).
	if len(a) > len(b) {
		a, b = b, a
	}
	return len(a) >= 7 && strings.HasPrefix(b, a)
}

// maxReasonAddresses bounds how many addresses one reason line names.
const maxReasonAddresses = 5

// riskGroup is the risky changes (or, for workspace and directory rules,
// the plans) that one reason covers. A change with several reasons is in
// several groups.
type riskGroup struct {
	key   string   // the reason: a rule's name, e.g. "delete", "IAM", "production workspace"
	items []string // addresses, or workspaces and directories; at most maxReasonAddresses
	n     int      // how many the plans hold: at least len(items)
	whole bool     // items are workspaces or directories
}

// riskKeys calls f with each reason of r (its group's key) and what it
// names under that reason (r's address, or its workspace or directory).
func riskKeys(r Risk, f func(key, item string, whole bool)) {
	if r.Address != "" {
		for _, k := range strings.Split(r.Why, ", ") {
			f(k, r.Address, false)
		}
		return
	}
	for _, subj := range []string{r.Workspace, r.Dir} {
		if k, ok := strings.CutSuffix(r.Why, " "+subj); ok && subj != "" && k != "" {
			f(k, subj, true)
			return
		}
	}
	f(r.Why, "", true)
}

// riskTotals counts risky entries per reason: what RiskTotals holds.
func riskTotals(risky []Risk) map[string]int {
	out := map[string]int{}
	for _, r := range risky {
		riskKeys(r, func(key, _ string, _ bool) { out[key]++ })
	}
	return out
}

// groupRisks groups s.Risky by reason, in order of first appearance,
// each with its true total: s.RiskTotals when Risky was cut to fit,
// followed by the reasons whose changes were all cut.
func groupRisks(s Summary) []*riskGroup {
	var groups []*riskGroup
	byKey := map[string]*riskGroup{}
	for _, r := range s.Risky {
		riskKeys(r, func(key, item string, whole bool) {
			g := byKey[key]
			if g == nil {
				g = &riskGroup{key: key, whole: whole}
				byKey[key] = g
				groups = append(groups, g)
			}
			g.n++
			if item != "" && len(g.items) < maxReasonAddresses {
				g.items = append(g.items, item)
			}
		})
	}
	if s.RiskTotals == nil {
		return groups
	}
	var rest []string
	for k, n := range s.RiskTotals {
		if g := byKey[k]; g != nil {
			g.n = max(g.n, n)
		} else if n > 0 {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		// Whole-plan reasons end in their kind (Summarize).
		whole := strings.HasSuffix(k, " workspace") || strings.HasSuffix(k, " directory")
		groups = append(groups, &riskGroup{key: k, n: s.RiskTotals[k], whole: whole})
	}
	return groups
}

// unlisted says how many of g's changes or plans are not named.
func (g *riskGroup) unlisted() string {
	more := g.n - len(g.items)
	switch {
	case more <= 0:
		return ""
	case len(g.items) > 0:
		return fmt.Sprintf(" and %d more", more)
	case g.whole && more == 1:
		return "1 plan"
	case g.whole:
		return fmt.Sprintf("%d plans", more)
	case more == 1:
		return "1 change"
	}
	return fmt.Sprintf("%d changes", more)
}

// riskReasons groups s.Risky by reason into one line each.
func riskReasons(s Summary) []string {
	var out []string
	for _, g := range groupRisks(s) {
		switch {
		case len(g.items) > 0 && g.whole:
			out = append(out, fmt.Sprintf("%s %s%s", g.key, strings.Join(g.items, ", "), g.unlisted()))
		case len(g.items) > 0:
			out = append(out, fmt.Sprintf("%s: %s%s", g.key, strings.Join(g.items, ", "), g.unlisted()))
		case g.n > 1 || s.RiskTotals != nil:
			out = append(out, fmt.Sprintf("%s: %s", g.key, g.unlisted()))
		default:
			out = append(out, g.key)
		}
	}
	if s.RiskyOmitted > 0 {
		out = append(out, fmt.Sprintf("%d risky changes not named here", s.RiskyOmitted))
	}
	return out
}
