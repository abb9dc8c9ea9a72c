// Package postmortem is the GitHub shell of postmortems: it opens one
// postmortem issue per incident (an issue with an incident label), keeps
// its generated sections (facts, timeline, what changed just before) current
// while the incident is open, runs /tasuki followup through the command
// shell, and sweeps open postmortems daily for reminders and completion.
// The core, which decides and renders, is internal/postmortem (imported
// here as core).
package postmortem

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/ghread"
	"github.com/tasuki-sre/tasuki/internal/ghwrite"
	"github.com/tasuki-sre/tasuki/internal/handler"
	"github.com/tasuki-sre/tasuki/internal/intent"
	"github.com/tasuki-sre/tasuki/internal/marker"
	"github.com/tasuki-sre/tasuki/internal/mdtext"
	"github.com/tasuki-sre/tasuki/internal/ownership"
	core "github.com/tasuki-sre/tasuki/internal/postmortem"
)

// Owners is what the postmortem shell needs of the ownership model
// (*handler.Ownership provides it).
type Owners interface {
	// ResolveHandoff resolves the owners and, from the repository's handoff
	// issue (only one tasuki opened counts), who is primary in a handoff
	// in progress.
	ResolveHandoff(ctx context.Context, c *github.Client, owner, repo string, cfg ownership.Config, label string, trust ghwrite.Identity, labels, paths []string) (ownership.Owners, error)
	SREs(ctx context.Context, c *github.Client, org string, owners ownership.Owners) ([]string, error)
	TeamMembers(ctx context.Context, c *github.Client, org, teamSlug string) ([]string, error)
}

// Handler opens one postmortem per incident and keeps its generated
// sections current while the incident is open, rebuilding the timeline
// (/timeline entries included) from all the incident's comments whenever
// one is created, edited or deleted. It runs /tasuki followup for the
// command shell (commands.go) and sweeps postmortems daily (sweep.go).
type Handler struct {
	handler.Base
	Owners Owners // nil: owners come from the fallbacks only
}

// New returns the postmortem handler over a copy of b. owners may be nil.
// Without a Locker or Memo in b it uses in-memory ones (right for the
// Action, not for several App replicas).
func New(b *handler.Base, owners Owners) *Handler {
	p := &Handler{Base: *b, Owners: owners}
	if p.Locker == nil {
		p.Locker = &handler.MemLocker{}
	}
	if p.Memo == nil {
		p.Memo = &handler.MemMemo{}
	}
	return p
}

var _ handler.Feature = (*Handler)(nil)

// Handles lists issues (an incident labelled, edited, assigned, closed)
// and issue_comment (its timeline).
func (*Handler) Handles() []string { return []string{"issues", "issue_comment"} }

// Permissions are issues write (postmortems, their labels and comments,
// follow-up issues; the incident's timeline and comments), contents read
// (the configuration and the template override), pull requests and
// deployments read ("what changed just before") and members read (the
// owning team's SREs, the fallback team).
func (*Handler) Permissions() map[string]string {
	return handler.MergePermissions(handler.BasePermissions(), handler.WriterIssues(), map[string]string{
		handler.PermPullRequests: handler.Read,
		handler.PermDeployments:  handler.Read,
		handler.PermMembers:      handler.Read,
	})
}

// Handle processes issues and issue_comment deliveries.
func (p *Handler) Handle(ctx context.Context, d dispatch.Delivery) error {
	log := p.Logger().With("delivery", d.ID, "event", d.Event, "action", d.Action, "installation", d.InstallationID)
	switch d.Event {
	case "issues":
		var ev github.IssuesEvent
		if err := json.Unmarshal(d.Payload, &ev); err != nil {
			return fmt.Errorf("decode %s %s: %w", d.Event, d.ID, err)
		}
		switch ev.GetAction() {
		// "opened" too: an issue form applies the incident label at creation.
		case "opened", "labeled", "unlabeled", "assigned", "unassigned", "closed", "reopened", "edited":
		default:
			return nil
		}
		if ev.Issue == nil || ev.Repo == nil || ev.Issue.IsPullRequest() || p.Identity.Trusts(ev.Sender) {
			return nil
		}
		owner, repo := ev.Repo.GetOwner().GetLogin(), ev.Repo.GetName()
		log = log.With("repo", owner+"/"+repo, "issue", ev.Issue.GetNumber())
		return p.onIncident(ctx, log, d.InstallationID, owner, repo, ev.Issue)
	case "issue_comment":
		var ev github.IssueCommentEvent
		if err := json.Unmarshal(d.Payload, &ev); err != nil {
			return fmt.Errorf("decode %s %s: %w", d.Event, d.ID, err)
		}
		switch ev.GetAction() {
		case "created", "edited", "deleted":
		default:
			return nil
		}
		if ev.Issue == nil || ev.Repo == nil || ev.Comment == nil || ev.Issue.IsPullRequest() || p.Identity.Trusts(ev.Sender) {
			return nil
		}
		owner, repo := ev.Repo.GetOwner().GetLogin(), ev.Repo.GetName()
		log = log.With("repo", owner+"/"+repo, "issue", ev.Issue.GetNumber())
		// The timeline is rebuilt from all the incident's comments, so a
		// comment created, edited or deleted changes it alike.
		return p.onIncident(ctx, log, d.InstallationID, owner, repo, ev.Issue)
	}
	return nil
}

