package main

import (
	"strings"
	"testing"
)

// TestHelpOfEveryCommand holds every registered command to answering -h
// and --help with its usage on stdout and exit 0, in a workflow too.
func TestHelpOfEveryCommand(t *testing.T) {
	for name := range commands {
		for _, h := range []string{"-h", "--help"} {
			for _, inAction := range []string{"", "true"} {
				t.Run(name+" "+h+" GITHUB_ACTIONS="+inAction, func(t *testing.T) {
					code, out, errOut := runCLI(t, map[string]string{"GITHUB_ACTIONS": inAction}, name, h)
					if code != 0 || !strings.HasPrefix(out, "usage: action "+name) || errOut != "" {
						t.Errorf("exit %d, stdout %q, stderr %q; want 0 and the usage on stdout", code, out, errOut)
					}
				})
			}
		}
	}
}

// TestStepWithoutOutputFile: GITHUB_OUTPUT unset must not panic.
func TestStepWithoutOutputFile(t *testing.T) {
	var out, errb strings.Builder
	s := newActionStep(env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
	s.act.SetOutput("conclusion", "success")
	s.act.AddStepSummary("summary")
	if !strings.Contains(errb.String(), "GITHUB_OUTPUT is not set") {
		t.Errorf("stderr %q, want a warning naming GITHUB_OUTPUT", errb.String())
	}
}
