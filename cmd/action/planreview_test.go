package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v60/github"
	"github.com/sethvargo/go-githubactions"

	"github.com/tasuki-sre/tasuki/internal/githubtest"
	"github.com/tasuki-sre/tasuki/internal/handler/planreview"
	"github.com/tasuki-sre/tasuki/internal/testenv"
	"github.com/tasuki-sre/tasuki/internal/tfc/tfctest"
)

// runCLI runs the action binary's main logic in-process.
func runCLI(t *testing.T, envv map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return envv[k] }})
	return code, out.String(), errb.String()
}

func tfplan(t *testing.T, name string) string {
	t.Helper()
	return filepath.Join(testenv.Fixtures(t, "tfplan"), name)
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		wantCode int
		inStdout bool
	}{
		{nil, 2, false},
		{[]string{"nope"}, 2, false},
		{[]string{"help"}, 0, true},
		{[]string{"-h"}, 0, true},
	} {
		code, stdout, stderr := runCLI(t, nil, tc.args...)
		if code != tc.wantCode {
			t.Errorf("action %v: exit %d, want %d", tc.args, code, tc.wantCode)
		}
		out := stderr
		if tc.inStdout {
			out = stdout
		}
		if !strings.Contains(out, "usage: action COMMAND") || !strings.Contains(out, "plan-review") {
			t.Errorf("action %v: usage missing or lacks plan-review:\nstdout %q\nstderr %q", tc.args, stdout, stderr)
		}
	}
}

func TestPlanReviewCLIExitCodes(t *testing.T) {
	del := tfplan(t, "tofu-showjson-basic-delete.json")
	bad := tfplan(t, "tfjson-invalid-malformed-json.json")
	badConfig := filepath.Join(t.TempDir(), "tasuki.yml")
	if err := os.WriteFile(badConfig, []byte("review:\n  approvalz: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string // prefix
	}{
		{"risky plan still exits 0", []string{"--plan", del}, 0, ""},
		{"json", []string{"--plan", del, "--format", "json"}, 0, ""},
		{"unreadable plan", []string{"--plan", bad}, 2, "tasuki: plan-review: " + bad + ": "},
		{"missing file", []string{"--plan", "no/such/plan.json"}, 2, "tasuki: plan-review: no/such/plan.json: no such file or directory\n"},
		{"one bad among good", []string{"--plan", del, "--plan", bad}, 2, "tasuki: plan-review: " + bad + ": "},
		{"glob matching nothing", []string{"--plan", "no/such/*.json"}, 2, "tasuki: plan-review: --plan \"no/such/*.json\": no file matches\n"},
		{"no plan", nil, 2, "tasuki: plan-review: no plan given"},
		{"bad format", []string{"--plan", del, "--format", "yaml"}, 2, "tasuki: plan-review: --format \"yaml\": want markdown or json\n"},
		{"bad approvals", []string{"--plan", del, "--approvals", "two"}, 2, "tasuki: plan-review: approvals \"two\": want a whole number"},
		{"stray argument", []string{del}, 2, "tasuki: plan-review: unexpected argument"},
		{"bad config", []string{"--plan", del, "--config", badConfig}, 2, "tasuki: plan-review: " + badConfig + ":2:3: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, nil, append([]string{"plan-review"}, tc.args...)...)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d\nstderr: %s", code, tc.wantCode, stderr)
			}
			if !strings.HasPrefix(stderr, tc.wantStderr) {
				t.Errorf("stderr %q, want prefix %q", stderr, tc.wantStderr)
			}
			if tc.wantCode == 0 && stdout == "" {
				t.Errorf("nothing printed")
			}
			if tc.wantCode != 0 && stdout != "" {
				t.Errorf("printed a review despite unreadable input:\n%s", stdout)
			}
		})
	}
}

func TestPlanReviewCLIMarkdown(t *testing.T) {
	code, stdout, stderr := runCLI(t, nil, "plan-review", "--plan", tfplan(t, "tofu-showjson-basic-delete.json"), "--workspace", "prod")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"needs a second reviewer", "test_instance.test-delete", "production workspace", "<!-- tasuki:plan-facts"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("markdown lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.HasSuffix(stdout, "\n") {
		t.Errorf("markdown does not end with a newline")
	}
}

