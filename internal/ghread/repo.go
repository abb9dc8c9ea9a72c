package ghread

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/ghclient"
)

// The reads in this file describe a repository as a whole: its files, how
// its default branch is protected, which teams and outside collaborators
// may push to it, its recent workflow runs, and its incidents. Onboarding
// (the handoff of a repository from one team to another) verifies a
// checklist against them.

// ErrForbidden marks a read GitHub refused with 403 (not a rate limit): the
// token lacks a permission (an App without administration read asking for
// branch protection, a workflow's GITHUB_TOKEN asking for team data).
// errors.Is(err, ErrForbidden) tells a caller to report what it could not
// check rather than retry.
var ErrForbidden = errors.New("GitHub refused the read (403): the token lacks a permission")

// ErrTooLarge marks a file larger than the caller's bound.
var ErrTooLarge = errors.New("file too large")

// refused returns err marked with ErrForbidden when GitHub answered 403
// without a rate limit, else err classified by ghclient.Wrap.
func refused(err error) error {
	if isStatus(err, http.StatusForbidden) {
		return fmt.Errorf("%w: %w", ErrForbidden, err)
	}
	return ghclient.Wrap(err)
}

// isStatus reports whether err is GitHub's answer with code. Rate limits
// (go-github's RateLimitError, AbuseRateLimitError) are other types, so a
// 403 rate limit is not taken for a refusal.
func isStatus(err error, code int) bool {
	var er *github.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == code
}

// TreeEntry is one path of a git tree.
type TreeEntry struct {
	Path string
	Type string // "blob", "tree" or "commit" (a submodule)
	SHA  string
	Size int // blobs only
}

// Tree is the listing of a commit's files.
type Tree struct {
	SHA     string // the tree's ID
	Entries []TreeEntry
	// Truncated is set when the listing is not whole: GitHub truncates
	// recursive trees over 100,000 entries or 7 MB, and Files keeps at
	// most its limit. A path missing from a truncated tree may still exist.
	Truncated bool
}

// Has reports whether the tree lists a blob at path.
func (t Tree) Has(path string) bool {
	for _, e := range t.Entries {
		if e.Path == path && e.Type == "blob" {
			return true
		}
	}
	return false
}

// Files lists the files of ref (a branch, tag or commit) of owner/repo,
// recursively, in one request. limit bounds the entries kept (DefaultMax
// when limit <= 0); past it, Truncated is set. GitHub answers 404 for a
// ref it does not know and 409 for an empty repository: both give an empty
// tree, not an error.
func Files(ctx context.Context, c *github.Client, owner, repo, ref string, limit int) (Tree, error) {
	if limit <= 0 {
		limit = DefaultMax
	}
	t, _, err := c.Git.GetTree(ctx, owner, repo, ref, true)
	if err != nil {
		if isStatus(err, http.StatusNotFound) || isStatus(err, http.StatusConflict) {
			return Tree{}, nil
		}
		return Tree{}, refused(fmt.Errorf("read tree %s of %s/%s: %w", ref, owner, repo, err))
	}
	out := Tree{SHA: t.GetSHA(), Truncated: t.GetTruncated()}
	for _, e := range t.Entries {
		if len(out.Entries) == limit {
			out.Truncated = true
			break
		}
		out.Entries = append(out.Entries, TreeEntry{Path: e.GetPath(), Type: e.GetType(), SHA: e.GetSHA(), Size: e.GetSize()})
	}
	return out, nil
}

