package main

import (
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

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
	var set, declared []string
	for k := range ae.outputs(t) {
		set = append(set, k)
	}
	for k := range a.Outputs {
		declared = append(declared, k)
	}
	slices.Sort(set)
	slices.Sort(declared)
	if diff := cmp.Diff(declared, set); diff != "" {
		t.Errorf("outputs declared in action.yml (-) vs set by the binary (+):\n%s", diff)
	}
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
