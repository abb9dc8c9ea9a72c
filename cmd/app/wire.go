package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/ghclient"
	"github.com/tasuki-sre/tasuki/internal/ghwrite"
	"github.com/tasuki-sre/tasuki/internal/handler"
	"github.com/tasuki-sre/tasuki/internal/handler/commands"
	"github.com/tasuki-sre/tasuki/internal/handler/configcheck"
	lth "github.com/tasuki-sre/tasuki/internal/handler/leadtime"
	obshell "github.com/tasuki-sre/tasuki/internal/handler/onboarding"
	"github.com/tasuki-sre/tasuki/internal/handler/planreview"
	"github.com/tasuki-sre/tasuki/internal/handler/postmortem"
	"github.com/tasuki-sre/tasuki/internal/server"
	"github.com/tasuki-sre/tasuki/internal/store"
	"github.com/tasuki-sre/tasuki/internal/tfc"
)

// features is what wiring the feature handlers produces besides the router's
// registrations: extra HTTP routes and periodic jobs.
type features struct {
	Routes   []server.Option
	Periodic []store.PeriodicJob
	Review   *planreview.Review // nil from wireFeaturesWhenReady
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
// uses it too, so the demo runs exactly what `app serve` runs. base is
// complete (its Identity is known), so the handlers are built at once and
// f.Review is set.
func wireFeatures(r *dispatch.Router, base *handler.Base, gh *ghclient.Clients, q tfc.Queue, t tfcSettings, log *slog.Logger) features {
	l := &lazyFeatures{base: func(context.Context) (*handler.Base, error) { return base, nil }, gh: gh, log: log}
	f := wire(r, l, gh, q, t, log)
	set, _ := l.get(context.Background()) // does not wait: the base is at hand
	f.Review = set.review
	return f
}

// wireFeaturesWhenReady is wireFeatures for `app serve`, which may start
// before GitHub has said who the App is: the handlers are built on first use
// from the base that base returns, and every delivery, run task and periodic
// job waits for it (with its own context) before it runs. f.Review is nil.
func wireFeaturesWhenReady(r *dispatch.Router, base baseSource, gh *ghclient.Clients, q tfc.Queue, t tfcSettings, log *slog.Logger) features {
	return wire(r, &lazyFeatures{base: base, gh: gh, log: log}, gh, q, t, log)
}

// baseSource returns the handlers' base, waiting until it can be made: the
// App learns its own login (Base.Identity) from GitHub.
type baseSource func(ctx context.Context) (*handler.Base, error)

func wire(r *dispatch.Router, l *lazyFeatures, gh *ghclient.Clients, q tfc.Queue, t tfcSettings, log *slog.Logger) features {
	// The handlers are built once the base is ready, but what each handles
	// depends on its type alone (handler.Feature), so the set's nil
	// handlers say it now.
	for i, h := range (&featureSet{}).handlers() {
		r.Register(dispatch.Named(featureName(h), l.handler(func(s *featureSet) handler.Feature { return s.handlers()[i] })), h.Handles()...)
	}

	var f features
	f.Periodic = append(f.Periodic, store.PeriodicJob{
		Name:     "postmortem-sweep",
		Interval: postmortem.SweepInterval,
		Run: func(ctx context.Context) error {
			s, err := l.get(ctx)
			if err != nil {
				return err
			}
			return s.postmortem.SweepInstallations(ctx, gh)
		},
	}, store.PeriodicJob{
		// One digest issue per organisation and ISO week (found again by
		// its marker), where postmortem.digest_repo asks for one.
		Name:     "postmortem-digest",
		Interval: postmortem.DigestInterval,
		Run: func(ctx context.Context) error {
			s, err := l.get(ctx)
			if err != nil {
				return err
			}
			return s.postmortem.DigestInstallations(ctx, gh)
		},
	}, store.PeriodicJob{
		// Last week's delivery report of each team, once per team and ISO
		// week (found again by its marker), where leadtime.report_repo
		// asks for one.
		Name:     "leadtime-report",
		Interval: lth.ReportInterval,
		Run: func(ctx context.Context) error {
			s, err := l.get(ctx)
			if err != nil {
				return err
			}
			return weeklyLeadTimeReports(ctx, s.leadtime, gh)
		},
	}, store.PeriodicJob{
		// Re-verifies open handoffs, guards handed-over repositories and
		// weighs their incidents for a hand-back review.
		Name:     "onboarding-sweep",
		Interval: obshell.SweepInterval,
		Run: func(ctx context.Context) error {
			s, err := l.get(ctx)
			if err != nil {
				return err
			}
			return s.onboarding.SweepInstallations(ctx, gh)
		},
	})

	// The run task is stored like a webhook and reviewed by a worker, so a
	// restart does not lose it; TFC's access token in it is valid only until
	// the task times out. The endpoint is served only when an HMAC key is
	// set: unsigned run tasks would let anyone make tasuki comment on PRs.
	opts := []tfc.RunTaskOption{tfc.WithQueue(q), tfc.WithLogger(log)}
	if len(t.Addresses) > 0 {
		opts = append(opts, tfc.WithAllowedAddresses(t.Addresses...))
	}
	rt := tfc.NewRunTaskHandler(t.HMACKey, lazyReviewer{l}, opts...)
	r.Register(dispatch.Named("Terraform Cloud run task", rt), tfc.EventRunTask)
	if len(t.HMACKey) > 0 {
		f.Routes = append(f.Routes, server.WithRoute("POST /tfc/run-task", rt))
	}
	return f
}

// featureSet is the feature handlers, which need a complete base.
type featureSet struct {
	review      *planreview.Review
	prReview    *planreview.PullRequestReview
	pullRequest *planreview.PullRequest
	rerun       *planreview.Rerun
	postmortem  *postmortem.Handler
	onboarding  *obshell.Handler
	leadtime    *lth.Handler
	commands    *commands.Handler
	config      *configcheck.Handler
	tfc         tfc.Reviewer
}

// handlers lists the webhook handlers of s, each registered for the events
// it handles. On the zero set they are nil, which still say what they
// handle and need.
func (s *featureSet) handlers() []handler.Feature {
	return []handler.Feature{s.prReview, s.pullRequest, s.rerun, s.postmortem, s.commands, s.config, s.onboarding, s.leadtime}
}

// lazyFeatures builds the featureSet once base returns, on first use.
type lazyFeatures struct {
	base baseSource
	gh   *ghclient.Clients
	log  *slog.Logger

	mu  sync.Mutex
	set *featureSet
}

// get returns the feature handlers, waiting for the base until ctx ends
// (for a job, its JobTimeout). Waiting rather than failing at once lets the
// deliveries stored while GitHub was unreachable run as soon as it answers,
// instead of after River's growing backoff, and without spending an attempt
// unless the outage outlasts the job's timeout; every handler needs the
// identity, so the workers have nothing better to do meanwhile.
func (l *lazyFeatures) get(ctx context.Context) (*featureSet, error) {
	l.mu.Lock()
	set := l.set
	l.mu.Unlock()
	if set != nil {
		return set, nil
	}
	base, err := l.base(ctx) // not under mu: each waiter waits with its own ctx
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.set == nil {
		owners := handler.NewOwnership(base.Config, l.log, handler.WithHandoffMemo(base.Memo))
		rv := planreview.New(base, planreview.WithOwnership(owners))
		pm := postmortem.New(base, owners)
		// Every feature with /tasuki verbs registers them here.
		ob := obshell.New(base, owners)
		reg, err := commands.NewRegistry(pm, ob)
		if err != nil {
			return nil, err
		}
		lt := newLeadTime(base, l.log)
		lt.Owners = owners // metrics of a repository in handoff are its primary team's
		l.set = &featureSet{
			review:      rv,
			prReview:    &planreview.PullRequestReview{Review: rv},
			pullRequest: &planreview.PullRequest{Review: rv},
			rerun:       &planreview.Rerun{Review: rv},
			postmortem:  pm,
			onboarding:  ob,
			leadtime:    lt,
			commands:    commands.New(base, reg, owners),
			config:      configcheck.New(base, nil),
			tfc:         &planreview.TFCReviewer{Review: rv, Installations: planreview.AppInstallations{App: l.gh.App()}},
		}
	}
	return l.set, nil
}

// handler returns a dispatch.Handler that waits for the feature handlers
// and runs the one pick chooses.
func (l *lazyFeatures) handler(pick func(*featureSet) handler.Feature) dispatch.Handler {
	return dispatch.HandlerFunc(func(ctx context.Context, d dispatch.Delivery) error {
		s, err := l.get(ctx)
		if err != nil {
			return fmt.Errorf("%s delivery %s: %w", d.Event, d.ID, err)
		}
		return pick(s).Handle(ctx, d)
	})
}

// featureName names a feature handler in the errors operators read
// (`app deliveries list`): "plan review: ...", not a Go type.
func featureName(h handler.Feature) string {
	switch h.(type) {
	case *planreview.PullRequestReview, *planreview.PullRequest:
		return "plan review"
	case *planreview.Rerun:
		return "plan review re-run"
	case *postmortem.Handler:
		return "postmortem"
	case *obshell.Handler:
		return "onboarding"
	case *lth.Handler:
		return "lead time"
	case *commands.Handler:
		return "/tasuki command"
	case *configcheck.Handler:
		return "config check"
	}
	return dispatch.NameOf(h)
}

// lazyReviewer is the run task's reviewer, waiting for the feature handlers.
type lazyReviewer struct{ l *lazyFeatures }

func (r lazyReviewer) ReviewRun(ctx context.Context, run tfc.Run) (tfc.TaskResult, error) {
	s, err := r.l.get(ctx)
	if err != nil {
		return tfc.TaskResult{}, err
	}
	return s.tfc.ReviewRun(ctx, run)
}
