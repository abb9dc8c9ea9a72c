package ghread_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/ghread"
	"github.com/tasuki-sre/tasuki/internal/githubtest"
)

// EachInstallation runs on every installation with its own client; one
// whose client or run fails does not stop the others, and both failures
// come back for the job to retry. Past the bound it runs on those read,
// logs it, and does not fail the job (a retry would read the same part).
func TestEachInstallation(t *testing.T) {
	ctx := context.Background()
	srv := githubtest.New(t) // installation 1, of acme
	srv.AddInstallation(2, "globex")
	srv.AddInstallation(3, "initech")
	srv.AddRepo("acme/api", "main")
	client := func(_ context.Context, id int64) (*github.Client, error) {
		if id == 2 {
			return nil, errors.New("no token")
		}
		return srv.InstallationClient(id), nil
	}
	tests := []struct {
		name      string
		limit     int
		wantRan   []string
		wantErrs  []string
		wantWarns bool
	}{
		{name: "all", limit: 100, wantRan: []string{"acme", "initech"}, wantErrs: []string{"client for installation 2: no token", "initech failed"}},
		{name: "truncated", limit: 1, wantRan: []string{"acme"}, wantWarns: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			var ran []string
			err := ghread.EachInstallation(ctx, slog.New(slog.NewTextHandler(&logs, nil)), srv.AppClient(), tt.limit, client,
				func(in *github.Installation, c *github.Client) error {
					login := in.GetAccount().GetLogin()
					ran = append(ran, login)
					if login == "acme" {
						// The client given is the installation's own.
						if _, _, err := c.Apps.ListRepos(ctx, nil); err != nil {
							return fmt.Errorf("acme's client: %w", err)
						}
						return nil
					}
					return errors.New(login + " failed")
				})
			if diff := cmp.Diff(tt.wantRan, ran); diff != "" {
				t.Errorf("ran on (-want +got):\n%s", diff)
			}
			for _, w := range tt.wantErrs {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error %v lacks %q", err, w)
				}
			}
			if len(tt.wantErrs) == 0 && err != nil {
				t.Errorf("error %v, want none", err)
			}
			if got := strings.Contains(logs.String(), "truncated"); got != tt.wantWarns {
				t.Errorf("truncation logged: %v, want %v:\n%s", got, tt.wantWarns, logs.String())
			}
		})
	}
}

// InstallationRepos lists the repositories an installation can read.
func TestInstallationRepos(t *testing.T) {
	ctx := context.Background()
	srv := githubtest.New(t)
	srv.AddRepo("acme/api", "main")
	srv.AddRepo("acme/web", "main")
	var got []string
	for r, err := range ghread.InstallationRepos(ctx, srv.InstallationClient(1), 10) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r.GetFullName())
	}
	if diff := cmp.Diff([]string{"acme/api", "acme/web"}, got); diff != "" {
		t.Errorf("repositories (-want +got):\n%s", diff)
	}
}

// TestEachIssueRepo: the sweeps skip archived repositories and those with
// issues turned off (nothing of tasuki's can be there), run on the others,
// and one repository failing does not stop the rest.
func TestEachIssueRepo(t *testing.T) {
	ctx := context.Background()
	srv := githubtest.New(t)
	for _, r := range []string{"acme/api", "acme/old", "acme/noissues", "acme/web"} {
		srv.AddRepo(r, "main")
	}
	srv.EditRepo("acme/old", func(r *github.Repository) { r.Archived = github.Bool(true) })
	srv.EditRepo("acme/noissues", func(r *github.Repository) { r.HasIssues = github.Bool(false) })
	var got []string
	err := ghread.EachIssueRepo(ctx, slog.New(slog.DiscardHandler), srv.InstallationClient(1), 10, func(owner, repo string) error {
		got = append(got, owner+"/"+repo)
		if repo == "api" {
			return errors.New("api failed")
		}
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "api failed") {
		t.Errorf("err = %v, want api's failure returned", err)
	}
	if diff := cmp.Diff([]string{"acme/api", "acme/web"}, got); diff != "" {
		t.Errorf("repositories run (-want +got):\n%s", diff)
	}
}