// loadConfig loads the postmortem (and ownership) configuration of a repo.
func (p *Handler) loadConfig(ctx context.Context, log *slog.Logger, c *github.Client, owner, repo string) config.Config {
	cfg := config.Default()
	if p.Config != nil {
		f := p.Config.Load(ctx, c, owner, repo)
		if f.Err != nil {
			// The config feature reports the problem on the repository; the
			// postmortem carries on with what could be read.
			log.WarnContext(ctx, "config problem, using what could be read", "err", f.Err)
		}
		cfg = f.Config
	}
	if err := cfg.Postmortem.Validate(); err != nil {
		log.WarnContext(ctx, "invalid postmortem config, using defaults", "err", err)
		cfg.Postmortem = core.DefaultConfig()
	}
	return cfg
}

func labelNames(ls []*github.Label) []string {
	out := make([]string, 0, len(ls))
	for _, l := range ls {
		out = append(out, l.GetName())
	}
	return out
}

func isIncident(cfg core.Config, labels []string) bool {
	for _, l := range labels {
		if cfg.IsIncidentLabel(l) {
			return true
		}
	}
	return false
}

func (p *Handler) onIncident(ctx context.Context, log *slog.Logger, inst int64, owner, repo string, is *github.Issue) error {
	// Cheap filter on the payload before any API call (a client may cost
	// a token request): an issue without labels is no incident. A config
	// may rename the incident label, so deciding on labels needs the config.
	if len(is.Labels) == 0 {
		return nil
	}
	c, err := p.Clients.Client(ctx, inst)
	if err != nil {
		return fmt.Errorf("client for installation %d: %w", inst, err)
	}
	cfg := p.loadConfig(ctx, log, c, owner, repo)
	if !isIncident(cfg.Postmortem, labelNames(is.Labels)) {
		return nil
	}
	return p.syncIncident(ctx, log, c, cfg, owner, repo, is.GetNumber())
}

func hasLabel(labels []string, l string) bool {
	for _, x := range labels {
		if strings.EqualFold(x, l) {
			return true
		}
	}
	return false
}

// isBot reports whether u is a bot account.
func isBot(u *github.User) bool {
	return u != nil && (u.GetType() == "Bot" || core.IsBot(u.GetLogin()))
}

// syncIncident is level-triggered: it reads the incident from GitHub,
// opens its postmortem if there is none, and otherwise brings the generated
// sections up to date.
func (p *Handler) syncIncident(ctx context.Context, log *slog.Logger, c *github.Client, cfg config.Config, owner, repo string, number int) error {
	key := "postmortem:" + owner + "/" + repo + "#" + strconv.Itoa(number)
	return p.Locker.WithLock(ctx, key, func(ctx context.Context) error {
		is, _, err := c.Issues.Get(ctx, owner, repo, number)
		if err != nil {
			return fmt.Errorf("get incident %s/%s#%d: %w", owner, repo, number, err)
		}
		pc := cfg.Postmortem
		if !isIncident(pc, labelNames(is.Labels)) {
			return nil // the label was removed since the event
		}
		inc := incidentOf(owner, repo, is)
		m := core.PostmortemMarker(inc)
		pmOwner, pmRepo := pc.TargetRepo(owner, repo)
		// The search fallback finds a postmortem whose label a person
		// removed.
		existing, err := p.Writer(c).FindIssue(ctx, pmOwner, pmRepo, m, ghwrite.IssueLookup{Label: pc.Label})
		if err != nil {
			return err
		}
		events, comments, err := p.history(ctx, c, owner, repo, is)
		if err != nil {
			return err
		}
		facts := core.Facts{Events: events, Comments: comments, LabeledAt: labeledAt(pc, events)}
		if existing != nil {
			return p.update(ctx, log, c, cfg, pmOwner, pmRepo, existing, inc, facts)
		}
		return p.create(ctx, log, c, cfg, pmOwner, pmRepo, inc, facts)
	})
}

