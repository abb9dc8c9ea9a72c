package leadtime

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/tasuki-sre/tasuki/internal/mdtext"
)

// RenderOptions shape Render's Markdown.
type RenderOptions struct {
	// Title names what was measured ("acme/api", "team payments"); escaped.
	Title string
	// Longest is how many of Metrics.LongestPickup are listed; 0 means 5.
	Longest int
	// NoChart leaves the Mermaid charts out (where Mermaid is not rendered).
	NoChart bool
}

// maxTitle bounds a pull request title in the report.
const maxTitle = 80

// repoRE is what GitHub allows in "owner/name"; anything else gets no link.
var repoRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$`)

// Render writes m as a short Markdown report: the five metrics against the
// previous period with their levels, the stages, the slowest stage, the
// pull requests that waited longest for a review, weekly charts, and what
// could not be measured. It is the body of the weekly report issue and of
// the Action's job summary. Every string that came from users (titles,
// logins, services, the title option) is escaped with mdtext.
func Render(m Metrics, o RenderOptions) string {
	var b strings.Builder
	loc, err := time.LoadLocation(m.Timezone)
	if err != nil || m.Timezone == "" {
		loc = time.UTC
	}
	title := "Delivery metrics"
	if o.Title != "" {
		title += ": " + mdtext.Text(o.Title)
	}
	fmt.Fprintf(&b, "### %s\n\n", title)
	fmt.Fprintf(&b, "%s to %s (%s), levels of the DORA %d report.\n\n",
		m.From.In(loc).Format("2006-01-02 15:04"), m.To.In(loc).Format("2006-01-02 15:04"), mdtext.Text(loc.String()), m.ReportYear)

	prev := m.Previous
	if prev == nil {
		prev = &Summary{}
	}
	b.WriteString("| Metric | This period | Previous | Change | Level |\n|---|---|---|---|---|\n")
	df := m.DeploymentFrequency
	fmt.Fprintf(&b, "| Deployment frequency | %d (%.1f a week) | %d (%.1f a week) | %s | %s |\n",
		df.Deployments, df.PerWeek, prev.Deployments, prev.PerWeek, change(df.PerWeek, prev.PerWeek), level(df.Level))
	fmt.Fprintf(&b, "| Change lead time, median | %s | %s | %s | %s |\n",
		stat(m.ChangeLeadTime.Stats, "change"), stat(prev.LeadTime, "change"),
		durChange(m.ChangeLeadTime.Stats, prev.LeadTime), level(m.ChangeLeadTime.Level))
	fmt.Fprintf(&b, "| Change fail rate | %s | %s | %s | %s |\n",
		rate(m.ChangeFailRate), prevRate(prev, prev.ChangeFailRate), points(m.ChangeFailRate, prev, prev.ChangeFailRate), level(m.ChangeFailRate.Level))
	fmt.Fprintf(&b, "| Failed deployment recovery time, median | %s | %s | %s | %s |\n",
		stat(m.RecoveryTime.Stats, "incident"), stat(prev.Recovery, "incident"),
		durChange(m.RecoveryTime.Stats, prev.Recovery), level(m.RecoveryTime.Level))
	fmt.Fprintf(&b, "| Deployment rework rate | %s | %s | %s | %s |\n\n",
		rate(m.ReworkRate), prevRate(prev, prev.ReworkRate), points(m.ReworkRate, prev, prev.ReworkRate), level(m.ReworkRate.Level))

	if len(m.Stages) > 0 {
		b.WriteString("| Stage | Median | p75 | p90 | Changes | Not measured |\n|---|---|---|---|---|---|\n")
		for _, s := range m.Stages {
			if s.Count == 0 {
				fmt.Fprintf(&b, "| %s | – | – | – | 0 | %d |\n", s.Stage, s.Missing)
				continue
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %d | %d |\n", s.Stage, s.Median, s.P75, s.P90, s.Count, s.Missing)
		}
		b.WriteString("\n")
		if m.SlowestStage != "" {
			for _, s := range m.Stages {
				if s.Stage == m.SlowestStage {
					fmt.Fprintf(&b, "Slowest stage: **%s** (median %s).\n\n", s.Stage, s.Median)
				}
			}
		}
	}

	n := o.Longest
	if n <= 0 {
		n = 5
	}
	if rows := m.LongestPickup[:min(n, len(m.LongestPickup))]; len(rows) > 0 {
		b.WriteString("Waited longest for a first review:\n\n")
		for _, r := range rows {
			wait := "–"
			if r.Pickup != nil {
				wait = r.Pickup.String()
			}
			if r.Waiting {
				wait += ", still waiting"
			}
			fmt.Fprintf(&b, "- %s %s by %s: %s\n", pullLink(r), mdtext.Text(mdtext.Truncate(r.Title, maxTitle)), mdtext.Text(r.Author), wait)
		}
		b.WriteString("\n")
	}

	if !o.NoChart && len(m.Weekly) > 1 {
		labels := make([]string, len(m.Weekly))
		deps := make([]string, len(m.Weekly))
		lead := make([]string, len(m.Weekly))
		for k, w := range m.Weekly {
			labels[k] = fmt.Sprintf("%q", w.Label) // our own labels: digits, "-", "W"
			deps[k] = fmt.Sprint(w.Deployments)
			lead[k] = fmt.Sprintf("%.1f", w.LeadTime.Median.Std().Hours())
		}
		chart := func(title, axis, kind string, vals []string) {
			fmt.Fprintf(&b, "```mermaid\nxychart-beta\n  title %q\n  x-axis [%s]\n  y-axis %q\n  %s [%s]\n```\n\n",
				title, strings.Join(labels, ", "), axis, kind, strings.Join(vals, ", "))
		}
		chart("Deployments per week", "deployments", "bar", deps)
		chart("Median change lead time per week (0: nothing shipped)", "hours", "line", lead)
	}

	if miss := missing(m.Missing); miss != "" {
		fmt.Fprintf(&b, "Not measured: %s.\n", miss)
	}
	return b.String()
}

func pullLink(r PullRow) string {
	text := mdtext.Text(fmt.Sprintf("%s#%d", r.Repo, r.Number))
	if !repoRE.MatchString(r.Repo) {
		return text
	}
	return fmt.Sprintf("[%s](%s)", text, PullURL(r.Repo, r.Number))
}

func level(l Level) string {
	if l.Name == "" {
		if l.Note == "" {
			return "–"
		}
		return l.Note
	}
	return l.Name
}

func stat(s Stats, what string) string {
	if s.Count == 0 {
		return fmt.Sprintf("– (0 %ss)", what)
	}
	plural := what + "s"
	if s.Count == 1 {
		plural = what
	}
	return fmt.Sprintf("%s (p75 %s, p90 %s; %d %s)", s.Median, s.P75, s.P90, s.Count, plural)
}

func rate(r Rate) string {
	if r.Deployments == 0 {
		return "– (no deployments)"
	}
	return fmt.Sprintf("%s (%d of %d)", pct(r.Rate), r.Count, r.Deployments)
}

func pct(v float64) string { return fmt.Sprintf("%.0f%%", v*100) }

// change is the relative change from prev to cur.
func change(cur, prev float64) string {
	switch {
	case prev == 0 && cur == 0:
		return "–"
	case prev == 0:
		return "new"
	}
	return fmt.Sprintf("%+.0f%%", (cur-prev)/prev*100)
}

func durChange(cur, prev Stats) string {
	if cur.Count == 0 || prev.Count == 0 {
		return "–"
	}
	return change(cur.Median.Seconds(), prev.Median.Seconds())
}

func prevRate(prev *Summary, v float64) string {
	if prev.Deployments == 0 {
		return "– (no deployments)"
	}
	return pct(v)
}

// points is the change of a rate in percentage points.
func points(cur Rate, p *Summary, prev float64) string {
	if cur.Deployments == 0 || p.Deployments == 0 {
		return "–"
	}
	d := math.Round((cur.Rate - prev) * 100)
	if d == 0 {
		return "±0 pp"
	}
	return fmt.Sprintf("%+.0f pp", d)
}

func missing(m Missing) string {
	var parts []string
	add := func(n int, one, many string) {
		switch {
		case n == 1:
			parts = append(parts, "1 "+one)
		case n > 1:
			parts = append(parts, fmt.Sprintf("%d %s", n, many))
		}
	}
	add(m.NoFirstCommit, "change without a first commit time", "changes without a first commit time")
	add(m.NoReady, "change without a ready-for-review time", "changes without a ready-for-review time")
	add(m.NoReview, "change merged without a review", "changes merged without a review")
	add(m.Undeployed, "merged change not deployed yet", "merged changes not deployed yet")
	add(m.BeforeBaseline, "change merged before the baseline", "changes merged before the baseline")
	add(m.OutOfOrder, "change with times out of order (counted as zero)", "changes with times out of order (counted as zero)")
	add(m.OpenIncidents, "incident still open", "incidents still open")
	add(m.UnlinkedIncidents, "incident not linked to a deployment", "incidents not linked to a deployment")
	return strings.Join(parts, ", ")
}

// RenderShipped writes what one deployment shipped (Prepared.Shipped) as a
// Markdown table of lead times and stages: the Action's record-deployment
// summary. Titles and logins are escaped; "unknown" marks what could not be
// measured (see docs/metrics.md).
func RenderShipped(deployment string, rows []PullRow) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#### Shipped by %s\n\n", mdtext.Code(deployment))
	if len(rows) == 0 {
		b.WriteString("No pull request shipped with it.\n")
		return b.String()
	}
	var leads []int64
	b.WriteString("| Pull request | Author | Lead time | Coding | Pickup | Review | Deploy |\n|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s %s | %s | %s | %s | %s | %s | %s |\n",
			pullLink(r), mdtext.TableCell(mdtext.Truncate(r.Title, maxTitle)), mdtext.TableCell(r.Author),
			cell(r.LeadTime), cell(r.Coding), cell(r.Pickup), cell(r.Review), cell(r.Deploy))
		if r.LeadTime != nil {
			leads = append(leads, int64(*r.LeadTime))
		}
	}
	if s := Percentiles(leads); s.Count > 0 {
		fmt.Fprintf(&b, "\nMedian lead time %s over %d of %d pull requests.\n", s.Median, s.Count, len(rows))
	}
	return b.String()
}

func cell(d *Duration) string {
	if d == nil {
		return "unknown"
	}
	return d.String()
}
