package review

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Summary is the review of one pull request's plans under a Config.
type Summary struct {
	// Plans are the plans read, in the order given. Nil when the Summary
	// was rebuilt from Facts.
	Plans []*Plan
	// Counts adds up every plan's counts.
	Counts Counts
	// Risky lists every change (or plan, for workspace and directory
	// matches) that makes a second reviewer necessary, destroys first.
	Risky []Risk
	// RiskyOmitted counts risky changes not listed in Risky (only when
	// rebuilt from size-bounded Facts).
	RiskyOmitted int
	// RiskTotals is how many risky changes (or plans) each reason covers
	// in the plans, RiskGroups' keys: nil when Risky lists every one.
	RiskTotals map[string]int
	// Errored names the plans Terraform could not finish.
	Errored []string
	// Workspaces and Dirs are the distinct workspaces and directories of
	// the plans that change something.
	Workspaces []string
	Dirs       []string
}

// Risk is one reason a plan needs a second reviewer.
type Risk struct {
	// Address is the resource address, empty for a whole-plan risk
	// (workspace or directory).
	Address   string `json:"address,omitempty"`
	Workspace string `json:"workspace,omitempty"`
	Dir       string `json:"dir,omitempty"`
	Action    Action `json:"action,omitempty"`
	// Why says what matched, in the rules' names, comma separated:
	// "delete", "replace, database", "IAM"; for a whole plan, the name,
	// "workspace" or "directory" and the subject: "production workspace
	// prod", "production directory infra/prod".
	Why string `json:"why"`
}

// destructive reports whether r destroys infrastructure.
func (r Risk) destructive() bool { return r.Action == ActionDelete || r.Action == ActionReplace }

// Summarize counts the plans' changes and finds the risky ones under cfg.
func Summarize(plans []*Plan, cfg Config) Summary {
	pol := cfg.compile()
	s := Summary{Plans: plans}
	ws, dirs, whole := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, p := range plans {
		if p == nil {
			continue
		}
		c := p.Counts()
		s.Counts.Add(c)
		if p.Errored {
			s.Errored = append(s.Errored, planLabel(p))
		}
		if !c.Changed() && !p.Errored {
			continue
		}
		if p.Workspace != "" && !ws[p.Workspace] {
			ws[p.Workspace] = true
			s.Workspaces = append(s.Workspaces, p.Workspace)
		}
		if p.Dir != "" && !dirs[p.Dir] {
			dirs[p.Dir] = true
			s.Dirs = append(s.Dirs, p.Dir)
		}
		// One risk per workspace or directory, however many plans share it.
		if p.Workspace != "" {
			if r := matchAny(pol.workspaces, p.Workspace); r != nil && !whole[r.name+" workspace "+p.Workspace] {
				whole[r.name+" workspace "+p.Workspace] = true
				s.Risky = append(s.Risky, Risk{Workspace: p.Workspace, Dir: p.Dir, Why: r.name + " workspace " + p.Workspace})
			}
		}
		if p.Dir != "" {
			if r := matchAny(pol.dirs, p.Dir); r != nil && !whole[r.name+" directory "+p.Dir] {
				whole[r.name+" directory "+p.Dir] = true
				s.Risky = append(s.Risky, Risk{Workspace: p.Workspace, Dir: p.Dir, Why: r.name + " directory " + p.Dir})
			}
		}
		for _, ch := range p.Changes {
			if why := pol.risk(ch); why != "" {
				s.Risky = append(s.Risky, Risk{Address: ch.Address, Workspace: p.Workspace, Dir: p.Dir, Action: ch.Action, Why: why})
			}
		}
	}
	// Destroys first: they are what a reviewer must not miss.
	sort.SliceStable(s.Risky, func(i, j int) bool {
		return s.Risky[i].destructive() && !s.Risky[j].destructive()
	})
	return s
}

// risk returns why ch is risky under pol, or "".
func (pol policy) risk(ch Change) string {
	var whys []string
	switch {
	case ch.Action == ActionDelete && pol.actions["delete"]:
		whys = append(whys, "delete")
	case ch.Action == ActionReplace && pol.actions["replace"]:
		whys = append(whys, "replace")
	case ch.Action == ActionCreate && pol.actions["create"],
		ch.Action == ActionUpdate && pol.actions["update"],
		ch.Action == ActionRead && pol.actions["read"],
		ch.Action == ActionForget && pol.actions["forget"]:
		whys = append(whys, string(ch.Action))
	}
	if ch.Importing && pol.actions["import"] {
		whys = append(whys, "import")
	}
	if ch.Moved() && pol.actions["move"] {
		whys = append(whys, "move")
	}
	if ch.Action != ActionNoOp && ch.Action != ActionRead && ch.Mode != "data" {
		if r := pol.matchType(ch.Type); r != nil && !slices.Contains(whys, r.name) {
			whys = append(whys, r.name)
		}
	}
	return strings.Join(whys, ", ")
}

func planLabel(p *Plan) string {
	dir := p.Dir
	if p.Name != "" {
		dir = p.Name
	}
	switch {
	case p.Workspace != "" && dir != "":
		return fmt.Sprintf("%s (%s)", dir, p.Workspace)
	case dir != "":
		return dir
	case p.Workspace != "":
		return p.Workspace
	}
	return p.Source
}