func (p *Handler) create(ctx context.Context, log *slog.Logger, c *github.Client, cfg config.Config, pmOwner, pmRepo string, inc core.Incident, facts core.Facts) error {
	pc := cfg.Postmortem
	owners, repos := p.owners(ctx, log, c, cfg, inc)
	facts.Service, facts.Team = owners.Service, owners.Team
	facts.Owners = owners.logins
	changes, gaps, err := p.changes(ctx, c, repos, core.Start(inc, facts, pc), pc.Window())
	if err != nil {
		return err
	}
	facts.Changes, facts.ChangeGaps = changes, gaps

	tmpl, tmplErr := p.template(ctx, c, inc.Owner, inc.Repo, pc)
	doc, err := core.Scaffold(inc, facts, tmpl, pc)
	if err != nil && core.IsTemplateError(err) && tmpl != core.Builtin() {
		tmplErr = err
		doc, err = core.Scaffold(inc, facts, core.Builtin(), pc)
	}
	if err != nil {
		return fmt.Errorf("scaffold postmortem of %s: %w", inc.Ref(), err)
	}
	if tmplErr != nil {
		if err := p.reportTemplateError(ctx, log, c, inc, tmplErr); err != nil {
			return err
		}
	}
	// syncIncident just searched; listing the label again right before
	// creating guards against a replica that does not share the lock.
	w := p.Writer(c)
	opened, err := w.Execute(ctx, pmOwner, pmRepo, doc.OpenIntents(pc.Label))
	if err != nil {
		return fmt.Errorf("create postmortem of %s in %s/%s: %w", inc.Ref(), pmOwner, pmRepo, err)
	}
	number := int(opened[0].ID)
	log.InfoContext(ctx, "postmortem opened", "postmortem", pmOwner+"/"+pmRepo+"#"+strconv.Itoa(number))
	_, err = w.Execute(ctx, inc.Owner, inc.Repo, []intent.Intent{core.LinkIntent(inc, pmOwner, pmRepo, number)})
	return err
}

// update rewrites the generated sections of an existing core.
func (p *Handler) update(ctx context.Context, log *slog.Logger, c *github.Client, cfg config.Config, pmOwner, pmRepo string, pm *github.Issue, inc core.Incident, facts core.Facts) error {
	pc := cfg.Postmortem
	// Owners and changes were established when the postmortem was opened;
	// keep what the facts section says about them rather than re-reading
	// ownership files and pull requests on every comment.
	facts.Owners = logins(pm.Assignees)
	cur, _ := core.GeneratedSection(pm.GetBody(), core.SectionFacts)
	facts.Service, facts.Team = serviceAndTeam(cur)
	relist := false
	if changes, ok := core.GeneratedSection(pm.GetBody(), core.SectionChanges); ok {
		start := core.Start(inc, facts, pc)
		if !core.ChangesCover(changes, start, pc) {
			// The impact start (or the window) moved: list again, once.
			_, repos := p.owners(ctx, log, c, cfg, inc)
			list, gaps, err := p.changes(ctx, c, repos, start, pc.Window())
			if err != nil {
				return err
			}
			facts.Changes, facts.ChangeGaps, relist = list, gaps, true
		}
	}
	if !relist {
		// The suspect deployment was found among the changes listed when
		// the postmortem opened; the facts section recorded it.
		facts.Suspect = core.SuspectOf(pm.GetBody())
	}
	sections := core.Sections(inc, facts, pc)
	if !relist {
		delete(sections, core.SectionChanges)
	}
	body := core.UpdateGenerated(pm.GetBody(), sections)
	// The incident's severity label is the truth for the postmortem's.
	intents := core.UpdateIntents(pm.GetNumber(), pm.GetBody(), body, labelNames(pm.Labels), core.IncidentSeverity(inc, pc), pc)
	if len(intents) == 0 {
		return nil
	}
	if _, err := p.Writer(c).Execute(ctx, pmOwner, pmRepo, intents); err != nil {
		return fmt.Errorf("update postmortem: %w", err)
	}
	if body != pm.GetBody() {
		log.InfoContext(ctx, "postmortem updated", "postmortem", pmOwner+"/"+pmRepo+"#"+strconv.Itoa(pm.GetNumber()))
	}
	return nil
}

