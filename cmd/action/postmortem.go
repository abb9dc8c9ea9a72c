package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/handler"
	commandshell "github.com/tasuki-sre/tasuki/internal/handler/commands"
	pmshell "github.com/tasuki-sre/tasuki/internal/handler/postmortem"
	"github.com/tasuki-sre/tasuki/internal/postmortem"
)

func init() {
	register("postmortem", command{
		Summary: "open and maintain postmortems for incident issues; locally, render one from an issue payload",
		Run:     runPostmortem,
	})
}

type postmortemOpts struct {
	configPath string
	eventPath  string // local: a webhook payload or an issue JSON
	template   string // local: a template override to try
	timezone   string // local: overrides postmortem.timezone
}

func parsePostmortemFlags(args []string, stderr io.Writer) (postmortemOpts, error) {
	var o postmortemOpts
	fs := flag.NewFlagSet("postmortem", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.configPath, "config", "", "path of a tasuki.yml to use instead of the repository's")
	fs.StringVar(&o.eventPath, "event", "", "outside Actions: a webhook payload (issues event) or issue JSON to render a postmortem from")
	fs.StringVar(&o.template, "template", "", "outside Actions: a postmortem template to render with instead of the built-in one")
	fs.StringVar(&o.timezone, "timezone", "", "outside Actions: IANA time zone to show times in besides UTC")
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: action postmortem [flags]\n\n"+
			"In GitHub Actions, on issues and issue_comment events it opens the postmortem of an incident\n"+
			"and keeps it current; on schedule or workflow_dispatch it sweeps the repository's postmortems\n"+
			"(reminders, completion). Outside Actions it prints the postmortem an issue would get.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return o, nil
}

func runPostmortem(ctx context.Context, args []string, e env) int {
	return runFlags(ctx, "postmortem", args, e, parsePostmortemFlags, runPostmortemAction, runPostmortemLocal)
}

// runPostmortemLocal renders the postmortem of an issue from a file, with
// the facts the file holds (no API calls), so a template can be tried
// before it is committed.
func runPostmortemLocal(_ context.Context, o postmortemOpts, e env) int {
	if o.eventPath == "" {
		fmt.Fprintln(e.Stderr, "tasuki: postmortem: outside GitHub Actions, give --event with an issues webhook payload or an issue JSON")
		return 2
	}
	data, err := os.ReadFile(o.eventPath)
	if err != nil {
		fmt.Fprintf(e.Stderr, "tasuki: postmortem: %v\n", err)
		return 2
	}
	var ev struct {
		Issue *github.Issue      `json:"issue"`
		Repo  *github.Repository `json:"repository"`
	}
	if err := json.Unmarshal(data, &ev); err != nil {
		fmt.Fprintf(e.Stderr, "tasuki: postmortem: decode %s: %v\n", o.eventPath, err)
		return 2
	}
	is := ev.Issue
	if is == nil {
		is = new(github.Issue)
		if err := json.Unmarshal(data, is); err != nil || is.Number == nil {
			fmt.Fprintf(e.Stderr, "tasuki: postmortem: %s holds neither an issues event nor an issue\n", o.eventPath)
			return 2
		}
	}
	owner, repo := ev.Repo.GetOwner().GetLogin(), ev.Repo.GetName()
	if owner == "" {
		// An issue alone names its repository only in its URLs.
		parts := strings.Split(strings.TrimPrefix(is.GetRepositoryURL(), "https://api.github.com/repos/"), "/")
		if len(parts) == 2 {
			owner, repo = parts[0], parts[1]
		}
	}
	cfg := config.Default()
	if o.configPath != "" {
		f := readConfigFile(o.configPath)
		if f.Err != nil {
			fmt.Fprintf(e.Stderr, "tasuki: postmortem: %v\n", f.Err)
			return 2
		}
		cfg = f.Config
	}
	pc := cfg.Postmortem
	if o.timezone != "" {
		pc.Timezone = o.timezone
	}
	if err := pc.Validate(); err != nil {
		fmt.Fprintf(e.Stderr, "tasuki: postmortem: %v\n", err)
		return 2
	}
	tmpl := postmortem.Builtin()
	if o.template != "" {
		b, err := os.ReadFile(o.template)
		if err != nil {
			fmt.Fprintf(e.Stderr, "tasuki: postmortem: %v\n", err)
			return 2
		}
		if tmpl, err = postmortem.ParseTemplate(o.template, string(b)); err != nil {
			fmt.Fprintf(e.Stderr, "tasuki: postmortem: %v\n", err)
			return 2 // bad input, like an unreadable template file
		}
	}
	inc := postmortem.Incident{
		Owner: owner, Repo: repo, Number: is.GetNumber(), Title: is.GetTitle(), Body: is.GetBody(),
		URL: is.GetHTMLURL(), Author: is.GetUser().GetLogin(), CreatedAt: is.GetCreatedAt().Time, State: is.GetState(),
	}
	for _, l := range is.Labels {
		inc.Labels = append(inc.Labels, l.GetName())
	}
	for _, a := range is.Assignees {
		inc.Assignees = append(inc.Assignees, a.GetLogin())
	}
	if inc.State == "closed" {
		inc.ClosedAt = is.GetClosedAt().Time
	}
	facts := postmortem.Facts{
		Owners: postmortem.Assignees(nil, inc.Assignees, nil),
		Events: []postmortem.Event{{Kind: "opened", At: inc.CreatedAt, Actor: inc.Author}},
	}
	doc, err := postmortem.Scaffold(inc, facts, tmpl, pc)
	if err != nil {
		fmt.Fprintf(e.Stderr, "tasuki: postmortem: %v\n", err)
		return 1
	}
	fmt.Fprintf(e.Stdout, "# %s\n\nlabels: %s\n\n%s", doc.Title, strings.Join(doc.Labels, ", "), doc.Body)
	return 0
}

