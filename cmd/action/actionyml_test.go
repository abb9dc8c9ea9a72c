package main

import (
	"encoding/json"
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/githubtest"
	"github.com/tasuki-sre/tasuki/internal/postmortem"
	"github.com/tasuki-sre/tasuki/internal/testenv"
)

type actionYML struct {
	Inputs map[string]struct {
		Description string `yaml:"description"`
		Default     string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Value string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string `yaml:"using"`
		Steps []struct {
			ID  string            `yaml:"id"`
			Env map[string]string `yaml:"env"`
			Run string            `yaml:"run"`
		} `yaml:"steps"`
	} `yaml:"runs"`
}

// The id of action.yml's step that runs the binary.
const actionStepID = "tasuki"

func readActionYML(t *testing.T) actionYML {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(), "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var a actionYML
	if err := yaml.Unmarshal(b, &a); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	if a.Runs.Using != "composite" {
		t.Fatalf("runs.using %q, want composite", a.Runs.Using)
	}
	for _, s := range a.Runs.Steps {
		if s.ID == actionStepID {
			return a
		}
	}
	t.Fatalf("action.yml has no step with id %q", actionStepID)
	return a
}

func (a actionYML) step() (env map[string]string, run string) {
	for _, s := range a.Runs.Steps {
		if s.ID == actionStepID {
			return s.Env, s.Run
		}
	}
	return nil, ""
}

// stepEnv is the environment the runner gives the binary's step: each
// ${{ inputs.NAME }} replaced by set[NAME], else by the input's default.
// A default that is itself an expression (github-token's) must be set.
func (a actionYML) stepEnv(t *testing.T, set map[string]string) map[string]string {
	t.Helper()
	env, _ := a.step()
	out := map[string]string{}
	for k, v := range env {
		if strings.HasPrefix(k, "TASUKI_ACTION_") {
			continue // for the entry script (actionentry_test.go), not the binary
		}
		name, ok := strings.CutPrefix(v, "${{ inputs.")
		name, ok2 := strings.CutSuffix(name, " }}")
		if !ok || !ok2 {
			t.Fatalf("step env %s = %q is not an input", k, v)
		}
		val, isSet := set[name]
		if !isSet {
			val = a.Inputs[name].Default
		}
		if strings.Contains(val, "${{") {
			t.Fatalf("input %s: the test must set it (default %q)", name, val)
		}
		out[k] = val
	}
	return out
}

// useStep replaces the environment's inputs by the step's: only what
// action.yml passes reaches the binary.
func (ae *actionEnv) useStep(step map[string]string) {
	maps.DeleteFunc(ae.vars, func(k, _ string) bool { return strings.HasPrefix(k, "INPUT_") })
	maps.Copy(ae.vars, step)
}

// allowedCommands reads the commands the step's script lets through (its
// case arm "a|b) ;;").
func (a actionYML) allowedCommands(t *testing.T) []string {
	t.Helper()
	_, run := a.step()
	m := regexp.MustCompile(`(?m)^\s*([a-z][a-z|-]*)\)\s*;;`).FindStringSubmatch(run)
	if m == nil {
		t.Fatalf("step script has no case arm listing the allowed commands:\n%s", run)
	}
	return strings.Split(m[1], "|")
}

