package postmortem

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tasuki-sre/tasuki/internal/intent"
)

func TestUpdateIntents(t *testing.T) {
	cfg := DefaultConfig()
	body := func(s string) *string { return &s }
	tests := []struct {
		name          string
		labels        []string
		sev, old, new string
		want          []intent.Intent
	}{
		{"nothing changed", []string{"postmortem", "sev2"}, "sev2", "b", "b", nil},
		{"body only", []string{"postmortem", "sev2"}, "sev2", "a", "b",
			[]intent.Intent{{Kind: intent.EditIssue, Number: 9, Edit: intent.IssueEdit{Body: body("b")}}}},
		{"severity raised", []string{"postmortem", "SEV2"}, "sev1", "b", "b", []intent.Intent{
			{Kind: intent.AddLabels, Number: 9, Labels: []string{"sev1"}},
			{Kind: intent.RemoveLabels, Number: 9, Labels: []string{"SEV2"}}}},
		{"incident without severity keeps the postmortem's", []string{"postmortem", "sev3"}, "", "b", "b", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := UpdateIntents(9, tc.old, tc.new, tc.labels, tc.sev, cfg)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("intents (-want +got):\n%s", diff)
			}
			for _, in := range got {
				if err := in.Validate(); err != nil {
					t.Errorf("%s: %v", in, err)
				}
			}
		})
	}
}
