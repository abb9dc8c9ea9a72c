package planreview_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/config"
	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/ghclient"
	"github.com/tasuki-sre/tasuki/internal/ghwrite"
	"github.com/tasuki-sre/tasuki/internal/githubtest"
	"github.com/tasuki-sre/tasuki/internal/handler"
	"github.com/tasuki-sre/tasuki/internal/handler/planreview"
	"github.com/tasuki-sre/tasuki/internal/review"
)

// BenchmarkReevaluate measures one re-evaluation (a review event) against
// the in-memory GitHub, reporting the API calls it makes.
func BenchmarkReevaluate(b *testing.B) {
	e := newReviewEnv(b, nil)
	e.post(b, fxHead, readPlan(b, "tofu-showjson-basic-delete.json"))
	e.srv.AddReview(fxRepo, fxPR, "bob", "APPROVED", fxHead)
	ctx := context.Background()
	e.srv.ResetCalls()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.rv.Reevaluate(ctx, e.c, fxOwner, fxName, fxPR); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(len(e.srv.Calls()))/float64(b.N), "api-calls/op")
	b.ReportMetric(float64(e.srv.WriteCount())/float64(b.N), "api-writes/op")
}

// BenchmarkPostPlan measures publishing a plan (unchanged after the first
// iteration, so the writes are skipped), reporting API calls.
func BenchmarkPostPlan(b *testing.B) {
	e := newReviewEnv(b, nil)
	plan := readPlan(b, "infracost-tf014-26-resources-mixed.json")
	e.post(b, fxHead, plan)
	e.srv.ResetCalls()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.post(b, fxHead, plan)
	}
	b.StopTimer()
	b.ReportMetric(float64(len(e.srv.Calls()))/float64(b.N), "api-calls/op")
	b.ReportMetric(float64(e.srv.WriteCount())/float64(b.N), "api-writes/op")
}

// stepClock is a clock the benchmark moves on by hand.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *stepClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// appEnv is plan review as the App runs it: a client with ghclient's
// transport (ETag cache: repeated reads are conditional), the
// configuration loader and the ownership shell with their caches on a
// clock the benchmark moves, and a memo.
type appEnv struct {
	srv   *githubtest.Server
	clock *stepClock
	h     *planreview.PullRequestReview
	rv    *planreview.Review
	c     *github.Client
}

