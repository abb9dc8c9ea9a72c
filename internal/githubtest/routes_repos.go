package githubtest

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/google/go-github/v60/github"
)

func (s *Server) getRepo(rc *reqCtx) {
	if r := rc.repo(); r != nil {
		rc.json(200, r.repo)
	}
}

func (s *Server) getBranch(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	sha, ok := r.refs["heads/"+rc.p("branch")]
	if !ok {
		rc.fail(404, "Branch not found")
		return
	}
	rc.json(200, &github.Branch{Name: github.String(rc.p("branch")), Commit: &github.RepositoryCommit{SHA: github.String(sha)}})
}

func (s *Server) getPermission(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	login := rc.p("username")
	perm, ok := r.perms[login]
	if !ok {
		for k, v := range r.perms {
			if strings.EqualFold(k, login) {
				perm, ok = v, true
			}
		}
	}
	if !ok {
		if _, known := s.st.users[strings.ToLower(login)]; !known {
			rc.notFound()
			return
		}
		perm = "none"
	}
	legacy := perm
	switch perm {
	case "maintain":
		legacy = "write"
	case "triage":
		legacy = "read"
	}
	rc.json(200, &github.RepositoryPermissionLevel{Permission: github.String(legacy),
		User: s.st.user(login)})
}

// blobSHA is git's object ID of a blob holding content, as GitHub reports
// it in contents and in the git data API alike.
func blobSHA(content []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(content))
	h.Write(content)
	return hex.EncodeToString(h.Sum(nil))
}

func (s *Server) getContents(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	path := strings.Trim(rc.p("path"), "/")
	tree := r.tree(rc.q("ref"))
	if tree == nil {
		rc.fail(404, "No commit found for the ref "+rc.q("ref"))
		return
	}
	content, ok := tree[path]
	if !ok {
		// A directory listing.
		var entries []*github.RepositoryContent
		for p, c := range tree {
			if rest, ok := strings.CutPrefix(p, path+"/"); ok && !strings.Contains(rest, "/") {
				entries = append(entries, &github.RepositoryContent{Type: github.String("file"), Name: github.String(rest),
					Path: github.String(p), SHA: github.String(blobSHA(c)), Size: github.Int(len(c))})
			}
		}
		if len(entries) == 0 {
			rc.notFound()
			return
		}
		sort.Slice(entries, func(i, j int) bool { return entries[i].GetName() < entries[j].GetName() })
		rc.json(200, entries)
		return
	}
	sha := blobSHA(content)
	etag := `"` + sha + `"`
	rc.w.Header().Set("ETag", etag)
	if inm := rc.r.Header.Get("If-None-Match"); inm != "" && strings.Contains(inm, sha) {
		rc.refund()
		rc.status = http.StatusNotModified
		rc.w.WriteHeader(http.StatusNotModified)
		return
	}
	name := path
	if i := strings.LastIndex(path, "/"); i >= 0 {
		name = path[i+1:]
	}
	rc.json(200, &github.RepositoryContent{Type: github.String("file"), Encoding: github.String("base64"),
		Size: github.Int(len(content)), Name: github.String(name), Path: github.String(path), SHA: github.String(sha),
		Content: github.String(base64.StdEncoding.EncodeToString(content))})
}

func (s *Server) putContents(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	var req github.RepositoryContentFileOptions
	if !rc.decode(&req) {
		return
	}
	path := strings.Trim(rc.p("path"), "/")
	branch := req.GetBranch()
	if branch == "" {
		branch = r.repo.GetDefaultBranch()
	}
	if _, ok := r.refs["heads/"+branch]; !ok {
		rc.fail(404, "Branch "+branch+" not found")
		return
	}
	old, exists := r.tree(branch)[path]
	if exists && req.GetSHA() != blobSHA(old) {
		rc.fail(409, fmt.Sprintf("%s does not match %s", path, req.GetSHA()))
		return
	}
	if !exists && req.SHA != nil {
		rc.fail(409, fmt.Sprintf("%s does not exist; sha must be omitted", path))
		return
	}
	commit := r.commit(branch, path, req.Content, true)
	status := 201
	if exists {
		status = 200
	}
	rc.json(status, &github.RepositoryContentResponse{
		Content: &github.RepositoryContent{Path: github.String(path), SHA: github.String(blobSHA(req.Content))},
		Commit:  github.Commit{SHA: github.String(commit), Message: req.Message}})
}
