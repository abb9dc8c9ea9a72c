package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tasuki-sre/tasuki/internal/leadtime"
	"github.com/tasuki-sre/tasuki/internal/leadtime/leadtimetest"
	"github.com/tasuki-sre/tasuki/internal/store"
)

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func at(h float64) time.Time { return t0.Add(time.Duration(h * float64(time.Hour))) }

// A full set of events, every field set, round-trips through the store.
func TestLeadTimeRoundTrip(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t, be.url(t))
			want := leadtime.History{
				Pulls: []leadtime.Pull{{
					Repo: "acme/api", Number: 7, Title: "Add retries ✓", Author: "alice", AuthorIsBot: false,
					FirstCommitAt: at(-5), OpenedAt: at(-4), ReadyAt: at(-3), MergedAt: at(1), ClosedAt: at(1),
					MergeSHA: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", BaseRef: "main", HeadRef: "alice/retries",
					Paths: []string{"api/retry.go", "docs/x.md"}, Labels: []string{}, Reverts: 3,
				}},
				Reviews: []leadtime.Review{
					{Repo: "acme/api", Number: 7, ID: 12, Reviewer: "dependabot[bot]", ReviewerIsBot: true, State: "APPROVED", At: at(-2.5)},
					{Repo: "acme/api", Number: 7, ID: 11, Reviewer: "bob", State: "COMMENTED", At: at(-2)},
				},
				Deployments: []leadtime.Deployment{{
					Repo: "acme/api", ID: "deployment:99", Source: leadtime.SourceDeploymentStatus, Environment: "production",
					Service: "api", SHA: "bbbb", FinishedAt: at(2), PreviousSHA: "cccc", Commits: []string{"aaaa", "bbbb"},
					Creator: "carol", Ref: "main",
				}},
				Jobs: []leadtime.Job{{
					Repo: "acme/api", ID: 5, RunID: 6, Workflow: "CI", Name: "test (1.26)", Kind: leadtime.JobTest,
					HeadSHA: "bbbb", HeadBranch: "main", QueuedAt: at(0), StartedAt: at(0.1), CompletedAt: at(0.5), Conclusion: "success",
				}},
				Incidents: []leadtime.Incident{{
					Repo: "acme/api", Number: 40, Title: "5xx", Severity: "sev2", Service: "api",
					StartedAt: at(3), ResolvedAt: at(4), CausedBy: "#7",
				}},
			}
			record(t, s, want)
			got, err := s.History(ctx, store.HistoryQuery{Repo: "acme/api"})
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("History (-want +got):\n%s", d)
			}
			// Recording it all again (a redelivery, a backfill) changes
			// nothing.
			record(t, s, want)
			again, err := s.History(ctx, store.HistoryQuery{Repo: "acme/api"})
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, again); d != "" {
				t.Errorf("History after recording again (-want +got):\n%s", d)
			}
		})
	}
}

func record(t *testing.T, s *store.Store, h leadtime.History) {
	t.Helper()
	ctx := context.Background()
	if err := s.RecordPulls(ctx, h.Pulls); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordReviews(ctx, h.Reviews); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordDeployments(ctx, h.Deployments); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordJobs(ctx, h.Jobs); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordIncidents(ctx, h.Incidents); err != nil {
		t.Fatal(err)
	}
}

