package githubtest

import (
	"context"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-github/v60/github"
)

// BenchmarkParseSpec measures loading the embedded description (twice: for
// requests and for responses), which New pays once per test binary.
func BenchmarkParseSpec(b *testing.B) {
	for b.Loop() {
		if _, err := parseSpec(cutSpecJSON); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseFullSpec measures loading GitHub's full description with
// kin-openapi, which the cut spares every test binary.
func BenchmarkParseFullSpec(b *testing.B) {
	raw := fullSpec(b)
	for b.Loop() {
		if _, err := openapi3.NewLoader().LoadFromData(raw); err != nil {
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
