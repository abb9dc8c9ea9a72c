package onboarding

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/ghread"
	"github.com/tasuki-sre/tasuki/internal/handler"
	core "github.com/tasuki-sre/tasuki/internal/onboarding"
)

// Bounds of the facts read for one verification.
const (
	maxTreeEntries  = 100_000 // GitHub's own bound on a recursive tree
	maxWorkflowRuns = 300     // runs read; the listing is newest first
	keepWorkflow    = 100     // runs passed to the core
)

// unavailable says, in words for the handoff issue, why a fact could not
// be read: GitHub refused it (the token lacks a permission), or another
// error. Rate limits and server errors are returned instead, so the job
// retries.
func unavailable(what string, err error, perm string) (string, bool) {
	if errors.Is(err, ghread.ErrForbidden) || handler.IsStatus(err, http.StatusForbidden) {
		return fmt.Sprintf("GitHub refused to show %s: tasuki needs the %s permission", what, perm), true
	}
	return "", false
}

// blobs are the files of the tree read, by path: their blob IDs and sizes.
type blobs map[string]ghread.TreeEntry

// readHead reads the head of owner/repo's default branch and the paths of
// its files (every verification needs them: the transfer and the guard
// read CODEOWNERS and the catalog), before the checklist is known. A tree
// GitHub refuses goes in Unavailable; other errors are returned.
func (h *Handler) readHead(ctx context.Context, c *github.Client, owner, repo string) (core.RepoFacts, blobs, error) {
	facts := core.RepoFacts{Repo: owner + "/" + repo, Unavailable: map[core.Fact]string{}}
	r, _, err := c.Repositories.Get(ctx, owner, repo)
	if err != nil {
		return facts, nil, fmt.Errorf("read repository %s/%s: %w", owner, repo, err)
	}
	facts.DefaultBranch = r.GetDefaultBranch()
	br, _, err := c.Repositories.GetBranch(ctx, owner, repo, facts.DefaultBranch, 1)
	if err != nil {
		return facts, nil, fmt.Errorf("read branch %s of %s/%s: %w", facts.DefaultBranch, owner, repo, err)
	}
	facts.HeadSHA = br.GetCommit().GetSHA()
	t, err := ghread.Files(ctx, c, owner, repo, facts.HeadSHA, maxTreeEntries)
	if err != nil {
		why, ok := unavailable("the repository's files", err, "contents read")
		if !ok {
			return facts, nil, err
		}
		facts.Unavailable[core.FactTree] = why
		return facts, nil, nil
	}
	bs := make(blobs, len(t.Entries))
	for _, e := range t.Entries {
		if e.Type == "blob" {
			facts.Paths = append(facts.Paths, e.Path)
			bs[e.Path] = e
		}
	}
	facts.TreeTruncated = t.Truncated
	return facts, bs, nil
}

// readFacts completes facts (from readHead) with what need names of
// owner/repo at the head read, for the handoff in st (its team). A fact
// GitHub refuses goes in Unavailable; other errors are returned.
func (h *Handler) readFacts(ctx context.Context, c *github.Client, owner, repo string, st core.State, cl core.Checklist, need core.Needs, f *core.RepoFacts, bs blobs) error {
	facts := f
	miss := func(x core.Fact, why string) { facts.Unavailable[x] = why }
	if _, missing := facts.Unavailable[core.FactTree]; !missing && (need.Tree || len(need.Files) > 0) {
		if err := h.readFiles(ctx, c, owner, repo, st.Tier, cl, facts, bs); err != nil {
			return err
		}
	}
	if need.Team && st.Team != "" {
		org, slug := splitTeam(st.Team, owner)
		tf, err := h.teamFacts(ctx, c, org, slug, owner, repo)
		if err != nil {
			why, ok := unavailable("team @"+org+"/"+slug, err, "members read")
			if !ok {
				return err
			}
			miss(core.FactTeam, why)
		} else {
			facts.Team = tf
		}
	}
	if need.Collaborators {
		cs, err := ghread.OutsideCollaborators(ctx, c, owner, repo)
		switch {
		case err == nil || errors.Is(err, ghread.ErrTruncated):
			for _, co := range cs {
				facts.OutsideCollaborators = append(facts.OutsideCollaborators, core.Collaborator{Login: co.Login, Permission: co.Permission})
			}
		default:
			why, ok := unavailable("the outside collaborators", err, "metadata read")
			if !ok {
				return err
			}
			miss(core.FactCollaborators, why)
		}
	}
	if need.Protection {
		p, err := ghread.BranchProtection(ctx, c, owner, repo, facts.DefaultBranch)
		if err != nil {
			return err
		}
		facts.Protection = core.Protection{Protected: p.Protected(), RequirePullRequest: p.PullRequest,
			RequiredApprovals: p.RequiredReviews, CodeOwnerReview: p.CodeOwnerReview, RequiredChecks: p.RequiredChecks}
		// What the rulesets show is enough to pass; without the rule, a
		// branch that looks unprotected may not be.
		if !p.RuleReadable && !(p.Rulesets && p.PullRequest) {
			miss(core.FactProtection, "GitHub refused to show the default branch's protection rule: tasuki needs the administration read permission")
		}
	}
	if need.Workflows {
		runs, err := ghread.WorkflowRuns(ctx, c, owner, repo, "", facts.DefaultBranch, 0, maxWorkflowRuns)
		if err != nil {
			why, ok := unavailable("the workflow runs", err, "actions read")
			if !ok {
				return err
			}
			miss(core.FactWorkflows, why)
		}
		since := h.Clock().Add(-need.WorkflowsSince)
		for _, run := range runs {
			if run.Status != "completed" || (need.WorkflowsSince > 0 && run.CreatedAt.Before(since)) {
				continue
			}
			facts.WorkflowRuns = append(facts.WorkflowRuns, core.WorkflowRun{Name: run.Name, Path: run.Path,
				Conclusion: run.Conclusion, At: run.CreatedAt, URL: run.URL})
			if len(facts.WorkflowRuns) == keepWorkflow {
				break
			}
		}
	}
	if need.CODEOWNERSErrors {
		errs, _, err := ghread.CodeownersErrors(ctx, c, owner, repo, facts.HeadSHA)
		if err != nil {
			why, ok := unavailable("the CODEOWNERS errors", err, "contents read")
			if !ok {
				return err
			}
			miss(core.FactCODEOWNERSErrors, why)
		}
		facts.CODEOWNERSErrors = codeownersMessages(errs)
	}
	return nil
}

