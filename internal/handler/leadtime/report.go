package leadtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/ghread"
	"github.com/tasuki-sre/tasuki/internal/intent"
	core "github.com/tasuki-sre/tasuki/internal/leadtime"
	"github.com/tasuki-sre/tasuki/internal/marker"
	"github.com/tasuki-sre/tasuki/internal/mdtext"
)

// ReportInterval is how often the App runs the weekly report job (the
// store's periodic job "leadtime-report", run once across replicas). It
// runs daily and posts last week's reports that are not there yet, so a
// day the App was down delays them by a day, not a week.
const ReportInterval = 24 * time.Hour

// ReportSource reads what the weekly report computes from
// (*store.Store, through a small adapter in cmd/app, provides it).
type ReportSource interface {
	// Repos lists the repositories with recorded events.
	Repos(ctx context.Context) ([]string, error)
	// History returns repo's events from since to until, for metrics.
	History(ctx context.Context, repo string, since, until time.Time, cfg core.Config) (core.History, error)
}

// AppLister gives the App's own (JWT) client, which lists installations
// (*ghclient.Clients provides it).
type AppLister interface {
	App() *github.Client
}

// Bounds of the report.
const (
	maxReportRepos   = 20     // repository sections in one issue
	maxReportBody    = 60_000 // GitHub refuses issue bodies over 65,536 characters
	maxInstallations = 10_000 // listed to find the report repository's
	reportLookback   = 90 * 24 * time.Hour
	reportWeeks      = 8 // weeks in the report's chart
)

// ReportMarkerKind is the marker kind of the weekly report issues.
const ReportMarkerKind = "leadtime-report"

var slugRE = regexp.MustCompile(`[^a-z0-9._-]+`)

// reportKey is the marker key of team's report of week: one issue per
// team and ISO week.
func reportKey(team, week string) string {
	t := slugRE.ReplaceAllString(strings.ToLower(team), "-")
	if t == "" {
		t = "all"
	}
	return t + "." + week
}

// lastWeek returns the ISO week before the one holding now (UTC), its start
// and its end.
func lastWeek(now time.Time) (string, time.Time, time.Time) {
	now = now.UTC()
	day := (int(now.Weekday()) + 6) % 7 // Monday 0
	end := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -day)
	start := end.AddDate(0, 0, -7)
	y, w := start.ISOWeek()
	return fmt.Sprintf("%d-W%02d", y, w), start, end
}

// WeeklyReports posts, in reportRepo ("owner/name"), last week's delivery
// report of each team owning services in the owner's repositories (one
// issue per team and ISO week, found again by its marker, so a rerun
// never posts twice); without teams, one report for the organisation. An
// empty reportRepo turns the reports off.
func (h *Handler) WeeklyReports(ctx context.Context, apps AppLister, src ReportSource, reportRepo string) error {
	if reportRepo == "" || src == nil {
		return nil
	}
	owner, name, ok := strings.Cut(reportRepo, "/")
	if !ok || owner == "" || name == "" {
		return fmt.Errorf("lead-time report repository %q is not OWNER/NAME", reportRepo)
	}
	log := h.Logger().With("job", "leadtime-report", "repo", reportRepo)
	c, err := installationClient(ctx, h, apps, owner)
	if err != nil {
		return err
	}
	if c == nil {
		log.WarnContext(ctx, "the App is not installed on the report repository's owner; no report")
		return nil
	}
	return h.Report(ctx, log, c, src, owner, name, h.Clock())
}

func installationClient(ctx context.Context, h *Handler, apps AppLister, owner string) (*github.Client, error) {
	ac := apps.App()
	list := func(lo *github.ListOptions) ([]*github.Installation, *github.Response, error) {
		return ac.Apps.ListInstallations(ctx, lo)
	}
	for in, err := range ghread.Items(ctx, list, maxInstallations) {
		if errors.Is(err, ghread.ErrTruncated) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("list installations: %w", err)
		}
		if strings.EqualFold(in.GetAccount().GetLogin(), owner) {
			return h.Client(ctx, in.GetID())
		}
	}
	return nil, nil
}

