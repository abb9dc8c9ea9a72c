package handler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/ghwrite"
	"github.com/tasuki-sre/tasuki/internal/marker"
	"github.com/tasuki-sre/tasuki/internal/mdtext"
	"github.com/tasuki-sre/tasuki/internal/ownership"
	"github.com/tasuki-sre/tasuki/internal/postmortem"
)

// PostmortemEvents are the webhook events the postmortem handler needs.
var PostmortemEvents = []string{"issues", "issue_comment"}

// PostmortemOwners is what the postmortem shell needs of the ownership model
// (*Ownership provides it).
type PostmortemOwners interface {
	ResolveWith(ctx context.Context, c *github.Client, owner, repo string, cfg ownership.Config, labels, paths []string) (ownership.Owners, error)
	SREs(ctx context.Context, c *github.Client, org string, owners ownership.Owners) ([]string, error)
	TeamMembers(ctx context.Context, c *github.Client, org, teamSlug string) ([]string, error)
}

// Postmortem opens one postmortem per incident, keeps its generated sections
// current while the incident is open, answers /tasuki followup and
// /tasuki help, and sweeps postmortems daily (postmortem_sweep.go).
type Postmortem struct {
	Base
	Owners PostmortemOwners // nil: owners come from the fallbacks only
}

// NewPostmortem returns the postmortem handler over a copy of b. owners
// may be nil. Without a Locker or Memo in b it uses in-memory ones (right for
// the Action, not for several App replicas).
func NewPostmortem(b *Base, owners PostmortemOwners) *Postmortem {
	p := &Postmortem{Base: *b, Owners: owners}
	if p.Locker == nil {
		p.Locker = &MemLocker{}
	}
	if p.Memo == nil {
		p.Memo = &MemMemo{}
	}
	return p
}

var _ dispatch.Handler = (*Postmortem)(nil)

// Handle processes issues and issue_comment deliveries.
func (p *Postmortem) Handle(ctx context.Context, d dispatch.Delivery) error {
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
		return p.onComment(ctx, log, d.InstallationID, owner, repo, &ev)
	}
	return nil
}

// pmConfig loads the postmortem (and ownership) configuration of a repo.
func (p *Postmortem) pmConfig(ctx context.Context, log *slog.Logger, c *github.Client, owner, repo string) config.Config {
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
		cfg.Postmortem = postmortem.DefaultConfig()
	}
	return cfg
}

func pmLabelNames(ls []*github.Label) []string {
	out := make([]string, 0, len(ls))
	for _, l := range ls {
		out = append(out, l.GetName())
	}
	return out
}

func pmIsIncident(cfg postmortem.Config, labels []string) bool {
	for _, l := range labels {
		if cfg.IsIncidentLabel(l) {
			return true
		}
	}
	return false
}

func (p *Postmortem) onIncident(ctx context.Context, log *slog.Logger, inst int64, owner, repo string, is *github.Issue) error {
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
	cfg := p.pmConfig(ctx, log, c, owner, repo)
	if !pmIsIncident(cfg.Postmortem, pmLabelNames(is.Labels)) {
		return nil
	}
	return p.syncIncident(ctx, log, c, cfg, owner, repo, is.GetNumber())
}

func (p *Postmortem) onComment(ctx context.Context, log *slog.Logger, inst int64, owner, repo string, ev *github.IssueCommentEvent) error {
	labels := pmLabelNames(ev.Issue.Labels)
	cmd := postmortem.ParseCommand(ev.Comment.GetBody())
	if ev.GetAction() != "created" {
		cmd = postmortem.CmdNone
	}
	if len(labels) == 0 && cmd == postmortem.CmdNone {
		return nil
	}
	c, err := p.Clients.Client(ctx, inst)
	if err != nil {
		return fmt.Errorf("client for installation %d: %w", inst, err)
	}
	cfg := p.pmConfig(ctx, log, c, owner, repo)
	pc := cfg.Postmortem
	incident := pmIsIncident(pc, labels)
	pmIssue := pmHasLabel(labels, pc.Label) || postmortem.PostmortemOf(ev.Issue.GetBody()) != ""
	if pmIsBot(ev.Comment.GetUser()) {
		cmd = postmortem.CmdNone
	}
	switch {
	case cmd == postmortem.CmdHelp && (incident || pmIssue):
		_, _, err := p.writer(c).EnsureComment(ctx, owner, repo, ev.Issue.GetNumber(),
			marker.New(postmortem.KindHelp, strconv.FormatInt(ev.Comment.GetID(), 10)), postmortem.HelpBody(pc, ev.Comment.GetID()))
		return err
	case cmd == postmortem.CmdFollowup && pmIssue && pmOutsider(ev.Comment.GetAuthorAssociation()):
		// Opening issues in tasuki's name is for the repository's people,
		// not for anyone who may comment on a public repository.
		log.InfoContext(ctx, "ignoring /tasuki followup from outside the repository", "association", ev.Comment.GetAuthorAssociation())
		return nil
	case cmd == postmortem.CmdFollowup && pmIssue:
		return p.followup(ctx, log, c, pc, owner, repo, ev.Issue.GetNumber(), ev.Comment.GetID())
	case incident:
		return p.syncIncident(ctx, log, c, cfg, owner, repo, ev.Issue.GetNumber())
	}
	return nil
}

