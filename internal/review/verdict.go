package review

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tasuki-sre/tasuki/internal/mdtext"
)

// The markers around the verdict section of a plan review comment. The App
// rewrites what lies between them on review and push events, when it no
// longer has the plan; everything else in the comment stays as posted.
const (
	VerdictBegin = "<!-- tasuki:begin verdict -->"
	VerdictEnd   = "<!-- tasuki:end verdict -->"
)

// MaxVerdictBytes bounds a verdict section, markers included.
// RenderComment leaves this much room for it, so a later section (more
// approvals, more ignored reviewers) never pushes the comment past
// CommentLimit.
const MaxVerdictBytes = 4096

// maxVerdictNames bounds each list of logins or teams in the section, and
// maxNameBytes each name (GitHub logins have at most 39 characters; team
// names in the configuration are not bounded).
const (
	maxVerdictNames = 10
	maxNameBytes    = 80
)

// RenderVerdict renders the verdict section of the plan review comment,
// markers included, from what the comment's hidden block records (f, as
// DecodeFacts returns it), the verdict v and the pull request's current
// head: the verdict line, the reasons a second reviewer is needed, and who
// approved, whose approval did not count and why, and who may approve. It
// is the very text RenderComment writes for the same facts and verdict, so
// re-rendering an unchanged verdict gives an unchanged comment. The
// section is at most MaxVerdictBytes long: reason lines that do not fit are
// counted instead.
func RenderVerdict(f Facts, v Verdict, headSHA string) string {
	s := f.Summary()
	var head strings.Builder
	head.WriteString(VerdictBegin + "\n")
	head.WriteString(verdictLine(s, v, f.PlannedSHA, headSHA))
	head.WriteString("\n\n")

	// Each reason line says how many changes the reason covers in the
	// plans, however many of them the facts still name.
	var risks, bare []string
	if v.NeedsSecondReviewer {
		for _, g := range groupRisks(s) {
			line := "- " + whyMarkdown(g.key)
			switch {
			case len(g.items) > 0 && g.whole:
				// "production workspace `prod`", as it reads.
				line += " " + joinCode(g.items)
			case len(g.items) > 0:
				line += ": " + joinCode(g.items)
			case g.n > 1 || s.RiskTotals != nil:
				line += ": "
			}
			risks = append(risks, line+g.unlisted())
			// The same line without names, should the names not fit.
			b := "- " + whyMarkdown(g.key)
			if len(g.items) > 0 || g.n > 1 || s.RiskTotals != nil {
				b += ": " + (&riskGroup{n: g.n, whole: g.whole}).unlisted()
			}
			bare = append(bare, b)
		}
	}
	where := fullTextWhere(Meta{JobSummaryURL: f.SummaryURL, ArtifactName: f.Artifact})
	if where != "" {
		where = ": all are in " + where
	} else {
		where = " (too many for one comment)"
	}

	var appr []string
	namedInLine := v.State == StatePass && v.NeedsSecondReviewer && len(v.ApprovedBy) > 0
	if len(v.ApprovedBy) > 0 && !namedInLine {
		appr = append(appr, "Approved by "+joinCapped(v.ApprovedBy, codeName)+".")
	}
	if len(v.Ignored) > 0 {
		appr = append(appr, "Not counted: "+joinCapped(v.Ignored, func(ig IgnoredApproval) string {
			return codeName(ig.User) + " (" + mdtext.Text(mdtext.Truncate(ig.Why, maxNameBytes)) + ")"
		})+".")
	}
	// Who may approve, whenever an approval is still to come.
	requested := ""
	if v.NeedsSecondReviewer && (v.State == StateActionRequired || v.State == StateStale) {
		switch {
		case len(v.WhoMayApprove) > 0:
			appr = append(appr, "Who may approve: "+joinCapped(v.WhoMayApprove, codeName)+".")
		case v.Excluded != nil:
			who := "Who may approve: anyone with write access"
			if len(v.Excluded) > 0 {
				who += " except " + strings.Join(v.Excluded, " and ")
			}
			appr = append(appr, who+".") // tasuki's words, not user text
		}
		if len(v.Requested) > 0 {
			requested = "Already requested: " + joinCapped(v.Requested, codeName) + "."
		}
	}
	tailOf := func(withRequested bool) string {
		var tail strings.Builder
		lines := appr
		if withRequested && requested != "" {
			lines = append(slices.Clone(appr), requested)
		}
		if len(lines) > 0 {
			tail.WriteString(strings.Join(lines, " "))
			tail.WriteString("\n\n")
		}
		tail.WriteString(VerdictEnd + "\n")
		return tail.String()
	}
	tail := tailOf(true)

	// When the section is too long, reason lines lose their names, then
	// lines are dropped from the end; the last line says how many were
	// left out and where they all are.
	omitted := s.RiskyOmitted
	render := func(lines []string, dropped int) string {
		var b strings.Builder
		b.WriteString(head.String())
		for _, l := range lines[:len(lines)-dropped] {
			b.WriteString(l)
			b.WriteString("\n")
		}
		switch {
		case dropped > 0 && omitted > 0 && v.NeedsSecondReviewer:
			fmt.Fprintf(&b, "- %s and %s not named here%s\n", moreReasons(dropped), changesWord(omitted), where)
		case dropped > 0:
			fmt.Fprintf(&b, "- %s not listed here%s\n", moreReasons(dropped), where)
		case omitted > 0 && v.NeedsSecondReviewer:
			fmt.Fprintf(&b, "- %s not named here%s\n", changesWord(omitted), where)
		}
		if v.NeedsSecondReviewer {
			b.WriteString("\n")
		}
		b.WriteString(tail)
		return b.String()
	}
	if out := render(risks, 0); len(out) <= MaxVerdictBytes {
		return out
	}
	for dropped := 0; ; dropped++ {
		// The names are capped (maxVerdictNames of at most maxNameBytes
		// each), so without reasons the section always fits.
		out := render(bare, dropped)
		if len(out) <= MaxVerdictBytes {
			return out
		}
		if dropped == len(bare) {
			// Every list is capped; only the requested reviewers, on top
			// of the longest lists, can still be too many.
			tail = tailOf(false)
			return render(bare, dropped)
		}
	}
}

