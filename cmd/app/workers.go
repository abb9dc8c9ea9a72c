package main

import (
	"context"
	"time"

	"github.com/tasuki-sre/tasuki/internal/ghclient"
	"github.com/tasuki-sre/tasuki/internal/server"
	"github.com/tasuki-sre/tasuki/internal/store"
)

// startWorkers starts the store's job workers running disp, and the
// periodic redelivery of missed deliveries (run once across replicas, right
// away and then every cfg.RedeliverEvery; 0 disables it), and the lead-time
// backfill jobs `app backfill` queues (bf).
func startWorkers(ctx context.Context, st *store.Store, disp dispatcher, cfg *settings, r *server.Redeliverer, periodic []store.PeriodicJob, bf store.Backfiller) (stopper, error) {
	opts := store.WorkerOptions{Concurrency: cfg.Workers, JobTimeout: cfg.JobTimeout, Periodic: periodic, Backfill: bf}
	if cfg.RedeliverEvery > 0 {
		window := cfg.RedeliverWindow
		opts.Periodic = append(opts.Periodic, store.PeriodicJob{
			Name:     "redeliver-missed",
			Interval: cfg.RedeliverEvery,
			Run: func(ctx context.Context) error {
				_, err := r.Run(ctx, time.Now().Add(-window), false)
				return err
			},
		})
	}
	// The worker knows no go-github: GitHub's errors are classified here
	// into wait-until, retry or give up.
	return st.RunWorkers(ctx, ghclient.ClassifyErrors(disp), opts)
}
