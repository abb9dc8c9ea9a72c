package backfill_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/tasuki-sre/tasuki/internal/backfill"
	"github.com/tasuki-sre/tasuki/internal/ghclient"
	"github.com/tasuki-sre/tasuki/internal/leadtime"
)

// The Action backfills with its GITHUB_TOKEN into memory and computes its
// report from the result (a GITHUB_TOKEN may spend 1,000 points an hour:
// about 20,000 pull requests).
func Example_action() {
	ctx := context.Background()
	gql, err := ghclient.NewTokenGraphQL(os.Getenv("GITHUB_TOKEN"), os.Getenv("GITHUB_API_URL"))
	if err != nil {
		fmt.Println(err)
		return
	}
	since, _ := backfill.ParseSince("90d", time.Now())
	envs, releases := backfill.FromConfig(leadtime.DefaultConfig())
	rec := backfill.NewMemoryRecorder()
	stats, err := backfill.Run(ctx, gql, os.Getenv("GITHUB_REPOSITORY"), since, rec, backfill.Options{
		Environments: envs, Releases: releases,
		Progress: func(s backfill.Stats) { fmt.Fprintf(os.Stderr, "%s: %s\n", s.Phase, s) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	history := rec.History() // for the lead-time core
	fmt.Println(len(history.Pulls), stats)
}
