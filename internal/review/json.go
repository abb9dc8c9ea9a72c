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

// RiskSample is a ReadOptions.Keep filter for output built from
// Summarize's counts and the verdict's reasons alone (RenderJSON): of
// the changes that are risky under its Config it keeps, for every reason,
// the first destroys and the first other changes that a reason line can
// name (the verdict lists destroys first), and counts all of them, so
// that memory stays flat however big the plan. Read the plans in the
// order given to Summarize through one RiskSample, then call Apply on the
// Summary before Evaluate. For RenderComment, see CommentKeep.
type RiskSample struct {
	pol    policy
	kept   map[string]*[2]int // per reason: kept others, kept destroys
	totals map[string]int     // per reason: every risky change
	cut    bool               // some risky change was not kept
}

// NewRiskSample returns a RiskSample for cfg.
func NewRiskSample(cfg Config) *RiskSample {
	return &RiskSample{pol: cfg.compile(), kept: map[string]*[2]int{}, totals: map[string]int{}}
}

// Keep reports whether ch is kept; it is the ReadOptions.Keep filter.
func (rs *RiskSample) Keep(ch *Change) bool {
	keep, risky := rs.sample(ch)
	if risky && !keep {
		rs.cut = true
	}
	return keep
}

// sample counts ch's risks and reports whether ch is among the first
// that a reason line names (keep) and whether it is risky at all.
func (rs *RiskSample) sample(ch *Change) (keep, risky bool) {
	why := rs.pol.risk(*ch)
	if why == "" {
		return false, false
	}
	r := Risk{Address: ch.Address, Action: ch.Action, Why: why}
	d := 0
	if r.destructive() {
		d = 1
	}
	var kept [8]*[2]int // the reasons' counters; a change has a few reasons
	ks := kept[:0]
	riskKeys(r, func(key, _ string, _ bool) {
		rs.totals[key]++
		k := rs.kept[key]
		if k == nil {
			k = &[2]int{}
			rs.kept[key] = k
		}
		keep = keep || k[d] < maxReasonAddresses
		ks = append(ks, k)
	})
	if !keep {
		return false, true
	}
	for _, k := range ks {
		k[d]++
	}
	return true, true
}

// Apply gives s the true number of risky changes per reason when some
// were not kept (Summary.RiskTotals), counting s's whole-plan risks too.
func (rs *RiskSample) Apply(s *Summary) {
	if !rs.cut {
		return
	}
	totals := map[string]int{}
	for k, n := range rs.totals {
		totals[k] = n
	}
	for _, r := range s.Risky {
		if r.Address == "" {
			riskKeys(r, func(key, _ string, _ bool) { totals[key]++ })
		}
	}
	s.RiskTotals = totals
}