// Events recorded in pieces, in any order, merge to what is known: a later
// record fills fields without erasing, first times stay first.
func TestLeadTimeMerge(t *testing.T) {
	const sha = "1111111111111111111111111111111111111111"
	tests := []struct {
		name  string
		steps []leadtime.History
		want  leadtime.History
	}{{
		name: "pull opened as draft, ready, synchronize, merged, redelivered opened",
		steps: []leadtime.History{
			{Pulls: []leadtime.Pull{{Repo: "o/r", Number: 1, Title: "WIP", Author: "a", OpenedAt: at(0), BaseRef: "main"}}},
			{Pulls: []leadtime.Pull{{Repo: "o/r", Number: 1, Title: "Fix", OpenedAt: at(0), ReadyAt: at(2)}}},
			{Pulls: []leadtime.Pull{{Repo: "o/r", Number: 1, FirstCommitAt: at(-3), Paths: []string{"a.go"}}}},
			{Pulls: []leadtime.Pull{{Repo: "o/r", Number: 1, FirstCommitAt: at(-1), MergedAt: at(5), ClosedAt: at(5), MergeSHA: sha}}},
			{Pulls: []leadtime.Pull{{Repo: "o/r", Number: 1, Title: "Fix", Author: "a", OpenedAt: at(0)}}},
		},
		want: leadtime.History{Pulls: []leadtime.Pull{{
			Repo: "o/r", Number: 1, Title: "Fix", Author: "a", FirstCommitAt: at(-3), OpenedAt: at(0), ReadyAt: at(2),
			MergedAt: at(5), ClosedAt: at(5), MergeSHA: sha, BaseRef: "main", Paths: []string{"a.go"},
		}}},
	}, {
		// History lists a pull's reviews up to the first that counts as a
		// pickup (not the author's, not a bot's): c's later approval is kept
		// in the store but not returned.
		name: "review before its pull request; review edited later keeps the first time",
		steps: []leadtime.History{
			{Reviews: []leadtime.Review{{Repo: "o/r", Number: 2, ID: 9, Reviewer: "b", State: "COMMENTED", At: at(3)}}},
			{Pulls: []leadtime.Pull{{Repo: "o/r", Number: 2, Author: "a", OpenedAt: at(1), ReadyAt: at(1), MergedAt: at(4)}}},
			{Reviews: []leadtime.Review{{Repo: "o/r", Number: 2, ID: 9, Reviewer: "b", State: "COMMENTED", At: at(3.5)}}},
			{Reviews: []leadtime.Review{{Repo: "o/r", Number: 2, ID: 8, Reviewer: "c", State: "APPROVED", At: at(3.2)}}},
			{Reviews: []leadtime.Review{{Repo: "o/r", Number: 2, ID: 7, Reviewer: "A", State: "COMMENT", At: at(2)}}},
		},
		want: leadtime.History{
			Pulls: []leadtime.Pull{{Repo: "o/r", Number: 2, Author: "a", OpenedAt: at(1), ReadyAt: at(1), MergedAt: at(4)}},
			Reviews: []leadtime.Review{
				{Repo: "o/r", Number: 2, ID: 7, Reviewer: "A", State: "COMMENT", At: at(2)},
				{Repo: "o/r", Number: 2, ID: 9, Reviewer: "b", State: "COMMENTED", At: at(3)},
			},
		},
	}, {
		name: "deployment recorded without its range, then with it; redelivered status later",
		steps: []leadtime.History{
			{Deployments: []leadtime.Deployment{{Repo: "o/r", ID: "deployment:1", Source: leadtime.SourceDeploymentStatus, SHA: sha, FinishedAt: at(2)}}},
			{Deployments: []leadtime.Deployment{{Repo: "o/r", ID: "deployment:1", PreviousSHA: "0000", Commits: []string{sha}, FinishedAt: at(2)}}},
			{Deployments: []leadtime.Deployment{{Repo: "o/r", ID: "deployment:1", FinishedAt: at(9)}}},
		},
		want: leadtime.History{Deployments: []leadtime.Deployment{{
			Repo: "o/r", ID: "deployment:1", Source: leadtime.SourceDeploymentStatus, SHA: sha, FinishedAt: at(2),
			PreviousSHA: "0000", Commits: []string{sha},
		}}},
	}, {
		name: "job events out of order",
		steps: []leadtime.History{
			{Jobs: []leadtime.Job{{Repo: "o/r", ID: 3, Name: "build", CompletedAt: at(2), Conclusion: "failure", StartedAt: at(1)}}},
			{Jobs: []leadtime.Job{{Repo: "o/r", ID: 3, Name: "build", QueuedAt: at(0.5)}}},
			{Jobs: []leadtime.Job{{Repo: "o/r", ID: 3, Name: "build", StartedAt: at(1)}}},
		},
		want: leadtime.History{Jobs: []leadtime.Job{{
			Repo: "o/r", ID: 3, Name: "build", QueuedAt: at(0.5), StartedAt: at(1), CompletedAt: at(2), Conclusion: "failure",
		}}},
	}, {
		name: "incident labelled, severity raised, closed, reopened, closed again",
		steps: []leadtime.History{
			{Incidents: []leadtime.Incident{{Repo: "o/r", Number: 5, Title: "down", Severity: "sev3", StartedAt: at(0)}}},
			{Incidents: []leadtime.Incident{{Repo: "o/r", Number: 5, Severity: "sev1", StartedAt: at(0), CausedBy: "#2"}}},
			{Incidents: []leadtime.Incident{{Repo: "o/r", Number: 5, ResolvedAt: at(1)}}},
			{Incidents: []leadtime.Incident{{Repo: "o/r", Number: 5, StartedAt: at(0)}}},
			{Incidents: []leadtime.Incident{{Repo: "o/r", Number: 5, ResolvedAt: at(3)}}},
		},
		want: leadtime.History{Incidents: []leadtime.Incident{{
			Repo: "o/r", Number: 5, Title: "down", Severity: "sev1", StartedAt: at(0), ResolvedAt: at(3), CausedBy: "#2",
		}}},
	}, {
		name: "duplicates within one call merge",
		steps: []leadtime.History{
			{Pulls: []leadtime.Pull{
				{Repo: "o/r", Number: 3, OpenedAt: at(1)},
				{Repo: "o/r", Number: 3, OpenedAt: at(0), MergedAt: at(2)},
			}},
		},
		want: leadtime.History{Pulls: []leadtime.Pull{{Repo: "o/r", Number: 3, OpenedAt: at(0), MergedAt: at(2)}}},
	}}
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			s := open(t, be.url(t))
			for i, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					// Each case in its own repository of the one database.
					repo := fmt.Sprintf("o/r%d", i)
					for _, st := range tt.steps {
						record(t, s, inRepo(st, repo))
					}
					got, err := s.History(context.Background(), store.HistoryQuery{Repo: repo})
					if err != nil {
						t.Fatal(err)
					}
					if d := cmp.Diff(inRepo(tt.want, repo), got, cmpopts.EquateEmpty()); d != "" {
						t.Errorf("History (-want +got):\n%s", d)
					}
				})
			}
		})
	}
}

