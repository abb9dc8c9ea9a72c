package githubtest

import (
	"fmt"
	"strings"

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
	if _, ok := r.refs[ref]; !ok {
		rc.fail(422, "Reference does not exist")
		return
	}
	if _, ok := r.trees[req.SHA]; !ok {
		rc.fail(422, "Object does not exist")
		return
	}
	r.refs[ref] = req.SHA
	rc.json(200, s.refView(r, ref))
}
