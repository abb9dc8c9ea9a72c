package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/ghclient"
	"github.com/tasuki-sre/tasuki/internal/ghwrite"
	"github.com/tasuki-sre/tasuki/internal/githubtest"
	"github.com/tasuki-sre/tasuki/internal/handler"
	"github.com/tasuki-sre/tasuki/internal/onboarding"
	"github.com/tasuki-sre/tasuki/internal/testenv"
)

// The App's wiring runs /tasuki onboard (the command shell holds the
// onboarding verbs) with its installation token, and schedules the daily
// onboarding sweep.
func TestOnboardThroughTheApp(t *testing.T) {
	gh := githubtest.New(t)
	gh.AddRepo("acme/payments", "main")
	gh.AddTeam("acme", "core-sre", "core-carol")
	gh.AddTeam("acme", "payments-sre", "pat")
	gh.PutFile("acme/payments", "main", ".github/tasuki.yml", []byte("ownership:\n  core_sre_team: core-sre\n"))
	talk := gh.AddIssue("acme/payments", &github.Issue{Title: github.String("Hand over")})
	clients, err := ghclient.New(ghclient.Config{AppID: 1, PrivateKeyPEM: githubtest.AppKey(), BaseURL: gh.URL()})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	base := &handler.Base{Clients: clients, Config: config.NewLoader(), Locker: &handler.MemLocker{}, Memo: &handler.MemMemo{},
		Identity: ghwrite.Identity{Logins: []string{"tasuki[bot]"}}, Log: log}
	router := dispatch.NewRouter(log)
	feats := wireFeatures(router, base, clients, nil, tfcSettings{}, log)

	sweep := false
	for _, j := range feats.Periodic {
		sweep = sweep || j.Name == "onboarding-sweep"
	}
	if !sweep {
		t.Error("no onboarding-sweep periodic job")
	}

	raw, err := os.ReadFile(filepath.Join(testenv.Fixtures(t, "webhooks"), "issue_comment.created.1.json"))
	if err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	body := "/tasuki onboard @acme/payments-sre"
	cm := gh.AddComment("acme/payments", talk.GetNumber(), "core-carol", body)
	c := p["comment"].(map[string]any)
	c["id"], c["body"], c["author_association"] = cm.GetID(), body, "MEMBER"
	c["user"].(map[string]any)["login"] = "core-carol"
	is := p["issue"].(map[string]any)
	is["number"] = talk.GetNumber()
	r := p["repository"].(map[string]any)
	r["name"], r["full_name"] = "payments", "acme/payments"
	r["owner"].(map[string]any)["login"] = "acme"
	p["sender"].(map[string]any)["login"] = "core-carol"
	p["installation"] = map[string]any{"id": 1}
	payload, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	d := dispatch.Delivery{ID: "1", Event: "issue_comment", Action: "created", InstallationID: 1, Repository: "acme/payments", Payload: payload}
	if err := router.Dispatch(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	var handoffs []*github.Issue
	for _, is := range gh.Issues("acme/payments") {
		if st, found, _ := onboarding.DecodeState(is.GetBody()); found && st.Team == "acme/payments-sre" && is.GetUser().GetLogin() == "tasuki[bot]" {
			handoffs = append(handoffs, is)
		}
	}
	if len(handoffs) != 1 {
		t.Fatalf("%d handoff issues, want 1", len(handoffs))
	}
}
