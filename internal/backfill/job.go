package backfill

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/leadtime"
	"github.com/tasuki-sre/tasuki/internal/store"
)

// Memo keeps a job's Cursor between runs; *store.Store is one.
type Memo interface {
	Get(ctx context.Context, key string) (string, bool, error)
	Put(ctx context.Context, key, value string) error
}

// MemoKey is where the backfill job id keeps its Cursor: the job's place
// and counts, which `app backfill` reads to show progress.
func MemoKey(jobID int64) string { return fmt.Sprintf("tasuki.backfill:job:%d", jobID) }

// LoadCursor reads the Cursor job id keeps; ok is false before its first
// page.
func LoadCursor(ctx context.Context, m Memo, jobID int64) (c Cursor, ok bool, err error) {
	v, ok, err := m.Get(ctx, MemoKey(jobID))
	if err != nil || !ok {
		return Cursor{}, false, err
	}
	if err := json.Unmarshal([]byte(v), &c); err != nil {
		return Cursor{}, false, fmt.Errorf("backfill job %d: cursor %q: %w", jobID, v, err)
	}
	return c, true, nil
}

// Job runs the store's backfill jobs (store.Backfiller) for the App's
// workers: it reads with the installation's GraphQL client, records into
// the store, and keeps its Cursor in the memo after every page.
type Job struct {
	GraphQL  func(ctx context.Context, installationID int64) (Querier, error)
	Recorder Recorder
	Memo     Memo
	Log      *slog.Logger
	// MaxSleep is the longest rate limit wait slept through inside the
	// job (default 30s); a longer one snoozes the job, which frees its
	// worker and resumes from the kept cursor at GitHub's reset.
	MaxSleep time.Duration
	// Progress, when set, is called after every page (tests).
	Progress func(jobID int64, s Stats)
}

var _ store.Backfiller = (*Job)(nil)

// logEvery is how many pages pass between the job's progress logs.
const logEvery = 10

// Backfill runs (or resumes) one backfill job.
func (j *Job) Backfill(ctx context.Context, bj store.BackfillJob) error {
	log := j.Log
	if log == nil {
		log = slog.Default()
	}
	log = log.With("job", bj.ID, "repo", bj.Args.Repo, "installation", bj.Args.InstallationID)
	cur, resumed, err := LoadCursor(ctx, j.Memo, bj.ID)
	if err != nil {
		return err
	}
	if cur.Phase == PhaseDone {
		// Finished, but stopped before River marked the job completed.
		log.Info("backfill already done", "requests", cur.Stats.Requests, "points", cur.Stats.Points)
		return nil
	}
	gql, err := j.GraphQL(ctx, bj.Args.InstallationID)
	if err != nil {
		return fmt.Errorf("backfill %s: GraphQL client for installation %d: %w", bj.Args.Repo, bj.Args.InstallationID, err)
	}
	if resumed {
		log.Info("backfill resuming", "phase", cur.Phase, "pages", cur.Stats.Pages, "requests", cur.Stats.Requests)
	} else {
		log.Info("backfill starting", "since", bj.Args.Since.Format(time.RFC3339), "environments", bj.Args.Environments)
	}
	keep := func(ctx context.Context, c Cursor) error {
		b, err := json.Marshal(c)
		if err != nil {
			return err
		}
		return j.Memo.Put(ctx, MemoKey(bj.ID), string(b))
	}
	opts := Options{
		Environments: bj.Args.Environments, Releases: bj.Args.Releases, Resume: cur, Checkpoint: keep, Log: log,
		Wait: j.wait,
		Progress: func(s Stats) {
			if s.Pages%logEvery == 0 {
				log.Info("backfill progress", "phase", s.Phase, "pages", s.Pages, "pulls", s.Pulls, "reviews", s.Reviews,
					"deployments", s.Deployments, "requests", s.Requests, "points", s.Points, "remaining", s.Remaining)
			}
			if j.Progress != nil {
				j.Progress(bj.ID, s)
			}
		},
	}
	stats, err := Run(ctx, gql, bj.Args.Repo, bj.Args.Since, j.Recorder, opts)
	if err != nil {
		log.Warn("backfill stopped", "pages", stats.Pages, "requests", stats.Requests, "points", stats.Points, "err", err)
		return err
	}
	if err := keep(ctx, Cursor{Phase: PhaseDone, Stats: stats}); err != nil {
		return fmt.Errorf("backfill %s: keep the final counts: %w", bj.Args.Repo, err)
	}
	log.Info("backfill done", "pulls", stats.Pulls, "reviews", stats.Reviews, "deployments", stats.Deployments,
		"releases", stats.Releases, "requests", stats.Requests, "points", stats.Points, "rate_limit_waits", stats.Waits)
	return nil
}

// wait sleeps through a short rate limit wait; a long one ends the run
// with an error that snoozes the job until then (dispatch.RetryAt).
func (j *Job) wait(ctx context.Context, t time.Time, reason string) error {
	limit := j.MaxSleep
	if limit <= 0 {
		limit = 30 * time.Second
	}
	if time.Until(t) <= limit {
		return sleep(ctx, t, reason)
	}
	return dispatch.RetryLater(fmt.Errorf("GitHub rate limit (%s) until %s", reason, t.UTC().Format(time.RFC3339)), t)
}

// FromConfig returns the production environments to read deployments of,
// and whether releases count as deployments, from a repository's lead-time
// configuration. Deploy workflows (source workflow_run) are not backfilled:
// GitHub's GraphQL API has no Actions runs, so they are learnt from
// webhooks only.
func FromConfig(c leadtime.Config) (environments []string, releases bool) {
	environments = slices.Clone(c.ProductionEnvironments)
	if len(c.DeploySources) > 0 && !slices.Contains(c.DeploySources, leadtime.SourceDeploymentStatus) {
		environments = nil
	}
	return environments, slices.Contains(c.DeploySources, leadtime.SourceRelease)
}
