package postmortem

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/ghread"
	"github.com/tasuki-sre/tasuki/internal/intent"
	core "github.com/tasuki-sre/tasuki/internal/postmortem"
)

// DigestInterval is how often the App runs the digest job (the store's
// periodic job named "postmortem-digest"): daily, and each organisation
// gets one digest issue per ISO week (its marker names the week), on the
// first run of the week that finds overdue action items.
const DigestInterval = 24 * time.Hour

// DigestInstallations opens this week's digest of overdue action items of
// every installation whose organisation configures postmortem.digest_repo
// (in its .github repository's tasuki.yml). A failing installation is
// logged and the others still run; the errors are returned joined so the
// job retries.
func (p *Handler) DigestInstallations(ctx context.Context, apps AppLister) error {
	log := p.Logger().With("job", "postmortem-digest")
	return ghread.EachInstallation(ctx, log, apps.App(), maxInstallations, p.Clients.Client, func(in *github.Installation, c *github.Client) error {
		if err := p.Digest(ctx, log.With("installation", in.GetID()), c, in.GetAccount().GetLogin()); err != nil {
			log.ErrorContext(ctx, "digest failed", "installation", in.GetID(), "err", err)
			return err
		}
		return nil
	})
}

// Digest opens this week's digest issue of org's overdue action items in
// its postmortem.digest_repo, once: the follow-up issues tasuki opened
// (open, with the action label) across the organisation whose due date
// has passed.
func (p *Handler) Digest(ctx context.Context, log *slog.Logger, c *github.Client, org string) error {
	pc := p.loadConfig(ctx, log, c, org, ".github").Postmortem
	if pc.DigestRepo == "" {
		return nil
	}
	owner, repo := org, pc.DigestRepo
	if o, r, ok := strings.Cut(pc.DigestRepo, "/"); ok {
		owner, repo = o, r
	}
	if !strings.EqualFold(owner, org) {
		log.WarnContext(ctx, "postmortem.digest_repo is outside the organisation; no digest", "digest_repo", pc.DigestRepo)
		return nil
	}
	q := fmt.Sprintf("org:%s is:issue is:open label:%s", org, strconv.Quote(pc.ActionLabel))
	found, err := ghread.SearchIssues(ctx, c, q, ghread.SearchLimit)
	if err != nil && !errors.Is(err, ghread.ErrTruncated) {
		return err
	}
	// A public digest lists only public repositories' items: the titles
	// of a private repository's action items are not for everyone.
	visible, err := ghread.VisibleIn(ctx, c, owner, repo)
	if err != nil {
		return err
	}
	var items []core.OpenItem
	for _, f := range found {
		// The due date is tasuki's: only its own follow-ups are read.
		if !p.Identity.Trusts(&github.User{Login: &f.Author, Type: &f.AuthorType}) {
			continue
		}
		due, ok := core.ItemDueOf(f.Body)
		if !ok {
			continue
		}
		if ok, err := visible(f.Repo); err != nil {
			return err
		} else if !ok {
			continue
		}
		items = append(items, core.OpenItem{Repo: f.Repo, Number: f.Number, Title: f.Title, URL: f.URL,
			Assignees: f.Assignees, Labels: f.Labels, Due: due})
	}
	in, ok := core.DigestIntent(org, items, p.Clock(), pc)
	if !ok {
		return nil
	}
	res, err := p.Writer(c).Execute(ctx, owner, repo, []intent.Intent{in})
	if err != nil {
		return fmt.Errorf("open digest in %s/%s: %w", owner, repo, err)
	}
	log.InfoContext(ctx, "postmortem digest", "issue", owner+"/"+repo+"#"+strconv.FormatInt(res[0].ID, 10), "overdue", len(items))
	return nil
}
