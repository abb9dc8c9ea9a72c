package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/handler"
	commandshell "github.com/tasuki-sre/tasuki/internal/handler/commands"
	obshell "github.com/tasuki-sre/tasuki/internal/handler/onboarding"
	"github.com/tasuki-sre/tasuki/internal/onboarding"
)

func init() {
	register("onboarding", command{
		Summary: "re-verify the repository's SRE handoff issue; locally, check a checklist override",
		Run:     runOnboarding,
	})
}

type onboardingOpts struct {
	configPath string
	format     string
	checklist  string // local: a checklist override to check
	org        string // local: the organisation's checklist the override goes over
	tier       string // local: the tier to list the checklist for
}

func parseOnboardingFlags(args []string, stderr io.Writer) (onboardingOpts, error) {
	var o onboardingOpts
	fs := flag.NewFlagSet("onboarding", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.configPath, "config", "", "path of a tasuki.yml to use instead of the repository's")
	fs.StringVar(&o.format, "format", "markdown", "output format: markdown or json")
	fs.StringVar(&o.checklist, "checklist", "", "outside Actions: a checklist override (.github/tasuki/onboarding.yml) to check and list merged over the built-in one")
	fs.StringVar(&o.org, "org-checklist", "", "outside Actions: the organisation's checklist override, merged before --checklist (which is then checked as a repository's: it may not relax what the two define)")
	fs.StringVar(&o.tier, "tier", "", "outside Actions: list only the items of this tier (A, B or C)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: action onboarding [--format markdown|json] [--config .github/tasuki.yml]\n"+
			"       action onboarding --checklist FILE [--org-checklist FILE] [--tier A|B|C] [--format markdown|json]\n\n"+
			"In GitHub Actions it does what the App does with GITHUB_TOKEN: on issue_comment it runs /tasuki\n"+
			"onboard, done and na (which need a token that may read teams), on push it re-verifies the open\n"+
			"SRE handoff (and starts one from an added ownership.handoff block), on pull_request it closes\n"+
			"the handoff when the transfer pull request merges, on schedule or workflow_dispatch it\n"+
			"re-verifies, or guards a handed-over repository. Outside Actions it checks a checklist\n"+
			"override and prints the checklist it makes.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := parseWithFormat(fs, args, &o.format); err != nil {
		return o, err
	}
	o.tier = strings.ToUpper(o.tier)
	switch o.tier {
	case "", "A", "B", "C":
	default:
		return o, fmt.Errorf("--tier %q: want A, B or C", o.tier)
	}
	return o, nil
}

func runOnboarding(ctx context.Context, args []string, e env) int {
	args = withInputs(e, args, []inputFlag{{"format", "format"}, {"config", "config"}})
	return runFlags(ctx, "onboarding", args, e, parseOnboardingFlags, runOnboardingAction, runOnboardingLocal)
}

// runOnboardingLocal checks a checklist override: it parses it, merges it
// over the built-in checklist as tasuki would, and prints the result.
func runOnboardingLocal(_ context.Context, o onboardingOpts, e env) int {
	cl := onboarding.Default()
	// The organisation's file first, then the repository's, which may add
	// and tighten but not relax (onboarding.Restrict): its refusals are
	// errors here, though tasuki applies the rest of the file.
	for _, f := range []struct {
		path   string
		isRepo bool
	}{{o.org, false}, {o.checklist, true}} {
		if f.path == "" {
			continue
		}
		b, err := os.ReadFile(f.path)
		if err != nil {
			fmt.Fprintf(e.Stderr, "tasuki: onboarding: %v\n", err)
			return 2
		}
		over, err := onboarding.ParseChecklist(f.path, b)
		if err == nil && f.isRepo {
			over, err = onboarding.Restrict(cl, over)
		}
		if err == nil {
			cl, err = onboarding.Merge(cl, over)
		}
		if err != nil {
			fmt.Fprintf(e.Stderr, "tasuki: onboarding: %v\n", err)
			return 1
		}
	}
	var items []onboarding.Item
	for _, it := range cl.Items {
		if o.tier == "" || it.AppliesTo(o.tier) {
			items = append(items, it)
		}
	}
	if o.format == "json" {
		return writeJSON(e, "onboarding", map[string]any{"sources": cl.Sources, "items": items})
	}
	var b strings.Builder
	phase := onboarding.Phase("")
	for _, it := range items {
		if it.Phase != phase {
			phase = it.Phase
			fmt.Fprintf(&b, "\n## %s\n\n", phase.Title())
		}
		fmt.Fprintf(&b, "- `%s` %s (%s", it.ID, it.Title, it.Kind)
		if it.Verifier != "" {
			fmt.Fprintf(&b, ", %s", it.Verifier)
		}
		if len(it.Tiers) > 0 {
			fmt.Fprintf(&b, ", tiers %s", strings.Join(it.Tiers, " "))
		}
		b.WriteString(")\n")
	}
	io.WriteString(e.Stdout, strings.TrimPrefix(b.String(), "\n"))
	return 0
}

