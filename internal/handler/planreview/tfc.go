package planreview

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/review"
	"github.com/tasuki-sre/tasuki/internal/tfc"
)

// InstallationFinder finds the App installation covering a repository.
type InstallationFinder interface {
	InstallationID(ctx context.Context, owner, repo string) (int64, error)
}

// AppInstallations finds installations with the App's JWT client
// (ghclient.Clients.App()).
type AppInstallations struct {
	App *github.Client
}

// InstallationID asks GitHub which installation covers owner/repo.
func (a AppInstallations) InstallationID(ctx context.Context, owner, repo string) (int64, error) {
	inst, _, err := a.App.Apps.FindRepositoryInstallation(ctx, owner, repo)
	if err != nil {
		return 0, fmt.Errorf("find the installation of %s/%s (is tasuki installed there?): %w", owner, repo, err)
	}
	return inst.GetID(), nil
}

// TFCReviewer posts a Terraform Cloud run's plan on its pull request, for
// the run task endpoint (tfc.NewRunTaskHandler).
type TFCReviewer struct {
	Review        *Review
	Installations InstallationFinder
}

var _ tfc.Reviewer = (*TFCReviewer)(nil)

// ReviewRun posts run's plan as PostPlan does for the Action, and reports
// passed only when the plan needs no further approval: TFC then shows the
// same verdict beside the run as the tasuki/plan-review check shows on the
// pull request (whose approvals, not the task, gate the merge).
func (t *TFCReviewer) ReviewRun(ctx context.Context, run tfc.Run) (tfc.TaskResult, error) {
	if t.Review == nil || t.Installations == nil || t.Review.base.Clients == nil {
		return tfc.TaskResult{}, errors.New("terraform cloud review is not wired to GitHub")
	}
	instID, err := t.Installations.InstallationID(ctx, run.Owner, run.Repo)
	if err != nil {
		return tfc.TaskResult{}, err
	}
	c, err := t.Review.base.Clients.Client(ctx, instID)
	if err != nil {
		return tfc.TaskResult{}, fmt.Errorf("client for installation %d: %w", instID, err)
	}
	in := PostPlanInput{
		Owner: run.Owner, Repo: run.Repo, Number: run.PullRequest, HeadSHA: run.CommitSHA,
		Meta: review.Meta{RunURL: run.URL},
	}
	cfg, err := t.Review.Config(ctx, c, run.Owner, run.Repo)
	if err != nil {
		return tfc.TaskResult{}, err
	}
	// The comment keeps what it can show and counts the rest.
	in.Config, in.Keep = &cfg, review.NewCommentKeep(cfg.Review)
	source := "terraform cloud run " + run.ID
	p, err := review.ReadPlanWith(bytes.NewReader(run.PlanJSON), source, review.ReadOptions{Keep: in.Keep.Keep})
	if err != nil {
		var pe *review.PlanError
		if !errors.As(err, &pe) {
			pe = &review.PlanError{Source: source, Reason: err.Error()}
		}
		in.Unreadable = []*review.PlanError{pe}
	} else {
		p.Workspace = run.Workspace
		in.Plans = []*review.Plan{p}
	}
	res, err := t.Review.PostPlan(ctx, c, in)
	if err != nil {
		return tfc.TaskResult{}, err
	}
	return tfc.TaskResult{
		Passed:  res.Conclusion == "success",
		Message: res.CheckTitle,
		URL:     res.CommentURL,
	}, nil
}
