package ghread_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/tasuki-sre/tasuki/internal/ghclient"
	"github.com/tasuki-sre/tasuki/internal/ghread"
	"github.com/tasuki-sre/tasuki/internal/githubtest"
)

// Blob reads a file by the ID its tree entry gives, bounded by the
// entry's size before any request; a client revalidating with ETags is
// answered 304 for a file no push changed, however many pushes there were.
func TestBlob(t *testing.T) {
	ctx := context.Background()
	srv := githubtest.New(t)
	srv.AddRepo("acme/api", "main")
	srv.PutFile("acme/api", "main", "CODEOWNERS", []byte("* @acme/sre\n"))
	head := srv.PutFile("acme/api", "main", "big.yaml", []byte(strings.Repeat("x", 100)))
	c, err := ghclient.NewTokenClient(srv.Token("tasuki[bot]"), srv.URL(), ghclient.WithTransport(srv.HTTPClient().Transport))
	if err != nil {
		t.Fatal(err)
	}
	entry := func(ref, path string) ghread.TreeEntry {
		t.Helper()
		tree, err := ghread.Files(ctx, c, "acme", "api", ref, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range tree.Entries {
			if e.Path == path {
				return e
			}
		}
		t.Fatalf("no %s at %s", path, ref)
		return ghread.TreeEntry{}
	}
	co := entry(head, "CODEOWNERS")
	b, found, err := ghread.Blob(ctx, c, "acme", "api", co.SHA, co.Size, 1024)
	if err != nil || !found || string(b) != "* @acme/sre\n" {
		t.Fatalf("Blob = %q, %v, %v", b, found, err)
	}
	big := entry(head, "big.yaml")
	srv.ResetCalls()
	if _, _, err := ghread.Blob(ctx, c, "acme", "api", big.SHA, big.Size, 10); !errors.Is(err, ghread.ErrTooLarge) || len(srv.Calls()) != 0 {
		t.Errorf("a blob over the bound: err %v after %d requests; want ErrTooLarge and none", err, len(srv.Calls()))
	}
	if _, found, err := ghread.Blob(ctx, c, "acme", "api", strings.Repeat("0", 40), 1, 10); found || err != nil {
		t.Errorf("unknown blob: found %v, %v", found, err)
	}

	// Another push: CODEOWNERS is the same blob, revalidated for free.
	next := srv.PutFile("acme/api", "main", "README.md", []byte("hello\n"))
	co2 := entry(next, "CODEOWNERS")
	srv.ResetCalls()
	if b, _, err := ghread.Blob(ctx, c, "acme", "api", co2.SHA, co2.Size, 1024); err != nil || string(b) != "* @acme/sre\n" {
		t.Fatalf("Blob after a push = %q, %v", b, err)
	}
	if calls := srv.Calls(); len(calls) != 1 || calls[0].Status != http.StatusNotModified {
		t.Errorf("rereading an unchanged blob: %+v, want one 304", calls)
	}
}
