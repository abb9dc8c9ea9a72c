package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/backfill"
	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/ghclient"
	"github.com/tasuki-sre/tasuki/internal/store"
)

// backfillRepoPattern is GitHub's rule for owner/name: an owner of letters, digits
// and hyphens; a name of letters, digits, '.', '-' and '_'.
var backfillRepoPattern = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$`)

// newBackfillJob runs backfill jobs with the installation's GraphQL
// client, recording into the store: `app serve`'s workers and `app
// backfill`'s alike.
func newBackfillJob(gh *ghclient.Clients, st *store.Store, log *slog.Logger) *backfill.Job {
	return &backfill.Job{
		GraphQL:  func(ctx context.Context, id int64) (backfill.Querier, error) { return gh.GraphQL(ctx, id) },
		Recorder: st, Memo: st, Log: log,
	}
}

// backfillPoll is how often `app backfill` looks at its job.
const backfillPoll = time.Second

func cmdBackfill(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backfill", flag.ContinueOnError)
	fs.SetOutput(stderr)
	load := commonFlags(fs, getenv, need{github: true})
	fs.Usage = usageFunc(fs, "app backfill --repo OWNER/NAME [--since 90d] [flags]",
		"Reads a repository's past pull requests, reviews, production deployments and\n"+
			"releases from GitHub's GraphQL API into the lead-time store, as a job that\n"+
			"keeps its place: stopped, it resumes where it stood when run again (by this\n"+
			"command or `app serve`). Waits for the job and prints its progress, then the\n"+
			"GraphQL requests and rate limit points it spent.")
	repo := fs.String("repo", "", "repository to backfill, OWNER/NAME (required)")
	sinceFlag := fs.String("since", "90d", "how far back: days, weeks or hours (90d, 2w, 36h) or a date (2026-01-31)")
	envs := fs.String("environments", "", "comma-separated production environments to read deployments of (default: the repository's leadtime.production_environments)")
	releases := fs.String("releases", "", "read published releases as deployments, true or false (default: whether leadtime.deploy_sources lists release)")
	noWait := fs.Bool("no-wait", false, "queue the backfill and return; `app serve` runs it")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{"backfill takes no arguments; name the repository with --repo OWNER/NAME"}
	}
	if *repo == "" {
		return &usageError{"backfill: --repo OWNER/NAME is required"}
	}
	if !backfillRepoPattern.MatchString(*repo) {
		return &usageError{fmt.Sprintf("backfill: --repo %q is not OWNER/NAME", *repo)}
	}
	since, err := backfill.ParseSince(*sinceFlag, time.Now())
	if err != nil {
		return &usageError{"backfill: " + err.Error()}
	}
	var withReleases *bool
	if *releases != "" {
		b, err := strconv.ParseBool(*releases)
		if err != nil {
			return &usageError{fmt.Sprintf("backfill: --releases %q: use true or false", *releases)}
		}
		withReleases = &b
	}
	st, gh, log, err := openStoreAndGitHub(ctx, load, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	owner, name, _ := strings.Cut(*repo, "/")
	inst, _, err := gh.App().Apps.FindRepositoryInstallation(ctx, owner, name)
	if err != nil {
		var er *github.ErrorResponse
		if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound {
			return fmt.Errorf("backfill %s: the App is not installed on it, or the repository does not exist", *repo)
		}
		return fmt.Errorf("backfill %s: find the App's installation: %w", *repo, err)
	}
	a := store.BackfillArgs{Repo: *repo, InstallationID: inst.GetID(), Since: since}
	if *envs == "" || withReleases == nil {
		// The repository's own definitions, as the metrics use them.
		client, err := gh.Client(ctx, a.InstallationID)
		if err != nil {
			return fmt.Errorf("backfill %s: %w", *repo, err)
		}
		f := config.NewLoader().Load(ctx, client, owner, name)
		if f.Err != nil {
			return fmt.Errorf("backfill %s: read its configuration: %w", *repo, f.Err)
		}
		a.Environments, a.Releases = backfill.FromConfig(f.Config.LeadTime)
	}
	if *envs != "" {
		a.Environments = nil
		for _, e := range strings.Split(*envs, ",") {
			if e = strings.TrimSpace(e); e != "" {
				a.Environments = append(a.Environments, e)
			}
		}
	}
	if withReleases != nil {
		a.Releases = *withReleases
	}

	status, created, err := st.EnqueueBackfill(ctx, a)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(stdout, "queued backfill of %s since %s (job %d)\n", *repo, since.Format(time.DateOnly), status.ID)
	} else {
		fmt.Fprintf(stdout, "a backfill of %s since %s is already %s (job %d); following it\n", *repo,
			status.Args.Since.Format(time.DateOnly), status.State, status.ID)
	}
	if *noWait {
		return nil
	}
	// Run the job here, unless `app serve` runs this SQLite file's
	// workers (a second set would fight it for the single writer).
	holder, elsewhere, err := st.WorkersElsewhere(ctx)
	if err != nil {
		return err
	}
	if elsewhere {
		fmt.Fprintf(stdout, "the server's workers run it (%s)\n", holder)
	} else {
		workers, err := st.RunWorkers(context.WithoutCancel(ctx), nil, store.WorkerOptions{OnlyBackfills: true,
			Backfill: newBackfillJob(gh, st, log)})
		if err != nil {
			return err
		}
		defer func() {
			// Interrupted, the job stops at once and keeps its place;
			// otherwise it has finished and the workers are idle.
			grace := 10 * time.Second
			if ctx.Err() != nil {
				grace = 0
			}
			_ = stopWorkers(workers, grace)
		}()
	}
	return followBackfill(ctx, st, status.ID, stdout, backfillPoll)
}

