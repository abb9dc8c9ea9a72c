package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

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

// leadTimeBackfill is `lead-time --backfill`: the history comes from the
// GraphQL backfill (package backfill) into memory, one request for 100
// pull requests with their first commit and reviews instead of two a pull
// request through REST, and the metrics are computed from it as without
// --backfill. A GITHUB_TOKEN may spend 1,000 GraphQL points an hour, about
// 20,000 pull requests.
func leadTimeBackfill(ctx context.Context, o leadTimeOpts, e env) int {
	inAction := e.Getenv("GITHUB_ACTIONS") == "true"
	step := newActionStepQuiet(e, inAction)
	if o.repo == "" {
		o.repo = e.Getenv("GITHUB_REPOSITORY")
	}
	owner, repo, ok := strings.Cut(o.repo, "/")
	if !ok || owner == "" || repo == "" {
		return step.bad("lead-time: give --repo OWNER/NAME (or run in a workflow, which sets GITHUB_REPOSITORY)")
	}
	from, to, err := period(o.since, o.until, time.Now())
	if err != nil {
		return step.bad("lead-time: %v", err)
	}
	_, c, err := step.base(o.configPath, "read "+o.repo)
	if err != nil {
		return step.fail("lead-time: %v", err)
	}
	cfg, err := leadTimeConfig(ctx, step, c, o.configPath, owner, repo)
	if err != nil {
		return step.bad("lead-time: %v", err)
	}
	gql, err := ghclient.GraphQLFor(c)
	if err != nil {
		return step.fail("lead-time: %v", err)
	}
	// As without --backfill: the previous period and two weeks more.
	readFrom := from.Add(-to.Sub(from)).Add(-14 * 24 * time.Hour)
	envs, releases := backfill.FromConfig(cfg)
	rec := backfill.NewMemoryRecorder()
	stats, err := backfill.Run(ctx, gql, o.repo, readFrom, rec, backfill.Options{
		Environments: envs, Releases: releases, Log: step.log,
		Wait: func(ctx context.Context, t time.Time, reason string) error {
			if time.Until(t) > maxActionWait {
				return dispatch.Permanent(fmt.Errorf("GitHub's rate limit (%s) lasts until %s: run the job again then", reason, t.UTC().Format(time.RFC3339)))
			}
			return backfillSleep(ctx, t)
		},
	})
	fmt.Fprintf(e.Stderr, "lead-time: backfill of %s since %s: %s\n", o.repo, readFrom.Format(time.DateOnly), stats)
	if err != nil {
		return step.fail("lead-time: %v", err)
	}
	now := time.Now().UTC()
	if now.After(to) {
		now = to
	}
	m, err := core.Compute(rec.History(), cfg, core.Query{From: from, To: to, Now: now, Repo: o.repo})
	if err != nil {
		return step.fail("lead-time: %v", err)
	}
	md := core.Render(m, core.RenderOptions{Title: o.repo})
	if o.format == "json" {
		b, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			return step.fail("lead-time: %v", err)
		}
		fmt.Fprintf(e.Stdout, "%s\n", b)
	} else if !inAction {
		_, _ = io.WriteString(e.Stdout, md)
	}
	if inAction {
		step.act.AddStepSummary(md)
		step.act.SetOutput("deployments", fmt.Sprint(m.DeploymentFrequency.Deployments))
		step.act.SetOutput("lead-time-seconds", fmt.Sprint(int64(m.ChangeLeadTime.Median.Seconds())))
		step.act.SetOutput("change-fail-rate", fmt.Sprintf("%.4f", m.ChangeFailRate.Rate))
	}
	return 0
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
