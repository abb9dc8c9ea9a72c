package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/ghread"
	"github.com/tasuki-sre/tasuki/internal/ghwrite"
	lth "github.com/tasuki-sre/tasuki/internal/handler/leadtime"
	core "github.com/tasuki-sre/tasuki/internal/leadtime"
	"github.com/tasuki-sre/tasuki/internal/mdtext"
)

func init() {
	register("lead-time", command{
		Summary: "compute a repository's delivery metrics (DORA) from GitHub and write them as the job summary",
		Run:     runLeadTime,
	})
	register("record-deployment", command{
		Summary: "record a production deployment of this commit on GitHub and print the lead times of what it shipped",
		Run:     runRecordDeployment,
	})
}

// backfillHook reads the history of `lead-time --backfill` (the GraphQL
// backfill, leadtime_backfill.go); nil in a build without it, when
// --backfill says it is unavailable.
var backfillHook historyReader

// historyReader reads the history of repo ("owner/name") that lead-time
// computes from, from readFrom to to: through REST (lth.ReadHistory), or
// with --backfill through the GraphQL backfill.
type historyReader func(ctx context.Context, step *actionStep, c *github.Client, repo string, readFrom, to time.Time, cfg core.Config) (core.History, error)

type leadTimeOpts struct {
	repo       string
	since      string
	until      string
	format     string
	configPath string
	maxPulls   int
	backfill   bool
}

func parseLeadTimeFlags(args []string, stderr io.Writer) (leadTimeOpts, error) {
	var o leadTimeOpts
	fs := flag.NewFlagSet("lead-time", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.repo, "repo", "", "OWNER/NAME to measure (default GITHUB_REPOSITORY)")
	fs.StringVar(&o.since, "since", "", "start of the period: a date (2026-01-31) or RFC 3339 time (default 28 days before --until)")
	fs.StringVar(&o.until, "until", "", "end of the period, excluded (default now)")
	fs.StringVar(&o.format, "format", "markdown", "output: markdown or json")
	fs.StringVar(&o.configPath, "config", "", "path of a tasuki.yml to use instead of the repository's")
	fs.IntVar(&o.maxPulls, "max-pulls", 300, "most merged pull requests to read (two requests each)")
	fs.BoolVar(&o.backfill, "backfill", false, "store the repository's history through GraphQL first (for the App's store)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: action lead-time [flags]\n\n"+
			"Reads the repository's merged pull requests and production deployments through GitHub's API\n"+
			"(GITHUB_TOKEN), computes the delivery metrics and prints them; in GitHub Actions it writes\n"+
			"them as the job summary and sets the outputs deployments, lead-time-seconds (median) and\n"+
			"change-fail-rate.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := parseWithFormat(fs, args, &o.format); err != nil {
		return o, err
	}
	if o.maxPulls < 1 {
		return o, fmt.Errorf("--max-pulls must be at least 1")
	}
	return o, nil
}

// parseWithFormat parses the flags of lead-time and record-deployment,
// which take no arguments and a --format of markdown or json (read once
// parsed).
func parseWithFormat(fs *flag.FlagSet, args []string, format *string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return checkFormat(*format)
}

// checkFormat refuses a --format every command but version prints in.
func checkFormat(format string) error {
	if format != "markdown" && format != "json" {
		return fmt.Errorf("--format %q: want markdown or json", format)
	}
	return nil
}

// leadTimeInputs are the action inputs lead-time reads, each the default of
// its flag (action.yml documents them).
var leadTimeInputs = []inputFlag{
	{"since", "since"}, {"until", "until"}, {"max-pulls", "max-pulls"}, {"backfill", "backfill"},
	{"format", "format"}, {"config", "config"},
}

// recordDeploymentInputs are the action inputs record-deployment reads.
var recordDeploymentInputs = []inputFlag{
	{"environment", "environment"}, {"deployment-sha", "sha"}, {"deployment-ref", "ref"},
	{"deployment-url", "url"}, {"format", "format"}, {"config", "config"},
}

// inputFlag names an action input and the flag it gives the default of.
type inputFlag struct{ input, flag string }