// TestActionYML keeps action.yml in step with the binary: a composite
// action passes no input on by itself, so every input must reach the step
// as INPUT_*; the command input selects only subcommands the binary has;
// every output the binary sets must be declared (and no declared output
// left unset by plan-review).
func TestActionYML(t *testing.T) {
	a := readActionYML(t)
	env, _ := a.step()
	for name := range a.Inputs {
		k := "INPUT_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		if want := "${{ inputs." + name + " }}"; env[k] != want {
			t.Errorf("input %s: step env %s = %q, want %q", name, k, env[k], want)
		}
	}
	for name, o := range a.Outputs {
		if want := "${{ steps." + actionStepID + ".outputs." + name + " }}"; o.Value != want {
			t.Errorf("output %s value %q, want %q", name, o.Value, want)
		}
	}

	allowed := a.allowedCommands(t)
	if diff := cmp.Diff([]string{"plan-review", "postmortem", "lead-time", "record-deployment", "onboarding"}, allowed); diff != "" {
		t.Errorf("commands the action runs (-want +got):\n%s", diff)
	}
	for _, c := range allowed {
		if _, ok := commands[c]; !ok {
			t.Errorf("action.yml allows command %q, which the binary does not have", c)
		}
		if !strings.Contains(a.Inputs["command"].Description, "`"+c+"`") {
			t.Errorf("the command input's description does not mention %q", c)
		}
	}
	if d := a.Inputs["command"].Default; d != "plan-review" {
		t.Errorf("command input default %q, want plan-review (existing workflows name no command)", d)
	}

	// The outputs the binary writes on a pull_request run, with the inputs
	// as action.yml passes them.
	srv := seedFixturePR(t)
	ae := newActionEnv(t, srv, "pull_request", "pull_request.opened.1.json")
	ae.useStep(a.stepEnv(t, map[string]string{
		"plan":         tfplan(t, "tofu-showjson-basic-delete.json"),
		"github-token": ae.vars["INPUT_GITHUB_TOKEN"],
	}))
	if code, _, stderr := runCLI(t, ae.vars, ae.vars["INPUT_COMMAND"]); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// Declared: what plan-review set on this run (its resource counts are
	// named at run time) and every output any command's source sets.
	ran := ae.outputs(t)
	setBy := setOutputs(t)
	want := map[string]bool{}
	for k := range ran {
		want[k] = true
	}
	for k := range setBy {
		want[k] = true
	}
	declared := slices.Sorted(maps.Keys(a.Outputs))
	if diff := cmp.Diff(declared, slices.Sorted(maps.Keys(want))); diff != "" {
		t.Errorf("outputs declared in action.yml (-) vs set by the binary (+):\n%s", diff)
	}
	// No output of plan-review's is left unset on a pull_request run.
	for k, file := range setBy {
		if _, ok := ran[k]; !ok && file == "planreview.go" {
			t.Errorf("plan-review sets output %s in its source but not on a pull_request run", k)
		}
	}
}

// setOutputs returns each output the binary's source sets by name
// (SetOutput("name", ...)), with the file setting it.
func setOutputs(t *testing.T) map[string]string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(testenv.ModuleRoot(), "cmd", "action", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`SetOutput\("([^"]+)"`)
	out := map[string]string{}
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllSubmatch(b, -1) {
			out[string(m[1])] = filepath.Base(p)
		}
	}
	for _, k := range []string{"deployments", "deployment-id", "handoff-phase", "conclusion"} {
		if out[k] == "" {
			t.Fatalf("no SetOutput(%q, ...) found in cmd/action: the scan is broken", k)
		}
	}
	return out
}

