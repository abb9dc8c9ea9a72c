package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestVersionCommand(t *testing.T) {
	code, out, errOut := runApp(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "tasuki ") || errOut != "" {
		t.Errorf("version: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, _ = runApp(t, nil, "version", "--format", "json")
	var v struct{ Version, Go, Platform string }
	if err := json.Unmarshal([]byte(out), &v); code != 0 || err != nil || v.Version == "" || v.Go == "" || v.Platform == "" {
		t.Errorf("version --format json: exit %d, %v, %q", code, err, out)
	}
	code, out, _ = runApp(t, nil, "version", "-h")
	if code != 0 || !strings.HasPrefix(out, "usage: app version") {
		t.Errorf("version -h: exit %d, stdout %q", code, out)
	}
	for _, args := range [][]string{{"version", "extra"}, {"version", "--format", "yaml"}} {
		if code, _, errOut := runApp(t, nil, args...); code != 2 || !strings.HasPrefix(errOut, "tasuki: ") {
			t.Errorf("%v: exit %d, stderr %q; want 2 and one tasuki: line", args, code, errOut)
		}
	}
}
