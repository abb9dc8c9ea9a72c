package githubtest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
)

// The git data API: a commit made of a blob and a tree on a branch, which
// moves only forward unless forced, with the open PR from it following.
func TestGitData(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	srv := New(t, WithClock(func() time.Time { return clock }))
	srv.AddRepo("acme/api", "main")
	main := srv.PutFile("acme/api", "main", "README.md", []byte("hello\n"))
	c := srv.Client()

	blob, _, err := c.Git.CreateBlob(ctx, "acme", "api", &github.Blob{Content: github.String("aGk=\n"), Encoding: github.String("base64")})
	if err != nil {
		t.Fatal(err)
	}
	// Blob IDs are git's (printf hi | git hash-object --stdin), as on GitHub.
	if blob.GetSHA() != "32f95c0d1244a78b2be1bab8de17906fabb2c4a8" {
		t.Errorf("blob %s, want git's 32f95c0…", blob.GetSHA())
	}
	base, _, err := c.Git.GetCommit(ctx, "acme", "api", main)
	if err != nil {
		t.Fatal(err)
	}
	tree, _, err := c.Git.CreateTree(ctx, "acme", "api", base.GetTree().GetSHA(), []*github.TreeEntry{
		{Path: github.String("docs/hi.txt"), Mode: github.String("100644"), Type: github.String("blob"), SHA: blob.SHA},
		{Path: github.String("README.md"), Mode: github.String("100644"), Type: github.String("blob")}, // deleted
	})
	if err != nil {
		t.Fatal(err)
	}
	commit, _, err := c.Git.CreateCommit(ctx, "acme", "api", &github.Commit{Message: github.String("Add hi"), Tree: &github.Tree{SHA: tree.SHA},
		Parents: []*github.Commit{{SHA: github.String(main)}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Git.CreateRef(ctx, "acme", "api", &github.Reference{Ref: github.String("refs/heads/hi"), Object: &github.GitObject{SHA: commit.SHA}}); err != nil {
		t.Fatal(err)
	}
	if b, _ := srv.File("acme/api", "hi", "docs/hi.txt"); string(b) != "hi" {
		t.Errorf("docs/hi.txt = %q", b)
	}
	if _, ok := srv.File("acme/api", "hi", "README.md"); ok {
		t.Error("README.md not deleted")
	}
	listed, _, err := c.Git.GetTree(ctx, "acme", "api", commit.GetSHA(), true)
	if err != nil {
		t.Fatal(err)
	}
	if len(listed.Entries) != 2 || listed.GetSHA() != tree.GetSHA() { // docs/ and docs/hi.txt
		t.Errorf("tree %s with %d entries, want %s with 2", listed.GetSHA(), len(listed.Entries), tree.GetSHA())
	}

	pr, _, err := c.PullRequests.Create(ctx, "acme", "api", &github.NewPullRequest{Title: github.String("hi"), Head: github.String("hi"), Base: github.String("main")})
	if err != nil {
		t.Fatal(err)
	}
	// Back to main is not a fast forward.
	back := &github.Reference{Ref: github.String("refs/heads/hi"), Object: &github.GitObject{SHA: github.String(main)}}
	if _, _, err := c.Git.UpdateRef(ctx, "acme", "api", back, false); err == nil {
		t.Error("a non-fast-forward update was accepted without force")
	}
	next, _, err := c.Git.CreateCommit(ctx, "acme", "api", &github.Commit{Message: github.String("Again"), Tree: &github.Tree{SHA: tree.SHA},
		Parents: []*github.Commit{{SHA: commit.SHA}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Git.UpdateRef(ctx, "acme", "api", &github.Reference{Ref: github.String("refs/heads/hi"), Object: &github.GitObject{SHA: next.SHA}}, false); err != nil {
		t.Fatal(err)
	}
	if got := srv.Pull("acme/api", pr.GetNumber()).GetHead().GetSHA(); got != next.GetSHA() {
		t.Errorf("PR head %s, want the branch's %s", got, next.GetSHA())
	}
	if _, _, err := c.Git.UpdateRef(ctx, "acme", "api", back, true); err != nil {
		t.Errorf("forced update: %v", err)
	}
}
