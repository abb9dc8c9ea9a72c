package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/examples"
	"github.com/tasuki-sre/tasuki/internal/api"
	"github.com/tasuki-sre/tasuki/internal/dispatch"
	"github.com/tasuki-sre/tasuki/internal/ghclient"
	"github.com/tasuki-sre/tasuki/internal/ghwrite"
	"github.com/tasuki-sre/tasuki/internal/githubtest"
	lth "github.com/tasuki-sre/tasuki/internal/handler/leadtime"
	"github.com/tasuki-sre/tasuki/internal/handler/planreview"
	core "github.com/tasuki-sre/tasuki/internal/leadtime"
	"github.com/tasuki-sre/tasuki/internal/onboarding"
	"github.com/tasuki-sre/tasuki/internal/review"
	"github.com/tasuki-sre/tasuki/internal/server"
	"github.com/tasuki-sre/tasuki/internal/store"
)

// The demo repository and pull request, as the bundled events name them.
const (
	demoRepo  = "acme/payments"
	demoPR    = 42
	demoHead  = "6f1c2e9a4b7d8c0e1f2a3b4c5d6e7f8091a2b3c4"
	demoIssue = 7
)

// cmdDemo runs the App's real path with no credentials: an in-memory GitHub
// stands in for github.com, the database is SQLite in a temporary directory,
// and the bundled deliveries go through the real webhook endpoint, store,
// River workers and feature handlers. It prints what tasuki wrote to GitHub.
func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("demo", flag.ContinueOnError)
	fset.SetOutput(stderr)
	keep := fset.Bool("keep", false, "keep the demo database and print its path")
	verbose := fset.Bool("v", false, "log what the server and workers do")
	if err := parseFlags(fset, args); err != nil {
		return err
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	rep := &demoReporter{}
	// The in-memory GitHub's clock follows the incident's story, so the
	// timestamps GitHub assigns (reviews, comments, closing) read naturally.
	clock := &demoClock{t: time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)}
	gh, err := githubtest.NewStandalone(rep, githubtest.WithAppSlug("tasuki"), githubtest.WithClock(clock.now))
	if err != nil {
		return err
	}
	defer rep.cleanup()
	if err := seedDemo(gh); err != nil {
		return err
	}

	dir, err := os.MkdirTemp("", "tasuki-demo-")
	if err != nil {
		return fmt.Errorf("create demo directory: %w", err)
	}
	if !*keep {
		defer os.RemoveAll(dir)
	}
	dbURL := "sqlite://" + filepath.Join(dir, "tasuki.db")
	st, err := store.Open(ctx, dbURL, log)
	if err != nil {
		return err
	}
	defer st.Close()

	// The App's own clients, authenticated with a JWT signed by the demo key
	// and installation tokens minted by the in-memory GitHub.
	clients, err := ghclient.New(ghclient.Config{AppID: 1, PrivateKeyPEM: githubtest.AppKey(), BaseURL: gh.URL()}, ghclient.WithLogger(log))
	if err != nil {
		return err
	}
	login, err := appLogin(ctx, clients.App())
	if err != nil {
		return err
	}
	base := newBase(clients, st, login, log)
	base.Now = clock.now // dates tasuki writes (a handoff's phases) follow the story
	router := dispatch.NewRouter(log)
	f := wireFeatures(router, base, clients, st, tfcSettings{}, log)
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	// The metrics API as `app serve` serves it with TASUKI_API_TOKENS set,
	// on the demo's clock.
	apiToken := hex.EncodeToString(secret[:16])
	metricsAPI := api.New([]string{apiToken}, st, func(ctx context.Context, repo string) (lth.RepoSettings, error) {
		return lth.LoadSettings(ctx, st, repo)
	}, api.WithLogger(log), api.WithClock(clock.now))
	srv, err := server.New(st, secret, append([]server.Option{server.WithLogger(log), server.WithPinger(st),
		server.WithRoute(api.Route, metricsAPI)}, f.Routes...)...)
	if err != nil {
		return err
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	workers, err := st.RunWorkers(context.WithoutCancel(ctx), ghclient.ClassifyErrors(router), store.WorkerOptions{Concurrency: 2, MaxAttempts: 3})
	if err != nil {
		return err
	}
	defer func() { _ = stopWorkers(workers, 10*time.Second) }()

	fmt.Fprintf(stdout, "tasuki demo: the App's real path against an in-memory GitHub (%s), database %s\n", demoRepo, redact(dbURL))

	// 1. The Action (or a Terraform Cloud run task) posts the plans of PR #42.
	var plans []*review.Plan
	names, _ := fs.Glob(examples.FS, "plans/*.json")
	sort.Strings(names)
	for _, n := range names {
		b, err := examples.FS.ReadFile(n)
		if err != nil {
			return err
		}
		p, err := review.ReadPlan(bytes.NewReader(b), n)
		if err != nil {
			return err
		}
		p.Workspace = strings.TrimSuffix(path.Base(n), ".json")
		plans = append(plans, p)
	}
	c, err := clients.Client(ctx, 1)
	if err != nil {
		return err
	}
	mark := len(gh.Calls())
	res, err := f.Review.PostPlan(ctx, c, planreview.PostPlanInput{
		Owner: "acme", Repo: "payments", Number: demoPR, HeadSHA: demoHead, Plans: plans,
		Meta: review.Meta{ArtifactName: "plans"},
	})
	if err != nil {
		return fmt.Errorf("post plan: %w", err)
	}
	fmt.Fprintf(stdout, "\n== 1. plan review posted for %s#%d (%s): check %s\n", demoRepo, demoPR, strings.Join(names, ", "), res.Conclusion)
	mark = printWrites(stdout, gh, mark)

	// 2. GitHub sends webhooks; each is signed, posted to /webhook, stored
	// and processed by a worker. What GitHub would have recorded before
	// sending each one is applied to the in-memory GitHub first.
	//
	// The commit production runs after the rollback (main as seeded), and
	// #42's merge commit on top of it, made when it merges: the range the
	// deployment of #42 shipped is read between them (compare API).
	rolledBack, _ := gh.Ref(demoRepo, "heads/main")
	var mergeSHA string
	steps := []struct {
		file, event, what string
		at                time.Time
		before            func() error
		build             func() ([]byte, error) // the payload, when not a file
	}{
		{"", "pull_request", "alice opened PR #42 at 08:00 (lead time records it)",
			time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC), nil,
			func() ([]byte, error) { return demoPull("opened", "") }},
		{"events/01-pull_request_review.submitted.json", "pull_request_review", "the author approves her own PR",
			time.Date(2026, 11, 25, 10, 11, 0, 0, time.UTC),
			func() error { gh.AddReview(demoRepo, demoPR, "alice", "APPROVED", demoHead); return nil }, nil},
		{"events/02-pull_request_review.submitted.json", "pull_request_review", "bob (payments SRE) approves the planned commit",
			time.Date(2026, 11, 25, 10, 12, 0, 0, time.UTC),
			func() error { gh.AddReview(demoRepo, demoPR, "bob", "APPROVED", demoHead); return nil }, nil},
		{"events/03-issues.labeled.json", "issues", "carol labels issue #7 `incident`",
			time.Date(2026, 11, 25, 9, 21, 0, 0, time.UTC), nil, nil},
		{"", "deployment_status", "bob's rollback to v2.14.1 is deployed to production",
			time.Date(2026, 11, 25, 9, 35, 0, 0, time.UTC), nil,
			func() ([]byte, error) { return demoDeploymentStatus(5100, "bob", rolledBack, "2026-11-25T09:35:00Z") }},
		{"events/04-issue_comment.created.json", "issue_comment", "bob adds a /timeline entry",
			time.Date(2026, 11, 25, 9, 40, 0, 0, time.UTC),
			func() error {
				gh.AddComment(demoRepo, demoIssue, "bob", "/timeline 2026-11-25 09:35 UTC rolled back payments-api to v2.14.1; 502s stopped")
				return nil
			}, nil},
		{"events/05-issues.closed.json", "issues", "bob closes the incident",
			time.Date(2026, 11, 25, 9, 50, 0, 0, time.UTC),
			func() error {
				// Bob's own close, through the writer like every write here.
				bob := ghwrite.New(gh.ClientAs("bob"), ghwrite.Identity{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
				_, err := bob.CloseIssue(ctx, "acme", "payments", demoIssue, ghwrite.CloseCompleted)
				return err
			}, nil},
		{"", "pull_request", "alice merges PR #42",
			time.Date(2026, 11, 25, 10, 30, 0, 0, time.UTC),
			func() error {
				mergeSHA = gh.PutFile(demoRepo, "main", "infra/prod/main.tf", []byte("# PostgreSQL 16\n"))
				return nil
			},
			func() ([]byte, error) { return demoPull("closed", mergeSHA) }},
		{"", "deployment_status", "#42's merge commit is deployed to production",
			time.Date(2026, 11, 25, 10, 45, 0, 0, time.UTC), nil,
			func() ([]byte, error) { return demoDeploymentStatus(5101, "alice", mergeSHA, "2026-11-25T10:45:00Z") }},
		{"", "issue_comment", "carol (core SRE) comments `/tasuki onboard @acme/payments-sre` on issue #8",
			time.Date(2026, 11, 25, 11, 0, 0, 0, time.UTC), nil,
			func() ([]byte, error) {
				cm := gh.AddComment(demoRepo, demoHandoffIssue, "carol", demoOnboard)
				return demoComment(cm.GetID(), demoHandoffIssue, "carol", demoOnboard, "2026-11-25T11:00:00Z")
			}},
	}
	for i, s := range steps {
		clock.set(s.at)
		if s.before != nil {
			if err := s.before(); err != nil {
				return fmt.Errorf("demo step %d: %w", i+2, err)
			}
		}
		var payload []byte
		if s.build != nil {
			payload, err = s.build()
		} else {
			payload, err = examples.FS.ReadFile(s.file)
		}
		if err != nil {
			return fmt.Errorf("demo step %d: %w", i+2, err)
		}
		id := fmt.Sprintf("demo-%02d", i+1)
		status, err := postSigned(ctx, hs.URL+"/webhook", secret, id, s.event, payload)
		if err != nil {
			return err
		}
		row, err := waitDelivery(ctx, st, id)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\n== %d. %s: %s delivery %s answered %d, job %s after %d attempt(s)\n", i+2, s.what, s.event, id, status, row.State, row.Attempts)
		if row.LastError != "" {
			fmt.Fprintf(stdout, "   last error: %s\n", row.LastError)
		}
		mark = printWrites(stdout, gh, mark)
	}

	// What the metrics API now says of the day, from the store alone.
	if err := printLeadTime(ctx, stdout, hs.URL, apiToken); err != nil {
		return err
	}

	// What a reviewer and the incident's responders now see.
	fmt.Fprintf(stdout, "\n== result\n")
	for _, cr := range gh.CheckRuns(demoRepo) {
		fmt.Fprintf(stdout, "check %s on %.7s: %s — %s\n", cr.GetName(), cr.GetHeadSHA(), cr.GetConclusion(), cr.GetOutput().GetTitle())
	}
	for _, cm := range gh.Comments(demoRepo, demoPR) {
		fmt.Fprintf(stdout, "\n--- comment by %s on %s#%d ---\n%s\n", cm.GetUser().GetLogin(), demoRepo, demoPR, cm.GetBody())
	}
	for _, is := range gh.Issues(demoRepo) {
		if strings.HasPrefix(is.GetTitle(), "Postmortem:") {
			fmt.Fprintf(stdout, "\n--- issue #%d %q labels %s assignees %s ---\n%s\n", is.GetNumber(), is.GetTitle(),
				strings.Join(labelNames(is.Labels), ","), strings.Join(logins(is.Assignees), ","), is.GetBody())
		}
		if _, found, _ := onboarding.DecodeState(is.GetBody()); found && is.GetUser().GetLogin() == "tasuki[bot]" {
			fmt.Fprintf(stdout, "\n--- handoff issue #%d %q labels %s assignees %s ---\n%s\n", is.GetNumber(), is.GetTitle(),
				strings.Join(labelNames(is.Labels), ","), strings.Join(logins(is.Assignees), ","), handoffHead(is.GetBody()))
		}
	}
	for _, cm := range gh.Comments(demoRepo, demoHandoffIssue) {
		if cm.GetUser().GetLogin() == "tasuki[bot]" {
			fmt.Fprintf(stdout, "\n--- reply by %s on %s#%d ---\n%s\n", cm.GetUser().GetLogin(), demoRepo, demoHandoffIssue, firstTextLine(cm.GetBody()))
		}
	}
	if *keep {
		fmt.Fprintf(stdout, "\ndatabase kept: TASUKI_DATABASE_URL=%s go run ./cmd/app deliveries list\n", dbURL)
	}
	if msgs := rep.messages(); len(msgs) > 0 {
		return fmt.Errorf("the in-memory GitHub refused %d request(s):\n%s", len(msgs), strings.Join(msgs, "\n"))
	}
	return nil
}

// seedDemo lays out the demo repository: its config, owners, a pull request
// changing production Terraform, an incident and what changed before it.
func seedDemo(gh *githubtest.Server) error {
	gh.AddRepo(demoRepo, "main")
	for _, u := range []string{"alice", "bob", "carol", "dave"} {
		gh.AddUser(u, "User")
	}
	gh.AddTeam("acme", "payments", "alice", "bob")
	gh.AddTeam("acme", "core-sre", "dave", "carol")
	gh.AddTeam("acme", "payments-sre", "bob")
	for _, l := range []string{"incident", "sev1", "sev2", "sev3", "sev4", "postmortem", "postmortem-complete"} {
		gh.AddLabel(demoRepo, l, "ededed")
	}
	err := fs.WalkDir(examples.FS, "repo", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := examples.FS.ReadFile(p)
		if err != nil {
			return err
		}
		gh.PutFile(demoRepo, "main", strings.TrimPrefix(p, "repo/"), b)
		return nil
	})
	if err != nil {
		return fmt.Errorf("seed demo repository: %w", err)
	}

	at := func(h, m int) *github.Timestamp {
		return &github.Timestamp{Time: time.Date(2026, 11, 25, h, m, 0, 0, time.UTC)}
	}
	alice := &github.User{Login: github.String("alice"), Type: github.String("User")}
	gh.AddPull(demoRepo, &github.PullRequest{
		Number: github.Int(demoPR), Title: github.String("Move payments database to PostgreSQL 16"),
		State: github.String("open"), User: alice, CreatedAt: at(8, 0),
		Head: &github.PullRequestBranch{Ref: github.String("pg16"), SHA: github.String(demoHead)},
		Base: &github.PullRequestBranch{Ref: github.String("main")},
	})
	gh.SetPullFiles(demoRepo, demoPR,
		&github.CommitFile{Filename: github.String("infra/prod/main.tf"), Status: github.String("modified")},
		&github.CommitFile{Filename: github.String("infra/prod/modules/identity/main.tf"), Status: github.String("modified")})
	gh.SetPullCommits(demoRepo, demoPR, &github.RepositoryCommit{SHA: github.String(demoHead), Author: alice, Committer: alice,
		Commit: &github.Commit{Author: &github.CommitAuthor{Name: github.String("alice"), Date: at(7, 10)}}})

	// What changed just before the incident: one PR merged and one
	// deployment inside the 72h window, one PR merged long before.
	bob := &github.User{Login: github.String("bob"), Type: github.String("User")}
	gh.AddPull(demoRepo, &github.PullRequest{Number: github.Int(40), Title: github.String("Raise payments-api connection pool to 200"),
		State: github.String("closed"), User: bob, CreatedAt: at(6, 0), MergedAt: at(8, 45), ClosedAt: at(8, 45), UpdatedAt: at(8, 45),
		Head: &github.PullRequestBranch{Ref: github.String("pool"), SHA: github.String("a1b2c3d4e5f60718293a4b5c6d7e8f9012345678")},
		Base: &github.PullRequestBranch{Ref: github.String("main")}})
	old := &github.Timestamp{Time: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}
	gh.AddPull(demoRepo, &github.PullRequest{Number: github.Int(31), Title: github.String("Update README"),
		State: github.String("closed"), User: bob, CreatedAt: old, MergedAt: old, ClosedAt: old, UpdatedAt: old,
		Head: &github.PullRequestBranch{Ref: github.String("docs"), SHA: github.String("0000000000000000000000000000000000000031")},
		Base: &github.PullRequestBranch{Ref: github.String("main")}})
	gh.AddDeployment(demoRepo, &github.Deployment{Ref: github.String("main"), SHA: github.String("a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"),
		Environment: github.String("production"), Creator: bob, CreatedAt: at(8, 55)})

	carol := &github.User{Login: github.String("carol"), Type: github.String("User")}
	gh.AddIssue(demoRepo, &github.Issue{
		Number: github.Int(demoIssue), Title: github.String("Checkout payments failing with 502s"),
		Body:  github.String("Card payments fail with 502 from the payments API.\n\nImpact started: 2026-11-25T09:05:00Z\n"),
		State: github.String("open"), User: carol, Assignees: []*github.User{bob}, CreatedAt: at(9, 20),
		Labels: []*github.Label{{Name: github.String("incident")}, {Name: github.String("sev2")}},
	})
	gh.AddTimeline(demoRepo, demoIssue, &github.Timeline{Event: github.String("assigned"), Actor: carol, CreatedAt: at(9, 22),
		Assignee: bob})
	gh.AddIssue(demoRepo, &github.Issue{
		Number: github.Int(demoHandoffIssue), Title: github.String("Hand payments over to the payments SRE team"),
		Body: github.String(""), State: github.String("open"), User: carol, CreatedAt: at(10, 50),
	})
	return nil
}

