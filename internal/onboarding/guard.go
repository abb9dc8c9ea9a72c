package onboarding

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tasuki-sre/tasuki/internal/intent"
	"github.com/tasuki-sre/tasuki/internal/marker"
	"github.com/tasuki-sre/tasuki/internal/mdtext"
	"github.com/tasuki-sre/tasuki/internal/ownership"
)

// guardProblems lists what no longer holds of a handed-over repository.
func guardProblems(s State, f RepoFacts, now time.Time) []string {
	var out []string
	v := vctxOf(s, now)
	want := "@" + v.Org + "/" + v.Team
	// CODEOWNERS errors.
	if _, missing := f.Unavailable[FactCODEOWNERSErrors]; !missing {
		if n := len(f.CODEOWNERSErrors); n > 0 {
			out = append(out, fmt.Sprintf("CODEOWNERS has %d error(s), first: %s", n, oneLine(f.CODEOWNERSErrors[0], 120)))
		}
	}
	// Owner team exists with write access.
	if _, missing := f.Unavailable[FactTeam]; !missing && f.Team.Slug != "" {
		if r := teamAccess(teamAccessParams{MinPermission: "push"}, f, v); r.Status == StatusFailed {
			out = append(out, r.Reason)
		}
	}
	// Catalog owner equals CODEOWNERS owner.
	if _, missing := f.Unavailable[FactFiles]; !missing {
		name, b := codeownersFile(f)
		var coOwner string
		if name != "" {
			if o := catchAllOwners(b); len(o) > 0 && len(b) <= ownership.MaxCODEOWNERSSize {
				coOwner = o[0]
			}
		}
		d, found, err := readCatalog(f)
		switch {
		case name == "":
			out = append(out, "there is no CODEOWNERS file")
		case coOwner == "":
			out = append(out, name+" has no owner for *")
		case !strings.EqualFold(coOwner, want):
			out = append(out, fmt.Sprintf("%s names %s for *, not %s", name, coOwner, want))
		}
		switch {
		case !found:
			out = append(out, "there is no "+CatalogPath)
		case err != nil:
			out = append(out, oneLine(err.Error(), 120))
		case coOwner != "" && !strings.EqualFold("@"+v.Org+"/"+groupSlug(d.Spec.Owner), coOwner):
			out = append(out, fmt.Sprintf("%s spec.owner %q differs from the CODEOWNERS owner %s", CatalogPath, oneLine(d.Spec.Owner, 60), coOwner))
		}
	}
	// Attestations not expired.
	for _, it := range s.Items {
		if it.By != "" && !it.Expires.IsZero() && !now.Before(it.Expires) {
			out = append(out, fmt.Sprintf("the attestation of %s by @%s expired on %s", it.ID, it.By, day(it.Expires)))
		}
	}
	return out
}

func guard(in GuardInput, cfg Config, now time.Time) Decision {
	cfg = cfg.withDefaults()
	s := in.State
	problems := guardProblems(s, in.Facts, now)
	d := Decision{State: s}
	m := guardMarker(s.Repo)
	if len(problems) == 0 {
		if in.GuardIssue > 0 && in.GuardOpen {
			d.Intents = append(d.Intents,
				intent.Intent{Kind: intent.EnsureComment, Number: in.GuardIssue,
					Marker: marker.New(MarkerGuard+"-ok", fmt.Sprintf("%s#%d@%s", s.Repo, in.GuardIssue, now.UTC().Format(time.DateOnly))),
					Body:   "Every guard check passes again on " + day(now) + "; closing."},
				intent.Intent{Kind: intent.Close, Number: in.GuardIssue, Reason: intent.CloseCompleted})
		}
		return d
	}
	var b strings.Builder
	fmt.Fprintf(&b, "The SRE handoff of %s to %s is guarded daily. These checks fail:\n\n", mdtext.Code(s.Repo), mdtext.Code("@"+s.Team))
	for _, p := range problems {
		b.WriteString("- " + mdtext.Text(p) + "\n")
	}
	b.WriteString("\ntasuki updates this issue while they fail and closes it when they pass.\n\n" + m.String())
	body := b.String()
	if in.GuardIssue > 0 {
		e := intent.IssueEdit{Body: &body, Marker: m}
		if !in.GuardOpen {
			e.State = "open"
		}
		if in.GuardBody != body || !in.GuardOpen {
			d.Intents = append(d.Intents, intent.Intent{Kind: intent.EditIssue, Number: in.GuardIssue, Edit: e})
		}
		return d
	}
	org := repoOwner(s.Repo)
	_, team := splitTeam(s.Team, org)
	var assignees []string
	if l := leadOf(cfg, org, team); l != "" {
		assignees = append(assignees, l)
	}
	d.Intents = append(d.Intents, intent.Intent{Kind: intent.EnsureIssue, Marker: m,
		Issue: intent.NewIssue{
			Title:     "SRE handoff guard: " + s.Repo,
			Body:      body,
			Labels:    []string{cfg.GuardLabel},
			Assignees: assignees,
		},
		Lookup: intent.IssueLookup{Label: cfg.GuardLabel}})
	return d
}

