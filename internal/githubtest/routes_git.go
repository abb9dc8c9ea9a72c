package githubtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
)

func (s *Server) refView(r *repoState, ref string) *github.Reference {
	return &github.Reference{Ref: github.String("refs/" + ref),
		URL: github.String(fmt.Sprintf("%srepos/%s/git/refs/%s", s.URL(), r.repo.GetFullName(), ref)),
		Object: &github.GitObject{Type: github.String("commit"), SHA: github.String(r.refs[ref]),
			URL: github.String(fmt.Sprintf("%srepos/%s/git/commits/%s", s.URL(), r.repo.GetFullName(), r.refs[ref]))}}
}

func (s *Server) getRef(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	ref := strings.TrimPrefix(rc.p("ref"), "refs/")
	if _, ok := r.refs[ref]; !ok {
		rc.notFound()
		return
	}
	rc.json(200, s.refView(r, ref))
}

func (s *Server) createRef(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	var req struct {
		Ref string `json:"ref"`
		SHA string `json:"sha"`
	}
	if !rc.decode(&req) {
		return
	}
	ref, ok := strings.CutPrefix(req.Ref, "refs/")
	if !ok || strings.Count(req.Ref, "/") < 2 {
		rc.fail(422, "Reference name must start with 'refs/' and have at least two slashes.")
		return
	}
	if _, exists := r.refs[ref]; exists {
		rc.fail(422, "Reference already exists")
		return
	}
	if _, ok := r.trees[req.SHA]; !ok {
		rc.fail(422, "Object does not exist")
		return
	}
	r.refs[ref] = req.SHA
	rc.json(201, s.refView(r, ref))
}

func (s *Server) updateRef(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	var req struct {
		SHA   string `json:"sha"`
		Force bool   `json:"force"`
	}
	if !rc.decode(&req) {
		return
	}
	ref := strings.TrimPrefix(rc.p("ref"), "refs/")
	old, ok := r.refs[ref]
	if !ok {
		rc.fail(422, "Reference does not exist")
		return
	}
	if _, ok := r.trees[req.SHA]; !ok {
		rc.fail(422, "Object does not exist")
		return
	}
	if !req.Force && !r.descends(req.SHA, old) {
		rc.fail(422, "Update is not a fast forward")
		return
	}
	r.refs[ref] = req.SHA
	// Open pull requests from the branch follow it, as on GitHub.
	if branch, ok := strings.CutPrefix(ref, "heads/"); ok {
		for _, pr := range r.pulls {
			if r.issues[pr.GetNumber()].GetState() == "open" && pr.GetHead().GetRef() == branch && pr.GetHead().GetSHA() == old {
				pr.Head.SHA = github.String(req.SHA)
			}
		}
	}
	rc.json(200, s.refView(r, ref))
}

// gitCommit is a commit as the git data API shows it.
type gitCommit struct {
	tree    string
	parents []string
	message string
	author  string // login
	date    time.Time
}

// addCommit records commit sha holding files, with its parents.
func (r *repoState) addCommit(sha string, files map[string][]byte, parents []string, message, author string, date time.Time) {
	r.trees[sha] = files
	tree := treeSHA(files)
	r.gitTrees[tree] = files
	r.commits[sha] = &gitCommit{tree: tree, parents: parents, message: message, author: author, date: date}
}

// treeSHA is the fake's object ID of a tree holding files: a function of
// the paths and their blobs, so that equal trees have equal IDs, as in git.
func treeSHA(files map[string][]byte) string {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	parts := []string{"tree"}
	for _, p := range paths {
		parts = append(parts, p, blobSHA(files[p]))
	}
	return fakeSHA(parts...)
}

// treeOf resolves what GET /git/trees/{tree_sha} accepts: a tree ID, a
// commit ID, or a branch or tag name.
func (r *repoState) treeOf(ref string) (string, map[string][]byte, bool) {
	if files, ok := r.gitTrees[ref]; ok {
		return ref, files, true
	}
	if c, ok := r.commits[ref]; ok {
		return c.tree, r.gitTrees[c.tree], true
	}
	for _, k := range []string{"heads/" + ref, "tags/" + ref} {
		if c, ok := r.commits[r.refs[k]]; ok {
			return c.tree, r.gitTrees[c.tree], true
		}
	}
	return "", nil, false
}

func (s *Server) createBlob(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	var req struct {
		Content  string `json:"content"`
		Encoding string `json:"encoding"`
	}
	if !rc.decode(&req) {
		return
	}
	content := []byte(req.Content)
	switch req.Encoding {
	case "", "utf-8":
	case "base64":
		var err error
		if content, err = base64.StdEncoding.DecodeString(req.Content); err != nil {
			rc.fail(422, "content is not valid Base64")
			return
		}
	default:
		rc.fail(422, "encoding must be utf-8 or base64")
		return
	}
	sha := blobSHA(content)
	r.blobs[sha] = content
	rc.json(201, map[string]string{"sha": sha, "url": fmt.Sprintf("%srepos/%s/git/blobs/%s", s.URL(), r.repo.GetFullName(), sha)})
}