func inRepo(h leadtime.History, repo string) leadtime.History {
	var out leadtime.History
	for _, x := range h.Pulls {
		x.Repo = repo
		out.Pulls = append(out.Pulls, x)
	}
	for _, x := range h.Reviews {
		x.Repo = repo
		out.Reviews = append(out.Reviews, x)
	}
	for _, x := range h.Deployments {
		x.Repo = repo
		out.Deployments = append(out.Deployments, x)
	}
	for _, x := range h.Jobs {
		x.Repo = repo
		out.Jobs = append(out.Jobs, x)
	}
	for _, x := range h.Incidents {
		x.Repo = repo
		out.Incidents = append(out.Incidents, x)
	}
	return out
}

// History selects by repository and window as documented.
func TestLeadTimeHistoryWindow(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t, be.url(t))
			record(t, s, leadtime.History{
				Pulls: []leadtime.Pull{
					{Repo: "o/a", Number: 1, OpenedAt: at(-50), MergedAt: at(-40)},                   // merged before
					{Repo: "o/a", Number: 2, OpenedAt: at(-50), MergedAt: at(5)},                     // merged in
					{Repo: "o/a", Number: 3, OpenedAt: at(-50)},                                      // open through
					{Repo: "o/a", Number: 4, OpenedAt: at(-50), ClosedAt: at(-20)},                   // closed before
					{Repo: "o/a", Number: 5, OpenedAt: at(30)},                                       // opened after
					{Repo: "o/a", Number: 6, OpenedAt: at(1), MergedAt: at(30)},                      // merged after
					{Repo: "o/b", Number: 1, OpenedAt: at(1), MergedAt: at(2)},                       // other repository
					{Repo: "o/a", Number: 7, OpenedAt: at(-50), ClosedAt: at(3), Labels: []string{}}, // closed in
				},
				Deployments: []leadtime.Deployment{
					{Repo: "o/a", ID: "d:1", FinishedAt: at(-1)},
					{Repo: "o/a", ID: "d:2", FinishedAt: at(0)},
					{Repo: "o/a", ID: "d:3", FinishedAt: at(24)},
					{Repo: "o/b", ID: "d:1", FinishedAt: at(3)},
				},
				Jobs: []leadtime.Job{
					{Repo: "o/a", ID: 1, QueuedAt: at(1)},
					{Repo: "o/a", ID: 2, CompletedAt: at(2)}, // found by the first time known
					{Repo: "o/a", ID: 3, QueuedAt: at(-1), CompletedAt: at(1)},
				},
				Incidents: []leadtime.Incident{
					{Repo: "o/a", Number: 1, StartedAt: at(-10), ResolvedAt: at(-5)},
					{Repo: "o/a", Number: 2, StartedAt: at(-10)},
					{Repo: "o/a", Number: 3, StartedAt: at(23), ResolvedAt: at(25)},
					{Repo: "o/a", Number: 4, StartedAt: at(24)},
				},
			})
			type ids struct{ Pulls, Deployments, Jobs, Incidents []string }
			idsOf := func(h leadtime.History) ids {
				var x ids
				for _, p := range h.Pulls {
					x.Pulls = append(x.Pulls, fmt.Sprintf("%s#%d", p.Repo, p.Number))
				}
				for _, d := range h.Deployments {
					x.Deployments = append(x.Deployments, d.Repo+" "+d.ID)
				}
				for _, j := range h.Jobs {
					x.Jobs = append(x.Jobs, fmt.Sprintf("%s %d", j.Repo, j.ID))
				}
				for _, i := range h.Incidents {
					x.Incidents = append(x.Incidents, fmt.Sprintf("%s#%d", i.Repo, i.Number))
				}
				return x
			}
			tests := []struct {
				name string
				q    store.HistoryQuery
				want ids
			}{{
				name: "one repository, one day",
				q:    store.HistoryQuery{Repo: "o/a", Since: at(0), Until: at(24)},
				want: ids{
					Pulls:       []string{"o/a#2", "o/a#3", "o/a#7"},
					Deployments: []string{"o/a d:2"},
					Jobs:        []string{"o/a 1", "o/a 2"},
					Incidents:   []string{"o/a#2", "o/a#3"},
				},
			}, {
				name: "every repository, one day",
				q:    store.HistoryQuery{Since: at(0), Until: at(24)},
				want: ids{
					Pulls:       []string{"o/a#2", "o/b#1", "o/a#3", "o/a#7"},
					Deployments: []string{"o/a d:2", "o/b d:1"},
					Jobs:        []string{"o/a 1", "o/a 2"},
					Incidents:   []string{"o/a#2", "o/a#3"},
				},
			}, {
				name: "unbounded",
				q:    store.HistoryQuery{Repo: "o/a"},
				want: ids{
					Pulls:       []string{"o/a#1", "o/a#2", "o/a#6", "o/a#3", "o/a#4", "o/a#7", "o/a#5"}, // open ones by opening
					Deployments: []string{"o/a d:1", "o/a d:2", "o/a d:3"},
					Jobs:        []string{"o/a 3", "o/a 1", "o/a 2"},
					Incidents:   []string{"o/a#1", "o/a#2", "o/a#3", "o/a#4"},
				},
			}, {
				name: "empty window",
				q:    store.HistoryQuery{Repo: "o/a", Since: at(5), Until: at(5)},
				want: ids{},
			}, {
				name: "unknown repository",
				q:    store.HistoryQuery{Repo: "o/zzz"},
				want: ids{},
			}}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					h, err := s.History(ctx, tt.q)
					if err != nil {
						t.Fatal(err)
					}
					if d := cmp.Diff(tt.want, idsOf(h)); d != "" {
						t.Errorf("History(%+v) (-want +got):\n%s", tt.q, d)
					}
				})
			}
		})
	}
}

