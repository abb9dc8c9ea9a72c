package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/ghclient"
	"github.com/tasuki-sre/tasuki/internal/ghwrite"
	"github.com/tasuki-sre/tasuki/internal/githubtest"
	"github.com/tasuki-sre/tasuki/internal/handler"
	"github.com/tasuki-sre/tasuki/internal/server"
	"github.com/tasuki-sre/tasuki/internal/testenv"
	"github.com/tasuki-sre/tasuki/internal/yamlsafe/yamlsafetest"
)

// TestHostileConfigThroughTheApp: a pull request whose head carries a
// .github/tasuki.yml built to exhaust a YAML parser reaches the App's full
// wiring (every handler registered for pull_request, the real config
// loader, ghclient against the in-memory GitHub). The delivery is handled
// without error within the memory budget, and tasuki/config fails at the
// file's line.
func TestHostileConfigThroughTheApp(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(testenv.Fixtures(t, "webhooks"), "pull_request.opened.1.json"))
	if err != nil {
		t.Fatal(err)
	}
	gh := githubtest.New(t)
	clients, err := ghclient.New(ghclient.Config{AppID: 1, PrivateKeyPEM: githubtest.AppKey(), BaseURL: gh.URL()})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	base := &handler.Base{
		Clients: clients, Config: config.NewLoader(), Locker: &handler.MemLocker{}, Memo: &handler.MemMemo{},
		Identity: ghwrite.Identity{Logins: []string{"tasuki[bot]"}}, Log: log,
	}
	router := dispatch.NewRouter(log)
	wireFeatures(router, base, clients, nil, tfcSettings{}, log)
	const repo = "Codertocat/Hello-World"
	gh.AddRepo(repo, "main")
	for i, c := range yamlsafetest.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			branch := fmt.Sprintf("hostile-%d", i)
			head := gh.PutFile(repo, branch, config.Path, c.Data)
			pr := gh.AddPull(repo, &github.PullRequest{Title: github.String("Tune tasuki"), User: &github.User{Login: github.String("mallory")},
				Head: &github.PullRequestBranch{Ref: github.String(branch), SHA: github.String(head)}})
			gh.SetPullFiles(repo, pr.GetNumber(), &github.CommitFile{Filename: github.String(config.Path), Status: github.String("modified")})
			var m map[string]any
			if err := json.Unmarshal(withInstallation(t, raw), &m); err != nil {
				t.Fatal(err)
			}
			m["number"] = pr.GetNumber()
			p := m["pull_request"].(map[string]any)
			p["number"] = pr.GetNumber()
			p["head"].(map[string]any)["sha"] = head
			payload, _ := json.Marshal(m)
			d, err := server.ParseDelivery("hostile-"+branch, "pull_request", payload)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			alloc := yamlsafetest.Allocated(func() { err = router.Dispatch(ctx, d) })
			if err != nil {
				t.Fatalf("dispatch: %v", err)
			}
			if alloc > yamlsafetest.Budget {
				t.Errorf("handling the delivery allocated %d MB, budget %d MB", alloc>>20, yamlsafetest.Budget>>20)
			}
			var found bool
			for _, cr := range gh.CheckRuns(repo) {
				if cr.GetName() != "tasuki/config" || cr.GetHeadSHA() != head {
					continue
				}
				found = true
				title := cr.GetOutput().GetTitle()
				if cr.GetConclusion() != "failure" || !strings.Contains(title, fmt.Sprintf("Line %d: ", c.Line)) || !strings.Contains(title, c.Msg) {
					t.Errorf("tasuki/config %q %q, want a failure at line %d saying %q", cr.GetConclusion(), title, c.Line, c.Msg)
				}
			}
			if !found {
				t.Errorf("no tasuki/config check run on the head")
			}
		})
	}
}