// serviceAndTeam reads back the service and team tasuki wrote into the
// facts section ("- **Service:** `api` · team `payments`").
func serviceAndTeam(facts string) (service, team string) {
	for _, line := range strings.Split(facts, "\n") {
		rest, ok := strings.CutPrefix(line, "- **Service:** ")
		if !ok {
			continue
		}
		svc, tm, _ := strings.Cut(rest, " · team ")
		return unCode(svc), unCode(tm)
	}
	return "", ""
}

func unCode(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || s == core.Unknown || !strings.HasPrefix(s, "`") {
		return ""
	}
	return strings.TrimSpace(strings.Trim(s, "`"))
}

func logins(us []*github.User) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.GetLogin())
	}
	return out
}

func incidentOf(owner, repo string, is *github.Issue) core.Incident {
	inc := core.Incident{
		Owner: owner, Repo: repo, Number: is.GetNumber(),
		Title: is.GetTitle(), Body: is.GetBody(), URL: is.GetHTMLURL(),
		Author: is.GetUser().GetLogin(), Labels: labelNames(is.Labels),
		Assignees: logins(is.Assignees),
		CreatedAt: is.GetCreatedAt().Time, State: is.GetState(),
	}
	if is.GetState() == "closed" {
		inc.ClosedAt = is.GetClosedAt().Time
	}
	return inc
}

// history reads the incident's timeline events and comments.
func (p *Handler) history(ctx context.Context, c *github.Client, owner, repo string, is *github.Issue) ([]core.Event, []core.Comment, error) {
	events := []core.Event{{Kind: "opened", At: is.GetCreatedAt().Time, Actor: is.GetUser().GetLogin()}}
	tl, err := ghread.Timeline(ctx, c, owner, repo, is.GetNumber(), historyLimit)
	if err != nil && !errors.Is(err, ghread.ErrTruncated) {
		return nil, nil, err
	}
	for _, t := range tl {
		events = append(events, core.Event{Kind: t.Kind, At: t.At, Actor: t.Actor, Label: t.Label, Assignee: t.Assignee})
	}
	cs, err := ghread.Comments(ctx, c, owner, repo, is.GetNumber(), historyLimit)
	if err != nil && !errors.Is(err, ghread.ErrTruncated) {
		return nil, nil, err
	}
	comments := make([]core.Comment, 0, len(cs))
	for _, cm := range cs {
		u := &github.User{Login: github.String(cm.Author), Type: github.String(cm.AuthorType)}
		comments = append(comments, core.Comment{
			ID: cm.ID, Author: cm.Author, Bot: isBot(u) || p.Identity.Trusts(u),
			Body: cm.Body, At: cm.CreatedAt, URL: cm.URL,
		})
	}
	return events, comments, nil
}

// historyLimit bounds the timeline events and comments read of one
// incident; a longer history is used as far as it was read.
const historyLimit = 3000

func labeledAt(pc core.Config, events []core.Event) time.Time {
	var at time.Time
	for _, e := range events {
		if e.Kind == "labeled" && pc.IsIncidentLabel(e.Label) && (at.IsZero() || e.At.Before(at)) {
			at = e.At
		}
	}
	return at
}

type ownersResult struct {
	Service, Team string
	logins        []string
}

// owners resolves who owns the follow-up, with the fallbacks, and the
// repositories whose changes count (the incident's and the service's
// others from the ownership config).
func (p *Handler) owners(ctx context.Context, log *slog.Logger, c *github.Client, cfg config.Config, inc core.Incident) (ownersResult, []string) {
	repos := []string{inc.Owner + "/" + inc.Repo}
	var ro ownersResult
	var owners []string
	if p.Owners != nil {
		o, err := p.Owners.ResolveHandoff(ctx, c, inc.Owner, inc.Repo, cfg.Ownership, cfg.Onboarding.Label, p.Identity, serviceLabels(inc, cfg.Ownership), nil)
		if err != nil {
			log.WarnContext(ctx, "could not resolve owners", "err", err)
		} else {
			ro.Service, ro.Team = o.Service, handler.EffectiveTeam(o)
			owners = p.followupOwners(ctx, log, c, inc.Owner, cfg.Ownership, o)
			if svc, ok := cfg.Ownership.Services[o.Service]; ok {
				for _, r := range svc.Repos {
					if !strings.Contains(r, "/") {
						r = inc.Owner + "/" + r
					}
					if !containsFold(repos, r) {
						repos = append(repos, r)
					}
				}
			}
		}
	}
	var team []string
	if len(owners) == 0 && len(inc.Assignees) == 0 && cfg.Postmortem.FallbackTeam != "" && p.Owners != nil {
		ms, err := p.Owners.TeamMembers(ctx, c, inc.Owner, cfg.Postmortem.FallbackTeam)
		if err != nil {
			log.WarnContext(ctx, "could not list the fallback team", "err", err)
		}
		team = ms
	}
	ro.logins = core.Assignees(owners, inc.Assignees, team)
	return ro, repos
}

