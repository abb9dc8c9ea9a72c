package handler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/ghwrite"
	"github.com/tasuki-sre/tasuki/internal/marker"
	"github.com/tasuki-sre/tasuki/internal/postmortem"
)

// AppLister gives the App's own (JWT) client, which lists installations
// (*ghclient.Clients provides it). Installation clients come from
// Base.Clients.
type AppLister interface {
	App() *github.Client
}

// SweepInterval is how often the App runs the postmortem sweep (the
// store's periodic job named "postmortem-sweep").
const SweepInterval = 24 * time.Hour

// SweepInstallations sweeps every repository of every installation that has
// open postmortems. A failing installation or repository is logged and
// the others still swept; the errors are returned joined so the job retries.
func (p *Postmortem) SweepInstallations(ctx context.Context, apps AppLister) error {
	log := p.Logger().With("job", "postmortem-sweep")
	ac := apps.App()
	var errs []error
	opt := &github.ListOptions{PerPage: 100}
	for {
		insts, resp, err := ac.Apps.ListInstallations(ctx, opt)
		if err != nil {
			return fmt.Errorf("list installations: %w", err)
		}
		for _, in := range insts {
			if err := p.sweepInstallation(ctx, log, in.GetID()); err != nil {
				log.ErrorContext(ctx, "sweep failed", "installation", in.GetID(), "err", err)
				errs = append(errs, err)
			}
		}
		if resp == nil || resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	return errors.Join(errs...)
}

func (p *Postmortem) sweepInstallation(ctx context.Context, log *slog.Logger, id int64) error {
	c, err := p.Clients.Client(ctx, id)
	if err != nil {
		return fmt.Errorf("client for installation %d: %w", id, err)
	}
	var errs []error
	opt := &github.ListOptions{PerPage: 100}
	for {
		repos, resp, err := c.Apps.ListRepos(ctx, opt)
		if err != nil {
			return fmt.Errorf("list repositories of installation %d: %w", id, err)
		}
		for _, r := range repos.Repositories {
			if r.GetArchived() || !r.GetHasIssues() && r.HasIssues != nil {
				continue
			}
			if err := p.sweepRepo(ctx, log.With("installation", id), c, r.GetOwner().GetLogin(), r.GetName()); err != nil {
				errs = append(errs, err)
			}
		}
		if resp == nil || resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	return errors.Join(errs...)
}

// Sweep runs the daily sweep on one repository with the client of
// installation 0 (the Action's GITHUB_TOKEN client): overdue postmortems get
// one reminder per due date, complete ones are labelled and closed once.
func (p *Postmortem) Sweep(ctx context.Context, owner, repo string) error {
	c, err := p.Clients.Client(ctx, 0)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	return p.sweepRepo(ctx, p.Logger().With("job", "postmortem-sweep"), c, owner, repo)
}

func (p *Postmortem) sweepRepo(ctx context.Context, log *slog.Logger, c *github.Client, owner, repo string) error {
	log = log.With("repo", owner+"/"+repo)
	// The configured label selects the postmortems, so the config is read
	// first.
	pc := p.pmConfig(ctx, log, c, owner, repo).Postmortem
	opt := &github.IssueListByRepoOptions{State: "open", Labels: []string{pc.Label}, ListOptions: github.ListOptions{PerPage: 100}}
	now := p.Clock()
	var errs []error
	for {
		iss, resp, err := c.Issues.ListByRepo(ctx, owner, repo, opt)
		if err != nil {
			return fmt.Errorf("list open postmortems of %s/%s: %w", owner, repo, err)
		}
		for _, is := range iss {
			if is.IsPullRequest() {
				continue
			}
			if err := p.sweepOne(ctx, log.With("issue", is.GetNumber()), c, pc, owner, repo, is, now); err != nil {
				errs = append(errs, err)
			}
		}
		if resp == nil || resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	return errors.Join(errs...)
}

func (p *Postmortem) sweepOne(ctx context.Context, log *slog.Logger, c *github.Client, pc postmortem.Config, owner, repo string, is *github.Issue, now time.Time) error {
	key := "postmortem-sweep:" + owner + "/" + repo + "#" + strconv.Itoa(is.GetNumber())
	return p.Locker.WithLock(ctx, key, func(ctx context.Context) error {
		st := postmortem.State{Owner: owner, Repo: repo, Number: is.GetNumber(), Body: is.GetBody(),
			Labels: pmLabelNames(is.Labels), Open: is.GetState() == "open", Assignees: pmLogins(is.Assignees)}
		closed, err := p.linkedClosed(ctx, c, owner, repo, st.Body)
		if err != nil {
			return err
		}
		st.Closed = closed
		// Decide first without markers: most days there is nothing to do,
		// and then the comments need not be read.
		if len(postmortem.Decide(st, now, pc)) == 0 {
			return nil
		}
		w := p.writer(c)
		cs, err := w.TrustedComments(ctx, owner, repo, is.GetNumber())
		if err != nil {
			return err
		}
		for _, cm := range cs {
			st.Markers = append(st.Markers, marker.Find(cm.GetBody())...)
		}
		for _, in := range postmortem.Decide(st, now, pc) {
			switch in.Kind {
			case postmortem.IntentComment:
				if _, _, err := w.EnsureComment(ctx, owner, repo, st.Number, in.Marker, in.Body); err != nil {
					return err
				}
				log.InfoContext(ctx, "postmortem sweep commented", "kind", in.Marker.Kind)
			case postmortem.IntentLabel:
				if err := w.AddLabels(ctx, owner, repo, st.Number, in.Label); err != nil {
					return err
				}
			case postmortem.IntentClose:
				state, reason := "closed", "completed"
				if _, _, err := c.Issues.Edit(ctx, owner, repo, st.Number, &github.IssueRequest{State: &state, StateReason: &reason}); err != nil {
					return fmt.Errorf("close %s/%s#%d: %w", owner, repo, st.Number, err)
				}
				log.InfoContext(ctx, "postmortem complete")
			}
		}
		return nil
	})
}

// linkedClosed reads the state of the issues linked from action items that
// are not checked, stopping at the first open one (then the postmortem
// cannot be complete, and the rest need not be read).
func (p *Postmortem) linkedClosed(ctx context.Context, c *github.Client, owner, repo, body string) (map[string]bool, error) {
	closed := map[string]bool{}
	for _, it := range postmortem.ParseActionItems(body) {
		if it.Checked {
			continue
		}
		if it.Issue.Number == 0 {
			return closed, nil
		}
		o, r := it.Issue.Owner, it.Issue.Repo
		if o == "" {
			o, r = owner, repo
		}
		is, _, err := c.Issues.Get(ctx, o, r, it.Issue.Number)
		if err != nil {
			if isStatus(err, http.StatusNotFound) || isStatus(err, http.StatusGone) {
				return closed, nil // an unreadable issue is not done
			}
			return nil, fmt.Errorf("get linked issue %s: %w", it.Issue, err)
		}
		if is.GetState() != "closed" {
			return closed, nil
		}
		closed[it.Issue.String()] = true
	}
	return closed, nil
}

// followup answers /tasuki followup on a postmortem: an issue per unchecked
// action item without one, each found again by its marker on a retry, and
// the item's line linked to it.
func (p *Postmortem) followup(ctx context.Context, log *slog.Logger, c *github.Client, pc postmortem.Config, owner, repo string, number int, commentID int64) error {
	key := "postmortem-followup:" + owner + "/" + repo + "#" + strconv.Itoa(number)
	return p.Locker.WithLock(ctx, key, func(ctx context.Context) error {
		reply := marker.New(postmortem.KindFollowup, strconv.FormatInt(commentID, 10))
		is, _, err := c.Issues.Get(ctx, owner, repo, number)
		if err != nil {
			return fmt.Errorf("get postmortem %s/%s#%d: %w", owner, repo, number, err)
		}
		st := postmortem.State{Owner: owner, Repo: repo, Number: number, Body: is.GetBody()}
		fus := postmortem.Followups(st, is.GetHTMLURL())
		type link struct {
			key string
			ref postmortem.IssueRef
		}
		var links []link
		var created []postmortem.IssueRef
		w := p.writer(c)
		// Follow-ups carry no label; tasuki opened them after the
		// postmortem, so its own issues since then are where to look.
		lookup := ghwrite.IssueLookup{CreatedSince: is.GetCreatedAt().Time, NoSearch: true}
		for _, fu := range fus {
			req := &github.IssueRequest{Title: &fu.Title, Body: &fu.Body}
			if fu.Assignee != "" {
				req.Assignees = &[]string{fu.Assignee}
			}
			got, opened, err := w.EnsureIssue(ctx, owner, repo, fu.Marker, req, lookup)
			if err != nil {
				return fmt.Errorf("open follow-up issue for %s/%s#%d: %w", owner, repo, number, err)
			}
			if opened {
				log.InfoContext(ctx, "follow-up issue opened", "followup", got.GetNumber())
			}
			ref := postmortem.IssueRef{Number: got.GetNumber()}
			links = append(links, link{fu.Item.Key, ref})
			created = append(created, ref)
		}
		if len(links) > 0 {
			// Re-read the body right before writing so that an edit made
			// while the issues were opened is not lost.
			cur, _, err := c.Issues.Get(ctx, owner, repo, number)
			if err != nil {
				return fmt.Errorf("get postmortem %s/%s#%d: %w", owner, repo, number, err)
			}
			body := cur.GetBody()
			for _, l := range links {
				body, _ = postmortem.LinkItem(body, l.key, l.ref)
			}
			if body != cur.GetBody() {
				if _, _, err := c.Issues.Edit(ctx, owner, repo, number, &github.IssueRequest{Body: &body}); err != nil {
					return fmt.Errorf("link action items in %s/%s#%d: %w", owner, repo, number, err)
				}
			}
		}
		_, _, err = w.EnsureComment(ctx, owner, repo, number, reply, postmortem.FollowupReply(created, commentID))
		return err
	})
}