// withInputs puts, in GitHub Actions, a --flag=value before args for each
// of inputs that is set (INPUT_*, as action.yml passes them): the inputs
// give the flags their defaults, a flag in args still wins (the last of a
// flag counts), and an input is checked as its flag is. The composite
// action runs the binary with the command alone, so its inputs are all
// the flags a workflow can give.
func withInputs(e env, args []string, inputs []inputFlag) []string {
	if e.Getenv("GITHUB_ACTIONS") != "true" {
		return args
	}
	var out []string
	for _, in := range inputs {
		v := strings.TrimSpace(e.Getenv("INPUT_" + strings.ToUpper(strings.ReplaceAll(in.input, "-", "_"))))
		if v != "" {
			out = append(out, "--"+in.flag+"="+v)
		}
	}
	if len(out) == 0 {
		return args
	}
	return append(out, args...)
}

func runLeadTime(ctx context.Context, args []string, e env) int {
	args = withInputs(e, args, leadTimeInputs)
	return runFlags(ctx, "lead-time", args, e, parseLeadTimeFlags, func(ctx context.Context, o leadTimeOpts, e env) int {
		return leadTime(ctx, o, e, true)
	}, func(ctx context.Context, o leadTimeOpts, e env) int {
		return leadTime(ctx, o, e, false)
	})
}

// period reads --since and --until.
func period(since, until string, now time.Time) (time.Time, time.Time, error) {
	to := now.UTC()
	var err error
	if until != "" {
		if to, err = parseDay(until, true); err != nil {
			return to, to, fmt.Errorf("--until: %w", err)
		}
	}
	from := to.AddDate(0, 0, -28)
	if since != "" {
		if from, err = parseDay(since, false); err != nil {
			return from, to, fmt.Errorf("--since: %w", err)
		}
	}
	if !from.Before(to) {
		return from, to, fmt.Errorf("--since %s is not before --until %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	if to.Sub(from) > 366*24*time.Hour {
		return from, to, fmt.Errorf("the period from --since to --until is longer than 366 days")
	}
	return from, to, nil
}

func parseDay(s string, end bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return t, fmt.Errorf("%q is neither a date (2026-01-31) nor an RFC 3339 time", s)
	}
	if end {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}

// leadTimeConfig reads the leadtime section: --config, else the
// repository's file through the API.
func leadTimeConfig(ctx context.Context, step *actionStep, c *github.Client, path, owner, repo string) (core.Config, error) {
	var f config.Fetched
	if path != "" {
		f = readConfigFile(path)
	} else {
		f = config.NewLoader().Load(ctx, c, owner, repo)
	}
	if f.Err != nil {
		return core.Config{}, f.Err
	}
	return lth.LeadTimeConfig(f.Config, step.log), nil
}

func leadTime(ctx context.Context, o leadTimeOpts, e env, inAction bool) int {
	step := newActionStepQuiet(e, inAction)
	read := func(ctx context.Context, _ *actionStep, c *github.Client, repo string, readFrom, to time.Time, cfg core.Config) (core.History, error) {
		owner, name, _ := strings.Cut(repo, "/")
		return lth.ReadHistory(ctx, c, owner, name, readFrom, to, cfg, lth.RESTLimits{Pulls: o.maxPulls})
	}
	if o.backfill {
		if backfillHook == nil {
			return step.bad("lead-time: --backfill is not available in this build")
		}
		read = backfillHook
	}
	if o.repo == "" {
		o.repo = e.Getenv("GITHUB_REPOSITORY")
	}
	owner, repo, ok := strings.Cut(o.repo, "/")
	if !ok || owner == "" || repo == "" {
		return step.bad("lead-time: give --repo OWNER/NAME (or run in a workflow, which sets GITHUB_REPOSITORY)")
	}
	from, to, err := period(o.since, o.until, time.Now())
	if err != nil {
		return step.bad("lead-time: %v", err)
	}
	_, c, err := step.base(o.configPath, "read "+o.repo)
	if err != nil {
		return step.fail("lead-time: %v", err)
	}
	cfg, err := leadTimeConfig(ctx, step, c, o.configPath, owner, repo)
	if err != nil {
		return step.bad("lead-time: %v", err)
	}
	// The previous period (for the change) and two weeks more: changes
	// merged before a deployment of the period shipped them.
	readFrom := from.Add(-to.Sub(from)).Add(-14 * 24 * time.Hour)
	h, err := read(ctx, step, c, o.repo, readFrom, to, cfg)
	if err != nil {
		return step.fail("lead-time: %v", err)
	}
	now := time.Now().UTC()
	if now.After(to) {
		now = to
	}
	m, err := core.Compute(h, cfg, core.Query{From: from, To: to, Now: now, Repo: o.repo})
	if err != nil {
		return step.fail("lead-time: %v", err)
	}
	md := core.Render(m, core.RenderOptions{Title: o.repo})
	if o.format == "json" {
		b, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			return step.fail("lead-time: %v", err)
		}
		fmt.Fprintf(e.Stdout, "%s\n", b)
	} else if !inAction {
		_, _ = io.WriteString(e.Stdout, md)
	}
	if inAction {
		step.act.AddStepSummary(md)
		step.act.SetOutput("deployments", fmt.Sprint(m.DeploymentFrequency.Deployments))
		step.act.SetOutput("lead-time-seconds", fmt.Sprint(int64(m.ChangeLeadTime.Median.Seconds())))
		step.act.SetOutput("change-fail-rate", fmt.Sprintf("%.4f", m.ChangeFailRate.Rate))
	}
	return 0
}