// Report posts the reports of the week before now in owner/name through c.
func (h *Handler) Report(ctx context.Context, log *slog.Logger, c *github.Client, src ReportSource, owner, name string, now time.Time) error {
	week, from, to := lastWeek(now)
	repos, err := src.Repos(ctx)
	if err != nil {
		return err
	}
	type section struct {
		repo string
		st   RepoSettings
	}
	byTeam := map[string][]section{}
	for _, r := range repos {
		if o, _, _ := strings.Cut(r, "/"); !strings.EqualFold(o, owner) {
			continue
		}
		st, err := LoadSettings(ctx, h.Memo, r)
		if err != nil {
			return err
		}
		teams := map[string]bool{}
		for _, t := range st.Teams {
			teams[t] = true
		}
		if st.DefaultTeam != "" {
			teams[st.DefaultTeam] = true
		}
		if len(teams) == 0 {
			teams[""] = true
		}
		for t := range teams {
			byTeam[t] = append(byTeam[t], section{r, st})
		}
	}
	teams := make([]string, 0, len(byTeam))
	for t := range byTeam {
		teams = append(teams, t)
	}
	sort.Strings(teams)
	var intents []intent.Intent
	for _, team := range teams {
		secs := byTeam[team]
		var b strings.Builder
		who := "all repositories of " + owner
		if team != "" {
			who = "team " + team
		}
		fmt.Fprintf(&b, "Delivery metrics of %s for %s (%s to %s, UTC).\n\n", mdtext.Text(who), week,
			from.Format(time.DateOnly), to.AddDate(0, 0, -1).Format(time.DateOnly))
		shipped := 0
		for i, s := range secs {
			if i == maxReportRepos {
				fmt.Fprintf(&b, "\n_… %d more repositories not shown._\n", len(secs)-i)
				break
			}
			q := core.Query{From: from, To: to, Now: to, Repo: s.repo, Longest: 5}
			if team != "" {
				q.Team, q.TeamOf = team, s.st.TeamOf
			}
			// The weeks of the chart reach back reportWeeks; the table is
			// last week's, against the week before.
			chartFrom := to.AddDate(0, 0, -7*reportWeeks)
			hist, err := src.History(ctx, s.repo, chartFrom.Add(-reportLookback), to, s.st.LeadTime)
			if err != nil {
				return err
			}
			prep, err := core.Prepare(hist, s.st.LeadTime)
			if err != nil {
				log.WarnContext(ctx, "compute report section", "section", s.repo, "err", err)
				continue
			}
			m, err := prep.Compute(q)
			if err != nil {
				log.WarnContext(ctx, "compute report section", "section", s.repo, "err", err)
				continue
			}
			q.From = chartFrom
			if weeks, err := prep.Compute(q); err == nil {
				m.Weekly = weeks.Weekly
			}
			shipped += m.DeploymentFrequency.Deployments + m.ChangeLeadTime.Count
			part := core.Render(m, core.RenderOptions{Title: s.repo, Longest: 5})
			if b.Len()+len(part) > maxReportBody {
				fmt.Fprintf(&b, "\n_… %d more repositories not shown: the report reached GitHub's size limit._\n", len(secs)-i)
				break
			}
			b.WriteString(part)
			b.WriteString("\n")
		}
		if shipped == 0 {
			continue // nothing shipped and nothing measured: no issue
		}
		title := fmt.Sprintf("Delivery metrics %s: %s", week, who)
		intents = append(intents, intent.Intent{
			Kind: intent.EnsureIssue, Marker: marker.New(ReportMarkerKind, reportKey(team, week)),
			Issue:  intent.NewIssue{Title: title, Body: b.String()},
			Lookup: intent.IssueLookup{CreatedSince: to, NoSearch: true},
		})
	}
	if len(intents) == 0 {
		return nil
	}
	if _, err := h.Writer(c).Execute(ctx, owner, name, intents); err != nil {
		return fmt.Errorf("post lead-time reports in %s/%s: %w", owner, name, err)
	}
	log.InfoContext(ctx, "lead-time reports", "week", week, "teams", len(intents))
	return nil
}