// followupOwners are the logins who own the follow-up: the SREs of the
// team that owns the service now (handler.EffectiveTeam). While a handoff
// is in progress that is its primary: the SREs the config lists for it
// under ownership.teams (by its slug, or as a team's sre_team), else,
// since the primary of a handoff is a team of SREs itself (the core SRE
// team, the incoming team's SREs), its members.
func (p *Handler) followupOwners(ctx context.Context, log *slog.Logger, c *github.Client, org string, cfg ownership.Config, o ownership.Owners) []string {
	team := handler.EffectiveTeam(o)
	sres := o
	if !strings.EqualFold(team, o.Team) {
		log = log.With("handoff_phase", o.Handoff.Phase, "primary", team)
		sres = handoffSREs(cfg, team)
	}
	logins, err := p.Owners.SREs(ctx, c, org, sres)
	if err != nil {
		log.WarnContext(ctx, "could not list the owning team's SREs", "err", err)
		return sres.SREs
	}
	return logins
}

// handoffSREs is who holds the SREs of team, a handoff's primary, as
// followupOwners describes.
func handoffSREs(cfg ownership.Config, team string) ownership.Owners {
	slug := func(s string) string { return strings.TrimPrefix(s, "@") }
	for _, byName := range []bool{true, false} {
		for _, name := range slices.Sorted(maps.Keys(cfg.Teams)) {
			t := cfg.Teams[name]
			if byName && !strings.EqualFold(slug(name), team) || !byName && !strings.EqualFold(slug(t.SRETeam), team) {
				continue
			}
			o := ownership.Owners{SRETeam: slug(t.SRETeam)}
			for _, l := range t.SREs { // the config is shared: not changed in place
				o.SREs = append(o.SREs, slug(l))
			}
			return o
		}
	}
	return ownership.Owners{SRETeam: team}
}

// serviceLabels returns the incident's labels, plus a service label from
// its issue form's "Service" field when no label names the service.
func serviceLabels(inc core.Incident, oc ownership.Config) []string {
	prefix := oc.Label("")
	for _, l := range inc.Labels {
		if strings.HasPrefix(strings.ToLower(l), strings.ToLower(prefix)) {
			return inc.Labels
		}
	}
	svc := core.FormField(inc.Body, "Service")
	if svc == "" || strings.ContainsAny(svc, " \t") {
		return inc.Labels
	}
	return append(append([]string(nil), inc.Labels...), oc.Label(svc))
}