// File reads path at ref (empty: the default branch) of owner/repo. A
// missing file, or a directory at that path, is (nil, false, nil). A file
// over maxBytes (GitHub sends the content of files up to 1 MB) gives its
// first maxBytes bytes, true, and an error wrapping ErrTooLarge, for a
// caller that can use the start of a file.
func File(ctx context.Context, c *github.Client, owner, repo, path, ref string, maxBytes int) ([]byte, bool, error) {
	var opt *github.RepositoryContentGetOptions
	if ref != "" {
		opt = &github.RepositoryContentGetOptions{Ref: ref}
	}
	fc, _, _, err := c.Repositories.GetContents(ctx, owner, repo, path, opt)
	if err != nil {
		if isStatus(err, http.StatusNotFound) {
			return nil, false, nil
		}
		return nil, false, refused(fmt.Errorf("read %s/%s:%s: %w", owner, repo, path, err))
	}
	if fc == nil {
		return nil, false, nil // a directory
	}
	s, err := fc.GetContent()
	if err != nil {
		// Over 1 MB the Contents API sends no content ("encoding": "none").
		if maxBytes > 0 && fc.GetSize() > maxBytes {
			return nil, false, fmt.Errorf("read %s/%s:%s: %w: %d bytes, at most %d are read", owner, repo, path, ErrTooLarge, fc.GetSize(), maxBytes)
		}
		return nil, false, fmt.Errorf("read %s/%s:%s (%d bytes): %w", owner, repo, path, fc.GetSize(), err)
	}
	if maxBytes > 0 && len(s) > maxBytes {
		return []byte(s[:maxBytes]), true, fmt.Errorf("read %s/%s:%s: %w: %d bytes, the first %d are read", owner, repo, path, ErrTooLarge, len(s), maxBytes)
	}
	return []byte(s), true, nil
}

// Blob reads the file whose git blob ID is sha (from a Tree's entries) of
// owner/repo. Its address names the content, not a commit, so a client
// revalidating with ETags is answered 304 for a file unchanged by any
// number of pushes. size is the entry's size: a blob over maxBytes is not
// read (GitHub would send all of it) and gives an error wrapping
// ErrTooLarge; read its start with File. A blob that is gone is (nil,
// false, nil).
func Blob(ctx context.Context, c *github.Client, owner, repo, sha string, size, maxBytes int) ([]byte, bool, error) {
	if maxBytes > 0 && size > maxBytes {
		return nil, false, fmt.Errorf("read blob %s of %s/%s: %w: %d bytes, at most %d are read", sha, owner, repo, ErrTooLarge, size, maxBytes)
	}
	b, _, err := c.Git.GetBlob(ctx, owner, repo, sha)
	if err != nil {
		if isStatus(err, http.StatusNotFound) {
			return nil, false, nil
		}
		return nil, false, refused(fmt.Errorf("read blob %s of %s/%s: %w", sha, owner, repo, err))
	}
	if b.GetEncoding() != "base64" {
		return []byte(b.GetContent()), true, nil
	}
	out, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(b.GetContent(), "\n", ""))
	if err != nil {
		return nil, false, fmt.Errorf("read blob %s of %s/%s: %w", sha, owner, repo, err)
	}
	if maxBytes > 0 && len(out) > maxBytes {
		return out[:maxBytes], true, fmt.Errorf("read blob %s of %s/%s: %w: %d bytes, the first %d are read", sha, owner, repo, ErrTooLarge, len(out), maxBytes)
	}
	return out, true, nil
}

// Protection is how a branch is protected, from its branch protection rule
// and the repository rulesets that apply to it, merged: a check or a
// review required by either is required.
type Protection struct {
	Branch string
	// Rule is whether a branch protection rule exists; RuleReadable is
	// false when GitHub refused to show it (the App lacks administration
	// read), and then Rule says nothing.
	Rule         bool
	RuleReadable bool
	// Rulesets is whether any ruleset rule applies to the branch.
	Rulesets bool
	// RulesetsReadable is false when GitHub refused the rules.
	RulesetsReadable bool
	// PullRequest is whether changes must go through a pull request.
	PullRequest bool
	// RequiredChecks are the status check contexts required before
	// merging, sorted, without duplicates.
	RequiredChecks []string
	// RequiredReviews is the number of approving reviews required (the
	// higher of the rule's and the rulesets').
	RequiredReviews int
	// CodeOwnerReview is whether a code owner's review is required.
	CodeOwnerReview bool
}

// Protected reports whether anything protects the branch.
func (p Protection) Protected() bool { return p.Rule || p.Rulesets }

