// Package configcheck tells a repository's users whether their
// .github/tasuki.yml is valid, with the tasuki/config check run: on a push to
// the default branch that changes the file, and on a pull request that
// changes it.
package configcheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/ghread"
	"github.com/tasuki-sre/tasuki/internal/ghwrite"
	"github.com/tasuki-sre/tasuki/internal/handler"
)

// RefLoader reads a repository's configuration as of a commit, as
// *config.Loader does. A loader that also has Forget(owner, repo) is told
// when a push to a default branch changes a configuration file.
type RefLoader interface {
	LoadAt(ctx context.Context, c *github.Client, owner, repo, ref string) config.Fetched
}

type configForgetter interface {
	Forget(owner, repo string)
}

var (
	_ RefLoader       = (*config.Loader)(nil)
	_ configForgetter = (*config.Loader)(nil)
)

// checkWriter is what Handler needs of ghwrite.Writer.
type checkWriter interface {
	UpsertCheckRun(ctx context.Context, owner, repo string, run ghwrite.CheckRun) (*github.CheckRun, error)
}

var _ checkWriter = (*ghwrite.Writer)(nil)

// Handler tells a repository's users whether their .github/tasuki.yml
// is valid: on a push to the default branch that changes it, and on a pull
// request (opened, synchronize, reopened) whose changes include it, it sets
// the check run tasuki/config on the head commit, a failure annotated at
// each bad line, or a success. Features never wait for it: they fall back
// to defaults section by section (see config.Parse).
type Handler struct {
	base   *handler.Base
	loader RefLoader
	writer func(c *github.Client) checkWriter
}

var _ handler.Feature = (*Handler)(nil)

// New returns a Handler using b's clients, identity and logger,
// reading files through loader. A nil loader means b.Config when that can
// load at a ref (a *config.Loader can), so that a push changing the file
// also clears b.Config's cache; otherwise a fresh config.Loader.
func New(b *handler.Base, loader RefLoader) *Handler {
	if loader == nil {
		if rl, ok := b.Config.(RefLoader); ok {
			loader = rl
		} else {
			loader = config.NewLoader()
		}
	}
	return &Handler{base: b, loader: loader, writer: func(c *github.Client) checkWriter {
		return b.Writer(c)
	}}
}

// Handles lists push and pull_request.
func (*Handler) Handles() []string { return []string{"push", "pull_request"} }

// Permissions are contents read (the file at a commit; push events), pull
// requests read (the files a pull request changes) and checks write.
func (*Handler) Permissions() map[string]string {
	return handler.MergePermissions(handler.BasePermissions(), handler.WriterCheckRuns(),
		map[string]string{handler.PermPullRequests: handler.Read})
}

// Handle decodes a push or pull_request delivery and checks the
// configuration if the delivery changes it.
func (h *Handler) Handle(ctx context.Context, d dispatch.Delivery) error {
	switch d.Event {
	case "push":
		var ev github.PushEvent
		if err := json.Unmarshal(d.Payload, &ev); err != nil {
			return fmt.Errorf("decode %s delivery %s: %w", d.Event, d.ID, err)
		}
		return h.push(ctx, d, &ev)
	case "pull_request":
		var ev github.PullRequestEvent
		if err := json.Unmarshal(d.Payload, &ev); err != nil {
			return fmt.Errorf("decode %s delivery %s: %w", d.Event, d.ID, err)
		}
		switch ev.GetAction() {
		case "opened", "synchronize", "reopened":
		default:
			return nil
		}
		return h.pullRequest(ctx, d, &ev)
	}
	return nil
}

func (h *Handler) push(ctx context.Context, d dispatch.Delivery, ev *github.PushEvent) error {
	repo := ev.GetRepo()
	owner, name, _ := strings.Cut(repo.GetFullName(), "/")
	log := h.base.Logger().With("delivery", d.ID, "event", d.Event, "repo", repo.GetFullName())
	if owner == "" || name == "" {
		return fmt.Errorf("push delivery %s: payload lacks the repository", d.ID)
	}
	if ev.GetRef() != "refs/heads/"+repo.GetDefaultBranch() || ev.GetDeleted() || strings.Trim(ev.GetAfter(), "0") == "" {
		return nil
	}
	if !pushTouches(ev, config.Path) {
		return nil
	}
	if f, ok := h.loader.(configForgetter); ok {
		f.Forget(owner, name)
	}
	return h.check(ctx, log, d, owner, name, ev.GetAfter(), ev.GetInstallation().GetID())
}