func containsFold(ss []string, s string) bool {
	for _, x := range ss {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// changes lists pull requests merged and deployments created in the window
// before start, in the given repositories. It pages only as far as the
// window needs: closed pull requests sorted by update time descending can
// stop at the first one updated before the window (a merge updates the pull
// request, so nothing older can have been merged inside it); deployments come
// newest first.
func (p *Handler) changes(ctx context.Context, c *github.Client, repos []string, start time.Time, window time.Duration) ([]core.Change, []string, error) {
	from := start.Add(-window)
	var out []core.Change
	var gaps []string
	for i, full := range repos {
		owner, repo, _ := strings.Cut(full, "/")
		pulls, err := p.mergedPulls(ctx, c, owner, repo, from, start)
		if err == nil {
			var deps []core.Change
			deps, err = p.deployments(ctx, c, owner, repo, from, start)
			pulls = append(pulls, deps...)
		}
		if err != nil {
			// The incident's own repository must be readable; another
			// repository of the service may not be visible to this
			// installation, which the postmortem says instead of failing.
			if i == 0 && !handler.IsStatus(err, http.StatusNotFound) && !handler.IsStatus(err, http.StatusForbidden) {
				return nil, nil, err
			}
			gaps = append(gaps, full+" ("+handler.StatusText(err)+")")
			continue
		}
		out = append(out, pulls...)
	}
	sortChanges(out)
	return out, gaps, nil
}

func sortChanges(cs []core.Change) {
	// Insertion sort keeps equal times in listing order; lists are short.
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && cs[j].At.Before(cs[j-1].At); j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

// changesLimit bounds the pull requests and deployments read per
// repository for "what changed just before".
const changesLimit = 1000

func (p *Handler) mergedPulls(ctx context.Context, c *github.Client, owner, repo string, from, to time.Time) ([]core.Change, error) {
	prs, err := ghread.MergedPulls(ctx, c, owner, repo, from, to, changesLimit)
	if err != nil && !errors.Is(err, ghread.ErrTruncated) {
		return nil, err
	}
	out := make([]core.Change, 0, len(prs))
	for _, pr := range prs {
		out = append(out, core.Change{Kind: "pull", Repo: pr.Repo, Number: pr.Number, Title: pr.Title,
			URL: pr.URL, Actor: pr.MergedBy, At: pr.MergedAt})
	}
	return out, nil
}

func (p *Handler) deployments(ctx context.Context, c *github.Client, owner, repo string, from, to time.Time) ([]core.Change, error) {
	ds, err := ghread.Deployments(ctx, c, owner, repo, "", from, to, changesLimit)
	if err != nil && !errors.Is(err, ghread.ErrTruncated) {
		return nil, err
	}
	out := make([]core.Change, 0, len(ds))
	for _, d := range ds {
		ch := core.Change{
			Kind: "deployment", Repo: d.Repo, Actor: d.Creator, At: d.CreatedAt,
			Ref: d.SHA, Environment: d.Environment, Status: d.Status, StatusAt: d.StatusAt,
			URL: fmt.Sprintf("https://github.com/%s/%s/deployments", owner, repo),
		}
		if ch.Ref == "" {
			ch.Ref = d.Ref
		}
		out = append(out, ch)
	}
	return out, nil
}

// template reads the override from the incident's repository, then from
// the organisation's .github repository. A template that does not parse is
// returned as an error beside the built-in template.
func (p *Handler) template(ctx context.Context, c *github.Client, owner, repo string, pc core.Config) (*core.Template, error) {
	for _, r := range []string{repo, ".github"} {
		fc, _, _, err := c.Repositories.GetContents(ctx, owner, r, pc.Template, nil)
		if err != nil {
			if handler.IsStatus(err, http.StatusNotFound) {
				continue
			}
			return core.Builtin(), fmt.Errorf("read %s/%s:%s: %w", owner, r, pc.Template, err)
		}
		if fc == nil {
			continue // a directory
		}
		text, err := fc.GetContent()
		if err != nil {
			return core.Builtin(), &core.TemplateError{Source: owner + "/" + r + ":" + pc.Template, Msg: "cannot read the file: " + err.Error()}
		}
		t, err := core.ParseTemplate(owner+"/"+r+":"+pc.Template, text)
		if err != nil {
			return core.Builtin(), err
		}
		return t, nil
	}
	return core.Builtin(), nil
}

// reportTemplateError tells the incident's responders, once per distinct
// error, that the override could not be used.
func (p *Handler) reportTemplateError(ctx context.Context, log *slog.Logger, c *github.Client, inc core.Incident, tmplErr error) error {
	log.WarnContext(ctx, "postmortem template unusable, using the built-in one", "err", tmplErr)
	sum := sha256.Sum256([]byte(tmplErr.Error()))
	m := marker.New(core.KindTemplate, inc.Ref()+"@"+hex.EncodeToString(sum[:6]))
	var te *core.TemplateError
	where, msg := "", tmplErr.Error()
	if errors.As(tmplErr, &te) {
		where = mdtext.Code(te.Source)
		if te.Line > 0 {
			where += " line " + strconv.Itoa(te.Line)
		}
		msg = te.Msg
	}
	body := fmt.Sprintf("The postmortem template %s could not be used, so the postmortem was written from the built-in template.\n\n%s\n\nFix the template; the next postmortem will use it.\n\n%s",
		where, mdtext.Block(msg, "text"), m)
	_, err := p.Writer(c).Execute(ctx, inc.Owner, inc.Repo, []intent.Intent{{Kind: intent.EnsureComment, Number: inc.Number, Marker: m, Body: body}})
	return err
}
