package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/google/go-github/v60/github"
	"github.com/sethvargo/go-githubactions"

	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/ghclient"
	"github.com/tasuki-sre/tasuki/internal/ghwrite"
	"github.com/tasuki-sre/tasuki/internal/handler"
)

// ActionsIdentity is the login GITHUB_TOKEN writes as: the comments and
// issues tasuki finds again by marker are the ones this account wrote.
const ActionsIdentity = "github-actions[bot]"

// actionStep is what every command shares when it runs as a workflow step:
// the runner's command writer, the token it writes with and the log.
type actionStep struct {
	act   *githubactions.Action
	token string // the github-token input, else GITHUB_TOKEN; masked
	log   *slog.Logger
	e     env
}

// newActionStep reads the token and masks it before anything is printed.
// Without GITHUB_OUTPUT or GITHUB_STEP_SUMMARY (a runner that does not set
// them, or GITHUB_ACTIONS=true set by hand) the outputs and summary are
// dropped with a warning: go-githubactions would panic writing to "".
func newActionStep(e env) *actionStep {
	for _, k := range []string{"GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"} {
		if e.Getenv(k) == "" {
			fmt.Fprintf(e.Stderr, "warning: %s is not set, so this step's %s are dropped\n", k,
				map[string]string{"GITHUB_OUTPUT": "outputs", "GITHUB_STEP_SUMMARY": "summary"}[k])
		}
	}
	getenv := func(k string) string {
		v := e.Getenv(k)
		if v == "" && (k == "GITHUB_OUTPUT" || k == "GITHUB_STEP_SUMMARY") {
			return os.DevNull
		}
		return v
	}
	act := githubactions.New(githubactions.WithGetenv(getenv), githubactions.WithWriter(e.Stdout))
	token := input(act, "github-token")
	if token == "" {
		token = e.Getenv("GITHUB_TOKEN")
	}
	if token != "" {
		act.AddMask(token)
	}
	return &actionStep{act: act, token: token, log: slog.New(slog.NewTextHandler(e.Stderr, nil)), e: e}
}

// fail reports an error annotation on the step, and the same line with
// the one error prefix on stderr as on a terminal, and returns exit code 1.
func (s *actionStep) fail(format string, args ...any) int {
	s.act.Errorf(format, args...)
	fmt.Fprintf(s.e.Stderr, "tasuki: "+format+"\n", args...)
	return 1
}

// bad is fail for bad input (an unreadable plan, a malformed input or
// config): exit code 2, as on a terminal.
func (s *actionStep) bad(format string, args ...any) int {
	s.fail(format, args...)
	return 2
}

// base returns the handler.Base the command's shell runs on: the token's
// client (TASUKI_GITHUB_API_URL, else the runner's GITHUB_API_URL, which
// names a GitHub Enterprise Server), the configuration from configPath in
// the checkout or else through the API, and an in-memory lock and memo
// (one job is one process). what says what the token is needed for.
func (s *actionStep) base(configPath, what string) (*handler.Base, *github.Client, error) {
	if s.token == "" {
		return nil, nil, fmt.Errorf("no github-token input and no GITHUB_TOKEN: cannot %s", what)
	}
	apiURL := s.e.Getenv("TASUKI_GITHUB_API_URL")
	if apiURL == "" {
		apiURL = s.e.Getenv("GITHUB_API_URL")
	}
	gh, err := ghclient.NewTokenClient(s.token, apiURL)
	if err != nil {
		return nil, nil, err
	}
	return &handler.Base{
		Clients:  staticClients{gh},
		Config:   actionConfig{path: configPath, api: config.NewLoader()},
		Locker:   &handler.MemLocker{},
		Memo:     &handler.MemMemo{},
		Identity: ghwrite.Identity{Logins: []string{ActionsIdentity}},
		Log:      s.log,
	}, gh, nil
}

// actionConfig loads the configuration for the Action: the file at path in
// the checkout when given (the workflow may run before the file is on the
// default branch), else the organisation's and repository's files through
// the API, as the App does.
type actionConfig struct {
	path string
	api  *config.Loader
}

func (a actionConfig) Load(ctx context.Context, c *github.Client, owner, repo string) config.Fetched {
	if a.path == "" {
		return a.api.Load(ctx, c, owner, repo)
	}
	// Named by its path, which need not be .github/tasuki.yml.
	return readConfigFile(a.path)
}

// readConfigFile reads the tasuki.yml at path (--config, the Action's
// config input, or the checkout's .github/tasuki.yml). Its problems are
// named by that path, one per line: "ci/tasuki.yml:3:5: review.approvalz:
// unknown key ...".
func readConfigFile(path string) config.Fetched {
	data, err := os.ReadFile(path)
	if err != nil {
		return config.Fetched{Config: config.Default(), Err: fmt.Errorf("read config: %w", err)}
	}
	return config.ParseLocal(path, data)
}

// staticClients is the Action's client source: one GITHUB_TOKEN client.
type staticClients struct{ c *github.Client }

func (s staticClients) Client(context.Context, int64) (*github.Client, error) { return s.c, nil }