// treeView answers a tree as GitHub does: with recursive, every blob and
// the directories above them; otherwise the top level only.
func (s *Server) treeView(r *repoState, sha string, files map[string][]byte, recursive bool) map[string]any {
	type entry = map[string]any
	var out []entry
	dirs := map[string]bool{}
	for p, c := range files {
		segs := strings.Split(p, "/")
		for i := 1; i < len(segs); i++ {
			dir := strings.Join(segs[:i], "/")
			if !dirs[dir] && (recursive || i == 1) {
				dirs[dir] = true
				out = append(out, entry{"path": dir, "mode": "040000", "type": "tree", "sha": fakeSHA("dir", sha, dir),
					"url": fmt.Sprintf("%srepos/%s/git/trees/%s", s.URL(), r.repo.GetFullName(), fakeSHA("dir", sha, dir))})
			}
		}
		if !recursive && len(segs) > 1 {
			continue
		}
		b := blobSHA(c)
		out = append(out, entry{"path": p, "mode": "100644", "type": "blob", "sha": b, "size": len(c),
			"url": fmt.Sprintf("%srepos/%s/git/blobs/%s", s.URL(), r.repo.GetFullName(), b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i]["path"].(string) < out[j]["path"].(string) })
	return map[string]any{"sha": sha, "url": fmt.Sprintf("%srepos/%s/git/trees/%s", s.URL(), r.repo.GetFullName(), sha),
		"tree": nonNil(out), "truncated": false}
}

func (s *Server) getTree(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	sha, files, ok := r.treeOf(rc.p("tree_sha"))
	if !ok {
		rc.notFound()
		return
	}
	_, recursive := rc.r.URL.Query()["recursive"]
	rc.json(200, s.treeView(r, sha, files, recursive))
}

// createTree supports blob entries given by sha or content, and deletions
// (sha null), on top of base_tree.
func (s *Server) createTree(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	var req struct {
		BaseTree string `json:"base_tree"`
		Tree     []struct {
			Path    string          `json:"path"`
			Mode    string          `json:"mode"`
			Type    string          `json:"type"`
			SHA     json.RawMessage `json:"sha"`
			Content *string         `json:"content"`
		} `json:"tree"`
	}
	if !rc.decode(&req) {
		return
	}
	files := map[string][]byte{}
	if req.BaseTree != "" {
		base, ok := r.gitTrees[req.BaseTree]
		if !ok {
			rc.fail(422, "base_tree is not a valid tree oid")
			return
		}
		for p, c := range base {
			files[p] = c
		}
	}
	for _, e := range req.Tree {
		if e.Type != "blob" && e.Type != "" {
			rc.fail(422, "githubtest: only blob entries are supported, not "+e.Type)
			return
		}
		switch {
		case e.Content != nil && len(e.SHA) > 0 && string(e.SHA) != "null":
			rc.fail(422, "tree.sha and content cannot both be given")
			return
		case e.Content != nil:
			files[e.Path] = []byte(*e.Content)
		case string(e.SHA) == "null":
			delete(files, e.Path)
		default:
			var sha string
			if err := json.Unmarshal(e.SHA, &sha); err != nil {
				rc.fail(422, "tree.sha must be a string or null")
				return
			}
			c, ok := r.blobs[sha]
			if !ok {
				rc.fail(422, "tree.sha "+sha+" is not a valid blob")
				return
			}
			files[e.Path] = c
		}
	}
	sha := treeSHA(files)
	r.gitTrees[sha] = files
	rc.json(201, s.treeView(r, sha, files, true))
}

func (s *Server) commitView(r *repoState, sha string, c *gitCommit) map[string]any {
	full := r.repo.GetFullName()
	person := map[string]any{"name": c.author, "email": c.author + "@users.noreply.github.com", "date": c.date.UTC().Format(time.RFC3339)}
	parents := []map[string]string{}
	for _, p := range c.parents {
		parents = append(parents, map[string]string{"sha": p, "url": fmt.Sprintf("%srepos/%s/git/commits/%s", s.URL(), full, p),
			"html_url": fmt.Sprintf("https://github.com/%s/commit/%s", full, p)})
	}
	return map[string]any{"sha": sha, "node_id": "C_" + sha[:12], "url": fmt.Sprintf("%srepos/%s/git/commits/%s", s.URL(), full, sha),
		"html_url": fmt.Sprintf("https://github.com/%s/commit/%s", full, sha), "author": person, "committer": person,
		"tree":    map[string]string{"sha": c.tree, "url": fmt.Sprintf("%srepos/%s/git/trees/%s", s.URL(), full, c.tree)},
		"message": c.message, "parents": parents,
		"verification": map[string]any{"verified": false, "reason": "unsigned", "signature": nil, "payload": nil, "verified_at": nil}}
}

func (s *Server) createCommit(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	var req struct {
		Message string   `json:"message"`
		Tree    string   `json:"tree"`
		Parents []string `json:"parents"`
	}
	if !rc.decode(&req) {
		return
	}
	files, ok := r.gitTrees[req.Tree]
	if !ok {
		rc.fail(422, "Tree SHA does not exist")
		return
	}
	for _, p := range req.Parents {
		if _, ok := r.commits[p]; !ok {
			rc.fail(422, "Parent SHA does not exist or is not a commit object")
			return
		}
	}
	// The time and a sequence number make each commit new, as the
	// committer's timestamp does in git.
	sha := fakeSHA(append([]string{"commit", req.Tree, req.Message, s.now().String(), fmt.Sprint(s.st.nextID())}, req.Parents...)...)
	r.addCommit(sha, files, req.Parents, req.Message, rc.who.login, s.now())
	rc.json(201, s.commitView(r, sha, r.commits[sha]))
}

func (s *Server) getCommit(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	c, ok := r.commits[rc.p("commit_sha")]
	if !ok {
		rc.notFound()
		return
	}
	rc.json(200, s.commitView(r, rc.p("commit_sha"), c))
}

// descends reports whether commit sha has ancestor among its ancestors (or
// is it).
func (r *repoState) descends(sha, ancestor string) bool {
	seen := map[string]bool{}
	todo := []string{sha}
	for len(todo) > 0 {
		c := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if c == ancestor {
			return true
		}
		if seen[c] {
			continue
		}
		seen[c] = true
		if gc := r.commits[c]; gc != nil {
			todo = append(todo, gc.parents...)
		}
	}
	return false
}
