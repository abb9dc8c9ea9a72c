package githubtest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/testenv"
)

// BenchmarkParseSpec measures loading GitHub's OpenAPI description, which
// New pays once per test binary.
func BenchmarkParseSpec(b *testing.B) {
	file := filepath.Join(testenv.Fixtures(b, "github-openapi"), "api.github.com.json")
	for b.Loop() {
		if _, err := parseSpec(file); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreateComment measures one validated, authenticated request
// through go-github to the fake.
func BenchmarkCreateComment(b *testing.B) {
	srv := New(b)
	srv.AddRepo("acme/api", "")
	is := srv.AddIssue("acme/api", &github.Issue{Title: github.String("t")})
	c := srv.Client()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := c.Issues.CreateComment(ctx, "acme", "api", is.GetNumber(), &github.IssueComment{Body: github.String("x")}); err != nil {
			b.Fatal(err)
		}
	}
}