// pmOutsider reports whether a comment's author association says the author
// has no standing in the repository. An empty association (the Action's
// payload always has one; tests may not) is not held against anyone.
func pmOutsider(assoc string) bool {
	switch assoc {
	case "NONE", "FIRST_TIMER", "FIRST_TIME_CONTRIBUTOR", "MANNEQUIN":
		return true
	}
	return false
}

func pmHasLabel(labels []string, l string) bool {
	for _, x := range labels {
		if strings.EqualFold(x, l) {
			return true
		}
	}
	return false
}

// pmIsBot reports whether u is a bot account.
func pmIsBot(u *github.User) bool {
	return u != nil && (u.GetType() == "Bot" || postmortem.IsBot(u.GetLogin()))
}

// syncIncident is level-triggered: it reads the incident from GitHub,
// opens its postmortem if there is none, and otherwise brings the generated
// sections up to date.
func (p *Postmortem) syncIncident(ctx context.Context, log *slog.Logger, c *github.Client, cfg config.Config, owner, repo string, number int) error {
	key := "postmortem:" + owner + "/" + repo + "#" + strconv.Itoa(number)
	return p.Locker.WithLock(ctx, key, func(ctx context.Context) error {
		is, _, err := c.Issues.Get(ctx, owner, repo, number)
		if err != nil {
			return fmt.Errorf("get incident %s/%s#%d: %w", owner, repo, number, err)
		}
		pc := cfg.Postmortem
		if !pmIsIncident(pc, pmLabelNames(is.Labels)) {
			return nil // the label was removed since the event
		}
		inc := pmIncidentOf(owner, repo, is)
		m := postmortem.PostmortemMarker(inc)
		pmOwner, pmRepo := pc.TargetRepo(owner, repo)
		// The search fallback finds a postmortem whose label a person
		// removed.
		existing, err := p.writer(c).FindIssue(ctx, pmOwner, pmRepo, m, ghwrite.IssueLookup{Label: pc.Label})
		if err != nil {
			return err
		}
		events, comments, err := p.history(ctx, c, owner, repo, is)
		if err != nil {
			return err
		}
		facts := postmortem.Facts{Events: events, Comments: comments, LabeledAt: pmLabeledAt(pc, events)}
		if existing != nil {
			return p.update(ctx, log, c, cfg, pmOwner, pmRepo, existing, inc, facts)
		}
		return p.create(ctx, log, c, cfg, pmOwner, pmRepo, inc, facts)
	})
}

