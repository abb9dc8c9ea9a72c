package planreview

import (
	"context"
	"fmt"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/review"
)

// PostNoChange publishes that pull request number changes no Terraform at
// headSHA: the tasuki/plan-review check succeeds with review.NoChangeTitle,
// so a required check does not block pull requests that touch no
// infrastructure; a plan review comment left from an earlier push is
// rewritten to say the same. The caller (the workflow) decides that nothing
// changed; the check says so in the open.
func (r *Review) PostNoChange(ctx context.Context, c *github.Client, owner, repo string, number int, headSHA string) (PostPlanResult, error) {
	var res PostPlanResult
	if owner == "" || repo == "" || number <= 0 || headSHA == "" {
		return res, fmt.Errorf("post no change: need owner, repo, pull request number and head SHA (got %q/%q#%d at %q)", owner, repo, number, headSHA)
	}
	key := fmt.Sprintf("plan-review:%s/%s#%d", owner, repo, number)
	err := r.lock(ctx, key, func(ctx context.Context) error {
		w := r.writer(c)
		cm, err := w.FindComment(ctx, owner, repo, number, CommentMarker(number))
		if err != nil {
			return fmt.Errorf("find plan review comment on %s/%s#%d: %w", owner, repo, number, err)
		}
		pub := review.NoChange(review.Publication{PR: number, Marker: CommentMarker(number), HeadSHA: headSHA,
			ExternalID: externalID(owner, repo, number), CommentURL: cm.GetHTMLURL()}, cm != nil)
		done, err := w.Execute(ctx, owner, repo, pub.Intents())
		if err != nil {
			return fmt.Errorf("publish no Terraform change on %s/%s#%d@%s: %w", owner, repo, number, headSHA, err)
		}
		res.Body, res.Conclusion, res.CheckTitle, res.CheckSummary = pub.Body, pub.Conclusion, pub.Title, pub.Summary
		if pub.Body != "" {
			res.CommentID, res.CommentURL = done[0].ID, done[0].URL
		} else {
			res.CommentURL = cm.GetHTMLURL()
		}
		res.CheckRunID = done[len(done)-1].ID
		r.base.Logger().InfoContext(ctx, "no Terraform change posted", "repo", owner+"/"+repo, "pr", number, "comment_rewritten", pub.Body != "")
		return nil
	})
	return res, err
}
