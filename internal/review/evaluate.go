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

// riskGroup is the risky changes that share one why.
type riskGroup struct {
	why   string
	addrs []string // at most maxReasonAddresses
	n     int
}

func groupRisks(s Summary) []*riskGroup {
	var groups []*riskGroup
	byWhy := map[string]*riskGroup{}
	for _, r := range s.Risky {
		g := byWhy[r.Why]
		if g == nil {
			g = &riskGroup{why: r.Why}
			byWhy[r.Why] = g
			groups = append(groups, g)
		}
		g.n++
		if r.Address != "" && len(g.addrs) < maxReasonAddresses {
			g.addrs = append(g.addrs, r.Address)
		}
	}
	return groups
}

// riskReasons groups s.Risky by why into one line each.
func riskReasons(s Summary) []string {
	var out []string
	for _, g := range groupRisks(s) {
		if len(g.addrs) == 0 {
			out = append(out, g.why)
			continue
		}
		line := fmt.Sprintf("%s: %s", g.why, strings.Join(g.addrs, ", "))
		if g.n > len(g.addrs) {
			line += fmt.Sprintf(" and %d more", g.n-len(g.addrs))
		}
		out = append(out, line)
	}
	if s.RiskyOmitted > 0 {
		out = append(out, fmt.Sprintf("%d more risky changes not listed", s.RiskyOmitted))
	}
	return out
}