// postSigned posts a delivery the way GitHub does.
func postSigned(ctx context.Context, url string, secret []byte, id, event string, payload []byte) (int, error) {
	mac := hmac.New(sha256.New, secret)
	mac.Write(payload)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", id)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("post delivery %s: %w", id, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		return resp.StatusCode, fmt.Errorf("post delivery %s: answered %s", id, resp.Status)
	}
	return resp.StatusCode, nil
}

// waitDelivery waits until the worker finished with delivery id (done, or
// failed after its attempts).
func waitDelivery(ctx context.Context, st *store.Store, id string) (store.DeliveryRow, error) {
	deadline := time.Now().Add(60 * time.Second)
	for {
		rows, err := st.ListDeliveries(ctx, store.ListFilter{Limit: 100})
		if err != nil {
			return store.DeliveryRow{}, err
		}
		for _, r := range rows {
			if r.ID == id && (r.State == store.StateDone || r.State == store.StateFailed) {
				return r, nil
			}
			// A retry is pending: show it rather than wait out the backoff.
			if r.ID == id && r.State == store.StatePending && r.Attempts > 0 {
				return r, nil
			}
		}
		if time.Now().After(deadline) {
			return store.DeliveryRow{}, fmt.Errorf("delivery %s not processed within 60s", id)
		}
		select {
		case <-ctx.Done():
			return store.DeliveryRow{}, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// printWrites prints the writes tasuki made on GitHub since call number mark
// (not the demo's own, made as the people in the story) and returns the new
// mark.
func printWrites(w io.Writer, gh *githubtest.Server, mark int) int {
	calls := gh.Calls()
	reads := 0
	for _, c := range calls[mark:] {
		if c.Login != "tasuki[bot]" && c.Login != "app" {
			continue
		}
		if c.Method == http.MethodGet {
			reads++
			continue
		}
		fmt.Fprintf(w, "   %-6s %-55s %d  %s\n", c.Method, c.Path, c.Status, describeBody(c.Body))
	}
	fmt.Fprintf(w, "   (%d reads)\n", reads)
	return len(calls)
}

// describeBody names what a write sets, in one short line.
func describeBody(b []byte) string {
	var v map[string]any
	if json.Unmarshal(b, &v) != nil {
		var arr []any
		if json.Unmarshal(b, &arr) == nil {
			return fmt.Sprintf("%v", arr)
		}
		return ""
	}
	var parts []string
	for _, k := range []string{"title", "name", "status", "conclusion", "labels", "assignees"} {
		if x, ok := v[k]; ok {
			parts = append(parts, fmt.Sprintf("%s=%v", k, x))
		}
	}
	if o, ok := v["output"].(map[string]any); ok {
		parts = append(parts, fmt.Sprintf("output.title=%q", o["title"]))
	}
	if body, ok := v["body"].(string); ok {
		first := firstTextLine(body)
		if len(first) > 70 {
			first = first[:70] + "…"
		}
		parts = append(parts, fmt.Sprintf("body: %q (%d chars)", first, len(body)))
	}
	return strings.Join(parts, " ")
}

// firstTextLine returns the first line of body that is not blank and not
// inside an HTML comment (markers, template guidance).
func firstTextLine(body string) string {
	inComment := false
	for _, l := range strings.Split(body, "\n") {
		l = strings.TrimSpace(l)
		for {
			if inComment {
				_, rest, ok := strings.Cut(l, "-->")
				if !ok {
					l = ""
					break
				}
				inComment, l = false, strings.TrimSpace(rest)
				continue
			}
			before, rest, ok := strings.Cut(l, "<!--")
			if !ok || strings.TrimSpace(before) != "" {
				break
			}
			inComment, l = true, rest
		}
		if l != "" {
			return l
		}
	}
	return ""
}

func labelNames(ls []*github.Label) []string {
	out := make([]string, 0, len(ls))
	for _, l := range ls {
		out = append(out, l.GetName())
	}
	return out
}

func logins(us []*github.User) []string {
	out := make([]string, 0, len(us))
	for _, u := range us {
		out = append(out, u.GetLogin())
	}
	return out
}

// demoClock is the in-memory GitHub's clock.
type demoClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *demoClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *demoClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// demoReporter collects what the in-memory GitHub refused; the demo fails
// with them at the end, as a test would.
type demoReporter struct {
	mu    sync.Mutex
	msgs  []string
	clean []func()
}

func (r *demoReporter) Helper() {}

func (r *demoReporter) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}

func (r *demoReporter) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	panic(fmt.Errorf(format, args...))
}

func (r *demoReporter) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clean = append(r.clean, f)
}

