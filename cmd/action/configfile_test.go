package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A broken --config file is reported as path:line:col: message, one problem
// per line, by every command that takes --config: the user jumps straight
// to the line.
func TestConfigFileMessages(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tasuki.yml")
	if err := os.WriteFile(path, []byte("review:\n  approvalz: 2\npostmortem:\n  label: [x]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	problems := path + ":2:3: unknown field \"approvalz\" in review; did you mean \"approvals\"?\n" +
		path + ":4:10: postmortem.label: want a string, got a list\n"
	missing := filepath.Join(dir, "nope.yml")
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"plan-review", []string{"plan-review", "--plan", tfplan(t, "tofu-showjson-basic-delete.json"), "--config", path}, "tasuki: plan-review: " + problems},
		{"postmortem", []string{"postmortem", "--event", labeledIncidentEvent(t), "--config", path}, "tasuki: postmortem: " + problems},
		{"postmortem, missing file", []string{"postmortem", "--event", labeledIncidentEvent(t), "--config", missing},
			"tasuki: postmortem: read config: open " + missing + ": no such file or directory\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, nil, tc.args...)
			if code != 2 || stdout != "" {
				t.Errorf("exit %d with output %q, want 2 and none", code, stdout)
			}
			if diff := cmp.Diff(tc.wantStderr, stderr); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
		})
	}
}
