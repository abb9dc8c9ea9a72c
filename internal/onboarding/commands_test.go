package onboarding

import (
	"strings"
	"testing"
)

func TestParseOnboardArgs(t *testing.T) {
	tests := []struct {
		args       string
		team, tier string
		err        string
	}{
		{"@acme/payments-sre", "@acme/payments-sre", "", ""},
		{"@acme/payments-sre --tier a", "@acme/payments-sre", "A", ""},
		{"--tier=C acme/payments-sre", "acme/payments-sre", "C", ""},
		{"-t B payments-sre", "payments-sre", "B", ""},
		{"", "", "", "name the receiving team"},
		{"@acme/x --tier", "", "", "--tier needs"},
		{"@acme/x --tier D", "", "", "A, B or C"},
		{"@acme/x @acme/y", "", "", "one team only"},
		{"@acme/x --force", "", "", "unknown option"},
		{"<img>", "", "", "is not a team"},
	}
	for _, tt := range tests {
		team, tier, err := ParseOnboardArgs(strings.Fields(tt.args))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: err %v, want %q", tt.args, err, tt.err)
			}
			continue
		}
		if err != nil || team != tt.team || tier != tt.tier {
			t.Errorf("%q: %q %q %v", tt.args, team, tier, err)
		}
	}
}

func TestParseAttestArgs(t *testing.T) {
	c, err := ParseAttestArgs("na", []string{"Capacity-Plan", "a", "batch", "job"})
	if err != nil || c.ItemID != "capacity-plan" || c.Arg != "a batch job" || c.Verb != "na" {
		t.Errorf("%+v %v", c, err)
	}
	for _, args := range [][]string{nil, {"capacity-plan"}, {"not an id!"}} {
		if _, err := ParseAttestArgs("na", args); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
	if c, err := ParseAttestArgs("done", []string{"shadowing"}); err != nil || c.Arg != "" {
		t.Errorf("done without evidence is for Attest to judge: %+v %v", c, err)
	}
}

func TestTransferCheck(t *testing.T) {
	s := State{Repo: "acme/api"}
	ok := TransferCheck(s, 12, nil)
	bad := TransferCheck(s, 12, []string{"CODEOWNERS:1: Unknown owner: @acme/payments-sre <!-- x -->"})
	if ok.Number != 12 || ok.Marker != bad.Marker || !strings.Contains(ok.Body, "without errors") {
		t.Errorf("ok = %+v", ok)
	}
	// The error is shown in a code span (no mention, no HTML) and cannot
	// plant a marker.
	if !strings.Contains(bad.Body, "1 error(s)") || strings.Contains(bad.Body, "<!-- x") || !strings.Contains(bad.Body, "- `CODEOWNERS:1: Unknown owner: @acme/payments-sre") {
		t.Errorf("bad = %q", bad.Body)
	}
}