func (r *demoReporter) cleanup() {
	r.mu.Lock()
	fs := r.clean
	r.clean = nil
	r.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

func (r *demoReporter) messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...)
}

// The onboarding story: carol, of the core SRE team, hands the payments
// service over to its own SRE team on an issue of the demo repository.
const (
	demoHandoffIssue = 8
	demoOnboard      = "/tasuki onboard @acme/payments-sre"
)

// demoEventFrom reads a bundled delivery and lets edit reshape it into
// another event of the same repository, installation and sender shape.
func demoEventFrom(file string, edit func(m map[string]any)) ([]byte, error) {
	b, err := examples.FS.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode %s: %w", file, err)
	}
	edit(m)
	return json.Marshal(m)
}

// demoPull is the pull_request delivery of #42 with action opened, or
// closed as merged into main as mergeSHA.
func demoPull(action, mergeSHA string) ([]byte, error) {
	return demoEventFrom("events/01-pull_request_review.submitted.json", func(m map[string]any) {
		delete(m, "review")
		pr := m["pull_request"].(map[string]any)
		m["action"], m["number"] = action, demoPR
		pr["created_at"], pr["updated_at"], pr["draft"] = "2026-11-25T08:00:00Z", "2026-11-25T08:00:00Z", false
		if action == "closed" {
			pr["state"], pr["merged"], pr["merge_commit_sha"] = "closed", true, mergeSHA
			pr["merged_at"], pr["closed_at"], pr["updated_at"] = "2026-11-25T10:30:00Z", "2026-11-25T10:30:00Z", "2026-11-25T10:30:00Z"
			pr["merged_by"] = pr["user"]
		}
	})
}

