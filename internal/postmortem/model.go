// Package postmortem turns an incident into a postmortem document and keeps
// it honest afterwards: it scaffolds the body from a template with the facts
// the shell gathered (never inventing any), rebuilds the generated sections
// without touching what people wrote, computes due dates in business days,
// parses action items and decides the daily sweep's reminders and
// completions. It does no I/O; internal/handler gathers the facts and
// carries out the intents.
package postmortem

import (
	"strconv"
	"strings"
	"time"
)

// Unknown is written wherever a fact could not be established; a person
// fills it in.
const Unknown = "_unknown — fill in_"

// Marker kinds written by the postmortem feature.
const (
	KindPostmortem = "postmortem"          // in the postmortem body, key owner/repo#n of the incident
	KindLink       = "postmortem-link"     // comment on the incident linking the postmortem
	KindReminder   = "postmortem-reminder" // overdue reminder, key owner/repo#n@YYYY-MM-DD
	KindComplete   = "postmortem-complete" // closing comment, key owner/repo#n
	KindItem       = "postmortem-item"     // follow-up issue, key owner/repo#n/<item key>
	KindFollowup   = "postmortem-followup" // reply to /tasuki followup, key comment id
	KindTemplate   = "postmortem-template" // template error comment, key source@error hash
	KindDue        = "postmortem-due"      // hidden due date in the facts section, key YYYY-MM-DD
	KindItemDue    = "postmortem-item-due" // due date in a follow-up issue, key YYYY-MM-DD
	KindApproval   = "postmortem-approval" // reply to /tasuki approve, key comment id
	KindSuspect    = "postmortem-suspect"  // suspect deployment in the facts section, key hex(JSON)
	KindDigest     = "postmortem-digest"   // weekly digest issue, key org@YYYY-Www
)

// Incident is the incident issue as the core needs it.
type Incident struct {
	Owner, Repo string
	Number      int
	Title       string
	Body        string
	URL         string
	Author      string
	Labels      []string
	Assignees   []string
	CreatedAt   time.Time
	ClosedAt    time.Time // zero while open
	State       string    // "open" or "closed"
}

// Ref returns "owner/repo#n".
func (i Incident) Ref() string { return ref(i.Owner, i.Repo, i.Number) }

// Event is one entry of the incident's issue timeline.
type Event struct {
	Kind     string // opened, labeled, unlabeled, assigned, unassigned, closed, reopened, renamed
	At       time.Time
	Actor    string
	Label    string // labeled, unlabeled
	Assignee string // assigned, unassigned
}

// Comment is a comment on an issue.
type Comment struct {
	ID     int64
	Author string
	Bot    bool
	Body   string
	At     time.Time
	URL    string
}

// Change is a merged pull request or a deployment shortly before the
// incident started.
type Change struct {
	Kind        string // "pull" or "deployment"
	Repo        string // owner/name
	Number      int    // pull request number
	Title       string // pull request title
	URL         string
	Actor       string // merger / deployer
	At          time.Time
	Ref         string    // deployment ref or sha
	Environment string    // deployment environment
	Status      string    // deployment's latest status state, "" if none
	StatusAt    time.Time // when that status was reported
}

// Facts is what the shell established about an incident.
type Facts struct {
	Service  string
	Team     string
	Owners   []string // who owns the follow-up (already resolved with fallbacks)
	Events   []Event
	Comments []Comment
	Changes  []Change
	// ChangeGaps names repositories whose changes could not be read, with
	// why, so the reader knows the list may be incomplete.
	ChangeGaps []string
	// LabeledAt is when an incident label was first added (zero if unknown).
	LabeledAt time.Time
	// Suspect is the suspect deployment when the shell read it back from
	// the postmortem (changes not listed again); nil: found in Changes.
	Suspect *Change
}

func ref(owner, repo string, n int) string {
	return owner + "/" + repo + "#" + strconv.Itoa(n)
}

// IsBot reports whether a login belongs to a bot account.
func IsBot(login string) bool {
	return strings.HasSuffix(strings.ToLower(login), "[bot]")
}

// Assignees picks who is assigned to the postmortem: the service owners,
// else the incident's assignees, else the fallback team's members. Bots are
// never assigned, and GitHub accepts at most 10 assignees.
func Assignees(owners, incidentAssignees, fallbackTeam []string) []string {
	for _, cand := range [][]string{owners, incidentAssignees, fallbackTeam} {
		out := dedupe(cand)
		if len(out) > 0 {
			if len(out) > 10 {
				out = out[:10]
			}
			return out
		}
	}
	return nil
}

func dedupe(logins []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range logins {
		l = strings.TrimPrefix(strings.TrimSpace(l), "@")
		k := strings.ToLower(l)
		if l == "" || IsBot(l) || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, l)
	}
	return out
}