func handBack(in HandBackInput, cfg Config, now time.Time) Decision {
	cfg = cfg.withDefaults()
	since := now.Add(-time.Duration(cfg.HandBack.WindowDays) * 24 * time.Hour)
	var counted []Incident
	for _, inc := range in.Incidents {
		if inc.Started.Before(since) || inc.Started.After(now) {
			continue
		}
		if !slices.ContainsFunc(cfg.HandBack.Severities, func(s string) bool { return strings.EqualFold(s, inc.Severity) }) {
			continue
		}
		counted = append(counted, inc)
	}
	if len(counted) <= cfg.HandBack.MaxIncidents || in.Open > 0 {
		return Decision{}
	}
	slices.SortFunc(counted, func(a, b Incident) int { return a.Started.Compare(b.Started) })
	org := repoOwner(in.Repo)
	_, team := splitTeam(in.Team, org)
	_, core := splitTeam(in.CoreTeam, org)
	// One review per crossing: the incident that went over the threshold
	// keys it.
	crossing := counted[cfg.HandBack.MaxIncidents]
	m := marker.New(MarkerHandBack, in.Repo+"@"+crossing.Started.UTC().Format(time.DateOnly))
	var leads []string
	for _, slug := range []string{team, core} {
		if l := leadOf(cfg, org, slug); l != "" && !slices.Contains(leads, l) {
			leads = append(leads, l)
		}
	}
	var b strings.Builder
	var addressed []string
	for _, l := range leads {
		addressed = append(addressed, "@"+l) // meant to notify both leads
	}
	if len(addressed) == 0 {
		addressed = []string{"@" + org + "/" + team, "@" + org + "/" + core}
	}
	service := in.Service
	if service == "" {
		service = in.Repo
	}
	fmt.Fprintf(&b, "%s: %s had %d incidents of severity %s in the last %d days, more than the %d its handoff allows.\n\n",
		strings.Join(addressed, " "), mdtext.Code(service), len(counted), mdtext.Text(strings.Join(cfg.HandBack.Severities, "/")), cfg.HandBack.WindowDays, cfg.HandBack.MaxIncidents)
	for _, inc := range counted {
		ref := mdtext.Text(inc.Ref)
		if validURL(inc.URL) == nil {
			ref = "[" + ref + "](" + inc.URL + ")"
		}
		fmt.Fprintf(&b, "- %s — %s, started %s\n", ref, mdtext.Text(inc.Severity), day(inc.Started))
	}
	fmt.Fprintf(&b, "\nProposed, per the error-budget policy:\n\n- core SRE (%s) re-engages as **secondary** on-call for %s;\n- releases **freeze** (reliability fixes only) until the error budget recovers.\n\nThis is a proposal: the decision stays with the two leads. Record it here and close the issue.\n\n%s",
		mdtext.Code("@"+org+"/"+core), mdtext.Code(service), m.String())
	return Decision{Intents: []intent.Intent{{Kind: intent.EnsureIssue, Marker: m,
		Issue: intent.NewIssue{
			Title:     "Reliability review: " + service + " (" + fmt.Sprint(len(counted)) + " incidents in " + fmt.Sprint(cfg.HandBack.WindowDays) + " days)",
			Body:      b.String(),
			Labels:    []string{DefaultHandBackLabel},
			Assignees: leads,
		},
		Lookup: intent.IssueLookup{Label: DefaultHandBackLabel}}}}
}
