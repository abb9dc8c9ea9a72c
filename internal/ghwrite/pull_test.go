package ghwrite_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/ghwrite"
	"github.com/tasuki-sre/tasuki/internal/githubtest"
	"github.com/tasuki-sre/tasuki/internal/marker"
)

const (
	tmplPulls   = "/repos/{owner}/{repo}/pulls"
	tmplPull    = "/repos/{owner}/{repo}/pulls/{pull_number}"
	tmplBlobs   = "/repos/{owner}/{repo}/git/blobs"
	tmplTrees   = "/repos/{owner}/{repo}/git/trees"
	tmplCommits = "/repos/{owner}/{repo}/git/commits"
	tmplRefs    = "/repos/{owner}/{repo}/git/refs"
	tmplRef     = "/repos/{owner}/{repo}/git/refs/{ref}"
)

const handoffHead = "tasuki/handoff-payments"

var handoffMarker = marker.New("handoff", "payments")

// handoffPR is the pull request a handoff proposes, seeded files aside.
func handoffPR(owners string) ghwrite.PullRequest {
	return ghwrite.PullRequest{Marker: handoffMarker, Head: handoffHead, Title: "Hand payments to the payments team",
		Body: "Moves ownership of payments.", Files: []ghwrite.FileChange{
			{Path: "CODEOWNERS", Content: []byte(owners)},
			{Path: "docs/handoff/payments.md", Content: []byte("# Payments\n")},
			{Path: ".github/legacy-owners.yml", Delete: true},
			{Path: "never-existed.txt", Delete: true},
		}}
}

func setupRepoFiles(t *testing.T, opts ...ghwrite.Option) (*githubtest.Server, *ghwrite.Writer) {
	t.Helper()
	srv, w := setup(t, opts...)
	srv.PutFile("acme/api", "main", "CODEOWNERS", []byte("* @acme/sre\n"))
	srv.PutFile("acme/api", "main", ".github/legacy-owners.yml", []byte("owners: [sre]\n"))
	srv.ResetCalls()
	return srv, w
}

func file(t *testing.T, srv *githubtest.Server, ref, path string) string {
	t.Helper()
	b, ok := srv.File("acme/api", ref, path)
	if !ok {
		return "<absent>"
	}
	return string(b)
}

// writeCounts counts the writes of a pull request by endpoint.
func writeCounts(srv *githubtest.Server) map[string]int {
	out := map[string]int{}
	for _, c := range srv.Calls() {
		if c.Method != "GET" {
			out[c.Method+" "+c.Template]++
		}
	}
	return out
}

func TestOpenPullRequest(t *testing.T) {
	ctx := context.Background()
	srv, w := setupRepoFiles(t, ghwrite.WithMemo(&mapMemo{}))
	mainBefore, _ := srv.Ref("acme/api", "heads/main")

	pr, created, err := w.OpenPullRequest(ctx, "acme", "api", handoffPR("* @acme/payments\n"))
	if err != nil || !created {
		t.Fatalf("first: created=%v err=%v", created, err)
	}
	want := map[string]int{"POST " + tmplBlobs: 2, "POST " + tmplTrees: 1, "POST " + tmplCommits: 1, "POST " + tmplRefs: 1, "POST " + tmplPulls: 1}
	if diff := cmp.Diff(want, writeCounts(srv)); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}
	got := srv.Pull("acme/api", pr.GetNumber())
	if got.GetHead().GetRef() != handoffHead || got.GetBase().GetRef() != "main" || got.GetUser().GetLogin() != "tasuki[bot]" ||
		!strings.HasSuffix(got.GetBody(), "Moves ownership of payments.\n\n"+handoffMarker.String()) {
		t.Errorf("PR %s <- %s by %s, body %q", got.GetBase().GetRef(), got.GetHead().GetRef(), got.GetUser().GetLogin(), got.GetBody())
	}
	files := [3]string{file(t, srv, handoffHead, "CODEOWNERS"), file(t, srv, handoffHead, "docs/handoff/payments.md"), file(t, srv, handoffHead, ".github/legacy-owners.yml")}
	if diff := cmp.Diff([3]string{"* @acme/payments\n", "# Payments\n", "<absent>"}, files); diff != "" {
		t.Errorf("files on the branch (-want +got):\n%s", diff)
	}
	if after, _ := srv.Ref("acme/api", "heads/main"); after != mainBefore || file(t, srv, "main", "CODEOWNERS") != "* @acme/sre\n" {
		t.Error("the base branch changed")
	}

	// A retried job (another replica: no memo) finds the PR and writes
	// nothing: the branch already holds the files.
	w2 := ghwrite.New(srv.Client(), bot, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv.ResetCalls()
	again, created, err := w2.OpenPullRequest(ctx, "acme", "api", handoffPR("* @acme/payments\n"))
	if err != nil || created || again.GetNumber() != pr.GetNumber() {
		t.Fatalf("retry: created=%v err=%v #%d, want #%d again", created, err, again.GetNumber(), pr.GetNumber())
	}
	if n := srv.WriteCount(); n != 0 {
		t.Errorf("retry wrote %d times, want 0: %v", n, writeCounts(srv))
	}

	// Changed files: one commit on top of the PR's head, no new PR.
	srv.ResetCalls()
	headBefore := srv.Pull("acme/api", pr.GetNumber()).GetHead().GetSHA()
	upd, created, err := w.OpenPullRequest(ctx, "acme", "api", handoffPR("* @acme/payments @acme/sre\n"))
	if err != nil || created || upd.GetNumber() != pr.GetNumber() {
		t.Fatalf("update: created=%v err=%v #%d", created, err, upd.GetNumber())
	}
	want = map[string]int{"POST " + tmplBlobs: 1, "POST " + tmplTrees: 1, "POST " + tmplCommits: 1, "PATCH " + tmplRef: 1}
	if diff := cmp.Diff(want, writeCounts(srv)); diff != "" {
		t.Errorf("update writes (-want +got):\n%s", diff)
	}
	head, _ := srv.Ref("acme/api", "heads/"+handoffHead)
	if cur := srv.Pull("acme/api", pr.GetNumber()).GetHead().GetSHA(); cur != head || cur == headBefore || upd.GetHead().GetSHA() != head {
		t.Errorf("PR head %s (returned %s), branch %s, before %s", cur, upd.GetHead().GetSHA(), head, headBefore)
	}
	if got := file(t, srv, handoffHead, "CODEOWNERS"); got != "* @acme/payments @acme/sre\n" {
		t.Errorf("CODEOWNERS on the branch = %q", got)
	}
	for _, c := range srv.Calls() {
		if c.Method == "PATCH" && c.Template == tmplRef && strings.Contains(string(c.Body), `"force":true`) {
			t.Errorf("the PR's branch was force-pushed: %s", c.Body)
		}
	}
	if n := len(srv.Pulls("acme/api")); n != 2 { // the seeded PR #1 and tasuki's
		t.Errorf("%d PRs, want 2", n)
	}
}