// pushTouches reports whether any commit of the push adds, changes or
// removes path.
func pushTouches(ev *github.PushEvent, path string) bool {
	commits := ev.Commits
	if ev.HeadCommit != nil {
		commits = append(commits, ev.HeadCommit)
	}
	for _, c := range commits {
		for _, list := range [][]string{c.Added, c.Modified, c.Removed} {
			for _, p := range list {
				if p == path {
					return true
				}
			}
		}
	}
	return false
}

func (h *Handler) pullRequest(ctx context.Context, d dispatch.Delivery, ev *github.PullRequestEvent) error {
	repo, pr := ev.GetRepo(), ev.GetPullRequest()
	owner, name, _ := strings.Cut(repo.GetFullName(), "/")
	log := h.base.Logger().With("delivery", d.ID, "event", d.Event, "action", ev.GetAction(),
		"repo", repo.GetFullName(), "pr", pr.GetNumber())
	if owner == "" || name == "" || pr.GetNumber() == 0 || pr.GetHead().GetSHA() == "" {
		return fmt.Errorf("%s %s delivery %s: payload lacks repository, number or head", d.Event, ev.GetAction(), d.ID)
	}
	c, err := h.client(ctx, d, ev.GetInstallation().GetID())
	if err != nil {
		return err
	}
	changed, err := prChangesFile(ctx, c, owner, name, pr.GetNumber(), config.Path)
	if err != nil {
		return err
	}
	if !changed {
		return nil
	}
	return h.checkWith(ctx, log, c, owner, name, pr.GetHead().GetSHA())
}

// maxPRFiles is the most files GitHub lists for one pull request.
const maxPRFiles = 3000

// prChangesFile reports whether pull request number adds, changes, renames
// or removes path. A listing cut at maxPRFiles counts as a change: checking
// the config needlessly costs one check run, missing a change costs a
// broken config.
func prChangesFile(ctx context.Context, c *github.Client, owner, repo string, number int, path string) (bool, error) {
	list := func(lo *github.ListOptions) ([]*github.CommitFile, *github.Response, error) {
		return c.PullRequests.ListFiles(ctx, owner, repo, number, lo)
	}
	for f, err := range ghread.Items(ctx, list, maxPRFiles) {
		if errors.Is(err, ghread.ErrTruncated) {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("list files of %s/%s#%d: %w", owner, repo, number, err)
		}
		if f.GetFilename() == path || f.GetPreviousFilename() == path {
			return true, nil
		}
	}
	return false, nil
}

func (h *Handler) client(ctx context.Context, d dispatch.Delivery, instID int64) (*github.Client, error) {
	if h.base.Clients == nil {
		return nil, fmt.Errorf("config check: no GitHub client source configured")
	}
	if instID == 0 {
		instID = d.InstallationID
	}
	c, err := h.base.Clients.Client(ctx, instID)
	if err != nil {
		return nil, fmt.Errorf("client for installation %d: %w", instID, err)
	}
	return c, nil
}

func (h *Handler) check(ctx context.Context, log *slog.Logger, d dispatch.Delivery, owner, repo, sha string, instID int64) error {
	c, err := h.client(ctx, d, instID)
	if err != nil {
		return err
	}
	return h.checkWith(ctx, log, c, owner, repo, sha)
}

// checkWith loads the configuration at sha and sets the check run. A GitHub
// failure while reading is returned so the job retries; it is not the
// user's mistake to report.
func (h *Handler) checkWith(ctx context.Context, log *slog.Logger, c *github.Client, owner, repo, sha string) error {
	f := h.loader.LoadAt(ctx, c, owner, repo, sha)
	if err := f.ReadError(); err != nil {
		return fmt.Errorf("load config %s/%s@%s: %w", owner, repo, sha, err)
	}
	r := config.Check(f, owner+"/"+repo)
	run := ghwrite.CheckRun{
		Name:       config.CheckName,
		HeadSHA:    sha,
		ExternalID: config.CheckName,
		Conclusion: r.Conclusion,
		Title:      r.Title,
		Summary:    r.Summary,
	}
	for _, a := range r.Annotations {
		ann := ghwrite.Annotation{
			Path:      a.Path,
			StartLine: a.Line,
			EndLine:   a.Line,
			Level:     "failure",
			Title:     "tasuki configuration",
			Message:   a.Message,
		}
		if a.Column > 0 {
			// GitHub takes columns only within one line, which these are.
			ann.StartColumn, ann.EndColumn = a.Column, a.Column
		}
		run.Annotations = append(run.Annotations, ann)
	}
	if _, err := h.writer(c).UpsertCheckRun(ctx, owner, repo, run); err != nil {
		return err
	}
	log.InfoContext(ctx, "config checked", "sha", sha, "conclusion", r.Conclusion, "problems", len(r.Annotations))
	return nil
}
