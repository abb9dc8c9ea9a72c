package ghwrite

import (
	"context"
	"fmt"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/intent"
)

// The intent types are those of package intent, which the pure cores use
// without importing go-github; the names here keep the writer's callers
// reading as before.
type (
	// Intent is intent.Intent: one write a core wants.
	Intent = intent.Intent
	// IntentKind is intent.Kind.
	IntentKind = intent.Kind
	// NewIssue is intent.NewIssue: an issue to open.
	NewIssue = intent.NewIssue
)

// Intent kinds, each carried out by the Writer method of the same name.
const (
	IntentUpsertComment    = intent.UpsertComment
	IntentEnsureComment    = intent.EnsureComment
	IntentEnsureIssue      = intent.EnsureIssue
	IntentEditIssue        = intent.EditIssue
	IntentAddLabels        = intent.AddLabels
	IntentRemoveLabels     = intent.RemoveLabels
	IntentClose            = intent.Close
	IntentCheckRun         = intent.SetCheckRun
	IntentOpenPullRequest  = intent.OpenPullRequest
	IntentRequestReviewers = intent.RequestReviewers
)

// Execute carries out intents on owner/repo in order, each idempotently, so
// that a retried job does again only what the earlier attempt did not
// finish. It checks them all first and writes nothing if one is invalid;
// it stops at the first write that fails (a later intent may rely on an
// earlier one: the comment before the close, or the check run whose
// DetailsURL is intent.CommentURL, the page of the comment written before
// it; the review requests of Number 0, the pull request proposed before
// them, none when the base already held its files). It returns one Result
// per intent carried out.
func (w *Writer) Execute(ctx context.Context, owner, repo string, intents []Intent) ([]Result, error) {
	comment, pull := false, false
	for i, in := range intents {
		if err := in.Validate(); err != nil {
			return nil, fmt.Errorf("execute intents on %s/%s: intent %d: %w", owner, repo, i, err)
		}
		switch {
		case in.Kind == IntentUpsertComment || in.Kind == IntentEnsureComment:
			comment = true
		case in.Kind == IntentCheckRun && in.CheckRun.DetailsURL == intent.CommentURL && !comment:
			return nil, fmt.Errorf("execute intents on %s/%s: intent %d: links to a comment, but none is written before it", owner, repo, i)
		case in.Kind == IntentOpenPullRequest:
			pull = true
		case in.Kind == IntentRequestReviewers && in.Number == 0 && !pull:
			return nil, fmt.Errorf("execute intents on %s/%s: intent %d: names the batch's pull request, but none is proposed before it", owner, repo, i)
		}
	}
	out := make([]Result, 0, len(intents))
	var lastComment string
	lastPull := 0
	for i, in := range intents {
		if in.Kind == IntentCheckRun && in.CheckRun.DetailsURL == intent.CommentURL {
			in.CheckRun.DetailsURL = lastComment
		}
		if in.Kind == IntentRequestReviewers && in.Number == 0 {
			if lastPull == 0 {
				// The base branch already held the files: no pull request,
				// no one to ask.
				out = append(out, Result{})
				continue
			}
			in.Number = lastPull
		}
		r, err := w.execute(ctx, owner, repo, in)
		if err != nil {
			return out, fmt.Errorf("execute intents on %s/%s: intent %d (%s): %w", owner, repo, i, in, err)
		}
		if in.Kind == IntentUpsertComment || in.Kind == IntentEnsureComment {
			lastComment = r.URL
		}
		if in.Kind == IntentOpenPullRequest {
			lastPull = int(r.ID)
		}
		out = append(out, r)
	}
	return out, nil
}

// Result is what one carried-out intent wrote or found.
type Result = intent.Result

func (w *Writer) execute(ctx context.Context, owner, repo string, in Intent) (Result, error) {
	switch in.Kind {
	case IntentUpsertComment:
		c, _, err := w.UpsertComment(ctx, owner, repo, in.Number, in.Marker, in.Body)
		return Result{ID: c.GetID(), URL: c.GetHTMLURL()}, err
	case IntentEnsureComment:
		c, _, err := w.EnsureComment(ctx, owner, repo, in.Number, in.Marker, in.Body)
		return Result{ID: c.GetID(), URL: c.GetHTMLURL()}, err
	case IntentEnsureIssue:
		req := &github.IssueRequest{Title: github.String(in.Issue.Title), Body: github.String(in.Issue.Body)}
		if in.Issue.Labels != nil {
			req.Labels = &in.Issue.Labels
		}
		if in.Issue.Assignees != nil {
			req.Assignees = &in.Issue.Assignees
		}
		is, _, err := w.EnsureIssue(ctx, owner, repo, in.Marker, req, in.Lookup)
		return Result{ID: int64(is.GetNumber()), URL: is.GetHTMLURL()}, err
	case IntentEditIssue:
		is, _, err := w.EditIssue(ctx, owner, repo, in.Number, in.Edit)
		return Result{ID: int64(is.GetNumber()), URL: is.GetHTMLURL()}, err
	case IntentAddLabels:
		return Result{ID: int64(in.Number)}, w.AddLabels(ctx, owner, repo, in.Number, in.Labels...)
	case IntentRemoveLabels:
		for _, l := range in.Labels {
			if _, err := w.RemoveLabel(ctx, owner, repo, in.Number, l); err != nil {
				return Result{ID: int64(in.Number)}, err
			}
		}
		return Result{ID: int64(in.Number)}, nil
	case IntentClose:
		_, err := w.CloseIssue(ctx, owner, repo, in.Number, in.Reason)
		return Result{ID: int64(in.Number)}, err
	case IntentCheckRun:
		cr, err := w.UpsertCheckRun(ctx, owner, repo, in.CheckRun)
		return Result{ID: cr.GetID(), URL: cr.GetHTMLURL()}, err
	case IntentOpenPullRequest:
		pr, _, err := w.OpenPullRequest(ctx, owner, repo, in.PullRequest)
		return Result{ID: int64(pr.GetNumber()), URL: pr.GetHTMLURL()}, err
	case IntentRequestReviewers:
		return Result{ID: int64(in.Number)}, w.RequestReviewers(ctx, owner, repo, in.Number, in.Reviewers, in.TeamReviewers)
	}
	return Result{}, fmt.Errorf("unknown intent kind %q", in.Kind)
}
