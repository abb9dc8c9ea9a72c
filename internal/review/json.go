package review

import "encoding/json"

// jsonPlan and jsonOut fix the CLI's --format json shape.
type jsonPlan struct {
	Path             string `json:"path"`
	Workspace        string `json:"workspace"`
	TerraformVersion string `json:"terraform_version"`
	Counts           Counts `json:"counts"`
	Drift            int    `json:"drift"`
	OutputsChanged   int    `json:"outputs_changed"`
	Errored          bool   `json:"errored"`
}

type jsonOut struct {
	Plans               []jsonPlan `json:"plans"`
	Counts              Counts     `json:"counts"`
	NeedsSecondReviewer bool       `json:"needs_second_reviewer"`
	Reasons             []string   `json:"reasons"`
}

// RenderJSON renders the CLI's --format json output:
//
//	{"plans":[{"path","workspace","terraform_version","counts":{...},"drift","outputs_changed","errored"}],
//	 "counts":{"create","update","delete","replace","read","no_op","import","move","forget"},
//	 "needs_second_reviewer":bool,"reasons":[...]}
//
// drift counts drifted resources, outputs_changed changed outputs; counts
// carry "deferred" only when a plan deferred changes. Arrays are never null.
func RenderJSON(s Summary, v Verdict) ([]byte, error) {
	out := jsonOut{Plans: []jsonPlan{}, Counts: s.Counts, NeedsSecondReviewer: v.NeedsSecondReviewer, Reasons: v.Reasons}
	if out.Reasons == nil {
		out.Reasons = []string{}
	}
	for _, p := range s.Plans {
		out.Plans = append(out.Plans, jsonPlan{
			Path:             p.Source,
			Workspace:        p.Workspace,
			TerraformVersion: p.TerraformVersion,
			Counts:           p.Counts(),
			Drift:            len(p.Drift),
			OutputsChanged:   p.OutputsChanged(),
			Errored:          p.Errored,
		})
	}
	return json.Marshal(out)
}