// demoUser is a user as deliveries show one.
func demoUser(login string) map[string]any {
	return map[string]any{"login": login, "id": 10 + len(login), "node_id": "U_" + login, "type": "User", "site_admin": false,
		"html_url": "https://github.com/" + login, "url": "https://api.github.com/users/" + login}
}

// demoDeploymentStatus is the delivery of a successful production
// deployment id of sha by login.
func demoDeploymentStatus(id int64, login, sha, at string) ([]byte, error) {
	return demoEventFrom("events/01-pull_request_review.submitted.json", func(m map[string]any) {
		user := demoUser(login)
		m["sender"] = user
		delete(m, "review")
		delete(m, "pull_request")
		m["action"] = "created"
		dep := fmt.Sprintf("https://api.github.com/repos/%s/deployments/%d", demoRepo, id)
		m["deployment"] = map[string]any{
			"url": dep, "id": id, "node_id": fmt.Sprintf("DE_%d", id),
			"sha": sha, "ref": "main", "task": "deploy", "payload": map[string]any{}, "original_environment": "production",
			"environment": "production", "description": "payments-api", "creator": user,
			"created_at": at, "updated_at": at,
			"statuses_url": dep + "/statuses", "repository_url": "https://api.github.com/repos/" + demoRepo,
		}
		m["deployment_status"] = map[string]any{
			"url": fmt.Sprintf("%s/statuses/%d", dep, id+4000), "id": id + 4000, "node_id": fmt.Sprintf("DES_%d", id+4000),
			"state": "success", "creator": user, "description": "", "environment": "production", "target_url": "",
			"created_at": at, "updated_at": at,
			"deployment_url": dep, "repository_url": "https://api.github.com/repos/" + demoRepo,
		}
	})
}

