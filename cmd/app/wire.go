package main

import (
	"context"
	"log/slog"

	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/ghclient"
	"github.com/tasuki-sre/tasuki/internal/ghwrite"
	"github.com/tasuki-sre/tasuki/internal/handler"
	"github.com/tasuki-sre/tasuki/internal/server"
	"github.com/tasuki-sre/tasuki/internal/store"
	"github.com/tasuki-sre/tasuki/internal/tfc"
)

// features is what wiring the feature handlers produces besides the router's
// registrations: extra HTTP routes and periodic jobs.
type features struct {
	Routes   []server.Option
	Periodic []store.PeriodicJob
	Review   *handler.Review
}

// tfcSettings says whether and how the Terraform Cloud run task is served.
type tfcSettings struct {
	HMACKey   []byte
	Addresses []string // TFC/TFE addresses the run task may call back
}

// newBase is the App's handler base: installation clients, per-repository
// configuration, the store as lock and memo (shared by replicas), and the
// App's own login as the only author whose artefacts it trusts.
func newBase(gh *ghclient.Clients, st *store.Store, login string, log *slog.Logger) *handler.Base {
	return &handler.Base{
		Clients:  gh,
		Config:   config.NewLoader(),
		Locker:   st,
		Memo:     st,
		Identity: ghwrite.Identity{Logins: []string{login}},
		Log:      log,
	}
}

// wireFeatures registers every feature handler on r for the events it
// handles. It is the one place the App's features are put together; the demo
// uses it too, so the demo runs exactly what `app serve` runs.
func wireFeatures(r *dispatch.Router, base *handler.Base, gh *ghclient.Clients, q tfc.Queue, t tfcSettings, log *slog.Logger) features {
	owners := handler.NewOwnership(base.Config, log)

	rv := handler.NewReview(base, handler.WithOwnership(owners))
	r.Register(&handler.PullRequestReview{Review: rv}, "pull_request_review")
	r.Register(&handler.PullRequest{Review: rv}, "pull_request")
	r.Register(&handler.PlanReviewRerun{Review: rv}, "check_run")

	pm := handler.NewPostmortem(base, owners)
	r.Register(pm, handler.PostmortemEvents...)

	r.Register(handler.NewConfigCheck(base, nil), handler.ConfigCheckEvents...)

	f := features{Review: rv}
	f.Periodic = append(f.Periodic, store.PeriodicJob{
		Name:     "postmortem-sweep",
		Interval: handler.SweepInterval,
		Run:      func(ctx context.Context) error { return pm.SweepInstallations(ctx, gh) },
	})

	// The run task is stored like a webhook and reviewed by a worker, so a
	// restart does not lose it; TFC's access token in it is valid only until
	// the task times out. The endpoint is served only when an HMAC key is
	// set: unsigned run tasks would let anyone make tasuki comment on PRs.
	opts := []tfc.RunTaskOption{tfc.WithQueue(q), tfc.WithLogger(log)}
	if len(t.Addresses) > 0 {
		opts = append(opts, tfc.WithAllowedAddresses(t.Addresses...))
	}
	rt := tfc.NewRunTaskHandler(t.HMACKey,
		&handler.TFCReviewer{Review: rv, Installations: handler.AppInstallations{App: gh.App()}}, opts...)
	r.Register(rt, tfc.EventRunTask)
	if len(t.HMACKey) > 0 {
		f.Routes = append(f.Routes, server.WithRoute("POST /tfc/run-task", rt))
	}
	return f
}
