package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/google/go-github/v60/github"
	"github.com/sethvargo/go-githubactions"

	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/handler/planreview"
	"github.com/tasuki-sre/tasuki/internal/review"
	"github.com/tasuki-sre/tasuki/internal/tfc"
)

func init() {
	register("plan-review", command{
		Summary: "summarise Terraform plans; in GitHub Actions, post the review on the pull request",
		Run:     runPlanReview,
	})
}

// planReviewOpts are plan-review's flags, or in Actions its inputs.
type planReviewOpts struct {
	plans      []string // globs, each optionally "WORKSPACE=GLOB"
	workspace  string
	workdir    string
	format     string
	configPath string
	approvals  string // "" keeps the configured value
	artifact   string // workflow artifact holding the plans
	tfcRunID   string
	tfcToken   string
	tfcAddress string
	// noChanges says the pull request changes no Terraform: post a green
	// check saying so instead of a plan.
	noChanges bool
	// read tunes plan reading to the output (set for --format json).
	read review.ReadOptions
}

type stringsFlag []string

func (s *stringsFlag) String() string     { return strings.Join(*s, ",") }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }

func parsePlanReviewFlags(args []string, stderr io.Writer) (planReviewOpts, error) {
	var o planReviewOpts
	fs := flag.NewFlagSet("plan-review", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: action plan-review --plan FILE [--plan FILE ...] [--workspace NAME] [--format markdown|json] [--config .github/tasuki.yml]\n\n"+
			"Summarises `terraform show -json` plans. Outside GitHub Actions it prints the\n"+
			"review; exit 0 whatever the verdict, 2 when a plan cannot be read.\n\n")
		fs.PrintDefaults()
	}
	var plans stringsFlag
	fs.Var(&plans, "plan", "plan JSON file or glob (`terraform show -json` output); repeatable; `NAME=GLOB` sets the workspace of those plans")
	fs.StringVar(&o.workspace, "workspace", "", "workspace name of plans that do not name one")
	fs.StringVar(&o.workdir, "working-directory", "", "Terraform directory the plans were made in (default: each plan file's directory)")
	fs.StringVar(&o.format, "format", "markdown", "output format: markdown or json")
	fs.StringVar(&o.configPath, "config", "", "tasuki configuration file (default .github/tasuki.yml when present)")
	fs.StringVar(&o.approvals, "approvals", "", "override review.approvals")
	fs.StringVar(&o.tfcRunID, "tfc-run-id", "", "read the plan of this Terraform Cloud run instead of files")
	fs.StringVar(&o.tfcToken, "tfc-token", "", "Terraform Cloud API token (default $TFE_TOKEN)")
	fs.StringVar(&o.tfcAddress, "tfc-address", "", "Terraform Enterprise address (default $TFE_ADDRESS or "+tfc.DefaultAddress+")")
	fs.BoolVar(&o.noChanges, "no-changes", false, "the pull request changes no Terraform: set a successful check saying so, read no plan")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q (plans are given with --plan)", fs.Arg(0))
	}
	o.plans = plans
	return o, checkFormat(o.format)
}