func (p *Postmortem) create(ctx context.Context, log *slog.Logger, c *github.Client, cfg config.Config, pmOwner, pmRepo string, inc postmortem.Incident, facts postmortem.Facts) error {
	pc := cfg.Postmortem
	owners, repos := p.owners(ctx, log, c, cfg, inc)
	facts.Service, facts.Team = owners.Service, owners.Team
	facts.Owners = owners.logins
	changes, gaps, err := p.changes(ctx, c, repos, postmortem.Start(inc, facts, pc), pc.Window())
	if err != nil {
		return err
	}
	facts.Changes, facts.ChangeGaps = changes, gaps

	tmpl, tmplErr := p.template(ctx, c, inc.Owner, inc.Repo, pc)
	doc, err := postmortem.Scaffold(inc, facts, tmpl, pc)
	if err != nil && postmortem.IsTemplateError(err) && tmpl != postmortem.Builtin() {
		tmplErr = err
		doc, err = postmortem.Scaffold(inc, facts, postmortem.Builtin(), pc)
	}
	if err != nil {
		return fmt.Errorf("scaffold postmortem of %s: %w", inc.Ref(), err)
	}
	if tmplErr != nil {
		if err := p.reportTemplateError(ctx, log, c, inc, tmplErr); err != nil {
			return err
		}
	}
	req := &github.IssueRequest{Title: &doc.Title, Body: &doc.Body, Labels: &doc.Labels}
	if len(doc.Assignees) > 0 {
		as := doc.Assignees
		req.Assignees = &as
	}
	// syncIncident just searched; listing the label again right before
	// creating guards against a replica that does not share the lock. An
	// owner who cannot be assigned does not cost the incident its
	// postmortem (the writer creates it unassigned); the facts still name
	// them.
	created, _, err := p.writer(c).EnsureIssue(ctx, pmOwner, pmRepo, doc.Marker, req, ghwrite.IssueLookup{Label: pc.Label, NoSearch: true})
	if err != nil {
		return fmt.Errorf("create postmortem of %s in %s/%s: %w", inc.Ref(), pmOwner, pmRepo, err)
	}
	log.InfoContext(ctx, "postmortem opened", "postmortem", pmOwner+"/"+pmRepo+"#"+strconv.Itoa(created.GetNumber()))
	return p.linkComment(ctx, c, inc, pmOwner, pmRepo, created)
}

func (p *Postmortem) linkComment(ctx context.Context, c *github.Client, inc postmortem.Incident, pmOwner, pmRepo string, pm *github.Issue) error {
	m := marker.New(postmortem.KindLink, inc.Ref())
	ref := "#" + strconv.Itoa(pm.GetNumber())
	if pmOwner != inc.Owner || pmRepo != inc.Repo {
		ref = pmOwner + "/" + pmRepo + ref
	}
	body := fmt.Sprintf("Postmortem: %s. Its facts and timeline follow this incident until it closes; add timeline entries here with a comment starting with `/timeline`.\n\n%s", ref, m)
	_, _, err := p.writer(c).EnsureComment(ctx, inc.Owner, inc.Repo, inc.Number, m, body)
	return err
}

// update rewrites the generated sections of an existing postmortem.
func (p *Postmortem) update(ctx context.Context, log *slog.Logger, c *github.Client, cfg config.Config, pmOwner, pmRepo string, pm *github.Issue, inc postmortem.Incident, facts postmortem.Facts) error {
	pc := cfg.Postmortem
	// Owners and changes were established when the postmortem was opened;
	// keep what the facts section says about them rather than re-reading
	// ownership files and pull requests on every comment.
	facts.Owners = pmLogins(pm.Assignees)
	cur, _ := postmortem.GeneratedSection(pm.GetBody(), postmortem.SectionFacts)
	facts.Service, facts.Team = pmServiceAndTeam(cur)
	if err := p.syncSeverity(ctx, c, pc, pmOwner, pmRepo, pm, inc); err != nil {
		return err
	}
	relist := false
	if changes, ok := postmortem.GeneratedSection(pm.GetBody(), postmortem.SectionChanges); ok {
		start := postmortem.Start(inc, facts, pc)
		if !postmortem.ChangesCover(changes, start, pc) {
			// The impact start (or the window) moved: list again, once.
			_, repos := p.owners(ctx, log, c, cfg, inc)
			list, gaps, err := p.changes(ctx, c, repos, start, pc.Window())
			if err != nil {
				return err
			}
			facts.Changes, facts.ChangeGaps, relist = list, gaps, true
		}
	}
	sections := postmortem.Sections(inc, facts, pc)
	if !relist {
		delete(sections, postmortem.SectionChanges)
	}
	body := postmortem.UpdateGenerated(pm.GetBody(), sections)
	if body == pm.GetBody() {
		return nil
	}
	if _, _, err := c.Issues.Edit(ctx, pmOwner, pmRepo, pm.GetNumber(), &github.IssueRequest{Body: &body}); err != nil {
		return fmt.Errorf("update postmortem %s/%s#%d: %w", pmOwner, pmRepo, pm.GetNumber(), err)
	}
	log.InfoContext(ctx, "postmortem updated", "postmortem", pmOwner+"/"+pmRepo+"#"+strconv.Itoa(pm.GetNumber()))
	return nil
}

