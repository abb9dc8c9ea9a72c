package onboarding

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/tasuki-sre/tasuki/internal/intent"
	"github.com/tasuki-sre/tasuki/internal/marker"
	"github.com/tasuki-sre/tasuki/internal/mdtext"
)

// splitTeam reads "@org/slug", "org/slug" or "slug" (in org) into org and
// slug.
func splitTeam(team, org string) (string, string) {
	team = strings.TrimPrefix(strings.TrimSpace(team), "@")
	if o, s, ok := strings.Cut(team, "/"); ok {
		return o, s
	}
	return org, team
}

func repoOwner(repo string) string {
	o, _, _ := strings.Cut(repo, "/")
	return o
}

func start(req StartRequest, cfg Config, c Checklist, now time.Time) Decision {
	cfg = cfg.withDefaults()
	org := repoOwner(req.Repo)
	coreOrg, core := splitTeam(req.CoreTeam, org)
	teamOrg, team := splitTeam(req.Team, org)
	reply := func(format string, args ...any) Decision {
		return Decision{Reply: fmt.Sprintf(format, args...)}
	}
	usage := "`/tasuki onboard @" + org + "/TEAM [--tier A|B|C]`"
	switch {
	case core == "":
		return reply("No core SRE team is known for this repository: set `ownership.core_sre_team` in `.github/tasuki.yml`, or name an owner of `*` in CODEOWNERS.")
	case req.Trigger == "command" && !req.ActorIsCore:
		return reply("Only members of %s may start an SRE handoff of this repository.", mdtext.Code("@"+coreOrg+"/"+core))
	case team == "" || !teamRE.MatchString(team):
		return reply("Name the receiving team: %s.", usage)
	case !strings.EqualFold(teamOrg, org) || !strings.EqualFold(coreOrg, org):
		return reply("The receiving team must be a team of %s: %s.", mdtext.Code(org), usage)
	case strings.EqualFold(team, core):
		return reply("%s already owns this repository as the core SRE team; name the receiving team: %s.", mdtext.Code("@"+org+"/"+team), usage)
	case req.Open != nil:
		if req.Open.Issue > 0 {
			return reply("This repository already has an open SRE handoff: #%d.", req.Open.Issue)
		}
		return reply("This repository already has an open SRE handoff.")
	}
	tier := req.Tier
	if tier == "" {
		tier = cfg.DefaultTier
	}
	tier = strings.ToUpper(tier)
	if !slices.Contains(Tiers, tier) {
		return reply("Tier %s is not A, B or C: %s.", mdtext.Code(req.Tier), usage)
	}
	s := State{
		V:         StateVersion,
		Repo:      req.Repo,
		Team:      org + "/" + team,
		CoreTeam:  org + "/" + core,
		Tier:      tier,
		StartedBy: req.Actor,
		Started:   now.UTC().Truncate(time.Second),
		Phase:     PhaseKickoff,
	}
	due := s.Started
	for _, p := range Phases {
		ps := PhaseState{Phase: p}
		if d, ok := cfg.PhaseDays[string(p)]; ok {
			due = due.Add(time.Duration(d) * 24 * time.Hour)
			ps.Due = due
		}
		s.Phases = append(s.Phases, ps)
	}
	for _, it := range c.ForTier(tier) {
		s.Items = append(s.Items, ItemState{ID: it.ID, Status: StatusPending, Reason: "not verified yet"})
	}
	var assignees []string
	if req.Trigger == "command" && loginRE.MatchString(req.Actor) {
		assignees = append(assignees, req.Actor)
	}
	for _, l := range req.TeamSREs {
		l = strings.TrimPrefix(l, "@")
		if loginRE.MatchString(l) && !slices.ContainsFunc(assignees, func(a string) bool { return strings.EqualFold(a, l) }) && len(assignees) < maxLogins {
			assignees = append(assignees, l)
		}
	}
	s.Assignees = assignees
	body := renderBody("", s, c)
	d := Decision{State: s, Changed: true}
	d.Intents = append(d.Intents, intent.Intent{
		Kind:   intent.EnsureIssue,
		Marker: issueMarker(s.Repo, s.Started),
		Issue: intent.NewIssue{
			Title:     issueTitle(s.Repo, s.Team),
			Body:      body,
			Labels:    []string{cfg.Label, PhaseLabel(PhaseKickoff)},
			Assignees: assignees,
		},
		Lookup: intent.IssueLookup{Label: cfg.Label},
	})
	if req.Trigger == "command" {
		d.Reply = fmt.Sprintf("Started the SRE handoff of %s to %s (tier %s). tasuki verifies the checklist now and on every push to the default branch.",
			mdtext.Code(s.Repo), mdtext.Code("@"+s.Team), s.Tier)
	}
	return d
}

