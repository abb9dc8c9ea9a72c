package githubtest

import (
	"strings"
	"testing"
)

func FuzzSplitQuery(f *testing.F) {
	for _, s := range []string{`repo:acme/api is:issue in:body "tasuki:postmortem key=acme/api#1"`, `label:"needs review" x`, `"`, `  a  b `, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		terms := splitQuery(q)
		// No term is empty, and only quotes keep spaces inside a term.
		for _, term := range terms {
			if term == "" {
				t.Fatalf("empty term from %q", q)
			}
			if strings.Contains(term, " ") && !strings.Contains(term, `"`) {
				t.Fatalf("term %q has a space but no quote", term)
			}
		}
		// Splitting loses only separating spaces.
		if strings.ReplaceAll(strings.Join(terms, ""), " ", "") != strings.ReplaceAll(q, " ", "") {
			t.Fatalf("splitQuery(%q) = %q loses characters", q, terms)
		}
	})
}

func FuzzMatchPath(f *testing.F) {
	sp := loadSpec(f)
	for _, s := range []string{"/repos/acme/api/issues/1", "/repos/acme/api/issues/comments/5", "/repos/a/b/contents/a/b/c.yml", "/app", "/", "/repos/a/b/git/ref/heads/x/y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		e, params := sp.match(path)
		if e == nil {
			return
		}
		// The template filled with the parameters gives the path back.
		got := e.template
		for k, v := range params {
			got = strings.Replace(got, "{"+k+"}", v, 1)
		}
		if strings.Trim(got, "/") != strings.Trim(path, "/") {
			t.Fatalf("match(%q) = %s %v, which rebuilds %q", path, e.template, params, got)
		}
	})
}
