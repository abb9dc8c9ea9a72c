package onboarding

import "testing"

func TestParseOnboardArgs(t *testing.T) {
	tests := []struct {
		args       []string
		team, tier string
		bad        bool
	}{
		{[]string{"@acme/payments-sre"}, "@acme/payments-sre", "", false},
		{[]string{"@acme/payments-sre", "--tier", "a"}, "@acme/payments-sre", "A", false},
		{[]string{"--tier=C", "payments-sre"}, "payments-sre", "C", false},
		{nil, "", "", true},
		{[]string{"--tier", "B"}, "", "", true},
		{[]string{"@acme/x", "--tier"}, "", "", true},
		{[]string{"@acme/x", "--tier", "D"}, "", "", true},
		{[]string{"@acme/x", "@acme/y"}, "", "", true},
		{[]string{"@acme/x", "--force"}, "", "", true},
		{[]string{"@acme/x/y"}, "", "", true},
		{[]string{"@acme/"}, "", "", true},
	}
	for _, tt := range tests {
		team, tier, err := parseOnboardArgs(tt.args)
		if (err != nil) != tt.bad || team != tt.team || tier != tt.tier {
			t.Errorf("parseOnboardArgs(%q) = %q, %q, %v; want %q, %q, error %v", tt.args, team, tier, err, tt.team, tt.tier, tt.bad)
		}
	}
}
