package leadtime_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/ghwrite"
	"github.com/tasuki-sre/tasuki/internal/githubtest"
	"github.com/tasuki-sre/tasuki/internal/handler"
	lth "github.com/tasuki-sre/tasuki/internal/handler/leadtime"
	"github.com/tasuki-sre/tasuki/internal/onboarding"
	"github.com/tasuki-sre/tasuki/internal/ownership"
	"github.com/tasuki-sre/tasuki/internal/store"
)

// handoffIssue adds to full the handoff issue of a move from core-sre to
// payments-sre in phase p, opened by author.
func handoffIssue(t *testing.T, srv *githubtest.Server, full string, p ownership.Phase, author string) {
	t.Helper()
	c := onboarding.Default()
	d := onboarding.Start(onboarding.StartRequest{Repo: full, Team: "@" + strings.Split(full, "/")[0] + "/payments-sre", Actor: "carl", Trigger: "command",
		ActorIsCore: true, CoreTeam: "core-sre"}, onboarding.DefaultConfig(), c, time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	if len(d.Intents) == 0 {
		t.Fatal("onboarding.Start opened no issue")
	}
	s := d.State
	s.Phase = p
	srv.AddIssue(full, &github.Issue{Title: github.String("SRE handoff"), Body: github.String(onboarding.RenderBody(d.Intents[0].Issue.Body, s, c)),
		User: &github.User{Login: github.String(author)}, Labels: []*github.Label{{Name: github.String(onboarding.DefaultLabel)}}})
}

// During a repository's SRE handoff its delivery metrics are the team's
// that owns it now: the weekly report names the core SRE team until
// Reverse shadow and the incoming team from then on, and the settings the
// metrics API reads (without calling GitHub) say the same. A handoff issue
// someone else opened moves nothing.
func TestHandoffTeam(t *testing.T) {
	tests := []struct {
		name   string
		phase  ownership.Phase // "": no handoff issue
		author string
		want   string // team the report is for; "": the organisation's
	}{
		// No event recorded the repository's settings: the organisation's
		// report.
		{name: "no handoff"},
		{name: "shadow", phase: ownership.PhaseShadow, author: "tasuki[bot]", want: "core-sre"},
		{name: "observe", phase: ownership.PhaseObserve, author: "tasuki[bot]", want: "core-sre"},
		{name: "reverse shadow", phase: ownership.PhaseReverseShadow, author: "tasuki[bot]", want: "payments-sre"},
		{name: "guard", phase: ownership.PhaseGuard, author: "tasuki[bot]", want: "payments-sre"},
		{name: "forged", phase: ownership.PhaseReverseShadow, author: "mallory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			srv := githubtest.New(t)
			srv.AddRepo("acme/metrics", "main")
			srv.AddRepo("acme/.github", "main")
			srv.PutFile("acme/.github", "main", ".github/tasuki.yml", []byte("leadtime:\n  report_repo: metrics\n"))
			srv.AddRepo("acme/api", "main")
			srv.PutFile("acme/api", "main", ".github/tasuki.yml", []byte("ownership:\n  default_team: payments\n  core_sre_team: core-sre\n"))
			if tt.phase != "" {
				handoffIssue(t, srv, "acme/api", tt.phase, tt.author)
			}
			st, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "t.db"), slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			base := &handler.Base{Clients: installations{srv}, Memo: st, Locker: &handler.MemLocker{}, Config: config.NewLoader(),
				Now:      func() time.Time { return mustTime("2026-12-02T06:00:00Z") },
				Identity: ghwrite.Identity{Logins: []string{"tasuki[bot]"}}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			h := lth.New(base, st)
			h.Owners = handler.NewOwnership(base.Config, base.Log, handler.WithHandoffMemo(st))
			recordShipped(t, st, "acme/api", 4, "2026-11-24T09:00:00Z", "2026-11-24T10:00:00Z", "2026-11-24T11:00:00Z")
			if err := h.ReportInstallations(ctx, installations{srv}, storeSource{st}); err != nil {
				t.Fatal(err)
			}
			var titles []string
			for _, is := range srv.Issues("acme/metrics") {
				titles = append(titles, is.GetTitle())
			}
			who := ": all repositories of acme"
			if tt.want != "" {
				who = ": team " + tt.want
			}
			if len(titles) != 1 || !strings.HasSuffix(titles[0], who) {
				t.Errorf("report issues %q, want one ending %q", titles, who)
			}
			s, err := lth.LoadSettings(ctx, st, "acme/api")
			if err != nil {
				t.Fatal(err)
			}
			if got := s.TeamOf("checkout"); got != tt.want {
				t.Errorf("remembered settings attribute acme/api to %q, want %q (%+v)", got, tt.want, s)
			}
		})
	}
}

// Recording an event remembers the repository's handoff team for the
// metrics API: an incident during Shadow is the core SRE team's.
func TestHandoffTeamRecorded(t *testing.T) {
	ctx := context.Background()
	srv := githubtest.New(t)
	srv.AddRepo(repo, "master")
	srv.PutFile(repo, "master", ".github/tasuki.yml", []byte("ownership:\n  default_team: payments\n  core_sre_team: core-sre\n"))
	handoffIssue(t, srv, repo, ownership.PhaseShadow, "tasuki[bot]")
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "t.db"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	base := &handler.Base{Clients: clients{srv}, Memo: st, Config: config.NewLoader(),
		Identity: ghwrite.Identity{Logins: []string{"tasuki[bot]"}}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	h := lth.New(base, st)
	h.Owners = handler.NewOwnership(base.Config, base.Log)
	d := delivery("issues", "d-1", fixture(t, "issues.labeled.1", map[string]any{
		"issue.labels": []any{map[string]any{"name": "incident"}}, "label.name": "incident"}))
	if err := h.Handle(ctx, d); err != nil {
		t.Fatal(err)
	}
	s, err := lth.LoadSettings(ctx, st, repo)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.TeamOf(""); got != "core-sre" {
		t.Errorf("settings attribute %s to %q during Shadow, want core-sre (%+v)", repo, got, s)
	}
}
