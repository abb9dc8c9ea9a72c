package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/tasuki-sre/tasuki/internal/api"
	"github.com/tasuki-sre/tasuki/internal/handler"
	lth "github.com/tasuki-sre/tasuki/internal/handler/leadtime"
	core "github.com/tasuki-sre/tasuki/internal/leadtime"
	"github.com/tasuki-sre/tasuki/internal/metrics"
	"github.com/tasuki-sre/tasuki/internal/server"
	"github.com/tasuki-sre/tasuki/internal/store"
)

// leadTimeStore is what the lead-time features need of the store: where
// events are recorded and read, and the process's metrics.
type leadTimeStore interface {
	lth.Store
	PrepareHistory(ctx context.Context, q store.HistoryQuery, cfg core.Config) (*core.Prepared, error)
	LeadTimeRepos(ctx context.Context) ([]string, error)
	Metrics() *metrics.Metrics
}

// newLeadTime is the lead-time recording handler. The App's memo is its
// store (newBase), which records the events; a base without one (some
// tests) records nothing.
func newLeadTime(base *handler.Base, log *slog.Logger) *lth.Handler {
	st, ok := base.Memo.(leadTimeStore)
	if !ok {
		return lth.New(base, nil)
	}
	h := lth.New(base, st)
	if m := st.Metrics(); m != nil {
		h.Observer = m
		h.Shipped = shippedFrom(st)
	}
	return h
}

// shippedLookback is how far before a deployment the pull requests it may
// have shipped are read, to observe their lead times.
const shippedLookback = 90 * 24 * time.Hour

// shippedFrom computes what a recorded deployment shipped from the
// store's history around it.
func shippedFrom(st leadTimeStore) lth.Shipped {
	return func(ctx context.Context, cfg core.Config, d core.Deployment) ([]core.PullRow, error) {
		p, err := st.PrepareHistory(ctx, store.HistoryQuery{
			Repo: d.Repo, Since: d.FinishedAt.Add(-shippedLookback), Until: d.FinishedAt.Add(time.Microsecond),
		}, cfg)
		if err != nil {
			return nil, err
		}
		return p.Shipped(d.Repo, d.ID), nil
	}
}

// leadTimeRoutes are the webhook server's options for lead time: the
// metrics API (answering that it is off without TASUKI_API_TOKENS), and
// /metrics left to its own listener when TASUKI_METRICS_LISTEN is set.
func leadTimeRoutes(cfg *settings, st *store.Store, log *slog.Logger) []server.Option {
	a := api.New(cfg.APITokens, st, func(ctx context.Context, repo string) (lth.RepoSettings, error) {
		return lth.LoadSettings(ctx, st, repo)
	}, api.WithLogger(log))
	opts := []server.Option{server.WithRoute(api.Route, a)}
	if cfg.MetricsListen != "" {
		opts = append(opts, server.WithoutMetricsRoute())
	}
	return opts
}

// serveMetrics serves /metrics on TASUKI_METRICS_LISTEN, if set, until the
// returned function is called.
func serveMetrics(cfg *settings, m *metrics.Metrics, log *slog.Logger) (stop func(), err error) {
	if cfg.MetricsListen == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", cfg.MetricsListen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s (TASUKI_METRICS_LISTEN): %w", cfg.MetricsListen, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", server.MetricsHandler(m))
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener stopped", "addr", cfg.MetricsListen, "err", err)
		}
	}()
	log.Info("serving /metrics", "addr", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
		<-done
	}, nil
}

// weeklyLeadTimeReports runs the weekly report job of h: a report for
// each organisation whose .github configuration names
// leadtime.report_repo.
func weeklyLeadTimeReports(ctx context.Context, h *lth.Handler, apps lth.AppLister) error {
	st, ok := h.Store.(leadTimeStore)
	if !ok {
		return nil
	}
	return h.ReportInstallations(ctx, apps, reportSource{st})
}

// reportSource reads the weekly report's history from the store.
type reportSource struct{ st leadTimeStore }

func (r reportSource) Repos(ctx context.Context) ([]string, error) { return r.st.LeadTimeRepos(ctx) }

func (r reportSource) Prepare(ctx context.Context, repo string, since, until time.Time, cfg core.Config) (*core.Prepared, error) {
	return r.st.PrepareHistory(ctx, store.HistoryQuery{Repo: repo, Since: since, Until: until}, cfg)
}