// newActionStepQuiet is newActionStep inside Actions; outside, the same
// token handling without the runner's files.
func newActionStepQuiet(e env, inAction bool) *actionStep {
	if inAction {
		return newActionStep(e)
	}
	q := e
	get := e.Getenv
	q.Getenv = func(k string) string {
		if k == "GITHUB_OUTPUT" || k == "GITHUB_STEP_SUMMARY" {
			return os.DevNull // not in a workflow: nothing to write to, no warning
		}
		return get(k)
	}
	q.Stdout = io.Discard // the runner's workflow commands mean nothing on a terminal
	s := newActionStep(q)
	s.e = e
	return s
}

type recordDeploymentOpts struct {
	environment string
	sha         string
	ref         string
	url         string
	format      string
	configPath  string
}

func parseRecordDeploymentFlags(args []string, stderr io.Writer) (recordDeploymentOpts, error) {
	var o recordDeploymentOpts
	fs := flag.NewFlagSet("record-deployment", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.environment, "environment", "production", "the environment deployed to")
	fs.StringVar(&o.sha, "sha", "", "the commit deployed (default GITHUB_SHA)")
	fs.StringVar(&o.ref, "ref", "", "the branch or tag deployed from (default GITHUB_REF_NAME)")
	fs.StringVar(&o.url, "url", "", "the environment's address, shown on GitHub")
	fs.StringVar(&o.format, "format", "markdown", "output: markdown or json")
	fs.StringVar(&o.configPath, "config", "", "path of a tasuki.yml to use instead of the repository's")
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: action record-deployment [flags]\n\n"+
			"In GitHub Actions, after your deploy step: records a successful deployment of the commit on\n"+
			"GitHub (once, however often the job is rerun) and prints the pull requests it shipped since\n"+
			"the previous deployment to the environment, with their lead times.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := parseWithFormat(fs, args, &o.format); err != nil {
		return o, err
	}
	return o, nil
}

func runRecordDeployment(ctx context.Context, args []string, e env) int {
	args = withInputs(e, args, recordDeploymentInputs)
	return runFlags(ctx, "record-deployment", args, e, parseRecordDeploymentFlags, runRecordDeploymentAction,
		func(_ context.Context, _ recordDeploymentOpts, e env) int {
			fmt.Fprintln(e.Stderr, "tasuki: record-deployment: runs in GitHub Actions only (it writes a deployment with GITHUB_TOKEN)")
			return 2
		})
}

// shippedLookback is how far before the previous deployment merged pull
// requests are read to find those the deployment shipped.
const shippedLookback = 24 * time.Hour

