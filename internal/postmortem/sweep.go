package postmortem

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tasuki-sre/tasuki/internal/intent"
	"github.com/tasuki-sre/tasuki/internal/marker"
)

// State is a postmortem issue as the sweep sees it.
type State struct {
	Owner, Repo string
	Number      int
	URL         string
	Body        string
	Labels      []string
	Open        bool
	Assignees   []string
	// Authors are the logins who may not sign the postmortem off: the
	// incident's author and a human author of the postmortem issue.
	Authors []string
	// HandWritten is set when a person opened the postmortem issue (an
	// issue form applies the label for anyone): tasuki never writes a
	// generated section into such a body, so a facts section in it is the
	// person's, and its due date, incident commander and owning team are
	// not read (the reminders would otherwise ping whoever it names).
	HandWritten bool
	// Markers are the markers found in comments tasuki itself wrote on the
	// postmortem (comments by others are not trusted).
	Markers []marker.Marker
	// Records are the hidden state blocks of tasuki's own comments on the
	// postmortem (DecodeState of each), in comment order.
	Records []Record
	// Closed holds, for each linked issue of an unchecked action item, whether
	// it is closed; keyed by IssueRef.String() as written in the item.
	Closed map[string]bool
	// ClosedAt holds when those issues were closed, for the closing note.
	ClosedAt map[string]time.Time
}

// Ref returns "owner/repo#n" of the postmortem.
func (s State) Ref() string { return ref(s.Owner, s.Repo, s.Number) }