// input reads an Action input. Composite actions pass inputs on as
// environment variables themselves; action.yml names them with underscores
// (INPUT_GITHUB_TOKEN), while JavaScript and Docker actions keep the dash
// (INPUT_GITHUB-TOKEN), so both spellings are read.
func input(a *githubactions.Action, name string) string {
	if v := a.GetInput(name); v != "" {
		return v
	}
	return strings.TrimSpace(a.Getenv("INPUT_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))))
}

func runPlanReview(ctx context.Context, args []string, e env) int {
	return runFlags(ctx, "plan-review", args, e, parsePlanReviewFlags, runPlanReviewAction, runPlanReviewLocal)
}

// runPlanReviewLocal prints the review of local plans.
func runPlanReviewLocal(ctx context.Context, o planReviewOpts, e env) int {
	if o.noChanges {
		fmt.Fprintln(e.Stdout, review.NoChangeTitle)
		return 0
	}
	if len(o.plans) == 0 && o.tfcRunID == "" {
		fmt.Fprintln(e.Stderr, "tasuki: plan-review: no plan given (use --plan FILE or --tfc-run-id RUN)")
		return 2
	}
	cfg, err := localConfig(o)
	if err != nil {
		fmt.Fprintf(e.Stderr, "tasuki: plan-review: %v\n", err)
		return 2
	}
	var sample interface{ Apply(*review.Summary) }
	if o.format == "json" {
		// JSON shows counts and reasons only: no attribute is read, and
		// only the risky changes a reason names are kept, so memory
		// stays flat whatever the plan size.
		rs := review.NewRiskSample(cfg.Review)
		o.read = review.ReadOptions{NoAttrs: true, Keep: rs.Keep}
		sample = rs
	} else {
		// The comment keeps more than it can show and counts the rest.
		ck := review.NewCommentKeep(cfg.Review)
		o.read = review.ReadOptions{Keep: ck.Keep}
		sample = ck
	}
	plans, perrs, meta, err := loadPlans(ctx, o, e)
	if err != nil {
		fmt.Fprintf(e.Stderr, "tasuki: plan-review: %v\n", err)
		return 2
	}
	if len(perrs) > 0 {
		for _, pe := range perrs {
			fmt.Fprintf(e.Stderr, "tasuki: plan-review: %s\n", pe.Error())
		}
		return 2
	}
	s := review.Summarize(plans, cfg.Review)
	if sample != nil {
		sample.Apply(&s)
	}
	v := review.Evaluate(s, cfg.Review, review.ApprovalFacts{})
	switch o.format {
	case "json":
		js, err := review.RenderJSON(s, v)
		if err != nil {
			fmt.Fprintf(e.Stderr, "tasuki: plan-review: render JSON: %v\n", err)
			return 1
		}
		e.Stdout.Write(js)
		if !bytes.HasSuffix(js, []byte("\n")) {
			io.WriteString(e.Stdout, "\n")
		}
	default:
		md := review.RenderComment(s, v, meta, review.CommentLimit)
		if !strings.HasSuffix(md, "\n") {
			md += "\n"
		}
		io.WriteString(e.Stdout, md)
	}
	return 0
}

// localConfig reads --config (or .github/tasuki.yml when present) and
// applies the policy overrides. A broken file is an error here: a local
// run is where the user fixes it.
func localConfig(o planReviewOpts) (config.Config, error) {
	path := o.configPath
	if path == "" {
		if _, err := os.Stat(config.Path); err == nil {
			path = config.Path
		}
	}
	cfg := config.Default()
	if path != "" {
		f := readConfigFile(path)
		if f.Err != nil {
			return cfg, f.Err
		}
		cfg = f.Config
	}
	return cfg, adjustConfig(&cfg, o)
}

func adjustConfig(cfg *config.Config, o planReviewOpts) error {
	if o.approvals != "" {
		n, err := strconv.Atoi(o.approvals)
		if err != nil || n < 0 {
			return fmt.Errorf("approvals %q: want a whole number of approvals, 0 or more", o.approvals)
		}
		cfg.Review.Approvals = n
	}
	return nil
}

// loadPlans reads the plans named by o: files matching the globs, or the
// plan of a Terraform Cloud run. A plan that cannot be read is returned in
// perrs, never half-read; err is for bad usage (a glob matching nothing).
func loadPlans(ctx context.Context, o planReviewOpts, e env) (plans []*review.Plan, perrs []*review.PlanError, meta review.Meta, err error) {
	if o.tfcRunID != "" {
		return loadTFCPlan(ctx, o, e)
	}
	seen := map[string]bool{}
	for _, arg := range o.plans {
		ws, glob := o.workspace, arg
		if name, rest, ok := strings.Cut(arg, "="); ok && name != "" && !strings.ContainsAny(name, `/\*?[`) {
			if _, statErr := os.Stat(arg); statErr != nil { // a file really named "a=b" wins
				ws, glob = name, rest
			}
		}
		files, gerr := filepath.Glob(glob)
		if gerr != nil {
			return nil, nil, meta, fmt.Errorf("--plan %q: %w", arg, gerr)
		}
		if len(files) == 0 {
			if hasMeta(glob) {
				return nil, nil, meta, fmt.Errorf("--plan %q: no file matches", arg)
			}
			files = []string{glob} // let the read say "no such file"
		}
		for _, f := range files {
			if seen[f] {
				continue
			}
			seen[f] = true
			p, pe := readPlanFile(f, o.read)
			if pe != nil {
				perrs = append(perrs, pe)
				continue
			}
			p.Workspace = ws
			p.Dir = planDir(o.workdir, f)
			plans = append(plans, p)
		}
	}
	nameByStem(plans)
	return plans, perrs, meta, nil
}

// nameByStem names the plans that share a directory and workspace by
// their file's stem (plans/app.json is "plans/app"): `--plan 'plans/*.json'`
// would otherwise label every plan "plans".
func nameByStem(plans []*review.Plan) {
	type key struct{ dir, ws string }
	n := map[key]int{}
	for _, p := range plans {
		n[key{p.Dir, p.Workspace}]++
	}
	for _, p := range plans {
		if n[key{p.Dir, p.Workspace}] < 2 {
			continue
		}
		stem := filepath.Base(p.Source)
		for _, ext := range []string{".json", ".tfplan", ".plan"} {
			stem = strings.TrimSuffix(stem, ext)
		}
		p.Name = path.Join(p.Dir, stem)
	}
}

func hasMeta(p string) bool { return strings.ContainsAny(p, `*?[\`) }

// planDir is the Terraform directory to report for a plan file: the given
// working directory, else the plan file's directory relative to the current
// one (plans are usually written beside their configuration), else none.
func planDir(workdir, file string) string {
	if workdir != "" {
		return filepath.ToSlash(filepath.Clean(workdir))
	}
	d := filepath.Dir(file)
	if filepath.IsAbs(d) {
		wd, err := os.Getwd()
		if err != nil {
			return ""
		}
		if d, err = filepath.Rel(wd, d); err != nil {
			return ""
		}
	}
	d = filepath.ToSlash(d)
	if d == "." || d == ".." || strings.HasPrefix(d, "../") {
		return ""
	}
	return d
}

// readPlanFile reads one plan with ro.
func readPlanFile(path string, ro review.ReadOptions) (*review.Plan, *review.PlanError) {
	f, err := os.Open(path)
	if err != nil {
		reason := err.Error()
		var pe *os.PathError
		if errors.As(err, &pe) {
			reason = pe.Err.Error()
		}
		return nil, &review.PlanError{Source: path, Reason: reason}
	}
	defer f.Close()
	p, err := review.ReadPlanWith(f, path, ro)
	if err != nil {
		return nil, asPlanError(path, err)
	}
	return p, nil
}

func asPlanError(source string, err error) *review.PlanError {
	var pe *review.PlanError
	if errors.As(err, &pe) {
		return pe
	}
	return &review.PlanError{Source: source, Reason: err.Error()}
}

func loadTFCPlan(ctx context.Context, o planReviewOpts, e env) ([]*review.Plan, []*review.PlanError, review.Meta, error) {
	var meta review.Meta
	token := o.tfcToken
	if token == "" {
		token = e.Getenv("TFE_TOKEN")
	}
	addr := o.tfcAddress
	if addr == "" {
		addr = e.Getenv("TFE_ADDRESS")
	}
	c, err := tfc.NewClient(addr, token, nil)
	if err != nil {
		return nil, nil, meta, err
	}
	run, err := c.Run(ctx, o.tfcRunID)
	if err != nil {
		return nil, nil, meta, err
	}
	meta.RunURL = run.URL
	source := "terraform cloud run " + run.ID
	p, err := review.ReadPlanWith(bytes.NewReader(run.PlanJSON), source, o.read)
	if err != nil {
		return nil, []*review.PlanError{asPlanError(source, err)}, meta, nil
	}
	p.Workspace = o.workspace
	if p.Workspace == "" {
		p.Workspace = run.Workspace
	}
	if o.workdir != "" {
		p.Dir = filepath.ToSlash(filepath.Clean(o.workdir))
	}
	return []*review.Plan{p}, nil, meta, nil
}

// runPlanReviewAction is plan-review inside GitHub Actions: on a
// pull_request event it posts the plan (comment, check run); on a
// pull_request_review event it re-evaluates the approvals only, which is
// how approvals turn the check green without the App.
func runPlanReviewAction(ctx context.Context, o planReviewOpts, e env) int {
	step := newActionStep(e)
	act, fail := step.act, step.fail
	// Inputs fill what flags left unset.
	if len(o.plans) == 0 {
		for _, l := range strings.FieldsFunc(input(act, "plan"), func(r rune) bool { return r == '\n' || r == ',' }) {
			if l = strings.TrimSpace(l); l != "" {
				o.plans = append(o.plans, l)
			}
		}
	}
	fill := func(dst *string, name string) {
		if *dst == "" {
			*dst = input(act, name)
		}
	}
	fill(&o.workspace, "workspace")
	fill(&o.workdir, "working-directory")
	fill(&o.configPath, "config")
	fill(&o.approvals, "approvals")
	fill(&o.artifact, "artifact-name")
	fill(&o.tfcRunID, "tfc-run-id")
	fill(&o.tfcToken, "tfc-token")
	fill(&o.tfcAddress, "tfc-address")
	if v := input(act, "no-changes"); v != "" && !o.noChanges {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return step.bad("plan-review: no-changes %q: want true or false", v)
		}
		o.noChanges = b
	}
	for _, secret := range []string{o.tfcToken, e.Getenv("TFE_TOKEN")} {
		if secret != "" {
			act.AddMask(secret)
		}
	}
	if err := adjustConfig(&config.Config{}, o); err != nil {
		return step.bad("plan-review: %v", err)
	}

	eventName := e.Getenv("GITHUB_EVENT_NAME")
	var ev struct {
		Action      string              `json:"action"`
		PullRequest *github.PullRequest `json:"pull_request"`
		Repo        *github.Repository  `json:"repository"`
	}
	if p := e.Getenv("GITHUB_EVENT_PATH"); p != "" {
		data, err := os.ReadFile(p)
		if err != nil {
			return fail("plan-review: read event %s: %v", p, err)
		}
		if err := json.Unmarshal(data, &ev); err != nil {
			return fail("plan-review: decode %s event %s: %v", eventName, p, err)
		}
	}
	pr := ev.PullRequest
	if pr == nil || ev.Repo == nil {
		// A push or manual run: report the plan, post nothing.
		if o.noChanges {
			act.Noticef("plan-review: %s", review.NoChangeTitle)
			return 0
		}
		act.Noticef("plan-review: %s event has no pull request; the review is in the job summary only", eventName)
		return reportOnly(ctx, act, o, e)
	}
	owner, repo, number := ev.Repo.GetOwner().GetLogin(), ev.Repo.GetName(), pr.GetNumber()
	base, gh, err := step.base(o.configPath, fmt.Sprintf("post on %s/%s#%d", owner, repo, number))
	if err != nil {
		return fail("plan-review: %v", err)
	}
	rvOpts := []planreview.Option{planreview.WithConfigAdjust(func(c *config.Config) { _ = adjustConfig(c, o) })}
	teams, err := membersOption(act, e, base)
	if err != nil {
		return fail("plan-review: %v", err)
	}
	rv := planreview.New(base, append(rvOpts, teams)...)

	switch eventName {
	case "pull_request_review", "pull_request_review_comment":
		res, err := rv.Reevaluate(ctx, gh, owner, repo, number)
		if err != nil {
			return fail("plan-review: re-evaluate %s/%s#%d: %v", owner, repo, number, err)
		}
		if !res.Found {
			act.Noticef("plan-review: no plan review on %s/%s#%d yet; nothing to re-evaluate", owner, repo, number)
			return 0
		}
		act.SetOutput("conclusion", res.Conclusion)
		act.SetOutput("needs-second-reviewer", strconv.FormatBool(res.Verdict.NeedsSecondReviewer))
		act.AddStepSummary(fmt.Sprintf("### %s\n\n%s\n", planreview.CheckName, res.CheckTitle))
		return 0
	}

	if o.noChanges {
		// The workflow found no Terraform file changed: a required
		// check must not block the pull request, and says why it passed.
		res, err := rv.PostNoChange(ctx, gh, owner, repo, number, pr.GetHead().GetSHA())
		if err != nil {
			return fail("plan-review: post on %s/%s#%d: %v", owner, repo, number, err)
		}
		setCountOutputs(act, review.Counts{})
		act.SetOutput("needs-second-reviewer", "false")
		act.SetOutput("conclusion", res.Conclusion)
		act.SetOutput("comment-url", res.CommentURL)
		act.AddStepSummary(fmt.Sprintf("### %s\n\n%s\n", planreview.CheckName, res.CheckTitle))
		return 0
	}
	cfg, err := rv.Config(ctx, gh, owner, repo)
	if err != nil {
		return fail("plan-review: %v", err)
	}
	// The comment keeps what it can show and counts the rest.
	ck := review.NewCommentKeep(cfg.Review)
	o.read = review.ReadOptions{Keep: ck.Keep}
	plans, perrs, meta, err := loadPlans(ctx, o, e)
	if err != nil {
		return step.bad("plan-review: %v", err)
	}
	if len(plans) == 0 && len(perrs) == 0 {
		return step.bad("plan-review: no plan given (set the plan input to the `terraform show -json` output)")
	}
	for _, pe := range perrs {
		act.WithFieldsMap(map[string]string{"file": pe.Source}).Errorf("plan-review: %s", pe.Error())
		fmt.Fprintf(e.Stderr, "tasuki: plan-review: %s\n", pe.Error())
	}
	meta.ArtifactName = o.artifact
	if meta.RunURL == "" {
		if srv, rid := e.Getenv("GITHUB_SERVER_URL"), e.Getenv("GITHUB_RUN_ID"); srv != "" && rid != "" {
			meta.RunURL = fmt.Sprintf("%s/%s/actions/runs/%s", srv, e.Getenv("GITHUB_REPOSITORY"), rid)
		}
	}
	res, err := rv.PostPlan(ctx, gh, planreview.PostPlanInput{
		Owner: owner, Repo: repo, Number: number,
		HeadSHA:    pr.GetHead().GetSHA(),
		Plans:      plans,
		Unreadable: perrs,
		Meta:       meta,
		Config:     &cfg,
		Keep:       ck,
	})
	if err != nil {
		return fail("plan-review: post on %s/%s#%d: %v", owner, repo, number, err)
	}
	setCountOutputs(act, res.Summary.Counts)
	act.SetOutput("needs-second-reviewer", strconv.FormatBool(res.Verdict.NeedsSecondReviewer))
	act.SetOutput("conclusion", res.Conclusion)
	act.SetOutput("comment-url", res.CommentURL)
	if len(perrs) > 0 {
		act.AddStepSummary(res.Body)
		return 2 // unreadable input, as on a terminal
	}
	// The step summary has room for the whole review; the comment may
	// have been cut to GitHub's comment size.
	act.AddStepSummary(review.RenderComment(res.Summary, res.Verdict, meta, 1<<20))
	return printJSON(o, e, res.Summary, res.Verdict)
}

// reportOnly summarises the plans into the step summary and outputs.
func reportOnly(ctx context.Context, act *githubactions.Action, o planReviewOpts, e env) int {
	cfg := config.Default()
	if o.configPath != "" {
		c, err := localConfig(o)
		if err != nil {
			act.Errorf("plan-review: %v", err)
			fmt.Fprintf(e.Stderr, "tasuki: plan-review: %v\n", err)
			return 2
		}
		cfg = c
	} else if err := adjustConfig(&cfg, o); err != nil {
		act.Errorf("plan-review: %v", err)
		fmt.Fprintf(e.Stderr, "tasuki: plan-review: %v\n", err)
		return 2
	}
	ck := review.NewCommentKeep(cfg.Review)
	o.read = review.ReadOptions{Keep: ck.Keep}
	plans, perrs, meta, err := loadPlans(ctx, o, e)
	if err != nil {
		act.Errorf("plan-review: %v", err)
		fmt.Fprintf(e.Stderr, "tasuki: plan-review: %v\n", err)
		return 2
	}
	for _, pe := range perrs {
		act.WithFieldsMap(map[string]string{"file": pe.Source}).Errorf("plan-review: %s", pe.Error())
		fmt.Fprintf(e.Stderr, "tasuki: plan-review: %s\n", pe.Error())
	}
	if len(perrs) > 0 {
		return 2
	}
	s := review.Summarize(plans, cfg.Review)
	ck.Apply(&s)
	v := review.Evaluate(s, cfg.Review, review.ApprovalFacts{})
	setCountOutputs(act, s.Counts)
	act.SetOutput("needs-second-reviewer", strconv.FormatBool(v.NeedsSecondReviewer))
	act.AddStepSummary(review.RenderComment(s, v, meta, 1<<20))
	return printJSON(o, e, s, v)
}

func setCountOutputs(act *githubactions.Action, c review.Counts) {
	for _, kv := range []struct {
		k string
		v int
	}{
		{"create", c.Create}, {"update", c.Update}, {"delete", c.Delete}, {"replace", c.Replace},
		{"read", c.Read}, {"no-op", c.NoOp}, {"import", c.Import}, {"move", c.Move}, {"forget", c.Forget},
	} {
		act.SetOutput(kv.k, strconv.Itoa(kv.v))
	}
}
