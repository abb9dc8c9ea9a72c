package postmortem

import (
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/google/go-cmp/cmp"

	"github.com/tasuki-sre/tasuki/templates"
)

// issueForm is GitHub's issue form schema, as much as tasuki's forms use;
// decoding is strict so a misspelt key fails here rather than on GitHub.
type issueForm struct {
	Name        string   `yaml:"name"`
	Description string   `yaml:"description"`
	Title       string   `yaml:"title"`
	Labels      []string `yaml:"labels"`
	Body        []struct {
		Type       string `yaml:"type"`
		ID         string `yaml:"id"`
		Attributes struct {
			Label       string   `yaml:"label"`
			Description string   `yaml:"description"`
			Placeholder string   `yaml:"placeholder"`
			Value       string   `yaml:"value"`
			Options     []string `yaml:"options"`
		} `yaml:"attributes"`
		Validations struct {
			Required bool `yaml:"required"`
		} `yaml:"validations"`
	} `yaml:"body"`
}

// The issue forms agree with what the postmortem reads: the incident form
// applies an incident label, offers the severity labels in order, and its
// field labels are the headings FormField and ImpactStart look for.
func TestIssueForms(t *testing.T) {
	cfg := DefaultConfig()
	for _, tt := range []struct {
		file, label string
		fields      []string
	}{
		{"incident.yml", "incident", []string{"Severity", "Service", FieldCommander, FieldCommunications, FieldHowDetected, "Impact started", FieldDetected, FieldMitigated, FieldDescription}},
		{"postmortem.yml", "postmortem", []string{"Severity", "Action items", "Where we got lucky"}},
	} {
		t.Run(tt.file, func(t *testing.T) {
			b, err := templates.FS.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			var f issueForm
			if err := yaml.UnmarshalWithOptions(b, &f, yaml.Strict()); err != nil {
				t.Fatalf("%s: %v", tt.file, err)
			}
			if diff := cmp.Diff([]string{tt.label}, f.Labels); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
			have := map[string][]string{}
			for _, el := range f.Body {
				if el.Type != "markdown" {
					have[el.Attributes.Label] = el.Attributes.Options
				}
			}
			for _, field := range tt.fields {
				if _, ok := have[field]; !ok {
					t.Errorf("no field %q", field)
				}
			}
			if diff := cmp.Diff(cfg.SeverityLabels, have["Severity"]); diff != "" {
				t.Errorf("severity options (-want +got):\n%s", diff)
			}
		})
	}
}