// followBackfill prints the job's progress until it finishes, then its
// counts; an error if it failed.
func followBackfill(ctx context.Context, st *store.Store, id int64, stdout io.Writer, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	lastPages, lastWait, lastErrs := -1, time.Time{}, 0
	for {
		status, err := st.Backfill(ctx, id)
		if err != nil && ctx.Err() == nil {
			return err
		}
		cur, _, err := backfill.LoadCursor(ctx, st, id)
		if err != nil && ctx.Err() == nil {
			return err
		}
		if ctx.Err() != nil {
			fmt.Fprintf(stdout, "interrupted: the backfill keeps its place (job %d); run `app backfill` again, or `app serve`, to finish it\n", id)
			return ctx.Err()
		}
		s := cur.Stats
		if s.Pages != lastPages && !status.Done() {
			lastPages = s.Pages
			if s.Pages > 0 {
				fmt.Fprintf(stdout, "%s: %d pages, %s\n", s.Phase, s.Pages, s)
			}
		}
		if status.State == "scheduled" && status.ScheduledAt.After(time.Now()) && !status.ScheduledAt.Equal(lastWait) {
			lastWait = status.ScheduledAt
			fmt.Fprintf(stdout, "waiting for GitHub's rate limit until %s\n", status.ScheduledAt.UTC().Format(time.RFC3339))
		}
		if len(status.Errors) > lastErrs && !status.Done() {
			lastErrs = len(status.Errors)
			if strings.Contains(status.LastError(), context.Canceled.Error()) {
				fmt.Fprintf(stdout, "attempt %d was stopped; the next resumes from its place\n", status.Attempt)
			} else {
				fmt.Fprintf(stdout, "attempt %d failed, retrying from its place: %s\n", status.Attempt, status.LastError())
			}
		}
		if status.Done() {
			if !status.Succeeded() {
				return fmt.Errorf("backfill of %s %s after %d attempts: %s", status.Args.Repo, status.State, status.Attempt, status.LastError())
			}
			fmt.Fprintf(stdout, "backfill of %s done: %s\n", status.Args.Repo, s)
			return nil
		}
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
}
