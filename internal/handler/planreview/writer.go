package planreview

import (
	"context"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/ghwrite"
	"github.com/tasuki-sre/tasuki/internal/marker"
)

// planWriter is the idempotent writes plan review needs; *ghwrite.Writer
// provides them.
type planWriter interface {
	// UpsertComment edits tasuki's comment carrying m on the pull request,
	// or creates it; an unchanged body is not written again.
	UpsertComment(ctx context.Context, owner, repo string, number int, m marker.Marker, body string) (*github.IssueComment, bool, error)
	// FindComment returns tasuki's comment carrying m, or nil. Comments by
	// anyone else are ignored, whatever they contain.
	FindComment(ctx context.Context, owner, repo string, number int, m marker.Marker) (*github.IssueComment, error)
	// UpsertCheckRun sets the check run on its head SHA, updating tasuki's
	// run with the same name and external ID if one exists.
	UpsertCheckRun(ctx context.Context, owner, repo string, run ghwrite.CheckRun) (*github.CheckRun, error)
}

var _ planWriter = (*ghwrite.Writer)(nil)

// oneLine flattens s for a check run title.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
