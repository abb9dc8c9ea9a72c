package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/handler"
	"github.com/tasuki-sre/tasuki/internal/metrics"
	"github.com/tasuki-sre/tasuki/internal/server"
	"github.com/tasuki-sre/tasuki/internal/store"
)

func cmdServe(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	return serve(ctx, args, getenv, stderr, nil)
}

// serve is `app serve`. When replace is not nil, the workers run it instead
// of the feature handlers: the crash and shutdown tests (process_test.go) run
// this path in a re-executed test binary with a dispatcher that records
// deliveries. Nothing in the environment can make `app serve` skip its
// handlers.
func serve(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, replace dispatcher) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	load := commonFlags(fs, getenv, need{github: true, webhook: true})
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{"serve takes no arguments"}
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)
	m := metrics.New()

	gh, err := newGitHub(cfg, m, log)
	if err != nil {
		return err
	}
	// GitHub being down while we restart must not stop webhooks from being
	// stored: the App's identity is resolved in the background, and the jobs
	// that need it wait for it.
	id, err := resolveIdentity(ctx, gh.App(), log)
	if err != nil {
		return err
	}
	defer id.Stop()
	st, err := store.Open(ctx, cfg.DatabaseURL, log, store.WithMetrics(m))
	if err != nil {
		return err
	}
	defer st.Close()

	base := func(ctx context.Context) (*handler.Base, error) {
		who, err := id.Wait(ctx)
		if err != nil {
			return nil, err
		}
		return newBase(gh, st, who.Login, log), nil
	}
	router := dispatch.NewRouter(log)
	feats := wireFeaturesWhenReady(router, base, gh, st, tfcSettings{HMACKey: cfg.TFCHMACKey, Addresses: cfg.TFCAddresses}, log)
	var disp dispatcher = router
	if replace != nil {
		disp = replace
	}

	// Workers get a context that signals do not cancel: on SIGTERM they are
	// stopped explicitly, after the HTTP server, so in-flight jobs finish.
	workers, err := startWorkers(context.WithoutCancel(ctx), st, disp, cfg, server.NewRedeliverer(gh.App().Apps, st, log), feats.Periodic,
		newBackfillJob(gh, st, log))
	if err != nil {
		return err
	}

	opts := append([]server.Option{server.WithLogger(log), server.WithMetrics(m), server.WithPinger(st),
		server.WithReadiness("github", func(context.Context) error { return id.Err() }),
		server.WithPreviousSecret(cfg.PreviousWebhookSecret)}, feats.Routes...)
	opts = append(opts, leadTimeRoutes(cfg, st, log)...)
	srv, err := server.New(st, cfg.WebhookSecret, opts...)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		_ = stopWorkers(workers, cfg.ShutdownTimeout)
		return fmt.Errorf("listen on %s (TASUKI_LISTEN): %w", cfg.Listen, err)
	}
	stopMetrics, err := serveMetrics(cfg, m, log)
	if err != nil {
		ln.Close()
		_ = stopWorkers(workers, cfg.ShutdownTimeout)
		return err
	}
	defer stopMetrics()

	log.Info("serving", "addr", ln.Addr().String(), "database", redact(cfg.DatabaseURL), "github", cfg.APIURL)
	serveErr := srv.Run(ctx, ln, cfg.ShutdownTimeout)
	log.Info("stopping: finishing in-flight jobs", "timeout", cfg.ShutdownTimeout.String())
	stopErr := stopWorkers(workers, cfg.ShutdownTimeout)
	if err := errors.Join(serveErr, stopErr); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

func stopWorkers(w stopper, grace time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := w.Stop(ctx); err != nil {
		return fmt.Errorf("stop workers: %w", err)
	}
	return nil
}

// dispatcher runs one stored delivery; *dispatch.Router is the real one.
type dispatcher interface {
	Dispatch(ctx context.Context, d dispatch.Delivery) error
}

// stopper stops the job workers, letting running jobs finish until ctx ends.
type stopper interface {
	Stop(ctx context.Context) error
}