// demoComment is an issue_comment created delivery of body by login on
// issue number.
func demoComment(id int64, number int, login, body, at string) ([]byte, error) {
	return demoEventFrom("events/04-issue_comment.created.json", func(m map[string]any) {
		c, is := m["comment"].(map[string]any), m["issue"].(map[string]any)
		u := demoUser(login)
		c["id"], c["node_id"], c["body"], c["user"] = id, fmt.Sprintf("IC_%d", id), body, u
		c["created_at"], c["updated_at"] = at, at
		c["html_url"] = fmt.Sprintf("https://github.com/%s/issues/%d#issuecomment-%d", demoRepo, number, id)
		is["number"], is["title"], is["body"] = number, "Hand payments over to the payments SRE team", ""
		is["html_url"] = fmt.Sprintf("https://github.com/%s/issues/%d", demoRepo, number)
		is["labels"], is["assignees"], is["assignee"], is["state"], is["closed_at"] = []any{}, []any{}, nil, "open", nil
		m["sender"] = u
	})
}

// printLeadTime asks the metrics API, as a dashboard would, for the demo
// day's figures of the demo repository and prints them as a short table.
func printLeadTime(ctx context.Context, w io.Writer, base, token string) error {
	url := base + "/api/v1/metrics?repo=" + demoRepo + "&since=2026-11-25&until=2026-11-25"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET /api/v1/metrics: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("GET /api/v1/metrics: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /api/v1/metrics: %s: %s", resp.Status, bytes.TrimSpace(b))
	}
	var m core.Metrics
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("decode /api/v1/metrics: %w", err)
	}
	fmt.Fprintf(w, "\n== lead time of %s on 2026-11-25, from the store (GET /api/v1/metrics answered %d)\n", demoRepo, resp.StatusCode)
	fmt.Fprintf(w, "   %-22s %d\n", "deployments", m.DeploymentFrequency.Deployments)
	fmt.Fprintf(w, "   %-22s %s over %d change(s)\n", "lead time (median)", m.ChangeLeadTime.Median, m.ChangeLeadTime.Count)
	for _, s := range m.Stages {
		fmt.Fprintf(w, "   %-22s %s\n", "  "+string(s.Stage)+" (median)", s.Median)
	}
	return nil
}

// handoffHead is the start of a handoff issue's body as a person reads it:
// no hidden markers, up to the end of the phase table and the progress
// line after it.
func handoffHead(body string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "<!--") && strings.HasSuffix(t, "-->") {
			continue
		}
		out = append(out, l)
		if len(out) >= 14 {
			break
		}
	}
	return strings.TrimRight(strings.Join(out, "\n"), "\n")
}