// maxRules bounds the ruleset rules read for one branch.
const maxRules = 300

// BranchProtection reads how branch of owner/repo is protected: its branch
// protection rule (GET .../branches/{branch}/protection, which needs the
// administration read permission; GitHub answers 404 when there is none and
// 403 without the permission) and the rules of the rulesets that apply to
// it (GET .../rules/branches/{branch}, readable by anyone who can read the
// repository). A 403 on either is not an error: the part is marked
// unreadable.
func BranchProtection(ctx context.Context, c *github.Client, owner, repo, branch string) (Protection, error) {
	p := Protection{Branch: branch, RuleReadable: true, RulesetsReadable: true}
	checks := map[string]bool{}
	bp, _, err := c.Repositories.GetBranchProtection(ctx, owner, repo, branch)
	switch {
	case err == nil:
		p.Rule = true
		if rsc := bp.GetRequiredStatusChecks(); rsc != nil {
			if rsc.Contexts != nil {
				for _, ctx := range *rsc.Contexts {
					checks[ctx] = true
				}
			}
			if rsc.Checks != nil {
				for _, ch := range *rsc.Checks {
					checks[ch.Context] = true
				}
			}
		}
		if rv := bp.GetRequiredPullRequestReviews(); rv != nil {
			p.PullRequest = true
			p.RequiredReviews = rv.RequiredApprovingReviewCount
			p.CodeOwnerReview = rv.RequireCodeOwnerReviews
		}
	case errors.Is(err, github.ErrBranchNotProtected) || isStatus(err, http.StatusNotFound):
		// 404 "Branch not protected" (go-github's ErrBranchNotProtected),
		// or no such branch.
	case isStatus(err, http.StatusForbidden):
		p.RuleReadable = false
	default:
		return p, ghclient.Wrap(fmt.Errorf("read protection of %s in %s/%s: %w", branch, owner, repo, err))
	}

	list := func(lo *github.ListOptions) ([]*github.RepositoryRule, *github.Response, error) {
		u := fmt.Sprintf("repos/%s/%s/rules/branches/%s?per_page=%d&page=%d", owner, repo, branch, lo.PerPage, max(lo.Page, 1))
		req, err := c.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			return nil, nil, err
		}
		var rules []*github.RepositoryRule
		resp, err := c.Do(ctx, req, &rules)
		return rules, resp, err
	}
	for r, err := range Items(ctx, list, maxRules) {
		if errors.Is(err, ErrTruncated) {
			break // the rules read are enough to say it is protected
		}
		if err != nil {
			if isStatus(err, http.StatusForbidden) {
				p.RulesetsReadable = false
				break
			}
			if isStatus(err, http.StatusNotFound) {
				break
			}
			return p, fmt.Errorf("read rules of %s in %s/%s: %w", branch, owner, repo, err)
		}
		p.Rulesets = true
		if r.Type == "pull_request" {
			p.PullRequest = true
		}
		if r.Parameters == nil {
			continue
		}
		switch r.Type {
		case "pull_request":
			var prm github.PullRequestRuleParameters
			if json.Unmarshal(*r.Parameters, &prm) == nil {
				p.RequiredReviews = max(p.RequiredReviews, prm.RequiredApprovingReviewCount)
				p.CodeOwnerReview = p.CodeOwnerReview || prm.RequireCodeOwnerReview
			}
		case "required_status_checks":
			var prm github.RequiredStatusChecksRuleParameters
			if json.Unmarshal(*r.Parameters, &prm) == nil {
				for _, ch := range prm.RequiredStatusChecks {
					checks[ch.Context] = true
				}
			}
		}
	}
	for ch := range checks {
		if ch != "" {
			p.RequiredChecks = append(p.RequiredChecks, ch)
		}
	}
	slices.Sort(p.RequiredChecks)
	return p, nil
}

// Team is an organisation team as tasuki sees it.
type Team struct {
	Org, Slug string
	// Found is false when GitHub answered 404: no such team, or a secret
	// team tasuki cannot see.
	Found   bool
	ID      int64
	Name    string
	Privacy string // "closed" (visible to the organisation) or "secret"
	URL     string // the team's page
}

