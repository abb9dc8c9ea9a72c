package onboarding

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
)

// kindRank orders kinds by how much a person's word counts: an auto item
// only tasuki can pass, a semi item a person may attest, a manual item
// only a person passes.
func kindRank(k Kind) int {
	switch k {
	case KindAuto:
		return 2
	case KindSemi:
		return 1
	}
	return 0
}

func restrict(base, repo Checklist) (Checklist, error) {
	out := Checklist{Sources: repo.Sources}
	var errs []error
	refuse := func(it Item, key, format string, args ...any) {
		line := it.Line
		if l, ok := it.keyLines[key]; ok {
			line = l
		}
		msg := fmt.Sprintf("item %q: ", it.ID) + fmt.Sprintf(format, args...) +
			"; a repository's own checklist may add items and tighten those it inherits, not relax them (the organisation's checklist can allow it with allow_repo_relaxing: true); ignored"
		errs = append(errs, &ChecklistError{Source: it.Source, Line: line, Msg: msg})
	}
	if repo.AllowRepoRelaxing {
		errs = append(errs, &ChecklistError{Source: firstSource(repo), Line: repo.allowLine,
			Msg: "allow_repo_relaxing belongs in the organisation's checklist, not a repository's; ignored"})
	}
	if base.AllowRepoRelaxing {
		out.Items = repo.Items
		return out, errors.Join(errs...)
	}
	for _, o := range repo.Items {
		b, inherited := base.item(o.ID)
		if !inherited {
			out.Items = append(out.Items, o) // a new item: the repository's own
			continue
		}
		if o.Remove {
			refuse(o, "remove", "cannot remove an item of the built-in or organisation's checklist")
			continue
		}
		if o.set&setKind != 0 && kindRank(o.Kind) < kindRank(b.Kind) {
			refuse(o, "kind", "cannot make a %s item %s", b.Kind, o.Kind)
			o.set &^= setKind
		}
		verifierChanged := o.set&setVerifier != 0 && o.Verifier != b.Verifier
		paramsChanged := o.set&setParams != 0 && !reflect.DeepEqual(o.Params, b.Params)
		if b.Verifier != "" && (verifierChanged || paramsChanged) {
			key := "verifier"
			if !verifierChanged {
				key = "params"
			}
			refuse(o, key, "cannot change the check of an item (%s)", b.Verifier)
			o.set &^= setVerifier | setParams
		}
		if o.set&setEvidence != 0 && b.EvidenceRequired && !o.EvidenceRequired {
			refuse(o, "evidence_required", "cannot drop evidence_required")
			o.set &^= setEvidence
		}
		if o.set&setExpires != 0 && b.ExpiresAfter > 0 && (o.ExpiresAfter <= 0 || o.ExpiresAfter > b.ExpiresAfter) {
			refuse(o, "expires_after", "cannot lengthen expires_after beyond %s", b.ExpiresAfter)
			o.set &^= setExpires
		}
		if o.set&setNA != 0 {
			var keep, more []string
			for _, t := range o.NAAllowed {
				if slices.Contains(b.NAAllowed, t) {
					keep = append(keep, t)
				} else {
					more = append(more, t)
				}
			}
			if len(more) > 0 {
				refuse(o, "na_allowed", "cannot allow not applicable in tier %v", more)
				o.NAAllowed = keep
			}
		}
		if o.set&setTiers != 0 && !coversTiers(o.Tiers, b.Tiers) {
			refuse(o, "tiers", "cannot leave out tiers it applies to (%v)", tiersOrAll(b.Tiers))
			o.set &^= setTiers
		}
		if o.set&setPhase != 0 && o.Phase.Index() > b.Phase.Index() {
			refuse(o, "phase", "cannot move it to a later phase than %s", b.Phase)
			o.set &^= setPhase
		}
		out.Items = append(out.Items, o)
	}
	return out, errors.Join(errs...)
}

// coversTiers reports whether tiers (empty: every tier) include every
// tier of base (empty: every tier).
func coversTiers(tiers, base []string) bool {
	if len(tiers) == 0 {
		return true
	}
	for _, t := range tiersOrAll(base) {
		if !slices.Contains(tiers, t) {
			return false
		}
	}
	return true
}

func tiersOrAll(ts []string) []string {
	if len(ts) == 0 {
		return Tiers
	}
	return ts
}

func firstSource(c Checklist) string {
	if len(c.Sources) > 0 {
		return c.Sources[0]
	}
	return "checklist"
}
