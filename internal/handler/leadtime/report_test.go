package leadtime_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/config"
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
func (s storeSource) Prepare(ctx context.Context, repo string, since, until time.Time, cfg core.Config) (*core.Prepared, error) {
	return s.st.PrepareHistory(ctx, store.HistoryQuery{Repo: repo, Since: since, Until: until}, cfg)
}

// installations is the App's view of the fake GitHub: its JWT client and
// each installation's own.
type installations struct{ srv *githubtest.Server }

func (s installations) Client(_ context.Context, id int64) (*github.Client, error) {
	return s.srv.InstallationClient(id), nil
}

func (s installations) App() *github.Client { return s.srv.AppClient() }

// The weekly report job posts, for each organisation whose .github
// configuration names leadtime.report_repo, one issue per team for last
// week, with the metrics and links to the pull requests; run again
// (another replica, the next day), it posts nothing more. Weeks are cut in
// the configured zone: Asia/Tokyo's week 2026-W48 runs from 2026-11-22
// 15:00 UTC to 2026-11-29 15:00 UTC.
func TestWeeklyReport(t *testing.T) {
	ctx := context.Background()
	srv := githubtest.New(t)
	srv.AddRepo("acme/metrics", "main")
	srv.AddRepo("acme/.github", "main")
	srv.PutFile("acme/.github", "main", ".github/tasuki.yml", []byte("leadtime:\n  report_repo: metrics\n  timezone: Asia/Tokyo\n"))
	srv.AddRepo("other/.github", "main")
	srv.PutFile("other/.github", "main", ".github/tasuki.yml", []byte("leadtime:\n  report_repo: acme/metrics\n"))
	srv.AddInstallation(2, "other")
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "t.db"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clock := func() time.Time { return mustTime("2026-12-02T06:00:00Z") }
	h := lth.New(&handler.Base{Clients: installations{srv}, Memo: st, Locker: &handler.MemLocker{}, Config: config.NewLoader(), Now: clock,
		Identity: ghwrite.Identity{Logins: []string{"tasuki[bot]"}}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, st)
	// #4 is shipped on Monday 01:00 in Tokyo (Sunday in UTC, week 47);
	// #5 on Monday 01:00 a week later (Sunday of week 48 in UTC).
	recordShipped(t, st, "acme/api", 4, "2026-11-22T15:10:00Z", "2026-11-22T15:30:00Z", "2026-11-22T16:00:00Z")
	recordShipped(t, st, "acme/api", 5, "2026-11-29T15:10:00Z", "2026-11-29T15:30:00Z", "2026-11-29T16:00:00Z")
	for run := 1; run <= 2; run++ {
		if err := h.ReportInstallations(ctx, installations{srv}, storeSource{st}); err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
	}
	issues := srv.Issues("acme/metrics")
	if len(issues) != 1 {
		t.Fatalf("%d report issues after two runs, want 1 (none for the organisation naming another's repository)", len(issues))
	}
	is := issues[0]
	body := is.GetBody()
	// The chart shows the weeks before too.
	for _, want := range []string{"2026-W48", "acme/api", "https://github.com/acme/api/pull/4", "```mermaid", "2026-W41", "2026-11-23 to 2026-11-29, Asia/Tokyo"} {
		if !strings.Contains(is.GetTitle()+body, want) {
			t.Errorf("report lacks %q:\n%s\n%s", want, is.GetTitle(), body)
		}
	}
	if strings.Contains(body, "/pull/5") {
		t.Errorf("report lists #5, shipped on Monday of the next week in Tokyo (cut in UTC?):\n%s", body)
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

// recordShipped records pull request n of repo, ready, reviewed 10 minutes
// later, merged and deployed at the times given.
func recordShipped(t *testing.T, st *store.Store, repo string, n int, ready, merged, deploy string) {
	t.Helper()
	ctx := context.Background()
	sha := strings.Repeat(strconv.Itoa(n%10), 40)
	if err := st.RecordPulls(ctx, []core.Pull{{Repo: repo, Number: n, Title: "Speed up | checkout <b>", Author: "alice",
		FirstCommitAt: mustTime(ready).Add(-time.Hour), OpenedAt: mustTime(ready), ReadyAt: mustTime(ready),
		MergedAt: mustTime(merged), MergeSHA: sha}}); err != nil {
		t.Fatal(err)
	}
	if err := st.RecordDeployments(ctx, []core.Deployment{{Repo: repo, ID: "deployment:" + strconv.Itoa(n), Source: core.SourceDeploymentStatus,
		Environment: "production", SHA: sha, FinishedAt: mustTime(deploy), Commits: []string{sha}}}); err != nil {
		t.Fatal(err)
	}
	if err := st.RecordReviews(ctx, []core.Review{{Repo: repo, Number: n, ID: int64(40 + n), Reviewer: "bob", State: "APPROVED",
		At: mustTime(ready).Add(10 * time.Minute)}}); err != nil {
		t.Fatal(err)
	}
}

// A public report repository gets only public repositories' sections: a
// private repository's pull request titles are not for everyone.
func TestWeeklyReportPublic(t *testing.T) {
	ctx := context.Background()
	srv := githubtest.New(t)
	srv.AddRepo("acme/metrics", "main")
	srv.SetVisibility("acme/metrics", "public")
	srv.AddRepo("acme/web", "main")
	srv.SetVisibility("acme/web", "public")
	srv.AddRepo("acme/secret", "main") // private
	srv.AddRepo("acme/.github", "main")
	srv.PutFile("acme/.github", "main", ".github/tasuki.yml", []byte("leadtime:\n  report_repo: metrics\n"))
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "t.db"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := lth.New(&handler.Base{Clients: installations{srv}, Memo: st, Locker: &handler.MemLocker{}, Config: config.NewLoader(),
		Now:      func() time.Time { return mustTime("2026-12-02T06:00:00Z") },
		Identity: ghwrite.Identity{Logins: []string{"tasuki[bot]"}}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, st)
	recordShipped(t, st, "acme/web", 7, "2026-11-24T09:00:00Z", "2026-11-24T10:00:00Z", "2026-11-24T11:00:00Z")
	recordShipped(t, st, "acme/secret", 8, "2026-11-24T09:00:00Z", "2026-11-24T10:00:00Z", "2026-11-24T11:00:00Z")
	if err := h.ReportInstallations(ctx, installations{srv}, storeSource{st}); err != nil {
		t.Fatal(err)
	}
	issues := srv.Issues("acme/metrics")
	if len(issues) != 1 {
		t.Fatalf("%d report issues, want 1", len(issues))
	}
	body := issues[0].GetBody()
	if !strings.Contains(body, "acme/web/pull/7") || !strings.Contains(body, "left out (this repository is public): 1") {
		t.Errorf("report lacks the public repository or the note on the private one:\n%s", body)
	}
	if strings.Contains(body, "secret") {
		t.Errorf("a public report shows a private repository:\n%s", body)
	}
}
