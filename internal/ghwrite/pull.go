package ghwrite

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/ghread"
	"github.com/tasuki-sre/tasuki/internal/intent"
	"github.com/tasuki-sre/tasuki/internal/marker"
)

// PullRequest is intent.PullRequest: a change tasuki proposes, files
// committed on a branch of the repository itself (never a fork) and a pull
// request from it.
type PullRequest = intent.PullRequest

// FileChange is intent.FileChange: the content of one file, or its
// deletion.
type FileChange = intent.FileChange

// OpenPullRequest makes tasuki's pull request carrying p.Marker propose
// p.Files. It looks for the PR first (the remembered number, then the open
// PRs from p.Head, then the search API), trusting only PRs a trusted login
// opened; if one is open, it commits on top of its head whatever of p.Files
// the branch does not already hold (nothing when it holds them all) and
// brings its title and body up to date, keeping its branches. Otherwise it
// commits p.Files on p.Base through the git data API (blobs, tree, commit),
// points p.Head at the commit (moving a branch left over from an earlier
// attempt or a closed PR) and opens the PR. It returns the PR and whether
// it opened it; nil, false when no PR is open and the base branch already
// holds the files, as there is nothing to propose. The whole runs under the
// lock of the repository and the marker.
//
// It fails if an open PR from p.Head is someone else's: tasuki does not
// commit to a branch a person's PR is built on.
func (w *Writer) OpenPullRequest(ctx context.Context, owner, repo string, p PullRequest) (*github.PullRequest, bool, error) {
	if err := p.Validate(); err != nil {
		return nil, false, fmt.Errorf("open pull request %s in %s/%s: %w", p.Marker.Kind, owner, repo, err)
	}
	pr, created, err := locked(ctx, w, pullLockKey(owner, repo, p.Marker), func(ctx context.Context) (*github.PullRequest, bool, error) {
		return w.openPullRequest(ctx, owner, repo, p)
	})
	if err != nil {
		return nil, false, fmt.Errorf("open pull request %s key=%s in %s/%s: %w", p.Marker.Kind, p.Marker.Key, owner, repo, err)
	}
	return pr, created, nil
}

// FindPullRequest returns tasuki's open pull request carrying m, or nil,
// looking as OpenPullRequest does (head may be empty to skip the listing).
func (w *Writer) FindPullRequest(ctx context.Context, owner, repo string, m marker.Marker, head string) (*github.PullRequest, error) {
	pr, _, err := w.existingPull(ctx, owner, repo, m, head)
	if err != nil {
		return nil, fmt.Errorf("find pull request %s key=%s in %s/%s: %w", m.Kind, m.Key, owner, repo, err)
	}
	return pr, nil
}

func pullMemoKey(owner, repo string, m marker.Marker) string {
	return fmt.Sprintf("pull:%s/%s:%s:%s", owner, repo, m.Kind, m.Key)
}

// ourPull reports whether pr is tasuki's open PR carrying m, from a branch
// of the repository itself.
func (w *Writer) ourPull(pr *github.PullRequest, m marker.Marker) bool {
	return pr != nil && pr.GetState() == "open" && w.id.Trusts(pr.GetUser()) && m.In(pr.GetBody()) &&
		pr.GetHead().GetRepo().GetID() == pr.GetBase().GetRepo().GetID()
}

// existingPull finds tasuki's open PR carrying m. foreign is an open PR
// from head that is not tasuki's.
func (w *Writer) existingPull(ctx context.Context, owner, repo string, m marker.Marker, head string) (pr, foreign *github.PullRequest, err error) {
	pr, err = remembered(ctx, w, pullMemoKey(owner, repo, m), func(pr *github.PullRequest) int64 { return int64(pr.GetNumber()) },
		func(n int64) (*github.PullRequest, error) {
			pr, _, err := w.c.PullRequests.Get(ctx, owner, repo, int(n))
			return pr, err
		},
		func(pr *github.PullRequest) bool { return w.ourPull(pr, m) },
		func() (*github.PullRequest, error) {
			var found *github.PullRequest
			found, foreign, err = w.findPull(ctx, owner, repo, m, head)
			return found, err
		})
	if pr != nil {
		foreign = nil
	}
	return pr, foreign, err
}

// maxHeadPulls bounds the open pull requests read from one head branch.
const maxHeadPulls = 1000

