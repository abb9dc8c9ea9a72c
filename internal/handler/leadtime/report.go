package leadtime

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/config"
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
	// Prepare returns repo's events from since to until, linked under cfg.
	Prepare(ctx context.Context, repo string, since, until time.Time, cfg core.Config) (*core.Prepared, error)
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

// lastWeek returns the ISO week before the one holding now, cut in loc
// (Monday 00:00 local time), its start and its end.
func lastWeek(now time.Time, loc *time.Location) (string, time.Time, time.Time) {
	now = now.In(loc)
	day := (int(now.Weekday()) + 6) % 7 // Monday 0
	end := time.Date(now.Year(), now.Month(), now.Day()-day, 0, 0, 0, 0, loc)
	start := time.Date(end.Year(), end.Month(), end.Day()-7, 0, 0, 0, 0, loc)
	y, w := start.ISOWeek()
	return fmt.Sprintf("%d-W%02d", y, w), start, end
}

// ReportInstallations posts last week's delivery reports of every
// installation whose organisation names leadtime.report_repo in its
// .github repository's tasuki.yml: one issue per team owning services in
// the organisation's repositories (one for the organisation without
// teams) and ISO week, cut in that configuration's leadtime.timezone,
// found again by its marker so that a rerun never posts twice. A failing
// installation is logged and the others still run; the errors are
// returned joined so the job retries.
func (h *Handler) ReportInstallations(ctx context.Context, apps AppLister, src ReportSource) error {
	if src == nil {
		return nil
	}
	log := h.Logger().With("job", "leadtime-report")
	return ghread.EachInstallation(ctx, log, apps.App(), maxInstallations, h.Client, func(in *github.Installation, c *github.Client) error {
		org := in.GetAccount().GetLogin()
		ilog := log.With("installation", in.GetID(), "org", org)
		_, lt := h.loadConfig(ctx, ilog, c, org, config.OrgRepo)
		owner, name, ok := lt.ReportRepoOf(org)
		if !ok {
			if lt.ReportRepo != "" {
				ilog.WarnContext(ctx, "leadtime.report_repo is outside the organisation; no report", "report_repo", lt.ReportRepo)
			}
			return nil
		}
		if err := h.Report(ctx, ilog.With("repo", owner+"/"+name), c, src, owner, name, h.Clock(), lt.Location()); err != nil {
			ilog.ErrorContext(ctx, "lead-time report failed", "err", err)
			return err
		}
		return nil
	})
}

