package postmortem

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/ghread"
	"github.com/tasuki-sre/tasuki/internal/handler"
	"github.com/tasuki-sre/tasuki/internal/intent"
	"github.com/tasuki-sre/tasuki/internal/marker"
	core "github.com/tasuki-sre/tasuki/internal/postmortem"
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

// Bounds of the sweep's listings. Past one, the sweep covers what it read
// and logs a warning: retrying would read the same part again, and the
// rest is no less swept for failing the part.
const (
	maxInstallations = 10000 // of the App
	maxRepos         = 10000 // of one installation
	maxPostmortems   = 3000  // open ones in one repository
)

// SweepInstallations sweeps every repository of every installation that has
// open postmortems. A failing installation or repository is logged and
// the others still swept; the errors are returned joined so the job retries.
func (p *Handler) SweepInstallations(ctx context.Context, apps AppLister) error {
	log := p.Logger().With("job", "postmortem-sweep")
	return ghread.EachInstallation(ctx, log, apps.App(), maxInstallations, p.Clients.Client, func(in *github.Installation, c *github.Client) error {
		ilog := log.With("installation", in.GetID())
		err := ghread.EachIssueRepo(ctx, ilog, c, maxRepos, func(owner, repo string) error {
			return p.sweepRepo(ctx, ilog, c, owner, repo)
		})
		if err != nil {
			log.ErrorContext(ctx, "sweep failed", "installation", in.GetID(), "err", err)
			return err
		}
		return nil
	})
}

// Sweep runs the daily sweep on one repository with the client of
// installation 0 (the Action's GITHUB_TOKEN client): overdue postmortems get
// one reminder per due date, complete ones are labelled and closed once.
func (p *Handler) Sweep(ctx context.Context, owner, repo string) error {
	c, err := p.Clients.Client(ctx, 0)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	return p.sweepRepo(ctx, p.Logger().With("job", "postmortem-sweep"), c, owner, repo)
}

