package planreview

import (
	"fmt"
	"strings"

	"github.com/tasuki-sre/tasuki/internal/mdtext"
	"github.com/tasuki-sre/tasuki/internal/review"
)

// renderUnreadable is the plan review comment when a plan could not be read:
// which file and why, and no summary at all, since a summary of the plans
// that could be read would hide what the missing one changes. It ends with
// a facts block recording the failure, so that Reevaluate keeps the check
// failing until a readable plan is posted.
func renderUnreadable(errs []*review.PlanError, m review.Meta, f review.Facts) string {
	var b strings.Builder
	b.WriteString("### Terraform plan review: plan could not be read\n\n")
	if len(errs) == 1 {
		b.WriteString("The plan could not be read, so there is no summary:\n\n")
	} else {
		fmt.Fprintf(&b, "%d plans could not be read, so there is no summary:\n\n", len(errs))
	}
	for _, e := range errs {
		fmt.Fprintf(&b, "- %s: %s\n", mdtext.Code(e.Source), mdtext.Text(e.Reason))
	}
	b.WriteString("\nFix the plan step and run it again; ")
	b.WriteString(mdtext.Code(CheckName))
	b.WriteString(" fails until a readable plan is posted.")
	if safeLinkURL(m.RunURL) {
		fmt.Fprintf(&b, " [Plan run](%s)", m.RunURL)
	}
	if m.PlannedSHA != "" {
		fmt.Fprintf(&b, "\n\n<sub>Planned commit %s</sub>", mdtext.Code(shortSHA(m.PlannedSHA)))
	}
	b.WriteString("\n\n")
	b.WriteString(review.EncodeFacts(f))
	b.WriteString("\n")
	return b.String()
}

// unreadableCheck is the check run title and summary for unreadable plans.
func unreadableCheck(errs []*review.PlanError) (title, summary string) {
	if len(errs) == 1 {
		title = "Plan could not be read: " + oneLine(errs[0].Source)
	} else {
		title = fmt.Sprintf("%d plans could not be read", len(errs))
	}
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "- %s: %s\n", mdtext.Code(e.Source), mdtext.Text(e.Reason))
	}
	return title, b.String()
}

func shortSHA(s string) string {
	if len(s) > 7 {
		return s[:7]
	}
	return s
}

// safeLinkURL reports whether u can be a markdown link destination as is:
// an http(s) URL without spaces, parentheses or angle brackets that could
// end the link early.
func safeLinkURL(u string) bool {
	if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
		return false
	}
	return !strings.ContainsAny(u, " \t\n\r()<>[]`")
}
