package ghwrite_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/ghwrite"
	"github.com/tasuki-sre/tasuki/internal/githubtest"
)

// checkRunCalls counts the check run requests since the last ResetCalls:
// lookups (listings for the commit), creations and updates.
type checkRunCalls struct{ List, Create, Update int }

func countCheckRunCalls(srv *githubtest.Server) checkRunCalls {
	return checkRunCalls{srv.CallCount("GET", tmplRefCheckRuns), srv.CallCount("POST", tmplCheckRuns), srv.CallCount("PATCH", tmplCheckRun)}
}

// runsOf lists the repository's check runs as "app conclusion title".
func runsOf(srv *githubtest.Server) []string {
	var out []string
	for _, c := range srv.CheckRuns("acme/api") {
		out = append(out, c.GetApp().GetSlug()+" "+c.GetConclusion()+" "+c.GetOutput().GetTitle())
	}
	return out
}

// TestUpsertCheckRunRemembered: a check run the writer set before is
// updated by its remembered ID without the lookup, as long as its output
// changes; setting the same output again is looked up (and not written),
// as without a memo.
func TestUpsertCheckRunRemembered(t *testing.T) {
	ctx := context.Background()
	srv, w := setup(t, ghwrite.WithMemo(&mapMemo{}))
	sha := srv.Pull("acme/api", 1).GetHead().GetSHA()
	steps := []struct {
		name              string
		conclusion, title string
		want              checkRunCalls
	}{
		{"first set: looked up, created", "action_required", "Needs approval", checkRunCalls{List: 1, Create: 1}},
		{"verdict changes: updated by ID, no lookup", "success", "Approved", checkRunCalls{Update: 1}},
		{"changes back: by ID again", "action_required", "Needs approval", checkRunCalls{Update: 1}},
		{"same output again (a retry): looked up, not written", "action_required", "Needs approval", checkRunCalls{List: 1}},
		{"changes after that: by ID", "success", "Approved", checkRunCalls{Update: 1}},
	}
	var id int64
	for _, st := range steps {
		srv.ResetCalls()
		run := ghwrite.CheckRun{Name: "tasuki/plan-review", HeadSHA: sha, ExternalID: "pr-1", Conclusion: st.conclusion, Title: st.title, Summary: "1 to destroy"}
		c, err := w.UpsertCheckRun(ctx, "acme", "api", run)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if id == 0 {
			id = c.GetID()
		}
		if c.GetID() != id {
			t.Errorf("%s: run %d, want %d", st.name, c.GetID(), id)
		}
		if diff := cmp.Diff(st.want, countCheckRunCalls(srv)); diff != "" {
			t.Errorf("%s: calls (-want +got):\n%s", st.name, diff)
		}
		if diff := cmp.Diff([]string{"tasuki " + st.conclusion + " " + st.title}, runsOf(srv)); diff != "" {
			t.Errorf("%s: check runs (-want +got):\n%s", st.name, diff)
		}
	}
	// Another commit, name or external ID is another run: looked up.
	srv.ResetCalls()
	if _, err := w.UpsertCheckRun(ctx, "acme", "api", ghwrite.CheckRun{Name: "tasuki/plan-review", HeadSHA: sha, ExternalID: "pr-2", Conclusion: "success"}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(checkRunCalls{List: 1, Create: 1}, countCheckRunCalls(srv)); diff != "" {
		t.Errorf("other external ID: calls (-want +got):\n%s", diff)
	}
}

// TestUpsertCheckRunRememberedFallback: when the remembered ID does not
// lead to tasuki's run (gone, unknown, another App's), the writer looks
// the run up as without a memo, never changes anyone else's run, and
// remembers the run it then used; a rate limit on the update is an error,
// not a reason to look up.
func TestUpsertCheckRunRememberedFallback(t *testing.T) {
	ctx := context.Background()
	const name = "tasuki/plan-review"
	key := func(sha string) string { return fmt.Sprintf("check-run:acme/api@%s:%s:pr-1", sha, name) }
	tests := []struct {
		name string
		// prepare runs after a first set ("action_required"), before the
		// set under test ("success").
		prepare   func(t *testing.T, srv *githubtest.Server, memo *mapMemo, sha string)
		want      checkRunCalls
		wantRuns  []string
		wantError bool
	}{
		{
			name: "remembered run answers 404 (deleted)",
			prepare: func(t *testing.T, srv *githubtest.Server, _ *mapMemo, _ string) {
				srv.Inject("PATCH", tmplCheckRun, 404, nil)
			},
			want:     checkRunCalls{List: 1, Update: 2},
			wantRuns: []string{"tasuki success Approved"},
		},
		{
			name: "remembered ID unknown",
			prepare: func(t *testing.T, srv *githubtest.Server, memo *mapMemo, sha string) {
				_ = memo.Put(ctx, key(sha), "999999 0 0123456789abcdef")
			},
			want:     checkRunCalls{List: 1, Update: 2}, // the 404, then the run found by the lookup
			wantRuns: []string{"tasuki success Approved"},
		},
		{
			name: "remembered ID is another App's run",
			prepare: func(t *testing.T, srv *githubtest.Server, memo *mapMemo, sha string) {
				other := srv.AddCheckRun("acme/api", &github.CheckRun{Name: github.String(name), HeadSHA: github.String(sha), ExternalID: github.String("pr-1"),
					Status: github.String("completed"), Conclusion: github.String("failure"), App: &github.App{ID: github.Int64(99), Slug: github.String("impostor")}})
				_ = memo.Put(ctx, key(sha), fmt.Sprintf("%d 0 0123456789abcdef", other.GetID()))
			},
			want:     checkRunCalls{List: 1, Update: 2}, // GitHub's 403, then tasuki's run found by the lookup
			wantRuns: []string{"tasuki success Approved", "impostor failure "},
		},
		{
			name: "secondary rate limit on the update",
			prepare: func(t *testing.T, srv *githubtest.Server, _ *mapMemo, _ string) {
				srv.Inject("PATCH", tmplCheckRun, 403, map[string]string{"Retry-After": "0"})
			},
			want:      checkRunCalls{Update: 1},
			wantRuns:  []string{"tasuki action_required Needs approval"},
			wantError: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			memo := &mapMemo{}
			srv, w := setup(t, ghwrite.WithMemo(memo))
			sha := srv.Pull("acme/api", 1).GetHead().GetSHA()
			run := ghwrite.CheckRun{Name: name, HeadSHA: sha, ExternalID: "pr-1", Conclusion: "action_required", Title: "Needs approval", Summary: "1 to destroy"}
			first, err := w.UpsertCheckRun(ctx, "acme", "api", run)
			if err != nil {
				t.Fatal(err)
			}
			tt.prepare(t, srv, memo, sha)
			srv.ResetCalls()
			run.Conclusion, run.Title = "success", "Approved"
			c, err := w.UpsertCheckRun(ctx, "acme", "api", run)
			if tt.wantError {
				var rl *github.AbuseRateLimitError
				if !errors.As(err, &rl) {
					t.Fatalf("err = %v, want the rate limit", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, countCheckRunCalls(srv)); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantRuns, runsOf(srv)); diff != "" {
				t.Errorf("check runs (-want +got):\n%s", diff)
			}
			if tt.wantError {
				return
			}
			if c.GetID() != first.GetID() {
				t.Errorf("updated run %d, want tasuki's run %d", c.GetID(), first.GetID())
			}
			// The run found is remembered: the next change goes by ID.
			srv.ResetCalls()
			run.Conclusion, run.Title = "failure", "Changes requested"
			if _, err := w.UpsertCheckRun(ctx, "acme", "api", run); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(checkRunCalls{Update: 1}, countCheckRunCalls(srv)); diff != "" {
				t.Errorf("next change: calls (-want +got):\n%s", diff)
			}
		})
	}
}

// TestUpsertCheckRunRememberedAnnotations: annotations GitHub appends on
// every update are sent once. A run whose annotations were all sent is
// updated by ID without them; one whose batches were cut short by a
// failure is looked up, and only the unsent annotations go.
func TestUpsertCheckRunRememberedAnnotations(t *testing.T) {
	ctx := context.Background()
	srv, w := setup(t, ghwrite.WithMemo(&mapMemo{}))
	var anns []ghwrite.Annotation
	for i := range 70 {
		anns = append(anns, ghwrite.Annotation{Path: "main.tf", StartLine: i + 1, EndLine: i + 1, Level: "warning", Message: fmt.Sprint("destroys resource ", i)})
	}
	run := ghwrite.CheckRun{Name: "tasuki/config", HeadSHA: "abc", ExternalID: "cfg", Conclusion: "failure", Title: "2 problems", Annotations: anns}
	// The second batch of the first set fails: 50 of 70 were sent.
	srv.InjectTimes(1, "PATCH", tmplCheckRun, 500, nil)
	if _, err := w.UpsertCheckRun(ctx, "acme", "api", run); err == nil {
		t.Fatal("the failed batch was not reported")
	}
	count := func() int { return srv.CheckRuns("acme/api")[0].GetOutput().GetAnnotationsCount() }
	if got := count(); got != 50 {
		t.Fatalf("%d annotations after the failed batch, want 50", got)
	}
	// The retry: looked up (nothing complete was remembered), 20 sent.
	srv.ResetCalls()
	if _, err := w.UpsertCheckRun(ctx, "acme", "api", run); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(checkRunCalls{List: 1, Update: 1}, countCheckRunCalls(srv)); diff != "" {
		t.Errorf("retry: calls (-want +got):\n%s", diff)
	}
	// A changed title: by ID, no annotation sent again.
	srv.ResetCalls()
	run.Title = "2 problems (re-checked)"
	if _, err := w.UpsertCheckRun(ctx, "acme", "api", run); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(checkRunCalls{Update: 1}, countCheckRunCalls(srv)); diff != "" {
		t.Errorf("change: calls (-want +got):\n%s", diff)
	}
	if got, title := count(), srv.CheckRuns("acme/api")[0].GetOutput().GetTitle(); got != 70 || title != run.Title {
		t.Errorf("%d annotations, title %q; want 70 and %q", got, title, run.Title)
	}

	// A run remembered with fewer annotations than now asked for (set
	// before without them) is looked up, and the missing ones are sent.
	other := ghwrite.CheckRun{Name: "tasuki/config", HeadSHA: "def", ExternalID: "cfg", Conclusion: "success", Title: "valid"}
	if _, err := w.UpsertCheckRun(ctx, "acme", "api", other); err != nil {
		t.Fatal(err)
	}
	srv.ResetCalls()
	other.Conclusion, other.Title, other.Annotations = "failure", "3 problems", anns[:3]
	c, err := w.UpsertCheckRun(ctx, "acme", "api", other)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(checkRunCalls{List: 1, Update: 1}, countCheckRunCalls(srv)); diff != "" {
		t.Errorf("annotations added: calls (-want +got):\n%s", diff)
	}
	if got := c.GetOutput().GetAnnotationsCount(); got != 3 {
		t.Errorf("%d annotations on the run, want 3", got)
	}
}
