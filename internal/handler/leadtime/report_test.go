package leadtime_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tasuki-sre/tasuki/internal/ghwrite"
	"github.com/tasuki-sre/tasuki/internal/githubtest"
	"github.com/tasuki-sre/tasuki/internal/handler"
	lth "github.com/tasuki-sre/tasuki/internal/handler/leadtime"
	core "github.com/tasuki-sre/tasuki/internal/leadtime"
	"github.com/tasuki-sre/tasuki/internal/marker"
	"github.com/tasuki-sre/tasuki/internal/store"
)

type storeSource struct{ st *store.Store }

func (s storeSource) Repos(ctx context.Context) ([]string, error) { return s.st.LeadTimeRepos(ctx) }
func (s storeSource) History(ctx context.Context, repo string, since, until time.Time, cfg core.Config) (core.History, error) {
	return s.st.History(ctx, store.HistoryQuery{Repo: repo, Since: since, Until: until, Bots: cfg.Bots})
}

// The weekly report posts one issue per team for last week, with the
// metrics and links to the pull requests; run again (another replica, the
// next day), it posts nothing more.
func TestWeeklyReport(t *testing.T) {
	ctx := context.Background()
	srv := githubtest.New(t)
	srv.AddRepo("acme/metrics", "main")
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "t.db"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := lth.New(&handler.Base{Clients: clients{srv}, Memo: st, Locker: &handler.MemLocker{},
		Identity: ghwrite.Identity{Logins: []string{"tasuki[bot]"}}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, st)
	// Week 2026-W48 is 11-23 to 11-29; the job runs on 12-02.
	if err := st.RecordPulls(ctx, []core.Pull{{Repo: "acme/api", Number: 4, Title: "Speed up | checkout <b>", Author: "alice",
		FirstCommitAt: mustTime("2026-11-24T08:00:00Z"), OpenedAt: mustTime("2026-11-24T09:00:00Z"), ReadyAt: mustTime("2026-11-24T09:00:00Z"),
		MergedAt: mustTime("2026-11-24T12:00:00Z"), MergeSHA: "4444444444444444444444444444444444444444"}}); err != nil {
		t.Fatal(err)
	}
	if err := st.RecordDeployments(ctx, []core.Deployment{{Repo: "acme/api", ID: "deployment:1", Source: core.SourceDeploymentStatus,
		Environment: "production", SHA: "4444444444444444444444444444444444444444", FinishedAt: mustTime("2026-11-24T14:00:00Z"),
		Commits: []string{"4444444444444444444444444444444444444444"}}}); err != nil {
		t.Fatal(err)
	}
	if err := st.RecordReviews(ctx, []core.Review{{Repo: "acme/api", Number: 4, ID: 40, Reviewer: "bob", State: "APPROVED",
		At: mustTime("2026-11-24T11:00:00Z")}}); err != nil {
		t.Fatal(err)
	}
	now := mustTime("2026-12-02T06:00:00Z")
	for run := 1; run <= 2; run++ {
		if err := h.Report(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), srv.Client(), storeSource{st}, "acme", "metrics", now); err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
	}
	issues := srv.Issues("acme/metrics")
	if len(issues) != 1 {
		t.Fatalf("%d report issues after two runs, want 1", len(issues))
	}
	is := issues[0]
	body := is.GetBody()
	// The chart shows the weeks before too.
	for _, want := range []string{"2026-W48", "acme/api", "https://github.com/acme/api/pull/4", "```mermaid", "2026-W41"} {
		if !strings.Contains(is.GetTitle()+body, want) {
			t.Errorf("report lacks %q:\n%s\n%s", want, is.GetTitle(), body)
		}
	}
	if strings.Contains(body, "<b>") {
		t.Errorf("a pull request title reached the report unescaped:\n%s", body)
	}
	var found bool
	for _, m := range marker.Find(body) {
		found = found || m.Kind == lth.ReportMarkerKind && m.Key == "all.2026-W48"
	}
	if !found {
		t.Errorf("report carries no marker %s key all.2026-W48:\n%s", lth.ReportMarkerKind, body)
	}
}
