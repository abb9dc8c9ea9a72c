// Package racetest races workers on one artefact through the Writer, so
// that each Locker implementation (the in-process one, the store's) is held
// to the same test: however many workers race, GitHub ends with one
// artefact.
package racetest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/ghwrite"
	"github.com/tasuki-sre/tasuki/internal/githubtest"
	"github.com/tasuki-sre/tasuki/internal/marker"
)

// Workers is how many workers race on one key.
const Workers = 50

// OneArtefact races Workers workers, each with its own Writer (as separate
// jobs have) sharing locker, on one comment, one check run, one issue and
// one pull request, and checks that GitHub holds one of each, created by
// one request.
func OneArtefact(t *testing.T, locker ghwrite.Locker) {
	t.Helper()
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	id := ghwrite.Identity{Logins: []string{"tasuki[bot]"}}
	const (
		tmplComments  = "/repos/{owner}/{repo}/issues/{issue_number}/comments"
		tmplCheckRuns = "/repos/{owner}/{repo}/check-runs"
		tmplIssues    = "/repos/{owner}/{repo}/issues"
		tmplPulls     = "/repos/{owner}/{repo}/pulls"
	)
	tests := []struct {
		name  string
		write func(w *ghwrite.Writer, worker int) error
		count func(srv *githubtest.Server) int // the artefacts on GitHub
		tmpl  string                           // the request that creates one
	}{
		{"comment", func(w *ghwrite.Writer, n int) error {
			_, _, err := w.EnsureComment(ctx, "acme", "api", 1, marker.New("plan-review", "1"), fmt.Sprint("verdict from worker ", n))
			return err
		}, func(srv *githubtest.Server) int { return len(srv.Comments("acme/api", 1)) }, tmplComments},
		{"check run", func(w *ghwrite.Writer, n int) error {
			_, err := w.UpsertCheckRun(ctx, "acme", "api", ghwrite.CheckRun{Name: "tasuki/plan-review", HeadSHA: "0123456789abcdef0123456789abcdef01234567",
				ExternalID: "pr-1", Conclusion: "success", Title: "Approved", Summary: "1 to add"})
			return err
		}, func(srv *githubtest.Server) int { return len(srv.CheckRuns("acme/api")) }, tmplCheckRuns},
		{"issue", func(w *ghwrite.Writer, n int) error {
			_, _, err := w.EnsureIssue(ctx, "acme", "api", marker.New("postmortem", "acme/api#7"),
				&github.IssueRequest{Title: github.String("Postmortem"), Body: github.String(fmt.Sprint("by worker ", n)), Labels: &[]string{"postmortem"}},
				ghwrite.IssueLookup{Label: "postmortem", NoSearch: true})
			return err
		}, func(srv *githubtest.Server) int { return len(srv.Issues("acme/api")) - 1 }, tmplIssues}, // less the seeded issue
		{"pull request", func(w *ghwrite.Writer, n int) error {
			_, _, err := w.OpenPullRequest(ctx, "acme", "api", ghwrite.PullRequest{Marker: marker.New("handoff", "payments"), Head: "tasuki/handoff-payments",
				Title: "Hand payments over", Files: []ghwrite.FileChange{{Path: "CODEOWNERS", Content: []byte("* @acme/payments\n")}}})
			return err
		}, func(srv *githubtest.Server) int { return len(srv.Pulls("acme/api")) }, tmplPulls},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := githubtest.New(t)
			srv.AddRepo("acme/api", "main")
			srv.AddIssue("acme/api", &github.Issue{Title: github.String("Add bucket")})
			start := make(chan struct{})
			errs := make(chan error, Workers)
			var wg sync.WaitGroup
			for n := 0; n < Workers; n++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					w := ghwrite.New(srv.Client(), id, quiet, ghwrite.WithLocker(locker))
					<-start
					if err := tt.write(w, n); err != nil {
						errs <- err
					}
				}()
			}
			close(start)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if n := tt.count(srv); n != 1 {
				t.Errorf("%d %ss on GitHub after %d workers raced, want 1", n, tt.name, Workers)
			}
			if n := srv.CallCount("POST", tt.tmpl); n != 1 {
				t.Errorf("%d creations, want 1", n)
			}
		})
	}
}
