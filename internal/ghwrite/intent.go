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
	IntentUpsertComment   = intent.UpsertComment
	IntentEnsureComment   = intent.EnsureComment
	IntentEnsureIssue     = intent.EnsureIssue
	IntentEditIssue       = intent.EditIssue
	IntentAddLabels       = intent.AddLabels
	IntentRemoveLabels    = intent.RemoveLabels
	IntentClose           = intent.Close
	IntentCheckRun        = intent.SetCheckRun
	IntentOpenPullRequest = intent.OpenPullRequest
)

// Execute carries out intents on owner/repo in order, each idempotently, so
// that a retried job does again only what the earlier attempt did not
// finish. It checks them all first and writes nothing if one is invalid;
// it stops at the first write that fails (a later intent may rely on an
// earlier one: the comment before the close).
func (w *Writer) Execute(ctx context.Context, owner, repo string, intents []Intent) error {
	for i, in := range intents {
		if err := in.Validate(); err != nil {
			return fmt.Errorf("execute intents on %s/%s: intent %d: %w", owner, repo, i, err)
		}
	}
	for i, in := range intents {
		if err := w.execute(ctx, owner, repo, in); err != nil {
			return fmt.Errorf("execute intents on %s/%s: intent %d (%s): %w", owner, repo, i, in, err)
		}
	}
	return nil
}

func (w *Writer) execute(ctx context.Context, owner, repo string, in Intent) error {
	var err error
	switch in.Kind {
	case IntentUpsertComment:
		_, _, err = w.UpsertComment(ctx, owner, repo, in.Number, in.Marker, in.Body)
	case IntentEnsureComment:
		_, _, err = w.EnsureComment(ctx, owner, repo, in.Number, in.Marker, in.Body)
	case IntentEnsureIssue:
		req := &github.IssueRequest{Title: github.String(in.Issue.Title), Body: github.String(in.Issue.Body)}
		if in.Issue.Labels != nil {
			req.Labels = &in.Issue.Labels
		}
		if in.Issue.Assignees != nil {
			req.Assignees = &in.Issue.Assignees
		}
		_, _, err = w.EnsureIssue(ctx, owner, repo, in.Marker, req, in.Lookup)
	case IntentEditIssue:
		_, _, err = w.EditIssue(ctx, owner, repo, in.Number, in.Edit)
	case IntentAddLabels:
		err = w.AddLabels(ctx, owner, repo, in.Number, in.Labels...)
	case IntentRemoveLabels:
		for _, l := range in.Labels {
			if _, err = w.RemoveLabel(ctx, owner, repo, in.Number, l); err != nil {
				break
			}
		}
	case IntentClose:
		_, err = w.CloseIssue(ctx, owner, repo, in.Number, in.Reason)
	case IntentCheckRun:
		_, err = w.UpsertCheckRun(ctx, owner, repo, in.CheckRun)
	case IntentOpenPullRequest:
		_, _, err = w.OpenPullRequest(ctx, owner, repo, in.PullRequest)
	default:
		err = fmt.Errorf("unknown intent kind %q", in.Kind)
	}
	return err
}