// vctxOf is what verifiers know of s.
func vctxOf(s State, now time.Time) vctx {
	org := repoOwner(s.Repo)
	_, team := splitTeam(s.Team, org)
	_, core := splitTeam(s.CoreTeam, org)
	return vctx{Org: org, Team: team, CoreTeam: core, Now: now}
}

// refresh brings the items of s in line with c (new items pending, items
// no longer in the checklist dropped), re-verifies with facts when given,
// and re-opens expired attestations. With waitPR, transfer items that do
// not pass before the transfer merged wait for its pull request rather
// than fail.
func refresh(s State, c Checklist, facts *RepoFacts, now time.Time, waitPR bool) State {
	items := c.ForTier(s.Tier)
	out := make([]ItemState, 0, len(items))
	v := vctxOf(s, now)
	for _, it := range items {
		st, ok := s.Item(it.ID)
		if !ok {
			st = ItemState{ID: it.ID, Status: StatusPending, Reason: "not verified yet"}
		}
		st.ID = it.ID
		// An attestation lapses at its expiry.
		if st.By != "" && !st.Expires.IsZero() && !now.Before(st.Expires) {
			st = ItemState{ID: it.ID, Status: StatusPending,
				Reason: fmt.Sprintf("attestation by @%s expired on %s; tick it again", st.By, day(st.Expires))}
		}
		attested := st.By != ""
		switch it.Kind {
		case KindAuto, KindSemi:
			if facts == nil || it.Verifier == "" {
				break
			}
			r := runVerifier(it, *facts, v)
			prev := st
			if waitPR && it.Phase == PhaseTransfer && s.Transferred.IsZero() && r.Status != StatusPassed {
				r = pending("waits for the transfer pull request")
			}
			switch {
			case r.Status == StatusPassed:
				st.Status, st.Reason = r.Status, oneLine(r.Reason, maxReason)
				if it.Kind == KindAuto {
					st.By, st.At, st.Evidence, st.Expires = "", time.Time{}, "", time.Time{}
				}
			case attested && it.Kind == KindSemi:
				// The person's attestation stands where tasuki cannot confirm.
			default:
				st.Status, st.Reason = r.Status, oneLine(r.Reason, maxReason)
			}
			// Checked records when the finding last changed, so that a
			// verification finding nothing new writes nothing.
			if st.Status != prev.Status || st.Reason != prev.Reason || st.Checked.IsZero() {
				st.Checked = now
			}
		case KindManual:
			if !attested && st.Status != StatusPending {
				st.Status = StatusPending
			}
			if !attested && (st.Reason == "" || st.Reason == "not verified yet") {
				st.Reason = "waits for /tasuki done " + it.ID
			}
		}
		out = append(out, st)
	}
	s.Items = out
	return s
}

// phaseDone reports whether every item of phase p in s passed or is n/a.
func phaseDone(s State, c Checklist, p Phase) bool {
	done, total := progress(s, c.ForTier(s.Tier), p)
	return done == total
}

// readyForTransfer reports whether every item before Transfer passed.
func readyForTransfer(s State, c Checklist) bool {
	for _, p := range Phases[:PhaseTransfer.Index()] {
		if !phaseDone(s, c, p) {
			return false
		}
	}
	return true
}

