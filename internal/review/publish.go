package review

import (
	"github.com/tasuki-sre/tasuki/internal/intent"
	"github.com/tasuki-sre/tasuki/internal/marker"
)

// Publication is a plan review as it appears on a pull request: the sticky
// comment and the CheckName check run on the commit.
type Publication struct {
	PR         int
	Marker     marker.Marker // keys the sticky comment
	HeadSHA    string        // the commit the check run is set on
	ExternalID string        // keys the check run across retries
	// Body is the comment's new text; "" leaves the comment as it is, and
	// the check then links to CommentURL.
	Body       string
	CommentURL string
	Conclusion string
	Title      string
	Summary    string
	Text       string
}

// Intents returns the writes that publish p: the comment first, since the
// check run's details link points at it and a green check over a comment
// still asking for a reviewer would mislead; then the check run.
func (p Publication) Intents() []intent.Intent {
	var out []intent.Intent
	details := p.CommentURL
	if p.Body != "" {
		out = append(out, intent.Intent{Kind: intent.UpsertComment, Number: p.PR, Marker: p.Marker, Body: p.Body})
		details = intent.CommentURL
	}
	return append(out, intent.Intent{Kind: intent.SetCheckRun, CheckRun: intent.CheckRun{
		Name:       CheckName,
		HeadSHA:    p.HeadSHA,
		ExternalID: p.ExternalID,
		Conclusion: p.Conclusion,
		Title:      p.Title,
		Summary:    p.Summary,
		Text:       p.Text,
		DetailsURL: details,
	}})
}