func TestLeadTimeRecordRejectsKeyless(t *testing.T) {
	s := open(t, backends[0].url(t))
	ctx := context.Background()
	for name, err := range map[string]error{
		"pull":       s.RecordPulls(ctx, []leadtime.Pull{{Repo: "o/r"}}),
		"review":     s.RecordReviews(ctx, []leadtime.Review{{Repo: "o/r", Number: 1}}),
		"deployment": s.RecordDeployments(ctx, []leadtime.Deployment{{Repo: "o/r"}}),
		"job":        s.RecordJobs(ctx, []leadtime.Job{{ID: 1}}),
		"incident":   s.RecordIncidents(ctx, []leadtime.Incident{{Number: 1}}),
	} {
		if err == nil {
			t.Errorf("recording a %s without its key: no error", name)
		}
	}
}

// Many events in one call (a backfill) take several statements.
func TestLeadTimeRecordMany(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			s := open(t, be.url(t))
			var ps []leadtime.Pull
			var rs []leadtime.Review
			for i := 1; i <= 1000; i++ {
				ps = append(ps, leadtime.Pull{Repo: "o/r", Number: i, OpenedAt: at(float64(i)), MergedAt: at(float64(i + 1))})
				rs = append(rs, leadtime.Review{Repo: "o/r", Number: i%10 + 1, ID: int64(i), At: at(float64(i))})
			}
			record(t, s, leadtime.History{Pulls: ps, Reviews: rs})
			h, err := s.History(context.Background(), store.HistoryQuery{Repo: "o/r"})
			if err != nil {
				t.Fatal(err)
			}
			if len(h.Pulls) != 1000 || len(h.Reviews) != 1000 {
				t.Errorf("History: %d pulls, %d reviews; want 1000 and 1000", len(h.Pulls), len(h.Reviews))
			}
		})
	}
}