// advance sets the phases' done dates and moves the current phase on (never
// back: a phase is a stage of the process, and an item that regresses
// shows as failed where it is).
func advance(s State, c Checklist, now time.Time) State {
	cur := PhaseKickoff
	for _, p := range Phases[:PhaseTransfer.Index()+1] {
		cur = p
		if !phaseDone(s, c, p) {
			break
		}
	}
	if cur == PhaseTransfer && !s.Transferred.IsZero() && phaseDone(s, c, PhaseTransfer) {
		cur = PhaseGuard
	}
	for i := range s.Phases {
		p := s.Phases[i].Phase
		if s.Phases[i].Done.IsZero() && p != PhaseGuard && phaseDone(s, c, p) && p.Index() <= cur.Index() {
			s.Phases[i].Done = now
		}
	}
	if cur.Index() > s.Phase.Index() {
		s.Phase = cur
	}
	return s
}

// writeIssue returns the intents that bring the issue in line with s: its
// body's block, and the phase label when the phase changed. ok is false
// when the body would pass GitHub's limit even with the minimal block (the
// notes below it fill the issue): nothing is written, for the writer would
// cut the end of the body, which is people's text; the caller keeps the
// old state and says why (tooLong).
func writeIssue(old, s State, body string, c Checklist) (out []intent.Intent, ok bool) {
	if s.Issue <= 0 {
		return nil, true
	}
	newBody, fits := fitBody(body, s, c)
	if !fits {
		return nil, false
	}
	if newBody != body {
		out = append(out, intent.Intent{Kind: intent.EditIssue, Number: s.Issue,
			Edit: intent.IssueEdit{Body: &newBody, Marker: issueMarker(s.Repo, s.Started)}})
	}
	if old.Phase != s.Phase {
		out = append(out, intent.Intent{Kind: intent.AddLabels, Number: s.Issue, Labels: []string{PhaseLabel(s.Phase)}})
		if old.Phase != "" {
			out = append(out, intent.Intent{Kind: intent.RemoveLabels, Number: s.Issue, Labels: []string{PhaseLabel(old.Phase)}})
		}
	}
	return out, true
}

// tooLongNote says why tasuki left the issue as it is (writeIssue's !ok).
const tooLongNote = "tasuki cannot update this issue: with the notes below its generated block, the body would pass GitHub's limit of 65,536 characters, and tasuki never cuts people's text. Shorten the notes (or move them to a comment); "

// tooLong is the decision that keeps s as it was because its issue's body
// has no room (writeIssue's !ok): one notice on the issue, no other write.
func tooLong(s State) Decision {
	return Decision{State: s, Intents: []intent.Intent{{Kind: intent.EnsureComment, Number: s.Issue,
		Marker: marker.New(MarkerNotice, fmt.Sprintf("%s#%d/too-long", s.Repo, s.Issue)),
		Body:   tooLongNote + "tasuki verifies again on the next push to the default branch and daily."}}}
}