func TestOpenPullRequestFinds(t *testing.T) {
	ctx := context.Background()
	t.Run("by search from another branch", func(t *testing.T) {
		srv, w := setupRepoFiles(t)
		pr, _, err := w.OpenPullRequest(ctx, "acme", "api", handoffPR("* @acme/payments\n"))
		if err != nil {
			t.Fatal(err)
		}
		p := handoffPR("* @acme/payments\n")
		p.Head = "tasuki/handoff/payments" // renamed by a later tasuki
		srv.ResetCalls()
		got, created, err := w.OpenPullRequest(ctx, "acme", "api", p)
		if err != nil || created || got.GetNumber() != pr.GetNumber() {
			t.Fatalf("created=%v err=%v #%d, want #%d", created, err, got.GetNumber(), pr.GetNumber())
		}
		if srv.CallCount("GET", tmplSearch) != 1 || srv.WriteCount() != 0 {
			t.Errorf("%d searches, %d writes; want 1 and 0", srv.CallCount("GET", tmplSearch), srv.WriteCount())
		}
	})
	t.Run("someone else's PR from the branch", func(t *testing.T) {
		srv, w := setupRepoFiles(t)
		srv.PutFile("acme/api", handoffHead, "x.txt", []byte("mine"))
		srv.AddPull("acme/api", &github.PullRequest{Title: github.String("copy"), Body: github.String(handoffMarker.String()),
			User: &github.User{Login: github.String("mallory")}, Head: &github.PullRequestBranch{Ref: github.String(handoffHead)}})
		srv.ResetCalls()
		_, _, err := w.OpenPullRequest(ctx, "acme", "api", handoffPR("* @acme/payments\n"))
		if err == nil || !strings.Contains(err.Error(), "not tasuki's") || srv.WriteCount() != 0 {
			t.Errorf("err = %v, %d writes; want a refusal and no write", err, srv.WriteCount())
		}
	})
	t.Run("a branch left over", func(t *testing.T) {
		srv, w := setupRepoFiles(t)
		srv.PutFile("acme/api", handoffHead, "stale.txt", []byte("from a failed attempt"))
		pr, created, err := w.OpenPullRequest(ctx, "acme", "api", handoffPR("* @acme/payments\n"))
		if err != nil || !created {
			t.Fatalf("created=%v err=%v", created, err)
		}
		if file(t, srv, handoffHead, "stale.txt") != "<absent>" || file(t, srv, handoffHead, "CODEOWNERS") != "* @acme/payments\n" {
			t.Error("the leftover branch was not reset onto the base")
		}
		if srv.Pull("acme/api", pr.GetNumber()).GetHead().GetRef() != handoffHead {
			t.Error("wrong head")
		}
	})
	t.Run("a closed PR is not reopened", func(t *testing.T) {
		srv, w := setupRepoFiles(t, ghwrite.WithMemo(&mapMemo{}))
		old, _, err := w.OpenPullRequest(ctx, "acme", "api", handoffPR("* @acme/payments\n"))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := srv.ClientAs("alice").PullRequests.Edit(ctx, "acme", "api", old.GetNumber(), &github.PullRequest{State: github.String("closed")}); err != nil {
			t.Fatal(err)
		}
		pr, created, err := w.OpenPullRequest(ctx, "acme", "api", handoffPR("* @acme/payments\n"))
		if err != nil || !created || pr.GetNumber() == old.GetNumber() {
			t.Fatalf("created=%v err=%v #%d (closed #%d)", created, err, pr.GetNumber(), old.GetNumber())
		}
	})
	t.Run("nothing to propose", func(t *testing.T) {
		srv, w := setupRepoFiles(t)
		p := handoffPR("* @acme/sre\n")
		p.Files = []ghwrite.FileChange{{Path: "CODEOWNERS", Content: []byte("* @acme/sre\n")}, {Path: "gone.txt", Delete: true}}
		pr, created, err := w.OpenPullRequest(ctx, "acme", "api", p)
		if err != nil || created || pr != nil || srv.WriteCount() != 0 {
			t.Errorf("pr=%v created=%v err=%v, %d writes; want nothing", pr, created, err, srv.WriteCount())
		}
	})
}