// syncSeverity gives the postmortem the incident's current severity label
// and removes the other severity labels: the incident is the truth.
func (p *Postmortem) syncSeverity(ctx context.Context, c *github.Client, pc postmortem.Config, owner, repo string, pm *github.Issue, inc postmortem.Incident) error {
	sev := postmortem.IncidentSeverity(inc, pc)
	if sev == "" {
		return nil // a person may have set one on the postmortem; keep it
	}
	have := pmLabelNames(pm.Labels)
	if !pmHasLabel(have, sev) {
		if err := p.writer(c).AddLabels(ctx, owner, repo, pm.GetNumber(), sev); err != nil {
			return err
		}
	}
	for _, l := range have {
		if pc.IsSeverityLabel(l) && !strings.EqualFold(l, sev) {
			if _, err := c.Issues.RemoveLabelForIssue(ctx, owner, repo, pm.GetNumber(), l); err != nil && !isStatus(err, http.StatusNotFound) {
				return fmt.Errorf("remove label %s from %s/%s#%d: %w", l, owner, repo, pm.GetNumber(), err)
			}
		}
	}
	return nil
}

// pmServiceAndTeam reads back the service and team tasuki wrote into the
// facts section ("- **Service:** `api` · team `payments`").
func pmServiceAndTeam(facts string) (service, team string) {
	for _, line := range strings.Split(facts, "\n") {
		rest, ok := strings.CutPrefix(line, "- **Service:** ")
		if !ok {
			continue
		}
		svc, tm, _ := strings.Cut(rest, " · team ")
		return pmUnCode(svc), pmUnCode(tm)
	}
	return "", ""
}

func pmUnCode(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || s == postmortem.Unknown || !strings.HasPrefix(s, "`") {
		return ""
	}
	return strings.TrimSpace(strings.Trim(s, "`"))
}

func pmLogins(us []*github.User) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.GetLogin())
	}
	return out
}

func pmIncidentOf(owner, repo string, is *github.Issue) postmortem.Incident {
	inc := postmortem.Incident{
		Owner: owner, Repo: repo, Number: is.GetNumber(),
		Title: is.GetTitle(), Body: is.GetBody(), URL: is.GetHTMLURL(),
		Author: is.GetUser().GetLogin(), Labels: pmLabelNames(is.Labels),
		Assignees: pmLogins(is.Assignees),
		CreatedAt: is.GetCreatedAt().Time, State: is.GetState(),
	}
	if is.GetState() == "closed" {
		inc.ClosedAt = is.GetClosedAt().Time
	}
	return inc
}

// history reads the incident's timeline events and comments.
func (p *Postmortem) history(ctx context.Context, c *github.Client, owner, repo string, is *github.Issue) ([]postmortem.Event, []postmortem.Comment, error) {
	events := []postmortem.Event{{Kind: "opened", At: is.GetCreatedAt().Time, Actor: is.GetUser().GetLogin()}}
	opt := &github.ListOptions{PerPage: 100}
	for {
		tl, resp, err := c.Issues.ListIssueTimeline(ctx, owner, repo, is.GetNumber(), opt)
		if err != nil {
			return nil, nil, fmt.Errorf("list timeline of %s/%s#%d: %w", owner, repo, is.GetNumber(), err)
		}
		for _, t := range tl {
			e := postmortem.Event{Kind: t.GetEvent(), At: t.GetCreatedAt().Time, Actor: t.GetActor().GetLogin()}
			if t.Label != nil {
				e.Label = t.Label.GetName()
			}
			if t.Assignee != nil {
				e.Assignee = t.Assignee.GetLogin()
			}
			events = append(events, e)
		}
		if resp == nil || resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	var comments []postmortem.Comment
	copt := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100}}
	for {
		cs, resp, err := c.Issues.ListComments(ctx, owner, repo, is.GetNumber(), copt)
		if err != nil {
			return nil, nil, fmt.Errorf("list comments of %s/%s#%d: %w", owner, repo, is.GetNumber(), err)
		}
		for _, cm := range cs {
			comments = append(comments, postmortem.Comment{
				ID: cm.GetID(), Author: cm.GetUser().GetLogin(), Bot: pmIsBot(cm.GetUser()) || p.Identity.Trusts(cm.GetUser()),
				Body: cm.GetBody(), At: cm.GetCreatedAt().Time, URL: cm.GetHTMLURL(),
			})
		}
		if resp == nil || resp.NextPage == 0 {
			break
		}
		copt.Page = resp.NextPage
	}
	return events, comments, nil
}

