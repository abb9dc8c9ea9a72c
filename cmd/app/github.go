package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/ghclient"
	"github.com/tasuki-sre/tasuki/internal/metrics"
)

// newGitHub prepares the App's clients: App() is authenticated with the
// App's JWT (identity, hook deliveries), Client(ctx, id) acts for one
// installation (the feature handlers).
func newGitHub(cfg *settings, m *metrics.Metrics, log *slog.Logger) (*ghclient.Clients, error) {
	opts := []ghclient.Option{ghclient.WithLogger(log)}
	if m != nil {
		opts = append(opts, ghclient.WithMetrics(m))
	}
	cs, err := ghclient.New(ghclient.Config{AppID: cfg.AppID, PrivateKeyPEM: cfg.PrivateKey, BaseURL: cfg.APIURL}, opts...)
	if err != nil {
		// ghclient's errors never include the key.
		return nil, badSetting("%v: check TASUKI_GITHUB_APP_ID and TASUKI_GITHUB_PRIVATE_KEY(_FILE)", err)
	}
	return cs, nil
}

// appLogin asks GitHub once who the App is, which proves the App ID and key
// work, and returns the login its artefacts are written by ("slug[bot]").
func appLogin(ctx context.Context, app *github.Client) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	id, err := ghclient.FetchIdentity(ctx, app)
	if err != nil {
		if refusedCredentials(err) {
			return "", errRefusedCredentials
		}
		return "", fmt.Errorf("ask GitHub who the App is: %w", err)
	}
	return id.Login, nil
}

// errRefusedCredentials is GitHub's 401 to GET /app as a setting error.
var errRefusedCredentials = badSetting("GitHub refused the App's token (401 on GET /app): check that TASUKI_GITHUB_APP_ID matches the private key")

// refusedCredentials reports whether GitHub answered err with 401: it is up
// and does not accept the App's JWT (a wrong App ID or key), which waiting
// does not fix.
func refusedCredentials(err error) bool {
	var er *github.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusUnauthorized
}

// identityStartupWait is how long `app serve` waits for GitHub's first
// answer to GET /app before serving anyway. GitHub answers in well under a
// second when it is up; the wait only lets a wrong App ID or key stop
// start-up with a clear message.
const identityStartupWait = 5 * time.Second

// resolveIdentity starts asking GitHub who the App is, in the background
// and until it answers, and waits up to identityStartupWait for the first
// answer. It fails only when GitHub refuses the App's credentials; while
// GitHub is unreachable or failing, the App serves, stores deliveries and
// its jobs wait for the identity. Stop the resolver when done.
func resolveIdentity(ctx context.Context, app *github.Client, log *slog.Logger) (*ghclient.IdentityResolver, error) {
	id := ghclient.ResolveIdentity(ctx, app, ghclient.WithIdentityLogger(log))
	wctx, cancel := context.WithTimeout(ctx, identityStartupWait)
	defer cancel()
	err := id.FirstAnswer(wctx)
	switch {
	case err == nil:
	case refusedCredentials(err):
		id.Stop()
		return nil, errRefusedCredentials
	default:
		log.Warn("GitHub has not said who the App is; serving anyway: deliveries are stored and their jobs wait until it does", "err", err)
	}
	return id, nil
}
