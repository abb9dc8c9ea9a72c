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
	// FindComment returns tasuki's comment carrying m, or nil. Comments by
	// anyone else are ignored, whatever they contain.
	FindComment(ctx context.Context, owner, repo string, number int, m marker.Marker) (*github.IssueComment, error)
	// Execute carries out the publication's intents (the comment, then the
	// check run on its head SHA), each idempotently.
	Execute(ctx context.Context, owner, repo string, intents []ghwrite.Intent) ([]ghwrite.Result, error)
}

var _ planWriter = (*ghwrite.Writer)(nil)

// oneLine flattens s for a check run title.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