// runPostmortemAction handles the workflow's event with GITHUB_TOKEN:
// issues and issue_comment events go through the same handler as the App's
// webhooks; schedule and workflow_dispatch run the daily sweep.
func runPostmortemAction(ctx context.Context, o postmortemOpts, e env) int {
	step := newActionStep(e)
	act, fail := step.act, step.fail
	if o.configPath == "" {
		o.configPath = input(act, "config")
	}
	owner, repo, _ := strings.Cut(e.Getenv("GITHUB_REPOSITORY"), "/")
	base, _, err := step.base(o.configPath, fmt.Sprintf("write to %s/%s", owner, repo))
	if err != nil {
		return step.bad("postmortem: %v", err) // no token: a missing setting
	}
	owners := handler.NewOwnership(base.Config, step.log)
	pm := pmshell.New(base, owners)
	reg, err := commandshell.NewRegistry(pm)
	if err != nil {
		return fail("postmortem: %v", err)
	}
	// /tasuki followup and help are the command shell's, as in the App.
	cmds := commandshell.New(base, reg, owners)

	event := e.Getenv("GITHUB_EVENT_NAME")
	switch event {
	case "schedule", "workflow_dispatch":
		if owner == "" || repo == "" {
			return step.bad("postmortem: GITHUB_REPOSITORY %q is not owner/name", e.Getenv("GITHUB_REPOSITORY"))
		}
		if err := pm.Sweep(ctx, owner, repo); err != nil {
			return fail("postmortem: sweep %s/%s: %v", owner, repo, err)
		}
		return 0
	case "issues", "issue_comment":
		path := e.Getenv("GITHUB_EVENT_PATH")
		data, err := os.ReadFile(path)
		if err != nil {
			return fail("postmortem: read event %q: %v", path, err)
		}
		var head struct {
			Action string `json:"action"`
		}
		if err := json.Unmarshal(data, &head); err != nil {
			return fail("postmortem: decode %s event %s: %v", event, path, err)
		}
		d := dispatch.Delivery{ID: e.Getenv("GITHUB_RUN_ID"), Event: event, Action: head.Action, Repository: owner + "/" + repo, Payload: data}
		if err := pm.Handle(ctx, d); err != nil {
			return fail("postmortem: %s %s: %v", event, head.Action, err)
		}
		if event == "issue_comment" {
			if err := cmds.Handle(ctx, d); err != nil {
				return fail("postmortem: %s %s: %v", event, head.Action, err)
			}
		}
		return 0
	default:
		act.Noticef("postmortem: nothing to do on %s events (use issues, issue_comment and schedule)", event)
		return 0
	}
}