// TeamBySlug reads org/slug. 404 is Found false; 403 is an error wrapping
// ErrForbidden (a token that may not read teams: the App without members
// read, or a workflow's GITHUB_TOKEN).
func TeamBySlug(ctx context.Context, c *github.Client, org, slug string) (Team, error) {
	t := Team{Org: org, Slug: slug}
	gt, _, err := c.Teams.GetTeamBySlug(ctx, org, slug)
	if err != nil {
		if isStatus(err, http.StatusNotFound) {
			return t, nil
		}
		return t, refused(fmt.Errorf("read team %s/%s: %w", org, slug, err))
	}
	t.Found, t.ID, t.Name, t.Privacy, t.URL = true, gt.GetID(), gt.GetName(), gt.GetPrivacy(), gt.GetHTMLURL()
	return t, nil
}

// Repository permissions as GitHub names them, lowest first.
var permissionOrder = []string{"pull", "triage", "push", "maintain", "admin"}

// PermissionRank orders GitHub's repository permissions: 0 for none or an
// unknown name, then pull (read), triage, push (write), maintain, admin.
// "read" and "write" are taken as pull and push.
func PermissionRank(p string) int {
	switch strings.ToLower(p) {
	case "read":
		p = "pull"
	case "write":
		p = "push"
	}
	return slices.Index(permissionOrder, strings.ToLower(p)) + 1
}

// highest returns the highest permission set in perms.
func highest(perms map[string]bool) string {
	for i := len(permissionOrder) - 1; i >= 0; i-- {
		if perms[permissionOrder[i]] {
			return permissionOrder[i]
		}
	}
	return ""
}

// TeamRepoPermission returns the permission org/slug holds on owner/repo
// (GET /orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}): "admin",
// "maintain", "push", "triage" or "pull", or "" when GitHub answers 404
// (the team has no access, or there is no such team). 403 is an error
// wrapping ErrForbidden.
func TeamRepoPermission(ctx context.Context, c *github.Client, org, slug, owner, repo string) (string, error) {
	r, _, err := c.Teams.IsTeamRepoBySlug(ctx, org, slug, owner, repo)
	if err != nil {
		if isStatus(err, http.StatusNotFound) {
			return "", nil
		}
		return "", refused(fmt.Errorf("read permission of team %s/%s on %s/%s: %w", org, slug, owner, repo, err))
	}
	if rn := r.GetRoleName(); rn != "" && PermissionRank(rn) > 0 {
		return normalisePermission(rn), nil
	}
	return highest(r.GetPermissions()), nil
}

func normalisePermission(p string) string {
	if r := PermissionRank(p); r > 0 {
		return permissionOrder[r-1]
	}
	return ""
}

// Collaborator is a person with access to a repository.
type Collaborator struct {
	Login      string
	Permission string // the highest: admin, maintain, push, triage or pull
}

// maxCollaborators bounds the outside collaborators read.
const maxCollaborators = 1000

// OutsideCollaborators lists the outside collaborators of owner/repo (people
// given access who are not organisation members) who may push: push,
// maintain or admin, sorted by login. A truncated listing returns what was
// read with an error wrapping ErrTruncated; 403 is an error wrapping
// ErrForbidden.
func OutsideCollaborators(ctx context.Context, c *github.Client, owner, repo string) ([]Collaborator, error) {
	opt := &github.ListCollaboratorsOptions{Affiliation: "outside"}
	list := func(lo *github.ListOptions) ([]*github.User, *github.Response, error) {
		opt.ListOptions = *lo
		return c.Repositories.ListCollaborators(ctx, owner, repo, opt)
	}
	var out []Collaborator
	for u, err := range Items(ctx, list, maxCollaborators) {
		if err != nil {
			sortCollaborators(out)
			if isStatus(err, http.StatusForbidden) {
				return out, fmt.Errorf("list outside collaborators of %s/%s: %w: %w", owner, repo, ErrForbidden, err)
			}
			return out, fmt.Errorf("list outside collaborators of %s/%s: %w", owner, repo, err)
		}
		p := normalisePermission(u.GetRoleName())
		if p == "" {
			p = highest(u.GetPermissions())
		}
		if PermissionRank(p) >= PermissionRank("push") {
			out = append(out, Collaborator{Login: u.GetLogin(), Permission: p})
		}
	}
	sortCollaborators(out)
	return out, nil
}