func (w *Writer) findPull(ctx context.Context, owner, repo string, m marker.Marker, head string) (pr, foreign *github.PullRequest, err error) {
	if head != "" {
		// One branch has at most a few open PRs; more than maxHeadPulls
		// fails rather than open another.
		opts := &github.PullRequestListOptions{State: "open", Head: owner + ":" + head}
		list := func(lo *github.ListOptions) ([]*github.PullRequest, *github.Response, error) {
			opts.ListOptions = *lo
			return w.c.PullRequests.List(ctx, owner, repo, opts)
		}
		for pr, err := range ghread.Items(ctx, list, maxHeadPulls) {
			if err != nil {
				return nil, nil, err
			}
			if w.ourPull(pr, m) {
				return pr, nil, nil
			}
			if pr.GetHead().GetRef() == head && foreign == nil {
				foreign = pr
			}
		}
	}
	// The PR may come from another branch (one an older tasuki named
	// differently). Search is eventually consistent: a PR opened seconds
	// ago may be missing, which the listing above covers.
	q := fmt.Sprintf(`repo:%s/%s is:pr is:open in:body "%s"`, owner, repo, searchPhrase(m))
	res, _, err := w.c.Search.Issues(ctx, q, &github.SearchOptions{Sort: "created", Order: "desc", ListOptions: github.ListOptions{PerPage: 100}})
	if err != nil {
		return nil, nil, err
	}
	for _, is := range res.Issues {
		if !is.IsPullRequest() || !w.id.Trusts(is.GetUser()) || !m.In(is.GetBody()) {
			continue
		}
		pr, _, err := w.c.PullRequests.Get(ctx, owner, repo, is.GetNumber())
		if err != nil {
			return nil, nil, err
		}
		if w.ourPull(pr, m) {
			return pr, nil, nil
		}
	}
	return nil, foreign, nil
}

func (w *Writer) openPullRequest(ctx context.Context, owner, repo string, p PullRequest) (*github.PullRequest, bool, error) {
	body := withMarker(p.Body, p.Marker)
	message := p.Message
	if message == "" {
		message = p.Title
	}
	existing, foreign, err := w.existingPull(ctx, owner, repo, p.Marker, p.Head)
	if err != nil {
		return nil, false, err
	}
	if existing != nil {
		return w.updatePull(ctx, owner, repo, existing, p, body, message)
	}
	if foreign != nil {
		return nil, false, fmt.Errorf("branch %s is the head of #%d by %s, not tasuki's: not committing to it", p.Head, foreign.GetNumber(), foreign.GetUser().GetLogin())
	}

	base := p.Base
	if base == "" {
		r, _, err := w.c.Repositories.Get(ctx, owner, repo)
		if err != nil {
			return nil, false, err
		}
		base = r.GetDefaultBranch()
	}
	ref, _, err := w.c.Git.GetRef(ctx, owner, repo, "heads/"+base)
	if err != nil {
		return nil, false, fmt.Errorf("base branch %s: %w", base, err)
	}
	sha, err := w.commitFiles(ctx, owner, repo, ref.GetObject().GetSHA(), p.Files, message)
	if err != nil || sha == "" {
		return nil, false, err
	}
	// A branch of that name may be left over from an attempt that failed
	// before opening the PR, or from a closed PR: no open PR is built on
	// it (checked above), so it is moved to the new commit.
	head := &github.Reference{Ref: github.String("refs/heads/" + p.Head), Object: &github.GitObject{SHA: github.String(sha)}}
	if _, _, err := w.c.Git.CreateRef(ctx, owner, repo, head); err != nil {
		if !isStatus(err, http.StatusUnprocessableEntity) {
			return nil, false, fmt.Errorf("create branch %s: %w", p.Head, err)
		}
		if _, _, err := w.c.Git.UpdateRef(ctx, owner, repo, head, true); err != nil {
			return nil, false, fmt.Errorf("move branch %s: %w", p.Head, err)
		}
	}
	pr, _, err := w.c.PullRequests.Create(ctx, owner, repo, &github.NewPullRequest{Title: github.String(p.Title), Head: github.String(p.Head),
		Base: github.String(base), Body: github.String(body), Draft: github.Bool(p.Draft)})
	if isStatus(err, http.StatusUnprocessableEntity) {
		// "A pull request already exists": a writer that does not share
		// this lock (another replica without WithLocker) got there first.
		if found, _, ferr := w.findPull(ctx, owner, repo, p.Marker, p.Head); ferr == nil && found != nil {
			return found, false, nil
		}
	}
	if err != nil {
		return nil, false, err
	}
	w.memoPut(ctx, pullMemoKey(owner, repo, p.Marker), strconv.Itoa(pr.GetNumber()))
	w.log.InfoContext(ctx, "pull request opened", "repo", owner+"/"+repo, "pr", pr.GetNumber(), "marker", p.Marker.Kind)
	return pr, true, nil
}