func verify(s State, body string, c Checklist, facts RepoFacts, cfg Config, now time.Time) Decision {
	cfg = cfg.withDefaults()
	old := s
	if !s.Closed.IsZero() {
		return Decision{State: s}
	}
	s = refresh(s, c, &facts, now, true)
	s = advance(s, c, now)
	d := Decision{}
	// The transfer, once: proposed until the shell records the pull
	// request's number; after that its branch is left to the people, who
	// may amend it (the shell only has GitHub re-check its CODEOWNERS).
	var propose []intent.Intent
	if s.Transferred.IsZero() && s.TransferPR == 0 && readyForTransfer(s, c) && filesRead(facts) {
		pr, reviewers, teams := transferPR(s, facts, cfg)
		switch {
		case len(pr.Files) > 0:
			propose = append(propose, intent.Intent{Kind: intent.OpenPullRequest, PullRequest: pr})
			if len(reviewers)+len(teams) > 0 {
				// Number 0: the pull request just proposed.
				propose = append(propose, intent.Intent{Kind: intent.RequestReviewers, Reviewers: reviewers, TeamReviewers: teams})
			}
		case ownersMoved(facts, vctxOf(s, now)):
			// CODEOWNERS and the catalog name the team already: the
			// transfer happened without tasuki, and its items are judged
			// on the repository as it is.
			s.Transferred, s.AlreadyMoved = now.UTC().Truncate(time.Second), true
			if loginRE.MatchString(facts.MovedBy) {
				s.MovedBy = facts.MovedBy
			}
			s = refresh(s, c, &facts, now, false)
			s = advance(s, c, now)
		default:
			// Nothing to propose, yet the files do not name the team (an
			// edit tasuki could not make): the transfer items say why
			// rather than wait for a pull request that will not come.
			s = refresh(s, c, &facts, now, false)
		}
	}
	// One reminder per phase past its due date, to the assignees.
	for i, ps := range s.Phases {
		if ps.Phase == PhaseGuard || !ps.Done.IsZero() || ps.Due.IsZero() || !now.After(ps.Due) ||
			!ps.Reminded.IsZero() || ps.Phase.Index() > s.Phase.Index() || s.Issue <= 0 {
			continue
		}
		s.Phases[i].Reminded = now
		done, total := progress(s, c.ForTier(s.Tier), ps.Phase)
		var who []string
		for _, a := range s.Assignees {
			who = append(who, "@"+a) // a reminder is meant to notify
		}
		msg := fmt.Sprintf("%s **%s** was due on %s and is at %d/%d. What is left is listed above; tick manual items with `/tasuki done ITEM-ID EVIDENCE-URL`.",
			strings.Join(who, " "), ps.Phase.Title(), day(ps.Due), done, total)
		d.Intents = append(d.Intents, intent.Intent{Kind: intent.EnsureComment, Number: s.Issue,
			Marker: marker.New(MarkerReminder, fmt.Sprintf("%s#%d/%s", s.Repo, s.Issue, ps.Phase)), Body: strings.TrimSpace(msg)})
	}
	if s.Phase == PhaseGuard && s.Closed.IsZero() && s.Issue > 0 {
		// The transfer items pass after the transfer (merged earlier with
		// items failing, or ownership already moved): close.
		var closing []intent.Intent
		var ok bool
		s, closing, ok = closeHandoff(old, s, body, c, now)
		if !ok {
			return tooLong(old)
		}
		d.Intents = append(closing, d.Intents...)
	} else {
		w, ok := writeIssue(old, s, body, c)
		if !ok {
			return tooLong(old)
		}
		d.Intents = append(w, d.Intents...)
	}
	d.Intents = append(d.Intents, propose...)
	d.State = s
	d.Changed = !stateEqual(old, s)
	return d
}