// Report posts the reports of the week before now (weeks cut in loc) in
// owner/name through c.
func (h *Handler) Report(ctx context.Context, log *slog.Logger, c *github.Client, src ReportSource, owner, name string, now time.Time, loc *time.Location) error {
	week, from, to := lastWeek(now, loc)
	repos, err := src.Repos(ctx)
	if err != nil {
		return err
	}
	// A public report shows only public repositories: titles and authors
	// of a private repository's pull requests are not for everyone.
	visible, err := ghread.VisibleIn(ctx, c, owner, name)
	if err != nil {
		return err
	}
	hidden := 0
	byTeam := map[string][]section{}
	for _, r := range repos {
		if o, _, _ := strings.Cut(r, "/"); !strings.EqualFold(o, owner) {
			continue
		}
		if ok, err := visible(r); err != nil {
			return err
		} else if !ok {
			hidden++
			continue
		}
		st, err := LoadSettings(ctx, h.Memo, r)
		if err != nil {
			return err
		}
		st = h.refreshHandoff(ctx, log, c, r, st)
		teams := st.ReportTeams()
		if len(teams) == 0 {
			teams = []string{""}
		}
		for _, t := range teams {
			byTeam[t] = append(byTeam[t], section{r, st})
		}
	}
	teams := make([]string, 0, len(byTeam))
	for t := range byTeam {
		teams = append(teams, t)
	}
	sort.Strings(teams)
	parts := h.reportParts(ctx, log, src, byTeamRepos(byTeam), to, loc)
	var intents []intent.Intent
	for _, team := range teams {
		secs := byTeam[team]
		var b strings.Builder
		who := "all repositories of " + owner
		if team != "" {
			who = "team " + team
		}
		fmt.Fprintf(&b, "Delivery metrics of %s for %s (%s to %s, %s).\n\n", mdtext.Text(who), week,
			from.Format(time.DateOnly), to.AddDate(0, 0, -1).Format(time.DateOnly), loc) // an IANA name, validated
		if hidden > 0 {
			fmt.Fprintf(&b, "_Private repositories left out (this repository is public): %d._\n\n", hidden)
		}
		shipped := 0
		for i, s := range secs {
			if i == maxReportRepos {
				fmt.Fprintf(&b, "\n_… %d more repositories not shown._\n", len(secs)-i)
				break
			}
			p, ok := parts[teamRepo{team, s.repo}]
			if !ok {
				continue // could not be computed (logged)
			}
			shipped += p.shipped
			if b.Len()+len(p.md) > maxReportBody {
				fmt.Fprintf(&b, "\n_… %d more repositories not shown: the report reached GitHub's size limit._\n", len(secs)-i)
				break
			}
			b.WriteString(p.md)
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

// section is one repository of a report, with its settings.
type section struct {
	repo string
	st   RepoSettings
}

// teamRepo is one team's section of one repository.
type teamRepo struct{ team, repo string }

// reportPart is a rendered section and what it measured.
type reportPart struct {
	md      string
	shipped int // deployments and changes measured: 0 is an empty section
}

// byTeamRepos lists, for each repository, its settings and the teams whose
// reports show it (among each team's first maxReportRepos sections).
func byTeamRepos(byTeam map[string][]section) map[string]repoTeams {
	out := map[string]repoTeams{}
	for team, secs := range byTeam {
		for i, s := range secs {
			if i == maxReportRepos {
				break
			}
			rt := out[s.repo]
			rt.st = s.st
			rt.teams = append(rt.teams, team)
			out[s.repo] = rt
		}
	}
	return out
}

type repoTeams struct {
	st    RepoSettings
	teams []string
}

// reportParts computes and renders each team's section of each repository
// of the week ending at to: each repository is read and linked once
// (src.Prepare), then measured per team (Prepared.Compute), so a
// repository several teams share costs one read of the store. Weeks are
// cut in loc, the organisation's zone, in every section alike. A
// repository that fails is logged and left out.
func (h *Handler) reportParts(ctx context.Context, log *slog.Logger, src ReportSource, repos map[string]repoTeams, to time.Time, loc *time.Location) map[teamRepo]reportPart {
	from := time.Date(to.Year(), to.Month(), to.Day()-7, 0, 0, 0, 0, loc)
	// The weeks of the chart reach back reportWeeks; the table is last
	// week's, against the week before.
	chartFrom := time.Date(to.Year(), to.Month(), to.Day()-7*reportWeeks, 0, 0, 0, 0, loc)
	names := make([]string, 0, len(repos))
	for r := range repos {
		names = append(names, r)
	}
	sort.Strings(names)
	out := map[teamRepo]reportPart{}
	for _, repo := range names {
		rt := repos[repo]
		cfg := rt.st.LeadTime
		cfg.Timezone = loc.String()
		prep, err := src.Prepare(ctx, repo, chartFrom.Add(-reportLookback), to, cfg)
		if err != nil {
			log.WarnContext(ctx, "compute report section", "section", repo, "err", err)
			continue
		}
		for _, team := range rt.teams {
			q := core.Query{From: from, To: to, Now: to, Repo: repo, Longest: 5}
			if team != "" {
				q.Team, q.TeamOf = team, rt.st.TeamOf
			}
			m, err := prep.Compute(q)
			if err != nil {
				log.WarnContext(ctx, "compute report section", "section", repo, "team", team, "err", err)
				continue
			}
			q.From = chartFrom
			if weeks, err := prep.Compute(q); err == nil {
				m.Weekly = weeks.Weekly
			}
			out[teamRepo{team, repo}] = reportPart{
				md:      core.Render(m, core.RenderOptions{Title: repo, Longest: 5}),
				shipped: m.DeploymentFrequency.Deployments + m.ChangeLeadTime.Count,
			}
		}
	}
	return out
}