// runOnboardingAction re-verifies the open handoff with GITHUB_TOKEN.
// GITHUB_TOKEN cannot read organisation teams: the items that need them
// stay pending, and the step says so.
func runOnboardingAction(ctx context.Context, o onboardingOpts, e env) int {
	step := newActionStep(e)
	act, fail := step.act, step.fail
	if o.configPath == "" {
		o.configPath = input(act, "config")
	}
	owner, repo, _ := strings.Cut(e.Getenv("GITHUB_REPOSITORY"), "/")
	if owner == "" || repo == "" {
		return fail("onboarding: GITHUB_REPOSITORY %q is not owner/name", e.Getenv("GITHUB_REPOSITORY"))
	}
	base, _, err := step.base(o.configPath, fmt.Sprintf("update the handoff issue of %s/%s", owner, repo))
	if err != nil {
		return fail("onboarding: %v", err)
	}
	h := obshell.New(base, handler.NewOwnership(base.Config, step.log))
	event := e.Getenv("GITHUB_EVENT_NAME")
	switch event {
	case "push", "pull_request", "issue_comment":
		// As the App's webhooks: a push re-verifies (and may start a
		// handoff from an ownership.handoff block), a merged transfer pull
		// request closes the handoff.
		path := e.Getenv("GITHUB_EVENT_PATH")
		data, err := os.ReadFile(path)
		if err != nil {
			return fail("onboarding: read event %q: %v", path, err)
		}
		var head struct {
			Action string `json:"action"`
		}
		if err := json.Unmarshal(data, &head); err != nil {
			return fail("onboarding: decode %s event %s: %v", event, path, err)
		}
		d := dispatch.Delivery{ID: e.Getenv("GITHUB_RUN_ID"), Event: event, Action: head.Action, Repository: owner + "/" + repo, Payload: data}
		var run dispatch.Handler = h
		if event == "issue_comment" {
			// /tasuki onboard, done and na, and help, through the command
			// shell as in the App.
			owners := handler.NewOwnership(base.Config, step.log)
			reg, err := commandshell.NewRegistry(h)
			if err != nil {
				return fail("onboarding: %v", err)
			}
			run = commandshell.New(base, reg, owners)
		}
		if err := run.Handle(ctx, d); err != nil {
			return fail("onboarding: %s: %v", event, err)
		}
	case "schedule", "workflow_dispatch", "":
	default:
		act.Noticef("onboarding: nothing to do on %s events (use push, pull_request, issue_comment, schedule and workflow_dispatch)", event)
		return 0
	}
	rep, err := h.VerifyRepo(ctx, owner, repo)
	if err != nil {
		return fail("onboarding: verify %s/%s: %v", owner, repo, err)
	}
	if rep.OtherEntrance != 0 {
		// The App's handoff issue: the Action trusts only what
		// github-actions[bot] wrote (DESIGN.md, "Trust").
		act.Noticef("onboarding: %s", rep.Note)
	}
	if !rep.Open && rep.OtherEntrance == 0 && (event == "schedule" || event == "workflow_dispatch") {
		// A handed-over repository: the daily guard and hand-back review.
		if err := h.Sweep(ctx, owner, repo); err != nil {
			return fail("onboarding: guard %s/%s: %v", owner, repo, err)
		}
	}
	facts := make([]string, 0, len(rep.Unavailable))
	for f := range rep.Unavailable {
		facts = append(facts, string(f))
	}
	sort.Strings(facts)
	for _, f := range facts {
		why := rep.Unavailable[onboarding.Fact(f)]
		if f == string(onboarding.FactTeam) {
			why += "; GITHUB_TOKEN cannot read organisation teams: the team items stay pending until the tasuki App (or a token with read:org in the github-token input) verifies them"
		}
		act.Warningf("onboarding: %s not verified: %s", f, why)
	}
	if rep.Open {
		act.SetOutput("handoff-issue", fmt.Sprint(rep.Issue))
		act.SetOutput("handoff-phase", string(rep.Phase))
	}
	if o.format == "json" {
		return writeJSON(e, "onboarding", rep)
	}
	if !rep.Open && rep.OtherEntrance != 0 {
		fmt.Fprintf(e.Stdout, "%s: %s.\n", rep.Repo, rep.Note)
		return 0
	}
	if !rep.Open {
		fmt.Fprintf(e.Stdout, "%s has no open SRE handoff.\n", rep.Repo)
		return 0
	}
	counts := map[onboarding.Status]int{}
	for _, it := range rep.Items {
		counts[it.Status]++
	}
	summary := fmt.Sprintf("SRE handoff of %s to @%s: #%d, phase %s; %d passed, %d failed, %d pending, %d n/a.\n",
		rep.Repo, strings.TrimPrefix(rep.Team, "@"), rep.Issue, rep.Phase.Title(),
		counts[onboarding.StatusPassed], counts[onboarding.StatusFailed], counts[onboarding.StatusPending], counts[onboarding.StatusNA])
	io.WriteString(e.Stdout, summary)
	act.AddStepSummary(summary)
	return 0
}

func writeJSON(e env, name string, v any) int {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		fmt.Fprintf(e.Stderr, "%s: render JSON: %v\n", name, err)
		return 1
	}
	e.Stdout.Write(append(b, '\n'))
	return 0
}
