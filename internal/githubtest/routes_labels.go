package githubtest

import (
	"sort"
	"strings"

	"github.com/google/go-github/v60/github"
)

func (s *Server) setLabels(r *repoState, is *github.Issue, names []string, actor *github.User) {
	want := map[string]bool{}
	for _, n := range names {
		want[strings.ToLower(n)] = true
	}
	var kept []*github.Label
	for _, l := range is.Labels {
		if want[strings.ToLower(l.GetName())] {
			kept = append(kept, l)
			delete(want, strings.ToLower(l.GetName()))
		} else {
			name := l.GetName()
			s.event(r, is.GetNumber(), actor, "unlabeled", func(t *github.Timeline) { t.Label = &github.Label{Name: github.String(name)} })
		}
	}
	is.Labels = kept
	for _, n := range names {
		if want[strings.ToLower(n)] {
			s.addLabel(r, is, n, actor)
		}
	}
}

func (s *Server) addLabel(r *repoState, is *github.Issue, name string, actor *github.User) {
	for _, l := range is.Labels {
		if strings.EqualFold(l.GetName(), name) {
			return
		}
	}
	l := r.ensureLabel(s.st, name)
	is.Labels = append(is.Labels, l)
	s.event(r, is.GetNumber(), actor, "labeled", func(t *github.Timeline) { t.Label = &github.Label{Name: l.Name, Color: l.Color} })
}

func (s *Server) listIssueLabels(rc *reqCtx) {
	if r := rc.repo(); r != nil {
		if is := rc.issue(r); is != nil {
			page(rc, is.Labels)
		}
	}
}

func labelNames(rc *reqCtx) ([]string, bool) {
	var arr []string
	if err := jsonUnmarshal(rc.body, &arr); err == nil {
		return arr, true
	}
	var obj struct {
		Labels []string `json:"labels"`
	}
	if !rc.decode(&obj) {
		return nil, false
	}
	return obj.Labels, true
}

func (s *Server) addIssueLabels(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	is := rc.issue(r)
	if is == nil {
		return
	}
	names, ok := labelNames(rc)
	if !ok {
		return
	}
	for _, n := range names {
		s.addLabel(r, is, n, rc.me())
	}
	rc.json(200, is.Labels)
}

func (s *Server) setIssueLabels(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	is := rc.issue(r)
	if is == nil {
		return
	}
	names, ok := labelNames(rc)
	if !ok {
		return
	}
	s.setLabels(r, is, names, rc.me())
	rc.json(200, is.Labels)
}

func (s *Server) removeIssueLabel(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	is := rc.issue(r)
	if is == nil {
		return
	}
	var kept []string
	found := false
	for _, l := range is.Labels {
		if strings.EqualFold(l.GetName(), rc.p("name")) {
			found = true
			continue
		}
		kept = append(kept, l.GetName())
	}
	if !found {
		rc.fail(404, "Label does not exist")
		return
	}
	s.setLabels(r, is, kept, rc.me())
	rc.json(200, is.Labels)
}

func (s *Server) listLabels(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	var out []*github.Label
	for _, l := range r.labels {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetName() < out[j].GetName() })
	page(rc, out)
}

func (s *Server) createLabel(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	var req github.Label
	if !rc.decode(&req) {
		return
	}
	if _, ok := r.labels[strings.ToLower(req.GetName())]; ok {
		rc.json(422, map[string]any{"message": "Validation Failed", "errors": []map[string]string{{"resource": "Label", "code": "already_exists", "field": "name"}}})
		return
	}
	l := r.ensureLabel(s.st, req.GetName())
	if req.Color != nil {
		l.Color = req.Color
	}
	l.Description = req.Description
	rc.json(201, l)
}

func (s *Server) getLabel(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	l, ok := r.labels[strings.ToLower(rc.p("name"))]
	if !ok {
		rc.notFound()
		return
	}
	rc.json(200, l)
}
