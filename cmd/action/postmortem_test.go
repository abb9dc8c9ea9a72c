package main

import (
	"context"
	"encoding/json"
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

	pm := pms[0]
	sweep := func() {
		t.Helper()
		envv["GITHUB_EVENT_NAME"] = "schedule"
		envv["GITHUB_EVENT_PATH"] = ""
		if code, stdout, stderr := runCLI(t, envv, "postmortem"); code != 0 {
			t.Fatalf("sweep exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
		}
	}
	edit := func(f func(string) string) {
		t.Helper()
		body := f(srv.Issue("Codertocat/Hello-World", pm.GetNumber()).GetBody())
		if _, _, err := srv.ClientAs("octocat").Issues.Edit(context.Background(), "Codertocat", "Hello-World", pm.GetNumber(), &github.IssueRequest{Body: &body}); err != nil {
			t.Fatal(err)
		}
	}
	state := func() string { return srv.Issue("Codertocat/Hello-World", pm.GetNumber()).GetState() }

	// Its one action item done, but blank and unapproved: it stays open.
	edit(func(b string) string {
		return strings.Replace(b, "## Supporting links", "- [x] Fix the spelling — owner: @octocat\n\n## Supporting links", 1)
	})
	sweep()
	if state() != "open" {
		t.Fatal("a blank, unapproved postmortem was closed")
	}
	// Signed off through the Action's issue_comment run, by someone other
	// than the incident's author; still blank, still open.
	approve := approveEvent(t, srv.Issue("Codertocat/Hello-World", pm.GetNumber()), "hubot")
	envv["GITHUB_EVENT_NAME"] = "issue_comment"
	envv["GITHUB_EVENT_PATH"] = approve
	if code, stdout, stderr := runCLI(t, envv, "postmortem"); code != 0 {
		t.Fatalf("approve exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	sweep()
	if state() != "open" {
		t.Fatal("an approved but blank postmortem was closed")
	}
	// Written: it closes, saying which of the three happened when.
	edit(func(b string) string {
		b = strings.Replace(b, postmortem.DraftNote, "", 1)
		for _, sec := range []string{"## Summary\n", "## Impact\n", "## Contributing factors\n"} {
			b = strings.Replace(b, sec, sec+"\nWritten.\n", 1)
		}
		return b
	})
	sweep()
	sweep()
	if state() != "closed" {
		t.Fatal("a written, approved and done postmortem stayed open")
	}
	var complete []string
	for _, c := range srv.Comments("Codertocat/Hello-World", pm.GetNumber()) {
		if strings.Contains(c.GetBody(), "tasuki:"+postmortem.KindComplete+" ") {
			complete = append(complete, c.GetBody())
		}
	}
	if len(complete) != 1 || !strings.Contains(complete[0], "- **Reviewed:** [signed off]") || !strings.Contains(complete[0], "by `hubot` on ") ||
		!strings.Contains(complete[0], "- **Written:**") || !strings.Contains(complete[0], "- **Action items:** all 1 done (checked).") {
		t.Fatalf("completion comments: %q", complete)
	}
}

// approveEvent writes the real issue_comment.created fixture as a
// "/tasuki approve" comment by login on issue is.
func approveEvent(t *testing.T, is *github.Issue, login string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(testenv.Fixtures(t, "webhooks"), "issue_comment.created.1.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(is)
	if err != nil {
		t.Fatal(err)
	}
	var issue map[string]any
	if err := json.Unmarshal(b, &issue); err != nil {
		t.Fatal(err)
	}
	ev["issue"] = issue
	c := ev["comment"].(map[string]any)
	c["body"] = "/tasuki approve"
	c["id"] = 4242
	c["author_association"] = "COLLABORATOR"
	c["user"] = map[string]any{"login": login, "id": 7, "type": "User"}
	ev["sender"] = c["user"]
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "approve.json")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPostmortemLocal(t *testing.T) {
	event := labeledIncidentEvent(t)
	code, stdout, stderr := runCLI(t, nil, "postmortem", "--event", event, "--timezone", "Asia/Tokyo")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"# Postmortem: Spelling error in the README file", "labels: postmortem", "## Where we got lucky", "## What surprised us",
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
	if code != 2 || !strings.Contains(stderr, bad+" line 2") { // bad input, exit 2
		t.Errorf("bad template: exit %d, stderr %q", code, stderr)
	}

	for _, args := range [][]string{{"postmortem"}, {"postmortem", "--timezone", "Mars/Base", "--event", event}, {"postmortem", "extra"}} {
		if code, _, _ := runCLI(t, nil, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
