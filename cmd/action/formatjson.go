package main

import (
	"fmt"

	"github.com/tasuki-sre/tasuki/internal/review"
)

// printJSON writes the review as JSON on stdout when --format json was
// given, in a workflow as on a terminal, so that a later step can read the
// step's log or `> review.json` the same way in both. It returns the exit
// code to use when rendering fails, else 0.
func printJSON(o planReviewOpts, e env, s review.Summary, v review.Verdict) int {
	if o.format != "json" {
		return 0
	}
	js, err := review.RenderJSON(s, v)
	if err != nil {
		fmt.Fprintf(e.Stderr, "tasuki: plan-review: render JSON: %v\n", err)
		return 1
	}
	_, _ = e.Stdout.Write(js)
	return 0
}