// With command: postmortem the step runs the postmortem with the inputs
// action.yml passes: the token comes from the github-token input alone (a
// composite step gets no GITHUB_TOKEN), and no undeclared output is set.
func TestActionYMLPostmortem(t *testing.T) {
	a := readActionYML(t)
	srv := githubtest.New(t)
	srv.AddRepo(fxRepo, "main")
	srv.AddIssue(fxRepo, &github.Issue{Number: github.Int(1), Title: github.String("Spelling error in the README file"),
		User: &github.User{Login: github.String("Codertocat")}, Labels: []*github.Label{{Name: github.String("incident")}}})
	ae := newActionEnv(t, srv, "issues", "issues.labeled.1.json")
	ae.vars["GITHUB_EVENT_PATH"] = labeledIncidentEvent(t)
	ae.useStep(a.stepEnv(t, map[string]string{"command": "postmortem", "github-token": ae.vars["INPUT_GITHUB_TOKEN"]}))
	if code, stdout, stderr := runCLI(t, ae.vars, ae.vars["INPUT_COMMAND"]); code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	var pms []string
	for _, is := range srv.Issues(fxRepo) {
		if postmortem.PostmortemOf(is.GetBody()) == fxRepo+"#1" {
			pms = append(pms, is.GetUser().GetLogin()+": "+is.GetTitle())
		}
	}
	if diff := cmp.Diff([]string{"github-actions[bot]: Postmortem: Spelling error in the README file"}, pms); diff != "" {
		t.Errorf("postmortems (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(ae.output); err == nil {
		for k := range ae.outputs(t) {
			if _, ok := a.Outputs[k]; !ok {
				t.Errorf("postmortem set output %q, which action.yml does not declare", k)
			}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
}

// The step's script runs the binary with the command input, and refuses
// anything else with an error annotation, without running the binary.
func TestActionYMLCommandScript(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		testenv.Missing(t, "bash (composite steps run with shell: bash)")
	}
	a := readActionYML(t)
	_, run := a.step()
	tmp := t.TempDir()
	// A stand-in for the entry script that reports how it was called.
	fake := "echo \"ran: $*\"\n"
	if err := os.MkdirAll(filepath.Join(tmp, "scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "scripts", "action-entry.sh"), []byte(fake), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		command  string
		wantOut  string
		wantCode int
	}{
		{a.Inputs["command"].Default, "ran: plan-review\n", 0},
		{"postmortem", "ran: postmortem\n", 0},
		{"onboarding", "ran: onboarding\n", 0},
		{"help", "::error title=tasuki::command input \"help\" is not one of: plan-review, postmortem, lead-time, record-deployment, onboarding\n", 2},
		{"plan-review --plan x", "::error title=tasuki::command input \"plan-review --plan x\" is not one of: plan-review, postmortem, lead-time, record-deployment, onboarding\n", 2},
	}
	for _, tc := range tests {
		t.Run(tc.command, func(t *testing.T) {
			cmd := exec.Command(bash, "-e", "-c", run)
			cmd.Env = []string{"TASUKI_ACTION_PATH=" + tmp, "INPUT_COMMAND=" + tc.command, "PATH=" + os.Getenv("PATH")}
			out, err := cmd.Output()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.wantCode || string(out) != tc.wantOut {
				t.Errorf("exit %d, stdout %q; want %d, %q", code, out, tc.wantCode, tc.wantOut)
			}
		})
	}
}

// The example workflows use the action with inputs it declares and
// commands it runs; the postmortem example runs the postmortem.
func TestExampleWorkflowsUseTheAction(t *testing.T) {
	a := readActionYML(t)
	allowed := a.allowedCommands(t)
	paths, err := filepath.Glob(filepath.Join(testenv.ModuleRoot(), ".github", "workflows", "examples", "*.yml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no example workflows: %v", err)
	}
	commandOf := map[string][]string{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var wf struct {
			Jobs map[string]struct {
				Steps []struct {
					Uses string            `yaml:"uses"`
					With map[string]string `yaml:"with"`
					Run  string            `yaml:"run"`
				} `yaml:"steps"`
			} `yaml:"jobs"`
		}
		if err := yaml.Unmarshal(b, &wf); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		name := filepath.Base(p)
		for _, j := range wf.Jobs {
			for _, s := range j.Steps {
				if strings.Contains(s.Run, "cmd/action") {
					t.Errorf("%s: runs the binary (%q) instead of using the action", name, s.Run)
				}
				if !strings.HasPrefix(s.Uses, "tasuki-sre/tasuki@") {
					continue
				}
				for in := range s.With {
					if _, ok := a.Inputs[in]; !ok {
						t.Errorf("%s: input %q is not declared in action.yml", name, in)
					}
				}
				c := s.With["command"]
				if c == "" {
					c = a.Inputs["command"].Default
				}
				if !slices.Contains(allowed, c) {
					t.Errorf("%s: command %q is not one the action runs", name, c)
				}
				commandOf[name] = append(commandOf[name], c)
			}
		}
	}
	if diff := cmp.Diff([]string{"postmortem"}, commandOf["postmortem.yml"]); diff != "" {
		t.Errorf("postmortem.yml's tasuki steps (-want +got):\n%s", diff)
	}
}

// With command: record-deployment and lead-time the step takes its flags
// from the inputs action.yml passes (the binary gets the command alone):
// the deployment goes to the environment input with the given address, the
// output is JSON when format says so, a bad input fails as its flag would,
// and each output set is declared.
func TestActionYMLLeadTimeInputs(t *testing.T) {
	a := readActionYML(t)
	srv, m2, _, _ := shopRepo(t)
	dir := t.TempDir()
	run := func(t *testing.T, set map[string]string) (int, string, string, map[string]string) {
		t.Helper()
		out := filepath.Join(dir, t.Name()+".out")
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			t.Fatal(err)
		}
		set["github-token"] = srv.Token("github-actions[bot]")
		vars := a.stepEnv(t, set)
		maps.Copy(vars, map[string]string{
			"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/shop", "GITHUB_SHA": m2, "GITHUB_REF_NAME": "main",
			"TASUKI_GITHUB_API_URL": srv.URL(), "GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary.md"), "GITHUB_OUTPUT": out,
		})
		code, stdout, stderr := runCLI(t, vars, vars["INPUT_COMMAND"])
		// The runner's commands (::add-mask::) are not the command's output.
		var keep []string
		for _, l := range strings.SplitAfter(stdout, "\n") {
			if !strings.HasPrefix(l, "::") {
				keep = append(keep, l)
			}
		}
		stdout = strings.Join(keep, "")
		outputs := map[string]string{}
		if b, err := os.ReadFile(out); err == nil {
			// name<<DELIMITER\nvalue\nDELIMITER
			lines := strings.Split(string(b), "\n")
			for i := 0; i+1 < len(lines); i++ {
				if name, _, ok := strings.Cut(lines[i], "<<"); ok {
					outputs[name] = lines[i+1]
					i += 2
				}
			}
		}
		for k := range outputs {
			if _, ok := a.Outputs[k]; !ok {
				t.Errorf("set output %q, which action.yml does not declare", k)
			}
		}
		return code, stdout, stderr, outputs
	}
	t.Run("record-deployment", func(t *testing.T) {
		code, stdout, stderr, outputs := run(t, map[string]string{"command": "record-deployment", "environment": "staging",
			"deployment-url": "https://staging.example.com", "format": "json"})
		if code != 0 {
			t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
		}
		if !strings.HasPrefix(strings.TrimSpace(stdout), "{") {
			t.Errorf("format input json, stdout:\n%s\nstderr:\n%s", stdout, stderr)
		}
		deps, statuses := srv.Deployments("acme/shop")
		last := deps[len(deps)-1]
		if last.GetEnvironment() != "staging" || last.GetSHA() != m2 {
			t.Errorf("recorded deployment to %q of %s, want staging of %s", last.GetEnvironment(), last.GetSHA(), m2)
		}
		if st := statuses[last.GetID()]; len(st) != 1 || st[0].GetEnvironmentURL() != "https://staging.example.com" {
			t.Errorf("deployment statuses %+v, want one with the deployment-url input", st)
		}
		if outputs["deployment-id"] != strconv.FormatInt(last.GetID(), 10) {
			t.Errorf("outputs %v, want deployment-id %d", outputs, last.GetID())
		}
	})
	t.Run("lead-time", func(t *testing.T) {
		code, stdout, stderr, outputs := run(t, map[string]string{"command": "lead-time", "since": "2026-11-23", "until": "2026-11-25", "format": "json"})
		if code != 0 {
			t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
		}
		var m struct {
			From time.Time `json:"from"`
		}
		if err := json.Unmarshal([]byte(stdout), &m); err != nil {
			t.Fatalf("format input json: %v\n%s", err, stdout)
		}
		if outputs["deployments"] != "1" {
			t.Errorf("outputs %v, want deployments 1 (the one of 11-23, in the period the inputs give)", outputs)
		}
	})
	t.Run("bad input", func(t *testing.T) {
		code, _, stderr, _ := run(t, map[string]string{"command": "lead-time", "since": "tomorrow"})
		if code != 2 || !strings.Contains(stderr, "--since") {
			t.Errorf("since input %q: exit %d, %s", "tomorrow", code, stderr)
		}
	})
}
