package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/githubtest"
	obshell "github.com/tasuki-sre/tasuki/internal/handler/onboarding"
	"github.com/tasuki-sre/tasuki/internal/onboarding"
	"github.com/tasuki-sre/tasuki/internal/testenv"
)

// pushEvent writes the real push fixture as a push of one commit to main
// of acme/payments from before to after adding files.
func pushEvent(t *testing.T, before, after string, added ...string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(testenv.Fixtures(t, "webhooks"), "push.5.json"))
	if err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	p["ref"], p["before"], p["after"] = "refs/heads/main", before, after
	r := p["repository"].(map[string]any)
	r["name"], r["full_name"], r["default_branch"], r["master_branch"] = "payments", "acme/payments", "main", "main"
	r["owner"].(map[string]any)["login"] = "acme"
	cm := p["commits"].([]any)[0].(map[string]any)
	var files []any
	for _, f := range added {
		files = append(files, f)
	}
	cm["id"], cm["added"], cm["modified"], cm["removed"] = after, files, []any{}, []any{}
	p["head_commit"] = cm
	delete(p, "installation")
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "push.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// With GITHUB_TOKEN the Action starts the handoff an added
// ownership.handoff block asks for, re-verifies it on a schedule, and says
// clearly that the token cannot read team data (GitHub answers 403), the
// team items staying pending.
func TestOnboardingAction(t *testing.T) {
	srv := githubtest.New(t)
	srv.AddRepo("acme/payments", "main")
	srv.PutFile("acme/payments", "main", ".github/CODEOWNERS", []byte("* @acme/core-sre\n"))
	// The handoff's core team comes from the organisation's configuration
	// only: anyone who can push the block could write the repository's.
	srv.AddRepo("acme/.github", "main")
	srv.PutFile("acme/.github", "main", ".github/tasuki.yml", []byte("ownership:\n  core_sre_team: core-sre\n"))
	before, _ := srv.Ref("acme/payments", "heads/main")
	after := srv.PutFile("acme/payments", "main", ".github/tasuki.yml", []byte("ownership:\n  handoff:\n    team: acme/payments-sre\n"))
	for _, tmpl := range []string{"/orgs/{org}/teams/{team_slug}", "/orgs/{org}/teams/{team_slug}/members",
		"/orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}", "/orgs/{org}/teams/{team_slug}/memberships/{username}"} {
		srv.InjectTimes(1000, "GET", tmpl, 403, nil)
	}
	token := srv.Token("github-actions[bot]")
	envv := map[string]string{
		"GITHUB_ACTIONS":        "true",
		"GITHUB_EVENT_NAME":     "push",
		"GITHUB_EVENT_PATH":     pushEvent(t, before, after, ".github/tasuki.yml"),
		"GITHUB_REPOSITORY":     "acme/payments",
		"GITHUB_TOKEN":          token,
		"TASUKI_GITHUB_API_URL": srv.URL(),
	}
	code, stdout, stderr := runCLI(t, envv, "onboarding")
	if code != 0 {
		t.Fatalf("push: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	var handoffs []int
	for _, is := range srv.Issues("acme/payments") {
		if _, found, _ := onboarding.DecodeState(is.GetBody()); found && is.GetUser().GetLogin() == "github-actions[bot]" {
			handoffs = append(handoffs, is.GetNumber())
		}
	}
	if len(handoffs) != 1 {
		t.Fatalf("%d handoff issues after the push, want 1\nstdout: %s", len(handoffs), stdout)
	}

	envv["GITHUB_EVENT_NAME"], envv["GITHUB_EVENT_PATH"] = "schedule", ""
	code, stdout, stderr = runCLI(t, envv, "onboarding", "--format", "json")
	if code != 0 {
		t.Fatalf("schedule: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "::warning") || !strings.Contains(stdout, "GITHUB_TOKEN cannot read organisation teams") {
		t.Errorf("no clear warning about team data:\n%s", stdout)
	}
	if strings.Contains(strings.ReplaceAll(stdout, "::add-mask::"+token, "")+stderr, token) {
		t.Fatal("token printed")
	}
	// The JSON report is the last thing on stdout, after the runner's
	// commands.
	js := stdout[strings.Index(stdout, "\n{")+1:]
	var rep obshell.Report
	if err := json.Unmarshal([]byte(js), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, js)
	}
	if !rep.Open || rep.Issue != handoffs[0] || rep.Team != "acme/payments-sre" || rep.Unavailable[onboarding.FactTeam] == "" {
		t.Errorf("report = %+v", rep)
	}
	if it, ok := stateItem(rep, "team-access"); !ok || it.Status != onboarding.StatusPending {
		t.Errorf("team-access = %+v, want pending", it)
	}

	// A tick cannot be checked against the teams with this token: the
	// reply says so, and nothing is recorded.
	raw, err := os.ReadFile(filepath.Join(testenv.Fixtures(t, "webhooks"), "issue_comment.created.1.json"))
	if err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	body := "/tasuki done capacity-plan https://docs.acme.example/capacity"
	cm := srv.AddComment("acme/payments", handoffs[0], "pat", body)
	c := p["comment"].(map[string]any)
	c["id"], c["body"], c["author_association"] = cm.GetID(), body, "MEMBER"
	c["user"].(map[string]any)["login"] = "pat"
	p["issue"].(map[string]any)["number"] = handoffs[0]
	r := p["repository"].(map[string]any)
	r["name"], r["full_name"] = "payments", "acme/payments"
	r["owner"].(map[string]any)["login"] = "acme"
	p["sender"].(map[string]any)["login"] = "pat"
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "comment.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	envv["GITHUB_EVENT_NAME"], envv["GITHUB_EVENT_PATH"] = "issue_comment", path
	if code, stdout, stderr := runCLI(t, envv, "onboarding"); code != 0 {
		t.Fatalf("issue_comment: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	replied := false
	for _, cm := range srv.Comments("acme/payments", handoffs[0]) {
		replied = replied || strings.Contains(cm.GetBody(), "cannot check team membership with this token")
	}
	if !replied {
		t.Error("no reply saying the token cannot check team membership")
	}
	st, _, _ := onboarding.DecodeState(srv.Issue("acme/payments", handoffs[0]).GetBody())
	if it, _ := st.Item("capacity-plan"); it.By != "" {
		t.Errorf("tick recorded without a membership check: %+v", it)
	}
}

func stateItem(rep obshell.Report, id string) (onboarding.ItemState, bool) {
	for _, it := range rep.Items {
		if it.ID == id {
			return it, true
		}
	}
	return onboarding.ItemState{}, false
}

// Locally the command checks a checklist override and lists the result.
func TestOnboardingLocalChecklist(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yml")
	bad := filepath.Join(dir, "bad.yml")
	if err := os.WriteFile(good, []byte("items:\n  - id: capacity-plan\n    remove: true\n  - id: chaos-day\n    title: Chaos day run\n    phase: shadow\n    kind: manual\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("items:\n  - id: x\n    phase: nowhere\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// As the organisation's checklist it may remove a built-in item.
	code, stdout, stderr := runCLI(t, nil, "onboarding", "--org-checklist", good)
	if code != 0 || !strings.Contains(stdout, "`chaos-day` Chaos day run") || strings.Contains(stdout, "capacity-plan") {
		t.Errorf("good organisation override: exit %d\n%s%s", code, stdout, stderr)
	}
	// As a repository's it may not: the refusal names the file and line.
	code, _, stderr = runCLI(t, nil, "onboarding", "--checklist", good)
	if code != 1 || !strings.Contains(stderr, "good.yml:3: item \"capacity-plan\": cannot remove") {
		t.Errorf("relaxing repository override: exit %d, stderr %q; want 1 naming file and line", code, stderr)
	}
	// Unless the organisation's allows it.
	allow := filepath.Join(dir, "org.yml")
	if err := os.WriteFile(allow, []byte("allow_repo_relaxing: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCLI(t, nil, "onboarding", "--org-checklist", allow, "--checklist", good)
	if code != 0 || strings.Contains(stdout, "capacity-plan") {
		t.Errorf("repository override the organisation lets relax: exit %d\n%s%s", code, stdout, stderr)
	}
	code, _, stderr = runCLI(t, nil, "onboarding", "--checklist", bad)
	if code != 1 || !strings.Contains(stderr, "bad.yml") {
		t.Errorf("bad override: exit %d, stderr %q; want 1 naming the file", code, stderr)
	}
	code, stdout, _ = runCLI(t, nil, "onboarding", "--format", "json", "--tier", "c")
	var out struct {
		Items []onboarding.Item `json:"items"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); code != 0 || err != nil || len(out.Items) == 0 {
		t.Errorf("json: exit %d, %v, %d items", code, err, len(out.Items))
	}
}

// The App's handoff issue is not the Action's to edit (DESIGN.md, "Trust":
// each entrance trusts only its own identity): on a schedule the Action
// says so and writes nothing, and an ownership.handoff block pushed
// meanwhile does not open a second handoff beside it.
func TestOnboardingActionLeavesTheAppsHandoff(t *testing.T) {
	srv := githubtest.New(t)
	srv.AddRepo("acme/payments", "main")
	srv.PutFile("acme/payments", "main", ".github/CODEOWNERS", []byte("* @acme/core-sre\n"))
	d := onboarding.Start(onboarding.StartRequest{Repo: "acme/payments", Team: "acme/payments-sre", Actor: "carol", Trigger: "command",
		ActorIsCore: true, CoreTeam: "core-sre"}, onboarding.DefaultConfig(), onboarding.Default(), time.Now())
	if len(d.Intents) != 1 {
		t.Fatalf("start: %+v", d)
	}
	in := d.Intents[0].Issue
	var labels []*github.Label
	for _, l := range in.Labels {
		labels = append(labels, &github.Label{Name: github.String(l)})
	}
	apps := srv.AddIssue("acme/payments", &github.Issue{Title: github.String(in.Title), Body: github.String(in.Body), Labels: labels,
		User: &github.User{Login: github.String("tasuki[bot]"), Type: github.String("Bot")}})
	token := srv.Token("github-actions[bot]")
	envv := map[string]string{
		"GITHUB_ACTIONS":        "true",
		"GITHUB_EVENT_NAME":     "schedule",
		"GITHUB_REPOSITORY":     "acme/payments",
		"GITHUB_TOKEN":          token,
		"TASUKI_GITHUB_API_URL": srv.URL(),
	}
	srv.ResetCalls()
	code, stdout, stderr := runCLI(t, envv, "onboarding")
	if code != 0 {
		t.Fatalf("schedule: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	want := fmt.Sprintf("handoff issue #%d was opened by tasuki[bot]; the Action does not edit the App's artefacts: run verification from the App", apps.GetNumber())
	if !strings.Contains(stdout, "::notice::onboarding: "+want) || !strings.Contains(stdout, "acme/payments: "+want+".") {
		t.Errorf("stdout does not say the App's handoff is the App's:\n%s", stdout)
	}
	if n := srv.WriteCount(); n != 0 {
		t.Errorf("the Action wrote %d times about the App's handoff", n)
	}
	if got := srv.Issue("acme/payments", apps.GetNumber()).GetBody(); got != in.Body {
		t.Error("the Action edited the App's handoff issue")
	}

	before, _ := srv.Ref("acme/payments", "heads/main")
	after := srv.PutFile("acme/payments", "main", ".github/tasuki.yml", []byte("ownership:\n  core_sre_team: core-sre\n  handoff:\n    team: acme/payments-sre\n"))
	envv["GITHUB_EVENT_NAME"], envv["GITHUB_EVENT_PATH"] = "push", pushEvent(t, before, after, ".github/tasuki.yml")
	if code, stdout, stderr := runCLI(t, envv, "onboarding"); code != 0 {
		t.Fatalf("push: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	for _, is := range srv.Issues("acme/payments") {
		if is.GetNumber() != apps.GetNumber() && strings.HasPrefix(is.GetTitle(), "SRE handoff:") {
			t.Errorf("the Action opened a second handoff, #%d, beside the App's", is.GetNumber())
		}
	}
}