// PreviousDeployment finds the last deployment of the same stream before
// one; LeadTimeRepos lists the repositories with events; WithoutPaths and
// Bots narrow what History returns.
func TestLeadTimeLookups(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t, be.url(t))
			dep := func(repo, id, env string, h float64) leadtime.Deployment {
				return leadtime.Deployment{Repo: repo, ID: id, Source: leadtime.SourceDeploymentStatus, Environment: env, SHA: id, FinishedAt: at(h)}
			}
			record(t, s, leadtime.History{
				Deployments: []leadtime.Deployment{
					dep("o/a", "d1", "production", 1), dep("o/a", "d2", "staging", 2), dep("o/a", "d3", "Production", 3),
					dep("o/a", "d4", "production", 4), dep("o/b", "d5", "production", 3.5),
				},
				Pulls: []leadtime.Pull{{Repo: "o/c", Number: 1, Author: "a", OpenedAt: at(0), MergedAt: at(1), Paths: []string{"x"}}},
				Reviews: []leadtime.Review{
					{Repo: "o/c", Number: 1, ID: 1, Reviewer: "ci-robot", At: at(0.1)},
					{Repo: "o/c", Number: 1, ID: 2, Reviewer: "b", At: at(0.2)},
					{Repo: "o/c", Number: 1, ID: 3, Reviewer: "c", At: at(0.3)},
				},
			})
			tests := []struct {
				of       leadtime.Deployment
				want     string
				wantNone bool
			}{
				{of: dep("o/a", "d4", "production", 4), want: "d3"}, // environment compared without case
				{of: dep("o/a", "d3", "production", 3), want: "d1"}, // staging is another stream
				{of: dep("o/a", "d1", "production", 1), wantNone: true},
				{of: leadtime.Deployment{Repo: "o/a", ID: "new", Source: leadtime.SourceDeploymentStatus, Environment: "production"}, want: "d4"}, // finish time unknown: the latest
			}
			for _, tt := range tests {
				got, ok, err := s.PreviousDeployment(ctx, tt.of)
				if err != nil || ok == tt.wantNone || ok && got.ID != tt.want {
					t.Errorf("PreviousDeployment(%s) = %s, %v, %v; want %s", tt.of.ID, got.ID, ok, err, tt.want)
				}
			}
			repos, err := s.LeadTimeRepos(ctx)
			if err != nil || strings.Join(repos, " ") != "o/a o/b o/c" {
				t.Errorf("LeadTimeRepos = %v, %v", repos, err)
			}
			h, err := s.History(ctx, store.HistoryQuery{Repo: "o/c", Bots: []string{"CI-Robot"}, WithoutPaths: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(h.Pulls) != 1 || h.Pulls[0].Paths != nil || len(h.Reviews) != 2 || h.Reviews[1].Reviewer != "b" {
				t.Errorf("History with bots and without paths: %+v", h)
			}
		})
	}
}