func pmLabeledAt(pc postmortem.Config, events []postmortem.Event) time.Time {
	var at time.Time
	for _, e := range events {
		if e.Kind == "labeled" && pc.IsIncidentLabel(e.Label) && (at.IsZero() || e.At.Before(at)) {
			at = e.At
		}
	}
	return at
}

type pmOwnersResult struct {
	Service, Team string
	logins        []string
}

// owners resolves who owns the follow-up, with the fallbacks, and the
// repositories whose changes count (the incident's and the service's
// others from the ownership config).
func (p *Postmortem) owners(ctx context.Context, log *slog.Logger, c *github.Client, cfg config.Config, inc postmortem.Incident) (pmOwnersResult, []string) {
	repos := []string{inc.Owner + "/" + inc.Repo}
	var ro pmOwnersResult
	var owners []string
	if p.Owners != nil {
		o, err := p.Owners.ResolveWith(ctx, c, inc.Owner, inc.Repo, cfg.Ownership, pmServiceLabels(inc, cfg.Ownership), nil)
		if err != nil {
			log.WarnContext(ctx, "could not resolve owners", "err", err)
		} else {
			ro.Service, ro.Team = o.Service, o.Team
			if sres, err := p.Owners.SREs(ctx, c, inc.Owner, o); err != nil {
				log.WarnContext(ctx, "could not list the owning team's SREs", "err", err)
				owners = o.SREs
			} else {
				owners = sres
			}
			if svc, ok := cfg.Ownership.Services[o.Service]; ok {
				for _, r := range svc.Repos {
					if !strings.Contains(r, "/") {
						r = inc.Owner + "/" + r
					}
					if !pmContainsFold(repos, r) {
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
	ro.logins = postmortem.Assignees(owners, inc.Assignees, team)
	return ro, repos
}

// pmServiceLabels returns the incident's labels, plus a service label from
// its issue form's "Service" field when no label names the service.
func pmServiceLabels(inc postmortem.Incident, oc ownership.Config) []string {
	prefix := oc.Label("")
	for _, l := range inc.Labels {
		if strings.HasPrefix(strings.ToLower(l), strings.ToLower(prefix)) {
			return inc.Labels
		}
	}
	svc := postmortem.FormField(inc.Body, "Service")
	if svc == "" || strings.ContainsAny(svc, " \t") {
		return inc.Labels
	}
	return append(append([]string(nil), inc.Labels...), oc.Label(svc))
}

func pmContainsFold(ss []string, s string) bool {
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
func (p *Postmortem) changes(ctx context.Context, c *github.Client, repos []string, start time.Time, window time.Duration) ([]postmortem.Change, []string, error) {
	from := start.Add(-window)
	var out []postmortem.Change
	var gaps []string
	for i, full := range repos {
		owner, repo, _ := strings.Cut(full, "/")
		pulls, err := p.mergedPulls(ctx, c, owner, repo, from, start)
		if err == nil {
			var deps []postmortem.Change
			deps, err = p.deployments(ctx, c, owner, repo, from, start)
			pulls = append(pulls, deps...)
		}
		if err != nil {
			// The incident's own repository must be readable; another
			// repository of the service may not be visible to this
			// installation, which the postmortem says instead of failing.
			if i == 0 && !isStatus(err, http.StatusNotFound) && !isStatus(err, http.StatusForbidden) {
				return nil, nil, err
			}
			gaps = append(gaps, full+" ("+statusText(err)+")")
			continue
		}
		out = append(out, pulls...)
	}
	pmSortChanges(out)
	return out, gaps, nil
}

func pmSortChanges(cs []postmortem.Change) {
	// Insertion sort keeps equal times in listing order; lists are short.
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && cs[j].At.Before(cs[j-1].At); j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

func (p *Postmortem) mergedPulls(ctx context.Context, c *github.Client, owner, repo string, from, to time.Time) ([]postmortem.Change, error) {
	opt := &github.PullRequestListOptions{State: "closed", Sort: "updated", Direction: "desc", ListOptions: github.ListOptions{PerPage: 100}}
	var out []postmortem.Change
	for {
		prs, resp, err := c.PullRequests.List(ctx, owner, repo, opt)
		if err != nil {
			return nil, fmt.Errorf("list pull requests of %s/%s: %w", owner, repo, err)
		}
		past := false
		for _, pr := range prs {
			if pr.GetUpdatedAt().Before(from) {
				past = true
				break
			}
			m := pr.GetMergedAt().Time
			if pr.MergedAt == nil || m.Before(from) || m.After(to) {
				continue
			}
			out = append(out, postmortem.Change{
				Kind: "pull", Repo: owner + "/" + repo, Number: pr.GetNumber(), Title: pr.GetTitle(),
				URL: pr.GetHTMLURL(), Actor: pr.GetMergedBy().GetLogin(), At: m,
			})
		}
		if past || resp == nil || resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

func (p *Postmortem) deployments(ctx context.Context, c *github.Client, owner, repo string, from, to time.Time) ([]postmortem.Change, error) {
	opt := &github.DeploymentsListOptions{ListOptions: github.ListOptions{PerPage: 100}}
	var out []postmortem.Change
	for {
		ds, resp, err := c.Repositories.ListDeployments(ctx, owner, repo, opt)
		if err != nil {
			return nil, fmt.Errorf("list deployments of %s/%s: %w", owner, repo, err)
		}
		past := false
		for _, d := range ds {
			at := d.GetCreatedAt().Time
			if at.Before(from) {
				past = true
				break
			}
			if at.After(to) {
				continue
			}
			ch := postmortem.Change{
				Kind: "deployment", Repo: owner + "/" + repo, Actor: d.GetCreator().GetLogin(), At: at,
				Ref: d.GetSHA(), Environment: d.GetEnvironment(),
				URL: fmt.Sprintf("https://github.com/%s/%s/deployments", owner, repo),
			}
			if ch.Ref == "" {
				ch.Ref = d.GetRef()
			}
			sts, _, err := c.Repositories.ListDeploymentStatuses(ctx, owner, repo, d.GetID(), &github.ListOptions{PerPage: 1})
			if err != nil {
				return nil, fmt.Errorf("list statuses of deployment %d in %s/%s: %w", d.GetID(), owner, repo, err)
			}
			if len(sts) > 0 {
				ch.Status, ch.StatusAt = sts[0].GetState(), sts[0].GetCreatedAt().Time
			}
			out = append(out, ch)
		}
		if past || resp == nil || resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

// template reads the override from the incident's repository, then from
// the organisation's .github repository. A template that does not parse is
// returned as an error beside the built-in template.
func (p *Postmortem) template(ctx context.Context, c *github.Client, owner, repo string, pc postmortem.Config) (*postmortem.Template, error) {
	for _, r := range []string{repo, ".github"} {
		fc, _, _, err := c.Repositories.GetContents(ctx, owner, r, pc.Template, nil)
		if err != nil {
			if isStatus(err, http.StatusNotFound) {
				continue
			}
			return postmortem.Builtin(), fmt.Errorf("read %s/%s:%s: %w", owner, r, pc.Template, err)
		}
		if fc == nil {
			continue // a directory
		}
		text, err := fc.GetContent()
		if err != nil {
			return postmortem.Builtin(), &postmortem.TemplateError{Source: owner + "/" + r + ":" + pc.Template, Msg: "cannot read the file: " + err.Error()}
		}
		t, err := postmortem.ParseTemplate(owner+"/"+r+":"+pc.Template, text)
		if err != nil {
			return postmortem.Builtin(), err
		}
		return t, nil
	}
	return postmortem.Builtin(), nil
}

// reportTemplateError tells the incident's responders, once per distinct
// error, that the override could not be used.
func (p *Postmortem) reportTemplateError(ctx context.Context, log *slog.Logger, c *github.Client, inc postmortem.Incident, tmplErr error) error {
	log.WarnContext(ctx, "postmortem template unusable, using the built-in one", "err", tmplErr)
	sum := sha256.Sum256([]byte(tmplErr.Error()))
	m := marker.New(postmortem.KindTemplate, inc.Ref()+"@"+hex.EncodeToString(sum[:6]))
	var te *postmortem.TemplateError
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
	_, _, err := p.writer(c).EnsureComment(ctx, inc.Owner, inc.Repo, inc.Number, m, body)
	return err
}
