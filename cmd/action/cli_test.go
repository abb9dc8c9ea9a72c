package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// Every error a command prints on its own starts with the one prefix
// "tasuki: ", and a misuse exits 2 the same on a terminal and in a
// workflow.
func TestOneErrorPrefixAndExitCode(t *testing.T) {
	for name := range commands {
		for _, inAction := range []string{"", "true"} {
			t.Run(name+" GITHUB_ACTIONS="+inAction, func(t *testing.T) {
				code, _, stderr := runCLI(t, map[string]string{"GITHUB_ACTIONS": inAction}, name, "--no-such-flag")
				lines := strings.Split(strings.TrimSpace(stderr), "\n")
				last := lines[len(lines)-1]
				if code != 2 || !strings.HasPrefix(last, "tasuki: "+name+": ") || !strings.Contains(last, "no-such-flag") {
					t.Errorf("exit %d, last line %q; want 2 and \"tasuki: %s: ...no-such-flag\"", code, last, name)
				}
			})
		}
	}
	code, _, stderr := runCLI(t, nil, "no-such-command")
	if code != 2 || !strings.HasPrefix(stderr, "tasuki: unknown command \"no-such-command\"\n") {
		t.Errorf("unknown command: exit %d, stderr %q", code, stderr)
	}
}

// jsonIn decodes the one JSON object in a step's stdout, which also
// carries workflow commands (::notice::, ::add-mask::).
func jsonIn(t *testing.T, stdout string) map[string]any {
	t.Helper()
	i := strings.Index(stdout, "\n{")
	if strings.HasPrefix(stdout, "{") {
		i = -1
	} else if i < 0 {
		t.Fatalf("no JSON object in stdout:\n%s", stdout)
	}
	var v map[string]any
	if err := json.NewDecoder(strings.NewReader(stdout[i+1:])).Decode(&v); err != nil {
		t.Fatalf("stdout JSON: %v\n%s", err, stdout)
	}
	return v
}

// --format json prints the review as JSON in a workflow too: on a pull
// request (after posting) and on a push (summary only), the same document
// as on a terminal.
func TestPlanReviewFormatJSONInWorkflow(t *testing.T) {
	plan := tfplan(t, "tofu-showjson-basic-delete.json")
	code, local, stderr := runCLI(t, nil, "plan-review", "--plan", plan, "--format", "json")
	if code != 0 {
		t.Fatalf("local: exit %d: %s", code, stderr)
	}
	want := jsonIn(t, local)
	if _, ok := want["needs_second_reviewer"]; !ok {
		t.Fatalf("local JSON lacks needs_second_reviewer: %s", local)
	}

	srv := seedFixturePR(t)
	for _, tc := range []struct{ event, fixture string }{
		{"pull_request", "pull_request.opened.1.json"},
		{"push", "push.1.json"},
	} {
		t.Run(tc.event, func(t *testing.T) {
			ae := newActionEnv(t, srv, tc.event, tc.fixture)
			code, stdout, stderr := runCLI(t, ae.vars, "plan-review", "--plan", plan, "--format", "json")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			got := jsonIn(t, stdout)
			if got["needs_second_reviewer"] != want["needs_second_reviewer"] || !jsonEqual(got["counts"], want["counts"]) {
				t.Errorf("workflow JSON %v, local %v", got, want)
			}
		})
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestVersionCommand(t *testing.T) {
	code, stdout, stderr := runCLI(t, nil, "version")
	if code != 0 || !strings.HasPrefix(stdout, "tasuki ") || stderr != "" {
		t.Errorf("version: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, stdout, _ = runCLI(t, map[string]string{"GITHUB_ACTIONS": "true"}, "version", "--format", "json")
	var v struct{ Version, Go, Platform string }
	if err := json.Unmarshal([]byte(stdout), &v); code != 0 || err != nil || v.Version == "" || v.Platform == "" {
		t.Errorf("version --format json: exit %d, %v, %q", code, err, stdout)
	}
	if code, _, stderr := runCLI(t, nil, "version", "extra"); code != 2 || !strings.HasPrefix(stderr, "tasuki: ") {
		t.Errorf("version extra: exit %d, stderr %q", code, stderr)
	}
}

// Unreadable input exits 2 on a terminal and in a workflow alike, with
// the one error prefix on stderr.
func TestUnreadablePlanExitCodeSameInWorkflow(t *testing.T) {
	bad := tfplan(t, "tfjson-invalid-malformed-json.json")
	srv := seedFixturePR(t)
	for _, tc := range []struct {
		name string
		vars map[string]string
	}{
		{"terminal", nil},
		{"workflow, push", newActionEnv(t, srv, "push", "push.1.json").vars},
		{"workflow, pull request", newActionEnv(t, srv, "pull_request", "pull_request.opened.1.json").vars},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tc.vars, "plan-review", "--plan", bad)
			if code != 2 || !strings.Contains(stderr, "tasuki: plan-review: "+bad+": ") {
				t.Errorf("exit %d, stderr %q; want 2 and a tasuki: line naming the file", code, stderr)
			}
		})
	}
}
