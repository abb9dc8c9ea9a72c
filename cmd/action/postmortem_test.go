package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/githubtest"
	"github.com/tasuki-sre/tasuki/internal/postmortem"
	"github.com/tasuki-sre/tasuki/internal/testenv"
)

// labeledIncidentEvent writes the real issues.labeled fixture with its
// label renamed to "incident" (the fixture's is "bug").
func labeledIncidentEvent(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(testenv.Fixtures(t, "webhooks"), "issues.labeled.1.json"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(raw), `"name": "bug"`, `"name": "incident"`)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPostmortemAction(t *testing.T) {
	srv := githubtest.New(t)
	srv.AddRepo("Codertocat/Hello-World", "main")
	srv.AddIssue("Codertocat/Hello-World", &github.Issue{Number: github.Int(1), Title: github.String("Spelling error in the README file"),
		Body: github.String("Impact started: 2019-05-15 15:00 UTC"), User: &github.User{Login: github.String("Codertocat")},
		Labels: []*github.Label{{Name: github.String("incident")}, {Name: github.String("sev1")}}})
	token := srv.Token("github-actions[bot]")
	envv := map[string]string{
		"GITHUB_ACTIONS":        "true",
		"GITHUB_EVENT_NAME":     "issues",
		"GITHUB_EVENT_PATH":     labeledIncidentEvent(t),
		"GITHUB_REPOSITORY":     "Codertocat/Hello-World",
		"GITHUB_TOKEN":          token,
		"TASUKI_GITHUB_API_URL": srv.URL(),
	}
	for i := 0; i < 2; i++ {
		code, stdout, stderr := runCLI(t, envv, "postmortem")
		if code != 0 {
			t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
		}
		// "::add-mask::" is the runner's masking command, never shown.
		if strings.Contains(strings.ReplaceAll(stdout, "::add-mask::"+token, "")+stderr, token) {
			t.Fatalf("token printed:\n%s\n%s", stdout, stderr)
		}
	}
	var pms []*github.Issue
	for _, is := range srv.Issues("Codertocat/Hello-World") {
		if postmortem.PostmortemOf(is.GetBody()) == "Codertocat/Hello-World#1" {
			pms = append(pms, is)
		}
	}
	if len(pms) != 1 || pms[0].GetUser().GetLogin() != "github-actions[bot]" || pms[0].GetTitle() != "Postmortem: Spelling error in the README file" {
		t.Fatalf("postmortems: %d", len(pms))
	}

	envv["GITHUB_EVENT_NAME"] = "schedule"
	envv["GITHUB_EVENT_PATH"] = ""
	if code, stdout, stderr := runCLI(t, envv, "postmortem"); code != 0 {
		t.Fatalf("sweep exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
}

func TestPostmortemLocal(t *testing.T) {
	event := labeledIncidentEvent(t)
	code, stdout, stderr := runCLI(t, nil, "postmortem", "--event", event, "--timezone", "Asia/Tokyo")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"# Postmortem: Spelling error in the README file", "labels: postmortem", "## Where we got lucky",
		"2019-05-15 15:20 UTC (2019-05-16 00:20 JST)", "<!-- tasuki:postmortem key=Codertocat/Hello-World#1 v=1 -->"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q", want)
		}
	}

	bad := filepath.Join(t.TempDir(), "postmortem.md")
	if err := os.WriteFile(bad, []byte("# {{.Title}}\n{{if}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCLI(t, nil, "postmortem", "--event", event, "--template", bad)
	if code != 1 || !strings.Contains(stderr, bad+" line 2") {
		t.Errorf("bad template: exit %d, stderr %q", code, stderr)
	}

	for _, args := range [][]string{{"postmortem"}, {"postmortem", "--timezone", "Mars/Base", "--event", event}, {"postmortem", "extra"}} {
		if code, _, _ := runCLI(t, nil, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
