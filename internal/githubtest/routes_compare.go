package githubtest

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// compareCommits answers GET /repos/{owner}/{repo}/compare/{basehead} from
// the fake's commit graph (commits made by PutFile, the contents API and
// the git data API): the commits reachable from head and not from base,
// oldest first, as GitHub lists them. Without page or per_page it lists at
// most 250 commits; with them it pages by per_page (at most 100) with a
// Link header. Files are not listed.
func (s *Server) compareCommits(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	baseRef, headRef, ok := strings.Cut(rc.p("basehead"), "...")
	if !ok {
		rc.notFound()
		return
	}
	base, head := r.resolveCommit(baseRef), r.resolveCommit(headRef)
	if base == "" || head == "" {
		rc.notFound()
		return
	}
	fromBase := r.ancestors(base)
	fromHead := r.ancestors(head)
	mergeBase := ""
	for _, sha := range r.order(head, nil) { // newest first
		if fromBase[sha] {
			mergeBase = sha
			break
		}
	}
	ahead := r.order(head, fromBase) // newest first
	for i, j := 0, len(ahead)-1; i < j; i, j = i+1, j-1 {
		ahead[i], ahead[j] = ahead[j], ahead[i]
	}
	behind := 0
	for sha := range fromBase {
		if !fromHead[sha] {
			behind++
		}
	}
	status := "identical"
	switch {
	case len(ahead) > 0 && behind > 0:
		status = "diverged"
	case len(ahead) > 0:
		status = "ahead"
	case behind > 0:
		status = "behind"
	}

	listed := ahead
	q := rc.r.URL.Query()
	if q.Has("page") || q.Has("per_page") {
		per, _ := strconv.Atoi(q.Get("per_page"))
		if per <= 0 {
			per = 30
		}
		per = min(per, 100)
		pg, _ := strconv.Atoi(q.Get("page"))
		pg = max(pg, 1)
		start, end := min((pg-1)*per, len(ahead)), min(pg*per, len(ahead))
		listed = ahead[start:end]
		if end < len(ahead) {
			u := *rc.r.URL
			q.Set("page", strconv.Itoa(pg+1))
			q.Set("per_page", strconv.Itoa(per))
			u.RawQuery = q.Encode()
			rc.w.Header().Set("Link", fmt.Sprintf(`<%s%s>; rel="next"`, s.ts.URL, u.RequestURI()))
		}
	} else if len(listed) > 250 {
		listed = listed[:250]
	}
	commits := make([]map[string]any, 0, len(listed))
	for _, sha := range listed {
		commits = append(commits, s.restCommitView(r, sha))
	}
	full := r.repo.GetFullName()
	bh := baseRef + "..." + headRef
	out := map[string]any{
		"url":           fmt.Sprintf("%srepos/%s/compare/%s", s.URL(), full, bh),
		"html_url":      fmt.Sprintf("https://github.com/%s/compare/%s", full, bh),
		"permalink_url": fmt.Sprintf("https://github.com/%s/compare/%s...%s", full, base, head),
		"diff_url":      fmt.Sprintf("https://github.com/%s/compare/%s.diff", full, bh),
		"patch_url":     fmt.Sprintf("https://github.com/%s/compare/%s.patch", full, bh),
		"base_commit":   s.restCommitView(r, base),
		"status":        status, "ahead_by": len(ahead), "behind_by": behind, "total_commits": len(ahead),
		"commits": commits, "files": []any{},
	}
	if mergeBase != "" {
		out["merge_base_commit"] = s.restCommitView(r, mergeBase)
	} else {
		out["merge_base_commit"] = s.restCommitView(r, base)
	}
	rc.json(http.StatusOK, out)
}

// resolveCommit turns a branch name or a commit SHA of r into the SHA, or
// "" if r has neither.
func (r *repoState) resolveCommit(ref string) string {
	if sha, ok := r.refs["heads/"+ref]; ok {
		return sha
	}
	if _, ok := r.commits[ref]; ok {
		return ref
	}
	return ""
}

// ancestors returns sha and every commit reachable from it.
func (r *repoState) ancestors(sha string) map[string]bool {
	seen := map[string]bool{}
	stack := []string{sha}
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[c] {
			continue
		}
		seen[c] = true
		if gc := r.commits[c]; gc != nil {
			stack = append(stack, gc.parents...)
		}
	}
	return seen
}

// order lists sha and its ancestors outside stop, newest first: each commit
// before its parents (a topological order, ties broken by date).
func (r *repoState) order(sha string, stop map[string]bool) []string {
	children := map[string]int{} // commits in the walk naming each as parent
	in := r.ancestors(sha)
	for c := range in {
		if gc := r.commits[c]; gc != nil && !stop[c] {
			for _, p := range gc.parents {
				children[p]++
			}
		}
	}
	var out []string
	ready := []string{sha}
	for len(ready) > 0 {
		// Newest ready commit first.
		best := 0
		for i, c := range ready {
			if r.commitDate(c).After(r.commitDate(ready[best])) {
				best = i
			}
		}
		c := ready[best]
		ready = append(ready[:best], ready[best+1:]...)
		if stop[c] {
			continue
		}
		out = append(out, c)
		if gc := r.commits[c]; gc != nil {
			for _, p := range gc.parents {
				if children[p]--; children[p] == 0 {
					ready = append(ready, p)
				}
			}
		}
	}
	return out
}

func (r *repoState) commitDate(sha string) time.Time {
	if gc := r.commits[sha]; gc != nil {
		return gc.date
	}
	return time.Time{}
}

// restCommitView is a commit as the REST API's commits and compare
// endpoints show it (the "commit" schema).
func (s *Server) restCommitView(r *repoState, sha string) map[string]any {
	full := r.repo.GetFullName()
	gc := r.commits[sha]
	if gc == nil {
		gc = &gitCommit{}
	}
	api := fmt.Sprintf("%srepos/%s/commits/%s", s.URL(), full, sha)
	parents := []map[string]string{}
	for _, p := range gc.parents {
		parents = append(parents, map[string]string{"sha": p, "url": fmt.Sprintf("%srepos/%s/commits/%s", s.URL(), full, p),
			"html_url": fmt.Sprintf("https://github.com/%s/commit/%s", full, p)})
	}
	person := map[string]any{"name": gc.author, "email": gc.author + "@users.noreply.github.com", "date": gc.date.UTC().Format(time.RFC3339)}
	var user any
	if gc.author != "" {
		u := s.st.user(gc.author)
		user = map[string]any{"login": u.GetLogin(), "id": u.GetID(), "type": u.GetType(), "html_url": u.GetHTMLURL()}
	}
	return map[string]any{
		"sha": sha, "node_id": "C_" + sha[:min(12, len(sha))], "url": api,
		"html_url":     fmt.Sprintf("https://github.com/%s/commit/%s", full, sha),
		"comments_url": api + "/comments",
		"commit": map[string]any{
			"url": fmt.Sprintf("%srepos/%s/git/commits/%s", s.URL(), full, sha), "author": person, "committer": person,
			"message": gc.message, "comment_count": 0,
			"tree": map[string]string{"sha": gc.tree, "url": fmt.Sprintf("%srepos/%s/git/trees/%s", s.URL(), full, gc.tree)},
		},
		"author": user, "committer": user, "parents": parents,
	}
}