func runRecordDeploymentAction(ctx context.Context, o recordDeploymentOpts, e env) int {
	step := newActionStep(e)
	owner, repo, ok := strings.Cut(e.Getenv("GITHUB_REPOSITORY"), "/")
	if !ok {
		return step.bad("record-deployment: GITHUB_REPOSITORY %q is not OWNER/NAME", e.Getenv("GITHUB_REPOSITORY"))
	}
	if o.sha == "" {
		o.sha = e.Getenv("GITHUB_SHA")
	}
	if o.ref == "" {
		o.ref = e.Getenv("GITHUB_REF_NAME")
	}
	if o.sha == "" {
		return step.bad("record-deployment: no commit: give --sha or run in a workflow (GITHUB_SHA)")
	}
	base, c, err := step.base(o.configPath, "record a deployment in "+owner+"/"+repo)
	if err != nil {
		return step.fail("record-deployment: %v", err)
	}
	cfg, err := leadTimeConfig(ctx, step, c, o.configPath, owner, repo)
	if err != nil {
		return step.bad("record-deployment: %v", err)
	}
	dep, created, err := base.Writer(c).RecordDeployment(ctx, owner, repo, ghwrite.Deployment{
		SHA: o.sha, Ref: o.ref, Environment: o.environment, URL: o.url, Description: "recorded by tasuki record-deployment",
	})
	if err != nil {
		return step.fail("record-deployment: %v", err)
	}
	rows, err := shippedBy(ctx, c, cfg, owner, repo, o.environment, dep)
	if err != nil {
		return step.fail("record-deployment: %v", err)
	}
	md := shippedMarkdown(owner+"/"+repo, dep, created, rows)
	if o.format == "json" {
		b, err := json.MarshalIndent(struct {
			Deployment int64          `json:"deployment"`
			Created    bool           `json:"created"`
			Pulls      []core.PullRow `json:"pulls"`
		}{dep.GetID(), created, rows}, "", "  ")
		if err != nil {
			return step.fail("record-deployment: %v", err)
		}
		fmt.Fprintf(e.Stdout, "%s\n", b)
	}
	step.act.AddStepSummary(md)
	step.act.SetOutput("deployment-id", fmt.Sprint(dep.GetID()))
	step.act.SetOutput("pulls", fmt.Sprint(len(rows)))
	return 0
}

// shippedBy returns the pull requests dep shipped since the previous
// successful deployment to env: the commits previous...dep (compare), the
// merged pull requests among them, and their lead times.
func shippedBy(ctx context.Context, c *github.Client, cfg core.Config, owner, repo, env string, dep *github.Deployment) ([]core.PullRow, error) {
	full := owner + "/" + repo
	now := time.Now().UTC()
	all, err := lth.ProductionDeployments(ctx, c, owner, repo, env, now.AddDate(0, 0, -90), now.Add(time.Minute), 100)
	if err != nil {
		return nil, err
	}
	id := fmt.Sprintf("deployment:%d", dep.GetID())
	var this, prev *core.Deployment
	for i := range all {
		if all[i].ID == id {
			this = &all[i]
			if i > 0 {
				prev = &all[i-1]
			}
		}
	}
	if this == nil {
		return nil, fmt.Errorf("deployment %d has no success status yet", dep.GetID())
	}
	from := this.FinishedAt.AddDate(0, 0, -14)
	if prev != nil {
		from = prev.FinishedAt.Add(-shippedLookback)
	}
	if this.Commits == nil && prev != nil {
		this.Commits, err = lth.CommitRange(ctx, c, owner, repo, prev.SHA, this.SHA)
		if err != nil {
			return nil, err
		}
	}
	prs, err := ghread.MergedPulls(ctx, c, owner, repo, from, now.Add(time.Minute), 500)
	if err != nil {
		return nil, err
	}
	in := map[string]bool{}
	for _, s := range this.Commits {
		in[s] = true
	}
	var mine []ghread.Pull
	for _, p := range prs {
		if this.Commits == nil || in[p.MergeCommitSHA] {
			mine = append(mine, p)
		}
	}
	pulls, reviews, err := lth.PullFacts(ctx, c, owner, repo, mine)
	if err != nil {
		return nil, err
	}
	h := core.History{Pulls: pulls, Reviews: reviews, Deployments: []core.Deployment{*this}}
	if prev != nil {
		h.Deployments = append([]core.Deployment{*prev}, h.Deployments...)
	}
	cfg.DeploySources = []core.Source{core.SourceDeploymentStatus}
	return core.Shipped(h, cfg, full, id)
}

func shippedMarkdown(repo string, dep *github.Deployment, created bool, rows []core.PullRow) string {
	verb := "Recorded"
	if !created {
		verb = "Already recorded:"
	}
	return fmt.Sprintf("### Deployment %d of %s\n\n%s deployment of %s to %s.\n\n", dep.GetID(), mdtext.Text(repo), verb,
		mdtext.Code(shortSHA(dep.GetSHA())), mdtext.Text(dep.GetEnvironment())) +
		core.RenderShipped(fmt.Sprintf("deployment:%d", dep.GetID()), rows)
}

func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