// changesWord is "1 risky change" or "N risky changes".
func changesWord(n int) string {
	if n == 1 {
		return "1 risky change"
	}
	return fmt.Sprintf("%d risky changes", n)
}

func moreReasons(n int) string {
	if n == 1 {
		return "1 more reason"
	}
	return fmt.Sprintf("%d more reasons", n)
}

// joinCapped renders up to maxVerdictNames items of xs with f, comma
// separated, and says how many more there are.
func joinCapped[T any](xs []T, f func(T) string) string {
	n := min(len(xs), maxVerdictNames)
	parts := make([]string, n)
	for i := range n {
		parts[i] = f(xs[i])
	}
	out := strings.Join(parts, ", ")
	if len(xs) > n {
		out += fmt.Sprintf(" and %d more", len(xs)-n)
	}
	return out
}

// codeName renders a login or team as code, cut to maxNameBytes first so
// that the code span stays whole.
func codeName(s string) string { return mdtext.Code(mdtext.Truncate(s, maxNameBytes)) }

// verdictLine is the heading of the verdict section.
func verdictLine(s Summary, v Verdict, plannedSHA, headSHA string) string {
	switch v.State {
	case StateError:
		return "### ❌ Plan review: plan errored"
	case StateStale:
		return fmt.Sprintf("### 🕰️ Plan review: plan of %s is stale: head is %s; a new plan is needed", mdtext.Code(shortSHA(plannedSHA)), mdtext.Code(shortSHA(headSHA)))
	case StateActionRequired:
		return fmt.Sprintf("### ⚠️ Plan review: needs a second reviewer (%d of %d approvals)", v.Approvals, v.Required)
	}
	if v.NeedsSecondReviewer {
		if len(v.ApprovedBy) > 0 {
			return "### ✅ Plan review: approved by " + joinCapped(v.ApprovedBy, codeName)
		}
		return fmt.Sprintf("### ✅ Plan review: approved (%d of %d approvals)", v.Approvals, v.Required)
	}
	if !s.Counts.Changed() {
		return "### ✅ Plan review: no changes"
	}
	return "### ✅ Plan review: no risky changes"
}

// ReplaceVerdict returns body with its verdict section (from the first
// VerdictBegin line to the next VerdictEnd line, both outside fenced code
// blocks) replaced by section, as RenderVerdict renders it; every other
// byte of body is kept. ok is false, and body is returned unchanged, when
// body has no complete section or section is not one.
func ReplaceVerdict(body, section string) (out string, ok bool) {
	if !strings.HasPrefix(section, VerdictBegin+"\n") || !strings.HasSuffix(section, "\n"+VerdictEnd+"\n") {
		return body, false
	}
	start, end, found := findVerdict(body)
	if !found {
		return body, false
	}
	return body[:start] + section + body[end:], true
}

// VerdictSection returns body's verdict section, markers included, as
// ReplaceVerdict finds it, or "" when there is none.
func VerdictSection(body string) string {
	start, end, found := findVerdict(body)
	if !found {
		return ""
	}
	return body[start:end]
}

// findVerdict returns the byte span of the verdict section in body: from
// the start of the first VerdictBegin line outside a fenced code block to
// the end of the next VerdictEnd line (its newline included). Only a whole
// line counts as a marker, and everything tasuki takes from a plan is
// inline text or inside a fence, so a plan cannot forge or end a section.
func findVerdict(body string) (start, end int, found bool) {
	var fence fenceState
	start = -1
	for pos := 0; pos < len(body); {
		nl := strings.IndexByte(body[pos:], '\n')
		next := len(body)
		line := body[pos:]
		if nl >= 0 {
			next = pos + nl + 1
			line = body[pos : pos+nl]
		}
		line = strings.TrimSuffix(line, "\r")
		if !fence.step(line) {
			switch {
			case start < 0 && line == VerdictBegin:
				start = pos
			case start >= 0 && line == VerdictEnd:
				return start, next, true
			}
		}
		pos = next
	}
	return 0, 0, false
}

// fenceState tracks CommonMark fenced code blocks line by line.
type fenceState struct {
	char byte // '`' or '~' while inside a fence, 0 outside
	n    int  // the opening fence's length
}

// step consumes one line and reports whether it is part of a fenced code
// block (its opening and closing lines included).
func (f *fenceState) step(line string) bool {
	indent := 0
	for indent < len(line) && indent < 4 && line[indent] == ' ' {
		indent++
	}
	if indent > 3 {
		return f.char != 0
	}
	rest := line[indent:]
	if f.char != 0 {
		n := runOf(rest, f.char)
		if n >= f.n && strings.TrimRight(rest[n:], " \t") == "" {
			f.char, f.n = 0, 0
		}
		return true
	}
	if rest == "" || (rest[0] != '`' && rest[0] != '~') {
		return false
	}
	c := rest[0]
	n := runOf(rest, c)
	if n < 3 || (c == '`' && strings.IndexByte(rest[n:], '`') >= 0) {
		return false
	}
	f.char, f.n = c, n
	return true
}

func runOf(s string, c byte) int {
	n := 0
	for n < len(s) && s[n] == c {
		n++
	}
	return n
}
