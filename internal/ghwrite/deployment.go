package ghwrite

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/ghread"
)

// Deployment is a production deployment to record on GitHub: the Action's
// record-deployment, for teams whose deploy tool does not tell GitHub.
type Deployment struct {
	SHA         string // the commit deployed
	Ref         string // the branch or tag it was deployed from; SHA when empty
	Environment string // "production" when empty
	Description string
	URL         string // the environment's address, shown on GitHub; optional
}

// maxDeploymentsOfSHA bounds the deployments of one commit and environment
// read to find one already recorded.
const maxDeploymentsOfSHA = 100

// RecordDeployment makes sure GitHub holds a successful deployment of d.SHA
// to d.Environment made by a trusted login: it reuses one that exists (a
// rerun of the same workflow) and otherwise creates the deployment and its
// success status. The deployment is created without GitHub's checks of the
// ref's commit statuses and without merging the default branch in
// (required_contexts empty, auto_merge off): it records what happened, it
// asks for nothing. It returns the deployment and whether it was created.
func (w *Writer) RecordDeployment(ctx context.Context, owner, repo string, d Deployment) (*github.Deployment, bool, error) {
	if d.SHA == "" {
		return nil, false, errors.New("record deployment: no commit SHA")
	}
	if d.Environment == "" {
		d.Environment = "production"
	}
	if d.Ref == "" {
		d.Ref = d.SHA
	}
	key := fmt.Sprintf("deployment:%s/%s:%s:%s", owner, repo, d.Environment, d.SHA)
	dep, created, err := locked(ctx, w, key, func(ctx context.Context) (*github.Deployment, bool, error) {
		return w.recordDeployment(ctx, owner, repo, d)
	})
	if err != nil {
		return nil, false, fmt.Errorf("record deployment of %s to %s in %s/%s: %w", d.SHA, d.Environment, owner, repo, err)
	}
	return dep, created, nil
}

func (w *Writer) recordDeployment(ctx context.Context, owner, repo string, d Deployment) (*github.Deployment, bool, error) {
	opt := &github.DeploymentsListOptions{SHA: d.SHA, Environment: d.Environment}
	list := func(lo *github.ListOptions) ([]*github.Deployment, *github.Response, error) {
		opt.ListOptions = *lo
		return w.c.Repositories.ListDeployments(ctx, owner, repo, opt)
	}
	var dep *github.Deployment
	for x, err := range ghread.Items(ctx, list, maxDeploymentsOfSHA) {
		if errors.Is(err, ghread.ErrTruncated) {
			break
		}
		if err != nil {
			return nil, false, err
		}
		if w.id.Trusts(x.GetCreator()) {
			dep = x
			break
		}
	}
	created := false
	if dep == nil {
		var err error
		dep, _, err = w.c.Repositories.CreateDeployment(ctx, owner, repo, &github.DeploymentRequest{
			Ref: github.String(d.Ref), Environment: github.String(d.Environment), Description: github.String(d.Description),
			AutoMerge: github.Bool(false), RequiredContexts: &[]string{}, ProductionEnvironment: github.Bool(true),
		})
		if err != nil {
			return nil, false, err
		}
		created = true
	} else {
		sts, _, err := w.c.Repositories.ListDeploymentStatuses(ctx, owner, repo, dep.GetID(), &github.ListOptions{PerPage: 1})
		if err != nil {
			return nil, false, err
		}
		if len(sts) > 0 && sts[0].GetState() == "success" {
			return dep, false, nil
		}
	}
	st := &github.DeploymentStatusRequest{State: github.String("success"), Environment: github.String(d.Environment)}
	if d.URL != "" {
		st.EnvironmentURL = github.String(d.URL)
	}
	if _, _, err := w.c.Repositories.CreateDeploymentStatus(ctx, owner, repo, dep.GetID(), st); err != nil {
		return nil, false, err
	}
	w.log.InfoContext(ctx, "deployment recorded", "repo", owner+"/"+repo, "deployment", dep.GetID(), "environment", d.Environment, "sha", d.SHA)
	return dep, created, nil
}