// codeownersMessages spells GitHub's CODEOWNERS errors as the core reads
// them: "path:line: kind: message", the message's first line.
func codeownersMessages(errs []ghread.CodeownersError) []string {
	var out []string
	for _, e := range errs {
		msg, _, _ := strings.Cut(e.Message, "\n")
		out = append(out, fmt.Sprintf("%s:%d: %s: %s", e.Path, e.Line, e.Kind, msg))
	}
	return out
}

// readFiles reads the files the checklist's verifiers read, at the head
// read, each bounded by core.MaxFileBytes. A file is read by its blob ID
// (bs, from the tree), whose address stays the same while the file does:
// with the client's ETag cache, a push re-reads only the files it changed
// (GitHub answers the others 304, which costs no rate limit). A file over
// the bound is read through the contents API, which sends its start.
func (h *Handler) readFiles(ctx context.Context, c *github.Client, owner, repo, tier string, cl core.Checklist, facts *core.RepoFacts, bs blobs) error {
	paths := core.FilesToRead(cl, tier, facts.Paths)
	// CODEOWNERS and the catalog are read for the transfer and the guard
	// whatever the checklist says.
	for _, p := range append(append([]string(nil), core.CODEOWNERSPaths...), core.CatalogPath) {
		if contains(facts.Paths, p) && !contains(paths, p) {
			paths = append(paths, p)
		}
	}
	if len(paths) > core.MaxFiles {
		paths = paths[:core.MaxFiles]
	}
	for _, p := range paths {
		var b []byte
		var ok bool
		var err error
		if e, known := bs[p]; known && e.SHA != "" && e.Size <= core.MaxFileBytes {
			b, ok, err = ghread.Blob(ctx, c, owner, repo, e.SHA, e.Size, core.MaxFileBytes)
		} else {
			b, ok, err = ghread.File(ctx, c, owner, repo, p, facts.HeadSHA, core.MaxFileBytes)
		}
		switch {
		case errors.Is(err, ghread.ErrTooLarge):
			if ok {
				facts.TooLarge = append(facts.TooLarge, p)
			} else {
				continue
			}
		case err != nil:
			why, refused := unavailable("the file "+p, err, "contents read")
			if !refused {
				return err
			}
			facts.Unavailable[core.FactFiles] = why
			continue
		case !ok:
			continue
		}
		if facts.Files == nil {
			facts.Files = map[string][]byte{}
		}
		facts.Files[p] = b
	}
	sort.Strings(facts.TooLarge)
	return nil
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func (h *Handler) teamFacts(ctx context.Context, c *github.Client, org, slug, owner, repo string) (core.TeamFacts, error) {
	tf := core.TeamFacts{Slug: slug}
	t, err := ghread.TeamBySlug(ctx, c, org, slug)
	if err != nil {
		return tf, err
	}
	if !t.Found {
		return tf, nil
	}
	tf.Exists, tf.Privacy = true, t.Privacy
	tf.Permission, err = ghread.TeamRepoPermission(ctx, c, org, slug, owner, repo)
	return tf, err
}