// updatePull commits on top of pr's head whatever of p.Files its branch
// lacks, and brings its title and body up to date.
func (w *Writer) updatePull(ctx context.Context, owner, repo string, pr *github.PullRequest, p PullRequest, body, message string) (*github.PullRequest, bool, error) {
	head := pr.GetHead()
	sha, err := w.commitFiles(ctx, owner, repo, head.GetSHA(), p.Files, message)
	if err != nil {
		return nil, false, err
	}
	if sha != "" {
		// Not forced: a commit someone pushed meanwhile is kept, and this
		// attempt fails to be retried on top of it.
		ref := &github.Reference{Ref: github.String("refs/heads/" + head.GetRef()), Object: &github.GitObject{SHA: github.String(sha)}}
		if _, _, err := w.c.Git.UpdateRef(ctx, owner, repo, ref, false); err != nil {
			return nil, false, fmt.Errorf("update branch %s: %w", head.GetRef(), err)
		}
		w.log.InfoContext(ctx, "pull request updated", "repo", owner+"/"+repo, "pr", pr.GetNumber(), "marker", p.Marker.Kind)
	}
	if pr.GetTitle() != p.Title || pr.GetBody() != body {
		edited, _, err := w.c.PullRequests.Edit(ctx, owner, repo, pr.GetNumber(), &github.PullRequest{Title: github.String(p.Title), Body: github.String(body)})
		if err != nil {
			return nil, false, err
		}
		pr = edited
	} else if sha != "" {
		pr.Head.SHA = github.String(sha)
	}
	return pr, false, nil
}

// commitFiles makes a commit on parent that applies files, and returns its
// SHA, or "" when parent already holds them. Only changed files are
// uploaded: their blob IDs are computed here and compared with parent's
// tree, so an unchanged retry writes nothing.
func (w *Writer) commitFiles(ctx context.Context, owner, repo, parent string, files []FileChange, message string) (string, error) {
	pc, _, err := w.c.Git.GetCommit(ctx, owner, repo, parent)
	if err != nil {
		return "", fmt.Errorf("read commit %s: %w", shortSHA(parent), err)
	}
	baseTree := pc.GetTree().GetSHA()
	tree, _, err := w.c.Git.GetTree(ctx, owner, repo, baseTree, true)
	if err != nil {
		return "", fmt.Errorf("read tree %s: %w", shortSHA(baseTree), err)
	}
	type blob struct{ sha, mode string }
	have := map[string]blob{}
	for _, e := range tree.Entries {
		if e.GetType() == "blob" {
			have[e.GetPath()] = blob{e.GetSHA(), e.GetMode()}
		}
	}
	// A truncated listing (a very large repository) cannot tell what is
	// missing: every file is sent, and the tree's ID tells.
	complete := !tree.GetTruncated()
	var entries []*github.TreeEntry
	for _, f := range files {
		old, exists := have[f.Path]
		switch {
		case f.Delete:
			if complete && !exists {
				continue
			}
			// No SHA and no content: go-github sends "sha": null, which
			// deletes the path.
			entries = append(entries, &github.TreeEntry{Path: github.String(f.Path), Mode: github.String("100644"), Type: github.String("blob")})
		default:
			sha := gitBlobSHA(f.Content)
			if complete && exists && old.sha == sha {
				continue
			}
			b, _, err := w.c.Git.CreateBlob(ctx, owner, repo, &github.Blob{Content: github.String(base64.StdEncoding.EncodeToString(f.Content)),
				Encoding: github.String("base64")})
			if err != nil {
				return "", fmt.Errorf("upload %s: %w", f.Path, err)
			}
			mode := "100644"
			if exists && old.mode != "" {
				mode = old.mode // an executable stays one
			}
			entries = append(entries, &github.TreeEntry{Path: github.String(f.Path), Mode: github.String(mode), Type: github.String("blob"), SHA: b.SHA})
		}
	}
	if len(entries) == 0 {
		return "", nil
	}
	nt, _, err := w.c.Git.CreateTree(ctx, owner, repo, baseTree, entries)
	if err != nil {
		return "", fmt.Errorf("create tree: %w", err)
	}
	if nt.GetSHA() == baseTree {
		return "", nil
	}
	c, _, err := w.c.Git.CreateCommit(ctx, owner, repo, &github.Commit{Message: github.String(message), Tree: &github.Tree{SHA: nt.SHA},
		Parents: []*github.Commit{{SHA: github.String(parent)}}}, nil)
	if err != nil {
		return "", fmt.Errorf("create commit: %w", err)
	}
	return c.GetSHA(), nil
}

// gitBlobSHA is git's object ID of a blob holding content.
func gitBlobSHA(content []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(content))
	h.Write(content)
	return hex.EncodeToString(h.Sum(nil))
}