func sortCollaborators(cs []Collaborator) {
	slices.SortFunc(cs, func(a, b Collaborator) int {
		return strings.Compare(strings.ToLower(a.Login), strings.ToLower(b.Login))
	})
}

// WorkflowRun is one run of a GitHub Actions workflow.
type WorkflowRun struct {
	ID         int64
	Name       string // the workflow's name
	Path       string // its file, ".github/workflows/deploy.yml"
	Event      string // what triggered it: push, schedule, workflow_dispatch, ...
	HeadBranch string
	Status     string // queued, in_progress, completed, ...
	Conclusion string // success, failure, cancelled, ... once completed
	URL        string
	CreatedAt  time.Time
}

// workflowRun is go-github's run with the field v60 does not decode.
type workflowRun struct {
	github.WorkflowRun
	Path string `json:"path"`
}

// WorkflowRuns lists the runs of owner/repo newest first, keeping those of
// the workflow named name (its name or its file's path, compared without
// regard to case; any workflow when empty) on branch (any when empty), at
// most keep of them (all when keep <= 0). It reads at most limit runs
// (DefaultMax when limit <= 0); GitHub's listing is newest first, so a
// bounded read sees the most recent ones. 403 is an error wrapping
// ErrForbidden.
func WorkflowRuns(ctx context.Context, c *github.Client, owner, repo, name, branch string, keep, limit int) ([]WorkflowRun, error) {
	list := func(lo *github.ListOptions) ([]workflowRun, *github.Response, error) {
		q := url.Values{}
		if branch != "" {
			q.Set("branch", branch)
		}
		q.Set("per_page", strconv.Itoa(lo.PerPage))
		q.Set("page", strconv.Itoa(max(lo.Page, 1)))
		req, err := c.NewRequest(http.MethodGet, fmt.Sprintf("repos/%s/%s/actions/runs?%s", owner, repo, q.Encode()), nil)
		if err != nil {
			return nil, nil, err
		}
		var out struct {
			WorkflowRuns []workflowRun `json:"workflow_runs"`
		}
		resp, err := c.Do(ctx, req, &out)
		return out.WorkflowRuns, resp, err
	}
	var out []WorkflowRun
	for r, err := range Items(ctx, list, limit) {
		if err != nil {
			if errors.Is(err, ErrTruncated) {
				return out, nil // the newest runs were read
			}
			if isStatus(err, http.StatusForbidden) {
				return out, fmt.Errorf("list workflow runs of %s/%s: %w: %w", owner, repo, ErrForbidden, err)
			}
			return out, fmt.Errorf("list workflow runs of %s/%s: %w", owner, repo, err)
		}
		if name != "" && !strings.EqualFold(r.GetName(), name) && !strings.EqualFold(r.Path, name) {
			continue
		}
		out = append(out, WorkflowRun{ID: r.GetID(), Name: r.GetName(), Path: r.Path, Event: r.GetEvent(),
			HeadBranch: r.GetHeadBranch(), Status: r.GetStatus(), Conclusion: r.GetConclusion(), URL: r.GetHTMLURL(),
			CreatedAt: r.GetCreatedAt().Time})
		if keep > 0 && len(out) == keep {
			break
		}
	}
	return out, nil
}

// CodeownersError is a line of CODEOWNERS GitHub cannot use.
type CodeownersError struct {
	Line, Column int
	Kind         string // "Unknown owner", "Invalid pattern", ...
	Source       string // the line
	Suggestion   string
	Message      string
	Path         string
}

