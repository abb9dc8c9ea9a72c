package ownership

import (
	"fmt"
	"slices"
	"strings"
)

// Phase is one stage of a service's handoff from the core SRE team to the
// product team's SREs (internal/onboarding runs it). Plan review, postmortem
// and lead time ask HandoffRoles who is primary and who is secondary in it.
type Phase string

// Handoff phases, in order. Guard goes on after the transfer.
const (
	PhaseKickoff       Phase = "kickoff"
	PhaseObserve       Phase = "observe"
	PhaseShadow        Phase = "shadow"
	PhaseReverseShadow Phase = "reverse-shadow"
	PhaseTransfer      Phase = "transfer"
	PhaseGuard         Phase = "guard"
)

var phaseOrder = []Phase{PhaseKickoff, PhaseObserve, PhaseShadow, PhaseReverseShadow, PhaseTransfer, PhaseGuard}

// Valid reports whether p is one of the phases.
func (p Phase) Valid() bool { return slices.Contains(phaseOrder, p) }

// Index is p's position in the order of phases, -1 when p is not one.
func (p Phase) Index() int { return slices.Index(phaseOrder, p) }

// Title is the phase's name for people: "Reverse shadow".
func (p Phase) Title() string {
	switch p {
	case PhaseKickoff:
		return "Kickoff"
	case PhaseObserve:
		return "Observe and prepare"
	case PhaseShadow:
		return "Shadow"
	case PhaseReverseShadow:
		return "Reverse shadow"
	case PhaseTransfer:
		return "Transfer"
	case PhaseGuard:
		return "Guard"
	}
	return string(p)
}

// ParsePhase reads a phase as written in a label or config ("shadow",
// "Reverse shadow", "reverse_shadow").
func ParsePhase(s string) (Phase, error) {
	n := strings.ToLower(strings.TrimSpace(s))
	n = strings.NewReplacer("_", "-", " ", "-").Replace(n)
	if n == "observe-and-prepare" {
		n = string(PhaseObserve)
	}
	if p := Phase(n); p.Valid() {
		return p, nil
	}
	return "", fmt.Errorf("%q is not a handoff phase (kickoff, observe, shadow, reverse-shadow, transfer, guard)", s)
}

// Roles says who is on the hook for a service in a handoff phase: team
// slugs (without the organisation). Secondary is empty when nobody is.
type Roles struct {
	Phase     Phase  `json:"phase"`
	Primary   string `json:"primary"`
	Secondary string `json:"secondary,omitempty"`
}

// HandoffRoles answers, for a service moving from coreTeam to team, who is
// primary and who is secondary in phase p:
//
//	Kickoff, Observe and prepare:  core primary
//	Shadow:                        core primary, team secondary
//	Reverse shadow:                team primary, core secondary
//	Transfer, Guard:               team primary
//
// Plan review uses it for who may approve (Approvers), postmortem for who
// owns the follow-up (Primary), lead time for which team (Primary).
func HandoffRoles(p Phase, coreTeam, team string) Roles {
	core, team := strings.TrimPrefix(coreTeam, "@"), strings.TrimPrefix(team, "@")
	switch p {
	case PhaseKickoff, PhaseObserve:
		return Roles{Phase: p, Primary: core}
	case PhaseShadow:
		return Roles{Phase: p, Primary: core, Secondary: team}
	case PhaseReverseShadow:
		return Roles{Phase: p, Primary: team, Secondary: core}
	default:
		return Roles{Phase: p, Primary: team}
	}
}

// Approvers says whose approval counts on a risky change in the phase
// (Approve: a member of one of these teams) and who is asked as well,
// without their approval being required (Ask). In Shadow the core SRE's
// approval is still needed and the team's SREs are asked; in Reverse
// shadow the team's SREs approve and the core SRE is asked as secondary.
func (r Roles) Approvers() (approve, ask []string) {
	if r.Primary != "" {
		approve = []string{r.Primary}
	}
	if r.Secondary != "" {
		ask = []string{r.Secondary}
	}
	return approve, ask
}

// Handoff is a service's handoff in progress, as the ownership shell reads
// it (the current phase of the open handoff issue: its "handoff:PHASE"
// label) and passes it in Facts.
type Handoff struct {
	Phase    Phase  `json:"phase"`
	Team     string `json:"team"`      // incoming team slug
	CoreTeam string `json:"core_team"` // outgoing core SRE team slug
}

// HandoffConfig is the ownership.handoff block of a repository's
// .github/tasuki.yml: its appearance starts a handoff of the repository to
// Team (the onboarding feature opens the handoff issue).
type HandoffConfig struct {
	// Team is the incoming team: "org/team-sre" or "team-sre".
	Team string `yaml:"team" json:"team"`
	// Tier is A, B or C; empty takes onboarding.default_tier.
	Tier string `yaml:"tier" json:"tier"`
}

func (h *HandoffConfig) validate(bad func(key, format string, args ...any)) {
	if h == nil {
		return
	}
	team := strings.TrimPrefix(h.Team, "@")
	if _, slug, ok := strings.Cut(team, "/"); ok {
		team = slug
	}
	switch {
	case h.Team == "":
		bad("handoff.team", "the incoming team is needed")
	case !slugRE.MatchString(team):
		bad("handoff.team", "%q is not a team", h.Team)
	}
	switch h.Tier {
	case "", "A", "B", "C":
	default:
		bad("handoff.tier", "%q is not a tier (A, B or C)", h.Tier)
	}
}