func newAppEnv(b *testing.B, orgDefaults bool) *appEnv {
	b.Helper()
	srv := githubtest.New(b)
	srv.AddRepo(fxRepo, "main")
	srv.AddIssue(fxRepo, &github.Issue{Title: github.String("an issue taking #1")})
	srv.AddPull(fxRepo, &github.PullRequest{Title: github.String("Remove the old bucket"),
		User: &github.User{Login: github.String(fxAuthor)}, Head: &github.PullRequestBranch{SHA: github.String(fxHead)}})
	srv.SetPullCommits(fxRepo, fxPR,
		&github.RepositoryCommit{SHA: github.String(fxHead), Author: &github.User{Login: github.String(fxAuthor)}, Committer: &github.User{Login: github.String("carol")}})
	srv.AddTeam("Codertocat", "sre", "bob")
	srv.PutFile(fxRepo, "main", config.Path, []byte("review:\n  approvers:\n    teams: [Codertocat/sre]\n"))
	if orgDefaults {
		srv.AddRepo("Codertocat/.github", "main")
		srv.PutFile("Codertocat/.github", "main", config.Path, []byte("review:\n  approvals: 1\n"))
	}
	c, err := ghclient.NewTokenClient(srv.Token("tasuki[bot]"), srv.URL(), ghclient.WithTransport(srv.HTTPClient().Transport),
		ghclient.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		b.Fatal(err)
	}
	clock := &stepClock{t: time.Now()}
	base := &handler.Base{
		Clients:  staticClients{c},
		Config:   config.NewLoader(config.WithClock(clock.now)),
		Locker:   &handler.MemLocker{},
		Memo:     &handler.MemMemo{},
		Identity: ghwrite.Identity{Logins: []string{"tasuki[bot]"}},
		Log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	own := handler.NewOwnership(base.Config, base.Log, handler.WithOwnershipClock(clock.now))
	rv := planreview.New(base, planreview.WithOwnership(own))
	e := &appEnv{srv: srv, clock: clock, h: &planreview.PullRequestReview{Review: rv}, rv: rv, c: c}
	if _, err := rv.PostPlan(context.Background(), c, planreview.PostPlanInput{Owner: fxOwner, Repo: fxName, Number: fxPR,
		HeadSHA: fxHead, Plans: []*review.Plan{readPlan(b, "tofu-showjson-basic-delete.json")}}); err != nil {
		b.Fatal(err)
	}
	return e
}

// reviewEvent is the pull_request_review delivery GitHub sends when login
// submits a review in state: the pull request as of now.
func (e *appEnv) reviewEvent(b *testing.B, i int, login, state string) dispatch.Delivery {
	b.Helper()
	rv := e.srv.AddReview(fxRepo, fxPR, login, state, fxHead)
	now := github.Timestamp{Time: time.Now()}
	ev := github.PullRequestReviewEvent{
		Action: github.String("submitted"),
		Review: rv,
		PullRequest: &github.PullRequest{Number: github.Int(fxPR), UpdatedAt: &now,
			Head: &github.PullRequestBranch{SHA: github.String(fxHead)}, User: &github.User{Login: github.String(fxAuthor)}},
		Repo: &github.Repository{Name: github.String(fxName), FullName: github.String(fxRepo),
			Owner: &github.User{Login: github.String(fxOwner)}},
		Installation: &github.Installation{ID: github.Int64(1)},
		Sender:       &github.User{Login: github.String(login)},
	}
	p, err := json.Marshal(ev)
	if err != nil {
		b.Fatal(err)
	}
	return dispatch.Delivery{ID: "bench-" + string(rune('a'+i%26)), Event: "pull_request_review", Action: "submitted",
		InstallationID: 1, Repository: fxRepo, Payload: p}
}

// BenchmarkReviewEvent measures the GitHub requests one pull_request_review
// delivery costs the App in steady state: the plan was posted earlier,
// events arrive minutes apart (the configuration and ownership caches have
// expired, so files are revalidated), and every event brings a new review
// (so the reviews list is read afresh). rate-limited-requests/op counts
// what GitHub charges: every request but the 304 answers to conditional
// ones. "same-verdict": a review that changes nothing (a comment);
// "verdict-flips": approvals and change requests by an eligible reviewer
// alternate, so every event edits the comment and the check.
func BenchmarkReviewEvent(b *testing.B) {
	for _, bc := range []struct {
		name        string
		orgDefaults bool
		flip        bool
	}{
		{"same-verdict", true, false},
		{"same-verdict/no-org-.github", false, false},
		{"verdict-flips", true, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := newAppEnv(b, bc.orgDefaults)
			ctx := context.Background()
			// One event first: the caches are warm as in a running App.
			if err := e.h.Handle(ctx, e.reviewEvent(b, 0, "dave", "COMMENTED")); err != nil {
				b.Fatal(err)
			}
			e.srv.ResetCalls()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				e.clock.add(5 * time.Minute)
				login, state := "dave", "COMMENTED"
				if bc.flip {
					login, state = "bob", "APPROVED"
					if i%2 == 1 {
						state = "CHANGES_REQUESTED"
					}
				}
				d := e.reviewEvent(b, i, login, state)
				b.StartTimer()
				if err := e.h.Handle(ctx, d); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			calls := e.srv.Calls()
			limited := 0
			for _, c := range calls {
				if c.Status != http.StatusNotModified {
					limited++
				}
			}
			b.ReportMetric(float64(len(calls))/float64(b.N), "api-calls/op")
			b.ReportMetric(float64(limited)/float64(b.N), "rate-limited-requests/op")
			b.ReportMetric(float64(e.srv.WriteCount())/float64(b.N), "api-writes/op")
		})
	}
}