// CodeownersErrors returns the errors GitHub finds in the CODEOWNERS file
// of ref (a branch, tag or commit; empty: the default branch), as GitHub
// reads it: unknown owners, owners without write access, bad patterns.
// found is false when GitHub answers 404 (no CODEOWNERS file at ref).
func CodeownersErrors(ctx context.Context, c *github.Client, owner, repo, ref string) (errs []CodeownersError, found bool, err error) {
	var opt *github.GetCodeownersErrorsOptions
	if ref != "" {
		opt = &github.GetCodeownersErrorsOptions{Ref: ref}
	}
	res, _, err := c.Repositories.GetCodeownersErrors(ctx, owner, repo, opt)
	if err != nil {
		if isStatus(err, http.StatusNotFound) {
			return nil, false, nil
		}
		return nil, false, refused(fmt.Errorf("read CODEOWNERS errors of %s/%s@%s: %w", owner, repo, ref, err))
	}
	for _, e := range res.Errors {
		out := CodeownersError{Line: e.Line, Column: e.Column, Kind: e.Kind, Source: e.Source, Message: e.Message, Path: e.Path}
		if e.Suggestion != nil {
			out.Suggestion = *e.Suggestion
		}
		errs = append(errs, out)
	}
	return errs, true, nil
}

// Issue is an issue as the feature shells use it.
type Issue struct {
	Number    int
	Title     string
	URL       string
	State     string // open or closed
	Author    string
	Labels    []string
	CreatedAt time.Time
	ClosedAt  time.Time // zero while open
}

// IssuesLabeled lists the issues (not pull requests) of owner/repo carrying
// every one of labels, in any state, updated since since (zero: all),
// newest first. limit bounds the issues read; a truncated listing returns
// what was read with an error wrapping ErrTruncated.
func IssuesLabeled(ctx context.Context, c *github.Client, owner, repo string, labels []string, since time.Time, limit int) ([]Issue, error) {
	opt := &github.IssueListByRepoOptions{State: "all", Labels: labels, Since: since, Sort: "created", Direction: "desc"}
	list := func(lo *github.ListOptions) ([]*github.Issue, *github.Response, error) {
		opt.ListOptions = *lo
		return c.Issues.ListByRepo(ctx, owner, repo, opt)
	}
	var out []Issue
	for is, err := range Items(ctx, list, limit) {
		if err != nil {
			return out, fmt.Errorf("list issues labelled %s of %s/%s: %w", strings.Join(labels, ","), owner, repo, err)
		}
		if is.IsPullRequest() {
			continue
		}
		i := Issue{Number: is.GetNumber(), Title: is.GetTitle(), URL: is.GetHTMLURL(), State: is.GetState(),
			Author: is.GetUser().GetLogin(), CreatedAt: is.GetCreatedAt().Time, ClosedAt: is.GetClosedAt().Time}
		for _, l := range is.Labels {
			i.Labels = append(i.Labels, l.GetName())
		}
		out = append(out, i)
	}
	return out, nil
}

// maxReviews bounds the reviews read of one pull request.
const maxReviews = 1000

// Approvers returns the logins whose latest review of pull request number
// approves it, sorted: a later "changes requested" or a dismissal takes an
// approval back, a later comment does not.
func Approvers(ctx context.Context, c *github.Client, owner, repo string, number int) ([]string, error) {
	list := func(lo *github.ListOptions) ([]*github.PullRequestReview, *github.Response, error) {
		return c.PullRequests.ListReviews(ctx, owner, repo, number, lo)
	}
	latest := map[string]string{}
	for rv, err := range Items(ctx, list, maxReviews) {
		if err != nil {
			return nil, fmt.Errorf("list reviews of %s/%s#%d: %w", owner, repo, number, err)
		}
		switch st := rv.GetState(); st {
		case "APPROVED", "CHANGES_REQUESTED", "DISMISSED":
			latest[rv.GetUser().GetLogin()] = st
		}
	}
	var out []string
	for login, st := range latest {
		if st == "APPROVED" && login != "" {
			out = append(out, login)
		}
	}
	slices.Sort(out)
	return out, nil
}
