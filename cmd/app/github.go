package main

import (
	"context"
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

// appLogin asks GitHub who the App is, which proves the App ID and key
// work, and returns the login its artefacts are written by ("slug[bot]").
func appLogin(ctx context.Context, app *github.Client) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	a, resp, err := app.Apps.Get(ctx, "")
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusUnauthorized {
			return "", badSetting("GitHub refused the App's token (401 on GET /app): check that TASUKI_GITHUB_APP_ID matches the private key")
		}
		return "", fmt.Errorf("ask GitHub who the App is (GET /app): %w", err)
	}
	if a.GetSlug() == "" {
		return "", fmt.Errorf("GET /app returned no slug")
	}
	return a.GetSlug() + "[bot]", nil
}
