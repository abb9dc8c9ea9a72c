package githubtest

import (
	"github.com/google/go-github/v60/github"
)

func (s *Server) listDeployments(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	var out []*github.Deployment
	for i := len(r.deployments) - 1; i >= 0; i-- {
		d := r.deployments[i]
		if e := rc.q("environment"); e != "" && d.GetEnvironment() != e {
			continue
		}
		if v := rc.q("sha"); v != "" && d.GetSHA() != v {
			continue
		}
		if v := rc.q("ref"); v != "" && d.GetRef() != v {
			continue
		}
		out = append(out, d)
	}
	page(rc, out)
}

func (s *Server) createDeployment(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	var req github.DeploymentRequest
	if !rc.decode(&req) {
		return
	}
	sha := req.GetRef()
	if v, ok := r.refs["heads/"+req.GetRef()]; ok {
		sha = v
	}
	env := req.GetEnvironment()
	if env == "" {
		env = "production"
	}
	d := &github.Deployment{ID: github.Int64(s.st.nextID()), Ref: req.Ref, SHA: github.String(sha), Task: github.String("deploy"),
		Environment: github.String(env), Description: req.Description, Creator: rc.me(), CreatedAt: ts(s.now()), UpdatedAt: ts(s.now())}
	r.deployments = append(r.deployments, d)
	rc.json(201, d)
}

func (rc *reqCtx) deployment(r *repoState) *github.Deployment {
	id := rc.pInt64("deployment_id")
	for _, d := range r.deployments {
		if d.GetID() == id {
			return d
		}
	}
	rc.notFound()
	return nil
}

func (s *Server) listDeploymentStatuses(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	d := rc.deployment(r)
	if d == nil {
		return
	}
	st := r.depStatuses[d.GetID()]
	out := make([]*github.DeploymentStatus, 0, len(st))
	for i := len(st) - 1; i >= 0; i-- {
		out = append(out, st[i])
	}
	page(rc, out)
}

func (s *Server) createDeploymentStatus(rc *reqCtx) {
	r := rc.repo()
	if r == nil {
		return
	}
	d := rc.deployment(r)
	if d == nil {
		return
	}
	var req github.DeploymentStatusRequest
	if !rc.decode(&req) {
		return
	}
	ds := &github.DeploymentStatus{ID: github.Int64(s.st.nextID()), State: req.State, Description: req.Description,
		Environment: d.Environment, LogURL: req.LogURL, EnvironmentURL: req.EnvironmentURL, Creator: rc.me(),
		CreatedAt: ts(s.now()), UpdatedAt: ts(s.now())}
	r.depStatuses[d.GetID()] = append(r.depStatuses[d.GetID()], ds)
	rc.json(201, ds)
}