// PrepareHistory, which streams rows into the core without a History,
// measures exactly what computing over History does: every repository and
// all of them, with and without configured services (which read paths).
func TestLeadTimePrepareHistory(t *testing.T) {
	h := leadtimetest.Generate(leadtimetest.Options{Repos: 3, Pulls: 1500, Jobs: 100})
	plain := leadtime.DefaultConfig()
	svcs := leadtime.DefaultConfig()
	svcs.Services = map[string]leadtime.Service{
		"one": {Paths: []string{"services/svc-1"}},
		"two": {Paths: []string{"services/svc-2"}},
	}
	svcs.Bots = []string{"ci-helper"}
	repos := map[string]bool{"": true}
	for _, p := range h.Pulls {
		repos[p.Repo] = true
	}
	from := h.Deployments[len(h.Deployments)/2].FinishedAt
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t, be.url(t))
			record(t, s, h)
			for repo := range repos {
				for name, cfg := range map[string]leadtime.Config{"plain": plain, "services": svcs} {
					q := store.HistoryQuery{Repo: repo, Since: from.AddDate(0, 0, -120), Until: from.AddDate(0, 0, 60)}
					mq := leadtime.Query{Repo: repo, From: from, To: from.AddDate(0, 0, 60), Rows: true, Longest: 50}
					full, err := s.History(ctx, q)
					if err != nil {
						t.Fatal(err)
					}
					want, err := leadtime.Compute(full, cfg, mq)
					if err != nil {
						t.Fatal(err)
					}
					p, err := s.PrepareHistory(ctx, q, cfg)
					if err != nil {
						t.Fatal(err)
					}
					got, err := p.Compute(mq)
					if err != nil {
						t.Fatal(err)
					}
					if want.ChangeLeadTime.Count == 0 || len(want.Pulls) == 0 {
						t.Fatalf("%s %q: nothing measured; the test measures nothing", name, repo)
					}
					if name == "services" && !slices.ContainsFunc(want.Pulls, func(r leadtime.PullRow) bool { return len(r.Services) > 0 }) {
						t.Fatalf("%q: no pull request attributed to a service; the paths are not tested", repo)
					}
					if d := cmp.Diff(want, got); d != "" {
						t.Errorf("%s %q: PrepareHistory differs from History + Compute (-History +PrepareHistory):\n%s", name, repo, d)
					}
				}
			}
		})
	}
}

// A reopened incident is open again: the reopening clears the resolve time
// before it, in whatever order the records arrive (a redelivered close of
// before the reopening does not resolve it again); closing it again
// resolves it then. Other fields are never erased.
func TestLeadTimeIncidentReopened(t *testing.T) {
	closed := leadtime.Incident{Repo: "o/r", Number: 5, Title: "down", Severity: "sev2", StartedAt: at(0), ResolvedAt: at(1)}
	reopened := leadtime.Incident{Repo: "o/r", Number: 5, Title: "down", StartedAt: at(0), ReopenedAt: at(2)}
	closedAgain := leadtime.Incident{Repo: "o/r", Number: 5, Title: "down", StartedAt: at(0), ResolvedAt: at(3)}
	tests := []struct {
		name         string
		records      []leadtime.Incident
		wantResolved time.Time
	}{
		{"closed", []leadtime.Incident{closed}, at(1)},
		{"closed, reopened", []leadtime.Incident{closed, reopened}, time.Time{}},
		{"reopened, then the earlier close redelivered", []leadtime.Incident{reopened, closed}, time.Time{}},
		{"closed, reopened, closed again", []leadtime.Incident{closed, reopened, closedAgain}, at(3)},
		{"closed again, then the reopening redelivered", []leadtime.Incident{closed, closedAgain, reopened}, at(3)},
	}
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			for _, tt := range tests {
				s := open(t, be.url(t))
				ctx := context.Background()
				for _, r := range tt.records {
					if err := s.RecordIncidents(ctx, []leadtime.Incident{r}); err != nil {
						t.Fatal(err)
					}
				}
				h, err := s.History(ctx, store.HistoryQuery{Repo: "o/r"})
				if err != nil {
					t.Fatal(err)
				}
				if len(h.Incidents) != 1 {
					t.Fatalf("%s: %d incidents", tt.name, len(h.Incidents))
				}
				got := h.Incidents[0]
				if !got.ResolvedAt.Equal(tt.wantResolved) {
					t.Errorf("%s: resolved at %v, want %v", tt.name, got.ResolvedAt, tt.wantResolved)
				}
				if got.Severity != "sev2" || got.Title != "down" {
					t.Errorf("%s: other fields erased: %+v", tt.name, got)
				}
			}
		})
	}
}