// DueOf reads the due date tasuki wrote into the facts section, if any.
func DueOf(body string) (time.Time, bool) {
	facts, ok := GeneratedSection(body, SectionFacts)
	if !ok {
		return time.Time{}, false
	}
	for _, m := range marker.Find(facts) {
		if m.Kind == KindDue {
			t, err := time.Parse("2006-01-02", m.Key)
			if err == nil {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

// PostmortemOf returns the incident key ("owner/repo#n") the body's marker
// names, or "" if the body is not a tasuki postmortem.
func PostmortemOf(body string) string {
	for _, m := range marker.Find(body) {
		if m.Kind == KindPostmortem {
			return m.Key
		}
	}
	return ""
}

func hasMarker(ms []marker.Marker, want marker.Marker) bool {
	for _, m := range ms {
		if m.Kind == want.Kind && m.Key == want.Key {
			return true
		}
	}
	return false
}

func hasLabel(labels []string, l string) bool {
	for _, x := range labels {
		if strings.EqualFold(x, l) {
			return true
		}
	}
	return false
}

// Progress is where a postmortem stands on the three conditions of
// completion: written (no required section missing), reviewed (a sign-off
// by someone other than its authors) and its action items done.
type Progress struct {
	Missing  []string  // required sections not filled
	Approval *Approval // the first valid sign-off, nil if none
	Items    []ActionItem
	Done     int // action items done
	// LastClosed is when the last linked issue of a done item closed
	// (zero when all were checked).
	LastClosed time.Time
}

// Complete reports whether all three conditions hold. A postmortem without
// action items is not complete: it has not said what changes.
func (p Progress) Complete() bool {
	return len(p.Missing) == 0 && p.Approval != nil && len(p.Items) > 0 && p.Done == len(p.Items)
}

// Needs says in a few words what p still lacks, "" when complete.
func (p Progress) Needs() string {
	var parts []string
	if len(p.Missing) > 0 {
		parts = append(parts, "the sections "+quoteList(p.Missing)+" filled in")
	}
	if p.Approval == nil {
		parts = append(parts, "a review sign-off (`/tasuki approve` by someone other than its author)")
	}
	switch {
	case len(p.Items) == 0:
		parts = append(parts, "action items")
	case p.Done < len(p.Items):
		parts = append(parts, fmt.Sprintf("its action items done (%d of %d are)", p.Done, len(p.Items)))
	}
	return strings.Join(parts, "; ")
}

func quoteList(ss []string) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = "“" + inline(s) + "”"
	}
	return strings.Join(out, ", ")
}

// ProgressOf works out where s stands under cfg.
func ProgressOf(s State, cfg Config) Progress {
	p := Progress{Missing: MissingSections(s.Body, cfg.RequiredSections), Items: ParseActionItems(s.Body)}
	for _, it := range p.Items {
		if !it.Done(s.Closed) {
			continue
		}
		p.Done++
		if !it.Checked {
			if at := s.ClosedAt[it.Issue.String()]; at.After(p.LastClosed) {
				p.LastClosed = at
			}
		}
	}
	p.Approval = ApprovalOf(s.Records, s.Authors)
	return p
}

// ApprovalOf returns the first sign-off among records by someone who is
// not one of authors (nor a bot), nil if none.
func ApprovalOf(records []Record, authors []string) *Approval {
	for _, r := range records {
		a := r.Approval
		if a == nil || a.By == "" || IsBot(a.By) || containsFold(authors, a.By) {
			continue
		}
		return a
	}
	return nil
}

func containsFold(ss []string, s string) bool {
	for _, x := range ss {
		if strings.EqualFold(strings.TrimPrefix(x, "@"), strings.TrimPrefix(s, "@")) {
			return true
		}
	}
	return false
}

// Decide is the sweep of one postmortem: complete it when it is written,
// reviewed and its action items done (closing note, label, close), else
// send the reminders that are due. It returns no intents for a postmortem
// already complete or closed.
//
// The intents are about s.Number: an EnsureComment (the completion note
// or the reminder, each keyed by its marker), AddLabels of the complete
// label, and Close as completed, in that order (the comment says why
// before the issue closes).
func Decide(s State, now time.Time, cfg Config) []intent.Intent {
	if !s.Open || hasLabel(s.Labels, cfg.CompleteLabel) {
		return nil
	}
	p := ProgressOf(s, cfg)
	if p.Complete() {
		m := marker.New(KindComplete, s.Ref())
		var out []intent.Intent
		if !hasMarker(s.Markers, m) {
			out = append(out, intent.Intent{Kind: intent.EnsureComment, Number: s.Number, Marker: m, Body: completeBody(p, now, cfg, m)})
		}
		return append(out,
			intent.Intent{Kind: intent.AddLabels, Number: s.Number, Labels: []string{cfg.CompleteLabel}},
			intent.Intent{Kind: intent.Close, Number: s.Number, Reason: intent.CloseCompleted})
	}
	if in, ok := Reminders(s, p, now, cfg); ok {
		return []intent.Intent{in}
	}
	return nil
}

func completeBody(p Progress, now time.Time, cfg Config, m marker.Marker) string {
	loc := cfg.Location()
	var b strings.Builder
	b.WriteString("This postmortem is complete, so tasuki closes it:\n\n")
	fmt.Fprintf(&b, "- **Written:** the required sections are filled in (%s), as read on %s.\n", quoteList(requiredNames(cfg.RequiredSections)), FormatTime(now, loc))
	a := p.Approval
	fmt.Fprintf(&b, "- **Reviewed:** %s by %s on %s.\n", link("signed off", a.URL), login(a.By), FormatTime(a.At, loc))
	checked := 0
	for _, it := range p.Items {
		if it.Checked {
			checked++
		}
	}
	fmt.Fprintf(&b, "- **Action items:** all %d done", len(p.Items))
	switch {
	case checked == len(p.Items):
		b.WriteString(" (checked)")
	case p.LastClosed.IsZero():
		fmt.Fprintf(&b, " (%d checked, %d with their issue closed)", checked, len(p.Items)-checked)
	default:
		fmt.Fprintf(&b, " (%d checked, %d with their issue closed, the last on %s)", checked, len(p.Items)-checked, FormatTime(p.LastClosed, loc))
	}
	b.WriteString(".\n\nReopen it if something is left.\n\n")
	b.WriteString(m.String())
	return b.String()
}

func requiredNames(required []string) []string {
	out := make([]string, 0, len(required))
	for _, r := range required {
		out = append(out, strings.TrimSpace(strings.Split(r, "|")[0]))
	}
	return out
}

// Followup is an issue to open for an unchecked action item.
type Followup struct {
	Item     ActionItem
	Marker   marker.Marker
	Title    string
	Body     string
	Labels   []string // the action label, and the item's priority if any
	Assignee string   // "" if the item names no owner
}

// Intent is the write that opens the follow-up issue, found again by its
// marker among tasuki's issues created since since (the postmortem's
// creation; follow-ups come after it).
func (f Followup) Intent(since time.Time) intent.Intent {
	in := intent.Intent{Kind: intent.EnsureIssue, Marker: f.Marker,
		Issue:  intent.NewIssue{Title: f.Title, Body: f.Body, Labels: f.Labels},
		Lookup: intent.IssueLookup{CreatedSince: since, NoSearch: true}}
	if f.Assignee != "" {
		in.Issue.Assignees = []string{f.Assignee}
	}
	return in
}

// Followups returns the issues /tasuki followup opens: one per unchecked
// action item without a linked issue, each keyed by postmortem and item so
// a retried command finds the issue it already opened. Each links back to
// the postmortem and carries the action label, the item's priority as a
// label and its due date (which the weekly digest reads).
func Followups(s State, postmortemURL string, cfg Config) []Followup {
	var out []Followup
	for _, it := range ParseActionItems(s.Body) {
		if it.Checked || it.Issue.Number != 0 {
			continue
		}
		m := marker.New(KindItem, s.Ref()+"/"+it.Key)
		title := strings.Join(strings.Fields(stripMeta(it.Text)), " ")
		if r := []rune(title); len(r) > 240 {
			title = string(r[:239]) + "…"
		}
		var b strings.Builder
		fmt.Fprintf(&b, "Action item from the postmortem %s.\n\n", link(s.Ref(), postmortemURL))
		b.WriteString("> " + inline(it.Text) + "\n\n")
		if it.Type != "" {
			b.WriteString("- **Type:** " + it.Type + "\n")
		}
		if it.Owner != "" {
			b.WriteString("- **Owner:** " + login(it.Owner) + "\n")
		}
		if it.Priority != "" {
			b.WriteString("- **Priority:** " + it.Priority + "\n")
		}
		if !it.Due.IsZero() {
			b.WriteString("- **Due:** " + it.Due.Format("2006-01-02") + "\n")
		}
		b.WriteString("\nClose this issue when done; the postmortem counts it as done.\n\n")
		if !it.Due.IsZero() {
			b.WriteString(marker.New(KindItemDue, it.Due.Format("2006-01-02")).String() + "\n")
		}
		b.WriteString(m.String())
		labels := []string{cfg.ActionLabel}
		if it.Priority != "" {
			labels = append(labels, it.Priority)
		}
		out = append(out, Followup{Item: it, Marker: m, Title: "Action item: " + title, Body: b.String(), Labels: labels, Assignee: it.Owner})
	}
	return out
}

// stripMeta drops the "— owner: …" and "— type: …" parts from an item for
// its issue title.
func stripMeta(text string) string {
	parts := strings.Split(text, " — ")
	var keep []string
	for _, p := range parts {
		lp := strings.ToLower(strings.TrimSpace(p))
		if strings.HasPrefix(lp, "owner:") || strings.HasPrefix(lp, "type:") || strings.HasPrefix(lp, "due:") || strings.HasPrefix(lp, "priority:") {
			continue
		}
		keep = append(keep, p)
	}
	if len(keep) == 0 {
		return text
	}
	return strings.Join(keep, " — ")
}

// MaxFollowups is the most follow-up issues one /tasuki followup opens:
// a body can hold thousands of action items, and opening an issue for
// each in one go would flood the repository (and GitHub's secondary rate
// limit) in tasuki's name. Running the command again opens the next ones.
const MaxFollowups = 20

// NextFollowups returns the follow-ups one /tasuki followup opens: the
// first MaxFollowups of Followups, and how many are left for the next run.
func NextFollowups(s State, postmortemURL string, cfg Config) (next []Followup, left int) {
	all := Followups(s, postmortemURL, cfg)
	if len(all) <= MaxFollowups {
		return all, 0
	}
	return all[:MaxFollowups], len(all) - MaxFollowups
}

// FollowupReply summarises what /tasuki followup did: the issues it linked,
// and how many unlinked action items it left for the next run.
func FollowupReply(linked []IssueRef, left int, commentID int64) string {
	m := marker.New(KindFollowup, strconv.FormatInt(commentID, 10))
	var b strings.Builder
	switch {
	case len(linked) == 0:
		b.WriteString("No unchecked action items without an issue; nothing to open.")
	default:
		refs := make([]string, len(linked))
		for i, r := range linked {
			refs[i] = r.String()
		}
		fmt.Fprintf(&b, "Linked %d action item(s) to issues: %s.", len(linked), strings.Join(refs, ", "))
	}
	if left > 0 {
		fmt.Fprintf(&b, " %d more unchecked action item(s) have no issue: tasuki opens at most %d at a time, so run `/tasuki followup` again for the next ones.", left, MaxFollowups)
	}
	b.WriteString("\n\n" + m.String())
	return b.String()
}