func attest(s State, body string, c Checklist, cmd Command, actor string, now time.Time) Decision {
	refuse := func(format string, args ...any) Decision {
		return Decision{State: s, Reply: fmt.Sprintf(format, args...)}
	}
	if !s.Closed.IsZero() {
		return refuse("This SRE handoff is closed; nothing to tick.")
	}
	id := strings.ToLower(strings.TrimSpace(cmd.ItemID))
	it, ok := c.Item(id)
	if !ok || !it.AppliesTo(s.Tier) {
		var ids []string
		for _, x := range c.ForTier(s.Tier) {
			if x.Kind != KindAuto {
				ids = append(ids, x.ID)
			}
		}
		if ok {
			return refuse("%s is not part of a tier %s handoff.", mdtext.Code(it.ID), s.Tier)
		}
		return refuse("There is no item %s. Items to tick: %s.", mdtext.Code(oneLine(cmd.ItemID, 48)), mdtext.Text(strings.Join(ids, ", ")))
	}
	if it.Kind == KindAuto {
		st, _ := s.Item(it.ID)
		return refuse("%s is verified by tasuki from the repository and cannot be ticked by hand (now: %s%s).",
			mdtext.Code(it.ID), st.Status, reasonSuffix(st.Reason))
	}
	arg := strings.TrimSpace(cmd.Arg)
	old := s
	st, _ := s.Item(it.ID)
	st.ID = it.ID
	switch strings.ToLower(cmd.Verb) {
	case "done":
		ev := ""
		if f := strings.Fields(arg); len(f) > 0 {
			ev = f[0]
		}
		if ev == "" && it.EvidenceRequired {
			return refuse("%s needs evidence: `/tasuki done %s https://…` with a link to it (a document, a pull request, an incident).", mdtext.Code(it.ID), it.ID)
		}
		if ev != "" {
			if err := validURL(ev); err != nil {
				return refuse("The evidence for %s must be an https link: %v.", mdtext.Code(it.ID), err)
			}
		}
		st.Status, st.Reason, st.Evidence = StatusPassed, "attested", ev
	case "na":
		if !slices.Contains(it.NAAllowed, s.Tier) {
			return refuse("%s cannot be marked not applicable in a tier %s handoff.", mdtext.Code(it.ID), s.Tier)
		}
		if arg == "" {
			return refuse("Say why %s does not apply: `/tasuki na %s REASON`.", mdtext.Code(it.ID), it.ID)
		}
		st.Status, st.Reason, st.Evidence = StatusNA, oneLine(arg, maxReason), ""
	default:
		return refuse("Unknown verb %s: use done or na.", mdtext.Code(oneLine(cmd.Verb, 20)))
	}
	st.By, st.At, st.Expires = actor, now.UTC().Truncate(time.Second), time.Time{}
	if it.ExpiresAfter > 0 {
		st.Expires = st.At.Add(time.Duration(it.ExpiresAfter))
	}
	for i := range s.Items {
		if s.Items[i].ID == it.ID {
			s.Items[i] = st
		}
	}
	if _, ok := s.Item(it.ID); !ok {
		s.Items = append(s.Items, st)
	}
	s = refresh(s, c, nil, now, true)
	s = advance(s, c, now)
	w, ok := writeIssue(old, s, body, c)
	if !ok {
		return Decision{State: old, Reply: "Not recorded: " + tooLongNote + "then tick again."}
	}
	d := Decision{State: s, Changed: true, Intents: w}
	word := "passed"
	if st.Status == StatusNA {
		word = "not applicable"
	}
	d.Reply = fmt.Sprintf("Recorded %s as %s by %s.", mdtext.Code(it.ID), word, mdtext.Text("@"+actor))
	if !st.Expires.IsZero() {
		d.Reply += " It expires on " + day(st.Expires) + "."
	}
	d.Reverify = readyForTransfer(s, c) && s.Transferred.IsZero()
	return d
}

func reasonSuffix(r string) string {
	if r == "" {
		return ""
	}
	return ": " + mdtext.Text(r)
}

// validURL accepts an https link tasuki can put in a markdown link as is.
func validURL(s string) error {
	if s == "" {
		return errors.New("empty")
	}
	if len(s) > maxEvidence {
		return fmt.Errorf("longer than %d characters", maxEvidence)
	}
	for _, r := range s {
		if r > unicode.MaxASCII || unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune("<>()[]\"'`\\{}|^", r) {
			return errors.New("it holds characters a link cannot")
		}
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return errors.New("not an https URL")
	}
	return nil
}

func transferMerged(s State, body string, c Checklist, facts RepoFacts, approvers []string, mergedAt time.Time, _ Config, now time.Time) Decision {
	if !s.Closed.IsZero() {
		return Decision{State: s}
	}
	old := s
	s.Transferred = mergedAt.UTC().Truncate(time.Second)
	var signed []string
	for _, a := range approvers {
		if loginRE.MatchString(a) && !slices.Contains(signed, a) {
			signed = append(signed, a)
		}
	}
	s.SignedOff = signed
	s = refresh(s, c, &facts, now, true)
	s = advance(s, c, now)
	d := Decision{}
	var ok bool
	if s.Phase == PhaseGuard {
		s, d.Intents, ok = closeHandoff(old, s, body, c, now)
	} else {
		d.Intents, ok = writeIssue(old, s, body, c)
	}
	if !ok {
		return tooLong(old)
	}
	if s.Phase != PhaseGuard {
		var failing []string
		for _, it := range c.ForTier(s.Tier) {
			if st, _ := s.Item(it.ID); it.Phase == PhaseTransfer && st.Status != StatusPassed && st.Status != StatusNA {
				failing = append(failing, it.ID+" ("+st.Reason+")")
			}
		}
		if s.Issue > 0 {
			d.Intents = append(d.Intents, intent.Intent{Kind: intent.EnsureComment, Number: s.Issue,
				Marker: marker.New(MarkerSummary, fmt.Sprintf("%s#%d/pending", s.Repo, s.Issue)),
				Body:   "The transfer pull request merged, but these transfer items do not pass yet: " + mdtext.Text(strings.Join(failing, "; ")) + ". tasuki closes this issue once they do."})
		}
	}
	d.State, d.Changed = s, true
	return d
}