func (p *Handler) sweepRepo(ctx context.Context, log *slog.Logger, c *github.Client, owner, repo string) error {
	log = log.With("repo", owner+"/"+repo)
	// The configured label selects the postmortems, so the config is read
	// first.
	pc := p.loadConfig(ctx, log, c, owner, repo).Postmortem
	opt := &github.IssueListByRepoOptions{State: "open", Labels: []string{pc.Label}}
	list := func(lo *github.ListOptions) ([]*github.Issue, *github.Response, error) {
		opt.ListOptions = *lo
		return c.Issues.ListByRepo(ctx, owner, repo, opt)
	}
	now := p.Clock()
	var errs []error
	for is, err := range ghread.Items(ctx, list, maxPostmortems) {
		if errors.Is(err, ghread.ErrTruncated) {
			log.WarnContext(ctx, "postmortem listing truncated, swept those read", "err", err)
			break
		}
		if err != nil {
			return fmt.Errorf("list open postmortems of %s/%s: %w", owner, repo, err)
		}
		if is.IsPullRequest() {
			continue
		}
		if err := p.sweepOne(ctx, log.With("issue", is.GetNumber()), c, pc, owner, repo, is, now); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (p *Handler) sweepOne(ctx context.Context, log *slog.Logger, c *github.Client, pc core.Config, owner, repo string, is *github.Issue, now time.Time) error {
	key := "postmortem-sweep:" + owner + "/" + repo + "#" + strconv.Itoa(is.GetNumber())
	return p.Locker.WithLock(ctx, key, func(ctx context.Context) error {
		st, err := p.state(ctx, c, owner, repo, is)
		if err != nil {
			return err
		}
		// Decide first without tasuki's comments: most days there is
		// nothing to do, and then they need not be read. Only a sign-off
		// can complete a postmortem that is otherwise done, and only the
		// records can silence a reminder that is due.
		pr := core.ProgressOf(st, pc)
		if len(core.Decide(st, now, pc)) == 0 && !(len(pr.Missing) == 0 && len(pr.Items) > 0 && pr.Done == len(pr.Items)) {
			return nil
		}
		if err := p.readRecords(ctx, log, c, &st); err != nil {
			return err
		}
		intents := core.Decide(st, now, pc)
		if _, err := p.Writer(c).Execute(ctx, owner, repo, intents); err != nil {
			return err
		}
		for _, in := range intents {
			switch in.Kind {
			case intent.EnsureComment:
				log.InfoContext(ctx, "postmortem sweep commented", "kind", in.Marker.Kind)
			case intent.Close:
				log.InfoContext(ctx, "postmortem complete")
			}
		}
		return nil
	})
}

// state reads what the core decides a postmortem on, except tasuki's
// comments (readRecords): the issue and its linked issues' states.
func (p *Handler) state(ctx context.Context, c *github.Client, owner, repo string, is *github.Issue) (core.State, error) {
	st := core.State{Owner: owner, Repo: repo, Number: is.GetNumber(), URL: is.GetHTMLURL(), Body: is.GetBody(),
		Labels: labelNames(is.Labels), Open: is.GetState() == "open", Assignees: logins(is.Assignees)}
	if u := is.GetUser(); u != nil && !isBot(u) && !p.Identity.Trusts(u) {
		st.Authors = append(st.Authors, u.GetLogin()) // a postmortem written by hand
	}
	// Only tasuki's own issue has generated sections tasuki wrote.
	st.HandWritten = !p.Identity.Trusts(is.GetUser())
	closed, closedAt, err := p.linkedClosed(ctx, c, owner, repo, st.Body)
	if err != nil {
		return st, err
	}
	st.Closed, st.ClosedAt = closed, closedAt
	return st, nil
}

// readRecords reads the markers and hidden state of tasuki's own comments
// on the postmortem into st. Comments by anyone else are not read: a
// person cannot sign off or silence a reminder by writing a block.
func (p *Handler) readRecords(ctx context.Context, log *slog.Logger, c *github.Client, st *core.State) error {
	cs, err := p.Writer(c).TrustedComments(ctx, st.Owner, st.Repo, st.Number)
	if err != nil {
		return err
	}
	for _, cm := range cs {
		st.Markers = append(st.Markers, marker.Find(cm.GetBody())...)
		r, found, err := core.DecodeState(cm.GetBody())
		if err != nil {
			log.WarnContext(ctx, "unreadable postmortem state", "comment", cm.GetID(), "err", err)
			continue
		}
		if found {
			st.Records = append(st.Records, r)
		}
	}
	return nil
}

// maxLinked bounds the linked issues read per postmortem.
const maxLinked = 100

// linkedClosed reads the state of the issues linked from action items that
// are not checked (at most maxLinked): whether each is closed, and when.
func (p *Handler) linkedClosed(ctx context.Context, c *github.Client, owner, repo, body string) (map[string]bool, map[string]time.Time, error) {
	closed := map[string]bool{}
	closedAt := map[string]time.Time{}
	read := 0
	for _, it := range core.ParseActionItems(body) {
		if it.Checked || it.Issue.Number == 0 {
			continue
		}
		if _, seen := closed[it.Issue.String()]; seen {
			continue
		}
		if read++; read > maxLinked {
			break
		}
		o, r := it.Issue.Owner, it.Issue.Repo
		if o == "" {
			o, r = owner, repo
		}
		is, _, err := c.Issues.Get(ctx, o, r, it.Issue.Number)
		if err != nil {
			if handler.IsStatus(err, http.StatusNotFound) || handler.IsStatus(err, http.StatusGone) {
				closed[it.Issue.String()] = false // an unreadable issue is not done
				continue
			}
			return nil, nil, fmt.Errorf("get linked issue %s: %w", it.Issue, err)
		}
		closed[it.Issue.String()] = is.GetState() == "closed"
		if is.GetState() == "closed" {
			closedAt[it.Issue.String()] = is.GetClosedAt().Time
		}
	}
	return closed, closedAt, nil
}
