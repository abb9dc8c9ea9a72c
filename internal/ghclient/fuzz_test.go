package ghclient_test

import (
	"strings"
	"testing"

	"github.com/tasuki-sre/tasuki/internal/ghclient"
)

// FuzzEndpoint checks that metric labels never carry an owner, a repository
// or a number from the path, whatever the path.
func FuzzEndpoint(f *testing.F) {
	for _, s := range []string{"/api/v3/repos/acme/api/issues/12/comments", "/repos/a/b/contents/x/y/z", "/orgs/acme/teams/sre/memberships/bob",
		"/app/hook/deliveries/123/attempts", "", "/", "//repos//", "/repos/a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		got := ghclient.Endpoint(path)
		if !strings.HasPrefix(got, "/") {
			t.Fatalf("Endpoint(%q) = %q, want a leading slash", path, got)
		}
		segs := strings.Split(strings.Trim(path, "/"), "/")
		if len(segs) >= 3 && segs[0] == "repos" && segs[1] != "" && !strings.HasPrefix(got, "/repos/{owner}/{repo}") {
			t.Fatalf("Endpoint(%q) = %q keeps the owner", path, got)
		}
		for _, s := range strings.Split(got, "/") {
			if s != "" && strings.Trim(s, "0123456789") == "" {
				t.Fatalf("Endpoint(%q) = %q keeps a number", path, got)
			}
		}
	})
}