// closeHandoff closes the handoff s, whose transfer items passed after the
// transfer: the issue's block, the summary comment, then Close.
func closeHandoff(old, s State, body string, c Checklist, now time.Time) (State, []intent.Intent, bool) {
	s.Closed = now.UTC().Truncate(time.Second)
	w, ok := writeIssue(old, s, body, c)
	if !ok {
		return old, nil, false
	}
	return s, append(w,
		intent.Intent{Kind: intent.EnsureComment, Number: s.Issue,
			Marker: marker.New(MarkerSummary, fmt.Sprintf("%s#%d", s.Repo, s.Issue)), Body: summary(s)},
		intent.Intent{Kind: intent.Close, Number: s.Issue, Reason: intent.CloseCompleted}), true
}

// ownersMoved reports whether CODEOWNERS makes the incoming team the owner
// of * and the catalog (when there is one) names it.
func ownersMoved(f RepoFacts, v vctx) bool {
	team := ownerParams{Owner: "team"}
	if codeownersOwnerIs(team, f, v).Status != StatusPassed {
		return false
	}
	if _, ok := f.Files[CatalogPath]; ok && catalogOwnerIs(team, f, v).Status != StatusPassed {
		return false
	}
	return true
}

// summary is the closing comment: the dates of each phase and who signed
// off.
func summary(s State) string {
	var b strings.Builder
	fmt.Fprintf(&b, "SRE handoff of %s to %s complete.\n\n| Phase | Due | Done |\n|---|---|---|\n", mdtext.Code(s.Repo), mdtext.Code("@"+s.Team))
	for _, ps := range s.Phases {
		if ps.Phase == PhaseGuard {
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", ps.Phase.Title(), day(ps.Due), day(ps.Done))
	}
	fmt.Fprintf(&b, "\nStarted %s by %s; ", day(s.Started), mdtext.Text(actorName(s.StartedBy)))
	if s.AlreadyMoved {
		b.WriteString("ownership was already moved")
		if s.MovedBy != "" {
			fmt.Fprintf(&b, " by %s", mdtext.Text("@"+s.MovedBy))
		}
		fmt.Fprintf(&b, ": CODEOWNERS and %s named the team when the transfer came (%s), so no transfer pull request was needed", mdtext.Code(CatalogPath), day(s.Transferred))
	} else {
		fmt.Fprintf(&b, "transfer merged %s", day(s.Transferred))
		if s.TransferPR > 0 {
			fmt.Fprintf(&b, " (#%d)", s.TransferPR)
		}
		if len(s.SignedOff) > 0 {
			fmt.Fprintf(&b, ", signed off by %s", logins(s.SignedOff))
		}
	}
	b.WriteString(".\n\nGuard keeps checking daily that CODEOWNERS has no errors, the team still has write access, the catalog owner matches CODEOWNERS and no attestation has expired.")
	return b.String()
}

// stateEqual compares two states by their encoding.
func stateEqual(a, b State) bool { return encodeState(a) == encodeState(b) && a.Issue == b.Issue }

// filesRead reports whether facts hold the CODEOWNERS and catalog files
// the transfer edits, as far as the tree shows them: a pull request built
// without them would replace files it never read.
func filesRead(f RepoFacts) bool {
	if _, missing := f.Unavailable[FactFiles]; missing || f.Files == nil {
		return false
	}
	if _, missing := f.Unavailable[FactTree]; missing || len(f.Paths) == 0 {
		return false
	}
	for _, p := range f.Paths {
		if p == CatalogPath || slices.Contains(CODEOWNERSPaths, p) {
			if _, ok := f.Files[p]; !ok || slices.Contains(f.TooLarge, p) {
				return false // a cut file would be committed cut
			}
		}
	}
	return true
}