// jsonOutput is the documented --format json shape; decoding with
// DisallowUnknownFields makes an extra or renamed key fail the test.
type jsonOutput struct {
	Plans []struct {
		Path             string         `json:"path"`
		Workspace        string         `json:"workspace"`
		TerraformVersion string         `json:"terraform_version"`
		Counts           map[string]int `json:"counts"`
		Drift            int            `json:"drift"`
		OutputsChanged   int            `json:"outputs_changed"`
		Errored          bool           `json:"errored"`
	} `json:"plans"`
	Counts              map[string]int `json:"counts"`
	NeedsSecondReviewer bool           `json:"needs_second_reviewer"`
	Reasons             []string       `json:"reasons"`
}

func decodeJSONOutput(t *testing.T, s string) jsonOutput {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	var out jsonOutput
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("decode --format json output: %v\n%s", err, s)
	}
	var raw map[string]json.RawMessage
	json.Unmarshal([]byte(s), &raw)
	for _, k := range []string{"plans", "counts", "needs_second_reviewer", "reasons"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("JSON lacks key %q", k)
		}
	}
	return out
}

func TestPlanReviewCLIJSON(t *testing.T) {
	// A glob over two plans: the basic delete and a 10-create plan.
	dir := t.TempDir()
	for _, n := range []string{"tofu-showjson-basic-delete.json", "tofu-showjson-provider-aliasing-10-creates.json"} {
		b, err := os.ReadFile(tfplan(t, n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, stderr := runCLI(t, nil, "plan-review", "--plan", "ws="+filepath.Join(dir, "*.json"), "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got := decodeJSONOutput(t, stdout)
	if len(got.Plans) != 2 {
		t.Fatalf("%d plans, want 2 from the glob", len(got.Plans))
	}
	zero := map[string]int{"create": 0, "update": 0, "delete": 0, "replace": 0, "read": 0, "no_op": 0, "import": 0, "move": 0, "forget": 0}
	with := func(kv map[string]int) map[string]int {
		m := map[string]int{}
		for k, v := range zero {
			m[k] = v
		}
		for k, v := range kv {
			m[k] = v
		}
		return m
	}
	if diff := cmp.Diff(with(map[string]int{"update": 1, "delete": 1}), got.Plans[0].Counts); diff != "" {
		t.Errorf("basic-delete counts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(with(map[string]int{"create": 10}), got.Plans[1].Counts); diff != "" {
		t.Errorf("10-creates counts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(with(map[string]int{"create": 10, "update": 1, "delete": 1}), got.Counts); diff != "" {
		t.Errorf("total counts (-want +got):\n%s", diff)
	}
	for _, p := range got.Plans {
		if p.Workspace != "ws" {
			t.Errorf("plan %s workspace %q, want ws from NAME=GLOB", p.Path, p.Workspace)
		}
	}
	if !got.NeedsSecondReviewer || len(got.Reasons) == 0 {
		t.Errorf("needs_second_reviewer=%v reasons=%v, want true with the delete named", got.NeedsSecondReviewer, got.Reasons)
	}
}

// TestPlanReviewCLIRealTerraform plans with the real terraform binary: two
// terraform_data resources are applied, one is removed from the
// configuration, and the plan's delete must need a second reviewer.
func TestPlanReviewCLIRealTerraform(t *testing.T) {
	js := testenv.TerraformPlan(t, `
resource "terraform_data" "keep" { input = "a" }
resource "terraform_data" "swap" { triggers_replace = "v1" }
resource "terraform_data" "drop" { input = "b" }
`, `
resource "terraform_data" "keep" { input = "a2" }
resource "terraform_data" "swap" { triggers_replace = "v2" }
resource "terraform_data" "new" { input = "c" }
`)
	dir := t.TempDir()
	planPath := filepath.Join(dir, "plan.json")
	if err := os.WriteFile(planPath, js, 0o644); err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr := runCLI(t, nil, "plan-review", "--plan", planPath, "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got := decodeJSONOutput(t, stdout)
	// keep: input changes in place; swap: triggers_replace forces a
	// replace; drop: removed; new: added.
	want := map[string]int{"create": 1, "update": 1, "delete": 1, "replace": 1, "read": 0, "no_op": 0, "import": 0, "move": 0, "forget": 0}
	if diff := cmp.Diff(want, got.Counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	if !got.NeedsSecondReviewer {
		t.Errorf("a delete and a replace do not need a second reviewer: %+v", got)
	}
	code, md, stderr := runCLI(t, nil, "plan-review", "--plan", planPath)
	if code != 0 || !strings.Contains(md, "terraform_data.drop") {
		t.Errorf("markdown exit %d lacks terraform_data.drop: %s\n%s", code, stderr, md)
	}
}

// actionEnv is the environment GitHub Actions gives the step.
type actionEnv struct {
	vars    map[string]string
	output  string
	summary string
}

func newActionEnv(t *testing.T, srv *githubtest.Server, event, eventFixture string) *actionEnv {
	t.Helper()
	dir := t.TempDir()
	a := &actionEnv{output: filepath.Join(dir, "output"), summary: filepath.Join(dir, "summary")}
	a.vars = map[string]string{
		"GITHUB_ACTIONS":        "true",
		"GITHUB_EVENT_NAME":     event,
		"GITHUB_EVENT_PATH":     filepath.Join(testenv.Fixtures(t, "webhooks"), eventFixture),
		"GITHUB_OUTPUT":         a.output,
		"GITHUB_STEP_SUMMARY":   a.summary,
		"GITHUB_API_URL":        "https://api.github.com",
		"TASUKI_GITHUB_API_URL": srv.URL(),
		"GITHUB_SERVER_URL":     "https://github.com",
		"GITHUB_REPOSITORY":     fxRepo,
		"GITHUB_RUN_ID":         "42",
		"INPUT_GITHUB_TOKEN":    srv.Token("github-actions[bot]"),
	}
	return a
}

// outputs parses the GITHUB_OUTPUT file ("name<<DELIM\nvalue\nDELIM").
func (a *actionEnv) outputs(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(a.output)
	if err != nil {
		t.Fatalf("read GITHUB_OUTPUT: %v", err)
	}
	out := map[string]string{}
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		name, delim, ok := strings.Cut(lines[i], "<<")
		if !ok {
			continue
		}
		var val []string
		for i++; i < len(lines) && lines[i] != delim; i++ {
			val = append(val, lines[i])
		}
		out[name] = strings.Join(val, "\n")
	}
	return out
}

const (
	fxRepo = "Codertocat/Hello-World"
	fxPR   = 2
	fxHead = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
)

func seedFixturePR(t *testing.T) *githubtest.Server {
	t.Helper()
	// GITHUB_TOKEN's check runs belong to the github-actions App.
	srv := githubtest.New(t, githubtest.WithAppSlug("github-actions"))
	srv.AddRepo(fxRepo, "main")
	srv.AddIssue(fxRepo, &github.Issue{Title: github.String("#1")})
	srv.AddPull(fxRepo, &github.PullRequest{User: &github.User{Login: github.String("Codertocat")},
		Head: &github.PullRequestBranch{SHA: github.String(fxHead)}})
	srv.SetPullCommits(fxRepo, fxPR, &github.RepositoryCommit{SHA: github.String(fxHead),
		Author: &github.User{Login: github.String("Codertocat")}, Committer: &github.User{Login: github.String("Codertocat")}})
	return srv
}

func planReviewCheck(t *testing.T, srv *githubtest.Server, sha string) *github.CheckRun {
	t.Helper()
	var found *github.CheckRun
	for _, cr := range srv.CheckRuns(fxRepo) {
		if cr.GetName() == planreview.CheckName && cr.GetHeadSHA() == sha {
			if found != nil {
				t.Fatalf("two %s check runs on %s", planreview.CheckName, sha)
			}
			found = cr
		}
	}
	if found == nil {
		t.Fatalf("no %s check run on %s", planreview.CheckName, sha)
	}
	return found
}

// TestPlanReviewAction runs the Action as a workflow would: on the
// pull_request event it posts the comment and check and writes outputs and
// the step summary; on a pull_request_review event it re-evaluates only.
func TestPlanReviewAction(t *testing.T) {
	srv := seedFixturePR(t)
	a := newActionEnv(t, srv, "pull_request", "pull_request.opened.1.json")
	a.vars["INPUT_PLAN"] = tfplan(t, "tofu-showjson-basic-delete.json")
	a.vars["INPUT_WORKSPACE"] = "staging"
	a.vars["INPUT_ARTIFACT_NAME"] = "plan-staging"
	token := a.vars["INPUT_GITHUB_TOKEN"]

	code, stdout, stderr := runCLI(t, a.vars, "plan-review")
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "::add-mask::"+token) {
		t.Errorf("token not masked; stdout:\n%s", stdout)
	}
	if strings.Count(stdout+stderr, token) != 1 {
		t.Errorf("token printed besides the mask command:\nstdout: %s\nstderr: %s", stdout, stderr)
	}
	cms := srv.Comments(fxRepo, fxPR)
	if len(cms) != 1 || cms[0].GetUser().GetLogin() != "github-actions[bot]" {
		t.Fatalf("comments %v, want one by github-actions[bot]", cms)
	}
	if !planreview.CommentMarker(fxPR).In(cms[0].GetBody()) {
		t.Errorf("comment lacks the marker:\n%s", cms[0].GetBody())
	}
	for _, want := range []string{"https://github.com/Codertocat/Hello-World/actions/runs/42"} {
		if !strings.Contains(cms[0].GetBody(), want) {
			t.Errorf("comment does not point to %s:\n%s", want, cms[0].GetBody())
		}
	}
	cr := planReviewCheck(t, srv, fxHead)
	if cr.GetConclusion() != "action_required" {
		t.Errorf("check conclusion %q, want action_required", cr.GetConclusion())
	}
	outs := a.outputs(t)
	want := map[string]string{
		"create": "0", "update": "1", "delete": "1", "replace": "0", "read": "0", "no-op": "0",
		"import": "0", "move": "0", "forget": "0",
		"needs-second-reviewer": "true",
		"conclusion":            "action_required",
		"comment-url":           cms[0].GetHTMLURL(),
	}
	if diff := cmp.Diff(want, outs); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	summary, err := os.ReadFile(a.summary)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(summary), "test_instance.test-delete") {
		t.Errorf("step summary lacks the risky change:\n%s", summary)
	}

	// A second run of the same workflow edits nothing.
	srv.ResetCalls()
	if code, _, stderr := runCLI(t, a.vars, "plan-review"); code != 0 {
		t.Fatalf("second run: exit %d: %s", code, stderr)
	}
	if n := srv.WriteCount(); n != 0 {
		t.Errorf("re-running the workflow made %d writes, want 0", n)
	}

	// bob approves; the pull_request_review workflow turns the check green.
	srv.AddReview(fxRepo, fxPR, "bob", "APPROVED", fxHead)
	r := newActionEnv(t, srv, "pull_request_review", "pull_request_review.submitted.1.json")
	code, stdout, stderr = runCLI(t, r.vars, "plan-review")
	if code != 0 {
		t.Fatalf("review run: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if got := planReviewCheck(t, srv, fxHead).GetConclusion(); got != "success" {
		t.Errorf("after bob's approval: conclusion %q, want success", got)
	}
	if got := r.outputs(t)["conclusion"]; got != "success" {
		t.Errorf("conclusion output %q, want success", got)
	}
	if n := len(srv.Comments(fxRepo, fxPR)); n != 1 {
		t.Errorf("%d comments after the review run, want still 1", n)
	}
}

// TestPlanReviewActionUnreadable: an unreadable plan fails the step (exit
// 2, as on a terminal) with an error annotation naming the file and posts a
// comment saying so.
func TestPlanReviewActionUnreadable(t *testing.T) {
	srv := seedFixturePR(t)
	a := newActionEnv(t, srv, "pull_request", "pull_request.opened.1.json")
	// GitHub Enterprise Server: only GITHUB_API_URL says where the API is.
	delete(a.vars, "TASUKI_GITHUB_API_URL")
	a.vars["GITHUB_API_URL"] = srv.URL()
	bad := tfplan(t, "tfjson-invalid-malformed-json.json")
	a.vars["INPUT_PLAN"] = bad
	code, stdout, _ := runCLI(t, a.vars, "plan-review")
	if code != 2 {
		t.Fatalf("exit %d, want 2 (unreadable input, as on a terminal)", code)
	}
	if !strings.Contains(stdout, "::error file="+bad+"::plan-review: "+bad+": ") {
		t.Errorf("no error annotation for the file:\n%s", stdout)
	}
	cms := srv.Comments(fxRepo, fxPR)
	if len(cms) != 1 || !strings.Contains(cms[0].GetBody(), "could not be read") {
		t.Fatalf("comment does not say the plan could not be read: %v", cms)
	}
	if got := planReviewCheck(t, srv, fxHead).GetConclusion(); got != "failure" {
		t.Errorf("conclusion %q, want failure", got)
	}
}

// TestPlanReviewActionTFC reads the plan of a Terraform Cloud run through
// the real go-tfe client and posts it like a file plan.
func TestPlanReviewActionTFC(t *testing.T) {
	plan, err := os.ReadFile(tfplan(t, "tofu-showjson-basic-delete.json"))
	if err != nil {
		t.Fatal(err)
	}
	tfcSrv := tfctest.New(t)
	tfcSrv.AddRun(tfctest.Run{ID: "run-x1", Organization: "acme", Workspace: "network-prod", PlanID: "plan-x1", PlanJSON: plan})
	srv := seedFixturePR(t)
	a := newActionEnv(t, srv, "pull_request", "pull_request.opened.1.json")
	a.vars["INPUT_TFC_RUN_ID"] = "run-x1"
	a.vars["INPUT_TFC_TOKEN"] = tfcSrv.Token
	a.vars["INPUT_TFC_ADDRESS"] = tfcSrv.Address()
	code, stdout, stderr := runCLI(t, a.vars, "plan-review")
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "::add-mask::"+tfcSrv.Token) || strings.Contains(stderr, tfcSrv.Token) {
		t.Errorf("TFC token not masked or printed")
	}
	cms := srv.Comments(fxRepo, fxPR)
	if len(cms) != 1 {
		t.Fatalf("%d comments, want 1", len(cms))
	}
	body := cms[0].GetBody()
	for _, want := range []string{"test_instance.test-delete", "production workspace", "/app/acme/workspaces/network-prod/runs/run-x1"} {
		if !strings.Contains(body, want) {
			t.Errorf("comment lacks %q:\n%s", want, body)
		}
	}
	// The local CLI reads the same run.
	code, out, stderr := runCLI(t, map[string]string{"TFE_TOKEN": tfcSrv.Token}, "plan-review", "--tfc-run-id", "run-x1", "--tfc-address", tfcSrv.Address(), "--format", "json")
	if code != 0 {
		t.Fatalf("CLI exit %d: %s", code, stderr)
	}
	if got := decodeJSONOutput(t, out); got.Counts["delete"] != 1 || got.Plans[0].Workspace != "network-prod" {
		t.Errorf("CLI TFC output %+v", got)
	}
}

// TestInputSpellings: composite actions pass inputs as INPUT_GITHUB_TOKEN
// (action.yml), JavaScript and Docker actions as INPUT_GITHUB-TOKEN.
func TestInputSpellings(t *testing.T) {
	for _, k := range []string{"INPUT_GITHUB_TOKEN", "INPUT_GITHUB-TOKEN"} {
		vars := map[string]string{k: " tok \n"}
		a := githubactions.New(githubactions.WithGetenv(func(s string) string { return vars[s] }))
		if got := input(a, "github-token"); got != "tok" {
			t.Errorf("%s: input = %q, want tok", k, got)
		}
	}
}

// TestPlanNamesByStem: plans globbed from one directory are told apart by
// their file names, and NAME=GLOB still sets their workspace.
func TestPlanNamesByStem(t *testing.T) {
	src, err := os.ReadFile(tfplan(t, "tofu-showjson-basic-delete.json"))
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	for _, f := range []string{"plans/app.json", "plans/db.tfplan.json", "solo/plan.json"} {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name  string
		globs []string
		want  []string // name, directory and workspace of each plan
	}{
		{"one directory", []string{"plans/*.json"}, []string{"plans/app plans ", "plans/db plans "}},
		{"NAME=GLOB", []string{"prod=plans/*.json"}, []string{"plans/app plans prod", "plans/db plans prod"}},
		{"one plan per directory", []string{"plans/app.json", "solo/*.json"}, []string{" plans ", " solo "}},
		{"workspaces tell apart", []string{"prod=plans/app.json", "dev=plans/db.tfplan.json"}, []string{" plans prod", " plans dev"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			plans, perrs, _, err := loadPlans(context.Background(), planReviewOpts{plans: c.globs}, env{})
			if err != nil || len(perrs) > 0 {
				t.Fatalf("loadPlans: %v %v", err, perrs)
			}
			var got []string
			for _, p := range plans {
				got = append(got, p.Name+" "+p.Dir+" "+p.Workspace)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
		})
	}
}
