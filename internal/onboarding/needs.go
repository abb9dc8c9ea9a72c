package onboarding

import (
	"slices"
	"time"
)

// alwaysRead are read for every handoff: the transfer and Guard need
// them.
var alwaysRead = append([]string{CatalogPath}, CODEOWNERSPaths...)

func needsOf(c Checklist, tier string) Needs {
	n := Needs{Tree: true, Team: true, Files: slices.Clone(alwaysRead)}
	for _, it := range c.ForTier(tier) {
		v, ok := verifiers[it.Verifier]
		if !ok {
			continue
		}
		for _, f := range v.facts {
			switch f {
			case FactTree:
				n.Tree = true
			case FactTeam:
				n.Team = true
			case FactCollaborators:
				n.Collaborators = true
			case FactProtection:
				n.Protection = true
			case FactCODEOWNERSErrors:
				n.CODEOWNERSErrors = true
			case FactWorkflows:
				n.Workflows = true
				since := 30 * 24 * time.Hour
				if p, err := v.decode(it.Params); err == nil {
					if wp, ok := p.(*workflowParams); ok {
						since = time.Duration(wp.Days) * 24 * time.Hour
					}
				}
				n.WorkflowsSince = max(n.WorkflowsSince, since)
			}
		}
		for _, e := range v.exact {
			if !slices.Contains(n.Files, e) {
				n.Files = append(n.Files, e)
			}
		}
	}
	return n
}

func filesToRead(c Checklist, tier string, tree []string) []string {
	present := make(map[string]bool, len(tree))
	for _, t := range tree {
		present[t] = true
	}
	var out []string
	add := func(p string) {
		if len(out) < MaxFiles && present[p] && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	for _, p := range needsOf(c, tier).Files {
		add(p)
	}
	// Alert rules before SLO candidates: alert files are few, Terraform
	// files (where SLO resources may be) many.
	items := c.ForTier(tier)
	slices.SortStableFunc(items, func(a, b Item) int {
		return boolInt(a.Verifier == "slo_as_code") - boolInt(b.Verifier == "slo_as_code")
	})
	for _, it := range items {
		v, ok := verifiers[it.Verifier]
		if !ok || v.files == nil {
			continue
		}
		p, err := v.decode(it.Params)
		if err != nil {
			continue
		}
		for _, f := range v.files(p, tree) {
			add(f)
		}
	}
	return out
}

func guardNeeds() Needs {
	return Needs{Tree: true, Team: true, Files: slices.Clone(alwaysRead), CODEOWNERSErrors: true}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
