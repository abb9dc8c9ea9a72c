package main

import (
	"context"
	"fmt"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/backfill"
	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/ghclient"
	core "github.com/tasuki-sre/tasuki/internal/leadtime"
)

func init() { backfillHook = leadTimeBackfill }

// maxActionWait is the longest rate limit wait `lead-time --backfill`
// sleeps through: a job that would wait longer fails, naming the time to
// run it again, rather than hold a runner for up to an hour.
const maxActionWait = 5 * time.Minute

// leadTimeBackfill reads the history of `lead-time --backfill`: the
// GraphQL backfill (package backfill) into memory, one request for 100
// pull requests with their first commit and reviews instead of two a pull
// request through REST; the metrics are computed from it as without
// --backfill. A GITHUB_TOKEN may spend 1,000 GraphQL points an hour, about
// 20,000 pull requests.
func leadTimeBackfill(ctx context.Context, step *actionStep, c *github.Client, repo string, readFrom, _ time.Time, cfg core.Config) (core.History, error) {
	gql, err := ghclient.GraphQLFor(c)
	if err != nil {
		return core.History{}, err
	}
	envs, releases := backfill.FromConfig(cfg)
	rec := backfill.NewMemoryRecorder()
	stats, err := backfill.Run(ctx, gql, repo, readFrom, rec, backfill.Options{
		Environments: envs, Releases: releases, Log: step.log,
		Wait: func(ctx context.Context, t time.Time, reason string) error {
			if time.Until(t) > maxActionWait {
				return dispatch.Permanent(fmt.Errorf("GitHub's rate limit (%s) lasts until %s: run the job again then", reason, t.UTC().Format(time.RFC3339)))
			}
			return backfillSleep(ctx, t)
		},
	})
	fmt.Fprintf(step.e.Stderr, "lead-time: backfill of %s since %s: %s\n", repo, readFrom.Format(time.DateOnly), stats)
	if err != nil {
		return core.History{}, err
	}
	return rec.History(), nil
}

func backfillSleep(ctx context.Context, t time.Time) error {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
