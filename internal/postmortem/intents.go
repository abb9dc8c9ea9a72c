package postmortem

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tasuki-sre/tasuki/internal/intent"
	"github.com/tasuki-sre/tasuki/internal/marker"
)

// OpenIntents returns the write that opens the postmortem d: the issue,
// found again by its marker among the issues labelled label (the search API
// is not used: it lags, and the shell has just looked). An owner who cannot
// be assigned does not cost the incident its postmortem; the writer then
// creates it unassigned, and the facts still name them.
func (d Document) OpenIntents(label string) []intent.Intent {
	return []intent.Intent{{Kind: intent.EnsureIssue, Marker: d.Marker,
		Issue:  intent.NewIssue{Title: d.Title, Body: d.Body, Labels: d.Labels, Assignees: d.Assignees},
		Lookup: intent.IssueLookup{Label: label, NoSearch: true}}}
}

// LinkIntent returns the comment on the incident that points to its
// postmortem, pmOwner/pmRepo#pmNumber, once.
func LinkIntent(inc Incident, pmOwner, pmRepo string, pmNumber int) intent.Intent {
	m := marker.New(KindLink, inc.Ref())
	ref := "#" + strconv.Itoa(pmNumber)
	if pmOwner != inc.Owner || pmRepo != inc.Repo {
		ref = pmOwner + "/" + pmRepo + ref
	}
	body := fmt.Sprintf("Postmortem: %s. Its facts and timeline follow this incident until it closes; add timeline entries here with a comment starting with `/timeline`.\n\n%s", ref, m)
	return intent.Intent{Kind: intent.EnsureComment, Number: inc.Number, Marker: m, Body: body}
}

// UpdateIntents returns the writes that bring postmortem number up to date
// with the incident: its new body (when it changed) and its severity label,
// the incident's (when the incident has one; a person may otherwise have set
// one on the postmortem, which is kept), the other severity labels removed.
func UpdateIntents(number int, oldBody, newBody string, labels []string, severity string, cfg Config) []intent.Intent {
	var out []intent.Intent
	if severity != "" {
		has := false
		var stale []string
		for _, l := range labels {
			switch {
			case strings.EqualFold(l, severity):
				has = true
			case cfg.IsSeverityLabel(l):
				stale = append(stale, l)
			}
		}
		if !has {
			out = append(out, intent.Intent{Kind: intent.AddLabels, Number: number, Labels: []string{severity}})
		}
		if len(stale) > 0 {
			out = append(out, intent.Intent{Kind: intent.RemoveLabels, Number: number, Labels: stale})
		}
	}
	// A body GitHub would not take whole is not written: the writer would
	// cut its end, which is what people wrote.
	if newBody != oldBody && len(newBody) <= MaxBody {
		out = append(out, intent.Intent{Kind: intent.EditIssue, Number: number, Edit: intent.IssueEdit{Body: &newBody}})
	}
	return out
}
